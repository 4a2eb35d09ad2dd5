# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Every error the client can raise, worded in the user's language.

The client carries data; ``exceptions.py`` words it through Odoo's
translations. Each code, transport failure, refused value and operation is
rendered in English and in French: the English text holds no French, the
French one no English sentence left untranslated.
"""

import re
from decimal import Decimal

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from .. import exceptions as messages
from ..urssaf_api.exceptions import (
    KNOWN_CODES,
    OPERATIONS,
    TRANSPORT_KINDS,
    VALIDATION_REASONS,
    UrssafOutcomeUnknown,
    UrssafTransportError,
    UrssafValidationError,
    api_error_class,
)
from ..urssaf_api.masking import register_sensitive
from .common import UrssafSandboxMixin

# Words that only French sentences hold (the addon's own domain terms, such
# as "tiers-déclarant", are allowed in both).
FRENCH = re.compile(
    r"\b(le|la|les|des|du|une|pour|est|sont|pas|avec|sur|dans|vérifiez|réessayez|déclaration|paiement|"
    r"mandat|jeton|compte)\b|[àâçèéêëîïôûùœ]",
    re.IGNORECASE,
)
ALLOWED_IN_ENGLISH = ("tiers-déclarant", "Urssaf")
# English sentences that would show through an untranslated French text.
ENGLISH = re.compile(r"\b(the|was|were|check|could|not|with|before|again|answer|answered|refused)\b")

PARAMS = {
    "below_minimum": {"minimum": Decimal("0")},
    "too_large": {"maximum": Decimal("1000000000")},
    "too_long": {"max_length": 70},
    "unknown_category": {"allowed": ("VENTE_MARCHANDISES", "PRESTATION_SERVICES_BIC")},
}


def _every_error():
    """One error of each kind the client raises, without Urssaf's own words
    (they are data, in Urssaf's language, shown as received)."""
    for code in KNOWN_CODES:
        status = 401 if code.islower() else 409 if code.endswith("EXISTANTE") or code.endswith("EXISTANT") else 422
        yield f"code {code}", api_error_class(status, code)(status, code, correlation_id="corr-1", operation="declare")
    for status in (400, 401, 403, 404, 409, 422, 429, 500, 503):
        yield f"status {status}", api_error_class(status)(status, None, operation="estimate")
    for kind in TRANSPORT_KINDS:
        yield f"transport {kind}", UrssafTransportError(kind, status=502, operation="pay")
    for reason in VALIDATION_REASONS:
        yield f"reason {reason}", UrssafValidationError("montant", reason, PARAMS.get(reason), operation="declare")
    for operation in OPERATIONS:
        cause = UrssafTransportError("read_timeout", operation=operation)
        yield (
            f"outcome unknown {operation}",
            UrssafOutcomeUnknown(
                operation, cause=cause, reference_tiers="ODOO-1", declaration_number="D-1", amount=Decimal("12.50")
            ),
        )


def _sentences(text):
    return [part for part in re.split(r"(?<=[.:;])\s+", text) if part]


@tagged("post_install", "-at_install")
class TestErrorMessages(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.english = cls.env(context={"lang": "en_US"})
        cls.french = cls.env(context={"lang": "fr_FR"})

    def test_every_code_kind_reason_and_operation_has_its_text(self):
        mappings = {
            "code": (messages.CODE_MESSAGES, KNOWN_CODES),
            "kind": (messages.TRANSPORT_MESSAGES, TRANSPORT_KINDS),
            "reason": (messages.VALIDATION_MESSAGES, VALIDATION_REASONS),
            "operation": (messages.OPERATION_LABELS, OPERATIONS),
        }
        for what, (mapping, closed_set) in mappings.items():
            with self.subTest(what):
                self.assertEqual(set(mapping), set(closed_set))

    def test_english_has_no_french_and_french_no_english(self):
        errors = list(_every_error())
        self.assertGreater(len(errors), 80)
        for name, error in errors:
            with self.subTest(name):
                english = messages.urssaf_error_text(self.english, error)
                french = messages.urssaf_error_text(self.french, error)
                stripped = english
                for allowed in ALLOWED_IN_ENGLISH:
                    stripped = stripped.replace(allowed, "")
                self.assertIsNone(FRENCH.search(stripped), f"French in the English text: {english}")
                self.assertNotEqual(english, french)
                for sentence in _sentences(french):
                    self.assertIsNone(ENGLISH.search(sentence), f"English left in the French text: {french}")

    def test_a_real_answer_keeps_urssafs_words_and_the_correlation_id(self):
        error = api_error_class(422, "ER_API_PERIODE_NON_ECHUE")(
            422,
            "ER_API_PERIODE_NON_ECHUE",
            "La période n'est pas échue",
            correlation_id="c0ffee",
            operation="declare",
        )
        english = messages.urssaf_error_text(self.english, error)
        self.assertEqual(
            english,
            "Urssaf refused the declaration (ER_API_PERIODE_NON_ECHUE). Urssaf said: “La période n'est pas échue” "
            "Wait until the period has ended to declare it. Urssaf correlation id: c0ffee.",
        )
        french = messages.urssaf_error_text(self.french, error)
        self.assertIn("“La période n'est pas échue”", french)
        self.assertIn("c0ffee", french)
        self.assertIn("ER_API_PERIODE_NON_ECHUE", french)

    def test_no_secret_reaches_the_text(self):
        error = api_error_class(401, "invalid_client")(
            401, "invalid_client", "bad secret s3cr3t-V@lue for client", operation="fetch_token"
        )
        register_sensitive("s3cr3t-V@lue")
        for env in (self.english, self.french):
            self.assertNotIn("s3cr3t-V@lue", messages.urssaf_error_text(env, error))


@tagged("post_install", "-at_install")
class TestConnectionMessage(UrssafSandboxMixin, TransactionCase):
    """The settings' *Test connection* through the same renderer (its
    failing server is on the loopback, which the sandbox mixin lets
    through the test's HTTP guard)."""

    def test_test_connection_failure_is_worded_by_the_renderer(self):
        """The settings' *Test connection*: in French, the failure says why
        in French (the renderer's text), not the client's English data."""
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms(["l10n_fr_urssaf_tierce_declaration"], ["fr_FR"])
        english, french = self.env(context={"lang": "en_US"}), self.env(context={"lang": "fr_FR"})
        company = self.env["res.company"].create({"name": "Urssaf connection test"})
        company.sudo().write(
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
        texts = {}
        for lang, env in (("en_US", english), ("fr_FR", french)):
            with self.subTest(lang=lang), self.assertRaises(UserError) as caught:
                company.with_env(env)._urssaf_test_connection()
            error = caught.exception.__cause__
            self.assertIsInstance(error, UrssafTransportError)
            texts[lang] = str(caught.exception)
            self.assertIn(messages.urssaf_error_text(env, error), texts[lang])
            self.assertNotIn("wrong-secret-value", texts[lang])
        self.assertTrue(texts["fr_FR"].startswith("La connexion à l'Urssaf"), texts["fr_FR"])
        self.assertNotIn(str(caught.exception.__cause__), texts["fr_FR"], "the client's English text")
        for sentence in _sentences(texts["fr_FR"].split(" : ", 1)[1]):
            self.assertIsNone(ENGLISH.search(sentence), f"English left in the French text: {texts['fr_FR']}")
