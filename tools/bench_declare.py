#!/usr/bin/env python3
"""Benchmark estimating, declaring and paying many declarations against the
sandbox's HTTP server, with a network latency injected on every call.

Usage: python3 tools/bench_declare.py [--aes 2000] [--latency-ms 150]
       [--modes one,pool8,pool16,queue1,queue2,queue4] [--one-sample 200] [--keep]

1. creates a throwaway database with the addon and OCA's queue_job;
2. starts the sandbox's socket server (``python -m urssaf_api.server``) in a
   process of its own, its state in a SQLite file, every answer delayed by
   ``--latency-ms``; registers ``--aes`` auto-entrepreneurs there (mandate
   held by the platform, active SEPA mandate) and in Odoo;
3. gives each mode its own month of 2026, with a draft declaration per
   auto-entrepreneur (an adjusted amount: no books needed), then, each mode
   in fresh processes:

   - ``one``: one call at a time (``urssaf_parallel_calls`` = 1), on a sample
     of ``--one-sample`` declarations (all of them would take hours);
   - ``poolN``: N calls in flight from one process;
   - ``queueN``: through queue_job, N worker processes each taking the
     pending jobs of the channel root.urssaf and running them with
     queue_job's own job controller (the code its HTTP ``runjob`` endpoint
     runs), one call at a time in each;

   each estimates and declares (the scheduled run's work, committed per
   chunk), then pays, every declaration of its month;
4. prints per mode the wall time, declarations/s, HTTP calls/s and the peak
   memory of its processes, then the ratios the targets are about;
5. checks, from the server's own records (the SQLite file) and from Odoo,
   that every declaration of every mode was declared once and paid once;
   no figure is printed for a mode whose work is wrong.

Targets (reported, not asserted): pool of 16 at least 8 times one at a time;
4 queue workers at least 3 times 1; 10,000 declarations in at most 20 min.
"""

# A command-line tool talks on stdout and stderr; its processes commit, as
# the scheduled action and the job runner they stand for do.
# pylint: disable=print-used,invalid-commit

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

from bench_common import (
    bench_database,
    company_settings,
    count_calls,
    open_registry,
    peak_rss_mb,
    profile_into,
    start_server,
)
from odoo_env import ADDON

PERIODS = [(date(2026, month, 1), date(2026, month + 1, 1)) for month in range(1, 11)]
IBAN = "FR7630006000011234567890189"
CHANNEL = "root.urssaf"


def _month(index):
    start, next_start = PERIODS[index]
    return start, date.fromordinal(next_start.toordinal() - 1)


# ----------------------------------------------------------------------
# Inside Odoo (the parent's setup, and each mode's processes)
# ----------------------------------------------------------------------


def setup(registry, base_url, n_aes, modes, one_sample):
    """Auto-entrepreneurs, mandates and one month of draft declarations per mode."""
    from odoo import Command, api  # noqa: PLC0415

    from odoo.addons.l10n_fr_urssaf_tierce_declaration.urssaf_api.seed import synthetic_siret  # noqa: PLC0415

    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        company = env.company
        eur = env.ref("base.EUR")
        eur.active = True
        company.write({"currency_id": eur.id, **company_settings(base_url)})
        category = env.ref(f"{ADDON}.category_vente_marchandises")
        partners = env["res.partner"]
        for start in range(0, n_aes, 1000):
            partners |= env["res.partner"].create(
                [
                    {
                        "name": f"Bench AE {index}",
                        "company_registry": synthetic_siret(700000 + index),
                        "urssaf_is_auto_entrepreneur": True,
                        "urssaf_identifier_type": "siret",
                        "urssaf_category_id": category.id,
                        "urssaf_trade": "commercant",
                    }
                    for index in range(start, min(n_aes, start + 1000))
                ]
            )
        partners.sudo().write(
            {
                "urssaf_eligible": True,
                "urssaf_periodicity": "monthly",
                "urssaf_activity_start": date(2019, 1, 1),
                "urssaf_checked_at": "2026-01-01 00:00:00",
            }
        )
        mandates = env["urssaf.mandate"].create(
            [{"partner_id": p.id, "signature_date": date(2025, 1, 2)} for p in partners]
        )
        mandates.sudo().write({"state": "active", "urssaf_mandate_ref": "bench"})
        banks = env["res.partner.bank"].create([{"partner_id": p.id, "acc_number": IBAN} for p in partners])
        sepa = env["urssaf.sepa.mandate"].create(
            [{"partner_id": b.partner_id.id, "bank_account_id": b.id, "holder": b.partner_id.name} for b in banks]
        )
        sepa.sudo().write({"state": "active"})
        ids = {}
        for index, mode in enumerate(modes):
            start, end = _month(index)
            chosen = partners[:one_sample] if mode == "one" else partners
            declarations = env["urssaf.declaration"]
            for first in range(0, len(chosen), 1000):
                declarations |= env["urssaf.declaration"].create(
                    [
                        {
                            "partner_id": partner.id,
                            "period_start": start,
                            "period_end": end,
                            "line_ids": [
                                Command.create(
                                    {"category_id": category.id, "computed_amount": 0.0, "amount": 100.0 + i % 900}
                                )
                            ],
                        }
                        for i, partner in enumerate(chosen[first : first + 1000], start=first)
                    ]
                )
            ids[mode] = declarations.ids
        cr.commit()
        return ids


def run_pool(registry, ids, parallel):
    """One process, ``parallel`` calls in flight: the scheduled run's work
    (estimate and declare, a chunk per transaction), then the payments."""
    from odoo import api  # noqa: PLC0415

    counter = count_calls()
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        env.company.urssaf_parallel_calls = parallel
        cr.commit()
        declarations = env["urssaf.declaration"].browse(ids)
        size = env.company._urssaf_chunk_size()
        started = time.perf_counter()
        for first in range(0, len(declarations), size):
            declarations[first : first + size]._urssaf_auto_declare_batch()
            cr.commit()
            env.invalidate_all()
        for first in range(0, len(declarations), size):
            declarations[first : first + size]._urssaf_process("pay")
            cr.commit()
            env.invalidate_all()
        wall = time.perf_counter() - started
    return {"wall": wall, "calls": counter["calls"], "peak_mb": peak_rss_mb()}


def enqueue(registry, ids, step):
    """Queue the jobs of a step (``run``: the scheduled run, estimate and
    declare; ``pay``); returns the uuids of the jobs queued."""
    from odoo import api  # noqa: PLC0415

    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        env.company.urssaf_parallel_calls = 1
        declarations = env["urssaf.declaration"].browse(ids)
        cr.execute("SELECT COALESCE(MAX(id), 0) FROM queue_job")
        (last,) = cr.fetchone()
        if step == "run":
            declarations._urssaf_enqueue_run(env.company)
        else:
            declarations._urssaf_enqueue_step(step)
        cr.commit()
        cr.execute("SELECT uuid FROM queue_job WHERE id > %s", (last,))
        return [row[0] for row in cr.fetchall()]


def wait_for_jobs(registry, uuids, timeout):
    """Wait until every job of ``uuids`` is done (raise when one failed)."""
    deadline = time.monotonic() + timeout
    states = {}
    while time.monotonic() < deadline:
        with registry.cursor() as cr:
            cr.execute("SELECT state, count(*) FROM queue_job WHERE uuid IN %s GROUP BY state", (tuple(uuids),))
            states = dict(cr.fetchall())
        if states.get("failed"):
            raise RuntimeError(f"{states['failed']} jobs failed")
        if set(states) == {"done"}:
            return
        time.sleep(0.2)
    raise RuntimeError(f"jobs not done after {timeout} s: {states}")


def worker(registry, stop_file):
    """A queue_job worker process: take the pending jobs of the channel one
    at a time and run them with queue_job's job controller."""
    from odoo import api  # noqa: PLC0415

    from odoo.addons.queue_job.controllers.main import RunJobController  # noqa: PLC0415

    counter = count_calls()
    jobs = 0
    while not Path(stop_file).exists():
        with registry.cursor() as cr:
            # What queue_job's runner does before it calls /queue_job/runjob,
            # on its own connection (autocommit, so READ COMMITTED): in
            # Odoo's REPEATABLE READ a job another worker claimed since this
            # transaction began fails the claim with an ERROR in the log.
            cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            cr.execute(
                """UPDATE queue_job SET state = 'enqueued', date_enqueued = now() AT TIME ZONE 'UTC'
                   WHERE id = (SELECT id FROM queue_job WHERE state = 'pending' AND channel = %s
                               AND (eta IS NULL OR eta <= now() AT TIME ZONE 'UTC')
                               ORDER BY priority, date_created, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                   RETURNING uuid""",
                (CHANNEL,),
            )
            row = cr.fetchone()
            cr.commit()
        if not row:
            time.sleep(0.05)
            continue
        with registry.cursor() as cr:
            # A worker that lost the race for this job may still hold it for
            # a moment (PostgreSQL locks a row to re-check it), and
            # _acquire_job skips a locked job: it would stay enqueued for
            # ever (seen: 481 jobs done, one stuck). Wait that moment out.
            cr.execute("SELECT 1 FROM queue_job WHERE uuid = %s FOR NO KEY UPDATE", (row[0],))
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            job = RunJobController._acquire_job(env, row[0])
            if not job:
                continue
            try:
                RunJobController._runjob(env, job)
                cr.commit()
            except Exception:  # noqa: BLE001
                # What /queue_job/runjob's request does: queue_job has
                # logged the error and stored the job's state; the worker
                # goes on. Seen: two chunks of a run finishing together both
                # release the run's last job, and queue_job's retries of the
                # loser, in the same snapshot, fail until it raises (the
                # winner has released it). wait_for_jobs and check() still
                # fail the benchmark on a failed job or a wrong result.
                cr.rollback()
            jobs += 1
    print(json.dumps({"jobs": jobs, "calls": counter["calls"], "peak_mb": peak_rss_mb()}), flush=True)


def check(registry, ids_by_mode, sqlite_path):
    """Every declaration of every mode declared once and paid once: from
    the server's records and from Odoo. Returns the failures."""
    from odoo import api  # noqa: PLC0415

    from odoo.addons.l10n_fr_urssaf_tierce_declaration.urssaf_api.storage import SqliteStorage  # noqa: PLC0415

    with SqliteStorage(sqlite_path).transaction() as transaction:
        held = transaction.find("declaration")
        payments = transaction.find("payment")
    by_reference = Counter(d.get("referenceTiers") for d in held)
    paid = Counter(p.get("numeroDeclaration") for p in payments)
    failures = {}
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        for mode, ids in ids_by_mode.items():
            wrong = []
            for declaration in env["urssaf.declaration"].browse(ids):
                if by_reference[declaration.reference_tiers] != 1:
                    wrong.append(
                        f"{declaration.reference_tiers}: {by_reference[declaration.reference_tiers]} at Urssaf"
                    )
                elif declaration.state not in ("ordered", "paid") or paid[declaration.urssaf_number] != 1:
                    wrong.append(
                        f"{declaration.display_name}: {declaration.state}, {paid[declaration.urssaf_number]} payments"
                        f" ({declaration.error_message or ''})"
                    )
            failures[mode] = wrong
    return failures


# ----------------------------------------------------------------------
# Processes
# ----------------------------------------------------------------------


def accounts(n_aes):
    """The auto-entrepreneurs the sandbox server knows: mandate held by the
    platform, an active SEPA mandate."""
    from urssaf_api.seed import synthetic_siret  # noqa: PLC0415 (on the path once the server is set up)

    for index in range(n_aes):
        yield {
            "siret": synthetic_siret(700000 + index),
            "nom": f"AE{index}",
            "prenoms": "Bench",
            "dateNaissance": "1990-01-01",
            "periodicite": "MENSUELLE",
            "dateDebutActivite": "2019-01-01",
            "categories": ["VENTE_MARCHANDISES"],
            "trade": "commercant",
            "mandate_holder": "demo-tiers",
            "sepa_mandates": [{"iban": IBAN, "titulaire": f"AE{index}", "dateSignature": "2025-01-02"}],
        }


def _child(args, *extra):
    return subprocess.Popen(
        [sys.executable, __file__, "--child", *extra, "--db", args.db_name, "--path", args.path, "--data", args.data],
        stdout=subprocess.PIPE,
        text=True,
    )


def _result(process):
    out, _err = process.communicate()
    return json.loads(out.strip().splitlines()[-1])


def run_mode(args, mode, ids, work):
    registry = open_registry(args.db_name, args.path, args.data)
    if mode.startswith("queue"):
        workers = int(mode[len("queue") :])
        stop_file = work / f"stop-{mode}"
        started = time.perf_counter()
        uuids = enqueue(registry, ids, "run")
        children = [_child(args, "worker", str(stop_file)) for _ in range(workers)]
        wait_for_jobs(registry, uuids, timeout=4 * 3600)
        uuids = enqueue(registry, ids, "pay")
        wait_for_jobs(registry, uuids, timeout=4 * 3600)
        wall = time.perf_counter() - started
        stop_file.touch()
        results = [_result(child) for child in children]
        return {
            "wall": wall,
            "calls": sum(r["calls"] for r in results),
            "peak_mb": max(r["peak_mb"] for r in results),
            "processes": workers,
        }
    parallel = 1 if mode == "one" else int(mode[len("pool") :])
    child = _child(args, "pool", str(parallel), json.dumps(ids))
    result = _result(child)
    result["processes"] = 1
    return result


def child_main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("what")
    parser.add_argument("arg")
    parser.add_argument("more", nargs="?")
    parser.add_argument("--db")
    parser.add_argument("--path")
    parser.add_argument("--data")
    args = parser.parse_args(argv)
    registry = open_registry(args.db, args.path, args.data)
    if args.what == "worker":
        worker(registry, args.arg)
    else:
        print(json.dumps(profile_into(run_pool, registry, json.loads(args.more), int(args.arg))), flush=True)
    return 0


def main():
    if sys.argv[1:2] == ["--child"]:
        return child_main(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aes", type=int, default=2000, help="auto-entrepreneurs (default 2000)")
    parser.add_argument("--latency-ms", type=float, default=150.0, help="delay of every answer (default 150)")
    parser.add_argument("--modes", default="one,pool8,pool16,queue1,queue2,queue4")
    parser.add_argument("--one-sample", type=int, default=200, help="declarations of the one-at-a-time mode")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if len(modes) > len(PERIODS):
        parser.error(f"at most {len(PERIODS)} modes")

    with bench_database("bench-declare", f"{ADDON},queue_job", keep=args.keep) as sandbox:
        args.path, args.data, args.db_name = sandbox.path, sandbox.data, sandbox.db_name
        started = time.perf_counter()
        base_url = start_server(sandbox, args.latency_ms, accounts(args.aes))
        registry = open_registry(args.db_name, args.path, args.data)
        ids = setup(registry, base_url, args.aes, modes, args.one_sample)
        print(
            f"{args.aes} auto-entrepreneurs, {sum(map(len, ids.values()))} declarations prepared in "
            f"{time.perf_counter() - started:.0f} s; server {base_url}, latency {args.latency_ms:.0f} ms per call",
            flush=True,
        )
        figures = {}
        for mode in modes:
            print(f"{mode}: {len(ids[mode])} declarations...", flush=True)
            figures[mode] = run_mode(args, mode, ids[mode], sandbox.work)
        failures = check(registry, ids, sandbox.sqlite_path)
        print(f"\nEstimate, declare and pay, {args.latency_ms:.0f} ms per call, {os.cpu_count()} cores:")
        print(
            f"  {'mode':8} {'decl.':>6} {'wall s':>8} {'decl/s':>7} {'calls':>6} {'calls/s':>8} {'peak MB':>8}  check"
        )
        rates = {}
        for mode in modes:
            fig, wrong = figures[mode], failures[mode]
            if wrong:
                print(f"  {mode:8} WRONG, no figures: {len(wrong)} declarations, e.g. {wrong[0]}")
                continue
            rates[mode] = len(ids[mode]) / fig["wall"]
            print(
                f"  {mode:8} {len(ids[mode]):6} {fig['wall']:8.1f} {rates[mode]:7.1f} {fig['calls']:6} "
                f"{fig['calls'] / fig['wall']:8.1f} {fig['peak_mb']:8.0f}  each declared once, paid once "
                "(server's records)"
            )
        targets = []
        if "one" in rates and "pool16" in rates:
            ratio = rates["pool16"] / rates["one"]
            targets.append(f"pool of 16 = {ratio:.1f}x one at a time (target 8x: {'OK' if ratio >= 8 else 'MISSED'})")
        if "queue1" in rates and "queue4" in rates:
            ratio = rates["queue4"] / rates["queue1"]
            targets.append(f"4 queue workers = {ratio:.1f}x 1 (target 3x: {'OK' if ratio >= 3 else 'MISSED'})")
        best = max(rates.values(), default=0)
        if best:
            minutes = 10000 / best / 60
            targets.append(
                f"10,000 declarations at the best rate measured: {minutes:.1f} min "
                f"(target 20 min: {'OK' if minutes <= 20 else 'MISSED'}; extrapolated unless --aes 10000)"
            )
        for line in targets:
            print("  " + line)
        code = 0 if not any(failures.values()) else 1
        return code


if __name__ == "__main__":
    sys.exit(main())
