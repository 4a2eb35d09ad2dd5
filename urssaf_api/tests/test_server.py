"""The sandbox over a real loopback socket: ``serve()`` and the command line."""

import contextlib
import http.client
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from .. import server as server_module
from ..sandbox import DEFAULT_BASE_PATH, TOKEN_PATH, Sandbox, SandboxResponse
from ..seed import seed_identifier, synthetic_siret
from ..storage import MemoryStorage, SqliteStorage

MONTHLY = seed_identifier("monthly_trader")
CREDENTIALS = {"grant_type": "client_credentials", "client_id": "demo-tiers", "client_secret": "demo-secret"}
PACKAGE_DIR = Path(__file__).resolve().parents[1]
# The child imports the package standalone (as ``urssaf_api``), outside Odoo.
CHILD_ENVIRONMENT = dict(
    os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PACKAGE_DIR.parent), os.environ.get("PYTHONPATH")]))
)


def fixed_clock():
    return datetime(2026, 11, 27, 10, 0, tzinfo=timezone(timedelta(hours=1)))


@pytest.fixture
def serve_sandbox():
    """Start ``server.serve()`` with the limits given; returns its base URL.
    Every server started is stopped after the test."""
    started = []

    def start(sandbox=None, **limits):
        server, thread = server_module.serve(sandbox or Sandbox(MemoryStorage(), clock=fixed_clock), **limits)
        started.append((server, thread))
        host, port = server.server_address[:2]
        return f"http://{host}:{port}"

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def base_url(serve_sandbox):
    return serve_sandbox()


@pytest.fixture
def session(base_url):
    with requests.Session() as session:
        token = session.post(base_url + TOKEN_PATH, data=CREDENTIALS, timeout=10).json()
        session.headers["Authorization"] = "Bearer " + token["access_token"]
        yield session


def test_serve_binds_loopback_on_a_free_port(base_url):
    assert base_url.startswith("http://127.0.0.1:")
    assert not base_url.endswith(":0")


def test_calls_over_http(base_url, session):
    api = base_url + DEFAULT_BASE_PATH
    account = session.get(api + "/comptes", params=MONTHLY, headers={"x-correlationid": "c-1"}, timeout=10)
    assert account.status_code == 200
    assert account.headers["x-correlationid"] == "c-1"
    assert account.json()["periodicite"] == "MENSUELLE"
    mandate = session.post(api + "/mandats", json={"identifiant": MONTHLY, "dateSignature": "2024-01-15"}, timeout=10)
    assert mandate.status_code == 201
    declaration = session.post(
        api + "/declarations",
        timeout=10,
        json={
            "identifiant": MONTHLY,
            "referenceTiers": "http-1",
            "periode": {"dateDebut": "2026-10-01", "dateFin": "2026-10-31"},
            "chiffresAffaires": [{"categorie": "VENTE_MARCHANDISES", "montant": 1000}],
        },
    )
    assert declaration.status_code == 201
    assert declaration.json()["dateExigibilite"] == "2026-11-30"
    # a 204 without body, then the kept-alive connection still works
    ended = session.delete(api + "/mandats/" + mandate.json()["idMandat"], timeout=10)
    assert (ended.status_code, ended.content) == (204, b"")
    refused = session.get(api + "/declarations", params=MONTHLY, timeout=10)
    assert refused.status_code == 403
    assert refused.json()[0]["code"] == "ER_API_MANDAT_ABSENT"


def test_errors_over_http(base_url, session):
    assert session.get(base_url + "/nowhere", timeout=10).status_code == 404
    no_token = requests.get(base_url + DEFAULT_BASE_PATH + "/comptes", params=MONTHLY, timeout=10)
    assert no_token.status_code == 401
    assert no_token.json()[0]["code"] == "ER_API_JETON_ABSENT"
    bad_client = requests.post(base_url + TOKEN_PATH, data={**CREDENTIALS, "client_secret": "x"}, timeout=10)
    assert (bad_client.status_code, bad_client.json()["error"]) == (401, "invalid_client")


def test_access_log_hides_the_query_string(base_url, session, caplog):
    caplog.set_level(logging.INFO, logger=server_module.__name__)
    session.get(base_url + DEFAULT_BASE_PATH + "/comptes", params=MONTHLY, timeout=10)
    assert "/comptes" in caplog.text
    assert MONTHLY["nir"] not in caplog.text


def test_parallel_declarations_over_http_share_one_sqlite_state(tmp_path):
    sandbox = Sandbox(SqliteStorage(tmp_path / "shared.sqlite"), clock=fixed_clock)
    sirets = [synthetic_siret(index) for index in range(12)]
    for siret in sirets:
        sandbox.add_account(
            siret=siret,
            periodicite="MENSUELLE",
            dateDebutActivite="2024-01-01",
            categories=["PRESTATION_SERVICES_BIC"],
            trade="commercant",
            mandate_holder="demo-tiers",
        )
    server, thread = server_module.serve(sandbox)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    token = requests.post(url + TOKEN_PATH, data=CREDENTIALS, timeout=10).json()["access_token"]
    numbers, errors = [], []

    def declare(batch):
        with requests.Session() as session:
            session.headers["Authorization"] = "Bearer " + token
            for siret in batch:
                answer = session.post(
                    url + DEFAULT_BASE_PATH + "/declarations",
                    timeout=30,
                    json={
                        "identifiant": {"siret": siret},
                        "referenceTiers": "par-" + siret,
                        "periode": {"dateDebut": "2026-10-01", "dateFin": "2026-10-31"},
                        "chiffresAffaires": [{"categorie": "PRESTATION_SERVICES_BIC", "montant": 100}],
                    },
                )
                (numbers if answer.status_code == 201 else errors).append(answer.json())

    try:
        workers = [threading.Thread(target=declare, args=(sirets[index::4],)) for index in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert errors == []
    assert len({declaration["numeroDeclaration"] for declaration in numbers}) == len(sirets)


class CommandLineServer:
    """``python -m urssaf_api.server`` in a child process."""

    def __init__(self, *args, preexec_fn=None):
        self.process = subprocess.Popen(
            [sys.executable, "-m", PACKAGE_DIR.name + ".server", "--port", "0", *args],
            cwd=PACKAGE_DIR.parent,
            env=CHILD_ENVIRONMENT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            preexec_fn=preexec_fn,
        )
        ready, _, _ = select.select([self.process.stdout], [], [], 30)
        line = self.process.stdout.readline() if ready else ""
        if "listening on http://" not in line:
            self.stop()
            raise AssertionError(f"sandbox server did not start: {line!r}")
        self.url = line.split("listening on ")[1].split()[0]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process.stdout.close()


def test_command_line_stops_on_sigterm_even_when_its_parent_ignores_it():
    # A process started with SIGTERM ignored (as some runners and service
    # wrappers do) passes the disposition on to its children.
    server = CommandLineServer(preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN))
    try:
        assert requests.post(server.url + TOKEN_PATH, data=CREDENTIALS, timeout=10).status_code == 200
        server.process.terminate()
        # its own handler ended it (status 0), not the signal's default (-15)
        assert server.process.wait(timeout=10) == 0
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
        server.process.stdout.close()


def test_command_line_help():
    result = subprocess.run(
        [sys.executable, "-m", PACKAGE_DIR.name + ".server", "--help"],
        cwd=PACKAGE_DIR.parent,
        env=CHILD_ENVIRONMENT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "--db FILE" in result.stdout


def test_command_line_state_survives_a_restart_with_db(tmp_path):
    database = str(tmp_path / "sandbox.sqlite")
    first = CommandLineServer("--db", database)
    try:
        token = requests.post(first.url + TOKEN_PATH, data=CREDENTIALS, timeout=10).json()["access_token"]
        headers = {"Authorization": "Bearer " + token}
        created = requests.post(
            first.url + DEFAULT_BASE_PATH + "/mandats",
            headers=headers,
            timeout=10,
            json={"identifiant": MONTHLY, "dateSignature": "2024-01-15"},
        )
        assert created.status_code == 201
    finally:
        first.stop()
    second = CommandLineServer("--db", database)
    try:
        # the token and the mandate both live in the database
        account = requests.get(second.url + DEFAULT_BASE_PATH + "/comptes", params=MONTHLY, headers=headers, timeout=10)
        assert account.status_code == 200
        assert account.json()["mandat"] == created.json()
        again = requests.post(
            second.url + DEFAULT_BASE_PATH + "/mandats",
            headers=headers,
            timeout=10,
            json={"identifiant": MONTHLY, "dateSignature": "2024-01-15"},
        )
        assert again.status_code == 200
    finally:
        second.stop()


def test_command_line_without_db_starts_afresh(tmp_path):
    first = CommandLineServer()
    try:
        token = requests.post(first.url + TOKEN_PATH, data=CREDENTIALS, timeout=10).json()["access_token"]
    finally:
        first.stop()
    second = CommandLineServer()
    try:
        result = requests.get(
            second.url + DEFAULT_BASE_PATH + "/comptes",
            params=MONTHLY,
            timeout=10,
            headers={"Authorization": "Bearer " + token},
        )
        assert result.status_code == 401
    finally:
        second.stop()


# --- limits --------------------------------------------------------------------------


def _connect(base_url, timeout=10):
    host, port = base_url.rsplit("/", 1)[1].split(":")
    return socket.create_connection((host, int(port)), timeout=timeout)


def _read_until_closed(connection):
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _status_and_json(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def _memory_kib(field):
    """VmRSS (now) or VmHWM (peak since the last reset) of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc to measure memory")
def test_oversized_body_refused_from_its_headers_without_reading_it(base_url):
    announced = 400 * 1024 * 1024
    sent = []

    def send_body(connection):
        # Push up to 64 MiB of the announced body; the old server read it all
        # into one buffer (and waited for the rest).
        chunk = b"x" * (1024 * 1024)
        with contextlib.suppress(OSError):
            for _ in range(64):
                connection.sendall(chunk)
                sent.append(len(chunk))

    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    before = _memory_kib("VmRSS")
    started = time.monotonic()
    with _connect(base_url) as connection:
        connection.sendall(
            b"POST " + DEFAULT_BASE_PATH.encode() + b"/declarations HTTP/1.1\r\nHost: sandbox\r\n"
            b"Content-Type: application/json\r\nContent-Length: " + str(announced).encode() + b"\r\n\r\n"
        )
        sender = threading.Thread(target=send_body, args=(connection,))
        sender.start()
        raw = _read_until_closed(connection)
        elapsed = time.monotonic() - started
        sender.join(timeout=30)
    growth_kib = _memory_kib("VmHWM") - before
    status, errors = _status_and_json(raw)
    assert status == 413
    assert errors == [
        {
            "code": "ER_HTTP_413",
            "message": "Request Entity Too Large",
            "description": f"The body announces {announced} bytes; this server accepts at most "
            f"{server_module.MAX_BODY_BYTES}.",
        }
    ]
    assert elapsed < 2
    assert growth_kib < 16 * 1024, f"peak memory grew by {growth_kib} KiB"


def test_body_at_the_limit_is_still_read(serve_sandbox):
    url = serve_sandbox(max_body=64) + DEFAULT_BASE_PATH + "/estimations"
    # Read, then refused by the sandbox itself (no token): not by the limit.
    assert requests.post(url, data=b"{" + b" " * 62 + b"}", timeout=10).status_code == 401
    refused = requests.post(url, data=b"{" + b" " * 63 + b"}", timeout=10)
    assert (refused.status_code, refused.json()[0]["code"]) == (413, "ER_HTTP_413")
    assert refused.headers["Connection"] == "close"


@pytest.mark.parametrize(
    "headers, status",
    [({"Transfer-Encoding": "chunked"}, 411), ({"Content-Length": "-5"}, 400), ({"Content-Length": "x"}, 400)],
)
def test_bodies_of_unknown_length_refused(base_url, headers, status):
    with _connect(base_url) as connection:
        request = f"POST {DEFAULT_BASE_PATH}/estimations HTTP/1.1\r\nHost: sandbox\r\n"
        request += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
        connection.sendall(request.encode())
        answer_status, errors = _status_and_json(_read_until_closed(connection))
    assert answer_status == status
    assert errors[0]["code"] == f"ER_HTTP_{status}"


IDLE_TIMEOUT = 0.3


def test_silent_connection_closed_after_the_idle_timeout(serve_sandbox):
    base_url = serve_sandbox(idle_timeout=IDLE_TIMEOUT)
    with _connect(base_url, timeout=5) as connection:
        started = time.monotonic()
        assert _read_until_closed(connection) == b""
        assert IDLE_TIMEOUT * 0.8 < time.monotonic() - started < 3


def test_kept_alive_connection_closed_after_the_idle_timeout(serve_sandbox):
    base_url = serve_sandbox(idle_timeout=IDLE_TIMEOUT)
    with _connect(base_url, timeout=5) as connection:
        connection.sendall(f"GET {DEFAULT_BASE_PATH}/comptes HTTP/1.1\r\nHost: sandbox\r\n\r\n".encode())
        first = http.client.HTTPResponse(connection)
        first.begin()
        assert (first.status, first.read()[:9]) == (401, b'[{"code":')
        assert not first.will_close  # kept alive
        started = time.monotonic()
        # Half a request line, then silence: closed all the same.
        connection.sendall(b"GET /tiers")
        assert _read_until_closed(connection) == b""
        assert IDLE_TIMEOUT * 0.8 < time.monotonic() - started < 3


class ConcurrencyProbe:
    """Stands for the sandbox: records how many requests it serves at once.
    Each request waits (at most *wait* seconds) until *gather* are being
    served together, so that requests arriving together do overlap."""

    def __init__(self, gather=1, wait=1.0):
        self.gather = gather
        self.wait = wait
        self.condition = threading.Condition()
        self.current = self.most = 0

    def handle(self, request):
        with self.condition:
            self.current += 1
            self.most = max(self.most, self.current)
            self.condition.notify_all()
            self.condition.wait_for(lambda: self.current >= self.gather, timeout=self.wait)
        with self.condition:
            self.current -= 1
        return SandboxResponse(200, {"Content-Type": "application/json"}, b"{}")


def test_connections_beyond_the_bound_wait_for_a_free_thread(serve_sandbox):
    base_url = serve_sandbox(ConcurrencyProbe(), idle_timeout=0.5, max_connections=2)
    # Two silent connections hold both threads until their idle time-out.
    holders = [_connect(base_url) for _ in range(2)]
    try:
        time.sleep(0.1)
        started = time.monotonic()
        answer = requests.get(base_url + "/anything", timeout=10)
        waited = time.monotonic() - started
    finally:
        for holder in holders:
            holder.close()
    assert answer.status_code == 200
    assert waited > 0.3  # served once a holder was closed for silence, not before


def test_more_simultaneous_connections_than_threads_are_all_served(serve_sandbox):
    # Each request waits for a fourth to be served beside it: only an
    # unbounded server gets there; a bounded one serves them three by three.
    probe = ConcurrencyProbe(gather=4, wait=0.3)
    base_url = serve_sandbox(probe, max_connections=3)
    statuses = []

    def call():
        # A connection each, closed after its answer.
        statuses.append(requests.get(base_url + "/anything", headers={"Connection": "close"}, timeout=30).status_code)

    callers = [threading.Thread(target=call) for _ in range(12)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=60)
    assert statuses == [200] * 12
    assert probe.most == 3  # they did overlap, up to the bound and no further


@pytest.mark.parametrize("host", ["0.0.0.0", "", "192.0.2.10", "sandbox.example.org"])
def test_binding_beyond_loopback_needs_allow_remote(host):
    with pytest.raises(ValueError, match="--allow-remote"):
        server_module.make_server(Sandbox(MemoryStorage()), host, 0)
    server_module.check_bind_host(host, allow_remote=True)  # allowed when asked


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost"])
def test_loopback_addresses_bind_without_flag(host):
    server = server_module.make_server(Sandbox(MemoryStorage()), host, 0)
    server.server_close()


def test_command_line_refuses_a_remote_host_without_flag():
    result = subprocess.run(
        [sys.executable, "-m", PACKAGE_DIR.name + ".server", "--host", "0.0.0.0", "--port", "0"],
        cwd=PACKAGE_DIR.parent,
        env=CHILD_ENVIRONMENT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "refusing to serve the sandbox on every interface" in result.stderr
    assert "--allow-remote" in result.stderr
    assert "listening" not in result.stdout


def test_http_layer_errors_in_the_contract_format(base_url):
    # http.server's own refusals (here an unknown method) are JSON too.
    with _connect(base_url) as connection:
        connection.sendall(b"BREW /pot HTTP/1.1\r\nHost: sandbox\r\n\r\n")
        status, errors = _status_and_json(_read_until_closed(connection))
    assert status == 501
    assert errors[0]["code"] == "ER_HTTP_501"


def test_latency_delays_each_answer_and_connections_wait_in_parallel(serve_sandbox):
    base_url = serve_sandbox(latency=0.3)
    started = time.monotonic()
    assert requests.get(base_url + "/anything", timeout=10).status_code == 404
    assert time.monotonic() - started >= 0.3
    statuses = []

    def call():
        statuses.append(requests.get(base_url + "/anything", headers={"Connection": "close"}, timeout=30).status_code)

    started = time.monotonic()
    callers = [threading.Thread(target=call) for _ in range(8)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=60)
    elapsed = time.monotonic() - started
    assert statuses == [404] * 8
    assert 0.3 <= elapsed < 1.2, elapsed  # 8 × 0.3 s one after the other would be 2.4 s


def test_negative_latency_refused():
    with pytest.raises(ValueError, match="latency"):
        server_module.make_server(Sandbox(MemoryStorage()), latency=-1)
