"""A fault-injecting Urssaf server for robustness tests.

:class:`FaultServer` serves, on the loopback interface, any handler
``Callable[[SandboxRequest], SandboxResponse]`` (normally
``Sandbox(...).handle``) and lets a test script what goes wrong, call by
call::

    sandbox = Sandbox(MemoryStorage())
    with FaultServer(sandbox.handle) as server:
        server.inject(ServerError(500, after=True), operation=DECLARE, calls=1)
        client = UrssafClient(server.base_url, "demo-tiers", "demo-secret",
                              read_timeout=0.3)
        ...
        assert server.count(DECLARE, delegated=True) == 1

Faults (``after=True`` means the request is first handed to the handler, so
Urssaf *did* record it, and the client is then shown the fault):

- :class:`RateLimit` — 429 with ``Retry-After``;
- :class:`ServerError` — 500/503... with Urssaf's ``ERREUR_TECHNIQUE`` body;
- :class:`HtmlPage` — an HTML error page (a gateway's 502);
- :class:`RawAnswer` — any fixed status and body (empty, JSON missing a
  field...);
- :class:`MalformedJson` — a truncated JSON body;
- :class:`Delay` — sleep (past the client's read time-out) then answer;
- :class:`DropConnection` — close the connection without answering;
- :class:`Redirect` — a 3xx pointing elsewhere (another loopback server that
  records what reaches it proves a redirection was not followed);
- :class:`Unauthorized` — 401 to a valid token, once;
- :class:`ExpireTokens` — every token seen so far is refused from now on
  (401) until the client fetches a new one.

Every request is recorded (:attr:`FaultServer.requests`), so a test can
prove that a declaration or a payment reached Urssaf exactly once.
"""

import contextlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from requests.structures import CaseInsensitiveDict

from .sandbox import SandboxRequest, SandboxResponse

__all__ = [
    "Clock",
    "DECLARE",
    "END_MANDATE",
    "ESTIMATE",
    "FIND_DECLARATIONS",
    "GET_ACCOUNT",
    "LIST_SEPA_MANDATES",
    "OPERATIONS",
    "PAY",
    "REGISTER_MANDATE",
    "REGISTER_SEPA_MANDATE",
    "REVOKE_SEPA_MANDATE",
    "TOKEN",
    "Delay",
    "DropConnection",
    "ExpireTokens",
    "Fault",
    "FaultRule",
    "FaultServer",
    "HtmlPage",
    "MalformedJson",
    "Operation",
    "RateLimit",
    "RawAnswer",
    "RecordedRequest",
    "Redirect",
    "ServerError",
    "Unauthorized",
]


class Clock:
    """A settable clock for the sandbox (datetimes) or a token cache
    (monotonic seconds): a test sets ``now`` or moves it forward."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


@dataclass(frozen=True)
class Operation:
    """An API operation as the server sees it: method and path regex."""

    name: str
    method: str
    path: str  # searched in the request path (base path included)

    def matches(self, method, path):
        return method == self.method and re.search(self.path, path) is not None


TOKEN = Operation("fetch_token", "POST", r"/api/oauth/v1/token$")
GET_ACCOUNT = Operation("get_account", "GET", r"/comptes$")
REGISTER_MANDATE = Operation("register_mandate", "POST", r"/mandats$")
END_MANDATE = Operation("end_mandate", "DELETE", r"/mandats/[^/]+$")
ESTIMATE = Operation("estimate", "POST", r"/estimations$")
DECLARE = Operation("declare", "POST", r"/declarations$")
FIND_DECLARATIONS = Operation("find_declarations", "GET", r"/declarations$")
PAY = Operation("pay", "POST", r"/paiements$")
LIST_SEPA_MANDATES = Operation("list_sepa_mandates", "GET", r"/mandats-sepa$")
REGISTER_SEPA_MANDATE = Operation("register_sepa_mandate", "POST", r"/mandats-sepa$")
REVOKE_SEPA_MANDATE = Operation("revoke_sepa_mandate", "DELETE", r"/mandats-sepa/[^/]+$")
OPERATIONS = (
    TOKEN,
    GET_ACCOUNT,
    REGISTER_MANDATE,
    END_MANDATE,
    ESTIMATE,
    DECLARE,
    FIND_DECLARATIONS,
    PAY,
    LIST_SEPA_MANDATES,
    REGISTER_SEPA_MANDATE,
    REVOKE_SEPA_MANDATE,
)

_CLOSE = object()  # answer "close the connection without a response"


def _json_response(status, payload, headers=None):
    return SandboxResponse(
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(payload, ensure_ascii=False).encode("utf-8"),
    )


def _error_body(code, message, description=None):
    return [{"code": code, "message": message, "description": description}]


class Fault:
    """Base of the faults. ``respond(request, delegate, server)`` returns the
    response to send (``delegate()`` runs the real handler once)."""

    after = False

    def respond(self, request, delegate, server):
        raise NotImplementedError

    def _answer(self, request, delegate, make):
        if self.after:
            delegate()
        return make()

    def __repr__(self):
        settings = {**vars(self), "after": self.after}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in settings.items())})"


class RateLimit(Fault):
    """429 ``Retry-After: seconds``; Urssaf did not process the request."""

    def __init__(self, retry_after=1):
        self.retry_after = retry_after

    def respond(self, request, delegate, server):
        return _json_response(
            429,
            _error_body("ER_API_QUOTA_DEPASSE", "Trop de requêtes.", "Réessayez plus tard."),
            {"Retry-After": str(self.retry_after)},
        )


class ServerError(Fault):
    """A 5xx with Urssaf's JSON body; ``after=True``: recorded first."""

    def __init__(self, status=500, after=False):
        self.status = status
        self.after = after

    def respond(self, request, delegate, server):
        return self._answer(
            request,
            delegate,
            lambda: _json_response(
                self.status,
                _error_body("ERREUR_TECHNIQUE", "Erreur technique.", "Incident simulé."),
            ),
        )


HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>The proxy server received an invalid "
    b"response from an upstream server.</p></body></html>"
)


class HtmlPage(Fault):
    """An HTML error page, as a gateway or proxy sends (default 502)."""

    def __init__(self, status=502, after=False):
        self.status = status
        self.after = after

    def respond(self, request, delegate, server):
        return self._answer(
            request,
            delegate,
            lambda: SandboxResponse(self.status, {"Content-Type": "text/html; charset=utf-8"}, HTML_PAGE),
        )


class RawAnswer(Fault):
    """A fixed answer: *status*, *body* (bytes, or a JSON-able value) and
    its content type; ``after=True``: the handler records the request first."""

    def __init__(self, status, body=b"", content_type="application/json", after=False):
        self.status = status
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        self.content_type = content_type
        self.after = after

    def respond(self, request, delegate, server):
        return self._answer(
            request, delegate, lambda: SandboxResponse(self.status, {"Content-Type": self.content_type}, self.body)
        )


class MalformedJson(Fault):
    """The real answer's status with its JSON body cut in half (``after``
    defaults to True: the handler runs, its body is spoiled)."""

    def __init__(self, status=None, after=True):
        self.status = status
        self.after = after

    def respond(self, request, delegate, server):
        if self.after:
            real = delegate()
            body = real.body[: max(1, len(real.body) // 2)] if real.body else b"{"
            return SandboxResponse(self.status or real.status, dict(real.headers), body)
        return SandboxResponse(self.status or 200, {"Content-Type": "application/json"}, b'{"numeroDecl')


class Delay(Fault):
    """Sleep *seconds* before (``after=False``) or after the handler runs,
    then send the real answer. Sleeps are cut short when the server stops."""

    def __init__(self, seconds, after=False):
        self.seconds = seconds
        self.after = after

    def respond(self, request, delegate, server):
        if not self.after:
            server.wait(self.seconds)
            return delegate()
        response = delegate()
        server.wait(self.seconds)
        return response


class DropConnection(Fault):
    """Close the connection without any answer (the client sees a
    connection error after sending)."""

    def __init__(self, after=False):
        self.after = after

    def respond(self, request, delegate, server):
        if self.after:
            delegate()
        return _CLOSE


class Redirect(Fault):
    """A redirection to *location* (default 307, which asks the client to
    send the same request, body included, there); Urssaf did not process
    the request."""

    def __init__(self, location, status=307):
        self.location = location
        self.status = status

    def respond(self, request, delegate, server):
        return SandboxResponse(self.status, {"Location": self.location, "Content-Type": "text/html"}, b"")


class Unauthorized(Fault):
    """401 ``ER_API_JETON_EXPIRE`` to a token that is still valid."""

    def respond(self, request, delegate, server):
        return _json_response(
            401,
            _error_body("ER_API_JETON_EXPIRE", "Jeton d'accès expiré.", "Demandez un nouveau jeton."),
            {"WWW-Authenticate": 'Bearer realm="urssaf", error="invalid_token"'},
        )


class ExpireTokens(Unauthorized):
    """Revoke every bearer token the server has seen (this request's
    included) and answer 401; later requests with them get 401 too."""

    def respond(self, request, delegate, server):
        server.revoke_seen_tokens()
        return super().respond(request, delegate, server)


@dataclass
class FaultRule:
    """When a fault fires: requests of *operation* (or any when None)
    that satisfy *when*, at the 1-based match numbers in *calls* (every
    match when None). ``fired`` counts how often it did."""

    fault: Fault
    operation: Operation | None = None
    calls: frozenset | None = None
    when: object = None  # Callable[[SandboxRequest], bool] | None
    matched: int = 0
    fired: int = 0

    def applies(self, request):
        """Count the match and tell whether the fault fires (lock held)."""
        if self.operation is not None and not self.operation.matches(request.method, request.path):
            return False
        if self.when is not None and not self.when(request):
            return False
        self.matched += 1
        if self.calls is not None and self.matched not in self.calls:
            return False
        self.fired += 1
        return True


@dataclass
class RecordedRequest:
    """One request the server received, and what became of it."""

    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    fault: str | None = None
    delegated: bool = False  # handed to the real handler (Urssaf saw it)
    status: int | None = None  # status sent, None if the connection was dropped
    extra: dict = field(default_factory=dict)

    def json(self):
        return json.loads(self.body) if self.body else None

    @property
    def operation(self):
        for operation in OPERATIONS:
            if operation.matches(self.method, self.path):
                return operation
        return None


def _bearer(headers):
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


class _ThreadingServer(ThreadingHTTPServer):
    daemon_threads = True
    # A pool of clients opens many connections at once (HTTP/1.0: one per
    # request): with the default backlog of 5, the kernel drops the others'
    # SYNs, which the clients resend only after a second.
    request_queue_size = 128


class FaultServer:
    """A loopback HTTP server in front of *handler* with scripted faults.

    Binds ``127.0.0.1`` on a free port (``port=0``); :attr:`base_url` is the
    URL to give the client. Use it as a context manager, or call
    :meth:`start` and :meth:`stop`.
    """

    def __init__(self, handler, host="127.0.0.1", port=0):
        self.handler = handler
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._rules = []
        self._requests = []
        self._revoked_tokens = set()
        self._seen_tokens = set()
        self._httpd = _ThreadingServer((host, port), self._request_handler_class())
        self._thread = None

    # Life cycle ---------------------------------------------------------

    @property
    def base_url(self):
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop serving and close the socket (idempotent); pending delays
        are cut short."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def wait(self, seconds):
        """Sleep, unless the server is stopping."""
        self._stopping.wait(seconds)

    # Scripting ----------------------------------------------------------

    def inject(self, fault, operation=None, *, calls=None, when=None):
        """Add a fault rule and return it.

        *operation*: one of this module's operations (``DECLARE``...) or
        None for any request. *calls*: an int or iterable of 1-based match
        numbers (None: every match). *when*: extra predicate on the
        :class:`~.sandbox.SandboxRequest`. Rules are tried in the order
        they were added; the first that fires wins.
        """
        if isinstance(calls, int):
            calls = {calls}
        rule = FaultRule(fault, operation, frozenset(calls) if calls is not None else None, when)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear_faults(self):
        with self._lock:
            self._rules.clear()

    def revoke_seen_tokens(self):
        """Refuse (401) every bearer token seen so far."""
        with self._lock:
            self._revoked_tokens |= self._seen_tokens

    # Inspection ---------------------------------------------------------

    @property
    def requests(self):
        """A copy of the recorded requests, oldest first."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, operation, *, delegated=None):
        return [
            recorded
            for recorded in self.requests
            if operation.matches(recorded.method, recorded.path)
            and (delegated is None or recorded.delegated == delegated)
        ]

    def count(self, operation, *, delegated=None):
        """How many requests of *operation* arrived (``delegated=True``: how
        many reached the real handler, i.e. Urssaf)."""
        return len(self.requests_for(operation, delegated=delegated))

    # Serving ------------------------------------------------------------

    def _serve(self, request):
        """Apply the rules to *request*; return (response or _CLOSE, record)."""
        record = RecordedRequest(
            request.method,
            request.path,
            dict(request.query),
            dict(request.headers),
            request.body,
        )
        token = _bearer(request.headers)
        with self._lock:
            self._requests.append(record)
            if token:
                self._seen_tokens.add(token)
            revoked = token in self._revoked_tokens
            rule = None if revoked else next((r for r in self._rules if r.applies(request)), None)

        def delegate():
            record.delegated = True
            return self.handler(request)

        if revoked:
            record.fault = "revoked token"
            response = Unauthorized().respond(request, delegate, self)
        elif rule is not None:
            record.fault = repr(rule.fault)
            response = rule.fault.respond(request, delegate, self)
        else:
            response = delegate()
        record.status = None if response is _CLOSE else response.status
        return response

    def _request_handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def _handle(self):
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = SandboxRequest(
                    method=self.command,
                    path=url.path,
                    query=dict(parse_qsl(url.query, keep_blank_values=True)),
                    headers=CaseInsensitiveDict(dict(self.headers.items())),
                    body=body,
                )
                response = server._serve(request)
                if response is _CLOSE:
                    self.close_connection = True
                    return
                # The client may have given up (time-out): nothing to do then.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(response.status)
                    for name, value in response.headers.items():
                        if name.lower() not in ("content-length", "connection"):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(response.body)))
                    self.end_headers()
                    if response.body:
                        self.wfile.write(response.body)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle

            def log_message(self, *args):
                """Silent: request lines carry NIRs in their query."""

        return Handler
