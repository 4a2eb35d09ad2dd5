# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The test suite itself: pytest and Odoo's runner run the same tests, and
an ERROR logged during a test fails it under pytest as under Odoo's runner."""

import ast
import logging
import os
from pathlib import Path

from odoo.tests import BaseCase, tagged
from odoo.tools import mute_logger

TESTS = Path(__file__).resolve().parent


@tagged("post_install", "-at_install")
class TestHarness(BaseCase):
    def test_init_imports_every_test_module(self):
        """``odoo-bin --test-enable`` runs the modules ``tests/__init__.py``
        imports; pytest runs every ``test_*.py``: the two sets are one."""
        files = {path.stem for path in TESTS.glob("test_*.py")}
        tree = ast.parse((TESTS / "__init__.py").read_text(encoding="utf-8"))
        imported = {
            alias.name
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.level == 1 and not node.module
            for alias in node.names
        }
        self.assertEqual(sorted(files - imported), [], "test modules tests/__init__.py does not import")
        self.assertEqual(sorted(imported - files), [], "tests/__init__.py imports what is not a test module")

    def test_pytest_watches_this_test_for_error_logs(self):
        """Under pytest, the plugin (``pytest_plugins`` in
        ``tests/__init__.py``) collects this very test's ERROR records: its
        collector is on the root logger while the test runs."""
        if "PYTEST_CURRENT_TEST" not in os.environ:
            self.skipTest("Odoo's runner fails a test that logs an ERROR by itself")
        from . import pytest_error_logs as plugin  # noqa: PLC0415 (pytest's hooks, not Odoo's)

        collectors = [handler for handler in logging.getLogger().handlers if isinstance(handler, plugin.ErrorRecords)]
        self.assertEqual(
            len(collectors),
            1,
            "pytest does not fail this test on an ERROR log: tests/pytest_error_logs.py is not loaded "
            "(pytest_plugins in tests/__init__.py) or does not watch the addon's tests",
        )

    def test_error_logged_fails_the_test(self):
        """tests/pytest_error_logs.py: a phase that logged an ERROR fails; one whose
        ERROR was muted (expected) passes, and so does one with a warning."""
        import pytest  # noqa: PLC0415 (pytest's own, only where pytest runs)

        from . import pytest_error_logs as plugin  # noqa: PLC0415 (pytest's hooks, not Odoo's)

        logger = logging.getLogger("odoo.addons.l10n_fr_urssaf_tierce_declaration.harness")
        root = logging.getLogger()

        def record(level, message):
            return logger.makeRecord(logger.name, level, __file__, 0, message, (), None)

        # A phase that passed but logged an ERROR fails, naming it.
        handler = plugin.ErrorRecords()
        phase = plugin.fail_on_errors("the test", handler)
        next(phase)
        self.assertIn(handler, root.handlers)
        handler.handle(record(logging.WARNING, "only a warning"))
        handler.handle(record(logging.ERROR, "the posting failed"))
        with self.assertRaises(pytest.fail.Exception) as caught:
            try:
                phase.send(None)
            except StopIteration:
                self.fail("a phase that logged an ERROR passed")
        self.assertIn(
            "ERROR odoo.addons.l10n_fr_urssaf_tierce_declaration.harness: the posting failed", str(caught.exception)
        )
        self.assertNotIn("only a warning", str(caught.exception))
        self.assertNotIn(handler, root.handlers)
        # An expected error, muted, never reaches the root logger.
        handler = plugin.ErrorRecords()
        phase = plugin.fail_on_errors("the test", handler)
        next(phase)
        with mute_logger(logger.name):
            logger.error("expected")
        with self.assertRaises(StopIteration):
            phase.send(None)
        self.assertEqual(handler.records, [])
