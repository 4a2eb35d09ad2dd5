# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A pytest plugin (Odoo's own runner never loads it): an ERROR logged
while one of the addon's Odoo tests runs fails that test.

Loaded through ``pytest_plugins`` in ``tests/__init__.py``, which pytest
reads when it sets the package up, before the package's first test runs;
not a ``conftest.py``: pytest imports a conftest before pytest-odoo names
the addon's modules ``odoo.addons.*``, and Odoo refuses models imported
under another name.

Odoo's runner counts an ERROR line in the log as a failure; pytest-odoo does
not, so an exception caught and logged (a failed job, a 500 behind an RPC
call, a failed posting in a savepoint) would pass unseen. A test that
expects an error log says so with ``mute_logger`` or ``assertLogs``: both
keep the record from reaching the root logger, where it is collected here.
"""

import logging
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


class ErrorRecords(logging.Handler):
    """The ERROR (and CRITICAL) records that reach the root logger, from any
    thread (the HTTP server's threads of an HttpCase included)."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records = []

    def emit(self, record):
        # The logger checks the handler's level; a record handed over
        # directly is checked here.
        if record.levelno >= logging.ERROR:
            self.records.append(record)

    def describe(self):
        lines = []
        for record in self.records:
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 (a bad format string still says which logger)
                message = str(record.msg)
            lines.append(f"{record.levelname} {record.name}: {message.splitlines()[0] if message else ''}")
        return "\n".join(lines)


def fail_on_errors(phase, handler=None):
    """The body of the three wrappers below: the phase runs with the
    collector on the root logger; when it passed but logged an ERROR, it
    fails (when it failed already, its own failure says why)."""
    handler = handler or ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        result = yield
    finally:
        root.removeHandler(handler)
    if handler.records:
        pytest.fail(
            f"{len(handler.records)} ERROR line(s) logged during {phase} (Odoo's runner fails such a test; "
            f"wrap an expected one in mute_logger or assertLogs):\n{handler.describe()}",
            pytrace=False,
        )
    return result


def _checked(item, phase):
    """The phase of ``item`` under the check, when it is one of this
    folder's tests (not the pure tests of urssaf_api, for instance)."""
    if TESTS not in Path(item.path).resolve().parents:
        return (yield)
    return (yield from fail_on_errors(phase))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _checked(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _checked(item, "the test"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item):
    return (yield from _checked(item, "teardown"))
