#!/usr/bin/env python3
"""Benchmark: estimate + declare round trips through the client and the embedded sandbox.

Usage (from the repository root): python3 tools/bench_client_sandbox.py [--rounds N]

Registers N test auto-entrepreneurs (synthetic NIRs and SIRETs, mandates held
by ``demo-tiers``), then for each one estimates and declares October 2026
through ``UrssafClient`` + ``SandboxAdapter`` + ``Sandbox``, in-process and on
one thread. Prints calls per second, per-call latency and the client's
overhead per call (time through the client minus the time spent in
``Sandbox.handle`` for that same request), once with ``MemoryStorage`` and
once with ``SqliteStorage`` in a temporary file. Issue 3 targets at least
500 calls/s; this script reports, it does not judge.
"""

# A command-line tool talks on stdout.
# pylint: disable=print-used

import argparse
import platform
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from urssaf_api.client import TokenCache, UrssafClient  # noqa: E402
from urssaf_api.models import Identifier  # noqa: E402
from urssaf_api.sandbox import EMBEDDED_BASE_URL, Sandbox, SandboxAdapter  # noqa: E402
from urssaf_api.seed import PLATFORM_CLIENT_ID, SEED_CLIENTS, synthetic_nir, synthetic_siret  # noqa: E402
from urssaf_api.storage import MemoryStorage, SqliteStorage  # noqa: E402

# Paris time in November is UTC+1; October 2026 has ended and can be declared.
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=timezone(timedelta(hours=1)))
PERIOD = (date(2026, 10, 1), date(2026, 10, 31))
PROFILES = (
    ("commercant", ["VENTE_MARCHANDISES", "PRESTATION_SERVICES_BIC"]),
    ("artisan", ["PRESTATION_SERVICES_BIC"]),
    ("liberal", ["PRESTATION_SERVICES_BNC"]),
)


class HandleTimer:
    """Stands for the sandbox in the adapter and times each ``handle`` call."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.base_path = sandbox.base_path
        self.seconds = 0.0
        self.calls = 0

    def handle(self, request):
        started = time.perf_counter()
        try:
            return self.sandbox.handle(request)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1


def account_fields(index):
    """A monthly test account; even indexes by NIR, odd ones by SIRET."""
    trade, categories = PROFILES[index % len(PROFILES)]
    identifier = {"nir": synthetic_nir(index)} if index % 2 == 0 else {"siret": synthetic_siret(index)}
    fields = {
        **identifier,
        "periodicite": "MENSUELLE",
        "dateDebutActivite": "2020-01-01",
        "categories": categories,
        "trade": trade,
        "mandate_holder": PLATFORM_CLIENT_ID,
    }
    return fields, identifier, categories


def turnover_of(index, categories):
    """Distinct amounts with cents, one per category."""
    cents = Decimal(index % 100) / 100
    return {
        category: Decimal(1000 + 7 * index + 500 * position) + cents for position, category in enumerate(categories)
    }


def timed(timer, call):
    """Run ``call()``; return (total seconds, seconds inside Sandbox.handle)."""
    handle_before, calls_before = timer.seconds, timer.calls
    started = time.perf_counter()
    call()
    total = time.perf_counter() - started
    if timer.calls != calls_before + 1:
        raise RuntimeError(f"expected one sandbox exchange per call, got {timer.calls - calls_before}")
    return total, timer.seconds - handle_before


def run(storage, rounds):
    sandbox = Sandbox(storage, clock=lambda: NOW)
    started = time.perf_counter()
    accounts = []
    for index in range(rounds):
        fields, identifier, categories = account_fields(index)
        sandbox.add_account(**fields)
        accounts.append((Identifier(**identifier), turnover_of(index, categories)))
    setup_seconds = time.perf_counter() - started

    timer = HandleTimer(sandbox)
    client = UrssafClient(
        EMBEDDED_BASE_URL,
        PLATFORM_CLIENT_ID,
        SEED_CLIENTS[PLATFORM_CLIENT_ID],
        adapter=SandboxAdapter(timer),
        token_cache=TokenCache(),
    )
    started = time.perf_counter()
    client.fetch_token()
    token_seconds = time.perf_counter() - started
    timer.seconds, timer.calls = 0.0, 0

    totals = {"estimate": [], "declare": []}
    handles = {"estimate": [], "declare": []}
    started, cpu_started = time.perf_counter(), time.process_time()
    for index, (identifier, turnover) in enumerate(accounts):
        for name, call in (
            ("estimate", partial(client.estimate, identifier, *PERIOD, turnover)),
            ("declare", partial(client.declare, identifier, *PERIOD, turnover, f"bench-{index}")),
        ):
            total, in_handle = timed(timer, call)
            totals[name].append(total)
            handles[name].append(in_handle)
    wall_seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    client.close()
    return {
        "setup": setup_seconds,
        "token": token_seconds,
        "wall": wall_seconds,
        "cpu": cpu_seconds,
        "totals": totals,
        "handles": handles,
    }


def milliseconds(seconds):
    return f"{seconds * 1000:7.3f} ms"


def describe(values):
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return (
        f"mean {milliseconds(statistics.fmean(ordered))}  median {milliseconds(statistics.median(ordered))}  "
        f"p95 {milliseconds(p95)}"
    )


def report(title, result, rounds):
    totals, handles = result["totals"], result["handles"]
    all_totals = totals["estimate"] + totals["declare"]
    all_handles = handles["estimate"] + handles["declare"]
    overheads = [total - handle for total, handle in zip(all_totals, all_handles, strict=True)]
    calls = len(all_totals)
    print(f"\n== {title} ==")
    print(
        f"setup: {rounds} accounts registered in {result['setup']:.2f} s; "
        f"first token in {milliseconds(result['token']).strip()}"
    )
    print(f"{calls} calls ({rounds} estimate + declare round trips) in {result['wall']:.2f} s")
    print(f"throughput:       {calls / result['wall']:8.1f} calls/s  (target >= 500 calls/s)")
    # Wall time includes waiting for the CPU on a busy machine (and for the
    # disk with SQLite); CPU time shows what one free core would do.
    print(f"CPU time:         {result['cpu']:8.2f} s, i.e. {calls / result['cpu']:.1f} calls per CPU second")
    print(f"per call:         {describe(all_totals)}")
    for name in ("estimate", "declare"):
        print(f"  {name:<15} {describe(totals[name])}")
    print(f"in Sandbox.handle: {describe(all_handles)}")
    print(f"client overhead:  {describe(overheads)}")
    print(f"overhead share:   {sum(overheads) / sum(all_totals):8.1%} of the time per call")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1000, help="estimate + declare round trips (default 1000)")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 100_000:
        parser.error("--rounds must be between 1 and 100000")
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}) on {platform.machine()}, "
        "one thread, in-process (no socket)"
    )
    report("MemoryStorage", run(MemoryStorage(), args.rounds), args.rounds)
    with tempfile.TemporaryDirectory(prefix="urssaf-bench-") as directory:
        storage = SqliteStorage(Path(directory) / "sandbox.sqlite3")
        report("SqliteStorage (temporary file)", run(storage, args.rounds), args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
