"""What the benchmarks (bench_declare.py, bench_onboarding.py) share: a
throwaway database with the addon, the sandbox's HTTP server in a process of
its own with a latency on every answer, Odoo opened in a process, and the
HTTP calls counted."""

# A command-line tool talks on stdout and stderr.
# pylint: disable=print-used

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from odoo_env import ADDON, REPO, addons_path, check_postgres, find_odoo, install_addon, link_addon


@dataclass
class Sandbox:
    """The throwaway set-up of a benchmark run."""

    db_name: str
    path: str  # Odoo's addons path
    data: str  # Odoo's data directory
    work: Path  # the run's folder (removed at the end)
    sqlite_path: Path  # the sandbox server's state
    server: subprocess.Popen = None
    base_url: str = ""


@contextlib.contextmanager
def bench_database(name, modules=ADDON, keep=False):
    """A fresh database with ``modules`` installed, in a work folder of its
    own (in memory when /dev/shm exists); yields a :class:`Sandbox`, then
    stops its server (if started), drops the database (unless ``keep``) and
    removes the folder, whatever happened."""
    odoo_dir = find_odoo()
    check_postgres()
    shm = Path("/dev/shm")
    work = Path(tempfile.mkdtemp(prefix=f"urssaf-{name}-", dir=shm if shm.is_dir() else None))
    sandbox = Sandbox(
        db_name=f"urssaf_bench_{uuid.uuid4().hex[:8]}",
        path=addons_path(odoo_dir, link_addon(work / "addons")),
        data=str(work / "data"),
        work=work,
        sqlite_path=work / "sandbox.sqlite",
    )
    try:
        print(f"Creating database {sandbox.db_name} with {modules}...", flush=True)
        if install_addon(sandbox.db_name, sandbox.path, sandbox.data, modules):
            raise SystemExit(f"{name}: installing the addon failed.")
        yield sandbox
    finally:
        if sandbox.server is not None:
            stop_server(sandbox.server, name)
        if not keep:
            from odoo.modules.registry import Registry  # noqa: PLC0415
            from odoo.sql_db import close_db  # noqa: PLC0415

            Registry.delete(sandbox.db_name)
            close_db(sandbox.db_name)
            subprocess.run(["dropdb", "--if-exists", sandbox.db_name], check=False)
        else:
            print(f"Database {sandbox.db_name} kept.")
        shutil.rmtree(work, ignore_errors=True)


def start_server(sandbox, latency_ms, accounts):
    """The sandbox's HTTP server (``python -m urssaf_api.server``) in a
    process of its own, its state in ``sandbox.sqlite_path``, every answer
    delayed by ``latency_ms``; ``accounts``, the keyword arguments of each
    account it knows (``Sandbox.add_account``). Sets ``sandbox.server`` and
    ``sandbox.base_url``."""
    sys.path.insert(0, str(REPO))
    from urssaf_api.sandbox import Sandbox as UrssafSandbox  # noqa: PLC0415
    from urssaf_api.storage import SqliteStorage  # noqa: PLC0415

    urssaf = UrssafSandbox(SqliteStorage(sandbox.sqlite_path))
    for account in accounts:
        urssaf.add_account(**account)
    sandbox.server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "urssaf_api.server",
            "--port",
            "0",
            "--db",
            str(sandbox.sqlite_path),
            "--latency-ms",
            str(latency_ms),
            "--max-connections",
            "256",
            "--idle-timeout",
            "120",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = sandbox.server.stdout.readline()
    sandbox.base_url = line.split("listening on ", 1)[1].split(" ", 1)[0]
    return sandbox.base_url


def stop_server(server, name):
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        # The database and the work folder must go whatever it does.
        print(f"{name}: the sandbox server did not stop within 30 s of SIGINT; killed.", file=sys.stderr)
        server.kill()
        server.wait()


def open_registry(db, path, data_dir):
    """Odoo's registry of ``db``, in this process."""
    from odoo.modules.registry import Registry  # noqa: PLC0415
    from odoo.tools import config  # noqa: PLC0415

    config.parse_config(
        [f"--addons-path={path}", f"--data-dir={data_dir}", "--log-level=warn", "--http-interface=127.0.0.1"]
    )
    return Registry(db)


def count_calls():
    """Count the HTTP requests this process sends to Urssaf (every thread)."""
    from odoo.addons.l10n_fr_urssaf_tierce_declaration.urssaf_api import client  # noqa: PLC0415

    counter = {"calls": 0}
    lock = threading.Lock()
    send = client._Session.request

    def counting(self, *args, **kwargs):
        with lock:
            counter["calls"] += 1
        return send(self, *args, **kwargs)

    client._Session.request = counting
    return counter


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def company_settings(base_url):
    """The company's Urssaf settings of a benchmark: the sandbox server."""
    return {
        "urssaf_environment": "sandbox",
        "urssaf_client_id": "demo-tiers",
        "urssaf_client_secret": "demo-secret",
        "urssaf_base_url": base_url,
        "urssaf_timeout": 60.0,
        "urssaf_connect_timeout": 10.0,
        "urssaf_auto_declare": False,
    }


def profile_into(function, *args):
    """``function(*args)``, its cProfile statistics written into the file
    ``$URSSAF_BENCH_PROFILE`` when set (where the time of a run goes)."""
    target = os.environ.get("URSSAF_BENCH_PROFILE")
    if not target:
        return function(*args)
    import cProfile  # noqa: PLC0415

    profile = cProfile.Profile()
    result = profile.runcall(function, *args)
    profile.dump_stats(target)
    return result
