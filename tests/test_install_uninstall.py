# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The addon installs on a fresh database and uninstalls without leftovers.

Runs Odoo in subprocesses on a database of its own, because uninstalling
cannot happen inside the test transaction of the database under test:

1. the database gets the addon's dependencies only (with demo data), and
   what it holds is read: the catalog below;
2. the addon is installed with its demo data: the catalog grows by what it
   added (tables, columns, models, fields, xml ids, groups, menus, views,
   record rules, crons, server actions, the embedded sandbox's table...);
3. the addon is uninstalled: the catalog must be what it was in 1.

The catalog is generic: every table, column, index and constraint of the
schema, and every row of Odoo's metadata tables (by id: it is one
database). A model, field, view or table added to the addon later is
covered without editing this test.
"""

import shutil
import subprocess
import sys
import tempfile
import uuid

import psycopg2

from odoo.tests import BaseCase, tagged
from odoo.tools import config

ADDON = "l10n_fr_urssaf_tierce_declaration"
DEPENDENCIES = "account,mail"

# The schema, by name.
SCHEMA = {
    "tables": "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
    "columns": "SELECT table_name || '.' || column_name FROM information_schema.columns "
    "WHERE table_schema = current_schema()",
    "indexes": "SELECT tablename || '.' || indexname FROM pg_indexes WHERE schemaname = current_schema()",
    "constraints": "SELECT conrelid::regclass::text || '.' || conname FROM pg_constraint "
    "WHERE connamespace = current_schema()::regnamespace",
}
# Odoo's metadata, by row id, with a label to name a leftover.
METADATA = {
    "models": ("ir_model", "model"),
    "fields": ("ir_model_fields", "model || '.' || name"),
    "selection values": ("ir_model_fields_selection", "field_id || ':' || value"),
    "model inherits": ("ir_model_inherit", "model_id || ' < ' || parent_id"),
    "xml ids": ("ir_model_data", "module || '.' || name || ' (' || model || ')'"),
    "model constraints": ("ir_model_constraint", "name"),
    "model relations": ("ir_model_relation", "name"),
    "access rights": ("ir_model_access", "name"),
    "record rules": ("ir_rule", "name"),
    "groups": ("res_groups", "name->>'en_US'"),
    "group privileges": ("res_groups_privilege", "name->>'en_US'"),
    "menus": ("ir_ui_menu", "name->>'en_US'"),
    "views": ("ir_ui_view", "name"),
    "actions": ("ir_actions", "name->>'en_US' || ' (' || type || ')'"),
    "window actions": ("ir_act_window", "name->>'en_US'"),
    "server actions": ("ir_act_server", "name->>'en_US'"),
    "crons": ("ir_cron", "cron_name"),
    "config parameters": ("ir_config_parameter", "key"),
    "defaults": ("ir_default", "field_id::text"),
    "sequences": ("ir_sequence", "code"),
    "mail templates": ("mail_template", "name->>'en_US'"),
    "activity types": ("mail_activity_type", "name->>'en_US'"),
}
# What the addon itself adds, in each part of the catalog: the check would
# prove nothing if the catalog did not see them.
ADDED = {
    "tables",
    "columns",
    "indexes",
    "constraints",
    "models",
    "fields",
    "selection values",
    "xml ids",
    "access rights",
    "record rules",
    "groups",
    "group privileges",
    "menus",
    "views",
    "actions",
    "window actions",
    "server actions",
    "crons",
}


@tagged("post_install", "-at_install")
class TestInstallUninstall(BaseCase):
    maxDiff = None

    def setUp(self):
        super().setUp()
        self.db = f"urssaf_uninstall_{uuid.uuid4().hex[:8]}"
        self.data_dir = tempfile.mkdtemp(prefix="urssaf-uninstall-")
        self.addCleanup(shutil.rmtree, self.data_dir, True)
        self.addCleanup(subprocess.run, ["dropdb", "--if-exists", self.db], check=False)

    def _odoo(self, *args):
        addons_path = config["addons_path"]
        if not isinstance(addons_path, str):
            addons_path = ",".join(addons_path)
        cmd = [sys.executable, "-m", "odoo", f"--addons-path={addons_path}", *args]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, check=False)
        self.assertEqual(
            result.returncode, 0, f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )

    def _install(self, modules):
        self._odoo(
            "server",
            f"--database={self.db}",
            f"--data-dir={self.data_dir}",
            "--no-http",
            "-i",
            modules,
            "--with-demo",
            "--stop-after-init",
            "--log-level=warn",
        )

    def _query(self, sql):
        with psycopg2.connect(dbname=self.db) as connection, connection.cursor() as cr:
            cr.execute(sql)
            return cr.fetchall()

    def _catalog(self):
        """``{part: {key: label}}`` of the schema and of Odoo's metadata."""
        catalog = {part: {name: name for (name,) in self._query(sql)} for part, sql in SCHEMA.items()}
        tables = catalog["tables"]
        for part, (table, label) in METADATA.items():
            self.assertIn(table, tables, f"Odoo 19 has a table {table}")
            catalog[part] = dict(self._query(f"SELECT id, {label} FROM {table}"))  # noqa: S608 (fixed names)
        return catalog

    @staticmethod
    def _difference(catalog, other):
        """What ``catalog`` holds that ``other`` does not, by part."""
        found = {}
        for part, items in catalog.items():
            extra = sorted(str(label) for key, label in items.items() if key not in other[part])
            if extra:
                found[part] = extra
        return found

    def test_install_with_demo_then_uninstall_leaves_nothing(self):
        self._install(DEPENDENCIES)
        self.assertEqual(self._query(f"SELECT state FROM ir_module_module WHERE name = '{ADDON}'"), [("uninstalled",)])
        before = self._catalog()

        self._install(ADDON)
        self.assertEqual(self._query(f"SELECT state FROM ir_module_module WHERE name = '{ADDON}'"), [("installed",)])
        installed = self._catalog()
        added = self._difference(installed, before)
        self.assertEqual(set(added) & ADDED, ADDED, f"the catalog sees what the addon adds: {added}")
        self.assertIn("urssaf_sandbox_document", added["tables"], "the embedded sandbox's table")
        self.assertIn("urssaf_account.nir", added["columns"])
        self.assertIn("res_company.urssaf_environment", added["columns"])
        self.assertIn(f"{ADDON}.ir_cron_urssaf_declarations (ir.cron)", added["xml ids"])
        self.assertEqual(self._difference(before, installed), {}, "installing removes nothing")
        # The demo data registered mandates with the embedded sandbox, whose
        # state lives in a table of its own.
        self.assertEqual(
            self._query("SELECT count(*) > 0 FROM urssaf_sandbox_document WHERE kind = 'mandate'"), [(True,)]
        )
        self.assertEqual(self._query("SELECT count(*) FROM urssaf_mandate WHERE state = 'active'"), [(2,)])
        # The demo auto-entrepreneurs were checked against the sandbox's seed
        # (one of them is not eligible), and the SEPA mandate Urssaf already
        # holds for Camille Martin was synchronised onto her bank account.
        self.assertEqual(
            self._query(
                "SELECT state, count(*) FROM urssaf_account WHERE is_auto_entrepreneur GROUP BY state ORDER BY state"
            ),
            [("eligible", 5), ("not_eligible", 1)],
        )
        self.assertEqual(self._query("SELECT rum, state FROM urssaf_sepa_mandate"), [("URSSAF-AE-SEED-0001", "active")])

        self._odoo("module", "uninstall", f"--database={self.db}", ADDON)

        self.assertEqual(self._query(f"SELECT state FROM ir_module_module WHERE name = '{ADDON}'"), [("uninstalled",)])
        after = self._catalog()
        self.assertEqual(self._difference(after, before), {}, "left behind after uninstall")
        self.assertEqual(self._difference(before, after), {}, "removed by uninstalling, though not the addon's")
