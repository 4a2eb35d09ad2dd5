"""Client of Urssaf's "API Tierce Déclaration auto-entrepreneur".

Takes and returns plain Python values (see :mod:`.models`), checks every
input before sending (see :mod:`.validation`) and turns every failure into a
:class:`~.exceptions.UrssafError`.

Transport rules:

- OAuth2 client credentials, ``client_secret_post``; the bearer token is
  cached for the whole process (see :class:`TokenCache`) and renewed once
  when an API call answers 401.
- Reads (GET), estimates and mandate registration (idempotent per the
  contract) are retried with exponential back-off on connection errors,
  time-outs, 429 (honouring ``Retry-After``), 502, 503 and 504.
- Other writes (declare, pay, mandate end, SEPA mandates) are never sent
  twice once they may have reached Urssaf: a time-out, a lost connection,
  a 5xx or an unreadable success raise :class:`UrssafOutcomeUnknown`, to be
  settled with :meth:`UrssafClient.find_declaration_by_reference` (declare)
  or :meth:`UrssafClient.find_declaration_by_number` (pay). A 401 or 429
  answer means Urssaf did not process the request, so those are retried.
- Every request sends a fresh ``x-correlationid``; the one Urssaf returns is
  kept on each result and in :attr:`UrssafClient.last_correlation_id`.
- No request follows a redirection (the token request included): a 3xx
  answer is a :class:`UrssafTransportError`.
"""

import functools
import hashlib
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from ipaddress import ip_address
from urllib.parse import quote, urlsplit

import requests
from oauthlib.oauth2 import BackendApplicationClient, OAuth2Error
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth2Session
from urllib3.exceptions import ConnectTimeoutError

from .exceptions import (
    ErrorDetail,
    UrssafAuthError,
    UrssafError,
    UrssafOutcomeUnknown,
    UrssafRateLimitedError,
    UrssafTransportError,
    UrssafValidationError,
    api_error_class,
)
from .masking import install_log_redaction, redact, register_sensitive
from .models import (
    Account,
    Acknowledgement,
    ContributionLine,
    Declaration,
    Estimate,
    Identifier,
    Mandate,
    Payment,
    Period,
    ResultList,
    SepaMandate,
    TokenInfo,
)
from .validation import (
    CENT,
    validate_amount,
    validate_bic,
    validate_date,
    validate_iban,
    validate_optional_date,
    validate_period,
    validate_reference,
    validate_reference_tiers,
    validate_text,
    validate_turnover,
)

_logger = logging.getLogger(__name__)

TOKEN_PATH = "/api/oauth/v1/token"
DEFAULT_SCOPE = "tiersdecl.ae"
DEFAULT_BASE_PATH = "/tiersdecl/v1/ae"
CORRELATION_HEADER = "x-correlationid"
# A cached token is given up shortly before it expires, so that a call never
# leaves with a token that dies on the way: a tenth of its lifetime, at most
# a minute. An hour-long token is renewed after 59 minutes, a 30 s one after
# 27 s (a fixed minute would never reuse a token living a minute or less).
TOKEN_RENEWAL_MARGIN = 60
TOKEN_RENEWAL_FRACTION = 0.1
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# Longest wait honoured from a Retry-After header (seconds): a user is
# waiting behind most calls.
DEFAULT_MAX_RETRY_AFTER = 30.0

install_log_redaction()


@dataclass(frozen=True)
class _Operation:
    name: str
    method: str
    path: str
    # True when sending it again cannot record anything twice.
    resendable: bool


_GET_ACCOUNT = _Operation("get_account", "GET", "/comptes", True)
_REGISTER_MANDATE = _Operation("register_mandate", "POST", "/mandats", True)
_END_MANDATE = _Operation("end_mandate", "DELETE", "/mandats/{}", False)
_ESTIMATE = _Operation("estimate", "POST", "/estimations", True)
_DECLARE = _Operation("declare", "POST", "/declarations", False)
_FIND_DECLARATIONS = _Operation("find_declarations", "GET", "/declarations", True)
_PAY = _Operation("pay", "POST", "/paiements", False)
_LIST_SEPA = _Operation("list_sepa_mandates", "GET", "/mandats-sepa", True)
_REGISTER_SEPA = _Operation("register_sepa_mandate", "POST", "/mandats-sepa", False)
_REVOKE_SEPA = _Operation("revoke_sepa_mandate", "DELETE", "/mandats-sepa/{}", False)


class TokenCache:
    """Bearer tokens shared by every client of the process.

    Keyed by (base URL, client id, scope, digest of the secret); a token is
    reused until :func:`token_renewal_margin` seconds before it expires. One
    thread at a time fetches the token of a key; the others wait for it.
    ``clock`` is injectable for tests (monotonic seconds).
    """

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._tokens = {}
        self._fetch_locks = {}

    def _valid_token(self, key):
        with self._lock:
            entry = self._tokens.get(key)
        if entry and self.clock() < entry[1]:
            return entry[0]
        return None

    def get(self, key, fetch):
        """A valid token for *key*; ``fetch()`` returns ``(token, expires_in)``
        and is called, under the key's lock, only when none is cached."""
        token = self._valid_token(key)
        if token:
            return token
        with self._lock:
            fetch_lock = self._fetch_locks.setdefault(key, threading.Lock())
        with fetch_lock:
            token = self._valid_token(key)
            if token:
                return token
            return self.fetch_and_store(key, fetch)

    def fetch_and_store(self, key, fetch):
        started = self.clock()
        token, expires_in = fetch()
        renew_at = started + expires_in - token_renewal_margin(expires_in)
        with self._lock:
            self._tokens[key] = (token, renew_at)
        return token

    def invalidate(self, key, token):
        """Forget *token* (refused with 401), unless already replaced."""
        with self._lock:
            entry = self._tokens.get(key)
            if entry and entry[0] == token:
                del self._tokens[key]

    def clear(self):
        with self._lock:
            self._tokens.clear()


TOKEN_CACHE = TokenCache()


class SharedBackoff:
    """One pause shared by every thread of a pool of calls.

    A 429 tells the tiers-déclarant, not one call, to slow down: the thread
    that gets it :meth:`pause` s the whole pool until ``Retry-After`` has
    passed, and every thread :meth:`wait` s for it before its next request.
    ``clock`` is injectable for tests (monotonic seconds).
    """

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._until = 0.0
        self.pauses = 0

    def pause(self, seconds):
        """Hold every request back for ``seconds`` from now (a longer pause
        already running is kept)."""
        with self._lock:
            self._until = max(self._until, self._clock() + max(0.0, seconds))
            self.pauses += 1

    def wait(self, sleep):
        """Return once no pause is running, sleeping with ``sleep``."""
        while True:
            with self._lock:
                delay = self._until - self._clock()
            if delay <= 0:
                return
            sleep(delay)


class _NoRedirects:
    """Mixed into every session of the client: no redirection is followed.

    Following one sends the request again, body and headers included, to
    wherever ``Location`` points, plain http included: the client secret of
    the token request, or a bearer token, would go there. A 3xx answer comes
    back as such and is reported as an error.
    """

    def request(self, *args, **kwargs):
        kwargs["allow_redirects"] = False
        return super().request(*args, **kwargs)


class _Session(_NoRedirects, requests.Session):
    """Session of the API calls."""


class _TokenSession(_NoRedirects, OAuth2Session):
    """Session of the token request."""


class _LoopbackHttpAdapter(HTTPAdapter):
    """Sends an ``https://`` URL over plain HTTP.

    oauthlib refuses a token endpoint that is not https; a sandbox served on
    the loopback interface (``python -m urssaf_api.server``) speaks plain
    HTTP, and nothing leaves the machine there. Only mounted for loopback
    hosts.
    """

    def send(self, request, **kwargs):
        request.url = "http://" + request.url[len("https://") :]
        return super().send(request, **kwargs)


def token_renewal_margin(expires_in):
    """Seconds before its expiry at which a token of *expires_in* seconds is
    renewed (see :data:`TOKEN_RENEWAL_FRACTION`)."""
    return min(TOKEN_RENEWAL_MARGIN, max(expires_in, 0) * TOKEN_RENEWAL_FRACTION)


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _register_granted_token(response, *args, **kwargs):
    """Response hook of the token request: register the tokens of the answer
    for masking as soon as it arrives, for requests-oauthlib logs the answer
    (DEBUG) before it hands it back."""
    try:
        payload = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return response
    if isinstance(payload, dict):
        for name in ("access_token", "refresh_token", "id_token"):
            register_sensitive(payload.get(name), transient=True)
    return response


class _Unreadable(Exception):
    """A 2xx answer whose body is not what the contract describes: *field*
    is the contract field missing or malformed, None for the whole body."""

    def __init__(self, field=None):
        super().__init__(field)
        self.field = field


def _refusals_name(operation):
    """Decorate a public method: a value it refuses names *operation*
    (``UrssafValidationError.operation``), unless a nested call already did."""

    def decorate(method):
        @functools.wraps(method)
        def checked(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except UrssafValidationError as error:
                if error.operation is None:
                    error.operation = operation.name
                raise

        return checked

    return decorate


def _answer_lost(operation, failure, context):
    """The error to raise when *failure* hid the answer to *operation*: the
    failure itself if the operation may be sent again, else an unknown
    outcome (the write may have been recorded) caused by it."""
    if operation.resendable:
        return failure
    return UrssafOutcomeUnknown(operation.name, correlation_id=failure.correlation_id, cause=failure, **context)


class _RetryableFailure(Exception):
    def __init__(self, error, retry_after=None):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _request_may_have_been_sent(error):
    """False only when the connection was never established."""
    if isinstance(error, (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError)):
        return False
    if isinstance(
        error, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema, requests.exceptions.MissingSchema)
    ):
        return False
    if isinstance(error, requests.exceptions.ConnectionError):
        reason = error.args[0] if error.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError
        if isinstance(reason, ConnectTimeoutError):  # includes NewConnectionError
            return False
    return True


def _transport_kind(error):
    """The :data:`~.exceptions.TRANSPORT_KINDS` code of a requests failure."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "connect_timeout"
    if isinstance(error, requests.exceptions.Timeout):
        return "read_timeout"
    if isinstance(error, requests.exceptions.SSLError):
        return "tls"
    if not _request_may_have_been_sent(error):
        return "connection"
    return "connection_lost"


def _json_body(value):
    """JSON text of a request body. Amounts are Decimals with two decimals
    under 10^9, so their float is exact to the cent."""

    def default(obj):
        if isinstance(obj, Decimal):
            return float(obj)
        if isinstance(obj, date):
            return obj.isoformat()
        raise TypeError(type(obj).__name__)

    return json.dumps(value, default=default, ensure_ascii=False).encode("utf-8")


def _parse_json(response):
    try:
        return json.loads(response.content.decode("utf-8"), parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise _Unreadable() from None


def _kind_of_body(response):
    """What an answer that is not the JSON expected is: ``html``, ``empty``
    or ``not_json``."""
    content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
    if content_type == "text/html" or response.content.lstrip()[:1] == b"<":
        return "html"
    if not response.content:
        return "empty"
    return "not_json"


# Reading of the contract's objects ---------------------------------------


def _member(data, name, required=True):
    if not isinstance(data, dict):
        raise _Unreadable()
    value = data.get(name)
    if value is None and required:
        raise _Unreadable(name)
    return value


def _text(data, name, required=True):
    value = _member(data, name, required)
    if value is None:
        return None
    return str(value)


def _decimal(data, name, required=True):
    value = _member(data, name, required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise _Unreadable(name)
    try:
        return Decimal(value)
    except InvalidOperation:
        raise _Unreadable(name) from None


def _date(data, name, required=True):
    value = _member(data, name, required)
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise _Unreadable(name) from None


def _datetime(data, name):
    value = _member(data, name, required=False)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise _Unreadable(name) from None


def _list(data, name):
    value = _member(data, name, required=False) or []
    if not isinstance(value, list):
        raise _Unreadable(name)
    return value


def _period(data, name="periode"):
    period = _member(data, name)
    return Period(_date(period, "dateDebut"), _date(period, "dateFin"))


def _contribution_line(data):
    return ContributionLine(
        category=_text(data, "categorie"),
        label=_text(data, "libelle"),
        base=_decimal(data, "base"),
        rate=_decimal(data, "taux"),
        amount=_decimal(data, "montant"),
    )


def _mandate(data, correlation_id):
    return Mandate(
        mandate_id=_text(data, "idMandat"),
        status=_text(data, "statut"),
        effective_date=_date(data, "dateEffet", required=False),
        end_date=_date(data, "dateFin", required=False),
        correlation_id=correlation_id,
    )


def _account(data, identifier, correlation_id):
    mandate = _member(data, "mandat", required=False)
    eligible = _member(data, "eligible")
    if not isinstance(eligible, bool):
        raise _Unreadable("eligible")
    return Account(
        identifier=identifier,
        eligible=eligible,
        periodicity=_text(data, "periodicite"),
        ineligibility_reason=_text(data, "motifNonEligibilite", required=False),
        activity_start=_date(data, "dateDebutActivite", required=False),
        categories=tuple(str(c) for c in _list(data, "categories")),
        versement_liberatoire=_member(data, "versementLiberatoire", required=False),
        mandate=_mandate(mandate, correlation_id) if mandate else None,
        correlation_id=correlation_id,
    )


def _declaration(data, correlation_id):
    return Declaration(
        number=_text(data, "numeroDeclaration"),
        period=_period(data),
        total=_decimal(data, "montantTotal"),
        status=_text(data, "statut"),
        reference_tiers=_text(data, "referenceTiers", required=False),
        declared_at=_datetime(data, "dateDeclaration"),
        due_date=_date(data, "dateExigibilite", required=False),
        turnover=tuple(
            (_text(line, "categorie"), _decimal(line, "montant")) for line in _list(data, "chiffresAffaires")
        ),
        lines=tuple(_contribution_line(line) for line in _list(data, "cotisations")),
        remaining_due=_decimal(data, "montantRestantDu", required=False),
        correlation_id=correlation_id,
    )


def _sepa_mandate(data, correlation_id):
    return SepaMandate(
        rum=_text(data, "rum"),
        iban=_text(data, "iban"),
        status=_text(data, "statut"),
        bic=_text(data, "bic", required=False),
        holder=_text(data, "titulaire", required=False),
        signature_date=_date(data, "dateSignature", required=False),
        correlation_id=correlation_id,
    )


def _error_details(payload):
    """Urssaf's ``Erreurs`` array (a lone object or an OAuth2 error tolerated)."""
    items = payload if isinstance(payload, list) else [payload]
    details = []
    for item in items:
        if not isinstance(item, dict):
            continue
        code = item.get("code") or item.get("error")
        message = item.get("message") or item.get("error_description")
        if code is None and message is None:
            continue
        details.append(
            ErrorDetail(
                code=str(code) if code is not None else None,
                message=str(message) if message is not None else None,
                description=str(item["description"]) if item.get("description") else None,
            )
        )
    return details


class UrssafClient:
    """One tiers-déclarant's access to the API (see the module docstring).

    ``adapter`` (a :class:`requests.adapters.BaseAdapter`, e.g. the embedded
    sandbox's ``SandboxAdapter``) is mounted for ``base_url`` so that the same
    code runs in-process. ``token_cache`` defaults to the process-wide
    :data:`TOKEN_CACHE`. ``sleep`` (attribute) is what the client waits with
    between retries; tests replace it.

    One client may serve a pool of threads: each thread gets its own
    session (:attr:`_session`), the token is fetched by one thread while the
    others wait (:class:`TokenCache`), and ``shared_backoff`` (a
    :class:`SharedBackoff`, attribute too) makes a 429 hold back every
    thread of the pool for the ``Retry-After`` asked.
    """

    def __init__(
        self,
        base_url,
        client_id,
        client_secret,
        *,
        scope=DEFAULT_SCOPE,
        base_path=DEFAULT_BASE_PATH,
        connect_timeout=5,
        read_timeout=30,
        adapter=None,
        max_retries=3,
        backoff=0.5,
        max_retry_after=DEFAULT_MAX_RETRY_AFTER,
        token_cache=None,
        shared_backoff=None,
    ):
        parts = urlsplit(base_url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UrssafValidationError("base_url", "invalid_url")
        loopback_http = parts.scheme == "http" and _is_loopback(parts.hostname)
        if parts.scheme == "http" and not loopback_http and adapter is None:
            raise UrssafValidationError("base_url", "https_required")
        validate_text(client_id, "client_id", max_length=256)
        validate_text(client_secret, "client_secret", max_length=1024)
        register_sensitive(client_secret)
        self.base_url = base_url.rstrip("/")
        self.api_url = self.base_url + "/" + base_path.strip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.sleep = time.sleep
        self.token_cache = token_cache if token_cache is not None else TOKEN_CACHE
        secret_digest = hashlib.sha256(client_secret.encode("utf-8")).hexdigest()[:16]
        self._cache_key = (self.base_url, client_id, scope, secret_digest)
        self._adapter = adapter
        self._loopback_http = loopback_http
        # The pause of a pool of calls sharing this client (None: each call
        # backs off on its own).
        self.shared_backoff = shared_backoff
        self._local = threading.local()
        self._sessions = []
        self._sessions_lock = threading.Lock()

    @property
    def _session(self):
        """This thread's session: a requests.Session is not documented as
        thread-safe, so each thread of a pool of calls gets its own (and
        keeps its connections alive across its calls)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = _Session()
            # Proxy settings from the environment matter for a real network,
            # not for loopback nor for an in-process transport (where reading
            # them on every call was a third of the client's overhead).
            session.trust_env = not self._loopback_http and self._adapter is None
            if self._adapter is not None:
                session.mount(self.base_url + "/", self._adapter)
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def __repr__(self):
        return f"UrssafClient({self.base_url!r}, client_id={self.client_id!r})"

    def close(self):
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def last_correlation_id(self):
        """Correlation id of this thread's last exchange with Urssaf."""
        return getattr(self._local, "correlation_id", None)

    def _remember(self, correlation_id):
        self._local.correlation_id = correlation_id

    # Waiting ---------------------------------------------------------------

    def _retry_after_seconds(self, response):
        value = response.headers.get("Retry-After")
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            seconds = (when - datetime.now(when.tzinfo)).total_seconds()
        return max(0.0, seconds)

    def _wait(self, attempt, retry_after, rate_limited=False):
        delay = min(retry_after if retry_after is not None else self.backoff * (2**attempt), self.max_retry_after)
        if rate_limited and self.shared_backoff is not None:
            # The whole pool slows down; this thread waits with the others
            # before its next request.
            self.shared_backoff.pause(delay)
            return
        self.sleep(delay)

    def _log_exchange(self, method, url, outcome, started, correlation_id):
        _logger.debug(
            "Urssaf %s %s -> %s in %d ms (x-correlationid %s)",
            method,
            redact(urlsplit(url).path),
            outcome,
            (time.monotonic() - started) * 1000,
            correlation_id,
        )

    # Token -------------------------------------------------------------------

    def _token_session(self):
        session = _TokenSession(
            client=BackendApplicationClient(client_id=self.client_id, scope=self.scope),
            scope=self.scope,
        )
        session.trust_env = not self._loopback_http and self._adapter is None
        token_url = self.base_url + TOKEN_PATH
        if self._loopback_http:
            token_url = "https://" + token_url[len("http://") :]
        token_base = token_url[: -len(TOKEN_PATH)] + "/"
        # Before requests-oauthlib logs the answer, and whatever the answer.
        session.hooks["response"].append(_register_granted_token)
        if self._adapter is not None:
            session.mount(token_base, self._adapter)
        elif self._loopback_http:
            session.mount(token_base, _LoopbackHttpAdapter())
        return session, token_url

    def _fetch_token_once(self):
        """One token request; returns ``(token dict, correlation id)``."""
        session, token_url = self._token_session()
        correlation_id = str(uuid.uuid4())
        state = {"correlation_id": correlation_id}
        started = time.monotonic()

        def check_answer(response):
            state["correlation_id"] = response.headers.get(CORRELATION_HEADER) or correlation_id
            state["status"] = response.status_code
            self._remember(state["correlation_id"])
            self._log_exchange("POST", token_url, response.status_code, started, state["correlation_id"])
            if response.status_code != 200:
                raise self._error_from_answer("fetch_token", response, state["correlation_id"], auth_family=True)
            try:
                payload, kind = _parse_json(response), "invalid_answer"
            except _Unreadable:
                payload, kind = None, _kind_of_body(response)
            if not isinstance(payload, dict) or not payload.get("access_token"):
                raise UrssafTransportError(
                    kind,
                    field="access_token" if isinstance(payload, dict) else None,
                    status=response.status_code,
                    correlation_id=state["correlation_id"],
                    operation="fetch_token",
                )
            return response

        session.register_compliance_hook("access_token_response", check_answer)
        try:
            token = session.fetch_token(
                token_url,
                client_id=self.client_id,
                client_secret=self._client_secret,
                include_client_id=True,
                timeout=self.timeout,
                headers={
                    "Accept": "application/json",
                    "Content-Type": "application/x-www-form-urlencoded",
                    CORRELATION_HEADER: correlation_id,
                },
            )
        except UrssafError as error:
            if getattr(error, "status", None) in RETRYABLE_STATUSES:
                raise _RetryableFailure(error, getattr(error, "retry_after", None)) from None
            raise
        except requests.RequestException as error:
            self._remember(correlation_id)
            self._log_exchange("POST", token_url, type(error).__name__, started, correlation_id)
            raise _RetryableFailure(
                UrssafTransportError(_transport_kind(error), correlation_id=correlation_id, operation="fetch_token")
            ) from None
        except OAuth2Error as error:
            raise UrssafAuthError(
                state.get("status") or 401,
                error.error,
                error.description,
                correlation_id=state["correlation_id"],
                operation="fetch_token",
            ) from None
        except Warning as warning:  # oauthlib: granted scope differs from the one asked
            token = dict(getattr(warning, "token", None) or {})
            if not token.get("access_token"):
                raise
        finally:
            session.close()
        return token, state["correlation_id"]

    def _fetch_token(self):
        attempt = 0
        while True:
            try:
                return self._fetch_token_once()
            except _RetryableFailure as failure:
                if attempt >= self.max_retries:
                    raise failure.error from None
                _logger.info("Urssaf token request failed (%s), retrying", failure.error.__class__.__name__)
                self._wait(attempt, failure.retry_after)
                attempt += 1

    def _token_fetcher(self, sink=None):
        def fetch():
            token, correlation_id = self._fetch_token()
            if sink is not None:
                sink.update(token, correlation_id=correlation_id)
            try:
                expires_in = int(token.get("expires_in") or 0)
            except (TypeError, ValueError):
                expires_in = 0
            return token["access_token"], expires_in

        return fetch

    def _bearer_token(self):
        return self.token_cache.get(self._cache_key, self._token_fetcher())

    def fetch_token(self):
        """Ask for a new token now (the "Test connection" button); it
        replaces the cached one. Returns a :class:`TokenInfo`."""
        granted = {}
        self.token_cache.fetch_and_store(self._cache_key, self._token_fetcher(granted))
        try:
            expires_in = int(granted.get("expires_in") or 0)
        except (TypeError, ValueError):
            expires_in = 0
        scope = granted.get("scope")
        if isinstance(scope, (list, tuple)):
            scope = " ".join(scope)
        return TokenInfo(
            token_type=str(granted.get("token_type") or "Bearer"),
            expires_in=expires_in,
            scope=scope,
            correlation_id=granted.get("correlation_id"),
        )

    # Exchanges ---------------------------------------------------------------

    def _error_from_answer(self, operation, response, correlation_id, auth_family=False):
        """The :class:`UrssafError` an error answer stands for."""
        status = response.status_code
        if 300 <= status < 400:
            return UrssafTransportError("redirect", status=status, correlation_id=correlation_id, operation=operation)
        try:
            details = _error_details(_parse_json(response))
        except _Unreadable:
            details = []
        if not details:
            return UrssafTransportError(
                _kind_of_body(response), status=status, correlation_id=correlation_id, operation=operation
            )
        first = details[0]
        if auth_family and status in (400, 401, 403):
            error_class = UrssafAuthError
        else:
            error_class = api_error_class(status, first.code)
        extra = {}
        if error_class is UrssafRateLimitedError:
            extra["retry_after"] = self._retry_after_seconds(response)
        return error_class(
            status,
            first.code,
            first.message,
            first.description,
            correlation_id,
            details,
            operation=operation,
            **extra,
        )

    def _call(self, operation, *, path_arg=None, params=None, body=None, context=None):
        """Send one logical call and return ``(payload, status, correlation id)``.

        *context* (reference_tiers / declaration_number / amount) goes into
        :class:`UrssafOutcomeUnknown`.
        """
        path = operation.path.format(quote(path_arg, safe="")) if path_arg else operation.path
        url = self.api_url + path
        data = _json_body(body if body is not None else {}) if operation.method == "POST" else None
        context = context or {}
        attempt = 0
        renewed_token = False
        while True:
            if self.shared_backoff is not None:
                self.shared_backoff.wait(self.sleep)
            token = self._bearer_token()
            correlation_id = str(uuid.uuid4())
            headers = {
                "Accept": "application/json",
                "Authorization": f"Bearer {token}",
                CORRELATION_HEADER: correlation_id,
            }
            if data is not None:
                headers["Content-Type"] = "application/json"
            started = time.monotonic()
            try:
                response = self._session.request(
                    operation.method,
                    url,
                    params=params,
                    data=data,
                    headers=headers,
                    timeout=self.timeout,
                )
            except requests.RequestException as error:
                self._remember(correlation_id)
                self._log_exchange(operation.method, url, type(error).__name__, started, correlation_id)
                if operation.resendable and attempt < self.max_retries:
                    self._log_retry(operation, type(error).__name__, attempt)
                    self._wait(attempt, None)
                    attempt += 1
                    continue
                failure = UrssafTransportError(
                    _transport_kind(error), correlation_id=correlation_id, operation=operation.name
                )
                if failure.nothing_sent:
                    raise failure from None
                raise _answer_lost(operation, failure, context) from None

            correlation_id = response.headers.get(CORRELATION_HEADER) or correlation_id
            self._remember(correlation_id)
            status = response.status_code
            self._log_exchange(operation.method, url, status, started, correlation_id)
            if status == 401 and not renewed_token:
                # Expired or revoked token: Urssaf did not process the call.
                self.token_cache.invalidate(self._cache_key, token)
                renewed_token = True
                continue
            if status in RETRYABLE_STATUSES and attempt < self.max_retries and (operation.resendable or status == 429):
                self._log_retry(operation, status, attempt)
                rate_limited = status == 429
                self._wait(attempt, self._retry_after_seconds(response) if rate_limited else None, rate_limited)
                attempt += 1
                continue
            return self._decode(operation, response, correlation_id, context)

    def _log_retry(self, operation, reason, attempt):
        _logger.info("Urssaf %s: %s, retry %d/%d", operation.name, reason, attempt + 1, self.max_retries)

    def _decode(self, operation, response, correlation_id, context):
        status = response.status_code
        if 200 <= status < 300:
            if status == 204 or not response.content:
                return None, status, correlation_id
            try:
                return _parse_json(response), status, correlation_id
            except _Unreadable:
                failure = UrssafTransportError(
                    _kind_of_body(response), status=status, correlation_id=correlation_id, operation=operation.name
                )
                raise _answer_lost(operation, failure, context) from None
        error = self._error_from_answer(operation.name, response, correlation_id)
        if status >= 500:
            # A technical error may come after the write was recorded.
            raise _answer_lost(operation, error, context)
        raise error

    def _read(self, operation, parse, payload, status, correlation_id, context=None):
        """Build the result; an unreadable success is a transport error, or an
        unknown outcome for a write that cannot be re-sent."""
        try:
            return parse(payload)
        except _Unreadable as unreadable:
            failure = UrssafTransportError(
                "invalid_answer",
                field=unreadable.field,
                status=status,
                correlation_id=correlation_id,
                operation=operation.name,
            )
            raise _answer_lost(operation, failure, context or {}) from None

    # Operations ------------------------------------------------------------

    @_refusals_name(_GET_ACCOUNT)
    def get_account(self, identifier):
        """``Comptes``: eligibility, periodicity and mandate of an AE."""
        identifier = _check_identifier(identifier)
        payload, status, cid = self._call(_GET_ACCOUNT, params=identifier.as_dict())
        return self._read(_GET_ACCOUNT, lambda p: _account(p, identifier, cid), payload, status, cid)

    @_refusals_name(_REGISTER_MANDATE)
    def register_mandate(self, identifier, signature_date, last_name=None, first_names=None, birth_date=None):
        """Notify Urssaf of the mandate this platform holds (idempotent)."""
        identifier = _check_identifier(identifier)
        body = {
            "identifiant": identifier.as_dict(),
            "dateSignature": validate_date(signature_date, "dateSignature").isoformat(),
        }
        if last_name is not None:
            body["nom"] = validate_text(last_name, "nom")
        if first_names is not None:
            body["prenoms"] = validate_text(first_names, "prenoms")
        if birth_date is not None:
            body["dateNaissance"] = validate_date(birth_date, "dateNaissance").isoformat()
        payload, status, cid = self._call(_REGISTER_MANDATE, body=body)
        return self._read(_REGISTER_MANDATE, lambda p: _mandate(p, cid), payload, status, cid)

    @_refusals_name(_END_MANDATE)
    def end_mandate(self, mandate_id):
        """Notify Urssaf that the mandate ends."""
        mandate_id = validate_reference(mandate_id, "idMandat")
        _, status, cid = self._call(_END_MANDATE, path_arg=mandate_id)
        return Acknowledgement(status=status, correlation_id=cid)

    def _declaration_input(self, identifier, period_start, period_end, turnover):
        identifier = _check_identifier(identifier)
        start, end = validate_period(period_start, period_end)
        lines = validate_turnover(turnover)
        return {
            "identifiant": identifier.as_dict(),
            "periode": Period(start, end).as_dict(),
            "chiffresAffaires": [{"categorie": category, "montant": amount} for category, amount in lines],
        }

    @_refusals_name(_ESTIMATE)
    def estimate(self, identifier, period_start, period_end, turnover):
        """``Estimer``: contributions due for *turnover* (category -> Decimal)."""
        body = self._declaration_input(identifier, period_start, period_end, turnover)
        payload, status, cid = self._call(_ESTIMATE, body=body)

        def parse(data):
            return Estimate(
                period=_period(data),
                lines=tuple(_contribution_line(line) for line in _list(data, "cotisations")),
                total=_decimal(data, "montantTotal"),
                correlation_id=cid,
            )

        return self._read(_ESTIMATE, parse, payload, status, cid)

    @_refusals_name(_DECLARE)
    def declare(self, identifier, period_start, period_end, turnover, reference_tiers):
        """``Déclarer``. Never re-sent: see :class:`UrssafOutcomeUnknown`;
        a period already declared raises :class:`DeclarationAlreadyExists`."""
        body = self._declaration_input(identifier, period_start, period_end, turnover)
        body["referenceTiers"] = validate_reference_tiers(reference_tiers)
        context = {"reference_tiers": reference_tiers}
        payload, status, cid = self._call(_DECLARE, body=body, context=context)
        return self._read(_DECLARE, lambda p: _declaration(p, cid), payload, status, cid, context)

    @_refusals_name(_FIND_DECLARATIONS)
    def find_declarations(self, identifier, period_start=None, reference_tiers=None):
        """Declarations of an account, newest first, optionally of the period
        starting on *period_start* or with *reference_tiers*."""
        identifier = _check_identifier(identifier)
        params = identifier.as_dict()
        if period_start is not None:
            params["dateDebut"] = validate_date(period_start, "dateDebut").isoformat()
        if reference_tiers is not None:
            params["referenceTiers"] = validate_reference_tiers(reference_tiers)
        payload, status, cid = self._call(_FIND_DECLARATIONS, params=params)

        def parse(data):
            if not isinstance(data, list):
                raise _Unreadable()
            return ResultList((_declaration(item, cid) for item in data), correlation_id=cid)

        return self._read(_FIND_DECLARATIONS, parse, payload, status, cid)

    @_refusals_name(_FIND_DECLARATIONS)
    def find_declaration_by_reference(self, identifier, reference_tiers):
        """The declaration sent with *reference_tiers*, or None if Urssaf has
        none: settles a declaration whose outcome was unknown."""
        found = self.find_declarations(identifier, reference_tiers=reference_tiers)
        for declaration in found:
            if declaration.reference_tiers == reference_tiers:
                return declaration
        return None

    @_refusals_name(_FIND_DECLARATIONS)
    def find_declaration_by_number(self, identifier, declaration_number, period_start=None):
        """The declaration *declaration_number* of this account, or None.
        Its ``remaining_due`` and ``status`` settle a payment whose outcome
        was unknown."""
        declaration_number = validate_reference(declaration_number, "numeroDeclaration")
        for declaration in self.find_declarations(identifier, period_start=period_start):
            if declaration.number == declaration_number:
                return declaration
        return None

    @_refusals_name(_PAY)
    def pay(self, declaration_number, amount, iban, debit_date=None):
        """``Payer``: SEPA tele-payment of *amount* for a declaration. Never
        re-sent: see :class:`UrssafOutcomeUnknown`; a declaration already
        paid raises :class:`PaymentAlreadyExists`."""
        declaration_number = validate_reference(declaration_number, "numeroDeclaration")
        amount = validate_amount(amount, "montant", minimum=CENT)
        body = {
            "numeroDeclaration": declaration_number,
            "montant": amount,
            "iban": validate_iban(iban),
        }
        if debit_date is not None:
            body["datePrelevement"] = validate_optional_date(debit_date, "datePrelevement").isoformat()
        context = {"declaration_number": declaration_number, "amount": amount}
        payload, status, cid = self._call(_PAY, body=body, context=context)

        def parse(data):
            return Payment(
                reference=_text(data, "referencePaiement"),
                declaration_number=_text(data, "numeroDeclaration"),
                amount=_decimal(data, "montant"),
                status=_text(data, "statut"),
                debit_date=_date(data, "datePrelevement", required=False),
                correlation_id=cid,
            )

        return self._read(_PAY, parse, payload, status, cid, context)

    @_refusals_name(_LIST_SEPA)
    def list_sepa_mandates(self, identifier):
        """SEPA mandates Urssaf knows for the account (IBANs masked by Urssaf)."""
        identifier = _check_identifier(identifier)
        payload, status, cid = self._call(_LIST_SEPA, params=identifier.as_dict())

        def parse(data):
            if not isinstance(data, list):
                raise _Unreadable()
            return ResultList((_sepa_mandate(item, cid) for item in data), correlation_id=cid)

        return self._read(_LIST_SEPA, parse, payload, status, cid)

    @_refusals_name(_REGISTER_SEPA)
    def register_sepa_mandate(self, identifier, iban, holder, signature_date, bic=None):
        """Register a SEPA direct-debit mandate for the account."""
        identifier = _check_identifier(identifier)
        body = {
            "identifiant": identifier.as_dict(),
            "iban": validate_iban(iban),
            "titulaire": validate_text(holder, "titulaire"),
            "dateSignature": validate_date(signature_date, "dateSignature").isoformat(),
        }
        bic = validate_bic(bic)
        if bic is not None:
            body["bic"] = bic
        payload, status, cid = self._call(_REGISTER_SEPA, body=body)
        return self._read(_REGISTER_SEPA, lambda p: _sepa_mandate(p, cid), payload, status, cid)

    @_refusals_name(_REVOKE_SEPA)
    def revoke_sepa_mandate(self, rum):
        """Revoke the SEPA mandate *rum*."""
        rum = validate_reference(rum, "rum")
        _, status, cid = self._call(_REVOKE_SEPA, path_arg=rum)
        return Acknowledgement(status=status, correlation_id=cid)


def _check_identifier(identifier):
    if not isinstance(identifier, Identifier):
        raise UrssafValidationError("identifiant", "not_an_identifier")
    return identifier
