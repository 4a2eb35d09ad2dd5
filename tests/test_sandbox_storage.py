# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The embedded sandbox's PostgreSQL storage plays a remote service: its
transactions are serialised by an advisory lock, lose nothing when several
workers write at once, and what it accepted stays accepted whatever becomes
of the Odoo transaction that called it."""

import threading
import time
import uuid
from datetime import date
from decimal import Decimal

from odoo import api, sql_db
from odoo.tests import freeze_time, tagged

from ..models.urssaf_sandbox_storage import PostgresSandboxStorage
from ..urssaf_api.models import Identifier
from ..urssaf_api.seed import seed_identifier
from .common import FROZEN_NOW, UrssafTransactionCase, reset_embedded_sandbox

WAIT = 30  # seconds: long enough never to be reached when all goes well


@tagged("post_install", "-at_install")
class TestSandboxStorageConcurrency(UrssafTransactionCase):
    def setUp(self):
        super().setUp()
        self.storage = PostgresSandboxStorage(self.env.cr.dbname)
        # Its own kind and counter: committed rows, removed after the test.
        self.kind = f"test_{uuid.uuid4().hex[:12]}"
        self.addCleanup(self._forget)

    def _forget(self):
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute("DELETE FROM urssaf_sandbox_document WHERE kind = %s OR key = %s", [self.kind, self.kind])

    def _waiting_for_the_lock(self):
        """How many connections of this database wait for an advisory lock."""
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
            )
            return cr.fetchone()[0]

    def _in_threads(self, *targets):
        """Run ``targets`` each in a thread; the exceptions they raised."""
        errors = []

        def guarded(target):
            try:
                target()
            except Exception as error:  # noqa: BLE001 (reported by the test)
                errors.append(error)

        threads = [threading.Thread(target=guarded, args=(target,)) for target in targets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT * 2)
        self.assertFalse([thread for thread in threads if thread.is_alive()], "the threads ended")
        return errors

    def test_a_transaction_waits_for_the_one_holding_the_lock(self):
        first_inside, release, second_inside = threading.Event(), threading.Event(), threading.Event()

        def first():
            with self.storage.transaction() as transaction:
                transaction.put(self.kind, "first", {"by": "first"})
                first_inside.set()
                release.wait(WAIT)

        def second():
            first_inside.wait(WAIT)
            with self.storage.transaction() as transaction:
                second_inside.set()
                # The first one's write is committed and seen.
                found = transaction.get(self.kind, "first")
                transaction.put(self.kind, "second", {"saw": found})

        thread_errors = []
        runner = threading.Thread(target=lambda: thread_errors.extend(self._in_threads(first, second)))
        runner.start()
        try:
            self.assertTrue(first_inside.wait(WAIT))
            # Seen by PostgreSQL, not guessed from a delay: the second
            # transaction waits for the advisory lock the first one holds.
            for _ in range(WAIT * 20):
                if second_inside.is_set() or self._waiting_for_the_lock():
                    break
                time.sleep(0.05)
            self.assertEqual(self._waiting_for_the_lock(), 1, "the second transaction waits for the advisory lock")
            self.assertFalse(second_inside.is_set())
        finally:
            release.set()
            runner.join(WAIT * 3)
        self.assertFalse(thread_errors)
        self.assertTrue(second_inside.is_set())
        with self.storage.transaction() as transaction:
            self.assertEqual(transaction.get(self.kind, "second"), {"saw": {"by": "first"}})

    def test_workers_writing_at_once_lose_nothing(self):
        """Read-modify-write of one document and a counter, by two workers
        at once, each in its own connection and transactions."""
        rounds = 40
        numbers = {"a": [], "b": []}

        def worker(name):
            def work():
                for _ in range(rounds):
                    with self.storage.transaction() as transaction:
                        document = transaction.get(self.kind, "tally") or {"count": 0, "by": []}
                        document["count"] += 1
                        document["by"].append(name)
                        transaction.put(self.kind, "tally", document)
                        numbers[name].append(transaction.next_number(self.kind))

            return work

        self.assertEqual(self._in_threads(worker("a"), worker("b")), [])
        with self.storage.transaction() as transaction:
            tally = transaction.get(self.kind, "tally")
        self.assertEqual(tally["count"], 2 * rounds, "no increment lost")
        self.assertEqual(sorted(tally["by"]), ["a"] * rounds + ["b"] * rounds)
        self.assertEqual(sorted(numbers["a"] + numbers["b"]), list(range(1, 2 * rounds + 1)), "each number once")

    def test_a_failed_sandbox_transaction_writes_nothing(self):
        with self.assertRaises(RuntimeError), self.storage.transaction() as transaction:
            transaction.put(self.kind, "half", {"done": False})
            raise RuntimeError("the sandbox failed half-way")
        with self.storage.transaction() as transaction:
            self.assertIsNone(transaction.get(self.kind, "half"))


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestSandboxOutlivesTheCaller(UrssafTransactionCase):
    def setUp(self):
        super().setUp()
        reset_embedded_sandbox(self.env.cr.dbname)
        self.addCleanup(reset_embedded_sandbox, self.env.cr.dbname)

    def test_what_the_sandbox_accepted_stays_when_the_caller_rolls_back(self):
        identifier = Identifier(**seed_identifier("cipav_corsica"))
        registry = self.registry
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            client = env.company._urssaf_client()
            client.register_mandate(identifier, date(2026, 1, 5))
            declared = client.declare(
                identifier,
                date(2026, 7, 1),
                date(2026, 9, 30),
                {"PRESTATION_SERVICES_BNC_CIPAV": Decimal("1000.00")},
                "ROLLED-BACK-CALLER",
            )
            # Something of the caller's own, gone with its transaction.
            env["res.partner"].create({"name": "Rolled back"})
            cr.rollback()
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Rolled back")]))
        client = self.env.company._urssaf_client()
        found = client.find_declaration_by_reference(identifier, "ROLLED-BACK-CALLER")
        self.assertEqual((found.number, found.total), (declared.number, declared.total))
        self.assertEqual(client.get_account(identifier).mandate.status, "ACTIF")

    def test_what_the_sandbox_accepted_stays_when_a_savepoint_rolls_back(self):
        identifier = Identifier(**seed_identifier("cipav_corsica"))
        client = self.env.company._urssaf_client()
        with self.assertRaises(RuntimeError), self.env.cr.savepoint():
            client.register_mandate(identifier, date(2026, 1, 5))
            raise RuntimeError("the caller failed after Urssaf answered")
        account = client.get_account(identifier)
        self.assertEqual(account.mandate.status, "ACTIF")
