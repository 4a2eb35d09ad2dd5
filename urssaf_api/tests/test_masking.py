"""Masking of NIRs, IBANs, secrets and tokens in values, texts and logs."""

import json
import logging
import string
from datetime import date
from urllib.parse import quote, quote_plus

import pytest

from ..client import TokenCache, UrssafClient
from ..exceptions import ErrorDetail, UrssafApiError, UrssafAuthError, UrssafNotFoundError, UrssafTransportError
from ..masking import (
    SensitiveValues,
    mask_iban,
    mask_nir,
    redact,
    register_sensitive,
)
from ..models import Identifier, SepaMandate
from ..sandbox import Sandbox
from ..seed import seed_account
from ..storage import MemoryStorage
from ..testing import GET_ACCOUNT, FaultServer

NIR = "288047511102371"
NIR_CORSICA = "175022A00401227"
IBAN = "FR7630006000011234567890189"
IBAN_PRINTED = "FR76 3000 6000 0112 3456 7890 189"
TOKEN = "Zk3b9Qm2xT7pL0aV5sR8nW1yC4hJ6dE2"


def test_mask_nir_keeps_sex_year_and_key_only():
    assert mask_nir(NIR) == "2 88 ** ** *** *** 71"
    assert mask_nir("2 88 04 75 111 023 71") == "2 88 ** ** *** *** 71"
    assert mask_nir(NIR_CORSICA) == "1 75 ** ** *** *** 27"


@pytest.mark.parametrize("value", ["", None, "12345", NIR + "9"])
def test_mask_nir_hides_anything_else_whole(value):
    assert mask_nir(value) == "***"


def test_mask_iban_keeps_last_four():
    assert mask_iban(IBAN) == "****0189"
    assert mask_iban(IBAN_PRINTED) == "****0189"
    assert mask_iban("FR76") == "****"


@pytest.mark.parametrize(
    "text, secret",
    [
        (f"GET /comptes?nir={NIR}&x=1", NIR),
        ("NIR 2 88 04 75 111 023 71 inconnu", "75 111 023"),
        (f"né en Corse : {NIR_CORSICA}.", NIR_CORSICA),
        (f"iban={IBAN}", IBAN),
        (f"IBAN {IBAN_PRINTED} refusé", "3000 6000 0112 3456"),
        (f"IBAN {IBAN.lower()}", IBAN.lower()),
        (f"Authorization: Bearer {TOKEN}", TOKEN),
        ("grant_type=client_credentials&client_id=demo-tiers&client_secret=demo-secret", "demo-secret"),
        (f'{{"access_token": "{TOKEN}", "expires_in": 3600}}', TOKEN),
        ("{'access_token': 'abc', 'token_type': 'Bearer'}", "'abc'"),
    ],
)
def test_redact_masks_regulated_values(text, secret):
    cleaned = redact(text)
    assert secret not in cleaned
    assert "*" in cleaned


def test_redact_keeps_what_is_not_sensitive():
    text = (
        "Déclaration D20260000001, SIRET 81234567600017, montant 1234.56, "
        "x-correlationid 3f1c2a9e-5b7d-4e0f-9a1b-2c3d4e5f6a7b, RUM URSSAF-AE-00000001"
    )
    assert redact(text) == text
    assert redact(None) is None


def test_redact_masks_nir_in_recognisable_form():
    assert redact(f"nir={NIR}") == "nir=2 88 ** ** *** *** 71"


def test_records_of_the_client_libraries_are_redacted_as_created():
    """The client installs the redaction on import: a record of urllib3
    (which logs request URLs at DEBUG) comes out of the factory masked."""
    record = logging.getLogRecordFactory()(
        "urllib3.connectionpool",
        logging.DEBUG,
        __file__,
        1,
        '"%s %s" %s',
        ("GET", f"/comptes?nir={NIR}", 200),
        None,
    )
    message = record.getMessage()
    assert NIR not in message
    assert message.startswith('"GET /comptes?nir=2 88 ** ** *** *** 71"')


def test_errors_never_show_values_in_clear():
    error = UrssafApiError(
        404,
        "ER_API_COMPTE_INCONNU",
        f"Compte {NIR} inconnu",
        f"IBAN {IBAN}",
        "cid-1",
        [ErrorDetail("ER_API_COMPTE_INCONNU", f"Compte {NIR} inconnu", f"IBAN {IBAN}")],
        operation="get_account",
    )
    [detail] = error.errors
    for text in (str(error), error.urssaf_message, error.description, detail.message, detail.description):
        assert NIR not in text and IBAN not in text
    assert "cid-1" in str(error)
    transport = UrssafTransportError("invalid_answer", field=f"identifiant.nir={NIR}")
    assert NIR not in str(transport)


def test_values_repr_masks_nir_and_iban():
    assert NIR not in repr(Identifier(nir=NIR))
    assert "2 88 ** ** *** *** 71" in repr(Identifier(nir=NIR))
    assert "81234567600017" in repr(Identifier(siret="81234567600017"))
    mandate = SepaMandate(rum="R1", iban=IBAN, status="ACTIF", signature_date=date(2026, 1, 1))
    assert IBAN not in repr(mandate)
    assert "****0189" in repr(mandate)


# --- known secrets and tokens, whatever characters they hold ----------------------

ROUND_TRIP_AE = Identifier(nir=seed_account("monthly_trader")["nir"])
UNKNOWN_AE = Identifier(nir="180017512345660")  # valid NIR, no account
# Every ASCII punctuation character, a space and a non-ASCII letter: each one
# ends a ``client_secret=...`` pattern early, or changes once URL-encoded,
# JSON-escaped or printed by repr().
AWKWARD_CHARACTERS = list(string.punctuation) + [" ", "é"]


def _forms(value):
    """The shapes a value takes in the texts the libraries log."""
    return {
        "raw": value,
        "form-encoded": quote_plus(value, safe=""),
        "url-encoded": quote(value, safe=""),
        "json": json.dumps(value)[1:-1],
        "json-utf8": json.dumps(value, ensure_ascii=False)[1:-1],
        "repr": repr(value)[1:-1],
    }


def _leaks(text, values):
    return [(value, shape) for value in values for shape, form in _forms(value).items() if form in text]


@pytest.fixture(name="round_trip_sandbox")
def round_trip_sandbox_fixture():
    return Sandbox(MemoryStorage())


@pytest.mark.parametrize("character", AWKWARD_CHARACTERS, ids=lambda c: f"{ord(c):#04x}")
def test_known_secret_and_token_never_logged_whatever_they_hold(round_trip_sandbox, caplog, character):
    secret = f"{character}Zq9{character}Wv7-42{character}"
    round_trip_sandbox.add_client("awkward-tiers", secret)
    errors = []
    with FaultServer(round_trip_sandbox.handle) as server, caplog.at_level(logging.DEBUG):
        client = UrssafClient(server.base_url, "awkward-tiers", secret, token_cache=TokenCache())
        client.fetch_token()
        client.get_account(ROUND_TRIP_AE)
        with pytest.raises(UrssafNotFoundError) as caught:
            client.get_account(UNKNOWN_AE)
        errors.append(caught.value)
        wrong = UrssafClient(server.base_url, "awkward-tiers", secret + character + "x", token_cache=TokenCache())
        with pytest.raises(UrssafAuthError) as caught:
            wrong.fetch_token()
        errors.append(caught.value)
        [token] = {request.headers["Authorization"].split()[1] for request in server.requests_for(GET_ACCOUNT)}
    logged = "\n".join(
        [record.getMessage() for record in caplog.records] + [caplog.text] + [str(error) for error in errors]
    )
    # The libraries did log the token request's body and answer: what is
    # checked below was there to leak.
    assert "client_secret=" in logged and "access_token" in logged
    assert _leaks(logged, [secret, secret + character + "x", token]) == []
    assert "Zq9" not in logged and "Wv7" not in logged  # not even a piece of it


def test_registry_keeps_secrets_and_forgets_the_oldest_tokens():
    registry = SensitiveValues(max_transient=2)
    registry.register("client&secret")
    for token in ("token-one", "token-two", "token-three"):
        registry.register(token, transient=True)
    text = registry.redact("client&secret token-one token-two token-three")
    assert text == "******** token-one ******** ********"


def test_redact_masks_registered_values_before_patterns():
    register_sensitive("s3cr&t value")
    # The pattern alone would stop at "&" and leave "t value" in clear.
    assert redact("client_secret=s3cr%26t+value&scope=x") == "client_secret=****&scope=x"
    assert "t value" not in redact("data {'client_secret': 's3cr&t value'}")


@pytest.mark.parametrize(
    "logger_name",
    ["oauthlib.oauth2.rfc6749.a_future_module", "urllib3.util.retry", "requests_oauthlib", "urssaf_api.anything"],
)
def test_records_of_every_sub_logger_are_redacted(caplog, logger_name):
    # A filter on "oauthlib" would not see the records of its sub-loggers.
    logger_name = logger_name.replace("urssaf_api", UrssafClient.__module__.rpartition(".")[0])
    register_sensitive("sub&logger secret")
    with caplog.at_level(logging.DEBUG):
        logging.getLogger(logger_name).debug("data %s", {"client_secret": "sub&logger secret"})
        try:
            raise RuntimeError("refused: client_secret=sub&logger secret")
        except RuntimeError:
            logging.getLogger(logger_name).exception("failed")
    assert caplog.records and "sub&logger" not in caplog.text
