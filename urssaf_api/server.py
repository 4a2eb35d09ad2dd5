"""Serve the embedded Urssaf sandbox over HTTP.

    python -m urssaf_api.server --port 8080 [--host 127.0.0.1] [--db FILE]
        [--idle-timeout 30] [--max-connections 32] [--latency-ms 0] [--allow-remote]

Without ``--db`` the state lives in memory and is lost on exit; with it, in a
SQLite file that survives restarts and may be shared by several servers.
Access logs never show query strings (they carry NIRs). SIGTERM (a service
manager's stop) ends the process at once, even when it was started with
SIGTERM ignored.

Limits, so that a client (or anyone on the loopback) cannot exhaust the
machine:

- a request body is at most :data:`MAX_BODY_BYTES` (1 MiB); a larger
  ``Content-Length`` is answered 413 without reading the body, a
  ``Transfer-Encoding`` (a body of unannounced length) 411; both in the
  contract's error format (a JSON array of ``{code, message,
  description}``), then the connection is closed;
- a connection silent for ``idle_timeout`` seconds (between two requests or
  in the middle of one) is closed;
- at most ``max_connections`` connections are served at once, one thread
  each; further connections are not refused: they wait, in the listen
  backlog, for a thread to be free (an idle keep-alive connection frees its
  thread after ``idle_timeout``);
- ``latency`` (``--latency-ms``) delays every answer by that many seconds
  (milliseconds on the command line), as a network round trip to Urssaf
  would: benchmarks measure what many calls in flight gain; the delay of
  one connection does not hold the others back;
- the server binds the loopback (127.0.0.1) unless told otherwise, and any
  other address only with ``allow_remote`` (``--allow-remote``): anyone who
  reaches it can use the demo credentials.
"""

import argparse
import ipaddress
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .sandbox import DEFAULT_BASE_PATH, TOKEN_PATH, Sandbox, SandboxRequest
from .storage import MemoryStorage, SqliteStorage

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "MAX_BODY_BYTES",
    "check_bind_host",
    "main",
    "make_server",
    "serve",
]

_logger = logging.getLogger(__name__)
_QUERY = re.compile(r"\?\S*")
_NO_BODY_STATUSES = (204, 304)

# Far above any request of the contract (a declaration is a few hundred bytes).
MAX_BODY_BYTES = 1024 * 1024
DEFAULT_IDLE_TIMEOUT = 30.0
DEFAULT_MAX_CONNECTIONS = 32
# Seconds between two looks at "is the server stopping?" while a connection
# waits for a free thread.
_SLOT_POLL = 0.1


class _SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real gateway
    server_version = "UrssafSandbox"
    sandbox: Sandbox  # set on the per-server subclass
    max_body = MAX_BODY_BYTES  # idem
    # StreamRequestHandler puts it on the socket: a connection silent this
    # long, between two requests or within one, is closed.
    timeout = DEFAULT_IDLE_TIMEOUT  # idem
    latency = 0.0  # idem: seconds added to every answer
    # TCP_NODELAY: the headers and the body of an answer leave in two
    # writes; with Nagle's algorithm the second waited for the client's
    # delayed ACK of the first, 40 ms on every call of a kept-alive
    # connection (measured: 40-45 ms a call at no latency, 1-2 ms without).
    disable_nagle_algorithm = True

    def send_error(self, code, message=None, explain=None):
        """Errors of the HTTP layer (those of http.server itself: a bad
        request line, an unknown method; and the limits of this server) in
        the contract's format, a JSON array of errors, never HTML; the
        connection is closed after them."""
        code = int(code)  # http.server passes HTTPStatus members
        short, long = self.responses.get(code, ("Error", ""))
        body = json.dumps(
            [{"code": f"ER_HTTP_{code}", "message": message or short, "description": explain or long or None}]
        ).encode("utf-8")
        self.log_error("code %d, message %s", code, message or short)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _body_length(self):
        """The announced body length, or None once the request is refused."""
        if "Transfer-Encoding" in self.headers:
            # A chunked body has no length to check before reading it.
            self.send_error(411, "Length Required", "Send the body with a Content-Length.")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.send_error(400, "Invalid Content-Length")
            return None
        if length > self.max_body:
            # Answered from the headers alone: the body is never read.
            self.send_error(
                413,
                "Request Entity Too Large",
                f"The body announces {length} bytes; this server accepts at most {self.max_body}.",
            )
            return None
        return length

    def _answer(self):
        length = self._body_length()
        if length is None:
            return
        body = self.rfile.read(length) if length > 0 else b""
        if self.latency:
            # The round trip to Urssaf; only this connection's thread waits.
            time.sleep(self.latency)
        url = urlsplit(self.path)
        answer = self.sandbox.handle(
            SandboxRequest(
                method=self.command,
                path=url.path,
                query=dict(parse_qsl(url.query, keep_blank_values=True)),
                headers=dict(self.headers.items()),
                body=body,
            )
        )
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.status not in _NO_BODY_STATUSES:
            self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD" and answer.status not in _NO_BODY_STATUSES:
            self.wfile.write(answer.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_TRACE = _answer

    def log_message(self, format, *args):
        # Request lines carry NIRs in their query string: drop it.
        _logger.info("%s %s", self.address_string(), _QUERY.sub("?…", format % args))


class _SandboxServer(ThreadingHTTPServer):
    """A thread per connection, at most ``max_connections`` of them: a
    connection beyond waits in the listen backlog until one is free."""

    daemon_threads = True
    # The listen backlog, where connections wait for a free thread.
    request_queue_size = 128

    def __init__(self, address, handler_class, max_connections):
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        self._closing = threading.Event()
        super().__init__(address, handler_class)

    def process_request(self, request, client_address):
        # Called by the serving loop: while it waits here, it accepts no
        # other connection, and the kernel keeps them in the backlog.
        while not self._slots.acquire(timeout=_SLOT_POLL):
            if self._closing.is_set():
                self.shutdown_request(request)
                return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            return super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def shutdown(self):
        self._closing.set()
        return super().shutdown()

    def server_close(self):
        self._closing.set()
        return super().server_close()


def make_server(
    sandbox: Sandbox,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    allow_remote: bool = False,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    max_body: int = MAX_BODY_BYTES,
    latency: float = 0.0,
) -> ThreadingHTTPServer:
    """An HTTP server answering from ``sandbox`` (not yet serving).

    Raises ValueError for a *host* beyond the loopback unless *allow_remote*
    (see :func:`check_bind_host`), and for limits that are not positive.
    *latency* (seconds, default 0) delays every answer.
    """
    _check_settings(host, allow_remote, idle_timeout, max_connections, max_body)
    if latency < 0:
        raise ValueError("the latency cannot be negative")
    handler = type(
        "SandboxHandler",
        (_SandboxHandler,),
        {"sandbox": sandbox, "timeout": idle_timeout, "max_body": max_body, "latency": latency},
    )
    return _SandboxServer((host, port), handler, max_connections)


def serve(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0, **limits):
    """Serve ``sandbox`` from a background thread; returns ``(server, thread)``.

    ``server.server_address[1]`` is the port actually bound; stop with
    ``server.shutdown(); server.server_close()``. *limits* are those of
    :func:`make_server`.
    """
    server = make_server(sandbox, host, port, **limits)
    # A short poll interval makes shutdown() quick for the tests that serve.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="urssaf-sandbox", daemon=True
    )
    thread.start()
    return server, thread


def _is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_bind_host(host, allow_remote=False):
    """Refuse (ValueError) to bind *host* beyond the loopback unless
    *allow_remote*: the sandbox accepts the published demo credentials, so
    whoever reaches it can use it. ``""`` and ``0.0.0.0`` mean every
    interface."""
    if allow_remote or _is_loopback(host):
        return
    where = "every interface" if host in ("", "0.0.0.0", "::") else host
    raise ValueError(
        f"refusing to serve the sandbox on {where}: anyone reaching it could use the demo credentials; "
        "bind a loopback address (default 127.0.0.1) or allow it explicitly (--allow-remote)"
    )


def _check_settings(host, allow_remote, idle_timeout, max_connections, max_body):
    check_bind_host(host, allow_remote)
    if idle_timeout <= 0 or max_connections < 1 or max_body < 0:
        raise ValueError("the idle time-out and the connections must be positive, the body limit at least 0")


def _exit_at_once(signum, frame):
    # Not through KeyboardInterrupt and the interpreter's shutdown: stopped
    # that way, the server once outlived its SIGTERM by more than 10 s on CI
    # (40769e9). Ending at once is what SIGTERM's default does; the SQLite
    # state is transactional, its last answered writes committed.
    os._exit(0)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m urssaf_api.server",
        description="Serve the embedded Urssaf sandbox (API Tierce Déclaration "
        "auto-entrepreneur) over HTTP, for demos and integration tests.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; beyond loopback needs --allow-remote)"
    )
    parser.add_argument(
        "--allow-remote", action="store_true", help="allow a --host beyond the loopback (0.0.0.0, a LAN address...)"
    )
    parser.add_argument("--port", type=int, default=8080, help="port to bind; 0 picks a free one (default 8080)")
    parser.add_argument(
        "--db", metavar="FILE", help="SQLite file keeping the state across restarts (default: in memory)"
    )
    parser.add_argument("--base-path", default=DEFAULT_BASE_PATH, help="API base path (default %(default)s)")
    parser.add_argument("--token-lifetime", type=int, default=3600, help="token lifetime in seconds")
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT,
        help="close a connection silent this many seconds (default %(default)s)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        help="connections served at once; more wait for a free one (default %(default)s)",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="delay every answer this many milliseconds, as a network round trip (default %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.latency_ms < 0:
        parser.error("--latency-ms cannot be negative")
    try:
        # Before anything is created (a --db file): a refusal leaves no trace.
        _check_settings(args.host, args.allow_remote, args.idle_timeout, args.max_connections, MAX_BODY_BYTES)
    except ValueError as error:
        parser.error(str(error))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if not _is_loopback(args.host):
        _logger.warning(
            "Serving the sandbox beyond loopback (%s): anyone reaching it can use the demo credentials.", args.host
        )
    storage = SqliteStorage(args.db) if args.db else MemoryStorage()
    sandbox = Sandbox(storage, base_path=args.base_path, token_lifetime=args.token_lifetime)
    server = make_server(
        sandbox,
        args.host,
        args.port,
        allow_remote=args.allow_remote,
        idle_timeout=args.idle_timeout,
        max_connections=args.max_connections,
        latency=args.latency_ms / 1000.0,
    )
    host, port = server.server_address[:2]
    print(  # pylint: disable=print-used
        f"Urssaf sandbox listening on http://{host}:{port} (API {sandbox.base_path}, token {TOKEN_PATH}, "
        f"state {args.db or 'in memory'})",
        flush=True,
    )
    # Its own handler, so that a SIGTERM ignored by the parent process (a
    # disposition children inherit) still stops it.
    signal.signal(signal.SIGTERM, _exit_at_once)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        _logger.info("Urssaf sandbox stopped.")
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
