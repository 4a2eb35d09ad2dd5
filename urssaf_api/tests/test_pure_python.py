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
