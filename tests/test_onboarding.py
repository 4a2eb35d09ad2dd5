# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Onboarding at scale: Odoo's import of the auto-entrepreneurs' Urssaf
accounts, then checking the accounts and registering the mandates and SEPA
mandates of a selection, several calls in flight, against a real loopback
server that loses answers on purpose: each one reaches Urssaf once."""

import base64
from collections import Counter
from datetime import date

from odoo.tests import freeze_time, new_test_user, tagged
from odoo.tools.misc import file_open

from ..models.urssaf_common import DECLARANT
from ..urssaf_api.sandbox import Sandbox
from ..urssaf_api.seed import synthetic_nir, synthetic_siret
from ..urssaf_api.storage import MemoryStorage
from ..urssaf_api.testing import (
    GET_ACCOUNT,
    LIST_SEPA_MANDATES,
    REGISTER_MANDATE,
    REGISTER_SEPA_MANDATE,
    FaultServer,
    ServerError,
)
from .common import FROZEN_NOW, UrssafTransactionCase
from .test_parallel_runs import IBAN, CountingHandler
from .test_robustness import _company_settings

ADDON = "l10n_fr_urssaf_tierce_declaration"
COUNT = 24
PARALLEL = 6
PDF = base64.b64encode(b"%PDF-1.4 mandat de tierce declaration signe")
SIGNED = date(2026, 11, 2)


def _chatter(records, text):
    """How many chatter lines of each record contain ``text``."""
    return Counter(
        message.res_id
        for message in records.env["mail.message"].search(
            [("model", "=", records._name), ("res_id", "in", records.ids)]
        )
        if text in (message.body or "")
    )


class OnboardingCase(UrssafTransactionCase):
    """Auto-entrepreneurs in Odoo and at a remote Urssaf that counts the
    calls it serves at once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.declarant = new_test_user(cls.env, login="onboard_declarant", groups=DECLARANT)
        cls.category = cls.env.ref(f"{ADDON}.category_vente_marchandises")

    def setUp(self):
        super().setUp()
        self.remote = Sandbox(MemoryStorage())
        self.handler = CountingHandler(self.remote.handle)
        self.server = FaultServer(self.handler)
        self.server.start()
        self.addCleanup(self.server.stop)
        self.company = self.env.company
        self.company.sudo().write({**_company_settings(self.server.base_url), "urssaf_parallel_calls": PARALLEL})
        self.partners = self._auto_entrepreneurs(COUNT)

    def _auto_entrepreneurs(self, count, known=True, holder=None, first=0):
        """``count`` auto-entrepreneurs in Odoo, known to the remote Urssaf
        (``known``) with their mandate held by ``holder``."""
        partners = self.env["res.partner"]
        for index in range(first, first + count):
            siret = synthetic_siret(index)
            if known:
                self.remote.add_account(
                    siret=siret,
                    nom=f"AE{index}",
                    prenoms="Test",
                    dateNaissance="1990-01-01",
                    periodicite="MENSUELLE",
                    dateDebutActivite="2019-01-01",
                    categories=["VENTE_MARCHANDISES"],
                    trade="commercant",
                    mandate_holder=holder,
                )
            partners |= self.env["res.partner"].create(
                {
                    "name": f"AE {index}",
                    "company_registry": siret,
                    "urssaf_is_auto_entrepreneur": True,
                    "urssaf_identifier_type": "siret",
                    "urssaf_category_id": self.category.id,
                    "urssaf_trade": "commercant",
                }
            )
        return partners

    def _about(self, partners):
        """A fault predicate: the calls about these auto-entrepreneurs."""
        sirets = {siret.encode() for siret in partners.mapped("company_registry")}
        return lambda request: any(siret in request.body for siret in sirets)

    def _sent_once_each(self, operation, partners):
        sent = Counter(request.json()["identifiant"]["siret"] for request in self.server.requests_for(operation))
        delegated = Counter(
            request.json()["identifiant"]["siret"] for request in self.server.requests_for(operation, delegated=True)
        )
        self.assertEqual(set(delegated), set(partners.mapped("company_registry")))
        self.assertEqual(set(delegated.values()), {1}, "each one reached Urssaf once")
        return sent

    def _message(self, action):
        self.assertEqual(action["tag"], "display_notification")
        return action["params"]["message"]

    def _sepa_drafts(self, partners):
        """Draft SEPA mandates of these auto-entrepreneurs, whose mandate
        Urssaf holds for this platform."""
        banks = self.env["res.partner.bank"].create(
            [{"partner_id": partner.id, "acc_number": IBAN} for partner in partners]
        )
        return self.env["urssaf.sepa.mandate"].create(
            [
                {
                    "partner_id": bank.partner_id.id,
                    "bank_account_id": bank.id,
                    "holder": bank.partner_id.name,
                    "signature_date": SIGNED,
                }
                for bank in banks
            ]
        )

    def _mandate_drafts(self, partners):
        return self.env["urssaf.mandate"].create(
            [
                {"partner_id": partner.id, "signature_date": SIGNED, "document": PDF, "document_name": "m.pdf"}
                for partner in partners
            ]
        )


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestOnboardingRuns(OnboardingCase):
    def test_check_accounts_in_parallel_with_a_summary(self):
        unknown = self._auto_entrepreneurs(1, known=False, first=COUNT)
        accounts = (self.partners | unknown).mapped(lambda partner: partner._urssaf_account())
        action = accounts.with_user(self.declarant).action_urssaf_check()
        self.assertEqual(self.server.count(GET_ACCOUNT, delegated=True), COUNT + 1)
        self.assertLessEqual(self.handler.most, PARALLEL)
        self.assertGreater(self.handler.most, 1, "several calls in flight")
        known = accounts.filtered(lambda account: account.partner_id != unknown)
        self.assertEqual(set(known.mapped("state")), {"eligible"})
        self.assertEqual(set(known.mapped("periodicity")), {"monthly"})
        self.assertEqual(accounts.filtered(lambda a: a.partner_id == unknown).state, "unknown")
        self.assertEqual(set(_chatter(known, "Urssaf account checked").values()), {1})
        self.assertEqual(len(_chatter(known, "Urssaf account checked")), COUNT)
        message = self._message(action)
        self.assertIn(f"Check accounts: {COUNT} done, 1 refused, 0 failed.", message)
        self.assertIn(f"Refused: {accounts[-1].display_name}", message)

    def test_register_mandates_each_once_lost_answers_looked_up(self):
        lost = self.partners[:4]
        self.server.inject(ServerError(500, after=True), REGISTER_MANDATE, when=self._about(lost))
        mandates = self.env["urssaf.mandate"].create(
            [
                {"partner_id": partner.id, "signature_date": SIGNED, "document": PDF, "document_name": "m.pdf"}
                for partner in self.partners
            ]
        )
        action = mandates.with_user(self.declarant).action_register()
        self._sent_once_each(REGISTER_MANDATE, self.partners)
        self.assertLessEqual(self.handler.most, PARALLEL)
        self.assertGreater(self.handler.most, 1)
        # The four lost answers were settled by looking the account up.
        self.assertEqual(self.server.count(GET_ACCOUNT, delegated=True), len(lost))
        self.assertEqual(set(mandates.mapped("state")), {"active"})
        self.assertEqual(len(set(mandates.mapped("urssaf_mandate_ref"))), COUNT)
        for mandate in mandates.filtered(lambda m: m.partner_id in lost):
            remote = self.company._urssaf_client().get_account(mandate.partner_id._urssaf_identifier())
            self.assertEqual(remote.mandate.mandate_id, mandate.urssaf_mandate_ref)
        registered = _chatter(mandates, "Mandate registered with Urssaf")
        self.assertEqual((len(registered), set(registered.values())), (COUNT, {1}))
        self.assertEqual(self._message(action), f"Register mandates: {COUNT} done, 0 refused, 0 failed.")
        self.assertEqual(action["params"]["type"], "success")

    def test_register_sepa_mandates_each_once_lost_answers_looked_up(self):
        held = self._auto_entrepreneurs(COUNT, holder="demo-tiers", first=COUNT)
        lost = held[:3]
        refused_before = held[3:4]
        # Urssaf recorded these three, but the answers were lost.
        self.server.inject(ServerError(500, after=True), REGISTER_SEPA_MANDATE, when=self._about(lost))
        # Urssaf did not record this one, and said so with a 500 only once.
        self.server.inject(ServerError(500), REGISTER_SEPA_MANDATE, calls=1, when=self._about(refused_before))
        sepa = self._sepa_drafts(held)
        action = sepa.with_user(self.declarant).action_register()
        self.assertLessEqual(self.handler.most, PARALLEL)
        self.assertGreater(self.handler.most, 1)
        looked_up = sepa.filtered(lambda m: m.partner_id in lost)
        self.assertEqual(set(looked_up.mapped("state")), {"active"})
        left = sepa.filtered(lambda m: m.partner_id in refused_before)
        self.assertEqual(left.state, "draft")
        self.assertEqual(set((sepa - left).mapped("state")), {"active"})
        self.assertEqual(len(_chatter(left, "failed")), 1)
        message = self._message(action)
        self.assertIn(f"Register SEPA mandates: {COUNT - 1} done, 0 refused, 1 failed.", message)
        self.assertIn(f"Failed: {left.display_name}", message)
        self.assertEqual(action["params"]["type"], "warning")
        # Sent again: looked up first (Urssaf holds none), then sent once.
        again = left.with_user(self.declarant).action_register()
        self.assertEqual(left.state, "active")
        self.assertEqual(self._message(again), "Register SEPA mandates: 1 done, 0 refused, 0 failed.")
        sent = self._sent_once_each(REGISTER_SEPA_MANDATE, held)
        self.assertEqual(sent[left.partner_id.company_registry], 2, "refused by a 500 first, then recorded")
        self.assertEqual(self.server.count(LIST_SEPA_MANDATES, delegated=True), len(lost) + 2)
        client = self.company._urssaf_client()
        for mandate in sepa:
            (remote,) = client.list_sepa_mandates(mandate.partner_id._urssaf_identifier())
            self.assertEqual((remote.rum, remote.status), (mandate.rum, "ACTIF"))
        registered = _chatter(sepa, "SEPA mandate registered with Urssaf")
        self.assertEqual((len(registered), set(registered.values())), (COUNT, {1}))


@tagged("post_install", "-at_install")
class TestAccountImport(UrssafTransactionCase):
    """Odoo's import of the Urssaf accounts, as the web client calls it."""

    FIELDS = ["partner_id", "siret", "identifier_type", "nir_formatted", "category_id/id", "trade", "turnover_source"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.declarant = new_test_user(cls.env, login="import_declarant", groups=DECLARANT)

    def _import(self, rows):
        header = ",".join(self.FIELDS)
        text = "\n".join([header, *(",".join(row) for row in rows)]) + "\n"
        importer = (
            self.env["base_import.import"]
            .with_user(self.declarant)
            .create({"res_model": "urssaf.account", "file": text.encode(), "file_type": "text/csv"})
        )
        options = {
            "quoting": '"',
            "separator": ",",
            "has_headers": True,
            "encoding": "utf-8",
            # The import dialog's "create if it does not exist" on the contact.
            "name_create_enabled_fields": {"partner_id": True},
        }
        return importer.execute_import(self.FIELDS, self.FIELDS, options)

    def _row(self, name, siret="", identifier="siret", nir="", category="category_prestation_services_bic"):
        return [name, siret, identifier, nir, f"{ADDON}.{category}", "artisan", "vendor_bills"]

    def test_template_is_offered_and_imports(self):
        (template,) = self.env["urssaf.account"].get_import_templates()
        path = template["template"]
        self.assertTrue(path.endswith(".csv"))
        with file_open(path.lstrip("/"), "rb") as file:
            rows = [line.split(",") for line in file.read().decode().splitlines()]
        self.assertEqual(rows[0], self.FIELDS)
        result = self._import(rows[1:])
        self.assertFalse(result["messages"])
        self.assertEqual(len(result["ids"]), len(rows) - 1)

    def test_good_file_imports_every_account(self):
        nir = synthetic_nir(42)
        result = self._import(
            [
                self._row("Import Siret", siret=synthetic_siret(4242)),
                self._row("Import Nir", identifier="nir", nir=nir, category="category_vente_marchandises"),
            ]
        )
        self.assertFalse(result["messages"])
        accounts = self.env["urssaf.account"].browse(result["ids"])
        by_name = {account.partner_id.name: account for account in accounts}
        self.assertEqual(by_name["Import Siret"].partner_id.company_registry, synthetic_siret(4242))
        self.assertEqual(by_name["Import Siret"].identifier_type, "siret")
        self.assertEqual(by_name["Import Nir"].nir, nir)
        self.assertEqual(by_name["Import Nir"].category_id, self.env.ref(f"{ADDON}.category_vente_marchandises"))
        self.assertEqual(set(accounts.mapped("trade")), {"artisan"})
        self.assertEqual(set(accounts.mapped("state")), {"unchecked"})
        self.assertEqual(accounts.company_id, self.env.company)

    def test_bad_nir_names_the_field_and_imports_nothing(self):
        bad = synthetic_nir(43)[:-2] + "00"
        accounts_before = self.env["urssaf.account"].search_count([])
        result = self._import(
            [
                self._row("Import Good", siret=synthetic_siret(4343)),
                self._row("Import Bad Nir", identifier="nir", nir=bad),
            ]
        )
        self.assertFalse(result["ids"])
        errors = [message for message in result["messages"] if message["type"] == "error"]
        self.assertTrue(errors)
        self.assertIn("Social security number (NIR)", errors[0]["message"])
        self.assertNotIn(bad, " ".join(message["message"] for message in result["messages"]))
        self.assertEqual(self.env["urssaf.account"].search_count([]), accounts_before)
        self.assertFalse(self.env["res.partner"].search([("name", "like", "Import ")]))

    def test_bad_siret_names_the_field_and_imports_nothing(self):
        result = self._import([self._row("Import Bad Siret", siret="81234567600018")])
        self.assertFalse(result["ids"])
        self.assertIn("SIRET", result["messages"][0]["message"])
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Import Bad Siret")]))
