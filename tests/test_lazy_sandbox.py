# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The embedded sandbox (a simulation of the whole API) is loaded only by a
database that uses it; the test helpers never by the addon."""

import subprocess
import sys

from odoo.tests import TransactionCase, tagged
from odoo.tools import config

ADDON = "odoo.addons.l10n_fr_urssaf_tierce_declaration"
PROBE = """
import sys
from odoo.tools import config
config.parse_config(["--addons-path=" + sys.argv[1]])
import odoo.addons
from odoo.modules.module import initialize_sys_path
initialize_sys_path()
import {addon}
print(" ".join(sorted(name for name in sys.modules if name.startswith("{addon}."))))
"""


@tagged("post_install", "-at_install")
class TestLazySandbox(TransactionCase):
    def test_loading_the_addon_loads_neither_the_sandbox_nor_the_test_helpers(self):
        probe = subprocess.run(
            [sys.executable, "-c", PROBE.format(addon=ADDON), ",".join(config["addons_path"])],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        self.assertEqual(probe.returncode, 0, probe.stderr)
        loaded = set(probe.stdout.split())
        # The probe really loaded the addon: its models and the API client.
        self.assertIn(f"{ADDON}.models.urssaf_declaration", loaded)
        self.assertIn(f"{ADDON}.urssaf_api.client", loaded)
        for module in ("sandbox", "seed", "storage", "server", "testing"):
            self.assertNotIn(f"{ADDON}.urssaf_api.{module}", loaded)
        self.assertNotIn(f"{ADDON}.models.urssaf_sandbox_storage", loaded)
