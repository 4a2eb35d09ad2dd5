"""The client and the sandbox stand on their own: no module of the package
imports Odoo, so they can be used, served and tested without it."""

import subprocess
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent

PROBE = """
import pkgutil, sys
import urssaf_api
names = [f"urssaf_api.{m.name}" for m in pkgutil.iter_modules(urssaf_api.__path__) if m.name != "tests"]
for name in names:
    __import__(name)
odoo = sorted(m for m in sys.modules if m == "odoo" or m.startswith("odoo."))
print(len(names), odoo)
"""


def test_no_module_of_the_package_imports_odoo():
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(PACKAGE_DIR.parent)!r})\n{PROBE}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    count, odoo_modules = result.stdout.split(" ", 1)
    assert int(count) >= 10, "every module of the package was imported"
    assert odoo_modules.strip() == "[]"


def test_its_tests_run_from_a_checkout_without_odoo(tmp_path):
    """``python -m pytest urssaf_api`` in a checkout, on a machine where
    ``import odoo`` fails: pytest reaches the package through the addon's
    ``__init__.py``, which leaves its Odoo parts out under that name."""
    shim = tmp_path / "no_odoo" / "odoo"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text('raise ImportError("no Odoo on this machine")\n', encoding="utf-8")
    checkout = PACKAGE_DIR.parent
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "urssaf_api/tests/test_call_pool.py",
            "urssaf_api/tests/test_periods.py",
        ],
        cwd=checkout,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(shim.parent),
            # pytest-odoo, when installed, imports Odoo as it loads.
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
