# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Contributions in the books: an auto-entrepreneur keeping its books in a
company of its own (French chart) gets its paid contributions posted there,
and the bank's SEPA debit reconciles with them."""

import base64
from datetime import date, timedelta
from unittest.mock import patch

from odoo import Command
from odoo.tests import Form, freeze_time, new_test_user, tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon, AccountTestInvoicingHttpCommon

from ..urssaf_api.contributions import LABELS, VERSEMENT_LIBERATOIRE
from ..urssaf_api.seed import REJECTED_DEBIT_IBAN, seed_account
from .common import FROZEN_NOW, UrssafAccountingCase, UrssafSandboxMixin, reset_embedded_sandbox

MODULE = "l10n_fr_urssaf_tierce_declaration"
DOCUMENT = base64.b64encode(b"%PDF-1.4 mandat signe")
# The SEPA mandate the embedded sandbox holds for the seeded trader.
TRADER_IBAN = "FR76 3000 6000 0112 3456 7890 189"
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
SEPTEMBER = (date(2026, 9, 1), date(2026, 9, 30))
AUGUST = (date(2026, 8, 1), date(2026, 8, 31))


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestContributionBooks(UrssafAccountingCase):
    @classmethod
    def get_default_groups(cls):
        # The accounting test user declares too.
        return super().get_default_groups() | cls.quick_ref(f"{MODULE}.group_urssaf_declarant")

    @classmethod
    @AccountTestInvoicingCommon.setup_country("fr")
    def setUpClass(cls):
        super().setUpClass()
        # The auto-entrepreneur keeps its books in this company, which
        # declares for it (its own tiers-déclarant).
        cls.company = cls.company_data["company"]
        cls.bank_journal = cls.company_data["default_journal_bank"]
        cls.declarant = new_test_user(
            cls.env,
            login="urssaf_books_declarant",
            groups=f"account.group_account_manager,{MODULE}.group_urssaf_declarant",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        seed = seed_account("monthly_trader")
        cls.ae = cls.company.partner_id
        cls.ae.write(
            {
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_identifier_type": "nir",
                "urssaf_nir": seed["nir"],
                "urssaf_category_id": cls.env.ref(f"{MODULE}.category_vente_marchandises").id,
                "urssaf_trade": "commercant",
                "urssaf_turnover_source": "customer_invoices",
            }
        )
        cls.env["res.partner.bank"].create({"partner_id": cls.ae.id, "acc_number": TRADER_IBAN})

    def setUp(self):
        super().setUp()
        reset_embedded_sandbox(self.env.cr.dbname)
        self.ae.action_urssaf_check_account()
        mandate = self.env["urssaf.mandate"].create(
            {"partner_id": self.ae.id, "signature_date": date(2026, 1, 5), "document": DOCUMENT}
        )
        mandate.action_register()
        self.ae.action_urssaf_sync_sepa_mandates()

    def _declared_declaration(self, partner=None, amount=1000.0, period=OCTOBER, declare_context=None):
        partner = partner or self.ae
        category = self.env.ref(f"{MODULE}.category_vente_marchandises")
        # As the preparation does from the books (the computed amount is the
        # addon's own to write).
        declaration = (
            self.env["urssaf.declaration"]
            .sudo()
            .create(
                {
                    "partner_id": partner.id,
                    "period_start": period[0],
                    "period_end": period[1],
                    "line_ids": [
                        Command.create({"category_id": category.id, "computed_amount": amount, "amount": amount})
                    ],
                }
            )
        )
        declaration = declaration.with_user(self.declarant)
        declaration.action_estimate()
        declaration.with_context(**(declare_context or {})).action_declare()
        self.assertEqual(declaration.state, "declared", declaration.error_message)
        return declaration.with_user(self.env.user)

    def _paid_declaration(self, partner=None, amount=1000.0, period=OCTOBER):
        declaration = self._declared_declaration(partner, amount, period).with_user(self.declarant)
        declaration.action_pay()
        # Ordered until its debit date or its debit matched in the bank
        # (issue 27), paid from then on.
        self.assertIn(declaration.state, ("ordered", "paid"))
        return declaration.with_user(self.env.user)

    def _statement_line(self, amount, label, day):
        return self.env["account.bank.statement.line"].create(
            {"journal_id": self.bank_journal.id, "date": day, "amount": amount, "payment_ref": label}
        )

    def _enable(self):
        self.company.urssaf_post_contributions = True

    def test_the_contributions_entry_takes_no_default_of_the_caller(self):
        """The addon's steps write the books as the system, with the
        caller's context: a ``default_*`` key a declarant sends with Declare
        does not end up in the contributions entry."""
        self._enable()
        stranger = self.env["res.partner"].create({"name": "Somebody else"})
        declaration = self._declared_declaration(
            declare_context={
                "default_partner_id": stranger.id,
                "default_narration": "FORGED",
                "default_auto_post": "at_date",
            }
        )
        move = declaration.sudo().contribution_move_id
        self.assertEqual(move.state, "posted")
        self.assertFalse(move.partner_id or move.line_ids.partner_id, "no partner from the caller's context")
        self.assertFalse(move.narration)
        self.assertEqual(move.auto_post, "no")

    def test_off_by_default_nothing_posted(self):
        self.assertFalse(self.company.urssaf_post_contributions)
        declaration = self._paid_declaration()
        self.assertFalse(declaration.contribution_move_id)

    def test_defaults_are_the_french_chart(self):
        self._enable()
        self.assertEqual(self.company.urssaf_contribution_account_id.code, "646000")
        self.assertEqual(self.company.urssaf_income_tax_account_id.code, "108000")
        self.assertEqual(self.company.urssaf_payable_account_id.code, "431000")
        self.assertEqual(self.company.urssaf_contribution_journal_id.type, "general")
        self.assertEqual(self.company.urssaf_contribution_journal_id.company_id, self.company)

    def _payable(self, declaration):
        return declaration.contribution_move_id.line_ids.filtered(lambda line: line.account_id.code == "431000")

    def _settled_by(self, declaration):
        """The bank statement lines that settled the declaration's 431 line."""
        payable = self._payable(declaration)
        counterparts = payable.matched_debit_ids.debit_move_id | payable.matched_credit_ids.credit_move_id
        return counterparts.move_id.statement_line_id

    def test_accrual_posts_when_declared_and_the_debit_clears_431(self):
        self._enable()
        self.assertEqual(self.company.urssaf_contribution_basis, "accrual", "accrual by default")
        declaration = self._declared_declaration()
        move = declaration.contribution_move_id
        self.assertEqual(move.state, "posted", "owed from the declaration: posted before any payment")
        self.assertEqual(move.company_id, self.company)
        self.assertEqual(move.journal_id, self.company.urssaf_contribution_journal_id)
        self.assertEqual(move.date, date(2026, 11, 27), "dated the declaration day")
        self.assertEqual(move.ref, declaration.urssaf_number)
        contributions = sum(declaration.declared_contribution_ids.mapped("amount"))
        self.assertTrue(contributions)
        self.assertAlmostEqual(declaration.amount_total, contributions)
        by_code = {line.account_id.code: line.balance for line in move.line_ids}
        # A trader without versement libératoire: everything is an expense.
        self.assertEqual(set(by_code), {"646000", "431000"})
        self.assertAlmostEqual(by_code["646000"], contributions)
        self.assertAlmostEqual(by_code["431000"], -contributions)
        self.assertFalse(self._payable(declaration).reconciled, "owed to Urssaf until the debit")

        # Paying posts nothing more; the debit arrives, naming the reference.
        declaration.with_user(self.declarant).action_pay()
        self.assertEqual(declaration.contribution_move_id, move)
        st_line = self._statement_line(
            -declaration.payment_amount, f"PRLV SEPA URSSAF {declaration.payment_reference}", date(2026, 12, 1)
        )
        self.assertTrue(st_line.is_reconciled)
        self.assertTrue(self._payable(declaration).reconciled)
        self.assertEqual(self._settled_by(declaration), st_line)
        # 431 is cleared against the bank: its balance over both entries is nil.
        balance_431 = sum(
            (move.line_ids | st_line.move_id.line_ids)
            .filtered(lambda line: line.account_id.code == "431000")
            .mapped("balance")
        )
        self.assertAlmostEqual(balance_431, 0.0)
        # Once posted, the entry stays: posting again does not post another.
        declaration._urssaf_post_contributions()
        self.assertEqual(declaration.contribution_move_id, move)

    def test_cash_basis_posts_at_payment_and_the_debit_reconciles_by_reference(self):
        self._enable()
        self.company.urssaf_contribution_basis = "cash"
        declaration = self._declared_declaration()
        self.assertFalse(declaration.contribution_move_id, "cash basis: nothing until paid")
        declaration.with_user(self.declarant).action_pay()
        # Ordered (debited on 30 November): booked like a payment.
        self.assertEqual(declaration.state, "ordered")
        move = declaration.contribution_move_id
        self.assertEqual(move.state, "posted")
        self.assertEqual(move.date, declaration.debit_date)
        self.assertEqual(move.ref, declaration.payment_reference)
        by_code = {line.account_id.code: line.balance for line in move.line_ids}
        self.assertAlmostEqual(by_code["646000"], declaration.amount_total)
        self.assertAlmostEqual(by_code["431000"], -declaration.amount_total)

        # The bank statement arrives, its label holds the payment reference.
        st_line = self._statement_line(
            -declaration.payment_amount, f"PRLV SEPA URSSAF {declaration.payment_reference}", date(2026, 12, 1)
        )
        self.assertTrue(st_line.is_reconciled)
        self.assertEqual(self._settled_by(declaration), st_line)
        self.assertEqual(declaration.state, "paid", "the bank's debit matched: paid")

    # ------------------------------------------------------------------
    # Which bank line is the debit of which payment
    # ------------------------------------------------------------------

    def _two_equal_payments(self):
        """Two payments of the same amount, debited the same day."""
        self._enable()
        first = self._paid_declaration(period=SEPTEMBER)
        second = self._paid_declaration(period=OCTOBER)
        second._urssaf_write({"debit_date": first.debit_date})
        self.assertEqual(first.payment_amount, second.payment_amount)
        self.assertNotEqual(first.payment_reference, second.payment_reference)
        self.assertFalse(self._payable(first).reconciled or self._payable(second).reconciled)
        return first, second

    def test_a_line_naming_a_reference_settles_that_payment_even_inside_another_window(self):
        first, second = self._two_equal_payments()
        # The second payment's debit, on the day both are due: inside the
        # first payment's amount-and-date window too.
        st_line = self._statement_line(
            -second.payment_amount, f"PRLV SEPA URSSAF {second.payment_reference}", first.debit_date
        )
        self.assertTrue(st_line.is_reconciled, "the line naming the second payment's reference is its debit")
        self.assertEqual(self._settled_by(second), st_line, "the second payment is settled by the line naming it")
        self.assertFalse(self._payable(first).reconciled, "a line naming another payment is not the first's")
        self.assertFalse(self._settled_by(first), "a line naming another payment is not the first's")
        # The first one's own debit comes later and settles it.
        own = self._statement_line(-first.payment_amount, f"URSSAF {first.payment_reference}", first.debit_date)
        self.assertEqual(self._settled_by(first), own, "the first payment is settled by its own debit")

    def test_two_equal_payments_in_the_window_match_nothing_by_amount(self):
        first, second = self._two_equal_payments()
        st_line = self._statement_line(-first.payment_amount, "PRLV SEPA URSSAF", first.debit_date)
        self.assertFalse(st_line.is_reconciled, "either payment's: neither's by amount")
        self.assertFalse(self._payable(first).reconciled or self._payable(second).reconciled)
        # Nor when the payments run again over the bank's lines.
        first._urssaf_reconcile_debit()
        second._urssaf_reconcile_debit()
        self.assertFalse(st_line.is_reconciled)

    def test_a_reference_in_the_line_reference_rather_than_its_label(self):
        self._enable()
        declaration = self._paid_declaration()
        # Far from the debit date: only the reference can match it.
        st_line = self.env["account.bank.statement.line"].create(
            {
                "journal_id": self.bank_journal.id,
                "date": date(2027, 1, 15),
                "amount": -declaration.payment_amount,
                "payment_ref": "PRLV SEPA",
                "ref": declaration.payment_reference,
            }
        )
        self.assertTrue(st_line.is_reconciled, "the payment reference in the line's reference names the debit")
        self.assertEqual(self._settled_by(declaration), st_line, "settled by the line whose reference names it")

    def test_the_line_naming_the_reference_wins_over_an_anonymous_one_in_the_window(self):
        self._enable()
        declaration = self._paid_declaration()
        self.assertTrue(declaration.debit_date)
        # One bank import brings both: a debit of the same amount on the
        # debit day naming nothing, and the payment's own debit, naming its
        # reference, booked beyond the amount-and-date window.
        anonymous, named = self.env["account.bank.statement.line"].create(
            [
                {
                    "journal_id": self.bank_journal.id,
                    "date": declaration.debit_date,
                    "amount": -declaration.payment_amount,
                    "payment_ref": "PRLV SEPA",
                },
                {
                    "journal_id": self.bank_journal.id,
                    "date": declaration.debit_date + timedelta(days=10),
                    "amount": -declaration.payment_amount,
                    "payment_ref": f"PRLV SEPA URSSAF {declaration.payment_reference}",
                },
            ]
        )
        self.assertEqual(self._settled_by(declaration), named, "the reference decides before the amount and the date")
        self.assertFalse(anonymous.is_reconciled, "a line naming the reference leaves the anonymous one alone")

    def test_debit_already_in_the_bank_reconciles_by_amount_and_date(self):
        self._enable()
        # Same amount, too far from the debit date: not Urssaf's.
        far = self._statement_line(-124.0, "PRLV SEPA", date(2026, 11, 2))
        # Urssaf's debit, without the reference, booked on the debit day.
        st_line = self._statement_line(-124.0, "PRLV SEPA DGFIP URSSAF", date(2026, 11, 30))
        other = self._statement_line(-99.0, "PRLV SEPA URSSAF", date(2026, 11, 30))
        declaration = self._paid_declaration(amount=1000.0)
        self.assertAlmostEqual(declaration.amount_total, 124.0, msg="12.3 % + 0.1 % CFP of 1,000 (DOMAIN.md)")
        self.assertEqual(declaration.debit_date, date(2026, 11, 30))
        self.assertTrue(st_line.is_reconciled)
        self.assertEqual(declaration.state, "paid", "its debit already in the bank, before the debit date")
        self.assertFalse(far.is_reconciled)
        self.assertFalse(other.is_reconciled)
        self.assertTrue(
            any("reconciled with the bank statement line" in body for body in declaration.message_ids.mapped("body"))
        )

    def test_versement_liberatoire_goes_to_the_owner_account(self):
        self._enable()
        declaration = self._paid_declaration()
        label = LABELS[VERSEMENT_LIBERATOIRE]
        # The trader has no versement libératoire: pretend Urssaf declared one
        # to see it split (as Urssaf does for an auto-entrepreneur who opted).
        move_values = declaration._urssaf_contribution_move_values(self.company)
        self.assertEqual(len(move_values["line_ids"]), 2)
        declaration.declared_contribution_ids[:1].sudo().label = label
        vl = declaration.declared_contribution_ids[:1].amount
        lines = {
            self.env["account.account"].browse(values["account_id"]).code: values["amount_currency"]
            for _command, _id, values in declaration._urssaf_contribution_move_values(self.company)["line_ids"]
        }
        self.assertAlmostEqual(lines["108000"], vl)
        self.assertAlmostEqual(lines["646000"], declaration.amount_total - vl)
        self.assertAlmostEqual(lines["431000"], -declaration.amount_total)

    def test_nothing_posted_for_a_platform_auto_entrepreneur(self):
        self._enable()
        # The same auto-entrepreneur, declared from vendor bills (a platform
        # paying it): the debit is not in these books.
        self.ae.urssaf_turnover_source = "vendor_bills"
        declaration = self._paid_declaration()
        self.assertFalse(declaration.contribution_move_id)

    def test_posting_failure_keeps_the_payment(self):
        self._enable()
        # An account archived after the settings were saved.
        self.company.sudo().urssaf_contribution_account_id.active = False
        declaration = self._paid_declaration()
        self.assertEqual(declaration.state, "ordered", "debited on 30 November")
        self.assertTrue(declaration.payment_reference)
        self.assertFalse(declaration.contribution_move_id)
        self.assertTrue(any("could not be posted" in body for body in declaration.message_ids.mapped("body")))

    # ------------------------------------------------------------------
    # A debit the bank rejects (the sandbox's REJECTED_DEBIT_IBAN)
    # ------------------------------------------------------------------

    def _pay_from_the_rejected_iban(self, declaration):
        bank = self.env["res.partner.bank"].create({"partner_id": self.ae.id, "acc_number": REJECTED_DEBIT_IBAN})
        sepa = self.env["urssaf.sepa.mandate"].create(
            {"partner_id": self.ae.id, "bank_account_id": bank.id, "holder": "Camille Martin"}
        )
        sepa.action_register()
        declaration = declaration.with_user(self.declarant)
        declaration.sepa_mandate_id = sepa
        declaration.action_pay()
        self.assertEqual(declaration.state, "ordered")

    def _debit_day_run(self):
        """The scheduled action's confirmation of the debits, on 30 November."""
        cron = type(self.env["ir.cron"])
        with freeze_time("2026-11-30 10:00:00"), patch.object(cron, "_commit_progress", lambda *a, **kw: 0):
            self.env["urssaf.declaration"]._urssaf_settle_ordered_payments(date(2026, 11, 30))

    def _pay_again_from_the_trader_account(self, declaration):
        declaration = declaration.with_user(self.declarant)
        declaration.sepa_mandate_id = self.env["urssaf.sepa.mandate"].search(
            [("partner_id", "=", self.ae.id), ("iban_masked", "like", "%0189")]
        )
        with freeze_time("2026-11-30 10:00:00"):
            declaration.action_pay()

    def test_cash_basis_a_rejected_debit_reverses_the_entry_paying_again_posts_it_again(self):
        self._enable()
        self.company.urssaf_contribution_basis = "cash"
        declaration = self._declared_declaration()
        self._pay_from_the_rejected_iban(declaration)
        move = declaration.contribution_move_id
        self.assertEqual(move.state, "posted", "booked like a payment once ordered")

        self._debit_day_run()
        self.assertEqual((declaration.state, declaration.debit_rejected), ("declared", True))
        self.assertFalse(declaration.contribution_move_id, "no payment in the books")
        reversal = move.reversal_move_ids
        self.assertEqual((reversal.state, reversal.date), ("posted", date(2026, 11, 30)))
        self.assertTrue(self._payable_lines(move).reconciled, "the entry and its reversal cancel out")
        net = sum((move | reversal).line_ids.filtered(lambda line: line.account_id.code == "646000").mapped("balance"))
        self.assertAlmostEqual(net, 0.0, msg="no contribution expense for a payment that did not happen")

        # Paid again from an account that pays: booked again, once.
        self._pay_again_from_the_trader_account(declaration)
        self.assertEqual((declaration.state, declaration.debit_rejected), ("paid", False))
        again = declaration.contribution_move_id
        self.assertTrue(again)
        self.assertNotEqual(again, move)
        self.assertEqual(again.ref, declaration.payment_reference)
        self.assertFalse(self._payable(declaration).reconciled, "owed until the bank's debit is matched")

    def _payable_lines(self, move):
        return move.line_ids.filtered(lambda line: line.account_id.code == "431000")

    def test_accrual_a_rejected_debit_leaves_431_owed_then_the_next_debit_clears_it(self):
        self._enable()
        declaration = self._declared_declaration()
        move = declaration.contribution_move_id
        self._pay_from_the_rejected_iban(declaration)
        self._debit_day_run()
        self.assertEqual((declaration.state, declaration.debit_rejected), ("declared", True))
        self.assertEqual(declaration.contribution_move_id, move, "still owed: the entry stays")
        self.assertFalse(move.reversal_move_ids)
        self.assertFalse(self._payable(declaration).reconciled)
        # The bank shows the debit rejected: it is no payment of a declaration
        # due again, nor of the next payment.
        rejected = declaration.payment_reference
        self.assertEqual(declaration.rejected_payment_references, rejected)
        st_line = self._statement_line(-declaration.amount_total, f"PRLV SEPA URSSAF {rejected}", date(2026, 11, 30))
        self.assertFalse(st_line.is_reconciled)

        self._pay_again_from_the_trader_account(declaration)
        self.assertEqual(declaration.contribution_move_id, move, "nothing posted twice")
        debit = self._statement_line(
            -declaration.payment_amount, f"PRLV SEPA URSSAF {declaration.payment_reference}", date(2026, 12, 1)
        )
        self.assertTrue(debit.is_reconciled)
        self.assertEqual(self._settled_by(declaration), debit)
        self.assertFalse(st_line.is_reconciled)

    def test_settings_propose_the_chart_and_save_it(self):
        admin = new_test_user(
            self.env,
            login="urssaf_books_admin",
            groups="base.group_system,account.group_account_manager",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        settings = Form(self.env["res.config.settings"].with_user(admin).with_company(self.company))
        self.assertFalse(settings.urssaf_contribution_account_id)
        settings.urssaf_post_contributions = True
        self.assertEqual(settings.urssaf_contribution_account_id.code, "646000")
        self.assertEqual(settings.urssaf_payable_account_id.code, "431000")
        expense = self.env["account.account"].search(
            [*self.env["account.account"]._check_company_domain(self.company), ("code", "=like", "6458%")], limit=1
        )
        self.assertTrue(expense)
        settings.urssaf_contribution_account_id = expense
        settings.save().execute()
        self.assertTrue(self.company.urssaf_post_contributions)
        self.assertEqual(self.company.urssaf_contribution_account_id, expense)
        self.assertEqual(self.company.urssaf_income_tax_account_id.code, "108000")


PASSWORD = "books-Passw0rd!"


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestContributionBooksOwnersSay(UrssafSandboxMixin, AccountTestInvoicingHttpCommon):
    """Company C's contact is an auto-entrepreneur declared and paid by
    company B, over XML-RPC as B's declarant: C's books get its
    contributions (and its bank lines are matched) only once C's
    administrator lets B in."""

    @classmethod
    def setup_independent_company(cls, **kwargs):
        return super().setup_independent_company(currency_id=cls._enable_currency("EUR").id, **kwargs)

    @classmethod
    @AccountTestInvoicingCommon.setup_country("fr")
    def setUpClass(cls):
        super().setUpClass()
        cls.company_c = cls.company_data["company"]
        cls.company_c.sudo().write({"urssaf_post_contributions": True})
        cls.bank_journal = cls.company_data["default_journal_bank"]
        cls.company_b = cls.env["res.company"].create(
            {"name": "Cabinet B", "currency_id": cls.company_c.currency_id.id}
        )
        cls.declarant_b = new_test_user(
            cls.env,
            login="books_declarant_b",
            password=PASSWORD,
            groups=f"account.group_account_manager,{MODULE}.group_urssaf_declarant",
            company_id=cls.company_b.id,
            company_ids=[Command.set(cls.company_b.ids)],
        )
        cls.admin_c = new_test_user(
            cls.env,
            login="books_admin_c",
            password=PASSWORD,
            groups="base.group_system,account.group_account_manager",
            company_id=cls.company_c.id,
            company_ids=[Command.set(cls.company_c.ids)],
        )
        seed = seed_account("monthly_trader")
        cls.ae = cls.company_c.partner_id
        cls.env["res.partner.bank"].create({"partner_id": cls.ae.id, "acc_number": TRADER_IBAN})
        in_b = cls.env(user=cls.declarant_b, context=dict(cls.env.context, allowed_company_ids=cls.company_b.ids))
        in_b["urssaf.account"].create(
            {
                "partner_id": cls.ae.id,
                "company_id": cls.company_b.id,
                "is_auto_entrepreneur": True,
                "identifier_type": "nir",
                "nir": seed["nir"],
                "category_id": cls.env.ref(f"{MODULE}.category_vente_marchandises").id,
                "trade": "commercant",
                "turnover_source": "customer_invoices",
            }
        )

    def setUp(self):
        super().setUp()
        reset_embedded_sandbox(self.env.cr.dbname)
        in_b = self.env(user=self.declarant_b, context=dict(self.env.context, allowed_company_ids=self.company_b.ids))
        in_b["res.partner"].browse(self.ae.id).action_urssaf_check_account()
        mandate = in_b["urssaf.mandate"].create(
            {
                "partner_id": self.ae.id,
                "company_id": self.company_b.id,
                "signature_date": date(2026, 1, 5),
                "document": DOCUMENT,
            }
        )
        mandate.action_register()
        in_b["res.partner"].browse(self.ae.id).action_urssaf_sync_sepa_mandates()

    def rpc(self, user, model, method, args, kwargs=None):
        return self.xmlrpc_object.execute_kw(self.env.cr.dbname, user.id, PASSWORD, model, method, args, kwargs or {})

    def _declare_and_pay_as_b(self, period, pay=True):
        category = self.env.ref(f"{MODULE}.category_vente_marchandises")
        declaration = (
            self.env["urssaf.declaration"]
            .sudo()
            .create(
                {
                    "partner_id": self.ae.id,
                    "company_id": self.company_b.id,
                    "period_start": period[0],
                    "period_end": period[1],
                    "line_ids": [
                        Command.create({"category_id": category.id, "computed_amount": 1000.0, "amount": 1000.0})
                    ],
                }
            )
        )
        for step in ("action_estimate", "action_declare", "action_pay") if pay else ("action_estimate",):
            self.rpc(self.declarant_b, "urssaf.declaration", step, [declaration.ids])
        if not pay:
            self.rpc(self.declarant_b, "urssaf.declaration", "action_declare", [declaration.ids])
        self.env.invalidate_all()
        return declaration

    def _moves_in_c(self):
        return self.env["account.move"].sudo().search([("company_id", "=", self.company_c.id), ("ref", "!=", False)])

    def test_nothing_posted_in_c_until_c_lets_b_in(self):
        before = self._moves_in_c()
        september = self._declare_and_pay_as_b(SEPTEMBER)
        self.assertEqual(september.state, "paid")
        self.assertTrue(september.payment_reference)
        self.assertFalse(september.contribution_move_id)
        self.assertEqual(self._moves_in_c(), before, "nothing written in C's books")
        # C's bank books the debit: B's payment is not matched in C's books.
        st_line = self._debit_in_c(september)
        self.assertFalse(st_line.is_reconciled)

        # C's administrator lets B declare from C's books.
        self._readers_of_c_as_admin_c([(4, self.company_b.id)])
        self.assertTrue(self.company_c._urssaf_books_readable_by(self.company_b))
        august = self._declare_and_pay_as_b(AUGUST, pay=False)
        self.assertEqual(august.state, "declared")
        move = august.contribution_move_id
        self.assertEqual((move.company_id, move.state), (self.company_c, "posted"), "posted in C when declared")
        self.rpc(self.declarant_b, "urssaf.declaration", "action_pay", [august.ids])
        self.env.invalidate_all()
        august_debit = self._debit_in_c(august)
        self.assertTrue(august_debit.is_reconciled)
        self.assertEqual(self._settled_in_c(august), august_debit)
        self.assertFalse(st_line.is_reconciled, "September's debit names September's payment, posted nowhere")

        # Posted while B was let in, paid, then C's administrator withdraws
        # it: the debit is not matched in C's books any more.
        october = self._declare_and_pay_as_b(OCTOBER)
        self.assertEqual(october.contribution_move_id.company_id, self.company_c)
        self._readers_of_c_as_admin_c([(5, 0, 0)])
        self.assertFalse(self._debit_in_c(october).is_reconciled)
        self.assertFalse(self._settled_in_c(october))

    def test_rejected_debit_reverses_nothing_in_c_once_c_withdrew(self):
        """On a cash basis C's books got B's payment, ordered from an
        account whose bank rejects the debit; C's administrator withdraws B
        before the debit day: the rejection reverses nothing in C's books."""
        self.company_c.sudo().urssaf_contribution_basis = "cash"
        self._readers_of_c_as_admin_c([(4, self.company_b.id)])
        in_b = self.env(user=self.declarant_b, context=dict(self.env.context, allowed_company_ids=self.company_b.ids))
        bank = self.env["res.partner.bank"].create({"partner_id": self.ae.id, "acc_number": REJECTED_DEBIT_IBAN})
        sepa = in_b["urssaf.sepa.mandate"].create(
            {"partner_id": self.ae.id, "bank_account_id": bank.id, "holder": "Camille Martin"}
        )
        sepa.action_register()
        declaration = self._declare_and_pay_as_b(OCTOBER, pay=False)
        self.rpc(self.declarant_b, "urssaf.declaration", "write", [declaration.ids, {"sepa_mandate_id": sepa.id}])
        self.rpc(self.declarant_b, "urssaf.declaration", "action_pay", [declaration.ids])
        self.env.invalidate_all()
        move = declaration.contribution_move_id
        self.assertEqual((declaration.state, move.company_id, move.state), ("ordered", self.company_c, "posted"))

        self._readers_of_c_as_admin_c([(5, 0, 0)])
        before = self._moves_in_c()
        cron = type(self.env["ir.cron"])
        with freeze_time("2026-11-30 10:00:00"), patch.object(cron, "_commit_progress", lambda *a, **kw: 0):
            self.env["urssaf.declaration"]._urssaf_settle_ordered_payments(date(2026, 11, 30))
        self.env.invalidate_all()
        self.assertTrue(declaration.debit_rejected)
        self.assertEqual(self._moves_in_c(), before, "nothing written in C's books")
        self.assertFalse(move.reversal_move_ids)
        self.assertEqual(move.state, "posted")

    def _readers_of_c_as_admin_c(self, commands):
        self.rpc(self.admin_c, "res.company", "write", [self.company_c.ids, {"urssaf_books_reader_ids": commands}])
        self.env.invalidate_all()

    def _debit_in_c(self, declaration):
        return self.env["account.bank.statement.line"].create(
            {
                "journal_id": self.bank_journal.id,
                "date": declaration.debit_date,
                "amount": -declaration.payment_amount,
                "payment_ref": f"PRLV SEPA URSSAF {declaration.payment_reference}",
            }
        )

    def _settled_in_c(self, declaration):
        payable = declaration.contribution_move_id.line_ids.filtered(
            lambda line: line.account_id == self.company_c.urssaf_payable_account_id
        )
        counterparts = payable.matched_debit_ids.debit_move_id | payable.matched_credit_ids.credit_move_id
        return counterparts.move_id.statement_line_id
