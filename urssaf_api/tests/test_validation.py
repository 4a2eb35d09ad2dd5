"""Every bad value is refused, naming the contract's field, before any HTTP call."""

import math
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from stdnum.fr import nir as stdnum_nir

from ..client import TokenCache, UrssafClient
from ..exceptions import UrssafValidationError
from ..models import Identifier
from ..sandbox import EMBEDDED_BASE_URL, Sandbox, SandboxAdapter
from ..storage import MemoryStorage
from ..validation import (
    validate_amount,
    validate_iban,
    validate_nir,
    validate_period,
    validate_reference_tiers,
    validate_siret,
    validate_turnover,
)

NIR = "288047511102371"
NIR_CORSICA_2A = "175022A00401227"
NIR_CORSICA_2B = "180012B12345647"
SIRET = "81234567600017"
IBAN = "FR7630006000011234567890189"
BAD_NIR = "288047511102372"  # wrong key
BAD_IBAN = "FR7630006000011234567890188"  # wrong key
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))


def _field_of(call):
    with pytest.raises(UrssafValidationError) as caught:
        call()
    return caught.value.field


# --- NIR, SIRET, IBAN -------------------------------------------------------


@pytest.mark.parametrize(
    "value, compact",
    [
        (NIR, NIR),
        ("2 88 04 75 111 023 71", NIR),
        (NIR_CORSICA_2A, NIR_CORSICA_2A),
        ("1 80 01 2b 123 456 47", NIR_CORSICA_2B),
    ],
)
def test_nir_accepted_in_compact_form(value, compact):
    assert validate_nir(value) == compact


@pytest.mark.parametrize(
    "value",
    [BAD_NIR, "28804751110237", "388047511102371", "2881375111023", "", "   ", None, 288047511102371],
)
def test_nir_refused_without_echoing_it(value):
    with pytest.raises(UrssafValidationError) as caught:
        validate_nir(value)
    assert caught.value.field == "nir"
    assert str(value) not in str(caught.value) or not str(value).strip()


def test_nir_with_invalid_month_refused_even_with_right_key():
    # Month 13 does not exist: the contract's pattern refuses what stdnum accepts.
    base = "2881375111023"
    value = base + stdnum_nir.calc_check_digits(base + "00")
    assert _field_of(lambda: validate_nir(value)) == "nir"


def test_siret():
    assert validate_siret("812 345 676 00017") == SIRET
    for bad in ("81234567600018", "8123456760001", "ABCDEFGHIJKLMN", None):
        assert _field_of(lambda bad=bad: validate_siret(bad)) == "siret"


def test_iban_compacted_and_checked():
    assert validate_iban("fr76 3000 6000 0112 3456 7890 189") == IBAN
    for bad in (BAD_IBAN, "FR76", "", None, 7630006000):
        with pytest.raises(UrssafValidationError) as caught:
            validate_iban(bad)
        assert caught.value.field == "iban"
        assert BAD_IBAN not in str(caught.value)


# --- amounts, periods, categories, references ----------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (Decimal("12.5"), Decimal("12.50")),
        (Decimal("0"), Decimal("0.00")),
        (7, Decimal("7.00")),
        (1234.56, Decimal("1234.56")),
        ("99.99", Decimal("99.99")),
    ],
)
def test_amount_accepted_with_two_decimals(value, expected):
    amount = validate_amount(value, "montant")
    assert amount == expected
    assert amount.as_tuple().exponent == -2


@pytest.mark.parametrize(
    "value",
    [
        0.1 + 0.2,  # 0.30000000000000004: float imprecision is not rounded away
        Decimal("1.005"),
        Decimal("NaN"),
        Decimal("Infinity"),
        math.inf,
        math.nan,
        True,
        Decimal("-0.01"),
        -5,
        None,
        "douze",
        Decimal("1E+12"),
    ],
)
def test_amount_refused(value):
    assert _field_of(lambda: validate_amount(value, "montant")) == "montant"


def test_payment_amount_must_be_positive():
    assert _field_of(lambda: validate_amount(Decimal("0"), "montant", minimum=Decimal("0.01")))


def test_period():
    assert validate_period(*OCTOBER) == OCTOBER
    assert _field_of(lambda: validate_period(OCTOBER[1], OCTOBER[0])) == "periode.dateFin"
    assert _field_of(lambda: validate_period("2026-10-01", OCTOBER[1])) == "periode.dateDebut"
    noon = datetime(2026, 10, 31, 12, tzinfo=timezone.utc)
    assert _field_of(lambda: validate_period(OCTOBER[0], noon)) == "periode.dateFin"


def test_turnover_in_contract_order():
    lines = validate_turnover({"PRESTATION_SERVICES_BIC": Decimal("10"), "VENTE_MARCHANDISES": 5})
    assert lines == (
        ("VENTE_MARCHANDISES", Decimal("5.00")),
        ("PRESTATION_SERVICES_BIC", Decimal("10.00")),
    )
    assert validate_turnover({}) == ()


def test_turnover_refusals_name_the_line():
    assert (
        _field_of(lambda: validate_turnover({"PRESTATION_SERVICES_BIC": Decimal("1.001")}))
        == "chiffresAffaires[PRESTATION_SERVICES_BIC].montant"
    )
    assert _field_of(lambda: validate_turnover({"SERVICES": Decimal("1")})) == ("chiffresAffaires.categorie")
    assert _field_of(lambda: validate_turnover([("VENTE_MARCHANDISES", 1)])) == "chiffresAffaires"


def test_reference_tiers_length():
    assert validate_reference_tiers("R" * 64) == "R" * 64
    for bad in ("", "   ", "R" * 65, None, 42, "a\nb"):
        assert _field_of(lambda bad=bad: validate_reference_tiers(bad)) == "referenceTiers"


def test_identifier_needs_exactly_one():
    assert Identifier(nir="2 88 04 75 111 023 71").nir == NIR
    assert Identifier(siret=SIRET).as_dict() == {"siret": SIRET}
    assert _field_of(Identifier) == "identifiant"
    assert _field_of(lambda: Identifier(nir=NIR, siret=SIRET)) == "identifiant"
    assert _field_of(lambda: Identifier(nir=BAD_NIR)) == "nir"


# --- the client refuses before sending anything -------------------------------


class CountingAdapter(SandboxAdapter):
    """The embedded sandbox, counting the requests that reach it."""

    def __init__(self, sandbox):
        super().__init__(sandbox)
        self.sent = 0

    def send(self, request, *args, **kwargs):
        self.sent += 1
        return super().send(request, *args, **kwargs)


@pytest.fixture(name="adapter")
def adapter_fixture():
    return CountingAdapter(Sandbox(MemoryStorage()))


@pytest.fixture(name="client")
def client_fixture(adapter):
    return UrssafClient(EMBEDDED_BASE_URL, "demo-tiers", "demo-secret", adapter=adapter, token_cache=TokenCache())


AE = Identifier(nir=NIR)
GOOD = {"VENTE_MARCHANDISES": Decimal("100.00")}

BAD_CALLS = {
    "identifier as text": ("identifiant", lambda c: c.get_account(NIR)),
    "mandate signature date": ("dateSignature", lambda c: c.register_mandate(AE, "2026-01-01")),
    "mandate last name": ("nom", lambda c: c.register_mandate(AE, date(2026, 1, 1), last_name="")),
    "mandate first names": (
        "prenoms",
        lambda c: c.register_mandate(AE, date(2026, 1, 1), first_names="x" * 71),
    ),
    "mandate birth date": (
        "dateNaissance",
        lambda c: c.register_mandate(AE, date(2026, 1, 1), birth_date=datetime(1988, 4, 12)),
    ),
    "mandate id": ("idMandat", lambda c: c.end_mandate("")),
    "estimate period": ("periode.dateFin", lambda c: c.estimate(AE, OCTOBER[1], OCTOBER[0], GOOD)),
    "estimate amount": (
        "chiffresAffaires[VENTE_MARCHANDISES].montant",
        lambda c: c.estimate(AE, *OCTOBER, {"VENTE_MARCHANDISES": 0.1 + 0.2}),
    ),
    "declare category": (
        "chiffresAffaires.categorie",
        lambda c: c.declare(AE, *OCTOBER, {"BNC": Decimal("1")}, "REF-1"),
    ),
    "declare negative amount": (
        "chiffresAffaires[PRESTATION_SERVICES_BNC].montant",
        lambda c: c.declare(AE, *OCTOBER, {"PRESTATION_SERVICES_BNC": Decimal("-1")}, "REF-1"),
    ),
    "declare NaN": (
        "chiffresAffaires[VENTE_MARCHANDISES].montant",
        lambda c: c.declare(AE, *OCTOBER, {"VENTE_MARCHANDISES": Decimal("NaN")}, "REF-1"),
    ),
    "declare bool": (
        "chiffresAffaires[VENTE_MARCHANDISES].montant",
        lambda c: c.declare(AE, *OCTOBER, {"VENTE_MARCHANDISES": True}, "REF-1"),
    ),
    "declare start": ("periode.dateDebut", lambda c: c.declare(AE, None, OCTOBER[1], GOOD, "R")),
    "declare reference": ("referenceTiers", lambda c: c.declare(AE, *OCTOBER, GOOD, "R" * 65)),
    "find period start": (
        "dateDebut",
        lambda c: c.find_declarations(AE, period_start="2026-10-01"),
    ),
    "find reference": ("referenceTiers", lambda c: c.find_declaration_by_reference(AE, "")),
    "find by number": ("numeroDeclaration", lambda c: c.find_declaration_by_number(AE, None)),
    "pay number": ("numeroDeclaration", lambda c: c.pay("", Decimal("10"), IBAN)),
    "pay zero": ("montant", lambda c: c.pay("D1", Decimal("0"), IBAN)),
    "pay three decimals": ("montant", lambda c: c.pay("D1", Decimal("10.001"), IBAN)),
    "pay iban": ("iban", lambda c: c.pay("D1", Decimal("10"), BAD_IBAN)),
    "pay debit date": (
        "datePrelevement",
        lambda c: c.pay("D1", Decimal("10"), IBAN, debit_date="2026-12-01"),
    ),
    "sepa list identifier": ("identifiant", lambda c: c.list_sepa_mandates({"nir": NIR})),
    "sepa iban": (
        "iban",
        lambda c: c.register_sepa_mandate(AE, BAD_IBAN, "Camille Martin", date(2026, 1, 1)),
    ),
    "sepa holder": ("titulaire", lambda c: c.register_sepa_mandate(AE, IBAN, " ", date(2026, 1, 1))),
    "sepa date": ("dateSignature", lambda c: c.register_sepa_mandate(AE, IBAN, "C M", None)),
    "sepa bic": (
        "bic",
        lambda c: c.register_sepa_mandate(AE, IBAN, "C M", date(2026, 1, 1), bic="NOTABIC"),
    ),
    "sepa rum": ("rum", lambda c: c.revoke_sepa_mandate(None)),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_client_refuses_before_any_request(client, adapter, case):
    field, call = BAD_CALLS[case]
    with pytest.raises(UrssafValidationError) as caught:
        call(client)
    assert caught.value.field == field
    assert BAD_IBAN not in str(caught.value) and BAD_NIR not in str(caught.value)
    assert adapter.sent == 0


def test_counting_adapter_does_count(client, adapter):
    # Guard for the test above: a valid call does reach the sandbox.
    client.get_account(AE)
    assert adapter.sent == 2  # token, then the account


@pytest.mark.parametrize(
    "base_url, client_id, secret, field",
    [
        ("http://api.urssaf.fr", "demo-tiers", "demo-secret", "base_url"),
        ("ftp://127.0.0.1", "demo-tiers", "demo-secret", "base_url"),
        ("", "demo-tiers", "demo-secret", "base_url"),
        ("https://api.urssaf.fr", "", "demo-secret", "client_id"),
        ("https://api.urssaf.fr", "demo-tiers", None, "client_secret"),
    ],
)
def test_client_configuration_checked(base_url, client_id, secret, field):
    assert _field_of(lambda: UrssafClient(base_url, client_id, secret)) == field
