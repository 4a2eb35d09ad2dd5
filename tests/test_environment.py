# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Which Urssaf environment a mandate or SEPA mandate was sent to: stamped
on registration, shown on the forms and lists, and the only one that may
end or revoke it."""

from lxml import etree

from odoo.exceptions import UserError
from odoo.tests import tagged

from .test_partner_mandates import ADDON, IBAN_BERNARD, IBAN_MARTIN, UrssafAeCase

MODELS = ("urssaf.mandate", "urssaf.sepa.mandate", "urssaf.declaration")


@tagged("post_install", "-at_install")
class TestUrssafEnvironment(UrssafAeCase):
    def _switch(self, environment):
        """A system administrator moves the company to ``environment``."""
        # The embedded sandbox uses its own test client when no client ID is set.
        self.company.write(
            {"urssaf_environment": environment, "urssaf_client_id": environment != "embedded" and "cabinet"}
        )

    def _registered_sepa(self, partner):
        sepa = self._sepa(partner, self._bank(partner, IBAN_BERNARD))
        sepa.with_user(self.declarant).action_register()
        return sepa

    # --- stamping -------------------------------------------------------------

    def test_registration_stamps_the_environment(self):
        partner = self._ae("quarterly_craftsman_moselle")
        mandate = self._mandate(partner)
        sepa = self._sepa(partner, self._bank(partner, IBAN_BERNARD))
        self.assertFalse(mandate.urssaf_environment)
        mandate.with_user(self.declarant).action_register()
        sepa.with_user(self.declarant).action_register()
        self.assertEqual((mandate.state, mandate.urssaf_environment), ("active", "embedded"))
        self.assertEqual((sepa.state, sepa.urssaf_environment), ("active", "embedded"))
        # Not copied with the record.
        self.assertFalse(mandate.copy().urssaf_environment)

    def test_refused_mandate_is_stamped_too(self):
        """Urssaf saw it: where it went is kept, and a new registration goes
        (and is stamped) where the company is then."""
        mandate = self._mandate(self._ae("other_platform"))
        mandate.with_user(self.declarant).action_register()
        self.assertEqual((mandate.state, mandate.urssaf_environment), ("refused", "embedded"))

    def test_nothing_stamped_when_nothing_is_sent(self):
        mandate = self._mandate(self._ae("monthly_trader"), document=False)
        with self.assertNoUrssafCall(), self.assertRaises(UserError):
            mandate.with_user(self.declarant).action_register()
        self.assertFalse(mandate.urssaf_environment)

    def test_users_never_write_the_environment(self):
        partner = self._ae("quarterly_craftsman_moselle")
        mandate = self._active_mandate(partner)
        sepa = self._registered_sepa(partner)
        for record in (mandate, sepa):
            with self.subTest(model=record._name):
                for user in (self.declarant, self.env.ref("base.user_admin")):
                    with self.assertRaises(UserError) as caught:
                        record.with_user(user).write({"urssaf_environment": "production"})
                    self.assertIn("Urssaf environment", str(caught.exception))
                self.assertEqual(record.urssaf_environment, "embedded")
        Mandate = self.env["urssaf.mandate"].with_user(self.declarant)
        for model, context, values in (
            (Mandate, {}, {"urssaf_environment": "production"}),
            (Mandate.with_context(default_urssaf_environment="production"), {}, {}),
        ):
            with self.assertRaises(UserError):
                model.with_context(**context).create({"partner_id": partner.id, **values})

    # --- following up only in the same environment ----------------------------

    def test_mandate_is_ended_only_in_its_environment(self):
        partner = self._ae("monthly_trader")
        mandate = self._active_mandate(partner)
        self._switch("sandbox")
        with self.assertNoUrssafCall(), self.assertRaises(UserError) as caught:
            mandate.with_user(self.declarant).action_end()
        message = str(caught.exception)
        self.assertIn("Embedded sandbox", message)
        self.assertIn("Urssaf sandbox", message)
        self.assertIn(mandate.display_name, message)
        self.assertEqual(mandate.state, "active")
        self._switch("embedded")
        mandate.with_user(self.declarant).action_end()
        self.assertEqual(mandate.state, "ended")

    def test_sepa_mandate_is_revoked_only_in_its_environment(self):
        partner = self._ae("quarterly_craftsman_moselle")
        self._active_mandate(partner)
        sepa = self._registered_sepa(partner)
        self._switch("production")
        with self.assertNoUrssafCall(), self.assertRaises(UserError) as caught:
            sepa.with_user(self.declarant).action_revoke()
        self.assertIn("Production", str(caught.exception))
        self.assertEqual(sepa.state, "active")
        self._switch("embedded")
        sepa.with_user(self.declarant).action_revoke()
        self.assertEqual(sepa.state, "revoked")

    def test_records_sent_before_the_stamp_existed_are_followed_up(self):
        mandate = self._active_mandate(self._ae("monthly_trader"))
        mandate.sudo().urssaf_environment = False
        mandate.with_user(self.declarant).action_end()
        self.assertEqual(mandate.state, "ended")

    def test_sync_leaves_the_mandates_of_other_environments_alone(self):
        partner = self._ae("monthly_trader")
        self._active_mandate(partner)
        bank = self._bank(partner, IBAN_MARTIN)
        production = self._sepa(partner, self._bank(partner, "DE89 3704 0044 0532 0130 00"))
        production.sudo().write({"state": "active", "rum": "URSSAF-AE-PROD", "urssaf_environment": "production"})
        partner.with_user(self.declarant).action_urssaf_sync_sepa_mandates()
        self.assertEqual(production.state, "active")
        added = self.env["urssaf.sepa.mandate"].search([("partner_id", "=", partner.id)]) - production
        self.assertEqual((added.bank_account_id, added.urssaf_environment), (bank, "embedded"))

    # --- shown on the forms and lists -----------------------------------------

    def test_forms_and_lists_show_the_sandbox(self):
        for model in MODELS:
            Model = self.env[model].with_user(self.declarant)
            if "urssaf_environment" not in Model._fields:
                continue
            views = Model.get_views([(False, "list")])["views"]
            with self.subTest(model=model):
                (column,) = etree.fromstring(views["list"]["arch"]).xpath("//field[@name='urssaf_environment']")
                self.assertEqual(column.get("widget"), "badge")

    def test_every_urssaf_form_has_the_sandbox_ribbon(self):
        """One way for every Urssaf form (issue 27): the ribbon follows
        ``urssaf_sandbox`` (urssaf.sandbox.ribbon.mixin), where the record
        went or, not sent yet, where its company sends now."""
        forms = [*MODELS, "urssaf.account", "urssaf.run"]
        forms += ["urssaf.declaration.prepare", "urssaf.declaration.send", "urssaf.yearly.summary.send"]
        for model in forms:
            Model = self.env[model].with_user(self.declarant)
            with self.subTest(model=model):
                self.assertIn("urssaf_sandbox", Model._fields)
                form = etree.fromstring(Model.get_views([(False, "form")])["views"]["form"]["arch"])
                ribbons = form.xpath("//widget[@name='web_ribbon']")
                self.assertEqual([r.get("title") for r in ribbons], ["Sandbox", "Sandbox"])
                self.assertEqual(
                    sorted(r.get("invisible") for r in ribbons),
                    ["urssaf_sandbox != 'embedded'", "urssaf_sandbox != 'sandbox'"],
                )

    def test_ribbon_before_anything_is_sent(self):
        """A mandate not registered yet shows where its company sends now;
        once registered, where it went, whatever the company does next."""
        partner = self._ae("monthly_trader")
        mandate = self._active_mandate(partner)
        draft = self._mandate(self._ae("quarterly_craftsman_moselle"))
        self.assertFalse(draft.urssaf_environment)

        def read(record):
            return record.with_user(self.declarant).web_read({"urssaf_sandbox": {}})[0]["urssaf_sandbox"]

        self.assertEqual((read(mandate), read(draft)), ("embedded", "embedded"))
        self.company.sudo().write({"urssaf_client_id": "client-id", "urssaf_environment": "sandbox"})
        self.assertEqual((read(mandate), read(draft)), ("embedded", "sandbox"))
        self.company.sudo().write({"urssaf_environment": "production"})
        self.assertEqual((read(mandate), read(draft)), ("embedded", False))

    def test_declaration_views_come_with_the_field(self):
        """urssaf.declaration gets the field from urssaf.environment.mixin
        (declarations' side): views/urssaf_declaration_environment_views.xml
        goes in the manifest with it, never without."""
        has_field = "urssaf_environment" in self.env["urssaf.declaration"]._fields
        view = self.env.ref(f"{ADDON}.view_urssaf_declaration_form_environment", raise_if_not_found=False)
        self.assertEqual(bool(view), has_field)
