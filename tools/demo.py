#!/usr/bin/env python3
"""Create or update the demo database and serve Odoo on http://localhost:8069.

Usage: python3 tools/demo.py [--db urssaf_demo] [--port 8069] [odoo server options...]

On a fresh Debian or Ubuntu machine it first installs what is missing
(PostgreSQL, Odoo 19 in a virtual environment: see tools/bootstrap.py).
A new database gets Odoo's French localisation (l10n_fr_account) with demo
data first, then the addon with its demo data: French companies whose bills
and invoices of the last four months are paid, and the embedded Urssaf
sandbox selected (the default environment). Log in as admin / admin,
preparer / preparer or declarant / declarant.
Stop with Ctrl+C; run it again to update the addon and serve again.
"""

# A command-line tool talks on stdout and stderr.
# pylint: disable=print-used

import argparse
import os
import sys
from pathlib import Path

import bootstrap
from odoo_env import ADDON, addon_folder, addons_path, check_postgres, find_odoo, install_addon

# The French chart of accounts the demo companies keep their books in.
LOCALISATION = "l10n_fr_account"


def database_exists(name):
    import psycopg2  # noqa: PLC0415 (installed with Odoo, after the set-up)

    with psycopg2.connect(dbname="postgres") as connection, connection.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return bool(cr.fetchone())


def addon_installed(name):
    """Whether the addon is installed on database ``name`` (an earlier run
    may have stopped between creating it and installing the addon)."""
    import psycopg2  # noqa: PLC0415 (installed with Odoo, after the set-up)

    with psycopg2.connect(dbname=name) as connection, connection.cursor() as cr:
        cr.execute("SELECT 1 FROM ir_module_module WHERE name = %s AND state = 'installed'", [ADDON])
        return bool(cr.fetchone())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="urssaf_demo")
    parser.add_argument("--port", type=int, default=8069)
    args, odoo_options = parser.parse_known_args()

    bootstrap.ensure()

    odoo_dir = find_odoo()
    check_postgres()
    state_dir = bootstrap.data_dir()
    # The addon as installed by pip (the set-up's virtual environment), else
    # this checkout linked under its technical name.
    path = addons_path(odoo_dir, addon_folder(state_dir / "addons"))
    exists = database_exists(args.db)
    if not exists:
        print(f"Creating {args.db} with Odoo's French localisation and demo data (a few minutes)", flush=True)
        # Odoo's own default data folder, where the server below keeps the files.
        data_dir = Path.home() / ".local" / "share" / "Odoo"
        code = install_addon(args.db, path, data_dir, LOCALISATION, "--with-demo")
        if code:
            sys.exit(f"demo: installing {LOCALISATION} on {args.db} failed (exit {code}).")
    installed = exists and addon_installed(args.db)
    command = [
        sys.executable,
        "-m",
        "odoo",
        "server",
        f"--addons-path={path}",
        f"--database={args.db}",
        f"--db-filter=^{args.db}$",
        f"--http-port={args.port}",
        "-u" if installed else "-i",
        ADDON,
    ]
    if not installed:
        command.append("--with-demo")
    command += odoo_options
    print(
        f"{'Updating' if installed else 'Installing the addon on'} {args.db}; Odoo on http://localhost:{args.port}"
        " (admin / admin, preparer / preparer, declarant / declarant). Ctrl+C stops it.",
        flush=True,
    )
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()
