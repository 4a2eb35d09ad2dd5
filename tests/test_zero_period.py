# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Declaring every period: a period without receipts is declared at zero, in
the auto-entrepreneur's default category, which every auto-entrepreneur's
Urssaf account must therefore have."""

import base64
from datetime import date

from lxml import etree

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import freeze_time, tagged
from odoo.tools.safe_eval import safe_eval

from ..urssaf_api import periods
from ..urssaf_api.seed import seed_account
from .common import FROZEN_NOW, UrssafAccountingCase

MODULE = "l10n_fr_urssaf_tierce_declaration"


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestZeroPeriod(UrssafAccountingCase):
    @classmethod
    def get_default_groups(cls):
        return super().get_default_groups() | cls.quick_ref(f"{MODULE}.group_urssaf_declarant")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.company_data["company"]
        cls.goods = cls.env.ref(f"{MODULE}.category_vente_marchandises")
        cls.services = cls.env.ref(f"{MODULE}.category_prestation_services_bic")
        seed = seed_account("monthly_trader")
        cls.trader = cls.env["res.partner"].create(
            {
                "name": "Camille Martin",
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_identifier_type": "nir",
                "urssaf_nir": seed["nir"],
                "urssaf_category_id": cls.goods.id,
                "urssaf_trade": "commercant",
                "urssaf_turnover_source": "vendor_bills",
            }
        )
        cls.trader.with_company(cls.company).action_urssaf_check_account()
        cls.env["urssaf.mandate"].create(
            {
                "partner_id": cls.trader.id,
                "company_id": cls.company.id,
                "signature_date": date(2026, 1, 5),
                "document": base64.b64encode(b"%PDF mandat"),
            }
        ).action_register()
        today = fields.Date.context_today(cls.env["urssaf.declaration"])
        cls.last_month = periods.last_ended_period(today, date(2019, 3, 1), periods.MONTHLY)

    def _account(self, partner):
        return self.env["urssaf.account"].search(
            [("partner_id", "=", partner.id), ("company_id", "=", self.company.id)]
        )

    # ------------------------------------------------------------------
    # A period without receipts
    # ------------------------------------------------------------------

    def test_a_period_without_receipts_is_prepared_estimated_and_declared_at_zero(self):
        # Nothing collected: no bill at all from the auto-entrepreneur.
        wizard = self.env["urssaf.declaration.prepare"].with_company(self.company).create({})
        wizard.action_prepare()
        declaration = wizard.declaration_ids
        self.assertEqual(declaration.partner_id, self.trader)
        self.assertEqual((declaration.period_start, declaration.period_end), self.last_month)
        self.assertEqual(len(declaration.line_ids), 1, "one line, in the default category")
        self.assertEqual(declaration.line_ids.category_id, self.goods)
        self.assertEqual((declaration.line_ids.computed_amount, declaration.line_ids.amount), (0.0, 0.0))

        declaration.action_estimate()
        self.assertEqual(declaration.state, "estimated")
        self.assertEqual(declaration.amount_total, 0.0)
        self.assertEqual(declaration._turnover_to_send(), {"VENTE_MARCHANDISES": 0})

        declaration.action_declare()
        self.assertTrue(declaration.urssaf_number, "Urssaf took the zero declaration")
        # Nothing is owed on zero: nothing to pay either.
        self.assertEqual(declaration.state, "paid")
        self.assertEqual(declaration.amount_total, 0.0)
        self.assertEqual(declaration.remaining_due, 0.0)
        self.assertFalse(declaration.payment_reference)

    def test_a_zero_period_keeps_the_category_receipts_had_before(self):
        """Preparing again after the receipts went away (a payment
        unreconciled) keeps the line at zero instead of leaving no line."""
        start, end = self.last_month
        declaration = self.env["urssaf.declaration"].create(
            {"partner_id": self.trader.id, "company_id": self.company.id, "period_start": start, "period_end": end}
        )
        declaration._set_computed_turnover({"PRESTATION_SERVICES_BIC": 300.0}, self._categories())
        self.assertEqual(declaration.line_ids.category_id, self.services)
        declaration._refresh_turnover()
        self.assertEqual(declaration.line_ids.category_id, self.services)
        self.assertEqual(declaration.line_ids.amount, 0.0)

    def _categories(self):
        return {c.code: c for c in self.env["urssaf.activity.category"].search([])}

    # ------------------------------------------------------------------
    # The default category, required
    # ------------------------------------------------------------------

    def test_an_auto_entrepreneur_without_default_category_is_refused_naming_it(self):
        Account = self.env["urssaf.account"]
        partner = self.env["res.partner"].create({"name": "Léa Dubois"})
        with self.assertRaises(ValidationError) as caught:
            Account.create({"partner_id": partner.id, "company_id": self.company.id, "is_auto_entrepreneur": True})
        message = caught.exception.args[0]
        self.assertIn("Default activity category is required for an auto-entrepreneur", message)
        self.assertIn(f"Léa Dubois ({self.company.name})", message)
        self.assertFalse(self._account(partner), "nothing written")

        # Through the contact, as the form sends it.
        with self.assertRaises(ValidationError) as caught:
            partner.with_company(self.company).write({"urssaf_is_auto_entrepreneur": True})
        self.assertIn("Léa Dubois", caught.exception.args[0])
        self.assertFalse(self._account(partner).is_auto_entrepreneur)

        # Several at once: each one lacking it is named.
        other = self.env["res.partner"].create({"name": "Hugo Petit"})
        accounts = Account.create(
            [
                {"partner_id": p.id, "company_id": self.company.id, "is_auto_entrepreneur": False}
                for p in partner | other
            ]
        )
        with self.assertRaises(ValidationError) as caught:
            accounts.write({"is_auto_entrepreneur": True})
        self.assertIn("Léa Dubois", caught.exception.args[0])
        self.assertIn("Hugo Petit", caught.exception.args[0])

    def test_the_category_cannot_be_taken_away_from_an_auto_entrepreneur(self):
        with self.assertRaises(ValidationError):
            self._account(self.trader).category_id = False
        with self.assertRaises(ValidationError):
            self.trader.with_company(self.company).urssaf_category_id = False
        self.assertEqual(self._account(self.trader).category_id, self.goods)
        # No longer an auto-entrepreneur of the company: no category needed.
        self.trader.with_company(self.company).write(
            {"urssaf_is_auto_entrepreneur": False, "urssaf_category_id": False}
        )
        self.assertFalse(self._account(self.trader).category_id)

    def test_flag_and_category_together_in_any_order(self):
        Partner = self.env["res.partner"].with_company(self.company)
        for values in (
            {"urssaf_is_auto_entrepreneur": True, "urssaf_category_id": self.services.id},
            {"urssaf_category_id": self.services.id, "urssaf_is_auto_entrepreneur": True},
        ):
            created = Partner.create({"name": "Nina Roux", **values})
            self.assertEqual(
                (self._account(created).is_auto_entrepreneur, self._account(created).category_id),
                (True, self.services),
            )
            written = Partner.create({"name": "Paul Roux"})
            written.write(values)
            self.assertEqual(self._account(written).category_id, self.services)
        # Created from the auto-entrepreneurs' menu (flag by default).
        from_menu = Partner.with_context(default_urssaf_is_auto_entrepreneur=True).create(
            {"name": "Emma Roux", "urssaf_category_id": self.goods.id}
        )
        self.assertTrue(self._account(from_menu).is_auto_entrepreneur)
        with self.assertRaises(ValidationError):
            Partner.with_context(default_urssaf_is_auto_entrepreneur=True).create({"name": "Jules Roux"})

    def test_the_partner_write_token_cannot_come_over_rpc(self):
        """The context key the contact's fields pass to defer the check is
        an object: the same key sent as data (what RPC can send) defers
        nothing."""
        partner = self.env["res.partner"].create({"name": "Léa Dubois"})
        with self.assertRaises(ValidationError):
            self.env["urssaf.account"].with_context(urssaf_partner_write=True).create(
                {"partner_id": partner.id, "company_id": self.company.id, "is_auto_entrepreneur": True}
            )

    def test_accounts_lacking_it_are_found_by_the_filter_and_skipped_with_the_reason(self):
        # An account of before the rule (an upgrade keeps them as they were,
        # unless the account check gave one category).
        account = self._account(self.trader)
        self.env.cr.execute("UPDATE urssaf_account SET category_id = NULL WHERE id = %s", [account.id])
        account.invalidate_recordset()
        arch = etree.fromstring(self.env.ref(f"{MODULE}.view_urssaf_account_search").arch)
        (search_filter,) = arch.xpath("//filter[@name='without_category']")
        lacking = self.env["urssaf.account"].search(safe_eval(search_filter.get("domain")))
        self.assertIn(account, lacking)
        self.assertNotIn(self._account(self.env.company.partner_id), lacking)
        wizard = self.env["urssaf.declaration.prepare"].with_company(self.company).create({})
        wizard.action_prepare()
        self.assertFalse(wizard.declaration_ids)
        self.assertIn("Camille Martin: No default activity category", wizard.summary)
