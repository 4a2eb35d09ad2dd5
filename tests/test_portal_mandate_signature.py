# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The auto-entrepreneur signs its mandates in the portal (issue 28), over
HTTP as the portal user, against the embedded sandbox; and nothing alters a
signed mandate, tried over XML-RPC as a declarant and as an administrator."""

import base64
import io
import re
import shutil
import subprocess
import tempfile
from unittest.mock import patch

from PIL import Image, ImageDraw

from odoo.tests import HttpCase, JsonRpcException, freeze_time, new_test_user, tagged

from ..urssaf_api.seed import seed_account
from . import rpc_trust
from .common import FROZEN_NOW, UrssafSandboxMixin, reset_embedded_sandbox
from .rpc_trust import PASSWORD, Attempt, with_context_defaults
from .test_declaration_trust import _seeded_partner

ADDON = "l10n_fr_urssaf_tierce_declaration"
DECLARANT = f"{ADDON}.group_urssaf_declarant"
BASE = "/my/urssaf/mandate"
IBAN_CRAFTSMAN = "FR14 2004 1010 0505 0001 3M02 606"
IBAN_BAD_KEY = "FR14 2004 1010 0505 0001 3M02 607"
IBAN_OTHER = "FR76 3000 1007 9412 3456 7890 185"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _compact(text):
    return re.sub(r"\s", "", text)


def signature_png():
    """A drawn signature, as the signature widget sends it (PNG, base64)."""
    image = Image.new("RGB", (300, 90), "white")
    ImageDraw.Draw(image).line([(10, 70), (80, 20), (150, 60), (290, 15)], fill="black", width=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def pdf_text(document):
    """The text of a PDF stored in base64, read back by pdftotext."""
    pdf = base64.b64decode(document)
    assert pdf.startswith(b"%PDF"), pdf[:40]
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        return subprocess.run(
            ["pdftotext", "-layout", handle.name, "-"], capture_output=True, check=True, text=True
        ).stdout


def make_auto_entrepreneur(env, alias, **values):
    """A seeded auto-entrepreneur of the embedded sandbox with an address
    (the mandate document prints it), not checked yet."""
    return _seeded_partner(
        env,
        alias,
        street="3 rue du Moulin",
        zip="57000",
        city="Metz",
        country_id=env.ref("base.fr").id,
        **values,
    )


class PortalMandateMixin:
    """The declaring company, its responsible accountant and an
    auto-entrepreneur with its portal user."""

    @classmethod
    def _setup_portal(cls):
        cls.company = cls.env.company
        cls.company.write({"name": "Cabinet Exemple Expertise", "company_registry": "44306184100047"})
        cls.accountant = new_test_user(
            cls.env,
            login="portal_sign_accountant",
            name="Claire Comptable",
            groups=f"base.group_user,account.group_account_manager,{DECLARANT}",
        )
        cls.company.sudo().urssaf_responsible_user_id = cls.accountant
        cls.craftsman = make_auto_entrepreneur(cls.env, "quarterly_craftsman_moselle", email="lucas@example.com")
        cls.account = cls.env["urssaf.account"].search([("partner_id", "=", cls.craftsman.id)])
        cls.portal_user = new_test_user(
            cls.env,
            login="portal_sign_lucas",
            groups="base.group_portal",
            partner_id=cls.craftsman.id,
            name=cls.craftsman.name,
        )

    # --- the report rendered as a PDF (tests render HTML otherwise) ----------

    def _render_pdfs(self):
        Report = type(self.env["ir.actions.report"])
        original = Report._render_qweb_pdf

        def render(report, report_ref, res_ids=None, data=None):
            return original(report.with_context(force_report_rendering=True), report_ref, res_ids, data)

        return patch.object(Report, "_render_qweb_pdf", render)


@tagged("post_install", "-at_install")
class TestPortalMandateSignature(PortalMandateMixin, UrssafSandboxMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_portal()
        other = make_auto_entrepreneur(cls.env, "monthly_trader", email="camille@example.com")
        cls.other_account = cls.env["urssaf.account"].search([("partner_id", "=", other.id)])
        cls.other_user = new_test_user(
            cls.env, login="portal_sign_camille", groups="base.group_portal", partner_id=other.id, name=other.name
        )
        cls.signature = signature_png()

    def setUp(self):
        super().setUp()
        reset_embedded_sandbox(self.env.cr.dbname)

    # --- helpers -------------------------------------------------------------

    def _mandates(self):
        return self.env["urssaf.mandate"].search([("partner_id", "=", self.craftsman.id)])

    def _sepa_mandates(self):
        return self.env["urssaf.sepa.mandate"].search([("partner_id", "=", self.craftsman.id)])

    def _todos(self, records):
        return self.env["mail.activity"].search([("res_model", "=", records._name), ("res_id", "in", records.ids)])

    def _get(self, url, status=200):
        response = self.url_open(url, allow_redirects=False)
        self.assertEqual(response.status_code, status, url)
        return response

    def _post_form(self, url, data, status=303, account=None):
        """A form posted with the CSRF token of the user's own SEPA page."""
        token = CSRF.search(self._get(f"{BASE}/{(account or self.account).id}/sepa").text).group(1)
        response = self.url_open(url, data={**data, "csrf_token": token}, allow_redirects=False)
        self.assertEqual(response.status_code, status, url)
        return response

    def _sign(self, suffix, name="Lucas Bernard", account=None):
        account = account or self.account
        return self.make_jsonrpc_request(f"{BASE}/{account.id}/{suffix}", {"name": name, "signature": self.signature})

    def _sign_mandate(self):
        self.authenticate(self.portal_user.login, self.portal_user.login)
        landing = self._get(BASE, status=303)
        self.assertTrue(landing.headers["Location"].endswith(f"{BASE}/{self.account.id}"))
        page = self._get(f"{BASE}/{self.account.id}").text
        self.assertIn(f"{BASE}/{self.account.id}/sign", page)
        document = self._get(f"{BASE}/{self.account.id}/sign").text
        siret = self.craftsman.company_registry
        for expected in ("Lucas BERNARD", siret, "Cabinet Exemple Expertise", "44306184100047", "Metz"):
            self.assertIn(expected, document)
        self.assertIn("portal.signature_form", document)
        with self._render_pdfs():
            result = self._sign("sign/accept")
        self.assertEqual(result, {"force_refresh": True, "redirect_url": f"{BASE}/{self.account.id}?message=signed"})
        self.env.invalidate_all()
        return self._mandates()

    def _enter_iban(self, iban, status=303):
        page = f"{BASE}/{self.account.id}/sepa"
        return self._post_form(page, {"iban": iban, "holder": "Lucas Bernard"}, status=status)

    def _sign_sepa(self):
        self._enter_iban(IBAN_CRAFTSMAN)
        page = self._get(f"{BASE}/{self.account.id}/sepa/sign").text
        self.assertIn("****2606", page)
        self.assertNotIn(_compact(IBAN_CRAFTSMAN), _compact(page))
        with self._render_pdfs():
            result = self._sign("sepa/accept")
        self.assertEqual(result["redirect_url"], f"{BASE}/{self.account.id}?message=sepa_signed")
        self.env.invalidate_all()
        return self._sepa_mandates()

    # --- the tierce-déclaration mandate --------------------------------------

    def test_sign_mandate_waits_for_a_declarant(self):
        mandate = self._sign_mandate()
        self.assertEqual(len(mandate), 1)
        self.assertEqual(mandate.company_id, self.company)
        self.assertEqual(mandate.state, "draft")
        self.assertEqual(mandate.signed_by, "Lucas Bernard")
        self.assertEqual(mandate.signed_ip, "127.0.0.1")
        self.assertTrue(mandate.signed_on)
        self.assertEqual(mandate.signature_date, mandate.signed_on.date())
        self.assertTrue(mandate.signature)
        self.assertTrue(mandate.document_name.endswith(".pdf"))
        if not shutil.which("pdftotext"):
            self.skipTest("pdftotext is not installed")
        text = _compact(pdf_text(mandate.document))
        for expected in ("Lucas BERNARD", "Cabinet Exemple Expertise", "81234567600017", "127.0.0.1"):
            self.assertIn(_compact(expected), text)
        # The responsible accountant is asked to register it, not OdooBot.
        todo = self._todos(mandate)
        self.assertEqual(todo.user_id, self.accountant)
        # Signed once: a second signature creates nothing.
        self.assertIn("error", self._sign("sign/accept"))
        self._get(f"{BASE}/{self.account.id}/sign", status=303)
        self.env.invalidate_all()
        self.assertEqual(self._mandates(), mandate)
        # The declarant registers it with the existing button.
        mandate.with_user(self.accountant).action_register()
        self.assertEqual(mandate.state, "active")
        self.assertTrue(mandate.urssaf_mandate_ref)
        self.assertEqual(mandate.signed_by, "Lucas Bernard")

    def test_sign_mandate_registered_at_once(self):
        self.company.sudo().urssaf_auto_register_mandates = True
        mandate = self._sign_mandate()
        self.assertEqual(mandate.state, "active")
        self.assertTrue(mandate.urssaf_mandate_ref)
        self.assertFalse(self._todos(mandate))
        self.assertIn("o_urssaf_request_end", self._get(f"{BASE}/{self.account.id}").text)

    def test_automatic_registration_refused_is_kept_not_raised(self):
        """Another tiers-déclarant holds the mandate at Urssaf: the portal
        user's signature is kept, Urssaf's refusal goes to the chatter and to
        the accountant."""
        self.company.sudo().urssaf_auto_register_mandates = True
        self.craftsman.company_registry = seed_account("other_platform")["siret"]
        mandate = self._sign_mandate()
        self.assertEqual(len(mandate), 1)
        self.assertEqual(mandate.state, "refused")
        self.assertTrue(mandate.refusal_reason)
        self.assertTrue(mandate.document)
        self.assertEqual(self._todos(mandate).user_id, self.accountant)

    def test_end_request(self):
        self.company.sudo().urssaf_auto_register_mandates = True
        mandate = self._sign_mandate()
        page = f"{BASE}/{self.account.id}"
        self._post_form(f"{page}/end", {})
        self.env.invalidate_all()
        self.assertTrue(mandate.end_requested_on)
        self.assertEqual(mandate.state, "active")
        self.assertIn("asks to end", " ".join(mandate.message_ids.mapped("body")))
        todo = self._todos(mandate)
        self.assertEqual(todo.user_id, self.accountant)
        self.assertIn("o_urssaf_end_pending", self._get(page).text)
        # Asked once.
        self._post_form(f"{page}/end", {})
        self.assertEqual(self._todos(mandate), todo)
        # A declarant ends it at Urssaf.
        mandate.with_user(self.accountant).action_end()
        self.assertEqual(mandate.state, "ended")

    # --- the SEPA mandate ----------------------------------------------------

    def test_sign_sepa_mandate(self):
        self.company.sudo().urssaf_auto_register_mandates = True
        self._sign_mandate()
        sepa = self._sign_sepa()
        self.assertEqual(len(sepa), 1)
        self.assertEqual(sepa.state, "active")
        self.assertRegex(sepa.rum, r"^URSSAF-AE-\d{8}$")
        self.assertEqual(sepa.iban_masked, "****2606")
        self.assertEqual(sepa.holder, "Lucas Bernard")
        self.assertEqual(sepa.bank_account_id.partner_id, self.craftsman)
        self.assertEqual(sepa.bank_account_id.sanitized_acc_number, _compact(IBAN_CRAFTSMAN))
        self.assertEqual(sepa.signed_by, "Lucas Bernard")
        page = self._get(f"{BASE}/{self.account.id}").text
        self.assertIn(sepa.rum, page)
        self.assertNotIn(_compact(IBAN_CRAFTSMAN), _compact(page))
        bodies = " ".join(sepa.message_ids.mapped("body"))
        self.assertNotIn(_compact(IBAN_CRAFTSMAN), _compact(bodies))
        if not shutil.which("pdftotext"):
            self.skipTest("pdftotext is not installed")
        text = _compact(pdf_text(sepa.document))
        for expected in ("Lucas BERNARD", "Urssaf", "****2606", "Cabinet Exemple Expertise"):
            self.assertIn(_compact(expected), text)
        self.assertNotIn(_compact(IBAN_CRAFTSMAN), text)

    def test_sign_sepa_mandate_waits_for_a_declarant(self):
        self.company.sudo().urssaf_auto_register_mandates = True
        self._sign_mandate()
        self.company.sudo().urssaf_auto_register_mandates = False
        sepa = self._sign_sepa()
        self.assertEqual(sepa.state, "draft")
        self.assertFalse(sepa.rum)
        self.assertEqual(self._todos(sepa).user_id, self.accountant)
        # The same document signed again: still one SEPA mandate.
        self.assertIn("error", self._sign("sepa/accept"))
        self.env.invalidate_all()
        self.assertEqual(self._sepa_mandates(), sepa)
        sepa.with_user(self.accountant).action_register()
        self.assertEqual(sepa.state, "active")

    def test_invalid_iban_creates_nothing(self):
        self.authenticate(self.portal_user.login, self.portal_user.login)
        banks = self.env["res.partner.bank"].search_count([("partner_id", "=", self.craftsman.id)])
        page = self._enter_iban(IBAN_BAD_KEY, status=400).text
        self.assertIn("IBAN: this is not a valid IBAN", page)
        self.assertNotIn(_compact(IBAN_BAD_KEY), _compact(page))
        # Nothing to sign, nothing signed, nothing created.
        self._get(f"{BASE}/{self.account.id}/sepa/sign", status=303)
        self.assertIn("error", self._sign("sepa/accept"))
        self.env.invalidate_all()
        self.assertFalse(self._sepa_mandates())
        self.assertEqual(self.env["res.partner.bank"].search_count([("partner_id", "=", self.craftsman.id)]), banks)

    # --- another auto-entrepreneur's pages -----------------------------------

    def test_other_portal_user_gets_404(self):
        self.authenticate(self.other_user.login, self.other_user.login)
        own = f"{BASE}/{self.other_account.id}"
        self._get(BASE, status=303)
        self._get(own)
        theirs = f"{BASE}/{self.account.id}"
        for url in (theirs, f"{theirs}/sign", f"{theirs}/sepa", f"{theirs}/sepa/sign", f"{BASE}/999999"):
            self._get(url, status=404)
        for suffix in ("sign/accept", "sepa/accept"):
            with self.assertRaises(JsonRpcException) as caught:
                self._sign(suffix, name="Camille Martin")
            self.assertEqual(caught.exception.code, 404)
        mine = self.other_account
        self._post_form(f"{theirs}/end", {}, status=404, account=mine)
        self._post_form(f"{theirs}/sepa", {"iban": IBAN_CRAFTSMAN, "holder": "Camille"}, status=404, account=mine)
        self.env.invalidate_all()
        self.assertFalse(self._mandates())
        self.assertFalse(self._sepa_mandates())
        self.assertFalse(self.env["res.partner.bank"].search([("partner_id", "=", self.craftsman.id)]))

    def test_several_declaring_companies_to_pick_from(self):
        company_b = self.env["res.company"].create({"name": "Plateforme Deux"})
        account_b = self.env["urssaf.account"].create(
            {"partner_id": self.craftsman.id, "company_id": company_b.id, "category_id": self.account.category_id.id}
        )
        self.authenticate(self.portal_user.login, self.portal_user.login)
        page = self._get(BASE).text
        for account in (self.account, account_b):
            self.assertIn(f'href="{BASE}/{account.id}"', page)
        self.assertIn("Plateforme Deux", self._get(f"{BASE}/{account_b.id}").text)
        # Signed for the second company: its mandate, not the first's.
        with self._render_pdfs():
            self._sign("sign/accept", account=account_b)
        self.env.invalidate_all()
        self.assertEqual(self._mandates().company_id, company_b)

    def test_internal_user_without_account_gets_404(self):
        self.authenticate(self.accountant.login, self.accountant.login)
        self._get(BASE, status=404)
        self._get(f"{BASE}/{self.account.id}", status=404)


# --- nothing alters a signed mandate, over XML-RPC -------------------------------

SIGNED = "of a signed mandate cannot be changed"
WRITTEN_ONLY_BY_THE_ADDON = "cannot be written"
NOT_DELETED = "cannot be deleted"
MANDATES = ("urssaf_mandate", "urssaf_sepa_mandate", "ir_attachment", "res_partner_bank")
CARRIES = "signed by the auto-entrepreneur"


def _write(name, values):
    return lambda case: (getattr(case, name)._name, "write", [[getattr(case, name).id], values])


def _unlink(name):
    return lambda case: (getattr(case, name)._name, "unlink", [[getattr(case, name).id]])


def _new_mandate(**values):
    return lambda case: ("urssaf.mandate", "create", [{"partner_id": case.craftsman.id, **values}])


def _register(name):
    return lambda case: (getattr(case, name)._name, "action_register", [[getattr(case, name).id]])


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestSignedMandateTrustRpc(PortalMandateMixin, rpc_trust.RpcTrustCase):
    ATTEMPTS = tuple(
        row
        for user in ("declarant", "admin")
        for row in (
            Attempt(
                "change who signed",
                user,
                _write("signed", {"signed_by": "Someone"}),
                WRITTEN_ONLY_BY_THE_ADDON,
                MANDATES,
            ),
            Attempt(
                "change the signature",
                user,
                _write("signed", {"signature": False}),
                WRITTEN_ONLY_BY_THE_ADDON,
                MANDATES,
            ),
            Attempt(
                "change the IP address",
                user,
                _write("signed", {"signed_ip": "10.0.0.1"}),
                WRITTEN_ONLY_BY_THE_ADDON,
                MANDATES,
            ),
            Attempt(
                "replace the signed document",
                user,
                _write("signed", {"document": base64.b64encode(b"%PDF-1.4 x").decode()}),
                SIGNED,
                MANDATES,
            ),
            Attempt(
                "rename the signed document", user, _write("signed", {"document_name": "other.pdf"}), SIGNED, MANDATES
            ),
            Attempt(
                "move the signature date", user, _write("signed", {"signature_date": "2026-01-01"}), SIGNED, MANDATES
            ),
            Attempt("give the mandate to another contact", user, _write("signed", {"partner_id": 1}), SIGNED, MANDATES),
            Attempt("delete the signed mandate", user, _unlink("signed"), NOT_DELETED, MANDATES),
            Attempt("change the SEPA holder", user, _write("signed_sepa", {"holder": "Someone"}), SIGNED, MANDATES),
            Attempt(
                "move the SEPA date", user, _write("signed_sepa", {"signature_date": "2026-01-01"}), SIGNED, MANDATES
            ),
            Attempt("delete the signed SEPA mandate", user, _unlink("signed_sepa"), NOT_DELETED, MANDATES),
            Attempt(
                "change the signed IBAN", user, _write("signed_bank", {"acc_number": IBAN_OTHER}), CARRIES, MANDATES
            ),
            Attempt(
                "move the signed IBAN to another contact",
                user,
                _write("signed_bank", {"partner_id": 1}),
                CARRIES,
                MANDATES,
            ),
            Attempt(
                "forge a signature",
                user,
                _new_mandate(signed_by="Lucas", signed_on="2026-11-01 10:00:00"),
                WRITTEN_ONLY_BY_THE_ADDON,
                MANDATES,
            ),
            Attempt(
                "forge a signature by context defaults",
                user,
                with_context_defaults(_new_mandate(), signed_by="Lucas", signed_ip="1.2.3.4"),
                WRITTEN_ONLY_BY_THE_ADDON,
                MANDATES,
            ),
            Attempt(
                "forge a signature image by context defaults",
                user,
                with_context_defaults(_new_mandate(), signature=signature_png()),
                WRITTEN_ONLY_BY_THE_ADDON,
                MANDATES,
            ),
        )
    ) + (
        # Controls: an unsigned draft is still the declarant's to fix, and
        # the signed mandate is registered through the existing button.
        Attempt(
            "fix an unsigned draft",
            "declarant",
            _write("unsigned", {"signature_date": "2026-11-02"}),
            None,
            ("urssaf_mandate",),
        ),
        Attempt(
            "fix a bank account no signed mandate carries",
            "declarant",
            _write("unsigned_bank", {"acc_number": IBAN_OTHER}),
            None,
            ("res_partner_bank",),
        ),
        Attempt("register the signed mandate", "declarant", _register("signed"), None, ("urssaf_mandate",)),
    )

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_portal()
        cls.users["admin"] = new_test_user(
            cls.env,
            login="rpc_trust_admin",
            password=PASSWORD,
            groups=f"base.group_system,base.group_erp_manager,account.group_account_manager,{DECLARANT}",
            lang="en_US",
        )
        signature = signature_png()
        cls.signed = cls.env["urssaf.mandate"]._urssaf_portal_create_signed(
            {"partner_id": cls.craftsman.id, "company_id": cls.company.id, "signature_date": "2026-11-27"},
            "Lucas Bernard",
            signature,
            "192.0.2.10",
        )
        cls.signed_bank = bank = cls.env["res.partner.bank"].create(
            {"partner_id": cls.craftsman.id, "acc_number": IBAN_CRAFTSMAN}
        )
        cls.signed_sepa = cls.env["urssaf.sepa.mandate"]._urssaf_portal_create_signed(
            {
                "partner_id": cls.craftsman.id,
                "company_id": cls.company.id,
                "bank_account_id": bank.id,
                "holder": "Lucas Bernard",
                "signature_date": "2026-11-27",
            },
            "Lucas Bernard",
            signature,
            "192.0.2.10",
        )
        other = make_auto_entrepreneur(cls.env, "liberal_bnc_liberatoire")
        cls.unsigned = cls.env["urssaf.mandate"].create({"partner_id": other.id, "signature_date": "2026-11-01"})
        cls.unsigned_bank = cls.env["res.partner.bank"].create({"partner_id": other.id, "acc_number": IBAN_CRAFTSMAN})
        cls.signed_values = cls._signed_values()

    @classmethod
    def _signed_values(cls):
        cls.env.invalidate_all()
        fields = ("signed_by", "signed_on", "signed_ip", "signature", "document", "document_name", "partner_id")
        return (
            cls.signed.read(fields + ("signature_date",))[0],
            cls.signed_sepa.read(fields + ("holder", "bank_account_id", "signature_date"))[0],
        )

    def after_attempts(self):
        self.assertEqual(self._signed_values(), self.signed_values)
        self.assertEqual(self.signed.state, "active")
        self.assertEqual(self.signed_sepa.state, "draft")


# --- in a real browser, in French ---------------------------------------------------


@tagged("post_install", "-at_install")
class TestPortalMandateTour(PortalMandateMixin, UrssafSandboxMixin, HttpCase):
    """The auto-entrepreneur signs both mandates in the portal (tour
    ``portal_mandate_tour``), then the declarant registers them."""

    # The bundles the portal's pages load in a tour.
    ASSET_BUNDLES = (
        "web.assets_frontend",
        "web.assets_frontend_minimal",
        "web.assets_frontend_lazy",
        "web.assets_tests",
        "web.__assets_tests_call__",
    )

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_portal()
        # The auto-entrepreneur works in French, with Odoo's French terms loaded.
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.env["ir.module.module"]._load_module_terms(["web", "portal", ADDON], ["fr_FR"])
        cls.portal_user.write({"lang": "fr_FR", "tz": "Europe/Paris"})
        # Compiled once here, not by the tour's first page while it holds the
        # test's cursor (see tests/test_tours.py).
        for name in cls.ASSET_BUNDLES:
            bundle = cls.env["ir.qweb"]._get_asset_bundle(name)
            if bundle.javascripts:
                bundle.js()
            if bundle.stylesheets:
                bundle.css()

    def test_portal_mandate_tour(self):
        reset_embedded_sandbox(self.env.cr.dbname)
        self.start_tour(BASE, f"{ADDON}.portal_mandate_tour", login=self.portal_user.login, timeout=180)
        self.env.invalidate_all()
        mandate = self.env["urssaf.mandate"].search([("partner_id", "=", self.craftsman.id)])
        sepa = self.env["urssaf.sepa.mandate"].search([("partner_id", "=", self.craftsman.id)])
        self.assertEqual((len(mandate), len(sepa)), (1, 1))
        self.assertEqual((mandate.state, sepa.state), ("draft", "draft"))
        self.assertEqual((mandate.signed_by, sepa.signed_by), ("Lucas Bernard", "Lucas Bernard"))
        self.assertTrue(mandate.signature and sepa.signature)
        self.assertEqual(sepa.iban_masked, "****2606")
        self.assertEqual(sepa.bank_account_id.sanitized_acc_number, _compact(IBAN_CRAFTSMAN))
        # Both wait for the declarant, who registers them.
        self.assertEqual(self._todo_users(mandate), self.accountant)
        self.assertEqual(self._todo_users(sepa), self.accountant)
        mandate.with_user(self.accountant).action_register()
        sepa.with_user(self.accountant).action_register()
        self.assertEqual((mandate.state, sepa.state), ("active", "active"))
        self.assertTrue(mandate.urssaf_mandate_ref)
        self.assertTrue(sepa.rum)

    def _todo_users(self, records):
        domain = [("res_model", "=", records._name), ("res_id", "in", records.ids)]
        return self.env["mail.activity"].search(domain).user_id
