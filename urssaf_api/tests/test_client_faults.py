"""The client against a loopback Urssaf that misbehaves on purpose.

A real sandbox sits behind :class:`~..testing.FaultServer`; each test
scripts what goes wrong and checks what the client does, and above all that
a declaration or a payment never reaches Urssaf twice.
"""

import logging
import socket
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from ..client import TokenCache, UrssafClient
from ..exceptions import (
    DeclarationAlreadyExists,
    PaymentAlreadyExists,
    UrssafAuthError,
    UrssafOutcomeUnknown,
    UrssafRateLimitedError,
    UrssafServerError,
    UrssafTransportError,
)
from ..models import Identifier
from ..sandbox import TOKEN_PATH, Sandbox, SandboxResponse
from ..seed import seed_account
from ..storage import MemoryStorage
from ..testing import (
    DECLARE,
    ESTIMATE,
    FIND_DECLARATIONS,
    GET_ACCOUNT,
    PAY,
    TOKEN,
    Delay,
    DropConnection,
    ExpireTokens,
    FaultServer,
    HtmlPage,
    MalformedJson,
    RateLimit,
    RawAnswer,
    Redirect,
    ServerError,
    Unauthorized,
)

TODAY = datetime(2026, 11, 15, 10, 0, tzinfo=timezone.utc)
TRADER = Identifier(nir=seed_account("monthly_trader")["nir"])
TRADER_IBAN = seed_account("monthly_trader")["sepa_mandates"][0]["iban"]
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
SALES = {"VENTE_MARCHANDISES": Decimal("2000.00")}
READ_TIMEOUT = 0.3
SLOWER_THAN_TIMEOUT = 1.0
MAX_RETRIES = 2


@pytest.fixture(name="server")
def server_fixture():
    sandbox = Sandbox(MemoryStorage(), clock=lambda: TODAY)
    with FaultServer(sandbox.handle) as server:
        yield server


@pytest.fixture(name="sleeps")
def sleeps_fixture():
    return []


@pytest.fixture(name="client")
def client_fixture(server, sleeps):
    """A client holding the trader's mandate; faults are injected after."""
    client = UrssafClient(
        server.base_url,
        "demo-tiers",
        "demo-secret",
        connect_timeout=1,
        read_timeout=READ_TIMEOUT,
        max_retries=MAX_RETRIES,
        backoff=0.5,
        token_cache=TokenCache(),
    )
    client.sleep = sleeps.append
    client.register_mandate(TRADER, date(2026, 1, 5))
    yield client
    client.close()


# --- token expiry --------------------------------------------------------------


def test_tokens_revoked_mid_sequence_are_renewed_once(client, server):
    client.get_account(TRADER)
    server.revoke_seen_tokens()
    account = client.get_account(TRADER)
    assert account.mandate is not None
    assert server.count(TOKEN) == 2
    assert [r.status for r in server.requests_for(GET_ACCOUNT)] == [200, 401, 200]


def test_token_expired_on_declare_is_renewed_and_declared_once(client, server):
    server.inject(ExpireTokens(), DECLARE, calls=1)
    declaration = client.declare(TRADER, *OCTOBER, SALES, "REF-OCT")
    assert declaration.reference_tiers == "REF-OCT"
    assert server.count(DECLARE) == 2
    assert server.count(DECLARE, delegated=True) == 1
    assert server.count(TOKEN) == 2


def test_401_after_renewal_is_an_auth_error(client, server):
    server.inject(Unauthorized(), GET_ACCOUNT)
    with pytest.raises(UrssafAuthError) as caught:
        client.get_account(TRADER)
    assert caught.value.code == "ER_API_JETON_EXPIRE"
    assert server.count(GET_ACCOUNT) == 2  # renewed and retried once only
    assert server.count(TOKEN) == 2


# --- rate limiting -------------------------------------------------------------


def test_429_honours_retry_after(client, server, sleeps):
    server.inject(RateLimit(retry_after=7), GET_ACCOUNT, calls=1)
    client.get_account(TRADER)
    assert sleeps == [7]
    assert server.count(GET_ACCOUNT) == 2


def test_429_retry_after_is_capped(client, server, sleeps):
    client.max_retry_after = 30
    server.inject(RateLimit(retry_after=3600), GET_ACCOUNT, calls=1)
    client.get_account(TRADER)
    assert sleeps == [30]


def test_429_persisting_gives_up(client, server, sleeps):
    server.inject(RateLimit(retry_after=2), GET_ACCOUNT)
    with pytest.raises(UrssafRateLimitedError) as caught:
        client.get_account(TRADER)
    assert caught.value.retry_after == 2
    assert sleeps == [2] * MAX_RETRIES
    assert server.count(GET_ACCOUNT) == MAX_RETRIES + 1


def test_429_on_declare_is_retried_because_not_processed(client, server, sleeps):
    server.inject(RateLimit(retry_after=1), DECLARE, calls=1)
    client.declare(TRADER, *OCTOBER, SALES, "REF-OCT")
    assert sleeps == [1]
    assert server.count(DECLARE, delegated=True) == 1


# --- declare: unknown outcomes, settled ---------------------------------------------


def test_declare_500_before_processing_settles_as_not_declared(client, server):
    server.inject(ServerError(500), DECLARE, calls=1)
    with pytest.raises(UrssafOutcomeUnknown) as caught:
        client.declare(TRADER, *OCTOBER, SALES, "REF-OCT")
    error = caught.value
    assert (error.operation, error.reference_tiers) == ("declare", "REF-OCT")
    assert error.correlation_id == server.requests_for(DECLARE)[0].headers["x-correlationid"]
    assert isinstance(error.cause, UrssafServerError)
    assert (error.cause.status, error.cause.code) == (500, "ERREUR_TECHNIQUE")
    assert str(error).startswith(
        "Outcome of the declaration (reference REF-OCT) unknown: the request was sent but Urssaf's answer "
        "could not be read (HTTP 500 ERREUR_TECHNIQUE). Do not send it again"
    )
    assert server.count(DECLARE) == 1
    assert client.find_declaration_by_reference(TRADER, "REF-OCT") is None
    assert client.declare(TRADER, *OCTOBER, SALES, "REF-OCT").reference_tiers == "REF-OCT"


@pytest.mark.parametrize(
    "fault, cause",
    [
        (ServerError(500, after=True), ("api", 500)),
        (ServerError(503, after=True), ("api", 503)),
        (HtmlPage(502, after=True), ("html", 502)),
        (MalformedJson(), ("not_json", 201)),
        (Delay(SLOWER_THAN_TIMEOUT, after=True), ("read_timeout", None)),
        (DropConnection(after=True), ("connection_lost", None)),
    ],
    ids=repr,
)
def test_declare_recorded_but_answer_lost_is_never_resent(client, server, sleeps, fault, cause):
    server.inject(fault, DECLARE, calls=1)
    with pytest.raises(UrssafOutcomeUnknown) as caught:
        client.declare(TRADER, *OCTOBER, SALES, "REF-OCT")
    assert (caught.value.operation, caught.value.reference_tiers) == ("declare", "REF-OCT")
    assert (getattr(caught.value.cause, "kind", "api"), caught.value.cause.status) == cause
    assert server.count(DECLARE) == 1
    assert sleeps == []
    found = client.find_declaration_by_reference(TRADER, "REF-OCT")
    assert found is not None and found.total > 0
    with pytest.raises(DeclarationAlreadyExists) as caught:
        client.declare(TRADER, *OCTOBER, SALES, "REF-OCT-RETRY")
    assert caught.value.declaration_number == found.number
    assert server.count(DECLARE, delegated=True) == 2


# --- pay: unknown outcomes, settled ---------------------------------------------------


@pytest.fixture(name="declaration")
def declaration_fixture(client):
    return client.declare(TRADER, *OCTOBER, SALES, "REF-OCT")


@pytest.mark.parametrize(
    "fault",
    [ServerError(500, after=True), Delay(SLOWER_THAN_TIMEOUT, after=True), HtmlPage(504, after=True)],
    ids=repr,
)
def test_pay_recorded_but_answer_lost_is_never_resent(client, server, declaration, fault):
    server.inject(fault, PAY, calls=1)
    with pytest.raises(UrssafOutcomeUnknown) as caught:
        client.pay(declaration.number, declaration.total, TRADER_IBAN)
    error = caught.value
    assert (error.operation, error.declaration_number, error.amount) == (
        "pay",
        declaration.number,
        declaration.total,
    )
    assert server.count(PAY) == 1
    settled = client.find_declaration_by_number(TRADER, declaration.number)
    assert (settled.status, settled.remaining_due) == ("PAYEE", Decimal("0"))
    with pytest.raises(PaymentAlreadyExists) as caught:
        client.pay(declaration.number, declaration.total, TRADER_IBAN)
    assert caught.value.payment_reference
    assert server.count(PAY, delegated=True) == 2


def test_pay_503_before_processing_settles_as_unpaid(client, server, declaration):
    server.inject(ServerError(503), PAY, calls=1)
    with pytest.raises(UrssafOutcomeUnknown):
        client.pay(declaration.number, declaration.total, TRADER_IBAN)
    assert server.count(PAY) == 1
    settled = client.find_declaration_by_number(TRADER, declaration.number)
    assert (settled.status, settled.remaining_due) == ("DECLAREE", declaration.total)
    assert client.pay(declaration.number, declaration.total, TRADER_IBAN).status == "ENREGISTRE"


# --- reads: retried, then a clean error ---------------------------------------------


def test_html_502_on_read_is_retried(client, server, sleeps):
    server.inject(HtmlPage(502), GET_ACCOUNT, calls=1)
    assert client.get_account(TRADER).eligible
    assert sleeps == [0.5]


def test_html_502_persisting_is_a_transport_error(client, server, sleeps):
    server.inject(HtmlPage(502), GET_ACCOUNT)
    with pytest.raises(UrssafTransportError) as caught:
        client.get_account(TRADER)
    error = caught.value
    assert (error.kind, error.status, error.operation) == ("html", 502, "get_account")
    assert error.correlation_id == server.requests_for(GET_ACCOUNT)[-1].headers["x-correlationid"]
    assert str(error) == (
        "Urssaf answered the account lookup with an HTML page (HTTP 502) instead of JSON. "
        f"Correlation id: {error.correlation_id}."
    )
    assert sleeps == [0.5, 1.0]  # exponential back-off
    assert server.count(GET_ACCOUNT) == MAX_RETRIES + 1


def test_malformed_json_on_read_is_a_transport_error(client, server):
    server.inject(MalformedJson(), FIND_DECLARATIONS, calls=1)
    with pytest.raises(UrssafTransportError) as caught:
        client.find_declarations(TRADER)
    assert (caught.value.kind, caught.value.status) == ("not_json", 200)
    assert caught.value.correlation_id


def test_slow_read_is_retried(client, server, sleeps):
    server.inject(Delay(SLOWER_THAN_TIMEOUT), GET_ACCOUNT, calls=1)
    assert client.get_account(TRADER).eligible
    assert server.count(GET_ACCOUNT) == 2
    assert sleeps == [0.5]


def test_slow_reads_end_in_a_transport_error(client, server, sleeps):
    server.inject(Delay(SLOWER_THAN_TIMEOUT), GET_ACCOUNT)
    with pytest.raises(UrssafTransportError) as caught:
        client.get_account(TRADER)
    assert (caught.value.kind, caught.value.status, caught.value.nothing_sent) == ("read_timeout", None, False)
    assert str(caught.value).startswith("Urssaf did not answer the account lookup in time.")
    assert server.count(GET_ACCOUNT) == MAX_RETRIES + 1
    assert len(sleeps) == MAX_RETRIES


def test_estimate_is_retried_on_503(client, server):
    server.inject(ServerError(503), ESTIMATE, calls=1)
    assert client.estimate(TRADER, *OCTOBER, SALES).total > 0
    assert server.count(ESTIMATE, delegated=True) == 1


def test_dropped_connection_on_read_is_retried(client, server):
    server.inject(DropConnection(), GET_ACCOUNT, calls=1)
    assert client.get_account(TRADER).eligible
    assert server.count(GET_ACCOUNT) == 2


def test_token_endpoint_503_is_retried(server, sleeps):
    server.inject(ServerError(503), TOKEN, calls=1)
    client = UrssafClient(
        server.base_url,
        "demo-tiers",
        "demo-secret",
        read_timeout=READ_TIMEOUT,
        max_retries=MAX_RETRIES,
        token_cache=TokenCache(),
    )
    client.sleep = sleeps.append
    assert client.fetch_token().expires_in == 3600
    assert server.count(TOKEN) == 2


# --- redirections: never followed -------------------------------------------------


@pytest.fixture(name="elsewhere")
def elsewhere_fixture():
    """A second loopback server, where the redirections point: it records
    whatever reaches it and answers like a token endpoint would."""
    token = b'{"access_token": "stolen", "token_type": "Bearer", "expires_in": 3600}'
    with FaultServer(lambda request: SandboxResponse(200, {"Content-Type": "application/json"}, token)) as server:
        yield server


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_token_request_does_not_follow_a_redirection(server, elsewhere, sleeps, status):
    # The https token endpoint sends the client to a plain http address: the
    # form body carries the client secret, so nothing may be sent there.
    server.inject(Redirect(elsewhere.base_url + TOKEN_PATH, status), TOKEN)
    client = UrssafClient(
        server.base_url, "demo-tiers", "demo-secret", max_retries=MAX_RETRIES, token_cache=TokenCache()
    )
    client.sleep = sleeps.append
    with pytest.raises(UrssafTransportError) as caught:
        client.get_account(TRADER)
    assert (caught.value.kind, caught.value.status, caught.value.operation) == ("redirect", status, "fetch_token")
    assert "redirection" in str(caught.value)
    assert elsewhere.requests == []
    assert server.count(TOKEN) == 1  # a redirection is not retried either
    assert server.count(GET_ACCOUNT) == 0
    assert sleeps == []


@pytest.mark.parametrize("operation, status", [(GET_ACCOUNT, 302), (DECLARE, 307), (PAY, 308)], ids=str)
def test_api_request_does_not_follow_a_redirection(client, server, elsewhere, declaration, operation, status):
    before = server.count(operation, delegated=True)
    rule = server.inject(Redirect(elsewhere.base_url + "/tiersdecl/v1/ae/elsewhere", status), operation)
    calls = {
        GET_ACCOUNT: lambda: client.get_account(TRADER),
        DECLARE: lambda: client.declare(TRADER, date(2026, 9, 1), date(2026, 9, 30), SALES, "REF-SEP"),
        PAY: lambda: client.pay(declaration.number, declaration.total, TRADER_IBAN),
    }
    with pytest.raises(UrssafTransportError) as caught:
        calls[operation]()
    # Not an unknown outcome: a redirection means Urssaf did not process it.
    assert not isinstance(caught.value, UrssafOutcomeUnknown)
    assert (caught.value.kind, caught.value.status, caught.value.operation) == ("redirect", status, operation.name)
    assert "redirection" in str(caught.value)
    assert elsewhere.requests == []
    assert rule.fired == 1  # sent once, not retried
    assert server.count(operation, delegated=True) == before


# --- answers that are not the contract's ---------------------------------------------


def test_error_status_with_an_empty_body_is_a_transport_error(client, server):
    server.inject(RawAnswer(502), GET_ACCOUNT)
    with pytest.raises(UrssafTransportError) as caught:
        client.get_account(TRADER)
    assert (caught.value.kind, caught.value.status, caught.value.field) == ("empty", 502, None)


def test_token_answer_without_a_token_is_an_invalid_answer(server, sleeps):
    server.inject(RawAnswer(200, {"token_type": "Bearer", "expires_in": 3600}), TOKEN)
    client = UrssafClient(server.base_url, "demo-tiers", "demo-secret", token_cache=TokenCache())
    client.sleep = sleeps.append
    with pytest.raises(UrssafTransportError) as caught:
        client.fetch_token()
    error = caught.value
    assert (error.kind, error.field, error.status, error.operation) == (
        "invalid_answer",
        "access_token",
        200,
        "fetch_token",
    )
    assert "field 'access_token' missing or malformed" in str(error)


def test_estimate_answer_missing_a_field_names_it(client, server):
    server.inject(RawAnswer(200, {"periode": {"dateDebut": "2026-10-01", "dateFin": "2026-10-31"}}), ESTIMATE)
    with pytest.raises(UrssafTransportError) as caught:
        client.estimate(TRADER, *OCTOBER, SALES)
    assert (caught.value.kind, caught.value.field, caught.value.operation) == (
        "invalid_answer",
        "montantTotal",
        "estimate",
    )


def test_declaration_answer_missing_a_field_is_an_unknown_outcome(client, server):
    server.inject(RawAnswer(201, {"numeroDeclaration": "D1", "statut": "DECLAREE"}, after=True), DECLARE)
    with pytest.raises(UrssafOutcomeUnknown) as caught:
        client.declare(TRADER, *OCTOBER, SALES, "REF-OCT")
    cause = caught.value.cause
    assert (cause.kind, cause.field, cause.status) == ("invalid_answer", "periode", 201)
    assert client.find_declaration_by_reference(TRADER, "REF-OCT") is not None


def test_https_to_a_plain_http_server_is_a_tls_failure(server, sleeps):
    # A TLS handshake with a server speaking plain HTTP: nothing was sent.
    client = UrssafClient(
        server.base_url.replace("http://", "https://"), "demo-tiers", "demo-secret", token_cache=TokenCache()
    )
    client.sleep = sleeps.append
    with pytest.raises(UrssafTransportError) as caught:
        client.fetch_token()
    assert (caught.value.kind, caught.value.nothing_sent, caught.value.operation) == ("tls", True, "fetch_token")
    assert server.count(TOKEN) == 0


# --- nothing listening ----------------------------------------------------------------


@pytest.fixture(name="closed_port_url")
def closed_port_url_fixture():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_connection_refused_is_a_transport_error_saying_nothing_was_sent(closed_port_url, sleeps):
    client = UrssafClient(
        closed_port_url,
        "demo-tiers",
        "demo-secret",
        connect_timeout=0.5,
        max_retries=1,
        token_cache=TokenCache(),
    )
    client.sleep = sleeps.append
    with pytest.raises(UrssafTransportError) as caught:
        client.get_account(TRADER)
    assert (caught.value.kind, caught.value.operation, caught.value.nothing_sent) == ("connection", "fetch_token", True)
    assert "nothing was sent" in str(caught.value)
    assert sleeps == [0.5]  # the token request was retried once


def test_declare_to_a_stopped_server_says_nothing_was_sent(client, server):
    server.stop()  # the client still holds a valid token
    with pytest.raises(UrssafTransportError) as caught:
        client.declare(TRADER, *OCTOBER, SALES, "REF-OCT")
    assert not isinstance(caught.value, UrssafOutcomeUnknown)
    assert (caught.value.kind, caught.value.operation) == ("connection", "declare")
    assert caught.value.nothing_sent
    assert str(caught.value).startswith("Could not connect to Urssaf for the declaration; nothing was sent.")


def test_fault_predicate_targets_one_declaration(client, server):
    second_ae = Identifier(nir=seed_account("liberal_bnc_liberatoire")["nir"])
    client.register_mandate(second_ae, date(2026, 1, 5))
    rule = server.inject(ServerError(500), DECLARE, when=lambda request: b"REF-B" in request.body)
    client.declare(TRADER, *OCTOBER, SALES, "REF-A")
    with pytest.raises(UrssafOutcomeUnknown):
        client.declare(second_ae, *OCTOBER, {"PRESTATION_SERVICES_BNC": Decimal("10")}, "REF-B")
    assert (rule.matched, rule.fired) == (1, 1)
    assert [r.json()["referenceTiers"] for r in server.requests_for(DECLARE, delegated=True)] == ["REF-A"]


def test_http_library_logs_do_not_show_the_nir(client, caplog):
    with caplog.at_level(logging.DEBUG):
        client.get_account(TRADER)
    urllib3_lines = [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    assert any("/comptes?nir=" in line for line in urllib3_lines)
    assert all(TRADER.nir not in record.getMessage() for record in caplog.records)
