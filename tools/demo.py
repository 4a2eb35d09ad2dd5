#!/usr/bin/env python3
"""Create or update the demo database and serve Odoo on http://localhost:8069.

Usage: python3 tools/demo.py [--db urssaf_demo] [--port 8069] [odoo server options...]

The database gets the addon with its demo data and the embedded Urssaf
sandbox selected (the default environment); log in as admin / admin.
Stop with Ctrl+C; run it again to update the addon and serve again.
"""

# A command-line tool talks on stdout and stderr.
# pylint: disable=print-used

import argparse
import os
import sys
from pathlib import Path

import psycopg2
from odoo_env import ADDON, addons_path, check_postgres, find_odoo, link_addon


def database_exists(name):
    with psycopg2.connect(dbname="postgres") as connection, connection.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return bool(cr.fetchone())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="urssaf_demo")
    parser.add_argument("--port", type=int, default=8069)
    args, odoo_options = parser.parse_known_args()

    odoo_dir = find_odoo()
    check_postgres()
    state_dir = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / ADDON
    path = addons_path(odoo_dir, link_addon(state_dir / "addons"))
    exists = database_exists(args.db)
    command = [
        sys.executable,
        "-m",
        "odoo",
        "server",
        f"--addons-path={path}",
        f"--database={args.db}",
        f"--db-filter=^{args.db}$",
        f"--http-port={args.port}",
        "-u" if exists else "-i",
        ADDON,
    ]
    if not exists:
        command.append("--with-demo")
    command += odoo_options
    print(
        f"{'Updating' if exists else 'Creating'} {args.db}; Odoo on http://localhost:{args.port}"
        " (admin / admin). Ctrl+C stops it.",
        flush=True,
    )
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()
