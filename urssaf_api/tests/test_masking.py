"""Masking of NIRs, IBANs, secrets and tokens in values, texts and logs."""

import logging
from datetime import date

import pytest

from ..exceptions import ErrorDetail, UrssafApiError, UrssafTransportError
from ..masking import (
    RedactingFilter,
    mask_iban,
    mask_nir,
    mask_secret,
    mask_token,
    redact,
)
from ..models import Identifier, SepaMandate

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


def test_mask_secret_and_token():
    assert mask_secret("demo-secret") == "********"
    assert mask_secret("") == ""
    assert mask_token(TOKEN) == "****" + TOKEN[-4:]
    assert mask_token("short") == "****"
    assert TOKEN[:-4] not in mask_token(TOKEN)


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


def test_redacting_filter_rewrites_records():
    record = logging.LogRecord(
        "urllib3.connectionpool",
        logging.DEBUG,
        __file__,
        1,
        '"%s %s" %s',
        ("GET", f"/comptes?nir={NIR}", 200),
        None,
    )
    assert RedactingFilter().filter(record) is True
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
    transport = UrssafTransportError(f"échec sur /comptes?nir={NIR}")
    assert NIR not in str(transport)


def test_values_repr_masks_nir_and_iban():
    assert NIR not in repr(Identifier(nir=NIR))
    assert "2 88 ** ** *** *** 71" in repr(Identifier(nir=NIR))
    assert "81234567600017" in repr(Identifier(siret="81234567600017"))
    mandate = SepaMandate(rum="R1", iban=IBAN, status="ACTIF", signature_date=date(2026, 1, 1))
    assert IBAN not in repr(mandate)
    assert "****0189" in repr(mandate)
