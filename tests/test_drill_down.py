# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The magnifier of a declaration's turnover (issue 27): the register rows
behind the amount, whatever companies are ticked in the switcher, within
the user's rights; read as the web client reads the list it opens."""

from odoo import Command
from odoo.tests import new_test_user, tagged

from .test_turnover import MODULE, Q1, VAT, CollectedTurnoverCase

SPECIFICATION = {
    "date": {},
    "move_id": {"fields": {"display_name": {}}},
    "counterpart_partner_id": {"fields": {"display_name": {}}},
    "amount": {},
    "amount_total": {},
    "category_id": {"fields": {"display_name": {}}},
}


@tagged("post_install", "-at_install")
class TestDrillDown(CollectedTurnoverCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        groups = f"account.group_account_user,{MODULE}.group_urssaf_preparer"
        # An accountant of both companies, and one of the declaring company only.
        cls.both = new_test_user(
            cls.env,
            login="drill_both",
            groups=groups,
            company_id=cls.company.id,
            company_ids=[Command.set((cls.company | cls.ae_company).ids)],
        )
        cls.declaring_only = new_test_user(
            cls.env,
            login="drill_declaring_only",
            groups=groups,
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    def setUp(self):
        super().setUp()
        # The auto-entrepreneur's own sales, in its own company's books.
        self.sold = 1000.0
        self.invoice = self._sale("2025-01-10", [(self.service, self.sold)])
        self._pay(self.invoice, self.sold * (1 + VAT), "2025-01-15")
        self.declaration = (
            self.env["urssaf.declaration"]
            .sudo()
            .create(
                {
                    "partner_id": self.ae_own.id,
                    "company_id": self.company.id,
                    "period_start": Q1[0],
                    "period_end": Q1[1],
                    "periodicity": "quarterly",
                    "line_ids": [
                        Command.create({"category_id": self.bic.id, "computed_amount": self.sold, "amount": self.sold})
                    ],
                }
            )
        )

    def _open(self, user, ticked, line=False):
        """The action, as the button calls it with only ``ticked`` in the
        switcher, then its list read as the web client reads it."""
        declaration = self.declaration.with_user(user).with_context(allowed_company_ids=ticked.ids)
        action = declaration.line_ids.action_open_collected() if line else declaration.action_open_collected()
        Register = self.env[action["res_model"]].with_user(user).with_context(**action["context"])
        rows = Register.web_search_read(action["domain"], SPECIFICATION)["records"]
        return action, rows

    def test_register_rows_whatever_companies_are_ticked(self):
        for ticked in (self.company, self.ae_company, self.company | self.ae_company):
            for line in (False, True):
                with self.subTest(ticked=ticked.mapped("name"), line=line):
                    action, rows = self._open(self.both, ticked, line=line)
                    self.assertEqual(action["res_model"], "urssaf.register.line")
                    self.assertNotIn("Journal Items", action["name"])
                    self.assertTrue(action["name"].startswith("Collected by "), action["name"])
                    self.assertEqual(action["name"].endswith(self.bic.display_name), line)
                    self.assertEqual(
                        sorted(action["context"]["allowed_company_ids"]), sorted((self.company | self.ae_company).ids)
                    )
                    self.assertEqual(len(rows), 1)
                    (row,) = rows
                    self.assertEqual(str(row["date"]), "2025-01-15")
                    self.assertEqual(row["move_id"]["display_name"], self.invoice.display_name)
                    self.assertEqual(row["counterpart_partner_id"]["id"], self.customer.id)
                    self.assertEqual(row["category_id"]["id"], self.bic.id)
                    self.assertAlmostEqual(row["amount"], self.sold)
                    self.assertAlmostEqual(row["amount_total"], self.sold * (1 + VAT))
                    # Its total is the amount declared.
                    self.assertAlmostEqual(sum(r["amount"] for r in rows), self.declaration.turnover_total)

    def test_within_the_users_rights(self):
        """A user of the declaring company only is not let into the books'
        company: the action names only the companies the user works in."""
        action, rows = self._open(self.declaring_only, self.company)
        self.assertEqual(action["context"]["allowed_company_ids"], self.company.ids)
        self.assertEqual([row["category_id"]["id"] for row in rows], [self.bic.id])
