#!/usr/bin/env python3
"""Benchmark onboarding many auto-entrepreneurs: checking their Urssaf
accounts, then registering their mandates and their SEPA mandates, against
the sandbox's HTTP server with a network latency injected on every call.

Usage: python3 tools/bench_onboarding.py [--aes 10000] [--latency-ms 150]
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
     sample of ``--one-sample`` auto-entrepreneurs (the 10,000 one at a
     time would take over an hour: its time for them is extrapolated from
     the sample's rate, and printed as such);
   - ``poolN``: N calls in flight, on the ``--aes`` auto-entrepreneurs;
4. prints per mode the wall time, auto-entrepreneurs/s and HTTP calls/s,
   then the ratio and the time of the 10,000 the targets are about
   (measured for a pool mode run on 10,000);
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
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

from bench_common import bench_database, company_settings, count_calls, open_registry, profile_into, start_server
from odoo_env import ADDON, REPO

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


def setup(registry, base_url, sizes):
    """The auto-entrepreneurs of each mode, their draft mandates and SEPA
    mandates; returns each mode's partner ids."""
    from odoo import api  # noqa: PLC0415

    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        env.company.write(company_settings(base_url))
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

    counter = count_calls()
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


def _by_partner(records):
    """``records`` by partner id (one each)."""
    return {record.partner_id.id: record for record in records}


def check(registry, ids_by_mode, sqlite_path):
    """Every auto-entrepreneur of every mode checked, its mandate and SEPA
    mandate registered once: from the server's records and from Odoo.
    Returns the failures per mode."""
    from odoo import api  # noqa: PLC0415

    from odoo.addons.l10n_fr_urssaf_tierce_declaration.urssaf_api.storage import SqliteStorage  # noqa: PLC0415

    with SqliteStorage(sqlite_path).transaction() as transaction:
        mandates = Counter(m["account"] for m in transaction.find("mandate"))
        sepa = Counter(m["account"] for m in transaction.find("sepa_mandate"))
    # The sandbox keys an account by its identifier: find each SIRET's key
    # once (not a scan of every key for each of 10,000).
    keys = {siret: key for key in {*mandates, *sepa} for siret in re.findall(r"\d{14}", key)}
    failures = {}
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        for mode, ids in ids_by_mode.items():
            wrong = []
            partners = env["res.partner"].browse(ids)
            accounts = _by_partner(env["urssaf.account"].search([("partner_id", "in", ids)]))
            all_mandates = _by_partner(env["urssaf.mandate"].search([("partner_id", "in", ids)]))
            debits = _by_partner(env["urssaf.sepa.mandate"].search([("partner_id", "in", ids)]))
            for partner in partners:
                key = keys.get(partner.company_registry)
                account, mandate, debit = accounts[partner.id], all_mandates[partner.id], debits[partner.id]
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


def accounts(count):
    """The auto-entrepreneurs the sandbox server knows (no mandate yet)."""
    for index in range(count):
        yield {
            "siret": _siret(index),
            "nom": f"AE{index}",
            "prenoms": "Bench",
            "dateNaissance": "1990-01-01",
            "periodicite": "MENSUELLE",
            "dateDebutActivite": "2019-01-01",
            "categories": ["VENTE_MARCHANDISES"],
            "trade": "commercant",
        }


def child_main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("parallel", type=int)
    parser.add_argument("ids_file")
    parser.add_argument("--chunk", type=int)
    parser.add_argument("--db")
    parser.add_argument("--path")
    parser.add_argument("--data")
    args = parser.parse_args(argv)
    registry = open_registry(args.db, args.path, args.data)
    ids = json.loads(Path(args.ids_file).read_text())
    print(json.dumps(profile_into(run_mode, registry, ids, args.parallel, args.chunk)), flush=True)
    return 0


def _run_child(args, parallel, ids):
    # In a file: 10,000 ids are more than one argument may hold.
    ids_file = args.work / f"ids-{parallel}.json"
    ids_file.write_text(json.dumps(ids))
    process = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--child",
            str(parallel),
            str(ids_file),
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
    parser.add_argument("--aes", type=int, default=10000, help="auto-entrepreneurs of the pool modes (default 10000)")
    parser.add_argument("--latency-ms", type=float, default=150.0, help="delay of every answer (default 150)")
    parser.add_argument("--modes", default="one,pool16", help="one, poolN (default one,pool16)")
    parser.add_argument("--one-sample", type=int, default=100, help="auto-entrepreneurs of the one-at-a-time mode")
    parser.add_argument("--chunk", type=int, default=1000, help="auto-entrepreneurs selected at once (default 1000)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    sizes = {mode: args.one_sample if mode == "one" else args.aes for mode in modes}

    with bench_database("bench-onboarding", keep=args.keep) as sandbox:
        args.path, args.data, args.db_name, args.work = sandbox.path, sandbox.data, sandbox.db_name, sandbox.work
        started = time.perf_counter()
        base_url = start_server(sandbox, args.latency_ms, accounts(sum(sizes.values())))
        registry = open_registry(args.db_name, args.path, args.data)
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
        failures = check(registry, ids, sandbox.sqlite_path)
        return report(args, modes, ids, figures, failures)


def report(args, modes, ids, figures, failures):
    """Print the figures of each mode next to each other, and the targets."""
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
    if "one" in rates:
        print(
            f"  one at a time, 10,000 auto-entrepreneurs: {10000 / rates['one'] / 60:.1f} min "
            f"EXTRAPOLATED from the sample of {len(ids['one'])} ({rates['one']:.2f} AEs/s)"
        )
    for mode in sorted(rates, key=rates.get):
        if mode == "one":
            continue
        minutes = 10000 / rates[mode] / 60
        how = "MEASURED" if len(ids[mode]) == 10000 else f"EXTRAPOLATED from {len(ids[mode])}"
        print(
            f"  {mode}, 10,000 auto-entrepreneurs: {minutes:.1f} min {how} "
            f"(target 10 min: {'OK' if minutes <= 10 else 'MISSED'})"
        )
        if "one" in rates:
            ratio = rates[mode] / rates["one"]
            print(
                f"  {mode} = {ratio:.1f}x one at a time, same run "
                f"(target 8x for pool16: {'OK' if ratio >= 8 else 'MISSED'})"
            )
    return 0 if not any(failures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
