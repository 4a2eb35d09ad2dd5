# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""ACRE on the auto-entrepreneur's Urssaf account: recorded by a declarant
from the certificate, once the activity start is known; how long it runs."""

from datetime import date

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import freeze_time, new_test_user, tagged

from ..urssaf_api.seed import seed_account
from .common import FROZEN_NOW, UrssafTransactionCase

PREPARER = "l10n_fr_urssaf_tierce_declaration.group_urssaf_preparer"
DECLARANT = "l10n_fr_urssaf_tierce_declaration.group_urssaf_declarant"


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestAcre(UrssafTransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.declarant = new_test_user(
            cls.env, login="urssaf_acre_declarant", groups=f"account.group_account_manager,{DECLARANT}"
        )
        cls.preparer = new_test_user(
            cls.env, login="urssaf_acre_preparer", groups=f"account.group_account_user,{PREPARER}"
        )
        seed = seed_account("acre_new_business")
        cls.partner = cls.env["res.partner"].create(
            {
                "name": f"{seed['prenoms']} {seed['nom']}",
                "company_registry": seed.get("siret"),
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_category_id": cls.env.ref("l10n_fr_urssaf_tierce_declaration.category_vente_marchandises").id,
                "urssaf_identifier_type": "nir" if seed.get("nir") else "siret",
                **({"urssaf_nir": seed["nir"]} if seed.get("nir") else {}),
            }
        )
        cls.seed_start = date.fromisoformat(seed["dateDebutActivite"])

    def test_acre_needs_the_activity_start(self):
        with self.assertRaisesRegex(ValidationError, r"^ACRE of .*: its activity start is not known yet"):
            self.partner.with_user(self.declarant).urssaf_acre = True
        self.partner.invalidate_recordset()
        self.assertFalse(self.partner.urssaf_acre)

    def test_declarant_sets_acre_and_sees_until_when(self):
        # The account was created in this test's transaction, which keeps
        # a new record's changes out of its chatter; in real use it was
        # created in an earlier one.
        self.env.cr.precommit.data.pop("mail.tracking.urssaf.account", None)
        self.partner.with_user(self.declarant).action_urssaf_check_account()
        self.assertEqual(self.partner.urssaf_activity_start, self.seed_start)
        self.assertEqual(self.seed_start, date(2026, 7, 6))
        self.assertFalse(self.partner.urssaf_acre_end)

        self.partner.with_user(self.declarant).urssaf_acre = True
        # Started in the third quarter of 2026: ACRE runs to the end of the
        # third calendar quarter after it, 30 June 2027 (DOMAIN.md).
        self.assertEqual(self.partner.urssaf_acre_end, date(2027, 6, 30))
        self.assertTrue(self.partner.urssaf_acre_current)
        account = self.partner._urssaf_account()
        self.assertTrue(account.acre)
        self.assertEqual(account.acre_end, date(2027, 6, 30))
        self.env.cr.precommit.run()  # tracking is written when the transaction commits
        # Tracked in the account's chatter.
        tracked = account.message_ids.tracking_value_ids.filtered(lambda value: value.field_id.name == "acre")
        self.assertEqual(len(tracked), 1)

        with freeze_time("2027-06-30 10:00:00"):
            self.partner.invalidate_recordset()
            account.invalidate_recordset()
            self.assertTrue(account.acre_current)
        with freeze_time("2027-07-01 10:00:00"):
            account.invalidate_recordset()
            self.assertFalse(account.acre_current, "the period starting on 1 July 2027 is at the normal rate")

    def test_preparer_cannot_set_acre(self):
        self.partner.with_user(self.declarant).action_urssaf_check_account()
        with self.assertRaises(AccessError):
            self.partner.with_user(self.preparer).urssaf_acre = True
        self.partner.invalidate_recordset()
        self.assertFalse(self.partner.urssaf_acre)

    def test_partner_form_shows_it(self):
        self.partner.with_user(self.declarant).action_urssaf_check_account()
        self.partner.with_user(self.declarant).urssaf_acre = True
        arch = self.env["res.partner"].with_user(self.preparer).get_view(view_type="form")["arch"]
        for fname in ("urssaf_acre", "urssaf_acre_end", "urssaf_acre_current"):
            self.assertIn(f'name="{fname}"', arch)
        values = self.partner.with_user(self.preparer).read(["urssaf_acre", "urssaf_acre_end"])[0]
        self.assertEqual((values["urssaf_acre"], values["urssaf_acre_end"]), (True, date(2027, 6, 30)))
