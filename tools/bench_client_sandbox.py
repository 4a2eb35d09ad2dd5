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
500 calls/s; this script reports, it does not judge the speed.

It does judge the work: before printing any speed it checks that every
round was done (one estimate and one declaration per auto-entrepreneur),
that each estimate and each declaration amounts to the contributions worked
out here, independently of the sandbox's code, from the rates of
``DOMAIN.md``, that Urssaf declared what was sent, and that the storage
holds each declaration exactly once. A failed check is printed and the
script exits 1 without reporting a speed.
"""

# A command-line tool talks on stdout.
# pylint: disable=print-used

import argparse
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
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
# The rates in force in October 2026, percent, from DOMAIN.md: social
# contributions (rounded to the euro), CFP (to the cent) and TFC of the
# general chamber (to the euro), by trade and category. No versement
# libératoire, no ACRE (activity started in 2020).
SOCIAL = {"VENTE_MARCHANDISES": "12.3", "PRESTATION_SERVICES_BIC": "21.2", "PRESTATION_SERVICES_BNC": "25.6"}
CFP = {"commercant": "0.1", "artisan": "0.3", "liberal": "0.2"}  # BNC: 0.2 whatever the trade
TFC = {
    ("commercant", "VENTE_MARCHANDISES"): "0.015",
    ("commercant", "PRESTATION_SERVICES_BIC"): "0.044",
    ("artisan", "VENTE_MARCHANDISES"): "0.22",
    ("artisan", "PRESTATION_SERVICES_BIC"): "0.48",
}


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


def expected_total(index, turnover):
    """What the contributions on ``turnover`` amount to, worked out from the
    rates above (half up, per line), not with the sandbox's code."""
    trade, _categories = PROFILES[index % len(PROFILES)]

    def percent(base, rate, step):
        return (base * Decimal(rate) / 100).quantize(Decimal(step), rounding=ROUND_HALF_UP)

    owed = Decimal("0.00")
    for category, base in turnover.items():
        cfp = "0.2" if category == "PRESTATION_SERVICES_BNC" else CFP[trade]
        owed += percent(base, SOCIAL[category], "1") + percent(base, cfp, "0.01")
        if (trade, category) in TFC:
            owed += percent(base, TFC[trade, category], "1")
    return owed


def check(storage, accounts, results):
    """The failures of the work done: ``[message]``, empty when all is right."""
    failures = []
    rounds = len(accounts)
    for name in ("estimate", "declare"):
        if len(results[name]) != rounds:
            failures.append(f"{len(results[name])} {name} answers for {rounds} rounds")
    numbers = Counter()
    for index, ((_identifier, turnover), estimate, declaration) in enumerate(
        zip(accounts, results["estimate"], results["declare"], strict=False)
    ):
        expected = expected_total(index, turnover)
        if estimate.total != expected:
            failures.append(f"round {index}: estimate {estimate.total}, expected {expected}")
        if declaration.total != expected:
            failures.append(f"round {index}: declaration {declaration.total}, expected {expected}")
        if dict(declaration.turnover) != turnover:
            failures.append(f"round {index}: declared turnover {dict(declaration.turnover)}, sent {turnover}")
        if (declaration.reference_tiers, declaration.status) != (f"bench-{index}", "DECLAREE"):
            failures.append(f"round {index}: {declaration.reference_tiers} {declaration.status}")
        numbers[declaration.number] += 1
    with storage.transaction() as transaction:
        stored = transaction.find("declaration")
    references = Counter(declaration["referenceTiers"] for declaration in stored)
    if sorted(references) != sorted(f"bench-{index}" for index in range(rounds)) or set(references.values()) != {1}:
        failures.append(f"the storage holds {len(stored)} declarations for {rounds} rounds, or some twice")
    if set(numbers.values()) != {1} or set(numbers) != {declaration["numeroDeclaration"] for declaration in stored}:
        failures.append("declaration numbers are not one per round, or not those the storage holds")
    return failures


def timed(timer, call):
    """Run ``call()``; return (its result, total seconds, seconds inside Sandbox.handle)."""
    handle_before, calls_before = timer.seconds, timer.calls
    started = time.perf_counter()
    result = call()
    total = time.perf_counter() - started
    if timer.calls != calls_before + 1:
        raise RuntimeError(f"expected one sandbox exchange per call, got {timer.calls - calls_before}")
    return result, total, timer.seconds - handle_before


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
    results = {"estimate": [], "declare": []}
    started, cpu_started = time.perf_counter(), time.process_time()
    for index, (identifier, turnover) in enumerate(accounts):
        for name, call in (
            ("estimate", partial(client.estimate, identifier, *PERIOD, turnover)),
            ("declare", partial(client.declare, identifier, *PERIOD, turnover, f"bench-{index}")),
        ):
            result, total, in_handle = timed(timer, call)
            results[name].append(result)
            totals[name].append(total)
            handles[name].append(in_handle)
    wall_seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    client.close()
    return {
        "failures": check(storage, accounts, results),
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
    """Print the figures of a run whose work checked right; False (and no
    figure) when a check failed."""
    if result["failures"]:
        print(f"\n== {title}: the work is wrong, no speed reported ==", file=sys.stderr)
        for failure in result["failures"][:20]:
            print(f"  {failure}", file=sys.stderr)
        return False
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
    print(f"checked:          {rounds} estimates and declarations, amounts and storage right")
    return True


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
    ok = report("MemoryStorage", run(MemoryStorage(), args.rounds), args.rounds)
    with tempfile.TemporaryDirectory(prefix="urssaf-bench-") as directory:
        storage = SqliteStorage(Path(directory) / "sandbox.sqlite3")
        ok = report("SqliteStorage (temporary file)", run(storage, args.rounds), args.rounds) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
