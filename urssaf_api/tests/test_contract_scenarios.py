"""The same contract scenarios through both transports of the sandbox.

Every test runs twice: once with the client's ``SandboxAdapter`` (in-process)
and once over a loopback socket served by ``server.serve``. Results are
checked as the Python values the client returns (``Decimal``, ``date``).
"""

import threading
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests

from ..client import TokenCache, UrssafClient
from ..exceptions import (
    DeclarationAlreadyExists,
    PaymentAlreadyExists,
    UrssafBusinessError,
    UrssafConflictError,
    UrssafForbiddenError,
    UrssafNotFoundError,
)
from ..models import Account, Identifier, Mandate, Period
from ..sandbox import DEFAULT_BASE_PATH, EMBEDDED_BASE_URL, TOKEN_PATH, Sandbox, SandboxAdapter
from ..seed import seed_account
from ..server import serve
from ..storage import MemoryStorage
from ..testing import Clock
from .official_figures import OFFICIAL_LINES

# Paris time in November is UTC+1.
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=timezone(timedelta(hours=1)))
TOKEN_LIFETIME = 3600

TRADER = Identifier(nir=seed_account("monthly_trader")["nir"])
TRADER_SEED_IBAN = seed_account("monthly_trader")["sepa_mandates"][0]["iban"]
TRADER_SEED_RUM = seed_account("monthly_trader")["sepa_mandates"][0]["rum"]
CRAFTSMAN = Identifier(siret=seed_account("quarterly_craftsman_moselle")["siret"])
LIBERAL = Identifier(nir=seed_account("liberal_bnc_liberatoire")["nir"])
NOT_ELIGIBLE = Identifier(nir=seed_account("not_eligible")["nir"])
OTHER_PLATFORMS_AE = Identifier(siret=seed_account("other_platform")["siret"])
NEW_BUSINESS = Identifier(siret=seed_account("new_business_monthly")["siret"])
UNKNOWN_AE = Identifier(nir="180017512345660")  # valid NIR, no account
NEW_IBAN = "FR1420041010050500013M02606"

OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))
THIRD_QUARTER = (date(2026, 7, 1), date(2026, 9, 30))
SALES = {"VENTE_MARCHANDISES": Decimal("2500.50")}


class RecordingSandbox(Sandbox):
    """The sandbox, keeping ``(method, path, status)`` of every exchange."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.exchanges = []
        self._lock = threading.Lock()

    def handle(self, request):
        response = super().handle(request)
        with self._lock:
            self.exchanges.append((request.method, request.path, response.status))
        return response

    def statuses(self, method, route):
        """Statuses answered to ``method`` on ``route`` (relative to the API base path)."""
        path = TOKEN_PATH if route == TOKEN_PATH else DEFAULT_BASE_PATH + route
        with self._lock:
            return [status for m, p, status in self.exchanges if (m, p) == (method, path)]


@pytest.fixture(name="clock")
def clock_fixture():
    return Clock(NOW)


@pytest.fixture(name="sandbox")
def sandbox_fixture(clock):
    return RecordingSandbox(MemoryStorage(), clock=clock, token_lifetime=TOKEN_LIFETIME)


@pytest.fixture(name="transport", params=["adapter", "socket"])
def transport_fixture(request, sandbox):
    """``(base URL, adapter or None)`` reaching the sandbox."""
    if request.param == "adapter":
        yield EMBEDDED_BASE_URL, SandboxAdapter(sandbox)
        return
    server, thread = serve(sandbox, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", None
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(name="connect")
def connect_fixture(transport):
    """Factory of clients on the transport, each OAuth client with its own tokens."""
    base_url, adapter = transport
    token_cache = TokenCache()
    clients = []

    def connect(client_id="demo-tiers", secret="demo-secret"):
        client = UrssafClient(
            base_url, client_id, secret, adapter=adapter, token_cache=token_cache, connect_timeout=5, read_timeout=10
        )
        client.sleep = lambda seconds: pytest.fail(f"unexpected retry ({seconds} s)")
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


@pytest.fixture(name="client")
def client_fixture(connect):
    return connect()


@pytest.fixture(name="mandated")
def mandated_fixture(client):
    """The client, holding the mandates of the trader, the craftsman and the liberal."""
    for identifier in (TRADER, CRAFTSMAN, LIBERAL):
        client.register_mandate(identifier, date(2026, 1, 5))
    return client


@pytest.fixture(name="declared")
def declared_fixture(mandated):
    """The trader's October, declared."""
    return mandated.declare(TRADER, *OCTOBER, SALES, "ref-october")


def line_values(lines):
    return [(line.category, line.label, line.base, line.rate, line.amount) for line in lines]


# --- accounts ------------------------------------------------------------------


@pytest.mark.parametrize(
    "identifier, periodicity, activity_start, categories, liberatoire",
    [
        (TRADER, "MENSUELLE", date(2019, 3, 1), ("VENTE_MARCHANDISES",), False),
        (CRAFTSMAN, "TRIMESTRIELLE", date(2017, 6, 15), ("PRESTATION_SERVICES_BIC", "VENTE_MARCHANDISES"), False),
        (LIBERAL, "MENSUELLE", date(2021, 1, 4), ("PRESTATION_SERVICES_BNC",), True),
    ],
)
def test_eligible_account(client, identifier, periodicity, activity_start, categories, liberatoire):
    account = client.get_account(identifier)
    assert account == Account(
        identifier=identifier,
        eligible=True,
        periodicity=periodicity,
        activity_start=activity_start,
        categories=categories,
        versement_liberatoire=liberatoire,
        mandate=None,
    )
    assert account.correlation_id


def test_account_not_eligible_says_why(client):
    account = client.get_account(NOT_ELIGIBLE)
    assert account.eligible is False
    assert account.periodicity == "MENSUELLE"
    assert "micro-social" in account.ineligibility_reason


def test_unknown_account_is_404(client):
    with pytest.raises(UrssafNotFoundError) as caught:
        client.get_account(UNKNOWN_AE)
    assert (caught.value.status, caught.value.code) == (404, "ER_API_COMPTE_INCONNU")
    assert UNKNOWN_AE.nir not in str(caught.value)


# --- third-party declaration mandates ------------------------------------------


def test_register_mandate_then_again_is_idempotent(client, sandbox):
    first = client.register_mandate(TRADER, date(2026, 1, 5), last_name="Martin", first_names="Camille")
    again = client.register_mandate(TRADER, date(2026, 1, 5))
    assert sandbox.statuses("POST", "/mandats") == [201, 200]
    assert again == first
    assert (first.status, first.effective_date, first.end_date) == ("ACTIF", date(2026, 1, 5), None)
    assert client.get_account(TRADER).mandate == first


def test_mandate_held_by_another_platform_is_409(client):
    with pytest.raises(UrssafConflictError) as caught:
        client.register_mandate(OTHER_PLATFORMS_AE, date(2026, 11, 2))
    assert (caught.value.status, caught.value.code) == (409, "ER_API_MANDAT_AUTRE_TIERS")
    assert client.get_account(OTHER_PLATFORMS_AE).mandate is None


def test_end_mandate_frees_the_account_for_another_platform(connect, mandated):
    mandate = mandated.get_account(TRADER).mandate
    acknowledgement = mandated.end_mandate(mandate.mandate_id)
    assert acknowledgement.status == 204
    assert mandated.get_account(TRADER).mandate is None
    with pytest.raises(UrssafForbiddenError) as caught:
        mandated.declare(TRADER, *OCTOBER, SALES, "ref-after-end")
    assert (caught.value.status, caught.value.code) == (403, "ER_API_MANDAT_ABSENT")
    other = connect("autre-tiers", "autre-secret")
    taken_over = other.register_mandate(TRADER, date(2026, 11, 20))
    assert isinstance(taken_over, Mandate)
    assert taken_over.mandate_id != mandate.mandate_id
    assert taken_over.effective_date == date(2026, 11, 20)


# --- estimates and declarations ---------------------------------------------------


@pytest.mark.parametrize(
    "identifier, period, turnover, official",
    [
        (TRADER, OCTOBER, SALES, "trader_october_2500_50"),
        (
            CRAFTSMAN,
            THIRD_QUARTER,
            {"VENTE_MARCHANDISES": Decimal("12345.67"), "PRESTATION_SERVICES_BIC": Decimal("8000.05")},
            "craftsman_moselle_q3_mixed",
        ),
        (LIBERAL, OCTOBER, {"PRESTATION_SERVICES_BNC": Decimal("4321.99")}, "liberal_vl_october_4321_99"),
    ],
)
def test_estimate_equals_the_official_engine(mandated, identifier, period, turnover, official):
    estimate = mandated.estimate(identifier, *period, turnover)
    expected = OFFICIAL_LINES[official]
    assert line_values(estimate.lines) == expected
    assert estimate.total == sum(line[4] for line in expected)
    assert estimate.period == Period(*period)
    assert mandated.find_declarations(identifier) == []


def test_declare_returns_the_recorded_declaration(mandated, sandbox):
    estimate = mandated.estimate(TRADER, *OCTOBER, SALES)
    declaration = mandated.declare(TRADER, *OCTOBER, SALES, "ref-october")
    assert sandbox.statuses("POST", "/declarations") == [201]
    assert declaration.number
    assert declaration.reference_tiers == "ref-october"
    assert declaration.period == Period(*OCTOBER)
    assert declaration.status == "DECLAREE"
    assert declaration.turnover_by_category == SALES
    assert line_values(declaration.lines) == line_values(estimate.lines)
    assert declaration.total == declaration.remaining_due == estimate.total
    assert declaration.due_date == date(2026, 11, 30)
    assert declaration.declared_at == NOW


def test_same_period_again_names_the_existing_declaration(mandated, declared, sandbox):
    with pytest.raises(DeclarationAlreadyExists) as caught:
        mandated.declare(TRADER, *OCTOBER, {"VENTE_MARCHANDISES": Decimal("1.00")}, "ref-october-bis")
    assert (caught.value.status, caught.value.code) == (409, "ER_API_DECLARATION_EXISTANTE")
    assert caught.value.declaration_number == declared.number
    assert sandbox.statuses("POST", "/declarations") == [201, 409]
    assert mandated.find_declarations(TRADER) == [declared]


def test_find_declarations_by_reference_and_period(mandated, declared):
    assert mandated.find_declaration_by_reference(TRADER, "ref-october") == declared
    assert mandated.find_declaration_by_reference(TRADER, "never-sent") is None
    assert mandated.find_declarations(TRADER, period_start=OCTOBER[0]) == [declared]
    assert mandated.find_declarations(TRADER, period_start=date(2026, 9, 1)) == []
    assert mandated.find_declaration_by_number(TRADER, declared.number) == declared


def test_period_not_ended_is_422(mandated):
    with pytest.raises(UrssafBusinessError) as caught:
        mandated.declare(TRADER, *NOVEMBER, SALES, "ref-november")
    assert (caught.value.status, caught.value.code) == (422, "ER_API_PERIODE_NON_ECHUE")
    assert mandated.find_declarations(TRADER) == []


@pytest.mark.parametrize(
    "identifier, period",
    [
        (TRADER, THIRD_QUARTER),  # monthly account, a quarter
        (CRAFTSMAN, (date(2026, 9, 1), date(2026, 9, 30))),  # quarterly account, a month
        (TRADER, (date(2026, 10, 1), date(2026, 10, 30))),  # a month cut short
    ],
)
def test_period_not_matching_the_periodicity_is_422(mandated, identifier, period):
    with pytest.raises(UrssafBusinessError) as caught:
        mandated.declare(identifier, *period, {}, "ref-invalid")
    assert (caught.value.status, caught.value.code) == (422, "ER_API_PERIODE_INVALIDE")
    assert mandated.find_declarations(identifier) == []


def test_first_long_period_is_accepted(client):
    client.register_mandate(NEW_BUSINESS, date(2026, 7, 20))
    turnover = {"PRESTATION_SERVICES_BIC": Decimal("3100.00")}
    with pytest.raises(UrssafBusinessError) as caught:
        client.declare(NEW_BUSINESS, *OCTOBER, turnover, "ref-october-only")
    assert caught.value.code == "ER_API_PERIODE_INVALIDE"
    declaration = client.declare(NEW_BUSINESS, date(2026, 7, 20), date(2026, 10, 31), turnover, "ref-first")
    assert declaration.period == Period(date(2026, 7, 20), date(2026, 10, 31))
    assert declaration.due_date == date(2026, 11, 30)
    assert line_values(declaration.lines) == OFFICIAL_LINES["trader_first_period_3100"]


@pytest.mark.parametrize(
    "turnover, official",
    [({}, []), ({"VENTE_MARCHANDISES": Decimal("0")}, OFFICIAL_LINES["trader_october_zero"])],
)
def test_zero_turnover_is_declared_with_zero_amounts(mandated, turnover, official):
    declaration = mandated.declare(TRADER, *OCTOBER, turnover, "ref-zero")
    assert declaration.total == declaration.remaining_due == Decimal("0")
    assert declaration.status == "DECLAREE"
    assert line_values(declaration.lines) == official
    assert all(line.amount == 0 for line in declaration.lines)
    assert mandated.find_declaration_by_reference(TRADER, "ref-zero") == declaration


# --- SEPA mandates -----------------------------------------------------------------


def masked(iban):
    return "*" * (len(iban) - 4) + iban[-4:]


def test_sepa_mandate_register_list_revoke(mandated):
    registered = mandated.register_sepa_mandate(TRADER, NEW_IBAN, "Camille Martin", date(2026, 11, 2))
    assert (registered.status, registered.holder, registered.signature_date) == (
        "ACTIF",
        "Camille Martin",
        date(2026, 11, 2),
    )
    assert registered.rum not in ("", TRADER_SEED_RUM)
    assert registered.iban == masked(NEW_IBAN)

    listed = mandated.list_sepa_mandates(TRADER)
    assert [(m.rum, m.iban, m.status) for m in listed] == [
        (TRADER_SEED_RUM, masked(TRADER_SEED_IBAN), "ACTIF"),
        (registered.rum, masked(NEW_IBAN), "ACTIF"),
    ]
    assert [m.iban_last4 for m in listed] == ["0189", "2606"]

    assert mandated.revoke_sepa_mandate(registered.rum).status == 204
    statuses = {m.rum: m.status for m in mandated.list_sepa_mandates(TRADER)}
    assert statuses == {TRADER_SEED_RUM: "ACTIF", registered.rum: "REVOQUE"}
    with pytest.raises(UrssafNotFoundError) as caught:
        mandated.revoke_sepa_mandate(registered.rum)
    assert caught.value.code == "ER_API_MANDAT_SEPA_INCONNU"


# --- payments --------------------------------------------------------------------------


def test_pay_needs_an_active_sepa_mandate_on_that_iban(mandated, declared):
    def pay_with_new_iban():
        with pytest.raises(UrssafBusinessError) as caught:
            mandated.pay(declared.number, Decimal("10.00"), NEW_IBAN)
        assert (caught.value.status, caught.value.code) == (422, "ER_API_MANDAT_SEPA_ABSENT")
        assert NEW_IBAN not in str(caught.value)

    pay_with_new_iban()
    registered = mandated.register_sepa_mandate(TRADER, NEW_IBAN, "Camille Martin", date(2026, 11, 2))
    payment = mandated.pay(declared.number, Decimal("10.00"), NEW_IBAN)
    assert (payment.declaration_number, payment.amount, payment.status) == (
        declared.number,
        Decimal("10.00"),
        "ENREGISTRE",
    )
    mandated.revoke_sepa_mandate(registered.rum)
    pay_with_new_iban()
    remaining = mandated.find_declaration_by_number(TRADER, declared.number).remaining_due
    assert remaining == declared.total - Decimal("10.00")


def test_pay_more_than_remaining_due_is_422(mandated, declared):
    with pytest.raises(UrssafBusinessError) as caught:
        mandated.pay(declared.number, declared.total + Decimal("0.01"), TRADER_SEED_IBAN)
    assert (caught.value.status, caught.value.code) == (422, "ER_API_MONTANT_INVALIDE")
    unchanged = mandated.find_declaration_by_number(TRADER, declared.number)
    assert (unchanged.status, unchanged.remaining_due) == ("DECLAREE", declared.total)


def test_pay_in_full_then_again_names_the_existing_payment(mandated, declared):
    first_part = Decimal("100.00")
    partial = mandated.pay(declared.number, first_part, TRADER_SEED_IBAN)
    assert partial.debit_date == declared.due_date  # default: the due date
    after_partial = mandated.find_declaration_by_number(TRADER, declared.number)
    assert (after_partial.status, after_partial.remaining_due) == (
        "PAYEE_PARTIELLEMENT",
        declared.total - first_part,
    )

    balance = mandated.pay(declared.number, after_partial.remaining_due, TRADER_SEED_IBAN, date(2026, 12, 2))
    assert (balance.amount, balance.debit_date) == (declared.total - first_part, date(2026, 12, 2))
    paid = mandated.find_declaration_by_number(TRADER, declared.number)
    assert (paid.status, paid.remaining_due, paid.is_paid) == ("PAYEE", Decimal("0"), True)

    with pytest.raises(PaymentAlreadyExists) as caught:
        mandated.pay(declared.number, Decimal("0.01"), TRADER_SEED_IBAN)
    assert (caught.value.status, caught.value.code) == (409, "ER_API_PAIEMENT_EXISTANT")
    assert caught.value.payment_reference == balance.reference
    assert partial.reference != balance.reference


# --- tokens ------------------------------------------------------------------------------


def test_expired_token_is_renewed_transparently(mandated, sandbox, clock):
    assert sandbox.statuses("POST", TOKEN_PATH) == [200]
    clock.advance(seconds=TOKEN_LIFETIME + 1)
    declaration = mandated.declare(TRADER, *OCTOBER, SALES, "ref-after-expiry")
    assert declaration.reference_tiers == "ref-after-expiry"
    # The expired token was refused before anything was recorded, then the
    # declaration went through once with a new token.
    assert sandbox.statuses("POST", "/declarations") == [401, 201]
    assert sandbox.statuses("POST", TOKEN_PATH) == [200, 200]
    assert mandated.get_account(TRADER).mandate.is_active
    assert sandbox.statuses("POST", TOKEN_PATH) == [200, 200]
    assert mandated.find_declarations(TRADER) == [declaration]


# --- methods outside the contract ---------------------------------------------------------


@pytest.mark.parametrize("method", ["PATCH", "TRACE", "OPTIONS"])
def test_undeclared_method_is_a_json_405(transport, method):
    base_url, adapter = transport
    with requests.Session() as session:
        session.trust_env = False
        if adapter is not None:
            session.mount(base_url + "/", adapter)
        response = session.request(method, base_url + DEFAULT_BASE_PATH + "/declarations", timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    assert response.json()[0]["code"] == "ER_API_METHODE_NON_AUTORISEE"
