# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Contributions in the books, ACRE and the yearly summary, tried over
XML-RPC as each user (see rpc_trust)."""

from datetime import date

from odoo import Command
from odoo.tests import tagged

from ..urssaf_api.seed import seed_account

# The module, not its class: a test module's own TestCase classes are the
# ones collected, and the harness' base class has no table to run.
from . import rpc_trust
from .rpc_trust import Attempt

NO_FIELD_ACCESS = "You do not have enough rights to access the field"
NO_WRITE = "You are not allowed to modify"
SYSTEM_ONLY = "is filled only from the books and Urssaf's answers"


def _company_write(values):
    def call(case):
        return ("res.company", "write", [[case.company_a.id], values])

    return call


def _partner_write(values):
    def call(case):
        return ("res.partner", "write", [[case.ae.id], values])

    return call


def _fee_account_write(case):
    return ("res.company", "write", [[case.company_a.id], {"urssaf_fee_account_ids": [(4, case.expense.id)]}])


def _journal_write(case):
    return ("res.company", "write", [[case.company_a.id], {"urssaf_contribution_journal_id": case.journal.id}])


@tagged("post_install", "-at_install")
class TestBooksTrust(rpc_trust.RpcTrustCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        seed = seed_account("acre_new_business")
        cls.ae = cls.env["res.partner"].create(
            {
                "name": "Camille Martin",
                "company_registry": seed.get("siret"),
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_category_id": cls.env.ref("l10n_fr_urssaf_tierce_declaration.category_vente_marchandises").id,
                "urssaf_identifier_type": "nir" if seed.get("nir") else "siret",
                **({"urssaf_nir": seed["nir"]} if seed.get("nir") else {}),
            }
        )
        cls.ae._urssaf_flagged_account()._urssaf_check()
        cls.journal = cls.env["account.journal"].create(
            {"name": "Urssaf", "code": "URSF", "type": "general", "company_id": cls.company_a.id}
        )
        cls.declared = cls.env["urssaf.declaration"].create(
            {
                "partner_id": cls.ae.id,
                "company_id": cls.company_a.id,
                "period_start": date(2026, 10, 1),
                "period_end": date(2026, 10, 31),
                "periodicity": "monthly",
                "state": "paid",
                "urssaf_number": "D0001",
            }
        )
        cls.move = cls.env["account.move"].create({"move_type": "entry", "company_id": cls.company_a.id})
        cls.expense = cls.env["account.account"].create(
            {"code": "665999", "name": "Discounts granted", "account_type": "expense", "company_ids": cls.company_a.ids}
        )

    ATTEMPTS = (
        Attempt(
            "a declarant turns the posting of contributions on",
            "declarant",
            _company_write({"urssaf_post_contributions": True}),
            NO_FIELD_ACCESS,
            ("res_company",),
        ),
        Attempt(
            "an Access rights administrator changes the contributions journal",
            "access_rights",
            _journal_write,
            NO_FIELD_ACCESS,
            ("res_company",),
        ),
        Attempt(
            "a declarant reads the contributions accounts",
            "declarant",
            lambda case: ("res.company", "read", [[case.company_a.id], ["urssaf_payable_account_id"]]),
            NO_FIELD_ACCESS,
        ),
        Attempt(
            "a system administrator chooses the contributions journal (control)",
            "system",
            _journal_write,
            None,
            ("res_company",),
        ),
        Attempt(
            "a declarant makes a discount account a fee account",
            "declarant",
            _fee_account_write,
            NO_WRITE,
        ),
        Attempt(
            "an Access rights administrator makes a discount account a fee account",
            "access_rights",
            _fee_account_write,
            NO_FIELD_ACCESS,
        ),
        Attempt(
            "a preparer records ACRE",
            "preparer",
            _partner_write({"urssaf_acre": True}),
            NO_WRITE,
            ("urssaf_account",),
        ),
        Attempt(
            "a declarant records ACRE (control)",
            "declarant",
            _partner_write({"urssaf_acre": True}),
            None,
            ("urssaf_account",),
        ),
        Attempt(
            "a declarant links a declaration to another entry",
            "declarant",
            lambda case: ("urssaf.declaration", "write", [[case.declared.id], {"contribution_move_id": case.move.id}]),
            SYSTEM_ONLY,
            ("urssaf_declaration",),
        ),
        Attempt(
            "an internal user reads the yearly summary",
            "internal",
            lambda case: ("urssaf.yearly.summary", "search_read", [[]], {"fields": ["declared_amount"]}),
            "You are not allowed to access",
        ),
    )

    def after_attempts(self):
        account = self.ae._urssaf_account()
        self.assertTrue(account.acre)
        self.assertEqual(self.company_a.urssaf_contribution_journal_id, self.journal)
        self.assertFalse(self.company_a.urssaf_post_contributions)
        self.assertNotIn(self.expense, self.company_a.sudo().urssaf_fee_account_ids)


# The period the books of company A collected in.
OCTOBER = ("2026-10-01", "2026-10-31")


@tagged("post_install", "-at_install")
class TestBooksSharedOnTheOwnersSay(rpc_trust.RpcTrustCase):
    """Company B's declarant ticks auto-entrepreneur on company A's partner
    (a company partner, shared), to be read from "customer invoices of its
    own company": B reads nothing of A's books (invoices paid, income on the
    bank) until A's administrator lets B read them in A's settings."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env(context={**cls.env.context, "allowed_company_ids": cls.company_a.ids})
        cls.books_partner = cls.company_a.partner_id
        cls.bic = env.ref("l10n_fr_urssaf_tierce_declaration.category_prestation_services_bic")
        customer = env["res.partner"].create({"name": "A customer of company A"})
        invoice = env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "invoice_date": "2026-10-05",
                "date": "2026-10-05",
                "invoice_line_ids": [
                    Command.create({"name": "Work", "price_unit": 1000.0, "tax_ids": [Command.clear()]})
                ],
            }
        )
        invoice.action_post()
        env["account.payment.register"].with_context(active_model="account.move", active_ids=invoice.ids).create(
            {"payment_date": "2026-10-12"}
        )._create_payments()
        income = env["account.account"].search(
            [*env["account.account"]._check_company_domain(cls.company_a), ("account_type", "=", "income")], limit=1
        )
        bank = env["account.journal"].search(
            [*env["account.journal"]._check_company_domain(cls.company_a), ("type", "=", "bank")], limit=1
        )
        env["account.bank.statement.line"].create(
            {
                "journal_id": bank.id,
                "date": "2026-10-15",
                "amount": 400.0,
                "payment_ref": "Received without invoice",
                "counterpart_account_id": income.id,
            }
        )
        cls.declaration = (
            cls.env["urssaf.declaration"]
            .sudo()
            .create(
                {
                    "partner_id": cls.books_partner.id,
                    "company_id": cls.company_b.id,
                    "period_start": OCTOBER[0],
                    "period_end": OCTOBER[1],
                    "periodicity": "monthly",
                }
            )
        )

    ATTEMPTS = (
        Attempt(
            "company B's declarant lets its own company read company A's books",
            "declarant_b",
            lambda case: (
                "res.company",
                "write",
                [[case.company_a.id], {"urssaf_books_reader_ids": [(4, case.company_b.id)]}],
            ),
            # Refused on the company itself: a declarant writes no company,
            # and company A is none of its own (which check speaks first
            # varies).
            "(res.company)",
        ),
    )

    def after_attempts(self):
        # A relation table has no id to compare rows by: its content, then.
        self.assertFalse(self.company_a.sudo().urssaf_books_reader_ids)

    def _web_call(self, model, method, args, kwargs):
        """``call_kw`` as the web client sends it, in company B's declarant's
        session: the registers' ids pack their reconciliation beyond the
        integers XML-RPC carries (2**31), JSON carries them."""
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": args, "kwargs": kwargs},
        )

    def _b_reads(self):
        """What company B's declarant reads of A's books: its registers'
        rows, their total as the pivot asks it, and its declaration's
        turnover once refreshed (over XML-RPC)."""
        self.authenticate(self.users["declarant_b"].login, rpc_trust.PASSWORD)
        domain = [("partner_id", "=", self.books_partner.id)]
        rows = self._web_call(
            "urssaf.register.line", "search_read", [domain], {"fields": ["amount", "move_id", "company_id"]}
        )
        groups = self._web_call(
            "urssaf.register.line",
            "formatted_read_group",
            [domain],
            {"groupby": ["partner_id"], "aggregates": ["amount:sum"]},
        )
        self.rpc("declarant_b", "urssaf.declaration", "action_refresh_turnover", [[self.declaration.id]])
        [declaration] = self.rpc(
            "declarant_b", "urssaf.declaration", "read", [[self.declaration.id], ["turnover_total"]]
        )
        return rows, groups, declaration["turnover_total"]

    def test_books_read_on_their_owners_say(self):
        self.rpc(
            "declarant_b",
            "res.partner",
            "write",
            [
                [self.books_partner.id],
                {
                    "urssaf_is_auto_entrepreneur": True,
                    "urssaf_turnover_source": "customer_invoices",
                    "urssaf_category_id": self.bic.id,
                },
            ],
        )
        account = (
            self.env["urssaf.account"]
            .sudo()
            .search([("partner_id", "=", self.books_partner.id), ("company_id", "=", self.company_b.id)])
        )
        self.assertEqual(account.turnover_source, "customer_invoices")
        # The query the preparation runs for B reads nothing of A's books.
        self.assertEqual(
            self.env["urssaf.turnover"]._compute_collected(self.books_partner, *OCTOBER, self.company_b),
            {self.books_partner.id: {}},
        )
        rows, groups, turnover = self._b_reads()
        self.assertEqual((rows, groups, turnover), ([], [], 0.0))

        # Company A's administrator lets B read its books, in A's settings.
        settings = self.rpc(
            "system", "res.config.settings", "create", [{"urssaf_books_reader_ids": [(6, 0, self.company_b.ids)]}]
        )
        self.rpc("system", "res.config.settings", "execute", [[settings]])
        self.env.invalidate_all()
        self.assertEqual(self.company_a.sudo().urssaf_books_reader_ids, self.company_b)

        rows, groups, turnover = self._b_reads()
        self.assertEqual(sorted(row["amount"] for row in rows), [400.0, 1000.0])
        self.assertEqual({row["company_id"][0] for row in rows}, {self.company_b.id})
        self.assertEqual([group["amount:sum"] for group in groups], [1400.0])
        self.assertEqual(turnover, 1400.0)
