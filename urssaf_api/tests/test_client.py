"""The client against the embedded sandbox, in-process through its adapter."""

import json
import logging
import threading
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs

import pytest

from ..client import TOKEN_RENEWAL_MARGIN, TokenCache, UrssafClient
from ..exceptions import (
    DeclarationAlreadyExists,
    PaymentAlreadyExists,
    UrssafAuthError,
    UrssafBusinessError,
    UrssafConflictError,
    UrssafForbiddenError,
    UrssafNotFoundError,
)
from ..models import Declaration, Identifier
from ..sandbox import EMBEDDED_BASE_URL, Sandbox, SandboxAdapter
from ..seed import seed_account
from ..storage import MemoryStorage
from ..testing import Clock

TODAY = datetime(2026, 11, 15, 10, 0, tzinfo=timezone.utc)
TRADER = Identifier(nir=seed_account("monthly_trader")["nir"])
TRADER_IBAN = seed_account("monthly_trader")["sepa_mandates"][0]["iban"]
CRAFTSMAN = Identifier(siret=seed_account("quarterly_craftsman_moselle")["siret"])
OTHER_PLATFORMS_AE = Identifier(siret=seed_account("other_platform")["siret"])
NOT_ELIGIBLE = Identifier(nir=seed_account("not_eligible")["nir"])
UNKNOWN_AE = Identifier(nir="180017512345660")  # valid NIR, no account
NEW_IBAN = "FR1420041010050500013M02606"
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
SEPTEMBER = (date(2026, 9, 1), date(2026, 9, 30))
SALES = {"VENTE_MARCHANDISES": Decimal("1000.50")}
TOKEN_PATH = "/api/oauth/v1/token"


class RecordingAdapter(SandboxAdapter):
    """The embedded sandbox, keeping every prepared request it served."""

    def __init__(self, sandbox):
        super().__init__(sandbox)
        self.sent = []
        self._lock = threading.Lock()

    def send(self, request, *args, **kwargs):
        response = super().send(request, *args, **kwargs)
        with self._lock:
            self.sent.append((request, response))
        return response

    def requests_to(self, suffix, method=None):
        return [
            request
            for request, _ in self.sent
            if request.path_url.split("?")[0].endswith(suffix) and (method is None or request.method == method)
        ]


@pytest.fixture(name="sandbox_clock")
def sandbox_clock_fixture():
    return Clock(TODAY)


@pytest.fixture(name="sandbox")
def sandbox_fixture(sandbox_clock):
    return Sandbox(MemoryStorage(), clock=sandbox_clock)


@pytest.fixture(name="adapter")
def adapter_fixture(sandbox):
    return RecordingAdapter(sandbox)


@pytest.fixture(name="token_cache")
def token_cache_fixture():
    return TokenCache()


def make_client(adapter, token_cache, secret="demo-secret", client_id="demo-tiers"):
    client = UrssafClient(EMBEDDED_BASE_URL, client_id, secret, adapter=adapter, token_cache=token_cache)
    client.sleep = lambda seconds: pytest.fail(f"unexpected retry ({seconds} s)")
    return client


@pytest.fixture(name="client")
def client_fixture(adapter, token_cache):
    return make_client(adapter, token_cache)


@pytest.fixture(name="mandated")
def mandated_fixture(client):
    """The client, holding the trader's mandate."""
    client.register_mandate(TRADER, date(2026, 1, 5))
    return client


# --- token -------------------------------------------------------------------


def test_fetch_token_posts_credentials_in_body(client, adapter):
    info = client.fetch_token()
    assert (info.token_type, info.expires_in, info.scope) == ("Bearer", 3600, "tiersdecl.ae")
    [request] = adapter.requests_to(TOKEN_PATH)
    form = parse_qs(request.body if isinstance(request.body, str) else request.body.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["demo-tiers"],
        "client_secret": ["demo-secret"],
        "scope": ["tiersdecl.ae"],
    }
    assert "Authorization" not in request.headers  # client_secret_post, no Basic
    assert info.correlation_id == request.headers["x-correlationid"]
    assert "access_token" not in repr(info)


def test_wrong_secret_is_an_auth_error_without_the_secret(adapter, token_cache):
    client = make_client(adapter, token_cache, secret="not-the-secret")
    with pytest.raises(UrssafAuthError) as caught:
        client.fetch_token()
    error = caught.value
    assert (error.status, error.code, error.operation) == (401, "invalid_client", "fetch_token")
    assert error.urssaf_message == "Client inconnu ou secret erroné."  # Urssaf's words, as received
    assert "not-the-secret" not in str(error)
    assert str(error).startswith("Urssaf refused the authentication for the access token request: invalid_client")
    assert "Check the OAuth2 client id and secret" in error.hint
    with pytest.raises(UrssafAuthError):
        client.get_account(TRADER)
    assert not adapter.requests_to("/comptes")


def test_token_shared_by_clients_of_same_credentials(adapter, token_cache):
    first, second = make_client(adapter, token_cache), make_client(adapter, token_cache)
    first.get_account(TRADER)
    second.get_account(CRAFTSMAN)
    first.get_account(CRAFTSMAN)
    assert len(adapter.requests_to(TOKEN_PATH)) == 1
    bearers = {r.headers["Authorization"] for r in adapter.requests_to("/comptes")}
    assert len(bearers) == 1


def test_token_not_shared_across_credentials(adapter, token_cache):
    make_client(adapter, token_cache).get_account(TRADER)
    make_client(adapter, token_cache, "autre-secret", "autre-tiers").get_account(TRADER)
    assert len(adapter.requests_to(TOKEN_PATH)) == 2


def test_one_token_fetch_for_concurrent_threads(sandbox, token_cache):
    class SlowTokenAdapter(RecordingAdapter):
        def send(self, request, *args, **kwargs):
            if request.path_url.endswith(TOKEN_PATH):
                threading.Event().wait(0.05)  # widen the race window
            return super().send(request, *args, **kwargs)

    adapter = SlowTokenAdapter(sandbox)
    errors = []

    def work():
        try:
            make_client(adapter, token_cache).get_account(TRADER)
        except Exception as error:  # any failure is asserted on below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors
    assert len(adapter.requests_to(TOKEN_PATH)) == 1
    assert len(adapter.requests_to("/comptes")) == 8


@pytest.mark.parametrize(
    "lifetime, renewed_after",
    [(3600, 3600 - TOKEN_RENEWAL_MARGIN), (600, 540), (60, 54), (30, 27), (5, 4.5)],
)
def test_token_reused_until_a_tenth_of_its_life_remains(sandbox, adapter, lifetime, renewed_after):
    # The sandbox's clock stands still, so its tokens stay valid there: only
    # the client's cache decides when to renew.
    sandbox.token_lifetime = lifetime
    clock = Clock(1000.0)
    client = make_client(adapter, TokenCache(clock=clock))
    client.get_account(TRADER)
    clock.now += renewed_after - 0.25
    client.get_account(TRADER)
    assert len(adapter.requests_to(TOKEN_PATH)) == 1
    clock.now += 0.5
    client.get_account(TRADER)
    assert len(adapter.requests_to(TOKEN_PATH)) == 2


def test_expired_token_renewed_once_on_401(client, adapter, sandbox_clock):
    client.get_account(TRADER)
    # Urssaf's clock moves past the token's life; the client's cache does not know.
    sandbox_clock.now = TODAY + timedelta(hours=2)
    account = client.get_account(TRADER)
    assert account.periodicity == "MENSUELLE"
    statuses = [response.status_code for request, response in adapter.sent]
    assert statuses == [200, 200, 401, 200, 200]
    assert len(adapter.requests_to(TOKEN_PATH)) == 2


# --- accounts and mandates ----------------------------------------------------


def test_get_account(client):
    account = client.get_account(TRADER)
    assert account.identifier == TRADER
    assert account.eligible is True
    assert account.periodicity == "MENSUELLE"
    assert account.activity_start == date(2019, 3, 1)
    assert account.categories == ("VENTE_MARCHANDISES",)
    assert account.versement_liberatoire is False
    assert account.mandate is None
    assert account.correlation_id == client.last_correlation_id


def test_get_account_by_siret_and_not_eligible(client):
    assert client.get_account(CRAFTSMAN).periodicity == "TRIMESTRIELLE"
    account = client.get_account(NOT_ELIGIBLE)
    assert account.eligible is False
    assert "micro-social" in account.ineligibility_reason


def test_unknown_account(client):
    with pytest.raises(UrssafNotFoundError) as caught:
        client.get_account(UNKNOWN_AE)
    error = caught.value
    assert (error.status, error.code, error.operation) == (404, "ER_API_COMPTE_INCONNU", "get_account")
    assert (error.urssaf_message, error.description) == (
        "Compte inconnu.",
        "Aucun auto-entrepreneur avec cet identifiant.",
    )
    assert UNKNOWN_AE.nir not in str(error)
    assert "ER_API_COMPTE_INCONNU (HTTP 404)" in str(error)


def test_register_mandate_is_idempotent(client):
    first = client.register_mandate(
        TRADER,
        date(2026, 1, 5),
        last_name="Martin",
        first_names="Camille",
        birth_date=date(1988, 4, 12),
    )
    again = client.register_mandate(TRADER, date(2026, 1, 5))
    assert first.is_active and first.effective_date == date(2026, 1, 5)
    assert again.mandate_id == first.mandate_id
    assert client.get_account(TRADER).mandate == first


def test_register_mandate_refusals(client):
    with pytest.raises(UrssafConflictError) as caught:
        client.register_mandate(OTHER_PLATFORMS_AE, date(2026, 1, 5))
    assert caught.value.code == "ER_API_MANDAT_AUTRE_TIERS"
    assert "Un autre tiers-déclarant" in str(caught.value)
    with pytest.raises(UrssafBusinessError) as caught:
        client.register_mandate(TRADER, date(2026, 1, 5), last_name="DUPONT")
    assert caught.value.code == "ER_API_IDENTITE_INCOHERENTE"
    with pytest.raises(UrssafBusinessError) as caught:
        client.register_mandate(NOT_ELIGIBLE, date(2026, 1, 5))
    assert caught.value.code == "ER_API_COMPTE_NON_ELIGIBLE"


def test_end_mandate(mandated):
    mandate = mandated.get_account(TRADER).mandate
    ack = mandated.end_mandate(mandate.mandate_id)
    assert ack.status == 204 and ack.correlation_id == mandated.last_correlation_id
    assert mandated.get_account(TRADER).mandate is None
    with pytest.raises(UrssafForbiddenError) as caught:
        mandated.declare(TRADER, *OCTOBER, SALES, "REF-OCT")
    assert caught.value.code == "ER_API_MANDAT_ABSENT"
    with pytest.raises(UrssafNotFoundError):
        mandated.end_mandate("M-UNKNOWN")


# --- estimate and declare --------------------------------------------------------


def test_estimate(mandated, adapter):
    estimate = mandated.estimate(TRADER, *OCTOBER, SALES)
    assert (estimate.period.start, estimate.period.end) == OCTOBER
    assert estimate.total == sum(line.amount for line in estimate.lines)
    social = next(line for line in estimate.lines if line.rate == Decimal("12.3"))
    assert (social.category, social.base) == ("VENTE_MARCHANDISES", Decimal("1000.50"))
    assert all(isinstance(line.amount, Decimal) for line in estimate.lines)
    [request] = adapter.requests_to("/estimations")
    body = json.loads(request.body)
    assert body["chiffresAffaires"] == [{"categorie": "VENTE_MARCHANDISES", "montant": 1000.5}]
    assert not adapter.requests_to("/declarations")


def test_declare(mandated, adapter):
    estimate = mandated.estimate(TRADER, *OCTOBER, SALES)
    declaration = mandated.declare(TRADER, *OCTOBER, SALES, "REF-OCT")
    assert isinstance(declaration, Declaration)
    assert declaration.reference_tiers == "REF-OCT"
    assert (declaration.period.start, declaration.period.end) == OCTOBER
    assert declaration.turnover_by_category == {"VENTE_MARCHANDISES": Decimal("1000.50")}
    assert declaration.total == estimate.total
    assert declaration.remaining_due == declaration.total
    assert declaration.status == "DECLAREE"
    assert declaration.due_date == date(2026, 11, 30)
    assert declaration.declared_at is not None
    [request] = adapter.requests_to("/declarations", "POST")
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "identifiant": {"nir": TRADER.nir},
        "periode": {"dateDebut": "2026-10-01", "dateFin": "2026-10-31"},
        "chiffresAffaires": [{"categorie": "VENTE_MARCHANDISES", "montant": 1000.5}],
        "referenceTiers": "REF-OCT",
    }


def test_declare_zero(mandated):
    declaration = mandated.declare(TRADER, *SEPTEMBER, {}, "REF-SEP")
    assert declaration.total == Decimal("0")
    assert declaration.turnover == ()


def test_declare_twice_gives_existing_number(mandated):
    first = mandated.declare(TRADER, *OCTOBER, SALES, "REF-OCT")
    with pytest.raises(DeclarationAlreadyExists) as caught:
        mandated.declare(TRADER, *OCTOBER, SALES, "REF-OCT-2")
    error = caught.value
    assert error.declaration_number == first.number
    assert (error.status, error.code) == (409, "ER_API_DECLARATION_EXISTANTE")
    assert first.number in str(error)


def test_declare_period_not_ended(mandated):
    with pytest.raises(UrssafBusinessError) as caught:
        mandated.declare(TRADER, date(2026, 11, 1), date(2026, 11, 30), SALES, "REF-NOV")
    error = caught.value
    assert (error.status, error.code, error.operation) == (422, "ER_API_PERIODE_NON_ECHUE", "declare")
    assert error.urssaf_message == "Période non échue."
    assert error.correlation_id == mandated.last_correlation_id
    text = str(error)
    assert text.startswith(
        'Urssaf refused the declaration: ER_API_PERIODE_NON_ECHUE (HTTP 422). Urssaf said: "Période non échue." "'
    )
    assert error.hint == "Wait until the period has ended to declare it." and error.hint in text
    assert text.endswith(f"Correlation id: {error.correlation_id}.")


def test_declare_period_not_matching_periodicity(mandated):
    with pytest.raises(UrssafBusinessError) as caught:
        mandated.declare(TRADER, date(2026, 7, 1), date(2026, 9, 30), SALES, "REF-Q3")
    assert caught.value.code == "ER_API_PERIODE_INVALIDE"
    assert "mensuelle" in str(caught.value)


def test_declare_category_not_exercised(mandated):
    with pytest.raises(UrssafBusinessError) as caught:
        mandated.declare(TRADER, *OCTOBER, {"PRESTATION_SERVICES_BNC": Decimal("10")}, "REF-OCT")
    assert caught.value.code == "ER_API_CATEGORIE_NON_AUTORISEE"


def test_find_declarations(mandated):
    september = mandated.declare(TRADER, *SEPTEMBER, {}, "REF-SEP")
    october = mandated.declare(TRADER, *OCTOBER, SALES, "REF-OCT")
    found = mandated.find_declarations(TRADER)
    assert [d.number for d in found] == [october.number, september.number]
    assert found.correlation_id == mandated.last_correlation_id
    assert [d.number for d in mandated.find_declarations(TRADER, period_start=SEPTEMBER[0])] == [september.number]
    assert mandated.find_declaration_by_reference(TRADER, "REF-OCT") == october
    assert mandated.find_declaration_by_reference(TRADER, "REF-NONE") is None
    assert mandated.find_declaration_by_number(TRADER, september.number) == september
    assert mandated.find_declaration_by_number(TRADER, "D0") is None


def test_find_declarations_needs_mandate(client):
    with pytest.raises(UrssafForbiddenError):
        client.find_declarations(TRADER)


# --- payment -----------------------------------------------------------------------


def test_pay_in_full_then_again(mandated):
    declaration = mandated.declare(TRADER, *OCTOBER, SALES, "REF-OCT")
    payment = mandated.pay(declaration.number, declaration.total, TRADER_IBAN)
    assert payment.declaration_number == declaration.number
    assert payment.amount == declaration.total
    assert payment.status == "ENREGISTRE"
    assert payment.debit_date == declaration.due_date
    settled = mandated.find_declaration_by_number(TRADER, declaration.number)
    assert (settled.status, settled.remaining_due) == ("PAYEE", Decimal("0"))
    with pytest.raises(PaymentAlreadyExists) as caught:
        mandated.pay(declaration.number, declaration.total, TRADER_IBAN)
    assert caught.value.payment_reference == payment.reference


def test_pay_partially(mandated):
    declaration = mandated.declare(TRADER, *OCTOBER, SALES, "REF-OCT")
    mandated.pay(declaration.number, Decimal("10.00"), TRADER_IBAN, debit_date=date(2026, 11, 20))
    settled = mandated.find_declaration_by_number(TRADER, declaration.number)
    assert settled.status == "PAYEE_PARTIELLEMENT"
    assert settled.remaining_due == declaration.total - Decimal("10.00")


def test_pay_refusals(mandated):
    declaration = mandated.declare(TRADER, *OCTOBER, SALES, "REF-OCT")
    with pytest.raises(UrssafBusinessError) as caught:
        mandated.pay(declaration.number, declaration.total + 1, TRADER_IBAN)
    assert caught.value.code == "ER_API_MONTANT_INVALIDE"
    with pytest.raises(UrssafBusinessError) as caught:
        mandated.pay(declaration.number, declaration.total, NEW_IBAN)
    assert caught.value.code == "ER_API_MANDAT_SEPA_ABSENT"
    assert NEW_IBAN not in str(caught.value)
    with pytest.raises(UrssafNotFoundError):
        mandated.pay("D20269999999", Decimal("1.00"), TRADER_IBAN)


# --- SEPA mandates -------------------------------------------------------------------


def test_sepa_mandates_life_cycle(mandated):
    [seeded] = mandated.list_sepa_mandates(TRADER)
    assert seeded.is_active and seeded.iban_last4 == "0189"
    assert TRADER_IBAN not in seeded.iban
    created = mandated.register_sepa_mandate(TRADER, NEW_IBAN, "Camille Martin", date(2026, 11, 1), bic="CCBPFRPPXXX")
    assert created.is_active and created.iban_last4 == "2606"
    assert created.holder == "Camille Martin"
    with pytest.raises(UrssafConflictError) as caught:
        mandated.register_sepa_mandate(TRADER, NEW_IBAN, "Camille Martin", date(2026, 11, 1))
    assert caught.value.code == "ER_API_MANDAT_SEPA_EXISTANT"
    assert caught.value.existing_reference == created.rum
    assert mandated.revoke_sepa_mandate(created.rum).status == 204
    statuses = {m.rum: m.status for m in mandated.list_sepa_mandates(TRADER)}
    assert statuses == {seeded.rum: "ACTIF", created.rum: "REVOQUE"}
    with pytest.raises(UrssafNotFoundError):
        mandated.revoke_sepa_mandate(created.rum)


# --- exchange rules -----------------------------------------------------------------------


def test_every_request_carries_a_fresh_correlation_id(mandated, adapter):
    mandated.list_sepa_mandates(TRADER)
    mandated.estimate(TRADER, *OCTOBER, SALES)
    ids = [request.headers["x-correlationid"] for request, _ in adapter.sent]
    assert len(ids) == len(set(ids)) == 4  # token, mandate, list, estimate
    for value in ids:
        assert uuid.UUID(value).version == 4
    request, response = adapter.sent[-1]
    assert mandated.last_correlation_id == response.headers["x-correlationid"]


def test_posts_always_carry_a_json_body(mandated, adapter):
    mandate = mandated.get_account(TRADER).mandate
    mandated.end_mandate(mandate.mandate_id)
    for request in adapter.requests_to("", "POST"):
        if request.path_url.endswith(TOKEN_PATH):
            continue
        assert request.headers["Content-Type"] == "application/json"
        assert isinstance(json.loads(request.body), dict)
    [delete] = adapter.requests_to(f"/mandats/{mandate.mandate_id}", "DELETE")
    assert not delete.body


def test_logs_show_exchanges_but_no_regulated_value(adapter, token_cache, caplog):
    client = make_client(adapter, token_cache)
    # Also on the package's own logger: inside Odoo it inherits the level of
    # the "odoo" logger, not the root's.
    package_logger = UrssafClient.__module__.rpartition(".")[0]
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger=package_logger):
        client.register_mandate(TRADER, date(2026, 1, 5))
        client.register_sepa_mandate(TRADER, NEW_IBAN, "Camille Martin", date(2026, 11, 1))
        declaration = client.declare(TRADER, *OCTOBER, SALES, "REF-OCT")
        client.pay(declaration.number, declaration.total, TRADER_IBAN)
        with pytest.raises(PaymentAlreadyExists):
            client.pay(declaration.number, Decimal("1.00"), NEW_IBAN)
    token = adapter.requests_to("/paiements")[0].headers["Authorization"].split()[1]
    text = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (TRADER.nir, NEW_IBAN, TRADER_IBAN, "demo-secret", token):
        assert secret not in text
    assert "POST /tiersdecl/v1/ae/paiements -> 201" in text
    assert client.last_correlation_id in text
