"""Serve the embedded Urssaf sandbox over HTTP.

    python -m urssaf_api.server --port 8080 [--host 127.0.0.1] [--db FILE]

Without ``--db`` the state lives in memory and is lost on exit; with it, in a
SQLite file that survives restarts and may be shared by several servers.
Access logs never show query strings (they carry NIRs).
"""

import argparse
import ipaddress
import logging
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .sandbox import DEFAULT_BASE_PATH, TOKEN_PATH, Sandbox, SandboxRequest
from .storage import MemoryStorage, SqliteStorage

__all__ = ["main", "make_server", "serve"]

_logger = logging.getLogger(__name__)
_QUERY = re.compile(r"\?\S*")
_NO_BODY_STATUSES = (204, 304)


class _SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real gateway
    server_version = "UrssafSandbox"
    # Errors raised by http.server itself (an unknown method, a bad request
    # line) answer like the gateway: a JSON array of errors, never HTML.
    error_content_type = "application/json"
    error_message_format = '[{"code": "ER_HTTP_%(code)d", "message": "%(message)s", "description": null}]'
    sandbox: Sandbox  # set on the per-server subclass

    def _answer(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.send_error(400, "Invalid Content-Length")
            return
        body = self.rfile.read(length) if length > 0 else b""
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


def make_server(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server answering from ``sandbox`` (not yet serving)."""
    handler = type("SandboxHandler", (_SandboxHandler,), {"sandbox": sandbox})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0):
    """Serve ``sandbox`` from a background thread; returns ``(server, thread)``.

    ``server.server_address[1]`` is the port actually bound; stop with
    ``server.shutdown(); server.server_close()``.
    """
    server = make_server(sandbox, host, port)
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


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m urssaf_api.server",
        description="Serve the embedded Urssaf sandbox (API Tierce Déclaration "
        "auto-entrepreneur) over HTTP, for demos and integration tests.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind; 0 picks a free one (default 8080)")
    parser.add_argument(
        "--db", metavar="FILE", help="SQLite file keeping the state across restarts (default: in memory)"
    )
    parser.add_argument("--base-path", default=DEFAULT_BASE_PATH, help="API base path (default %(default)s)")
    parser.add_argument("--token-lifetime", type=int, default=3600, help="token lifetime in seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if not _is_loopback(args.host):
        _logger.warning(
            "Serving the sandbox beyond loopback (%s): anyone reaching it can use the demo credentials.", args.host
        )
    storage = SqliteStorage(args.db) if args.db else MemoryStorage()
    sandbox = Sandbox(storage, base_path=args.base_path, token_lifetime=args.token_lifetime)
    server = make_server(sandbox, args.host, args.port)
    host, port = server.server_address[:2]
    print(  # pylint: disable=print-used
        f"Urssaf sandbox listening on http://{host}:{port} (API {sandbox.base_path}, token {TOKEN_PATH}, "
        f"state {args.db or 'in memory'})",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        _logger.info("Urssaf sandbox stopped.")
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
