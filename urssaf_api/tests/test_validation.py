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
    CATEGORIES,
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


def _refusal(call):
    """``(field, reason)`` of the UrssafValidationError *call* raises."""
    with pytest.raises(UrssafValidationError) as caught:
        call()
    return caught.value.field, caught.value.reason


def _field_of(call):
    return _refusal(call)[0]


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
    "value, reason",
    [
        (BAD_NIR, "checksum"),
        ("28804751110237", "length"),
        ("388047511102371", "checksum"),
        ("388047511102321", "format"),  # sex 3, right key: stdnum accepts it, the contract does not
        ("2881375111023", "length"),
        ("", "required"),
        ("   ", "required"),
        (None, "required"),
        (288047511102371, "not_text"),
    ],
)
def test_nir_refused_without_echoing_it(value, reason):
    with pytest.raises(UrssafValidationError) as caught:
        validate_nir(value)
    assert (caught.value.field, caught.value.reason, caught.value.params) == ("nir", reason, {})
    assert str(value) not in str(caught.value) or not str(value).strip()


def test_nir_with_invalid_month_refused_even_with_right_key():
    # Month 13 does not exist: the contract's pattern refuses what stdnum accepts.
    base = "2881375111023"
    value = base + stdnum_nir.calc_check_digits(base + "00")
    assert _refusal(lambda: validate_nir(value)) == ("nir", "format")


def test_siret():
    assert validate_siret("812 345 676 00017") == SIRET
    refusals = {"81234567600018": "checksum", "8123456760001": "length", "ABCDEFGHIJKLMN": "format", None: "required"}
    for bad, reason in refusals.items():
        assert _refusal(lambda bad=bad: validate_siret(bad)) == ("siret", reason)


def test_iban_compacted_and_checked():
    assert validate_iban("fr76 3000 6000 0112 3456 7890 189") == IBAN
    refusals = {BAD_IBAN: "checksum", "FR76": "format", "": "required", None: "required", 7630006000: "not_text"}
    for bad, reason in refusals.items():
        with pytest.raises(UrssafValidationError) as caught:
            validate_iban(bad)
        assert (caught.value.field, caught.value.reason, caught.value.params) == ("iban", reason, {})
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
    "value, reason, params",
    [
        (0.1 + 0.2, "too_many_decimals", {}),  # 0.30000000000000004: float imprecision is not rounded away
        (Decimal("1.005"), "too_many_decimals", {}),
        (Decimal("NaN"), "not_finite", {}),
        (Decimal("Infinity"), "not_finite", {}),
        (math.inf, "not_finite", {}),
        (math.nan, "not_finite", {}),
        (True, "not_a_number", {}),
        (Decimal("-0.01"), "below_minimum", {"minimum": Decimal("0")}),
        (-5, "below_minimum", {"minimum": Decimal("0")}),
        (None, "required", {}),
        ("douze", "not_a_number", {}),
        (Decimal("1E+12"), "too_large", {"maximum": Decimal("1000000000")}),
    ],
)
def test_amount_refused(value, reason, params):
    with pytest.raises(UrssafValidationError) as caught:
        validate_amount(value, "montant")
    assert (caught.value.field, caught.value.reason, caught.value.params) == ("montant", reason, params)


def test_payment_amount_must_be_positive():
    with pytest.raises(UrssafValidationError) as caught:
        validate_amount(Decimal("0"), "montant", minimum=Decimal("0.01"))
    assert (caught.value.reason, caught.value.params) == ("below_minimum", {"minimum": Decimal("0.01")})
    assert str(caught.value) == "Invalid value for 'montant': the amount must be at least 0.01."


def test_period():
    assert validate_period(*OCTOBER) == OCTOBER
    assert _refusal(lambda: validate_period(OCTOBER[1], OCTOBER[0])) == ("periode.dateFin", "period_reversed")
    assert _refusal(lambda: validate_period("2026-10-01", OCTOBER[1])) == ("periode.dateDebut", "not_a_date")
    noon = datetime(2026, 10, 31, 12, tzinfo=timezone.utc)
    assert _refusal(lambda: validate_period(OCTOBER[0], noon)) == ("periode.dateFin", "not_a_date")
    assert _refusal(lambda: validate_period(None, OCTOBER[1])) == ("periode.dateDebut", "required")


def test_turnover_in_contract_order():
    lines = validate_turnover({"PRESTATION_SERVICES_BIC": Decimal("10"), "VENTE_MARCHANDISES": 5})
    assert lines == (
        ("VENTE_MARCHANDISES", Decimal("5.00")),
        ("PRESTATION_SERVICES_BIC", Decimal("10.00")),
    )
    assert validate_turnover({}) == ()


def test_turnover_refusals_name_the_line():
    assert _refusal(lambda: validate_turnover({"PRESTATION_SERVICES_BIC": Decimal("1.001")})) == (
        "chiffresAffaires[PRESTATION_SERVICES_BIC].montant",
        "too_many_decimals",
    )
    with pytest.raises(UrssafValidationError) as caught:
        validate_turnover({"SERVICES": Decimal("1")})
    assert (caught.value.field, caught.value.reason) == ("chiffresAffaires.categorie", "unknown_category")
    assert caught.value.params == {"allowed": CATEGORIES}
    assert _refusal(lambda: validate_turnover([("VENTE_MARCHANDISES", 1)])) == ("chiffresAffaires", "not_a_mapping")


def test_reference_tiers_length():
    assert validate_reference_tiers("R" * 64) == "R" * 64
    refusals = {"": "required", "   ": "required", "R" * 65: "too_long", None: "required", 42: "not_text"}
    refusals["a\nb"] = "control_characters"
    for bad, reason in refusals.items():
        assert _refusal(lambda bad=bad: validate_reference_tiers(bad)) == ("referenceTiers", reason)
    with pytest.raises(UrssafValidationError) as caught:
        validate_reference_tiers("R" * 65)
    assert caught.value.params == {"max_length": 64}


def test_identifier_needs_exactly_one():
    assert Identifier(nir="2 88 04 75 111 023 71").nir == NIR
    assert Identifier(siret=SIRET).as_dict() == {"siret": SIRET}
    assert _refusal(Identifier) == ("identifiant", "identifier_choice")
    assert _refusal(lambda: Identifier(nir=NIR, siret=SIRET)) == ("identifiant", "identifier_choice")
    assert _refusal(lambda: Identifier(nir=BAD_NIR)) == ("nir", "checksum")


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
    "identifier as text": ("identifiant", "not_an_identifier", "get_account", lambda c: c.get_account(NIR)),
    "mandate signature date": (
        "dateSignature",
        "not_a_date",
        "register_mandate",
        lambda c: c.register_mandate(AE, "2026-01-01"),
    ),
    "mandate last name": (
        "nom",
        "required",
        "register_mandate",
        lambda c: c.register_mandate(AE, date(2026, 1, 1), last_name=""),
    ),
    "mandate first names": (
        "prenoms",
        "too_long",
        "register_mandate",
        lambda c: c.register_mandate(AE, date(2026, 1, 1), first_names="x" * 71),
    ),
    "mandate birth date": (
        "dateNaissance",
        "not_a_date",
        "register_mandate",
        lambda c: c.register_mandate(AE, date(2026, 1, 1), birth_date=datetime(1988, 4, 12)),
    ),
    "mandate id": ("idMandat", "required", "end_mandate", lambda c: c.end_mandate("")),
    "estimate period": (
        "periode.dateFin",
        "period_reversed",
        "estimate",
        lambda c: c.estimate(AE, OCTOBER[1], OCTOBER[0], GOOD),
    ),
    "estimate amount": (
        "chiffresAffaires[VENTE_MARCHANDISES].montant",
        "too_many_decimals",
        "estimate",
        lambda c: c.estimate(AE, *OCTOBER, {"VENTE_MARCHANDISES": 0.1 + 0.2}),
    ),
    "declare category": (
        "chiffresAffaires.categorie",
        "unknown_category",
        "declare",
        lambda c: c.declare(AE, *OCTOBER, {"BNC": Decimal("1")}, "REF-1"),
    ),
    "declare negative amount": (
        "chiffresAffaires[PRESTATION_SERVICES_BNC].montant",
        "below_minimum",
        "declare",
        lambda c: c.declare(AE, *OCTOBER, {"PRESTATION_SERVICES_BNC": Decimal("-1")}, "REF-1"),
    ),
    "declare NaN": (
        "chiffresAffaires[VENTE_MARCHANDISES].montant",
        "not_finite",
        "declare",
        lambda c: c.declare(AE, *OCTOBER, {"VENTE_MARCHANDISES": Decimal("NaN")}, "REF-1"),
    ),
    "declare bool": (
        "chiffresAffaires[VENTE_MARCHANDISES].montant",
        "not_a_number",
        "declare",
        lambda c: c.declare(AE, *OCTOBER, {"VENTE_MARCHANDISES": True}, "REF-1"),
    ),
    "declare start": ("periode.dateDebut", "required", "declare", lambda c: c.declare(AE, None, OCTOBER[1], GOOD, "R")),
    "declare reference": ("referenceTiers", "too_long", "declare", lambda c: c.declare(AE, *OCTOBER, GOOD, "R" * 65)),
    "find period start": (
        "dateDebut",
        "not_a_date",
        "find_declarations",
        lambda c: c.find_declarations(AE, period_start="2026-10-01"),
    ),
    "find reference": (
        "referenceTiers",
        "required",
        "find_declarations",
        lambda c: c.find_declaration_by_reference(AE, ""),
    ),
    "find by number": (
        "numeroDeclaration",
        "required",
        "find_declarations",
        lambda c: c.find_declaration_by_number(AE, None),
    ),
    "pay number": ("numeroDeclaration", "required", "pay", lambda c: c.pay("", Decimal("10"), IBAN)),
    "pay zero": ("montant", "below_minimum", "pay", lambda c: c.pay("D1", Decimal("0"), IBAN)),
    "pay three decimals": ("montant", "too_many_decimals", "pay", lambda c: c.pay("D1", Decimal("10.001"), IBAN)),
    "pay iban": ("iban", "checksum", "pay", lambda c: c.pay("D1", Decimal("10"), BAD_IBAN)),
    "pay debit date": (
        "datePrelevement",
        "not_a_date",
        "pay",
        lambda c: c.pay("D1", Decimal("10"), IBAN, debit_date="2026-12-01"),
    ),
    "sepa list identifier": (
        "identifiant",
        "not_an_identifier",
        "list_sepa_mandates",
        lambda c: c.list_sepa_mandates({"nir": NIR}),
    ),
    "sepa iban": (
        "iban",
        "checksum",
        "register_sepa_mandate",
        lambda c: c.register_sepa_mandate(AE, BAD_IBAN, "Camille Martin", date(2026, 1, 1)),
    ),
    "sepa holder": (
        "titulaire",
        "required",
        "register_sepa_mandate",
        lambda c: c.register_sepa_mandate(AE, IBAN, " ", date(2026, 1, 1)),
    ),
    "sepa date": (
        "dateSignature",
        "required",
        "register_sepa_mandate",
        lambda c: c.register_sepa_mandate(AE, IBAN, "C M", None),
    ),
    "sepa bic": (
        "bic",
        "length",
        "register_sepa_mandate",
        lambda c: c.register_sepa_mandate(AE, IBAN, "C M", date(2026, 1, 1), bic="NOTABIC"),
    ),
    "sepa rum": ("rum", "required", "revoke_sepa_mandate", lambda c: c.revoke_sepa_mandate(None)),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_client_refuses_before_any_request(client, adapter, case):
    field, reason, operation, call = BAD_CALLS[case]
    with pytest.raises(UrssafValidationError) as caught:
        call(client)
    assert (caught.value.field, caught.value.reason, caught.value.operation) == (field, reason, operation)
    assert caught.value.correlation_id is None
    assert BAD_IBAN not in str(caught.value) and BAD_NIR not in str(caught.value)
    assert adapter.sent == 0


def test_counting_adapter_does_count(client, adapter):
    # Guard for the test above: a valid call does reach the sandbox.
    client.get_account(AE)
    assert adapter.sent == 2  # token, then the account


@pytest.mark.parametrize(
    "base_url, client_id, secret, field, reason",
    [
        ("http://api.urssaf.fr", "demo-tiers", "demo-secret", "base_url", "https_required"),
        ("ftp://127.0.0.1", "demo-tiers", "demo-secret", "base_url", "invalid_url"),
        ("", "demo-tiers", "demo-secret", "base_url", "invalid_url"),
        ("https://api.urssaf.fr", "", "demo-secret", "client_id", "required"),
        ("https://api.urssaf.fr", "demo-tiers", None, "client_secret", "required"),
    ],
)
def test_client_configuration_checked(base_url, client_id, secret, field, reason):
    assert _refusal(lambda: UrssafClient(base_url, client_id, secret)) == (field, reason)
