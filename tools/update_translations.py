#!/usr/bin/env python3
"""Regenerate i18n/<addon>.pot and merge it into i18n/fr.po.

Usage: python3 tools/update_translations.py [--db NAME]

Without --db, a throwaway database is created with the addon installed and
dropped afterwards. The French file keeps every existing translation of a
term still in use, gets the new terms untranslated, and loses the terms no
longer in use; the terms left to translate are listed at the end.
"""

# A command-line tool talks on stdout and stderr.
# pylint: disable=print-used
import argparse
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import polib
from odoo_env import ADDON, REPO, addon_folder, addons_path, check_postgres, find_odoo, install_addon

POT = REPO / "i18n" / f"{ADDON}.pot"
PO_FR = REPO / "i18n" / "fr.po"


def export_pot(db, path):
    subprocess.run(
        [sys.executable, "-m", "odoo", f"--addons-path={path}", "i18n", "export", "-d", db, "-o", str(POT), ADDON],
        check=True,
    )


def merge_french():
    template = polib.pofile(str(POT))
    previous = polib.pofile(str(PO_FR)) if PO_FR.exists() else polib.POFile()
    known = {(entry.msgctxt, entry.msgid): entry for entry in previous if not entry.obsolete}
    french = polib.POFile(wrapwidth=78)
    french.metadata = dict(template.metadata)
    french.metadata.update({"Language": "fr", "Plural-Forms": "nplurals=2; plural=(n > 1);"})
    french.header = template.header
    for entry in template:
        old = known.get((entry.msgctxt, entry.msgid))
        entry.msgstr = old.msgstr if old else ""
        if old and "fuzzy" in old.flags and "fuzzy" not in entry.flags:
            entry.flags.append("fuzzy")
        french.append(entry)
    french.save(str(PO_FR))
    return [entry.msgid for entry in french if not entry.msgstr or entry.fuzzy]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db")
    args = parser.parse_args()
    odoo_dir = find_odoo()
    check_postgres()
    work = Path(tempfile.mkdtemp(prefix="urssaf-i18n-"))
    path = addons_path(odoo_dir, addon_folder(work / "addons"))
    db = args.db or f"urssaf_i18n_{uuid.uuid4().hex[:8]}"
    try:
        if not args.db:
            if install_addon(db, path, work / "data"):
                return 1
        export_pot(db, path)
    finally:
        if not args.db:
            subprocess.run(["dropdb", "--if-exists", db], check=False)
    untranslated = merge_french()
    print(f"{POT.relative_to(REPO)} regenerated; {len(untranslated)} French terms to translate.")
    for msgid in untranslated:
        print("  -", msgid.replace("\n", " ")[:100])
    return 0


if __name__ == "__main__":
    sys.exit(main())
