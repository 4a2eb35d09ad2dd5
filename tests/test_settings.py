# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re
from urllib.parse import parse_qs

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from ..models.res_company import EMBEDDED_TOKEN_CACHES
from ..urssaf_api.client import TOKEN_CACHE
from ..urssaf_api.sandbox import EMBEDDED_BASE_URL, Sandbox
from ..urssaf_api.storage import MemoryStorage
from ..urssaf_api.testing import TOKEN, FaultServer
from .common import UrssafTransactionCase


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
        self.remote = Sandbox(MemoryStorage())
        self.server = FaultServer(self.remote.handle)
        self.server.start()
        self.addCleanup(self.server.stop)

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
