# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A SEPA debit the auto-entrepreneur's bank rejects never reads "Paid": on
and after the debit date the payment ordered is confirmed with Urssaf, and a
debit rejected makes the declaration due again, to be paid again once."""

from datetime import date
from decimal import Decimal
from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import freeze_time, tagged
from odoo.tools import html2plaintext

from ..urssaf_api.client import UrssafClient
from ..urssaf_api.exceptions import UrssafTransportError
from ..urssaf_api.seed import REJECTED_DEBIT_IBAN
from .common import FROZEN_NOW
from .test_declaration import UrssafDeclarationCase

SEEDED_IBAN = "FR76 3000 6000 0112 3456 7890 189"
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
# The trader's October is due, and debited, on Monday 30 November 2026.
DEBIT_DAY = "2026-11-30 10:00:00"


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestDebitRejected(UrssafDeclarationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.urssaf_responsible_user_id = cls.declarant
        cls.company.urssaf_job_queue = False

    def setUp(self):
        super().setUp()
        # Urssaf (the sandbox, reset for each test) knows the trader's SEPA
        # mandate on a bank that pays; one is registered on the sandbox's
        # test IBAN whose debits are rejected.
        self.env["res.partner.bank"].create({"partner_id": self.trader.id, "acc_number": SEEDED_IBAN})
        self.trader.action_urssaf_sync_sepa_mandates()
        self.paying_sepa = self.env["urssaf.sepa.mandate"].search([("partner_id", "=", self.trader.id)])
        rejecting_bank = self.env["res.partner.bank"].create(
            {"partner_id": self.trader.id, "acc_number": REJECTED_DEBIT_IBAN}
        )
        self.rejecting_sepa = self.env["urssaf.sepa.mandate"].create(
            {
                "partner_id": self.trader.id,
                "bank_account_id": rejecting_bank.id,
                "holder": self.trader.name,
                "signature_date": date(2026, 11, 2),
            }
        )
        self.rejecting_sepa.action_register()
        self.assertEqual((self.paying_sepa | self.rejecting_sepa).mapped("state"), ["active", "active"])

    def _declared_october(self):
        declaration = self._declaration(self.trader, *OCTOBER, {"VENTE_MARCHANDISES": 1000.0})
        declaration.with_user(self.preparer).action_estimate()
        declaration.with_user(self.declarant).action_declare()
        self.assertEqual(declaration.state, "declared", declaration.error_message)
        return declaration

    def _pay_from(self, declaration, sepa):
        declaration.with_user(self.declarant).sepa_mandate_id = sepa
        declaration.with_user(self.declarant).action_pay()

    def _settle(self):
        with self._no_commit():
            self.env["urssaf.declaration"]._cron_urssaf_declarations()

    def _remote(self, declaration):
        (held,) = self._sandbox_declarations(self.trader, declaration.period_start)
        return held

    def _texts(self, declaration):
        self.env.cr.flush()
        declaration.invalidate_recordset(["message_ids"])
        return [html2plaintext(message.body) for message in declaration.message_ids.sorted("id") if message.body]

    def _error_count(self):
        cockpit = self.env["urssaf.cockpit"].search([("company_id", "=", self.company.id)])
        if not cockpit:
            self.env["urssaf.cockpit"].action_open_cockpit()
            cockpit = self.env["urssaf.cockpit"].search([("company_id", "=", self.company.id)])
        cockpit.invalidate_recordset()
        return cockpit.error_count

    def test_a_rejected_debit_is_due_again_then_paid_once(self):
        declaration = self._declared_october()
        total = declaration.amount_total
        errors_before = self._error_count()
        self._pay_from(declaration, self.rejecting_sepa)
        self.assertEqual((declaration.state, declaration.debit_date), ("ordered", date(2026, 11, 30)))
        self.assertFalse(declaration.debit_rejected)

        # Before the debit date: nothing asked, nothing changes.
        self._settle()
        self.assertEqual(declaration.state, "ordered")

        with freeze_time(DEBIT_DAY):
            self._settle()
            remote = self._remote(declaration)
        # Urssaf still waits for the money: never "Paid".
        self.assertEqual((remote.status, remote.remaining_due), ("DECLAREE", Decimal(str(total))))
        self.assertEqual(declaration.state, "declared")
        self.assertTrue(declaration.debit_rejected)
        self.assertEqual(declaration.remaining_due, total)
        amount = declaration._format_amount(total)
        self.assertEqual(
            self._texts(declaration)[-1],
            f"Urssaf's SEPA debit of {amount} on 11/30/2026, reference {declaration.payment_reference}, was rejected "
            f"by the auto-entrepreneur's bank: {amount} is due again. Pay again once the account is settled.",
        )
        self.assertNotIn(REJECTED_DEBIT_IBAN[4:-4], " ".join(self._texts(declaration)), "no IBAN in clear")
        (todo,) = declaration.activity_ids.filtered(lambda activity: activity.summary.startswith("Urssaf debit"))
        self.assertEqual(todo.user_id, self.declarant, "the company's responsible accountant, not OdooBot")
        self.assertEqual(self._error_count(), errors_before + 1, "an error to settle in the cockpit")
        # What Urssaf answered stays the addon's to write.
        with self.assertRaises(UserError):
            declaration.with_user(self.declarant).write({"debit_rejected": False})
        # Another run the same day asks nothing more and changes nothing.
        with freeze_time(DEBIT_DAY):
            self._settle()
        self.assertEqual((declaration.state, declaration.debit_rejected), ("declared", True))

        # Paid again from an account that pays: debited the same day, paid.
        with freeze_time(DEBIT_DAY):
            self._pay_from(declaration, self.paying_sepa)
            remote = self._remote(declaration)
        self.assertEqual((declaration.state, declaration.debit_rejected), ("paid", False))
        self.assertEqual(declaration.debit_date, date(2026, 11, 30))
        self.assertEqual((remote.status, remote.remaining_due), ("PAYEE", Decimal(0)))
        self.assertEqual(self._error_count(), errors_before)
        # Never paid twice: the button sends nothing, Urssaf refuses a third payment.
        with freeze_time(DEBIT_DAY):
            declaration.with_user(self.declarant).action_pay()
            self.assertEqual(len(self._remote_payments(declaration)), 2)

    def _remote_payments(self, declaration):
        client = self.company._urssaf_client()
        held = client.find_declaration_by_number(
            self.trader._urssaf_identifier(), declaration.urssaf_number, declaration.period_start
        )
        self.assertIsNotNone(held)
        # The sandbox keeps the payments of a declaration in its storage.
        from ..models.urssaf_sandbox_storage import PostgresSandboxStorage  # noqa: PLC0415

        with PostgresSandboxStorage(self.env.cr.dbname).transaction() as transaction:
            return [
                transaction.get("payment", reference)
                for reference in transaction.get("declaration", declaration.urssaf_number)["paiements"]
            ]

    def test_a_debit_due_today_is_confirmed_at_once(self):
        """Paid after its deadline, the debit is taken the same day: Urssaf
        is asked at once whether it was."""
        declaration = self._declared_october()
        with freeze_time(DEBIT_DAY):
            self._pay_from(declaration, self.rejecting_sepa)
        self.assertEqual((declaration.state, declaration.debit_rejected), ("declared", True))
        self.assertEqual(declaration.remaining_due, declaration.amount_total)
        (text,) = [text for text in self._texts(declaration) if text.startswith("Payment ordered: ")]
        self.assertIn("was rejected by the auto-entrepreneur's bank", text)
        self.assertEqual(declaration.activity_ids.user_id, self.declarant)

    def test_a_debit_taken_is_paid_and_an_unanswered_question_waits(self):
        declaration = self._declared_october()
        self._pay_from(declaration, self.paying_sepa)
        self.assertEqual(declaration.state, "ordered")
        # Urssaf cannot be reached on the debit date: still ordered, asked again.
        failing = patch.object(
            UrssafClient, "find_declaration_by_number", side_effect=UrssafTransportError("connection")
        )
        with freeze_time(DEBIT_DAY), failing:
            self._settle()
        self.assertEqual(declaration.state, "ordered")
        with freeze_time("2026-12-01 10:00:00"):
            self._settle()
        self.assertEqual((declaration.state, declaration.debit_rejected), ("paid", False))
        self.assertEqual(
            self._texts(declaration)[-1],
            f"Payment debited on 11/30/2026: {declaration._format_amount(declaration.amount_total)}.",
        )
