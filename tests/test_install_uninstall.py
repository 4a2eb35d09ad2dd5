# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The addon installs on a fresh database and uninstalls without leftovers.

Runs Odoo in subprocesses on a database of its own, because uninstalling
cannot happen inside the test transaction of the database under test.
"""

import subprocess
import sys
import uuid

import psycopg2
import pytest

from odoo.tools import config

ADDON = "l10n_fr_urssaf_tierce_declaration"


def _odoo(*args):
    addons_path = config["addons_path"]
    if not isinstance(addons_path, str):
        addons_path = ",".join(addons_path)
    cmd = [sys.executable, "-m", "odoo", f"--addons-path={addons_path}", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _query(db, sql):
    with psycopg2.connect(dbname=db) as connection, connection.cursor() as cr:
        cr.execute(sql)
        return cr.fetchall()


@pytest.fixture
def fresh_db():
    name = f"urssaf_uninstall_{uuid.uuid4().hex[:8]}"
    yield name
    subprocess.run(["dropdb", "--if-exists", name], check=False)


def test_install_with_demo_then_uninstall_leaves_nothing(fresh_db, tmp_path):
    data_dir = f"--data-dir={tmp_path}"
    _odoo(
        "server",
        f"--database={fresh_db}",
        data_dir,
        "--no-http",
        "-i",
        ADDON,
        "--with-demo",
        "--stop-after-init",
        "--log-level=warn",
    )
    assert _query(fresh_db, f"SELECT state FROM ir_module_module WHERE name = '{ADDON}'") == [("installed",)]
    # The demo data registered mandates with the embedded sandbox, whose
    # state lives in a table of its own.
    assert _query(fresh_db, "SELECT count(*) > 0 FROM urssaf_sandbox_document WHERE kind = 'mandate'") == [(True,)]
    assert _query(fresh_db, "SELECT count(*) FROM urssaf_mandate WHERE state = 'active'") == [(2,)]
    # The demo auto-entrepreneurs were checked against the sandbox's seed (one
    # of them is not eligible), and the SEPA mandate Urssaf already holds for
    # Camille Martin was synchronised onto her bank account.
    assert _query(
        fresh_db,
        "SELECT state, count(*) FROM urssaf_account WHERE is_auto_entrepreneur GROUP BY state ORDER BY state",
    ) == [("eligible", 5), ("not_eligible", 1)]
    assert _query(fresh_db, "SELECT rum, state FROM urssaf_sepa_mandate") == [("URSSAF-AE-SEED-0001", "active")]

    _odoo("module", "uninstall", f"--database={fresh_db}", ADDON)

    assert _query(fresh_db, f"SELECT state FROM ir_module_module WHERE name = '{ADDON}'") == [("uninstalled",)]
    assert _query(fresh_db, "SELECT to_regclass('urssaf_sandbox_document') IS NULL") == [(True,)]
    leftovers = {
        "res_company columns": "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'res_company' AND column_name LIKE 'urssaf%%'",
        "models": "SELECT model FROM ir_model WHERE model LIKE 'urssaf.%%'",
        "fields": "SELECT model, name FROM ir_model_fields WHERE name LIKE 'urssaf%%'",
        "xml ids": f"SELECT model, name FROM ir_model_data WHERE module = '{ADDON}'",
        "groups": "SELECT id FROM res_groups WHERE name->>'en_US' LIKE 'Urssaf%%'",
        "menus": "SELECT id FROM ir_ui_menu WHERE name->>'en_US' = 'Urssaf'",
        "views": "SELECT name FROM ir_ui_view WHERE name LIKE '%%urssaf%%'",
    }
    found = {what: rows for what, sql in leftovers.items() if (rows := _query(fresh_db, sql.replace("%%", "%")))}
    assert not found, f"left behind after uninstall: {found}"
