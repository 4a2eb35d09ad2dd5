#!/usr/bin/env python3
"""Run the addon's tests on a real Odoo 19 and PostgreSQL, in a throwaway database.

Usage: python3 tools/run_tests.py [pytest arguments...]

0. on a fresh Debian or Ubuntu machine, installs what is missing
   (PostgreSQL, Chromium, Odoo 19 and the test requirements in a virtual
   environment: see tools/bootstrap.py), then runs itself there;
1. finds Odoo 19 in the Python that runs this script (``odoo.release``);
2. builds the addons path: Odoo's own addons, the community ``addons/``
   folder next to an editable (source) install, ``$ODOO_ADDONS_PATH`` when
   set, and a temporary folder holding this repository under the addon's
   technical name;
3. creates a throwaway database and installs the addon and its dependencies,
   then vacuums it and keeps autovacuum off its tables (``hold_statistics``:
   the tests' rolled-back rows must not make PostgreSQL see empty tables);
4. runs the tests through pytest-odoo and prints pytest's summary line;
   ``tests/test_demo.py`` runs apart, on a second database built as
   ``tools/demo.py`` builds it (French localisation and demo data);
5. drops the database, and exits non-zero on any failure, and on any
   skipped test: a test that did not run proves nothing (the browser tours
   skip themselves when Chromium, websocket-client or the browser's devtools
   are missing), so it fails the run, naming each skipped test and why.

Environment: ``ODOO_ADDONS_PATH`` (extra addons folders, comma-separated),
``PGHOST``/``PGPORT``/``PGUSER``/``PGPASSWORD`` (libpq's usual variables),
``URSSAF_TEST_KEEP_DB=1`` to keep the database for inspection,
``URSSAF_TEST_MODULES`` (extra modules to install beside the addon and
``TEST_MODULES``).
"""

# A command-line tool talks on stdout and stderr.
# pylint: disable=print-used

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import bootstrap
from odoo_env import ADDON, REPO, addons_path, check_postgres, find_odoo, install_addon, link_addon

# Installed beside the addon for its tests: the French chart of accounts
# (the contributions posted in an auto-entrepreneur's own books), and the
# point of sale, whose takings count when it is installed (the addon does not
# depend on it; tests/test_pos_takings.py would skip without it). It adds
# 20 to 35 s to the install (measured on two shared cores), and brings
# l10n_fr_pos_cert with the French localisation.
TEST_MODULES = ("l10n_fr_account", "point_of_sale")
# The test of the demo data runs on a database built as tools/demo.py
# builds it: the French localisation, then the addon, with demo data.
DEMO_TESTS = "tests/test_demo.py"
DEMO_LOCALISATION = "l10n_fr_account"


def _in_link(arg, link_dir):
    """A test path of this repository, seen through the link that bears the
    addon's technical name (pytest-odoo derives the module name from it)."""
    path = arg.split("::", 1)[0]
    if arg.startswith("-") or not (REPO / path).exists():
        return arg
    return str(link_dir / ADDON / arg)


def free_port():
    """A TCP port free on the loopback now: two test runs on one machine
    (two checkouts, a developer and CI) must not share Odoo's HTTP port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The exit code of a run where every test passed but some were skipped.
SKIPPED_EXIT_CODE = 3


def skipped_tests(junit_xml):
    """``[(test, reason)]`` of the tests pytest reports skipped in its JUnit
    XML report."""
    if not Path(junit_xml).is_file():
        return []
    skipped = []
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        for skip in case.findall("skipped"):
            name = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
            skipped.append((name, (skip.get("message") or skip.text or "").strip()))
    return skipped


def counts(junit_xml):
    """``(passed, failed, skipped)`` in pytest's JUnit XML report."""
    if not Path(junit_xml).is_file():
        return 0, 0, 0
    passed = failed = skipped = 0
    for suite in ET.parse(junit_xml).getroot().iter("testsuite"):
        tests, skips = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
        failures = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        passed += tests - skips - failures
        failed += failures
        skipped += skips
    return passed, failed, skipped


def report_skipped(skipped, code):
    """Say which tests were skipped and why; the exit code of the run."""
    if not skipped:
        return code
    print(
        f"run_tests: {len(skipped)} test(s) skipped; a skipped test proves nothing, so the run fails:",
        file=sys.stderr,
    )
    for name, reason in skipped:
        print(f"  SKIPPED {name}: {reason or 'no reason given'}", file=sys.stderr)
    return code or SKIPPED_EXIT_CODE


def optional_modules():
    """OCA's queue_job when this Python has it (test-requirements.txt): the
    addon does not depend on it, but its jobs are tested with it installed."""
    return ["queue_job"] if importlib.util.find_spec("odoo.addons.queue_job") else []


def run(cmd, **kwargs):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=False, **kwargs).returncode


def hold_statistics(db):
    """Vacuum and analyse the freshly installed database, then keep
    autovacuum off its tables for the tests.

    Each test rolls its rows back. Autovacuum, running between two tests,
    then finds tables whose pages hold only dead rows and records them as
    empty (``reltuples`` 0 over a number of pages): PostgreSQL estimates one
    row for each, whatever a later test inserts, and plans nested loops of
    sequential scans. Odoo's own query of an invoice's payments
    (``_compute_reconciled_payment_ids``) then took 1 to 1.8 s a call, and
    ``test_query_count_does_not_grow`` from 15 s to 268 s, depending on
    when autovacuum had run. Vacuumed once after the install, the empty
    tables have no pages and PostgreSQL sizes them from what they hold.
    """
    import psycopg2  # noqa: PLC0415 (installed with Odoo's requirements)

    connection = psycopg2.connect(dbname=db)
    try:
        connection.autocommit = True
        with connection.cursor() as cr:
            cr.execute("VACUUM ANALYZE")
            cr.execute(
                """
                SELECT format('ALTER TABLE %I.%I SET (autovacuum_enabled = false)', n.nspname, c.relname)
                  FROM pg_class c
                  JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.relkind = 'r' AND n.nspname = 'public'
                """
            )
            for (statement,) in cr.fetchall():
                cr.execute(statement)
    finally:
        connection.close()


def run_suite(name, install_steps, targets, path, work):
    """Install on a throwaway database, run pytest on ``targets``, drop the
    database; the exit code (skipped tests counting as failures)."""
    db = f"urssaf_test_{uuid.uuid4().hex[:8]}"
    data_dir = work / f"data-{name}"
    junit_xml = work / f"junit-{name}.xml"
    code = 1
    try:
        for modules, *extra in install_steps:
            code = install_addon(db, path, data_dir, modules, *extra)
            if code:
                print(f"run_tests: installing {modules} failed (exit {code}).", file=sys.stderr)
                return code
        hold_statistics(db)
        code = run(
            [
                sys.executable,
                "-m",
                "pytest",
                f"--odoo-database={db}",
                f"--odoo-addons-path={path}",
                f"--odoo-extra=data-dir={data_dir}",
                "--odoo-log-level=warn",
                # Serve HTTP, on the loopback only, for the HttpCase tests
                # (browser tours): without it pytest-odoo skips them.
                "--odoo-http",
                "--odoo-extra=http-interface=127.0.0.1",
                f"--odoo-extra=http-port={os.environ.get('URSSAF_TEST_HTTP_PORT') or free_port()}",
                "-p",
                "no:cacheprovider",
                "-o",
                "python_files=test_*.py",
                "-q",
                "-rs",
                f"--junitxml={junit_xml}",
                *targets,
            ],
            cwd=work,
        )
        if code == 5:
            print("run_tests: pytest collected no test.", file=sys.stderr)
        return report_skipped(skipped_tests(junit_xml), code)
    finally:
        if os.environ.get("URSSAF_TEST_KEEP_DB"):
            print(f"run_tests: database {db} kept (data dir {data_dir}).")
        else:
            run(["dropdb", "--if-exists", db])


def _is_demo_target(target, link_dir):
    return Path(target.split("::", 1)[0]) == link_dir / ADDON / DEMO_TESTS


def main(pytest_args):
    bootstrap.ensure(tests=True)
    odoo_dir = find_odoo()
    check_postgres()
    work = Path(tempfile.mkdtemp(prefix="urssaf-tests-"))
    # Always a link here, even when the addon is installed as a package:
    # pytest-odoo names a test module after the folder it is collected from,
    # and the link is named after the addon whatever the checkout's name.
    link_dir = link_addon(work / "addons")
    path = addons_path(odoo_dir, link_dir)
    extra = [m for m in os.environ.get("URSSAF_TEST_MODULES", "").split(",") if m]
    modules = ",".join([ADDON, *TEST_MODULES, *optional_modules(), *extra])
    targets = [_in_link(arg, link_dir) for arg in pytest_args]
    options = [t for t in targets if not t.startswith(str(link_dir))]
    paths = [t for t in targets if t.startswith(str(link_dir))]
    demo_paths = [t for t in paths if _is_demo_target(t, link_dir)]
    other_paths = [t for t in paths if not _is_demo_target(t, link_dir)]
    if not paths:
        # The whole suite: the demo's test on the demo database, the others
        # on a database without demo data.
        other_paths = [str(link_dir / ADDON), f"--ignore={link_dir / ADDON / DEMO_TESTS}"]
        demo_paths = [str(link_dir / ADDON / DEMO_TESTS)]
    code = 0
    try:
        if other_paths:
            code = run_suite("addon", [(modules,)], options + other_paths, path, work)
        if demo_paths:
            # The demo database, as tools/demo.py builds it.
            steps = [(DEMO_LOCALISATION, "--with-demo"), (modules, "--with-demo")]
            code = run_suite("demo", steps, options + demo_paths, path, work) or code
        return code
    finally:
        totals = [sum(column) for column in zip(*(counts(xml) for xml in work.glob("junit-*.xml")), strict=True)]
        if len(totals) == 3 and sum(totals):
            # The runs' totals, after pytest's summary of each run.
            print(f"run_tests: {totals[0]} passed, {totals[1]} failed, {totals[2]} skipped", flush=True)
        if not os.environ.get("URSSAF_TEST_KEEP_DB"):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
