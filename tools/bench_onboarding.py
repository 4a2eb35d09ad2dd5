#!/usr/bin/env python3
"""Benchmark onboarding many auto-entrepreneurs: checking their Urssaf
accounts, then registering their mandates and their SEPA mandates, against
the sandbox's HTTP server with a network latency injected on every call.

Usage: python3 tools/bench_onboarding.py [--aes 1000] [--latency-ms 150]
       [--modes one,pool16] [--one-sample 100] [--chunk 1000] [--keep]

1. creates a throwaway database with the addon;
2. starts the sandbox's socket server (``python -m urssaf_api.server``) in a
   process of its own, its state in a SQLite file, every answer delayed by
   ``--latency-ms``; registers the auto-entrepreneurs there (known to
   Urssaf, no mandate yet) and in Odoo (not checked, a draft mandate with
   its signed document, a bank account and a draft SEPA mandate each);
   each mode gets auto-entrepreneurs of its own;
3. runs each mode in a fresh process, as a declarant's list buttons do, a
   selection of ``--chunk`` at a time (committed after each): *Check
   accounts*, *Register mandates*, *Register SEPA mandates*:

   - ``one``: one call at a time (*Urssaf calls in parallel* = 1), on a
     sample of ``--one-sample`` auto-entrepreneurs;
   - ``poolN``: N calls in flight;
4. prints per mode the wall time, auto-entrepreneurs/s and HTTP calls/s,
   then the ratio and the extrapolation the targets are about;
5. checks, from the server's own records (the SQLite file) and from Odoo,
   that every auto-entrepreneur of every mode was checked, and its mandate
   and SEPA mandate registered once; no figure is printed for a mode whose
   work is wrong.

Targets (reported, not asserted): a pool of 16 at least 8 times faster than
one at a time; 10,000 auto-entrepreneurs in under 10 minutes.
"""

# A command-line tool talks on stdout and stderr; its processes commit, as
# a declarant's requests do.
# pylint: disable=print-used,invalid-commit

import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import date
from pathlib import Path

from odoo_env import ADDON, REPO, addons_path, check_postgres, find_odoo, install_addon, link_addon

IBAN = "FR7630006000011234567890189"
SIGNED = date(2026, 1, 5)
PDF = base64.b64encode(b"%PDF-1.4 mandat de tierce declaration signe")
FIRST_INDEX = 800000


def _siret(index):
    from urssaf_api.seed import synthetic_siret  # noqa: PLC0415

    return synthetic_siret(FIRST_INDEX + index)


# ----------------------------------------------------------------------
# Inside Odoo (the parent's setup, and each mode's process)
# ----------------------------------------------------------------------


def _open(db, path, data_dir):
    from odoo.modules.registry import Registry  # noqa: PLC0415
    from odoo.tools import config  # noqa: PLC0415

    config.parse_config(
        [f"--addons-path={path}", f"--data-dir={data_dir}", "--log-level=warn", "--http-interface=127.0.0.1"]
    )
    return Registry(db)


def _count_calls():
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


def setup(registry, base_url, sizes):
    """The auto-entrepreneurs of each mode, their draft mandates and SEPA
    mandates; returns each mode's partner ids."""
    from odoo import api  # noqa: PLC0415

    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        env.company.write(
            {
                "urssaf_environment": "sandbox",
                "urssaf_client_id": "demo-tiers",
                "urssaf_client_secret": "demo-secret",
                "urssaf_base_url": base_url,
                "urssaf_timeout": 60.0,
                "urssaf_connect_timeout": 10.0,
                "urssaf_auto_declare": False,
            }
        )
        category = env.ref(f"{ADDON}.category_vente_marchandises")
        ids, first = {}, 0
        for mode, size in sizes.items():
            partners = env["res.partner"].create(
                [
                    {
                        "name": f"Bench AE {index}",
                        "company_registry": _siret(index),
                        "urssaf_is_auto_entrepreneur": True,
                        "urssaf_identifier_type": "siret",
                        "urssaf_category_id": category.id,
                        "urssaf_trade": "commercant",
                    }
                    for index in range(first, first + size)
                ]
            )
            first += size
            env["urssaf.mandate"].create(
                [
                    {"partner_id": p.id, "signature_date": SIGNED, "document": PDF, "document_name": "mandat.pdf"}
                    for p in partners
                ]
            )
            banks = env["res.partner.bank"].create([{"partner_id": p.id, "acc_number": IBAN} for p in partners])
            env["urssaf.sepa.mandate"].create(
                [
                    {
                        "partner_id": b.partner_id.id,
                        "bank_account_id": b.id,
                        "holder": b.partner_id.name,
                        "signature_date": SIGNED,
                    }
                    for b in banks
                ]
            )
            ids[mode] = partners.ids
        cr.commit()
        return ids


def run_mode(registry, partner_ids, parallel, chunk):
    """One process, ``parallel`` calls in flight: the three list buttons on
    selections of ``chunk`` auto-entrepreneurs, each committed."""
    from odoo import api  # noqa: PLC0415

    counter = _count_calls()
    steps = {}
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        env.company.urssaf_parallel_calls = parallel
        cr.commit()
        partners = env["res.partner"].browse(partner_ids)
        accounts = env["urssaf.account"].search([("partner_id", "in", partner_ids)])
        mandates = env["urssaf.mandate"].search([("partner_id", "in", partner_ids)])
        sepa = env["urssaf.sepa.mandate"].search([("partner_id", "in", partner_ids)])
        started = time.perf_counter()
        for name, records, method in (
            ("check", accounts, "action_urssaf_check"),
            ("mandates", mandates, "action_register"),
            ("sepa", sepa, "action_register"),
        ):
            step_started = time.perf_counter()
            for first in range(0, len(records), chunk):
                getattr(records[first : first + chunk], method)()
                cr.commit()
                env.invalidate_all()
            steps[name] = time.perf_counter() - step_started
        wall = time.perf_counter() - started
        assert len(partners) == len(accounts)
    return {"wall": wall, "calls": counter["calls"], "steps": steps}


def check(registry, ids_by_mode, sqlite_path):
    """Every auto-entrepreneur of every mode checked, its mandate and SEPA
    mandate registered once: from the server's records and from Odoo.
    Returns the failures per mode."""
    from odoo import api  # noqa: PLC0415

    from odoo.addons.l10n_fr_urssaf_tierce_declaration.urssaf_api.storage import SqliteStorage  # noqa: PLC0415

    with SqliteStorage(sqlite_path).transaction() as transaction:
        mandates = Counter(m["account"] for m in transaction.find("mandate"))
        sepa = Counter(m["account"] for m in transaction.find("sepa_mandate"))
    failures = {}
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        for mode, ids in ids_by_mode.items():
            wrong = []
            for partner in env["res.partner"].browse(ids):
                key = next((k for k in mandates if partner.company_registry in k), None)
                account = partner._urssaf_account()
                mandate = env["urssaf.mandate"].search([("partner_id", "=", partner.id)])
                debit = env["urssaf.sepa.mandate"].search([("partner_id", "=", partner.id)])
                if account.state != "eligible":
                    wrong.append(f"{partner.name}: account {account.state}")
                elif key is None or mandates[key] != 1 or mandate.state != "active":
                    wrong.append(f"{partner.name}: mandate {mandate.state}, {mandates.get(key, 0)} at Urssaf")
                elif sepa[key] != 1 or debit.state != "active":
                    wrong.append(f"{partner.name}: SEPA mandate {debit.state}, {sepa[key]} at Urssaf")
            failures[mode] = wrong
    return failures


# ----------------------------------------------------------------------
# Processes
# ----------------------------------------------------------------------


def start_server(sqlite_path, latency_ms, count):
    """The sandbox's HTTP server in a process of its own; returns (process, base URL)."""
    from urssaf_api.sandbox import Sandbox  # noqa: PLC0415
    from urssaf_api.storage import SqliteStorage  # noqa: PLC0415

    sandbox = Sandbox(SqliteStorage(sqlite_path))
    for index in range(count):
        sandbox.add_account(
            siret=_siret(index),
            nom=f"AE{index}",
            prenoms="Bench",
            dateNaissance="1990-01-01",
            periodicite="MENSUELLE",
            dateDebutActivite="2019-01-01",
            categories=["VENTE_MARCHANDISES"],
            trade="commercant",
        )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "urssaf_api.server",
            "--port",
            "0",
            "--db",
            str(sqlite_path),
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
    line = process.stdout.readline()
    base_url = line.split("listening on ", 1)[1].split(" ", 1)[0]
    return process, base_url


def child_main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("parallel", type=int)
    parser.add_argument("ids")
    parser.add_argument("--chunk", type=int)
    parser.add_argument("--db")
    parser.add_argument("--path")
    parser.add_argument("--data")
    args = parser.parse_args(argv)
    registry = _open(args.db, args.path, args.data)
    if os.environ.get("URSSAF_BENCH_PROFILE"):
        # Where the time of a run goes (cProfile statistics in that file).
        import cProfile  # noqa: PLC0415

        profile = cProfile.Profile()
        result = profile.runcall(run_mode, registry, json.loads(args.ids), args.parallel, args.chunk)
        profile.dump_stats(os.environ["URSSAF_BENCH_PROFILE"])
    else:
        result = run_mode(registry, json.loads(args.ids), args.parallel, args.chunk)
    print(json.dumps(result), flush=True)
    return 0


def _run_child(args, parallel, ids):
    process = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--child",
            str(parallel),
            json.dumps(ids),
            "--chunk",
            str(args.chunk),
            "--db",
            args.db_name,
            "--path",
            args.path,
            "--data",
            args.data,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _err = process.communicate()
    if process.returncode:
        raise RuntimeError(f"the {parallel}-call run failed (exit code {process.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def main():
    sys.path.insert(0, str(REPO))
    if sys.argv[1:2] == ["--child"]:
        return child_main(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aes", type=int, default=1000, help="auto-entrepreneurs of the pool modes (default 1000)")
    parser.add_argument("--latency-ms", type=float, default=150.0, help="delay of every answer (default 150)")
    parser.add_argument("--modes", default="one,pool16", help="one, poolN (default one,pool16)")
    parser.add_argument("--one-sample", type=int, default=100, help="auto-entrepreneurs of the one-at-a-time mode")
    parser.add_argument("--chunk", type=int, default=1000, help="auto-entrepreneurs selected at once (default 1000)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    sizes = {mode: args.one_sample if mode == "one" else args.aes for mode in modes}

    odoo_dir = find_odoo()
    check_postgres()
    shm = Path("/dev/shm")
    work = Path(tempfile.mkdtemp(prefix="urssaf-bench-onboarding-", dir=shm if shm.is_dir() else None))
    args.path = addons_path(odoo_dir, link_addon(work / "addons"))
    args.data = str(work / "data")
    args.db_name = f"urssaf_bench_{uuid.uuid4().hex[:8]}"
    sqlite_path = work / "sandbox.sqlite"
    server = None
    try:
        print(f"Creating database {args.db_name} with {ADDON}...", flush=True)
        if install_addon(args.db_name, args.path, args.data, ADDON):
            print("bench_onboarding: installing the addon failed.", file=sys.stderr)
            return 1
        started = time.perf_counter()
        server, base_url = start_server(sqlite_path, args.latency_ms, sum(sizes.values()))
        registry = _open(args.db_name, args.path, args.data)
        ids = setup(registry, base_url, sizes)
        print(
            f"{sum(sizes.values())} auto-entrepreneurs prepared in {time.perf_counter() - started:.0f} s; "
            f"server {base_url}, latency {args.latency_ms:.0f} ms per call",
            flush=True,
        )
        figures = {}
        for mode in modes:
            parallel = 1 if mode == "one" else int(mode[len("pool") :])
            print(f"{mode}: {len(ids[mode])} auto-entrepreneurs...", flush=True)
            figures[mode] = _run_child(args, parallel, ids[mode])
        failures = check(registry, ids, sqlite_path)
        print(
            f"\nCheck accounts, register mandates and SEPA mandates, {args.latency_ms:.0f} ms per call, "
            f"{os.cpu_count()} cores:"
        )
        print(
            f"  {'mode':8} {'AEs':>6} {'wall s':>8} {'check s':>8} {'mand. s':>8} {'SEPA s':>8} {'AEs/s':>7} "
            f"{'calls':>6} {'calls/s':>8}  check"
        )
        rates = {}
        for mode in modes:
            fig, wrong = figures[mode], failures[mode]
            if wrong:
                print(f"  {mode:8} WRONG, no figures: {len(wrong)} auto-entrepreneurs, e.g. {wrong[0]}")
                continue
            rates[mode] = len(ids[mode]) / fig["wall"]
            steps = fig["steps"]
            print(
                f"  {mode:8} {len(ids[mode]):6} {fig['wall']:8.1f} {steps['check']:8.1f} {steps['mandates']:8.1f} "
                f"{steps['sepa']:8.1f} {rates[mode]:7.1f} {fig['calls']:6} {fig['calls'] / fig['wall']:8.1f}  "
                "each checked, each mandate and SEPA mandate registered once (server's records)"
            )
        if "one" in rates and "pool16" in rates:
            ratio = rates["pool16"] / rates["one"]
            print(f"  pool of 16 = {ratio:.1f}x one at a time (target 8x: {'OK' if ratio >= 8 else 'MISSED'})")
        best = max(rates.values(), default=0)
        if best:
            minutes = 10000 / best / 60
            print(
                f"  10,000 auto-entrepreneurs at the best rate measured: {minutes:.1f} min "
                f"(target 10 min: {'OK' if minutes <= 10 else 'MISSED'}; extrapolated unless --aes 10000)"
            )
        return 0 if not any(failures.values()) else 1
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                print("bench_onboarding: the sandbox server did not stop within 30 s; killed.", file=sys.stderr)
                server.kill()
                server.wait()
        if not args.keep:
            from odoo.modules.registry import Registry  # noqa: PLC0415
            from odoo.sql_db import close_db  # noqa: PLC0415

            Registry.delete(args.db_name)
            close_db(args.db_name)
            subprocess.run(["dropdb", "--if-exists", args.db_name], check=False)
        else:
            print(f"Database {args.db_name} kept.")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
