"""The sandbox over a real loopback socket: ``serve()`` and the command line."""

import logging
import os
import select
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from .. import server as server_module
from ..sandbox import DEFAULT_BASE_PATH, TOKEN_PATH, Sandbox
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
def base_url():
    server, thread = server_module.serve(Sandbox(MemoryStorage(), clock=fixed_clock))
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


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

    def __init__(self, *args):
        self.process = subprocess.Popen(
            [sys.executable, "-m", PACKAGE_DIR.name + ".server", "--port", "0", *args],
            cwd=PACKAGE_DIR.parent,
            env=CHILD_ENVIRONMENT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
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
