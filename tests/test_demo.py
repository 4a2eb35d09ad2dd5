# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The demo does the job: straight after install, every eligible demo
auto-entrepreneur gets a declaration whose turnover is what its paid
documents brought in, and it is estimated, declared and paid.

Runs on the demo database only (French localisation and demo data, as
tools/demo.py builds it): ``tools/run_tests.py`` runs this file on a
database of its own. The expected turnover is worked out here from the
documents and their payments, not by the addon's turnover query.
"""

import unittest

from odoo import fields
from odoo.tests import TransactionCase, tagged

from .common import UrssafSandboxMixin

MODULE = "l10n_fr_urssaf_tierce_declaration"
# Who the demo's platform holds a registered mandate for (demo/urssaf_demo.py).
MANDATED = {"Camille Martin", "Lucas Bernard", "Chloé Moreau"}


@tagged("post_install", "-at_install", "urssaf_demo")
class TestDemo(UrssafSandboxMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        # The demo registered its mandates with the embedded sandbox: keep
        # them (UrssafSandboxMixin would forget them), but let its requests
        # through Odoo's HTTP guard.
        super(UrssafSandboxMixin, cls).setUpClass()
        if not cls.env.ref(f"{MODULE}.demo_company_platform", raise_if_not_found=False):
            # Odoo's runner on a database without demo data (tests/__init__
            # imports every test module); tools/run_tests.py runs this file on
            # the demo database, where a skip would fail the run.
            raise unittest.SkipTest("the addon's demo data is not installed")
        cls.platform = cls.env.ref(f"{MODULE}.demo_company_platform")
        cls.preparer = cls.env.ref(f"{MODULE}.demo_user_preparer")
        cls.declarant = cls.env.ref(f"{MODULE}.demo_user_declarant")

    def _paid(self, partner, start, end):
        """What ``partner``'s documents were paid from ``start`` to ``end``,
        excluding VAT, in the platform's currency: each payment dated in the
        period, times the untaxed share of the document it paid."""
        source = partner.with_company(self.platform).urssaf_turnover_source
        if source == "customer_invoices":
            own = self.env["res.company"].search([("partner_id", "=", partner.id)])
            documents = self.env["account.move"].search(
                [("company_id", "=", own.id), ("move_type", "in", ("out_invoice", "out_refund"))]
            )
            refund = "out_refund"
        else:
            documents = self.env["account.move"].search(
                [
                    ("company_id", "=", self.platform.id),
                    ("commercial_partner_id", "=", partner.id),
                    ("move_type", "in", ("in_invoice", "in_refund")),
                ]
            )
            refund = "in_refund"
        total = 0.0
        for document in documents.filtered(lambda move: move.state == "posted"):
            untaxed_share = document.amount_untaxed / document.amount_total
            sign = -1 if document.move_type == refund else 1
            for payment in document._get_reconciled_payments():
                self.assertEqual(payment.reconciled_bill_ids | payment.reconciled_invoice_ids, document)
                if start <= payment.date <= end:
                    total += sign * abs(payment.amount_company_currency_signed) * untaxed_share
        return round(total, 2)

    def test_demo_documents(self):
        """The demo's books hold what the demo promises: partial payments, a
        credit note, goods and services on one bill, VAT, a payment in
        another currency."""
        bills = self.env["account.move"].search(
            [("company_id", "=", self.platform.id), ("move_type", "in", ("in_invoice", "in_refund"))]
        )
        # paid in two halves, a month apart
        self.assertTrue(bills.filtered(lambda bill: len(bill._get_reconciled_payments()) == 2))
        self.assertIn("in_refund", bills.mapped("move_type"))
        self.assertTrue(
            bills.filtered(
                lambda bill: (
                    bill.amount_tax and set(bill.invoice_line_ids.product_id.mapped("type")) == {"service", "consu"}
                )
            )
        )
        payments = self.env["account.payment"].search([("company_id", "=", self.platform.id)])
        self.assertNotEqual(payments.currency_id, self.platform.currency_id)
        self.assertEqual(self.platform.currency_id.name, "EUR")
        self.assertEqual(self.platform.chart_template, "fr")

    def test_prepare_estimate_declare_pay(self):
        wizard = self.env["urssaf.declaration.prepare"].with_user(self.preparer).with_company(self.platform).create({})
        self.assertEqual(wizard.scope, "all", "every AE of the platform proposed")
        self.assertGreaterEqual(wizard.company_partner_count, len(MANDATED))
        wizard.action_prepare()
        declarations = wizard.declaration_ids
        self.assertEqual(set(declarations.partner_id.mapped("name")), MANDATED)
        for declaration in declarations:
            expected = self._paid(declaration.partner_id, declaration.period_start, declaration.period_end)
            self.assertGreater(expected, 0, f"{declaration.partner_id.name} was paid in {declaration.display_name}")
            self.assertAlmostEqual(declaration.turnover_total, expected, places=2, msg=declaration.partner_id.name)

        declarations.with_user(self.preparer).with_company(self.platform).action_estimate()
        self.assertEqual(set(declarations.mapped("state")), {"estimated"})
        declarations.with_user(self.declarant).with_company(self.platform).action_declare()
        self.assertEqual(set(declarations.mapped("state")), {"declared"})
        self.assertTrue(all(declarations.mapped("urssaf_number")))
        declarations.with_user(self.declarant).with_company(self.platform).action_pay()
        # Ordered until the debit date, paid from then on (issue 27).
        today = fields.Date.context_today(declarations)
        for declaration in declarations:
            self.assertEqual(declaration.state, "ordered" if declaration.debit_date > today else "paid")
        for declaration in declarations:
            self.assertAlmostEqual(declaration.payment_amount, declaration.amount_total, places=2)
            self.assertGreater(declaration.payment_amount, 0)
