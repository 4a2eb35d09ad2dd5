# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The migrations run for real: each test builds the database state of the
version before (in SQL where the ORM would refuse it now), calls the
migration's ``migrate(cr, version)``, and looks at what it left."""

from datetime import date

from odoo import Command
from odoo.modules.module import get_module_path, load_script
from odoo.tests import new_test_user, tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

from . import test_urssaf_account as account_tests
from .common import UrssafAccountingCase, paid_vendor_bill

ADDON = "l10n_fr_urssaf_tierce_declaration"


def migration(version):
    path = f"{get_module_path(ADDON)}/migrations/{version}/post-migrate.py"
    return load_script(path, f"urssaf_post_migrate_{version.replace('.', '_')}")


@tagged("post_install", "-at_install")
class TestMigrations(UrssafAccountingCase):
    # res_partner's columns of 19.0.1.0.x, as the 19.0.1.1.0 tests build them.
    OLD_COLUMNS = account_tests.TestMigration.OLD_COLUMNS
    _old_schema = account_tests.TestMigration._old_schema
    _old_values = account_tests.TestMigration._old_values

    @classmethod
    def get_default_groups(cls):
        return super().get_default_groups() | cls.quick_ref(f"{ADDON}.group_urssaf_declarant")

    @classmethod
    @AccountTestInvoicingCommon.setup_country("fr")
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.company_data["company"]
        cls.goods = cls.env.ref(f"{ADDON}.category_vente_marchandises")
        cls.services = cls.env.ref(f"{ADDON}.category_prestation_services_bic")
        cls.liberal = cls.env.ref(f"{ADDON}.category_prestation_services_bnc")
        cls.Account = cls.env["urssaf.account"].sudo()

    def _account(self, name, categories=(), category=None, company=None):
        """An auto-entrepreneur's account as 19.0.1.1.0 left it: ``categories``
        from Urssaf's account check, maybe no default category."""
        partner = self.env["res.partner"].create({"name": name})
        account = self.Account.create(
            {
                "partner_id": partner.id,
                "company_id": (company or self.company).id,
                "is_auto_entrepreneur": False,
                "category_id": category and category.id,
                "category_ids": [Command.set([c.id for c in categories])],
            }
        )
        self.env.cr.execute("UPDATE urssaf_account SET is_auto_entrepreneur = TRUE WHERE id = %s", [account.id])
        account.invalidate_recordset()
        return account

    def _checked_ae(self, name):
        """An auto-entrepreneur whose account check found it eligible and
        declaring monthly (written as the check writes it)."""
        partner = self.env["res.partner"].create({"name": name})
        self.Account.create(
            {
                "partner_id": partner.id,
                "company_id": self.company.id,
                "is_auto_entrepreneur": True,
                "category_id": self.goods.id,
                "state": "eligible",
                "eligible": True,
                "periodicity": "monthly",
                "activity_start": date(2019, 3, 1),
                "checked_at": "2024-01-02 10:00:00",
            }
        )
        return partner

    # ------------------------------------------------------------------
    # 19.0.1.2.0
    # ------------------------------------------------------------------

    def test_default_category_from_the_account_check_when_it_gave_one(self):
        one = self._account("One category", [self.goods])
        several = self._account("Several categories", [self.goods, self.services])
        none = self._account("Never checked")
        chosen = self._account("Chosen already", [self.goods], category=self.liberal)
        self.assertFalse(one.category_id or several.category_id or none.category_id)
        self.env.flush_all()

        migration("19.0.1.2.0").migrate(self.env.cr, "19.0.1.1.0")
        self.env.invalidate_all()

        self.assertEqual(one.category_id, self.goods)
        self.assertFalse(several.category_id, "several categories: a declarant chooses")
        self.assertFalse(none.category_id)
        self.assertEqual(chosen.category_id, self.liberal, "a category chosen stays")
        # The ones left are found by the accounts' filter.
        lacking = self.Account.search([("is_auto_entrepreneur", "=", True), ("category_id", "=", False)])
        self.assertEqual(lacking & (one | several | none | chosen), several | none)

    def test_companies_posting_their_contributions_keep_posting_them_when_paid(self):
        other = self.env["res.company"].create({"name": "Not posting"})
        self.env.flush_all()
        # Posting on in 19.0.1.1.0 (when paid, the only way then).
        self.env.cr.execute("UPDATE res_company SET urssaf_post_contributions = TRUE WHERE id = %s", [self.company.id])
        self.assertEqual((self.company.urssaf_contribution_basis, other.urssaf_contribution_basis), ("accrual",) * 2)

        migration("19.0.1.2.0").migrate(self.env.cr, "19.0.1.1.0")
        self.env.invalidate_all()

        self.assertEqual(self.company.urssaf_contribution_basis, "cash")
        self.assertEqual(other.urssaf_contribution_basis, "accrual")

    def test_nothing_on_install(self):
        account = self._account("One category", [self.goods])
        self.env.flush_all()
        migration("19.0.1.2.0").migrate(self.env.cr, None)
        self.env.invalidate_all()
        self.assertFalse(account.category_id)

    def test_declared_declarations_get_their_register_rows_rebuilt(self):
        Declaration = self.env["urssaf.declaration"]
        if "register_row_ids" not in Declaration._fields:
            self.skipTest("the stored register rows are not in this branch (branch register)")
        ae = self._checked_ae("Camille Martin")
        paid_vendor_bill(self.env, ae, date(2026, 9, 3), 700.0, payment_date=date(2026, 9, 10))
        declared, draft = Declaration.create(
            [
                {
                    "partner_id": ae.id,
                    "company_id": self.company.id,
                    "period_start": start,
                    "period_end": end,
                }
                for start, end in ((date(2026, 9, 1), date(2026, 9, 30)), (date(2026, 10, 1), date(2026, 10, 31)))
            ]
        )
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE urssaf_declaration SET state = 'paid', urssaf_number = 'D-2026-09' WHERE id = %s", [declared.id]
        )
        self.env.invalidate_all()
        self.assertFalse(declared.register_row_ids)

        migration("19.0.1.2.0").migrate(self.env.cr, "19.0.1.1.0")
        self.env.invalidate_all()

        self.assertTrue(declared.register_row_ids, "rows from the books as they are")
        self.assertTrue(all(declared.register_row_ids.mapped("rebuilt")))
        self.assertAlmostEqual(sum(declared.register_row_ids.mapped("amount")), 700.0)
        self.assertFalse(draft.register_row_ids, "not declared: nothing kept")

    def test_fee_accounts_get_their_defaults(self):
        Company = self.env["res.company"]
        if "urssaf_fee_account_ids" not in Company._fields:
            self.skipTest("the fee accounts are not in this branch (branch receipts)")
        self.company.sudo().urssaf_fee_account_ids = False
        self.env.flush_all()
        migration("19.0.1.2.0").migrate(self.env.cr, "19.0.1.1.0")
        self.env.invalidate_all()
        codes = set(self.company.sudo().urssaf_fee_account_ids.mapped("code"))
        self.assertTrue(codes)
        self.assertTrue(all(code.startswith(("622", "627")) for code in codes), codes)

    # ------------------------------------------------------------------
    # 19.0.1.1.0
    # ------------------------------------------------------------------

    def test_due_dates_of_undeclared_declarations_move_to_the_working_day(self):
        """No mock: the declarations' stored deadlines are those of before
        the working-day calendar; the migration recomputes them."""
        ae = self._checked_ae("Camille Martin")
        Declaration = self.env["urssaf.declaration"]
        # May 2024's deadline, 30 June 2024, was a Sunday; July's, 31 August
        # 2024, a Saturday (Urssaf's published calendar: 1 July, 2 September).
        may, july, october = Declaration.create(
            [
                {
                    "partner_id": ae.id,
                    "company_id": self.company.id,
                    "period_start": start,
                    "period_end": end,
                }
                for start, end in (
                    (date(2024, 5, 1), date(2024, 5, 31)),
                    (date(2024, 7, 1), date(2024, 7, 31)),
                    (date(2024, 10, 1), date(2024, 10, 31)),
                )
            ]
        )
        self.env.flush_all()
        cr = self.env.cr
        # As 19.0.1.0.x stored them: the last day of the next month.
        for declaration, stale in ((may, "2024-06-30"), (july, "2024-08-31"), (october, "2024-11-30")):
            cr.execute(
                "UPDATE urssaf_declaration SET due_date = %s WHERE id = %s",
                [stale, declaration.id],
            )
        # October was declared: Urssaf gave its own deadline, which stays.
        cr.execute("UPDATE urssaf_declaration SET urssaf_number = 'D-2024-10' WHERE id = %s", [october.id])
        self.env.invalidate_all()
        self.assertEqual(may.due_date, date(2024, 6, 30))

        migration("19.0.1.1.0").migrate(cr, "19.0.1.0.0")
        # Read before anything flushes: the migration stored them itself.
        cr.execute("SELECT due_date FROM urssaf_declaration WHERE id = %s", [may.id])
        self.assertEqual(cr.fetchone()[0], date(2024, 7, 1), "stored by the migration, not only computed")
        self.env.invalidate_all()

        self.assertEqual(may.due_date, date(2024, 7, 1), "30 June 2024 was a Sunday")
        self.assertEqual(july.due_date, date(2024, 9, 2), "31 August 2024 was a Saturday")
        self.assertEqual(october.due_date, date(2024, 11, 30), "declared: Urssaf's deadline kept")

    def test_each_check_note_goes_to_the_account_of_the_company_whose_check_wrote_it(self):
        company_a = self.env.company
        company_b = self.env["res.company"].create({"name": "Cabinet B"})
        company_c = self.env["res.company"].create({"name": "Cabinet C"})
        users = {
            company: new_test_user(
                self.env,
                login=f"migration_{company.id}",
                groups=f"{ADDON}.group_urssaf_preparer",
                company_id=company.id,
                company_ids=[Command.set(company.ids)],
            )
            for company in (company_a, company_b, company_c)
        }
        Partner = self.env["res.partner"]
        shared = Partner.create({"name": "Camille Martin"})
        own = Partner.create({"name": "Lucas Bernard", "company_id": company_b.id})
        # A and B work for the shared partner; C only checked it once.
        self.env["urssaf.mandate"].create({"partner_id": shared.id, "company_id": company_a.id})
        self.env["urssaf.mandate"].create({"partner_id": shared.id, "company_id": company_b.id})
        self.env.flush_all()
        self._old_schema()
        self._old_values(shared, urssaf_is_auto_entrepreneur=True, urssaf_category_id=self.goods.id)
        self._old_values(own, urssaf_is_auto_entrepreneur=True, urssaf_category_id=self.goods.id)

        def note(partner, company, body):
            """A note 19.0.1.0.x's check logged, as a user of ``company``."""
            return partner.with_user(users[company]).sudo()._message_log(body=body)

        by_a = note(shared, company_a, "Urssaf account checked: eligible, declares monthly.")
        by_b = note(shared, company_b, "Urssaf account check: unknown account. Not found.")
        by_b_fr = note(
            shared, company_b, "Mandats SEPA synchronisés depuis l'Urssaf : 1 ajouté(s), 0 marqué(s) révoqué(s)."
        )
        by_c = note(shared, company_c, "Compte Urssaf vérifié : éligible, déclare mensuellement.")
        # The partner belongs to B: B's settings checked it, whoever asked.
        on_own = note(own, company_a, "SEPA mandates synchronised from Urssaf: 0 added, 0 marked revoked.")
        # Not the addon's notes: they stay on the partner.
        unrelated = note(shared, company_a, "The Urssaf office called about the address.")
        comment = (
            shared.with_user(users[company_a])
            .sudo()
            .message_post(body="Urssaf account checked: by phone", message_type="comment")
        )
        # The check's words on another model's record that has the
        # partner's id (a journal of another module): not a partner's note.
        journal = self.company_data["default_journal_bank"]
        elsewhere = (
            journal.with_user(users[company_a])
            .sudo()
            ._message_log(body="Urssaf account checked: the journal's own note.")
        )
        self.env.flush_all()
        self.env.cr.execute("UPDATE mail_message SET res_id = %s WHERE id = %s", [shared.id, elsewhere.id])

        created = migration("19.0.1.1.0").migrate_partner_accounts(self.env.cr)
        self.env.invalidate_all()

        accounts = self.Account.browse(created)
        by_key = {(account.partner_id, account.company_id): account for account in accounts}
        self.assertEqual(
            set(by_key),
            {(shared, company_a), (shared, company_b), (shared, company_c), (own, company_b)},
            "C checked the shared partner: it gets an account for its note",
        )
        for message, account in (
            (by_a, by_key[shared, company_a]),
            (by_b, by_key[shared, company_b]),
            (by_b_fr, by_key[shared, company_b]),
            (by_c, by_key[shared, company_c]),
            (on_own, by_key[own, company_b]),
        ):
            with self.subTest(body=message.body):
                self.assertEqual((message.model, message.res_id), ("urssaf.account", account.id))
                self.assertEqual(message.record_company_id, account.company_id)
        for message in (unrelated, comment):
            with self.subTest(body=message.body):
                self.assertEqual((message.model, message.res_id), ("res.partner", shared.id))
        self.assertEqual((elsewhere.model, elsewhere.res_id), ("account.journal", shared.id))
        # What each company's users read: their own company's notes only.
        as_b = self.env["mail.message"].with_user(users[company_b])
        visible = as_b.search([("model", "=", "urssaf.account")])
        self.assertIn(by_b, visible)
        self.assertNotIn(by_a, visible)
        self.assertNotIn(by_c, visible)
        as_a = self.env["mail.message"].with_user(users[company_a])
        visible = as_a.search([("model", "=", "urssaf.account")])
        self.assertIn(by_a, visible)
        # (Its own user wrote the note on B's partner: authors read theirs.)
        self.assertFalse(visible & (by_b | by_b_fr | by_c), "A reads none of B's or C's checks")
