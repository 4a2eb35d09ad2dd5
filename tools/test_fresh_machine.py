#!/usr/bin/env python3
"""The README's fresh-machine path, end to end: ``python3 tools/demo.py`` on
a machine where Python cannot import Odoo.

Usage: python3 tools/test_fresh_machine.py --odoo-repo URL [--keep]

What it does, in a throwaway folder (removed at the end, unless --keep):

1. clones this repository's committed HEAD into a folder named after the
   addon, as a new user's ``git clone`` would;
2. makes a plain virtual environment, without the system's packages: its
   Python cannot ``import odoo`` (checked), like a fresh machine's;
3. runs ``tools/demo.py`` with that Python, a throwaway HOME and data folder
   and ``ODOO_REPO`` pointing at a local Odoo 19 repository (no network
   needed for Odoo; Python packages come from pip's cache or the index):
   the set-up clones Odoo, builds its virtual environment, creates the demo
   database and serves it;
4. waits for the login page (``GET /web/login`` answering 200), then, as the
   demo's preparer over XML-RPC, prepares the declarations: each one must
   have a non-zero turnover;
5. stops the server and runs ``tools/demo.py --stop-after-init`` again: the
   second run must set up nothing.

Prints the time of each step; exits non-zero on any failure. PostgreSQL and
the system packages are the machine's (the set-up checks them and finds
them there).
"""

# A command-line tool talks on stdout and stderr.
# pylint: disable=print-used

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
import xmlrpc.client
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ADDON = "l10n_fr_urssaf_tierce_declaration"
# What the set-up says when it does something (tools/bootstrap.py).
SETUP_STEPS = ("[setup] Installing", "[setup] Cloning", "[setup] Creating", "[setup] Starting")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Timer:
    def __init__(self):
        self.start = time.monotonic()
        self.marks = []

    def mark(self, what):
        elapsed = time.monotonic() - self.start
        self.marks.append((what, elapsed))
        print(f"[fresh] {elapsed:7.1f} s  {what}", flush=True)


def check(condition, message):
    if not condition:
        print(f"[fresh] FAILED: {message}", file=sys.stderr, flush=True)
        sys.exit(1)


def follow(process, lines, prefix):
    """Echo ``process``'s output with ``prefix`` and keep it in ``lines``."""
    for line in process.stdout:
        lines.append((time.monotonic(), line.rstrip("\n")))
        print(f"{prefix}{line}", end="", flush=True)


def wait_for_login(url, process, timeout):
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        check(process.poll() is None, f"tools/demo.py stopped (exit {process.returncode}) before serving {url}")
        try:
            with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (our own loopback server)
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            # Not serving yet (set-up, install): try again.
            last_error = error
        time.sleep(3)
    check(False, f"{url} did not answer 200 within {timeout} s (last error: {last_error})")


def prepare_as_preparer(base_url, db):
    """Prepare the declarations as the demo's preparer; ``[(AE, turnover)]``."""
    common = xmlrpc.client.ServerProxy(f"{base_url}/xmlrpc/2/common")
    uid = common.authenticate(db, "preparer", "preparer", {})
    check(uid, "the demo user preparer / preparer cannot log in")
    models = xmlrpc.client.ServerProxy(f"{base_url}/xmlrpc/2/object", allow_none=True)

    def call(model, method, *args, **kwargs):
        return models.execute_kw(db, uid, "preparer", model, method, list(args), kwargs)

    wizard = call("urssaf.declaration.prepare", "create", {})
    call("urssaf.declaration.prepare", "action_prepare", [wizard])
    (done,) = call("urssaf.declaration.prepare", "read", [wizard], fields=["declaration_ids", "summary"])
    print(f"[fresh] Prepare declarations: {done['summary']}", flush=True)
    declarations = call("urssaf.declaration", "read", done["declaration_ids"], fields=["partner_id", "turnover_total"])
    return [(d["partner_id"][1], d["turnover_total"]) for d in declarations]


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--odoo-repo", default=os.environ.get("ODOO_REPO"), help="a git URL holding Odoo's 19.0 branch")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway folder and database")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds to wait for the login page")
    args = parser.parse_args()
    check(args.odoo_repo, "give --odoo-repo (or ODOO_REPO): a git repository with Odoo's 19.0 branch")

    timer = Timer()
    work = Path(tempfile.mkdtemp(prefix="urssaf-fresh-"))
    checkout = work / ADDON
    db = f"urssaf_fresh_{uuid.uuid4().hex[:8]}"
    # pip's cache of the real user: the throwaway HOME must not download
    # Odoo's requirements again on every run.
    pip_cache = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "VIRTUAL_ENV", "ODOO_SRC", "XDG_DATA_HOME", "PIP_CONSTRAINT"}
    }
    env.update(
        HOME=str(work / "home"),
        XDG_DATA_HOME=str(work / "data"),
        ODOO_REPO=args.odoo_repo,
        PIP_CACHE_DIR=pip_cache,
        PYTHONUNBUFFERED="1",
    )
    (work / "home").mkdir()
    server = None
    try:
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(checkout)], check=True)
        commit = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(work / "python")], check=True)
        python = work / "python" / "bin" / "python"
        probe = subprocess.run([str(python), "-c", "import odoo"], capture_output=True, check=False, env=env)
        check(probe.returncode != 0, f"{python} imports Odoo: not a fresh machine's Python")
        timer.mark(f"checkout {commit} in {checkout}, {python} cannot import Odoo")

        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        command = [str(python), "tools/demo.py", f"--db={db}", f"--port={port}", "--http-interface=127.0.0.1"]
        print(f"[fresh] + {' '.join(command)}  (HOME={env['HOME']}, ODOO_REPO={args.odoo_repo})", flush=True)
        server = subprocess.Popen(  # noqa: S603 (our own command)
            command,
            cwd=checkout,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        lines = []
        reader = threading.Thread(target=follow, args=(server, lines, "  | "), daemon=True)
        reader.start()
        wait_for_login(f"{base_url}/web/login", server, args.timeout)
        setup_done = [t for t, line in lines if line.startswith("[setup] Running demo.py again")]
        check(setup_done, "the set-up did not build Odoo's virtual environment and run demo.py in it")
        timer.mark(f"set-up done (Odoo cloned and installed) after {setup_done[0] - timer.start:.1f} s")
        timer.mark(f"{base_url}/web/login answers 200")

        turnovers = prepare_as_preparer(base_url, db)
        for partner, turnover in turnovers:
            print(f"[fresh]   {partner}: turnover {turnover:.2f}", flush=True)
        check(turnovers, "Prepare declarations prepared no declaration")
        check(all(turnover > 0 for _partner, turnover in turnovers), "a demo declaration has no turnover")
        timer.mark(f"{len(turnovers)} declarations prepared, each with a non-zero turnover")
        stop(server)
        reader.join(10)

        again = subprocess.run(
            [str(python), "tools/demo.py", f"--db={db}", f"--port={free_port()}", "--stop-after-init"],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        setup_lines = [line for line in again.stdout.splitlines() if line.startswith(SETUP_STEPS)]
        check(again.returncode == 0, f"the second run failed (exit {again.returncode}):\n{again.stdout[-3000:]}")
        check(not setup_lines, f"the second run set up again: {setup_lines}")
        timer.mark("second run: nothing set up again, the demo database updated")
        print(f"[fresh] fresh-machine path passed in {time.monotonic() - timer.start:.0f} s", flush=True)
        return 0
    finally:
        if server is not None:
            stop(server)
        if args.keep:
            print(f"[fresh] kept {work} and database {db}", flush=True)
        else:
            subprocess.run(["dropdb", "--if-exists", db], check=False)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
