#!/usr/bin/env python3
"""Benchmark the registers' year pivot: the register kept with the
declarations (stored rows) beside today's live register view, in one run.

Usage: python3 tools/bench_registers.py [--db NAME] [--keep] [--build-only] [--partners 10000]
       [--invoices 40] [--seed 25] [--runs 5] [--no-orm]

1. creates a throwaway database with the addon (or reuses ``--db``) and
   generates, unless already there, ``--partners`` auto-entrepreneurs'
   paid vendor bills of 2025 with ``tools/bench_turnover.py``'s builder
   (``--build-only`` stops there: build once, then bench with ``--db``,
   after ``-u`` of the addon when it changed);
2. records the four quarters of 2025 of every auto-entrepreneur as
   declared and keeps their registers with them, by the addon's own step
   (``urssaf.declaration._urssaf_store_register_rows``, 1,000
   declarations at a time), timed; then, for comparison in the same run,
   creates the rows of one such batch through the ORM, one record a row
   (as the addon kept them before), undone after (``--no-orm`` skips it);
3. vacuums the rows (what autovacuum does after they are inserted), then
   times the year pivot as the pivot view asks it (one
   ``formatted_read_grouping_sets``: rows by auto-entrepreneur, columns by
   year, the sum of the amounts and the count) on the stored rows
   (``--runs`` times) and on the live view (``urssaf.register.line``, at
   most three times), best and median, with the machine's speed (a fixed
   query) before and after, and checks that both give the same totals;
4. drops the database it created, unless ``--keep``.

Target (reported, not asserted): the year pivot of 10,000
auto-entrepreneurs under 1 s on the stored rows.
"""

# A command-line tool talks on stdout and stderr.
# pylint: disable=print-used

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime
from pathlib import Path

from bench_turnover import database_exists, flush_and_forget, generate, machine_speed, timed
from odoo_env import ADDON, addon_folder, addons_path, check_postgres, find_odoo, install_addon

from odoo import api, models
from odoo.modules.registry import Registry
from odoo.sql_db import close_db
from odoo.tools import config

YEAR = (date(2025, 1, 1), date(2025, 12, 31))
QUARTERS = [
    (date(2025, 1, 1), date(2025, 3, 31)),
    (date(2025, 4, 1), date(2025, 6, 30)),
    (date(2025, 7, 1), date(2025, 9, 30)),
    (date(2025, 10, 1), date(2025, 12, 31)),
]
BATCH = 1000
TARGET = 1.0
STORED = "urssaf.declaration.register.row"
LIVE = "urssaf.register.line"
STORING = "registers kept (the addon's step)"
# Rows by auto-entrepreneur, columns by year: the pivot view asks the
# grouping sets of both, the totals included.
GROUPING_SETS = [[], ["partner_id"], ["date:year"], ["partner_id", "date:year"]]


def declare_year(env, partners, company, figures):
    """The four quarters of each auto-entrepreneur, declared, with their
    registers kept by the addon's own step."""
    Declaration = env["urssaf.declaration"].with_context(tracking_disable=True, mail_create_nolog=True)
    existing = Declaration.search_count([("company_id", "=", company.id), ("state", "=", "declared")])
    if existing:
        print(f"Reusing the {existing} declarations declared of {env.cr.dbname}.")
        return
    rows = env["urssaf.declaration.register.row"]
    with timed(f"{len(partners) * 4} declarations recorded as declared", figures):
        for start, end in QUARTERS:
            for index in range(0, len(partners), BATCH):
                batch = partners[index : index + BATCH]
                declarations = Declaration.create(
                    [
                        {
                            "partner_id": partner.id,
                            "company_id": company.id,
                            "period_start": start,
                            "period_end": end,
                            "periodicity": "quarterly",
                        }
                        for partner in batch
                    ]
                )
                declarations.write({"state": "declared", "declared_at": datetime(end.year, end.month, end.day)})
                flush_and_forget(env)
    declarations = Declaration.search([("company_id", "=", company.id), ("state", "=", "declared")])
    with timed(STORING, figures):
        for index in range(0, len(declarations), BATCH):
            declarations[index : index + BATCH]._urssaf_store_register_rows()
            flush_and_forget(env)
    figures["rows kept"] = rows.search_count([])
    print(f"  {figures['rows kept']} register rows kept", flush=True)


def orm_storing(env, company, figures):
    """The same rows of one batch of declarations created through the ORM,
    one record per row, as the addon kept them before (undone after): what
    the bulk storing is compared with, in the same run."""
    Row = env["urssaf.declaration.register.row"].sudo()
    declarations = env["urssaf.declaration"].search(
        [("company_id", "=", company.id), ("state", "=", "declared")], limit=BATCH, order="id"
    )
    fnames = [
        name
        for name, field in Row._fields.items()
        if field.store and not field.compute and name not in models.MAGIC_COLUMNS
    ]
    values = Row.search_read([("declaration_id", "in", declarations.ids)], fnames)
    for vals in values:
        vals.pop("id")
        for name, value in vals.items():
            if isinstance(value, tuple):
                vals[name] = value[0]
    env.invalidate_all()
    with env.cr.savepoint(flush=False) as savepoint:
        start = time.perf_counter()
        Row.create(values)
        env.flush_all()
        elapsed = time.perf_counter() - start
        savepoint.rollback()
    env.invalidate_all()
    figures["ORM storing per row"] = elapsed / max(len(values), 1)
    print(
        f"  the {len(values)} rows of {len(declarations)} declarations created through the ORM instead: "
        f"{elapsed:.1f} s ({figures['ORM storing per row'] * 1e6:.0f} us a row)",
        flush=True,
    )


def vacuum(db):
    """What autovacuum does after the rows are inserted (statistics and the
    visibility map an index-only scan reads), done now rather than waited
    for: VACUUM runs outside a transaction, hence psql."""
    subprocess.run(["psql", "-q", "-d", db, "-c", "VACUUM ANALYZE urssaf_declaration_register_row"], check=True)


def pivot(env, model, company):
    """The year pivot as the web client's pivot view asks it (Odoo 19's
    pivot_model.js ``_subdivideGroup``: one ``formatted_read_grouping_sets``
    call, the grouping sets of rows x columns, the measure and the count);
    (seconds, {partner: total of the year})."""
    env.invalidate_all()
    domain = [("company_id", "=", company.id), ("date", ">=", YEAR[0]), ("date", "<=", YEAR[1])]
    if model == "urssaf.register.line":
        domain.append(("register_type", "=", "receipts"))
    start = time.perf_counter()
    groups = env[model].formatted_read_grouping_sets(domain, GROUPING_SETS, ["amount:sum", "__count"])
    elapsed = time.perf_counter() - start
    by_partner_year = groups[GROUPING_SETS.index(["partner_id", "date:year"])]
    return elapsed, {group["partner_id"][0]: round(group["amount:sum"], 2) for group in by_partner_year}


def measure(env, company, runs, figures):
    speed = machine_speed(env.cr)
    figures["machine"] = speed
    print(
        f"Year pivot ({YEAR[0].year}), by auto-entrepreneur, {runs} runs each (machine: fixed query {speed:.2f} s):",
        flush=True,
    )
    results = {}
    for model, label in ((STORED, "stored rows (registers kept)"), (LIVE, "live view (today)")):
        times = []
        for _run in range(runs if model == STORED else min(runs, 3)):
            elapsed, totals = pivot(env, model, company)
            times.append(elapsed)
        results[model] = totals
        figures[label] = min(times)
        figures[f"{label} median"] = statistics.median(times)
        print(
            f"  {label}: best {min(times):.3f} s, median {statistics.median(times):.3f} s, "
            f"runs {', '.join(f'{t:.3f}' for t in times)}",
            flush=True,
        )
    figures["machine after"] = machine_speed(env.cr)
    print(f"  machine after: fixed query {figures['machine after']:.2f} s", flush=True)
    stored, live = results[STORED], results[LIVE]
    wrong = [pid for pid in set(stored) | set(live) if abs(stored.get(pid, 0.0) - live.get(pid, 0.0)) > 0.011]
    if wrong:
        print(f"bench_registers: {len(wrong)} auto-entrepreneurs' totals differ, e.g. {wrong[:5]}", file=sys.stderr)
        return False
    fast, slow = figures["stored rows (registers kept)"], figures["live view (today)"]
    print(
        f"Stored rows {fast:.3f} s (target {TARGET:.0f} s: {'met' if fast < TARGET else 'MISSED'}) "
        f"beside the live view {slow:.3f} s, {slow / fast:.0f} times faster; {len(stored)} auto-entrepreneurs, "
        f"same totals.",
        flush=True,
    )
    if STORING in figures and figures.get("rows kept"):
        per_row = figures[STORING] / figures["rows kept"]
        orm = figures.get("ORM storing per row")
        print(
            f"Registers kept: {figures['rows kept']} rows in {figures[STORING]:.1f} s "
            f"({per_row * 1e6:.0f} us a row)"
            + (f" beside {orm * 1e6:.0f} us a row through the ORM, {orm / per_row:.0f} times faster." if orm else "."),
            flush=True,
        )
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="use this database, created with the addon when it does not exist, and keep it")
    parser.add_argument("--keep", action="store_true", help="keep the database created")
    parser.add_argument(
        "--build-only",
        action="store_true",
        help="generate the books and stop (with --db: build once, then bench the registers on it)",
    )
    parser.add_argument("--partners", type=int, default=10000)
    parser.add_argument("--invoices", type=int, default=40, help="bills per auto-entrepreneur")
    parser.add_argument("--runs", type=int, default=5, help="pivots timed on the stored rows (live: at most 3)")
    parser.add_argument(
        "--no-orm", action="store_true", help="skip the ORM storing of one batch compared with the bulk one"
    )
    parser.add_argument(
        "--seed", type=int, default=25, help="auto-entrepreneurs built through the ORM (see bench_turnover)"
    )
    args = parser.parse_args()

    odoo_dir = find_odoo()
    check_postgres()
    work = Path(tempfile.mkdtemp(prefix="urssaf-bench-"))
    path = addons_path(odoo_dir, addon_folder(work / "addons"))
    db = args.db or f"urssaf_bench_{uuid.uuid4().hex[:8]}"
    figures = {}
    ok = False
    try:
        if not args.db or not database_exists(db):
            with timed("database and addon installed", figures):
                print(f"Creating database {db} with {ADDON}...", flush=True)
                if install_addon(db, path, work / "data"):
                    print(f"bench_registers: installing {ADDON} in {db} failed.", file=sys.stderr)
                    return 1
        config.parse_config([f"--addons-path={path}", f"--data-dir={work / 'data'}", "--log-level=warn"])
        registry = Registry(db)
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            company, partners = generate(env, args.partners, args.invoices, args.seed, figures)
            flush_and_forget(env)
            if args.build_only:
                return 0
            declare_year(env, partners, company, figures)
            if not args.no_orm:
                orm_storing(env, company, figures)
            flush_and_forget(env)
            vacuum(db)
            ok = measure(env, company, args.runs, figures)
        return 0 if ok else 1
    finally:
        if not args.db and not args.keep:
            Registry.delete(db)
            close_db(db)
            subprocess.run(["dropdb", "--if-exists", db], check=False)
        elif not args.db:
            print(f"Database {db} kept: python3 tools/bench_registers.py --db {db}")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
