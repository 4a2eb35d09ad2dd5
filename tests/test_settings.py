# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re
from datetime import date
from unittest.mock import patch
from urllib.parse import parse_qs

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.modules.neutralize import get_neutralization_queries, neutralize_database
from odoo.tests import new_test_user, tagged

from ..models.res_company import ALLOWED_HOSTS_PARAM, EMBEDDED_TOKEN_CACHES, URSSAF_SETTINGS_FIELDS
from ..urssaf_api.client import TOKEN_CACHE, UrssafClient
from ..urssaf_api.sandbox import EMBEDDED_BASE_URL
from ..urssaf_api.testing import TOKEN
from .common import UrssafTransactionCase, start_remote_urssaf

ADDON = "l10n_fr_urssaf_tierce_declaration"
# Every Urssaf setting of a company: for system administrators only.
SETTINGS_FIELDS = (*URSSAF_SETTINGS_FIELDS, "urssaf_client_secret")


@tagged("post_install", "-at_install")
class TestUrssafSettings(UrssafTransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Cabinet B"})
        cls.admin = new_test_user(
            cls.env,
            login="urssaf_admin",
            groups="base.group_system,account.group_account_manager,"
            "l10n_fr_urssaf_tierce_declaration.group_urssaf_declarant",
            company_ids=[(6, 0, (cls.company_a | cls.company_b).ids)],
        )
        cls.declarant = new_test_user(
            cls.env,
            login="urssaf_declarant",
            groups="account.group_account_manager,l10n_fr_urssaf_tierce_declaration.group_urssaf_declarant",
        )
        # "Access rights" administrator: manages users and companies, not the settings.
        cls.access_rights = new_test_user(
            cls.env,
            login="urssaf_access_rights",
            groups="base.group_erp_manager,account.group_account_manager,"
            "l10n_fr_urssaf_tierce_declaration.group_urssaf_declarant",
        )
        cls.internal = new_test_user(cls.env, login="urssaf_internal", groups="base.group_user")
        cls.portal = new_test_user(cls.env, login="urssaf_portal", groups="base.group_portal")

    def _save_settings(self, company, **values):
        settings = self.env["res.config.settings"].with_user(self.admin).with_company(company).create(values)
        settings.execute()
        return settings

    def _load_settings(self, company):
        return self.env["res.config.settings"].with_user(self.admin).with_company(company).create({})

    def test_defaults(self):
        settings = self._load_settings(self.company_b)
        self.assertEqual(settings.urssaf_environment, "embedded")
        self.assertEqual(settings.urssaf_scope, "tiersdecl.ae")
        self.assertEqual(settings.urssaf_api_base_path, "/tiersdecl/v1/ae")
        self.assertGreater(settings.urssaf_timeout, 0)
        self.assertFalse(settings.urssaf_client_secret_is_set)

    def test_settings_are_saved_and_loaded_per_company(self):
        self._save_settings(
            self.company_a,
            urssaf_environment="sandbox",
            urssaf_client_id="cabinet-a",
            urssaf_client_secret_input="s3cret-A",
            urssaf_base_url="http://127.0.0.1:8765",
            urssaf_scope="tiersdecl.ae.test",
            urssaf_api_base_path="/tiersdecl/v2/ae",
            urssaf_timeout=12.5,
            urssaf_connect_timeout=2,
        )
        self._save_settings(self.company_b, urssaf_environment="production", urssaf_client_id="cabinet-b")

        loaded_a = self._load_settings(self.company_a)
        self.assertEqual(
            (
                loaded_a.urssaf_environment,
                loaded_a.urssaf_client_id,
                loaded_a.urssaf_base_url,
                loaded_a.urssaf_scope,
                loaded_a.urssaf_api_base_path,
                loaded_a.urssaf_timeout,
                loaded_a.urssaf_connect_timeout,
            ),
            ("sandbox", "cabinet-a", "http://127.0.0.1:8765", "tiersdecl.ae.test", "/tiersdecl/v2/ae", 12.5, 2.0),
        )
        self.assertTrue(loaded_a.urssaf_client_secret_is_set)
        self.assertEqual(self.company_a.sudo().urssaf_client_secret, "s3cret-A")

        loaded_b = self._load_settings(self.company_b)
        self.assertEqual((loaded_b.urssaf_environment, loaded_b.urssaf_client_id), ("production", "cabinet-b"))
        self.assertFalse(loaded_b.urssaf_client_secret_is_set)
        self.assertEqual(self.company_a._urssaf_api_url(), "http://127.0.0.1:8765")
        self.assertEqual(self.company_b._urssaf_api_url(), "https://api.urssaf.fr")

    def test_secret_is_never_sent_back_and_empty_input_keeps_it(self):
        self._save_settings(self.company_a, urssaf_client_secret_input="first-secret")
        loaded = self._load_settings(self.company_a)
        self.assertFalse(loaded.urssaf_client_secret_input)
        web_values = loaded.web_read({"urssaf_client_secret_input": {}, "urssaf_client_secret_is_set": {}})[0]
        self.assertFalse(web_values["urssaf_client_secret_input"])
        self.assertTrue(web_values["urssaf_client_secret_is_set"])
        # Saving the page again without typing a secret keeps the saved one.
        self._save_settings(self.company_a, urssaf_timeout=20)
        self.assertEqual(self.company_a.sudo().urssaf_client_secret, "first-secret")

    def test_secret_unreadable_without_system_group(self):
        self.company_a.sudo().urssaf_client_secret = "top-secret"
        company = self.company_a.with_user(self.declarant)
        with self.assertRaises(AccessError):
            company.read(["urssaf_client_secret"])
        with self.assertRaises(AccessError):
            company.web_read({"urssaf_client_secret": {}})
        with self.assertRaises(AccessError):
            company.search_read([("id", "=", company.id)], ["urssaf_client_secret"])
        # Reading the company without naming the field does not leak it either.
        values = company.read()[0]
        self.assertNotIn("urssaf_client_secret", values)
        self.assertNotIn("top-secret", str(values))
        # The administrator reads it through the ORM (never through the settings page).
        self.assertEqual(self.company_a.with_user(self.admin).urssaf_client_secret, "top-secret")

    def test_settings_validation_names_the_field(self):
        company = self.company_b
        cases = [
            ({"urssaf_base_url": "http://api.example.com"}, "Urssaf base URL"),
            ({"urssaf_base_url": "ftp://127.0.0.1/x"}, "Urssaf base URL"),
            ({"urssaf_base_url": "not a url"}, "Urssaf base URL"),
            ({"urssaf_environment": "sandbox", "urssaf_client_id": False}, "Urssaf client ID"),
            ({"urssaf_environment": "production", "urssaf_client_id": "  "}, "Urssaf client ID"),
            ({"urssaf_timeout": 0}, "Urssaf time-out"),
            ({"urssaf_timeout": -3}, "Urssaf time-out"),
            ({"urssaf_connect_timeout": 0}, "Urssaf connection time-out"),
            ({"urssaf_api_base_path": "tiersdecl/v1/ae"}, "Urssaf API base path"),
            ({"urssaf_parallel_calls": 0}, "Urssaf calls in parallel"),
            ({"urssaf_parallel_calls": 65}, "Urssaf calls in parallel"),
        ]
        before = company.read(list(company._fields.keys() & {f for vals, _l in cases for f in vals}))[0]
        for values, field_label in cases:
            with self.subTest(values=values), self.assertRaises(ValidationError) as caught:
                with self.env.cr.savepoint():
                    company.write(values)
            self.assertIn(field_label, str(caught.exception))
        self.assertEqual(company.read(list(before))[0], before)

    def test_loopback_http_and_https_urls_are_accepted(self):
        for url in (
            "https://api-edi.urssaf.fr",
            "http://127.0.0.1:8080",
            "http://127.3.4.5",
            "http://localhost:8069",
            "http://[::1]:9000",
        ):
            with self.subTest(url=url):
                self.company_b.write({"urssaf_environment": "sandbox", "urssaf_client_id": "x", "urssaf_base_url": url})
                self.assertEqual(self.company_b._urssaf_api_url(), url)

    def test_validation_message_is_translated(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms(["l10n_fr_urssaf_tierce_declaration"], ["fr_FR"])
        company = self.company_b.with_context(lang="fr_FR")
        with self.assertRaises(ValidationError) as caught, self.env.cr.savepoint():
            company.write({"urssaf_timeout": 0})
        self.assertIn("Délai", str(caught.exception))
        self.assertNotIn("must be greater", str(caught.exception))

    def test_connection_to_embedded_sandbox(self):
        message = self.company_b._urssaf_test_connection()
        self.assertIn("token", message)

    def test_embedded_sandbox_tokens_are_kept_per_database(self):
        """Every database's embedded sandbox grants its own tokens at the same
        address: they must not be offered to another database's sandbox."""
        embedded = self.company_b._urssaf_client()
        self.assertIs(embedded.token_cache, EMBEDDED_TOKEN_CACHES[self.env.cr.dbname])
        self.assertIsNot(embedded.token_cache, TOKEN_CACHE)
        self.company_b.write({"urssaf_environment": "sandbox", "urssaf_client_id": "cabinet-b"})
        with self.assertRaisesRegex(UserError, "client secret of Cabinet B is not set"):
            self.company_b._urssaf_client()
        self.company_b.sudo().urssaf_client_secret = "s3cret"
        self.assertIs(self.company_b._urssaf_client().token_cache, TOKEN_CACHE)

    def test_connection_failure_is_a_user_error_without_secret(self):
        self.company_b.sudo().write(
            {
                "urssaf_environment": "sandbox",
                "urssaf_client_id": "nobody",
                "urssaf_client_secret": "wrong-secret-value",
                # Nothing listens on port 9 (discard) of the loopback here.
                "urssaf_base_url": "http://127.0.0.1:9",
                "urssaf_connect_timeout": 0.5,
                "urssaf_timeout": 0.5,
            }
        )
        with self.assertRaises(UserError) as caught:
            self.company_b._urssaf_test_connection()
        self.assertIn("127.0.0.1:9", str(caught.exception))
        self.assertNotIn("wrong-secret-value", str(caught.exception))

    # --- who reads and writes the settings ------------------------------------

    def test_settings_are_for_system_administrators_only(self):
        for user in (self.declarant, self.access_rights, self.internal, self.portal):
            company = self.company_a.with_user(user)
            with self.subTest(user=user.login):
                for fname in SETTINGS_FIELDS:
                    with self.assertRaises(AccessError):
                        company.read([fname])
                self.assertFalse(set(SETTINGS_FIELDS) & set(company.fields_get()))
                with self.assertRaises(AccessError):
                    company.search([("urssaf_environment", "=", "production")])
        for user in (self.declarant, self.access_rights):
            # Reading the whole company leaves them out.
            self.assertFalse(set(SETTINGS_FIELDS) & set(self.company_a.with_user(user).read()[0]))
        company = self.company_a.with_user(self.access_rights)
        for values in (
            {"urssaf_environment": "production", "urssaf_client_id": "x"},
            {"urssaf_base_url": "https://evil.example.com"},
            {"urssaf_auto_declare": True},
            {"urssaf_responsible_user_id": self.access_rights.id},
        ):
            with self.subTest(values=values), self.assertRaises(AccessError):
                company.write(values)
        self.assertEqual(self.company_a.urssaf_environment, "embedded")
        # The system administrator reads and writes them.
        admin_company = self.company_a.with_user(self.admin)
        admin_company.write(
            {
                "urssaf_auto_declare": True,
                "urssaf_responsible_user_id": self.admin.id,
                "urssaf_base_url": "https://api-edi.urssaf.fr",
            }
        )
        self.assertEqual(admin_company.read(["urssaf_auto_declare"])[0]["urssaf_auto_declare"], True)

    def test_access_rights_administrator_still_creates_companies(self):
        """The settings are checked as the system when a company is created
        by a user who may not read them."""
        company = self.env["res.company"].with_user(self.access_rights).create({"name": "Cabinet C"})
        self.assertEqual(company.sudo().urssaf_environment, "embedded")

    def test_settings_page_shows_the_section_to_system_administrators_only(self):
        view = self.env.ref(f"{ADDON}.res_config_settings_view_form")
        self.assertIn('groups="base.group_system"', view.arch_db)
        arch = self.env["res.config.settings"].with_user(self.admin).get_views([(False, "form")])["views"]["form"]
        self.assertIn("urssaf_environment", arch["arch"])

    # --- allowed hosts of the base URL ----------------------------------------

    def _set_allowed_hosts(self, value):
        self.env["ir.config_parameter"].sudo().set_param(ALLOWED_HOSTS_PARAM, value)

    def _write_base_url(self, url):
        self.company_b.write({"urssaf_environment": "sandbox", "urssaf_client_id": "x", "urssaf_base_url": url})

    def test_base_url_hosts(self):
        self._set_allowed_hosts(" Proxy.Cabinet.example , other.example.net,")
        allowed = (
            "https://api-edi.urssaf.fr",
            "https://api.urssaf.fr/",
            "https://urssaf.fr",
            "https://API.URSSAF.FR:8443",
            "http://127.0.0.1:8080",
            "https://localhost:8443",
            "http://[::1]:9000",
            "https://proxy.cabinet.example",
            "https://other.example.net/urssaf",
        )
        for url in allowed:
            with self.subTest(url=url):
                self._write_base_url(url)
                self.assertIsNone(self.company_b._urssaf_base_url_error())
        refused = (
            "https://evil.example.com",
            "https://urssaf.fr.evil.example.com",
            "https://evilurssaf.fr",
            "https://api.urssaf.fr.",
            "https://evil.example.com@api.urssaf.fr",
            "https://api.urssaf.fr\\@evil.example.com",
            "https://api.urssaf.fr?next=https://evil.example.com",
            "https://cabinet.example",
            # Allowed hosts: https only.
            "http://proxy.cabinet.example",
            "http://api.urssaf.fr",
            "https://api.urssaf.fr:99999",
        )
        before = self.company_b.read(["urssaf_base_url"])[0]
        for url in refused:
            with self.subTest(url=url), self.assertRaises(ValidationError) as caught:
                with self.env.cr.savepoint():
                    self._write_base_url(url)
            self.assertIn("Urssaf base URL", str(caught.exception))
        self.assertEqual(self.company_b.read(["urssaf_base_url"])[0], before)

    def test_host_not_allowed_message_names_the_field_and_the_parameter(self):
        with self.assertRaises(ValidationError) as caught, self.env.cr.savepoint():
            self._write_base_url("https://evil.example.com")
        message = str(caught.exception)
        self.assertIn("Urssaf base URL", message)
        self.assertIn("evil.example.com", message)
        self.assertIn(ALLOWED_HOSTS_PARAM, message)

    def test_base_url_checked_again_before_every_call(self):
        self._set_allowed_hosts("proxy.cabinet.example")
        self._write_base_url("https://proxy.cabinet.example")
        self.company_b.sudo().urssaf_client_secret = "s3cret"
        self.assertEqual(self.company_b._urssaf_client().base_url, "https://proxy.cabinet.example")
        # The administrator removes the host: the saved URL is not used any more.
        self._set_allowed_hosts("")
        with patch.object(UrssafClient, "__init__", side_effect=AssertionError("no client")):
            with self.assertRaises(UserError) as caught:
                self.company_b._urssaf_client()
            self.assertIn("Urssaf base URL", str(caught.exception))
            self.assertIn("proxy.cabinet.example", str(caught.exception))
            # As any user reaching Urssaf through the company (a declarant).
            with self.assertRaises(UserError):
                self.company_b.with_user(self.declarant)._urssaf_client()
            with self.assertRaises(UserError):
                self._load_settings(self.company_b).action_urssaf_test_connection()
        # The embedded sandbox does not use it.
        self._set_allowed_hosts("proxy.cabinet.example")
        self.company_b.write({"urssaf_environment": "embedded", "urssaf_client_id": False})
        self._set_allowed_hosts("")
        self.assertTrue(self.company_b._urssaf_client())

    # --- neutralized copies ---------------------------------------------------

    def test_neutralize_switches_to_the_embedded_sandbox(self):
        """What ``odoo-bin neutralize`` does to a copy of a production database."""
        queries = "\n".join(get_neutralization_queries([ADDON]))
        self.assertIn("urssaf_environment = 'embedded'", queries)
        self.company_a.sudo().write(
            {
                "urssaf_environment": "production",
                "urssaf_client_id": "cabinet-a",
                "urssaf_client_secret": "production-secret",
                "urssaf_base_url": "https://api.urssaf.fr",
                "urssaf_auto_declare": True,
                "urssaf_responsible_user_id": self.admin.id,
            }
        )
        self.company_b.sudo().write(
            {"urssaf_environment": "sandbox", "urssaf_client_id": "cabinet-b", "urssaf_client_secret": "s"}
        )
        self.env.flush_all()
        neutralize_database(self.env.cr)
        self.env.invalidate_all()
        for company in (self.company_a, self.company_b):
            company = company.sudo()
            with self.subTest(company=company.name):
                self.assertEqual(company.urssaf_environment, "embedded")
                self.assertFalse(company.urssaf_client_secret)
                self.assertFalse(company.urssaf_client_id)
                self.assertFalse(company.urssaf_base_url)
                self.assertFalse(company.urssaf_auto_declare)
        # The copy works at once, with the embedded sandbox.
        self.assertIn("token", self.company_a._urssaf_test_connection())

    # --- changing the environment with declarations declared but unpaid ------

    def _declared(self, company, state="declared", month=1):
        partner = self.env["res.partner"].create({"name": f"Camille Martin {month}"})
        return (
            self.env["urssaf.declaration"]
            .sudo()
            .create(
                {
                    "partner_id": partner.id,
                    "company_id": company.id,
                    "period_start": date(2026, month, 1),
                    "period_end": date(2026, month, 28),
                    "periodicity": "monthly",
                    "state": state,
                    "urssaf_number": f"D{month:04d}",
                }
            )
        )

    def test_environment_change_with_declared_unpaid_declarations_is_refused(self):
        self._declared(self.company_b, state="paid", month=1)
        self._declared(self.company_b, state="draft", month=2)
        # Paid or not declared: nothing to confirm.
        self.company_b.with_user(self.admin).write({"urssaf_environment": "sandbox", "urssaf_client_id": "b"})
        self.company_b.with_user(self.admin).write({"urssaf_environment": "embedded"})
        declared = self._declared(self.company_b, month=3)
        for context in ({}, {"urssaf_environment_change_confirmed": True}):
            with self.subTest(context=context), self.assertRaises(UserError) as caught:
                self.company_b.with_user(self.admin).with_context(**context).write(
                    {"urssaf_environment": "sandbox", "urssaf_client_id": "b"}
                )
            self.assertIn(declared.display_name, str(caught.exception))
            self.assertIn("not paid", str(caught.exception))
        self.assertEqual(self.company_b.urssaf_environment, "embedded")
        # Another company, or a write keeping the environment, is not concerned.
        self.company_b.with_user(self.admin).write({"urssaf_environment": "embedded", "urssaf_timeout": 10})
        self.company_a.with_user(self.admin).write({"urssaf_environment": "sandbox", "urssaf_client_id": "a"})

    def test_settings_page_asks_to_confirm_the_environment_change(self):
        declared = self._declared(self.company_b)
        settings = self._load_settings(self.company_b)
        settings.write({"urssaf_environment": "sandbox", "urssaf_client_id": "cabinet-b", "urssaf_timeout": 9})
        action = settings.execute()
        self.assertEqual(action["res_model"], "urssaf.environment.change")
        self.assertEqual(self.company_b.urssaf_environment, "embedded")
        self.assertEqual(self.company_b.urssaf_timeout, 30)
        # Testing the connection does not save either: it asks first too.
        self.assertEqual(settings.action_urssaf_test_connection()["res_model"], "urssaf.environment.change")
        wizard = self.env["urssaf.environment.change"].with_user(self.admin).browse(action["res_id"])
        self.assertEqual(
            (wizard.company_id, wizard.environment, wizard.settings_id), (self.company_b, "sandbox", settings)
        )
        self.assertEqual((wizard.current_environment, wizard.declaration_count), ("embedded", 1))
        self.assertIn(declared.display_name, wizard.warning)
        wizard.action_confirm()
        # The whole page is saved.
        self.assertEqual(
            (self.company_b.urssaf_environment, self.company_b.urssaf_client_id, self.company_b.urssaf_timeout),
            ("sandbox", "cabinet-b", 9),
        )

    def test_environment_change_wizard_without_settings_page(self):
        self._declared(self.company_b)
        self.company_b.write({"urssaf_client_id": "cabinet-b"})
        wizard = (
            self.env["urssaf.environment.change"]
            .with_user(self.admin)
            .create({"company_id": self.company_b.id, "environment": "production"})
        )
        wizard.action_confirm()
        self.assertEqual(self.company_b.urssaf_environment, "production")
        # Not a system administrator: no wizard.
        with self.assertRaises(AccessError):
            self.env["urssaf.environment.change"].with_user(self.access_rights).create(
                {"company_id": self.company_b.id, "environment": "embedded"}
            )


@tagged("post_install", "-at_install")
class TestConnectionButton(UrssafTransactionCase):
    """The settings' Test connection button: it saves what the page holds,
    then asks Urssaf for a token with it, and says how it went."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({"name": "Cabinet B"})
        cls.admin = new_test_user(
            cls.env,
            login="urssaf_connection_admin",
            groups="base.group_system,account.group_account_manager,"
            "l10n_fr_urssaf_tierce_declaration.group_urssaf_declarant",
            company_id=cls.company_b.id,
            company_ids=[(6, 0, cls.company_b.ids)],
        )

    def setUp(self):
        super().setUp()
        start_remote_urssaf(self)

    def _click(self, **values):
        settings = self.env["res.config.settings"].with_user(self.admin).with_company(self.company_b).create(values)
        return settings.action_urssaf_test_connection()

    def test_button_saves_then_gets_a_token(self):
        result = self._click(
            urssaf_environment="sandbox",
            urssaf_client_id="demo-tiers",
            urssaf_client_secret_input="demo-secret",
            urssaf_base_url=self.server.base_url,
            urssaf_timeout=3.0,
        )
        self.assertEqual(
            result,
            {
                "type": "ir.actions.client",
                "tag": "display_notification",
                "params": {
                    "title": "Urssaf connection",
                    "message": f"Connected to Urssaf (Urssaf sandbox, {self.server.base_url}): "
                    "an access token was granted.",
                    "type": "success",
                    "sticky": False,
                },
            },
        )
        (token_request,) = self.server.requests_for(TOKEN)
        self.assertEqual(token_request.status, 200)
        form = parse_qs(token_request.body.decode())
        self.assertEqual(
            (form["grant_type"], form["client_id"], form["client_secret"]),
            (["client_credentials"], ["demo-tiers"], ["demo-secret"]),
            "the settings entered on the page",
        )
        # Saved before the test: the company holds what the page held.
        self.assertEqual(
            (self.company_b.urssaf_environment, self.company_b.urssaf_base_url, self.company_b.urssaf_timeout),
            ("sandbox", self.server.base_url, 3.0),
        )
        self.assertEqual(self.company_b.sudo().urssaf_client_secret, "demo-secret")

    def test_button_says_why_the_connection_failed(self):
        with self.assertRaises(UserError) as caught:
            self._click(
                urssaf_environment="sandbox",
                urssaf_client_id="demo-tiers",
                urssaf_client_secret_input="wrong-secret-value",
                urssaf_base_url=self.server.base_url,
            )
        message = str(caught.exception)
        self.assertRegex(
            message,
            rf"^The connection to Urssaf \(Urssaf sandbox, {re.escape(self.server.base_url)}\) failed: .+",
        )
        self.assertNotIn("wrong-secret-value", message)
        (token_request,) = self.server.requests_for(TOKEN)
        self.assertEqual(token_request.status, 401)

    def test_button_on_the_embedded_sandbox(self):
        result = self._click(urssaf_environment="embedded")
        self.assertEqual(
            result["params"]["message"],
            f"Connected to Urssaf (Embedded sandbox, {EMBEDDED_BASE_URL}): an access token was granted.",
        )
        self.assertEqual(self.server.requests, [], "the embedded sandbox answers in the process")
