# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Where the embedded Urssaf sandbox of a database keeps its state.

The sandbox plays a remote service: what it accepted stays accepted even when
the Odoo transaction that called it rolls back or its worker dies, and every
worker of the database sees the same state, across restarts. So its storage
never goes through the caller's cursor: each sandbox transaction runs on a
connection of its own, serialised by an advisory lock, and commits.

The table is created by the storage itself, outside any module-install
transaction, so that demo data loaded at install can already talk to the
sandbox; the addon's uninstall hook drops it.
"""

import json
from contextlib import contextmanager

from odoo import sql_db
from odoo.tools import SQL

from ..urssaf_api.storage import SandboxStorage, StorageTransaction

TABLE = SQL.identifier("urssaf_sandbox_document")
INDEX = SQL.identifier("urssaf_sandbox_document_document_idx")
# One advisory lock key for the whole sandbox of a database ("URSS").
LOCK_KEY = 0x55525353
_tables_ready = set()


class PostgresSandboxStorage(SandboxStorage):
    """Sandbox storage in the database ``dbname``, shared by all its workers."""

    def __init__(self, dbname):
        self.dbname = dbname

    @contextmanager
    def transaction(self):
        with sql_db.db_connect(self.dbname).cursor() as cr:
            # Odoo's cursors are REPEATABLE READ: their snapshot would be
            # taken by the statement that waits for the lock, hiding what the
            # previous holder committed meanwhile. In READ COMMITTED each
            # statement after the lock sees it.
            cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            cr.execute(SQL("SELECT pg_advisory_xact_lock(%s)", LOCK_KEY))
            if self.dbname not in _tables_ready:
                cr.execute(
                    SQL(
                        """CREATE TABLE IF NOT EXISTS %s (
                            kind varchar NOT NULL,
                            key varchar NOT NULL,
                            document jsonb NOT NULL,
                            PRIMARY KEY (kind, key))""",
                        TABLE,
                    )
                )
                cr.execute(SQL("CREATE INDEX IF NOT EXISTS %s ON %s USING gin (document jsonb_path_ops)", INDEX, TABLE))
            yield PostgresStorageTransaction(cr)
        _tables_ready.add(self.dbname)


class PostgresStorageTransaction(StorageTransaction):
    def __init__(self, cr):
        self.cr = cr

    def get(self, kind, key):
        self.cr.execute(SQL("SELECT document FROM %s WHERE kind = %s AND key = %s", TABLE, kind, key))
        row = self.cr.fetchone()
        return row[0] if row else None

    def put(self, kind, key, document):
        self.cr.execute(
            SQL(
                """INSERT INTO %s (kind, key, document) VALUES (%s, %s, %s::jsonb)
                   ON CONFLICT (kind, key) DO UPDATE SET document = EXCLUDED.document""",
                TABLE,
                kind,
                key,
                json.dumps(document),
            )
        )

    def delete(self, kind, key):
        self.cr.execute(SQL("DELETE FROM %s WHERE kind = %s AND key = %s", TABLE, kind, key))

    def find(self, kind, **equals):
        self.cr.execute(
            SQL(
                "SELECT document FROM %s WHERE kind = %s AND document @> %s::jsonb ORDER BY key",
                TABLE,
                kind,
                json.dumps(equals),
            )
        )
        return [row[0] for row in self.cr.fetchall()]

    def next_number(self, name):
        self.cr.execute(
            SQL(
                """INSERT INTO %s (kind, key, document) VALUES ('_counter', %s, '{"value": 1}')
                   ON CONFLICT (kind, key) DO UPDATE
                   SET document = jsonb_build_object('value', (%s.document->>'value')::int + 1)
                   RETURNING (document->>'value')::int""",
                TABLE,
                name,
                TABLE,
            )
        )
        return self.cr.fetchone()[0]


def clear_sandbox(cr):
    """Forget everything the sandbox was told (it seeds itself again)."""
    cr.execute(SQL("SELECT to_regclass(%s)", TABLE.code))
    if cr.fetchone()[0]:
        cr.execute(SQL("DELETE FROM %s", TABLE))


def drop_sandbox_table(cr):
    """Remove the sandbox's state (uninstall)."""
    cr.execute(SQL("DROP TABLE IF EXISTS %s", TABLE))
    _tables_ready.discard(cr.dbname)
