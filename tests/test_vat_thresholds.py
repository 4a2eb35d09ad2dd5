# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The VAT exemption thresholds (franchise en base) beside the micro
ceilings on the contact: a warning from 80 % and on crossing."""

from datetime import date

from odoo.tests import freeze_time, new_test_user, tagged

from .common import FROZEN_NOW, UrssafAccountingCase, paid_vendor_bill

MODULE = "l10n_fr_urssaf_tierce_declaration"
VAT_FIELDS = ["urssaf_vat_state", "urssaf_vat_usage", "urssaf_vat_thresholds", "urssaf_ceiling_state"]


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestVatThresholds(UrssafAccountingCase):
    @classmethod
    def get_default_groups(cls):
        return super().get_default_groups() | cls.quick_ref(f"{MODULE}.group_urssaf_declarant")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.company_data["company"]
        cls.preparer = new_test_user(
            cls.env,
            login="vat_preparer",
            groups=f"account.group_account_invoice,{MODULE}.group_urssaf_preparer",
            company_id=cls.company.id,
        )

    def _ae(self, name, category):
        return self.env["res.partner"].create(
            {
                "name": name,
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_category_id": self.env.ref(f"{MODULE}.{category}").id,
                "urssaf_turnover_source": "vendor_bills",
            }
        )

    def _collect(self, partner, amount):
        paid_vendor_bill(self.env, partner, date(2026, 3, 2), amount, payment_date=date(2026, 3, 10))

    def _as_preparer(self, partner):
        # A new request reads the turnover again (the fields are not stored).
        self.env.invalidate_all()
        (values,) = partner.with_user(self.preparer).with_company(self.company).read(VAT_FIELDS)
        return values

    def test_sales_from_80_percent_and_on_crossing_each_threshold(self):
        trader = self._ae("Camille Martin", "category_vente_marchandises")
        self.assertEqual(self._as_preparer(trader)["urssaf_vat_state"], "ok")
        # 70,000: 82 % of the 85,000 threshold, 34 % of the micro ceiling.
        self._collect(trader, 70000.0)
        values = self._as_preparer(trader)
        self.assertEqual((values["urssaf_vat_state"], values["urssaf_ceiling_state"]), ("approaching", "ok"))
        self.assertAlmostEqual(values["urssaf_vat_usage"], 70000 / 85000 * 100, places=2)
        self.assertIn("85,000.00", values["urssaf_vat_thresholds"])
        self.assertIn("93,500.00", values["urssaf_vat_thresholds"])
        self.assertIn("293 B", values["urssaf_vat_thresholds"])
        # 90,000: over 85,000, under the 93,500 tolerance.
        self._collect(trader, 20000.0)
        self.assertEqual(self._as_preparer(trader)["urssaf_vat_state"], "over_threshold")
        # 95,000: over the tolerance threshold.
        self._collect(trader, 5000.0)
        self.assertEqual(self._as_preparer(trader)["urssaf_vat_state"], "over_tolerance")

    def test_services_have_their_own_thresholds(self):
        consultant = self._ae("Lucas Bernard", "category_prestation_services_bnc")
        self._collect(consultant, 29000.0)
        self.assertEqual(self._as_preparer(consultant)["urssaf_vat_state"], "ok")
        self._collect(consultant, 1000.0)
        self.assertEqual(self._as_preparer(consultant)["urssaf_vat_state"], "approaching", "30,000 is 80 % of 37,500")
        self._collect(consultant, 8000.0)
        values = self._as_preparer(consultant)
        self.assertEqual(values["urssaf_vat_state"], "over_threshold", "38,000: over 37,500, under 41,250")
        self.assertEqual(values["urssaf_ceiling_state"], "ok", "45 % of the 83,600 micro ceiling")

    def test_not_an_auto_entrepreneur_shows_nothing_and_the_form_shows_the_warnings(self):
        plain = self.env["res.partner"].create({"name": "Customer"})
        self.assertFalse(self._as_preparer(plain)["urssaf_vat_state"])
        arch = self.env["res.partner"].with_user(self.preparer).get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="urssaf_vat_usage"', arch)
        self.assertIn("over 80 % of the VAT exemption threshold", arch)
