# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Auto-entrepreneurs, tierce-déclaration mandates and SEPA mandates (issue 4).

Every button runs against the embedded sandbox, whose test auto-entrepreneurs
are those of ``urssaf_api/seed.py``: the expectations below come from that
seed and from the issue, not from what the code happens to answer.
"""

import base64
import logging
import re
from contextlib import ExitStack, contextmanager
from datetime import date, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import freeze_time, new_test_user, tagged
from odoo.tools import translate

from ..urssaf_api.models import Identifier
from ..urssaf_api.sandbox import Sandbox
from ..urssaf_api.seed import seed_account, synthetic_nir, synthetic_siret
from .common import FROZEN_NOW, UrssafTransactionCase, reset_embedded_sandbox

ADDON = "l10n_fr_urssaf_tierce_declaration"
PREPARER = f"{ADDON}.group_urssaf_preparer"
DECLARANT = f"{ADDON}.group_urssaf_declarant"
API = "/tiersdecl/v1/ae"
TOKEN = "/api/oauth/v1/token"

# Bank accounts of the seeded auto-entrepreneurs. Camille Martin's is the
# one Urssaf already holds a SEPA mandate on (seed: monthly_trader).
IBAN_MARTIN = "FR76 3000 6000 0112 3456 7890 189"
IBAN_MARTIN_OTHER = "FR76 3000 1007 9412 3456 7890 185"
IBAN_BERNARD = "FR14 2004 1010 0505 0001 3M02 606"
IBAN_BAD_KEY = "FR76 3000 6000 0112 3456 7890 188"
PDF = base64.b64encode(b"%PDF-1.4 mandat de tierce declaration signe")


def _compact(text):
    return re.sub(r"\s", "", text)


@freeze_time(FROZEN_NOW)
class UrssafAeCase(UrssafTransactionCase):
    """Auto-entrepreneurs of the sandbox's seed, users and a spy on the sandbox."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.declarant = new_test_user(cls.env, login="i4_declarant", groups=DECLARANT)
        cls.category_goods = cls.env.ref(f"{ADDON}.category_vente_marchandises")
        cls.category_bic = cls.env.ref(f"{ADDON}.category_prestation_services_bic")
        cls.category_bnc = cls.env.ref(f"{ADDON}.category_prestation_services_bnc")

    def setUp(self):
        super().setUp()
        # Each test starts from the seed: the sandbox plays a remote service
        # whose state the test transaction does not roll back.
        reset_embedded_sandbox(self.env.cr.dbname)

    # --- fixtures -----------------------------------------------------------

    def _ae(self, alias=None, **values):
        """A partner flagged auto-entrepreneur, identified as the seed says."""
        vals = {"urssaf_is_auto_entrepreneur": True, "urssaf_category_id": self.category_bic.id}
        if alias:
            account = seed_account(alias)
            vals["name"] = f"{account['prenoms']} {account['nom'].title()}"
            vals["urssaf_trade"] = account["trade"]
            if account.get("nir"):
                vals.update(urssaf_identifier_type="nir", urssaf_nir=account["nir"])
            else:
                vals.update(urssaf_identifier_type="siret", company_registry=account["siret"])
        vals.update(values)
        return self.env["res.partner"].create(vals)

    def _bank(self, partner, iban):
        return self.env["res.partner.bank"].create({"partner_id": partner.id, "acc_number": iban})

    def _mandate(self, partner, document=True, **values):
        vals = {
            "partner_id": partner.id,
            "signature_date": date.today() - timedelta(days=30),
        }
        if document:
            vals.update(document=PDF, document_name="mandat.pdf")
        vals.update(values)
        return self.env["urssaf.mandate"].create(vals)

    def _active_mandate(self, partner):
        mandate = self._mandate(partner)
        mandate.with_user(self.declarant).action_register()
        self.assertEqual(mandate.state, "active")
        return mandate

    def _sepa(self, partner, bank, **values):
        vals = {
            "partner_id": partner.id,
            "bank_account_id": bank.id,
            "holder": partner.name,
            "signature_date": date.today() - timedelta(days=10),
        }
        vals.update(values)
        return self.env["urssaf.sepa.mandate"].create(vals)

    def _client(self):
        return self.company._urssaf_client()

    # --- spies --------------------------------------------------------------

    @contextmanager
    def urssaf_calls(self):
        """Every exchange with the embedded sandbox, token requests included:
        dicts of method, path, query, status and correlation id."""
        calls = []
        handle = Sandbox.handle

        def spy(sandbox, request):
            response = handle(sandbox, request)
            calls.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "query": dict(request.query),
                    "status": response.status,
                    "correlation_id": response.headers.get("x-correlationid"),
                }
            )
            return response

        with patch.object(Sandbox, "handle", spy):
            yield calls

    @contextmanager
    def assertNoUrssafCall(self):
        with self.urssaf_calls() as calls:
            yield
        self.assertEqual(calls, [], "Urssaf must not be called")

    def _api_calls(self, calls, method, path):
        return [call for call in calls if call["method"] == method and call["path"] == API + path]

    def _messages(self, record):
        return self.env["mail.message"].search([("model", "=", record._name), ("res_id", "=", record.id)])

    def _bodies(self, record):
        return "\n".join(str(body) for body in self._messages(record).mapped("body"))


@tagged("post_install", "-at_install")
class TestCheckAccount(UrssafAeCase):
    def test_eligible_monthly_ae_by_nir(self):
        partner = self._ae("monthly_trader")
        with self.urssaf_calls() as calls:
            partner.with_user(self.declarant).action_urssaf_check_account()
        (call,) = self._api_calls(calls, "GET", "/comptes")
        self.assertEqual(call["query"], {"nir": "288047511102371"})
        self.assertEqual(partner.urssaf_account_state, "eligible")
        self.assertTrue(partner.urssaf_eligible)
        self.assertFalse(partner.urssaf_ineligibility_reason)
        self.assertEqual(partner.urssaf_periodicity, "monthly")
        self.assertEqual(partner.urssaf_activity_start, date(2019, 3, 1))
        self.assertEqual(partner.urssaf_category_ids, self.category_goods)
        self.assertFalse(partner.urssaf_versement_liberatoire)
        self.assertTrue(partner.urssaf_checked_at)
        self.assertIn(call["correlation_id"], self._bodies(partner._urssaf_account()))

    def test_eligible_quarterly_ae_by_siret(self):
        partner = self._ae("quarterly_craftsman_moselle")
        with self.urssaf_calls() as calls:
            partner.with_user(self.declarant).action_urssaf_check_account()
        (call,) = self._api_calls(calls, "GET", "/comptes")
        self.assertEqual(call["query"], {"siret": "81234567600017"})
        self.assertEqual(partner.urssaf_account_state, "eligible")
        self.assertEqual(partner.urssaf_periodicity, "quarterly")
        self.assertEqual(partner.urssaf_activity_start, date(2017, 6, 15))
        self.assertEqual(partner.urssaf_category_ids, self.category_goods | self.category_bic)
        self.assertIn(call["correlation_id"], self._bodies(partner._urssaf_account()))

    def test_versement_liberatoire_and_several_partners_at_once(self):
        liberal = self._ae("liberal_bnc_liberatoire")
        trader = self._ae("monthly_trader")
        (liberal | trader).with_user(self.declarant).action_urssaf_check_account()
        self.assertTrue(liberal.urssaf_versement_liberatoire)
        self.assertEqual(liberal.urssaf_category_ids, self.category_bnc)
        self.assertEqual(liberal.urssaf_activity_start, date(2021, 1, 4))
        self.assertFalse(trader.urssaf_versement_liberatoire)
        self.assertEqual((liberal | trader).mapped("urssaf_account_state"), ["eligible", "eligible"])

    def test_not_eligible_keeps_urssaf_reason(self):
        partner = self._ae("not_eligible")
        with self.urssaf_calls() as calls:
            partner.with_user(self.declarant).action_urssaf_check_account()
        self.assertEqual(partner.urssaf_account_state, "not_eligible")
        self.assertFalse(partner.urssaf_eligible)
        self.assertEqual(partner.urssaf_ineligibility_reason, seed_account("not_eligible")["motifNonEligibilite"])
        self.assertEqual(partner.urssaf_periodicity, "monthly")
        bodies = self._bodies(partner._urssaf_account())
        self.assertIn("not eligible", bodies)
        self.assertIn("Sortie du régime micro-social", bodies)
        self.assertIn(self._api_calls(calls, "GET", "/comptes")[0]["correlation_id"], bodies)

    def test_unknown_identifier_sets_unknown_state_with_urssaf_message(self):
        partner = self._ae(
            name="Inconnue de l'Urssaf",
            urssaf_identifier_type="siret",
            company_registry=synthetic_siret(4242),
            urssaf_trade="liberal",
        )
        # What an earlier check said about another identifier must not stay.
        partner.sudo().write(
            {
                "urssaf_account_state": "eligible",
                "urssaf_eligible": True,
                "urssaf_periodicity": "monthly",
                "urssaf_activity_start": date(2020, 1, 1),
                "urssaf_category_ids": [fields.Command.set(self.category_bic.ids)],
                "urssaf_versement_liberatoire": True,
            }
        )
        kept = partner.read(
            ["name", "company_registry", "urssaf_identifier_type", "urssaf_category_id", "urssaf_trade"]
        )
        with self.urssaf_calls() as calls:
            self.assertFalse(partner.with_user(self.declarant)._urssaf_flagged_account()._urssaf_check())
        (call,) = self._api_calls(calls, "GET", "/comptes")
        self.assertEqual(call["status"], 404)
        self.assertEqual(partner.urssaf_account_state, "unknown")
        self.assertFalse(partner.urssaf_eligible)
        self.assertIn("ER_API_COMPTE_INCONNU", partner.urssaf_ineligibility_reason)
        self.assertIn("Aucun auto-entrepreneur avec cet identifiant", partner.urssaf_ineligibility_reason)
        self.assertFalse(partner.urssaf_periodicity)
        self.assertFalse(partner.urssaf_activity_start)
        self.assertFalse(partner.urssaf_category_ids)
        self.assertFalse(partner.urssaf_versement_liberatoire)
        self.assertTrue(partner.urssaf_checked_at)
        self.assertEqual(partner.read(list(kept[0])), kept)
        self.assertIn(call["correlation_id"], self._bodies(partner._urssaf_account()))

    def test_no_identifier_is_a_user_error_without_call(self):
        by_nir = self._ae(name="Sans NIR", urssaf_identifier_type="nir")
        by_siret = self._ae(name="Sans SIRET", urssaf_identifier_type="siret")
        for partner in (by_nir, by_siret):
            with self.subTest(partner=partner.name), self.assertNoUrssafCall():
                with self.assertRaises(UserError) as caught:
                    partner.with_user(self.declarant).action_urssaf_check_account()
                self.assertIn(partner.name, str(caught.exception))
            self.assertEqual(partner.urssaf_account_state, "unchecked")
            self.assertFalse(partner.urssaf_checked_at)
        # One partner without identifier in a batch: nobody is checked.
        good = self._ae("monthly_trader")
        with self.assertNoUrssafCall(), self.assertRaises(UserError):
            (good | by_nir).with_user(self.declarant).action_urssaf_check_account()

    def test_scheduled_action_checks_accounts_not_checked_for_a_week(self):
        now = fields.Datetime.now()
        stale = self._ae("monthly_trader")
        never = self._ae("quarterly_craftsman_moselle")
        fresh = self._ae("liberal_bnc_liberatoire")
        stale.sudo().urssaf_checked_at = now - timedelta(days=8)
        fresh.sudo().urssaf_checked_at = now - timedelta(days=1)
        cron = type(self.env["ir.cron"])
        # The scheduled action commits as it goes; a test must not.
        with self.urssaf_calls() as calls, patch.object(cron, "_commit_progress", return_value=float("inf")):
            self.env["res.partner"]._cron_urssaf_check_accounts()
        checked = {call["query"].get("nir") or call["query"].get("siret") for call in calls if call["method"] == "GET"}
        self.assertIn("288047511102371", checked)
        self.assertIn("81234567600017", checked)
        self.assertNotIn(seed_account("liberal_bnc_liberatoire")["nir"], checked)
        self.assertEqual((stale | never).mapped("urssaf_account_state"), ["eligible", "eligible"])
        self.assertGreaterEqual(stale.urssaf_checked_at, now)
        self.assertEqual(fresh.urssaf_checked_at, now - timedelta(days=1))
        self.assertEqual(fresh.urssaf_account_state, "unchecked")


@tagged("post_install", "-at_install")
class TestMandate(UrssafAeCase):
    def test_register_makes_it_active_with_urssaf_id(self):
        partner = self._ae("monthly_trader")
        mandate = self._mandate(partner)
        with self.urssaf_calls() as calls:
            self.assertTrue(mandate.with_user(self.declarant).action_register())
        (call,) = self._api_calls(calls, "POST", "/mandats")
        self.assertEqual(call["status"], 201)
        self.assertEqual(mandate.state, "active")
        self.assertRegex(mandate.urssaf_mandate_ref, r"^M\d{11}$")
        self.assertEqual(mandate.effective_date, mandate.signature_date)
        self.assertFalse(mandate.refusal_reason)
        # Urssaf now knows this platform holds the mandate, under that id.
        account = self._client().get_account(Identifier(nir="288047511102371"))
        self.assertEqual(account.mandate.mandate_id, mandate.urssaf_mandate_ref)
        bodies = self._bodies(mandate)
        self.assertIn(mandate.urssaf_mandate_ref, bodies)
        self.assertIn(call["correlation_id"], bodies)
        self.assertEqual(partner.urssaf_mandate_count, 1)
        action = partner.action_urssaf_view_mandates()
        self.assertEqual(self.env["urssaf.mandate"].search(action["domain"]), mandate)

    def test_register_without_document_is_refused_before_calling(self):
        mandate = self._mandate(self._ae("monthly_trader"), document=False)
        with self.assertNoUrssafCall(), self.assertRaises(UserError) as caught:
            mandate.with_user(self.declarant).action_register()
        self.assertIn("signed mandate", str(caught.exception))
        self.assertEqual(mandate.state, "draft")
        self.assertFalse(mandate.urssaf_mandate_ref)

    def test_mandate_held_by_another_tiers_declarant_is_refused(self):
        partner = self._ae("other_platform")
        mandate = self._mandate(partner)
        kept = mandate.read(
            ["partner_id", "company_id", "signature_date", "document_name", "urssaf_mandate_ref", "effective_date"]
        )
        with self.urssaf_calls() as calls:
            self.assertFalse(mandate.with_user(self.declarant)._urssaf_register())
        (call,) = self._api_calls(calls, "POST", "/mandats")
        self.assertEqual(call["status"], 409)
        self.assertEqual(mandate.state, "refused")
        self.assertIn("ER_API_MANDAT_AUTRE_TIERS", mandate.refusal_reason)
        self.assertIn("autre tiers-déclarant", mandate.refusal_reason)
        self.assertEqual(mandate.read(list(kept[0])), kept)
        self.assertTrue(mandate.document)
        self.assertFalse(mandate.end_date)
        self.assertIn(call["correlation_id"], self._bodies(mandate))

    def test_ineligible_ae_mandate_is_refused(self):
        mandate = self._mandate(self._ae("not_eligible"))
        with self.urssaf_calls() as calls:
            mandate.with_user(self.declarant).action_register()
        self.assertEqual(self._api_calls(calls, "POST", "/mandats")[0]["status"], 422)
        self.assertEqual(mandate.state, "refused")
        self.assertIn("ER_API_COMPTE_NON_ELIGIBLE", mandate.refusal_reason)
        self.assertIn("Sortie du régime micro-social", mandate.refusal_reason)
        self.assertFalse(mandate.urssaf_mandate_ref)
        self.assertFalse(mandate.effective_date)

    def test_unknown_account_mandate_is_refused(self):
        partner = self._ae(name="Inconnu", urssaf_identifier_type="nir", urssaf_nir=synthetic_nir(77))
        mandate = self._mandate(partner)
        mandate.with_user(self.declarant).action_register()
        self.assertEqual(mandate.state, "refused")
        self.assertIn("ER_API_COMPTE_INCONNU", mandate.refusal_reason)

    def test_refused_mandate_can_be_registered_once_fixed(self):
        partner = self._ae("monthly_trader")
        mandate = self._mandate(partner, signature_date=date.today() + timedelta(days=3))
        mandate.with_user(self.declarant).action_register()
        self.assertEqual(mandate.state, "refused")
        self.assertIn("ER_API_DATE_SIGNATURE_INVALIDE", mandate.refusal_reason)
        mandate.signature_date = date.today()
        mandate.with_user(self.declarant).action_register()
        self.assertEqual(mandate.state, "active")
        self.assertFalse(mandate.refusal_reason)

    def test_second_active_mandate_is_refused_before_calling(self):
        partner = self._ae("monthly_trader")
        self._active_mandate(partner)
        second = self._mandate(partner)
        with self.assertNoUrssafCall(), self.assertRaises(UserError):
            second.with_user(self.declarant).action_register()
        self.assertEqual(second.state, "draft")

    def test_registering_an_active_mandate_again_is_refused_before_calling(self):
        mandate = self._active_mandate(self._ae("monthly_trader"))
        with self.assertNoUrssafCall(), self.assertRaises(UserError):
            mandate.with_user(self.declarant).action_register()

    def test_batch_with_a_bad_mandate_sends_nothing(self):
        good = self._mandate(self._ae("monthly_trader"))
        bad = self._mandate(self._ae("quarterly_craftsman_moselle"), document=False)
        with self.assertNoUrssafCall(), self.assertRaises(UserError):
            (good | bad).with_user(self.declarant).action_register()

    def test_end_active_mandate(self):
        partner = self._ae("monthly_trader")
        mandate = self._active_mandate(partner)
        with self.urssaf_calls() as calls:
            self.assertTrue(mandate.with_user(self.declarant).action_end())
        (call,) = self._api_calls(calls, "DELETE", f"/mandats/{mandate.urssaf_mandate_ref}")
        self.assertEqual(call["status"], 204)
        self.assertEqual(mandate.state, "ended")
        self.assertEqual(mandate.end_date, fields.Date.context_today(mandate))
        self.assertIsNone(self._client().get_account(Identifier(nir="288047511102371")).mandate)
        self.assertIn(call["correlation_id"], self._bodies(mandate))
        # Ended: a new mandate can now be registered for the same partner.
        self._active_mandate(partner)

    def test_end_mandate_that_is_not_active_is_refused_before_calling(self):
        partner = self._ae("monthly_trader")
        draft = self._mandate(partner)
        ended = self._active_mandate(partner)
        ended.with_user(self.declarant).action_end()
        refused = self._mandate(self._ae("other_platform"))
        refused.with_user(self.declarant).action_register()
        for mandate, state in ((draft, "draft"), (ended, "ended"), (refused, "refused")):
            with self.subTest(state=state), self.assertNoUrssafCall():
                with self.assertRaises(UserError) as caught:
                    mandate.with_user(self.declarant).action_end()
                self.assertIn("not active", str(caught.exception))
            self.assertEqual(mandate.state, state)

    def test_only_draft_or_refused_mandates_can_be_deleted(self):
        partner = self._ae("monthly_trader")
        active = self._active_mandate(partner)
        with self.assertRaises(UserError):
            active.unlink()
        draft = self._mandate(partner)
        draft.unlink()
        self.assertFalse(draft.exists())


@tagged("post_install", "-at_install")
class TestSepaMandate(UrssafAeCase):
    def test_register_on_valid_iban_gives_rum(self):
        partner = self._ae("quarterly_craftsman_moselle")
        self._active_mandate(partner)
        sepa = self._sepa(partner, self._bank(partner, IBAN_BERNARD))
        self.assertEqual(sepa.iban_masked, "****2606")
        with self.urssaf_calls() as calls:
            self.assertTrue(sepa.with_user(self.declarant).action_register())
        (call,) = self._api_calls(calls, "POST", "/mandats-sepa")
        self.assertEqual(call["status"], 201)
        self.assertEqual(sepa.state, "active")
        self.assertRegex(sepa.rum, r"^URSSAF-AE-\d{8}$")
        self.assertEqual(sepa.display_name, sepa.rum)
        (remote,) = self._client().list_sepa_mandates(Identifier(siret="81234567600017"))
        self.assertEqual((remote.rum, remote.status, remote.iban_last4), (sepa.rum, "ACTIF", "2606"))
        bodies = self._bodies(sepa)
        self.assertIn(sepa.rum, bodies)
        self.assertIn("****2606", bodies)
        self.assertIn(call["correlation_id"], bodies)
        self.assertNotIn(_compact(IBAN_BERNARD), _compact(bodies))

    def test_invalid_iban_is_a_validation_error_and_nothing_saved(self):
        partner = self._ae("quarterly_craftsman_moselle")
        bank = self._bank(partner, IBAN_BAD_KEY)
        with self.assertNoUrssafCall(), self.assertRaises(ValidationError) as caught:
            self._sepa(partner, bank)
        message = str(caught.exception)
        self.assertIn("Bank account", message)
        self.assertIn("IBAN", message)
        self.assertNotIn(_compact(IBAN_BAD_KEY), _compact(message))
        self.assertFalse(self.env["urssaf.sepa.mandate"].search([("partner_id", "=", partner.id)]))

    def test_account_made_invalid_after_saving_is_refused_before_calling(self):
        partner = self._ae("quarterly_craftsman_moselle")
        self._active_mandate(partner)
        bank = self._bank(partner, IBAN_BERNARD)
        sepa = self._sepa(partner, bank)
        bank.acc_number = IBAN_BAD_KEY
        with self.assertNoUrssafCall(), self.assertRaises(ValidationError) as caught:
            sepa.with_user(self.declarant).action_register()
        self.assertIn("Bank account", str(caught.exception))
        self.assertEqual((sepa.state, sepa.rum), ("draft", False))

    def test_bank_account_of_someone_else_is_refused(self):
        partner = self._ae("quarterly_craftsman_moselle")
        other = self._ae("monthly_trader")
        with self.assertRaises(ValidationError) as caught:
            self._sepa(partner, self._bank(other, IBAN_MARTIN))
        self.assertIn("Bank account", str(caught.exception))

    def test_revoke_then_revoke_again(self):
        partner = self._ae("quarterly_craftsman_moselle")
        self._active_mandate(partner)
        sepa = self._sepa(partner, self._bank(partner, IBAN_BERNARD))
        sepa.with_user(self.declarant).action_register()
        with self.urssaf_calls() as calls:
            self.assertTrue(sepa.with_user(self.declarant).action_revoke())
        (call,) = self._api_calls(calls, "DELETE", f"/mandats-sepa/{sepa.rum}")
        self.assertEqual(call["status"], 204)
        self.assertEqual(sepa.state, "revoked")
        (remote,) = self._client().list_sepa_mandates(Identifier(siret="81234567600017"))
        self.assertEqual(remote.status, "REVOQUE")
        self.assertIn(call["correlation_id"], self._bodies(sepa))
        with self.assertNoUrssafCall(), self.assertRaises(UserError) as caught:
            sepa.with_user(self.declarant).action_revoke()
        self.assertIn("not active", str(caught.exception))
        self.assertEqual(sepa.state, "revoked")

    def test_revoke_or_register_in_wrong_state_is_refused_before_calling(self):
        partner = self._ae("quarterly_craftsman_moselle")
        draft = self._sepa(partner, self._bank(partner, IBAN_BERNARD))
        with self.assertNoUrssafCall(), self.assertRaises(UserError):
            draft.with_user(self.declarant).action_revoke()
        draft.sudo().write({"state": "revoked", "rum": "URSSAF-AE-OLD"})
        with self.assertNoUrssafCall(), self.assertRaises(UserError):
            draft.with_user(self.declarant).action_register()

    def test_sync_adds_seeded_mandate_and_revokes_the_ones_urssaf_dropped(self):
        partner = self._ae("monthly_trader")
        self._active_mandate(partner)
        self._bank(partner, IBAN_MARTIN_OTHER)
        bank = self._bank(partner, IBAN_MARTIN)
        gone = self._sepa(partner, self._bank(partner, "DE89 3704 0044 0532 0130 00"))
        gone.sudo().write({"state": "active", "rum": "URSSAF-AE-GONE"})
        with self.urssaf_calls() as calls:
            self.assertTrue(partner.with_user(self.declarant).action_urssaf_sync_sepa_mandates())
        (call,) = self._api_calls(calls, "GET", "/mandats-sepa")
        sepas = self.env["urssaf.sepa.mandate"].search([("partner_id", "=", partner.id)])
        added = sepas - gone
        self.assertEqual(len(added), 1)
        seeded = seed_account("monthly_trader")["sepa_mandates"][0]
        self.assertEqual(added.rum, seeded["rum"])
        self.assertEqual(added.state, "active")
        self.assertEqual(added.bank_account_id, bank)
        self.assertEqual(added.holder, seeded["titulaire"])
        self.assertEqual(added.signature_date, date.fromisoformat(seeded["dateSignature"]))
        self.assertEqual(added.company_id, self.company)
        self.assertEqual(gone.state, "revoked")
        self.assertIn(call["correlation_id"], self._bodies(gone))
        self.assertIn(call["correlation_id"], self._bodies(added))
        # On this company's account of the partner, not on the shared partner.
        self.assertIn("1 added, 1 marked revoked", self._bodies(partner._urssaf_account()))
        self.assertNotIn("marked revoked", self._bodies(partner))
        # A second synchronisation has nothing left to do.
        partner.with_user(self.declarant).action_urssaf_sync_sepa_mandates()
        self.assertEqual(self.env["urssaf.sepa.mandate"].search([("partner_id", "=", partner.id)]), sepas)

    def test_sync_without_matching_bank_account_says_so(self):
        partner = self._ae("monthly_trader")
        self._active_mandate(partner)
        partner.with_user(self.declarant).action_urssaf_sync_sepa_mandates()
        self.assertFalse(self.env["urssaf.sepa.mandate"].search([("partner_id", "=", partner.id)]))
        self.assertIn("****0189", self._bodies(partner._urssaf_account()))

    def test_sync_without_identifier_is_refused_before_calling(self):
        partner = self._ae(name="Sans NIR", urssaf_identifier_type="nir")
        with self.assertNoUrssafCall(), self.assertRaises(UserError):
            partner.with_user(self.declarant).action_urssaf_sync_sepa_mandates()


class _PseudoFrench(dict):
    """Code translations that mark every term of the addon as translated."""

    def get(self, source, default=None):
        return "[fr] " + source


@tagged("post_install", "-at_install")
class TestValidation(UrssafAeCase):
    NIR = "288047511102371"
    BAD_NIRS = {
        "bad key": "288047511102372",
        "14 characters": "28804751110237",
        "16 characters": "2880475111023711",
        "letters": "2880475111023AB",
        "sex 3 (not for the API)": "388047511102321",
    }

    def _assert_nir_error(self, error, *typed):
        message = str(error)
        self.assertIn("NIR", message)
        for value in typed + (self.NIR,):
            self.assertNotIn(_compact(value), _compact(message))

    def test_invalid_nir_on_create(self):
        for case, nir in self.BAD_NIRS.items():
            with self.subTest(case=case):
                with self.assertRaises(ValidationError) as caught:
                    self._ae(name=f"NIR {case}", urssaf_identifier_type="nir", urssaf_nir=nir)
                self._assert_nir_error(caught.exception, nir)
                self.assertFalse(self.env["res.partner"].search([("name", "=", f"NIR {case}")]))

    def test_invalid_nir_on_write_changes_nothing(self):
        partner = self._ae("monthly_trader")
        for case, nir in self.BAD_NIRS.items():
            with self.subTest(case=case):
                with self.assertRaises(ValidationError) as caught:
                    partner.with_user(self.declarant).write({"name": "Renamed", "urssaf_nir_formatted": nir})
                self._assert_nir_error(caught.exception, nir)
                self.assertEqual(partner.urssaf_nir, self.NIR)
                self.assertEqual(partner.name, "Camille Martin")

    def test_nir_error_reasons(self):
        partner = self._ae("monthly_trader")
        cases = {
            "288047511102372": "key does not match",
            "28804751110237": "15 characters",
            "388047511102321": "not a valid French social security number",
        }
        for nir, reason in cases.items():
            with self.subTest(nir=nir), self.assertRaises(ValidationError) as caught:
                partner.write({"urssaf_nir": nir})
            self.assertIn(reason, str(caught.exception))

    def test_nir_is_stored_compact_and_shown_formatted(self):
        partner = self._ae(name="Camille", urssaf_identifier_type="nir")
        partner.with_user(self.declarant).urssaf_nir_formatted = "2 88 04 75 111 023 71"
        self.assertEqual(partner.urssaf_nir, self.NIR)
        self.assertEqual(partner.urssaf_nir_formatted, "2 88 04 75 111 023 71")
        # Corsica: typed in lower case with dots, stored upper case.
        corsican = self._ae(name="Hugo", urssaf_identifier_type="nir", urssaf_nir="1.75.02.2a.004.012.27")
        self.assertEqual(corsican.urssaf_nir, "175022A00401227")
        self.assertEqual(corsican.urssaf_nir_formatted, "1 75 02 2A 004 012 27")
        self.env.flush_all()
        self.env.cr.execute("SELECT nir FROM urssaf_account WHERE partner_id = %s", [partner.id])
        self.assertEqual(self.env.cr.fetchall(), [(self.NIR,)])

    def test_invalid_siret_on_auto_entrepreneur(self):
        for siret in ("81234567600018", "8123456760001", "8123456760001A"):
            with self.subTest(siret=siret), self.assertRaises(ValidationError) as caught:
                self._ae(name="SIRET faux", urssaf_identifier_type="siret", company_registry=siret)
            self.assertIn("SIRET", str(caught.exception))
            self.assertFalse(self.env["res.partner"].search([("name", "=", "SIRET faux")]))
        partner = self._ae("quarterly_craftsman_moselle")
        with self.assertRaises(ValidationError):
            partner.write({"company_registry": "81234567600018"})
        self.assertEqual(partner.company_registry, "81234567600017")
        # Flagging a partner whose Company ID is not a SIRET is refused too.
        plain = self.env["res.partner"].create({"name": "Pas AE", "company_registry": "12345"})
        with self.assertRaises(ValidationError):
            plain.write({"urssaf_is_auto_entrepreneur": True, "urssaf_category_id": self.category_goods.id})
        self.assertFalse(plain.urssaf_is_auto_entrepreneur)

    def test_validation_errors_are_translated(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        original = translate.code_translations.get_python_translations

        def python_translations(module, lang):
            if module == ADDON and lang == "fr_FR":
                return _PseudoFrench()
            return original(module, lang)

        partner = self._ae("monthly_trader").with_context(lang="fr_FR")
        bank = self._bank(partner, IBAN_BAD_KEY)
        with patch.object(translate.code_translations, "get_python_translations", python_translations):
            with self.assertRaises(ValidationError) as nir_error:
                partner.write({"urssaf_nir": "288047511102372"})
            with self.assertRaises(ValidationError) as siret_error:
                partner.write({"company_registry": "81234567600018"})
            with self.assertRaises(ValidationError) as iban_error:
                self.env["urssaf.sepa.mandate"].with_context(lang="fr_FR").create(
                    {"partner_id": partner.id, "bank_account_id": bank.id, "holder": "Camille Martin"}
                )
        self.assertTrue(str(nir_error.exception).startswith("[fr] "))
        self.assertIn("[fr] its key does not match", str(nir_error.exception))
        self.assertTrue(str(siret_error.exception).startswith("[fr] "))
        self.assertTrue(str(iban_error.exception).startswith("[fr] "))


@tagged("post_install", "-at_install")
class TestDataProtection(UrssafAeCase):
    """The NIR is nowhere in the chatter, the error texts or the logs of the
    whole flow; no full IBAN is in the chatter."""

    class _Collector(logging.Handler):
        def __init__(self):
            super().__init__(logging.DEBUG)
            self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
            self.lines = []

        def emit(self, record):
            self.lines.append(self.format(record))

    @contextmanager
    def capture_logs(self):
        collector = self._Collector()
        loggers = [logging.getLogger(), logging.getLogger("odoo"), logging.getLogger(f"odoo.addons.{ADDON}")]
        with ExitStack() as stack:
            for logger in loggers:
                stack.callback(logger.setLevel, logger.level)
                stack.callback(logger.removeHandler, collector)
                logger.setLevel(logging.DEBUG)
                logger.addHandler(collector)
            # Odoo's SQL echo (--log-sql) prints the parameters of every
            # query, so any stored value (the NIR when a partner is saved,
            # the documents of the embedded sandbox standing for Urssaf);
            # it is a developer's switch, off unless asked for.
            sql_logger = logging.getLogger("odoo.sql_db")
            stack.callback(sql_logger.setLevel, sql_logger.level)
            sql_logger.setLevel(logging.INFO)
            yield collector.lines

    def test_nir_and_iban_never_leak(self):
        nir = seed_account("monthly_trader")["nir"]
        refused_nir = seed_account("not_eligible")["nir"]
        unknown_nir = synthetic_nir(31)
        nirs = [nir, refused_nir, unknown_nir]
        errors = []
        declarant = self.declarant
        with self.capture_logs() as lines:
            partner = (
                self.env["res.partner"]
                .with_user(declarant)
                .create(
                    {
                        "name": "Camille Martin",
                        "urssaf_is_auto_entrepreneur": True,
                        "urssaf_category_id": self.category_goods.id,
                        "urssaf_identifier_type": "nir",
                        "urssaf_nir_formatted": "2 88 04 75 111 023 71",
                    }
                )
            )
            partner.action_urssaf_check_account()
            with self.assertRaises(ValidationError) as caught:
                partner.write({"urssaf_nir_formatted": "2 88 04 75 111 023 72"})
            errors.append(caught.exception)
            mandate = self._mandate(partner).with_user(declarant)
            mandate.action_register()
            self._bank(partner, IBAN_MARTIN)
            partner.action_urssaf_sync_sepa_mandates()
            sepa = self._sepa(partner, self._bank(partner, IBAN_MARTIN_OTHER)).with_user(declarant)
            sepa.action_register()
            sepa.action_revoke()
            with self.assertRaises(UserError) as caught:
                sepa.action_revoke()
            errors.append(caught.exception)
            mandate.action_end()
            refused = self._ae("not_eligible").with_user(declarant)
            refused.action_urssaf_check_account()
            refused_mandate = self._mandate(refused)
            refused_mandate.with_user(declarant).action_register()
            unknown = self._ae(name="Inconnu", urssaf_identifier_type="nir", urssaf_nir=unknown_nir)
            unknown.with_user(declarant).action_urssaf_check_account()
            unknown_mandate = self._mandate(unknown)
            unknown_mandate.with_user(declarant).action_register()
            self.env.flush_all()

        self.assertEqual(mandate.state, "ended")
        self.assertEqual(sepa.state, "revoked")
        self.assertEqual((refused_mandate.state, unknown_mandate.state), ("refused", "refused"))
        sepas = self.env["urssaf.sepa.mandate"].search([("partner_id", "=", partner.id)])
        self.assertEqual(len(sepas), 2)
        # The capture did see the client's DEBUG lines: it was listening.
        self.assertTrue(any("x-correlationid" in line for line in lines))

        accounts = [ae._urssaf_account() for ae in (partner, refused, unknown)]
        records = [partner, refused, unknown, *accounts, mandate, refused_mandate, unknown_mandate, *sepas]
        messages = self.env["mail.message"].browse()
        for record in records:
            messages |= self._messages(record)
        self.assertGreater(len(messages), 10)
        texts = {f"message {m.id}": f"{m.subject or ''} {m.body or ''} {m.record_name or ''}" for m in messages}
        for tracking in messages.sudo().tracking_value_ids:
            texts[f"tracking {tracking.id}"] = " ".join(
                str(tracking[f] or "")
                for f in ("old_value_char", "new_value_char", "old_value_text", "new_value_text")
                if f in tracking._fields
            )
        texts["refusals"] = f"{refused_mandate.refusal_reason} {unknown_mandate.refusal_reason}"
        texts["reasons"] = f"{refused.urssaf_ineligibility_reason} {unknown.urssaf_ineligibility_reason}"
        texts.update({f"error {i}": str(error) for i, error in enumerate(errors)})
        texts.update({f"log {i}": line for i, line in enumerate(lines)})
        for where, text in texts.items():
            flat = _compact(text)
            for value in nirs:
                self.assertNotIn(value, flat, f"a NIR shows in {where}: {text!r}")
            for iban in (IBAN_MARTIN, IBAN_MARTIN_OTHER):
                self.assertNotIn(_compact(iban), flat, f"a full IBAN shows in {where}: {text!r}")
