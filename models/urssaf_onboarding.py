# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Onboarding at scale: checking accounts and registering mandates and SEPA
mandates for a selection of auto-entrepreneurs, several Urssaf calls in
flight at once through the bounded call pool, as the declaration runs do.

This thread prepares each request (ORM, checks, the identifier) and records
each answer (ORM, chatter); the pool's threads only run the HTTP calls with
plain values: the ORM and the cursor are not thread-safe."""

import contextlib
import functools

import psycopg2

from odoo import models
from odoo.exceptions import UserError
from odoo.tools import SQL, mute_logger

from ..urssaf_api.call_pool import UrssafCallPool
from ..urssaf_api.client import SharedBackoff
from ..urssaf_api.exceptions import UrssafError, UrssafOutcomeUnknown
from .urssaf_common import check_declarant, correlation_note

DONE, REFUSED, FAILED = "done", "refused", "failed"


class UrssafBatchMixin(models.AbstractModel):
    """Records sent to Urssaf on a selection, each once, several in flight.

    A model using it implements ``_urssaf_batch_prepare(step, identifier)``
    (``identifier``: what the check before the first call found, None when
    not checked yet) returning
    ``(call, record)``: ``call(client)`` talks to Urssaf with plain values
    only (it runs in a pool thread), ``record(value, error)`` keeps what it
    gave, in the thread of the run, and returns ``(outcome, message)`` with
    outcome ``done`` or ``refused`` (a UserError is a failure); and
    ``_urssaf_batch_label(step)``, what the step is called in the summary.
    """

    _name = "urssaf.batch.mixin"
    _description = "Urssaf calls on a selection"

    def _urssaf_batch_prepare(self, step, identifier=None):
        raise NotImplementedError

    def _urssaf_batch_one(self, step):
        """``step`` for this one record, its call made in this thread: the
        outcome ``record`` returns (``(outcome, message)`` or what the model
        records)."""
        self.ensure_one()
        call, record = self._urssaf_batch_prepare(step)
        client = self.company_id._urssaf_client()
        try:
            result, error = call(client), None
        except UrssafError as failure:
            result, error = None, failure
        finally:
            client.close()
        return record(result, error)

    def _urssaf_batch_label(self, step):
        raise NotImplementedError

    def _urssaf_batch_run(self, step, checked=None):
        """Send ``step`` for each record, at most the company's *Urssaf calls
        in parallel* in flight; returns the results sorted into done,
        refused, failed (record, message) and skipped (held by another
        transaction, which is sending them)."""
        results = {DONE: self.browse(), REFUSED: self.browse(), FAILED: [], "skipped": self.browse()}
        results["unknown"] = self.browse()
        locked = self._urssaf_batch_lock()
        results["skipped"] = self - locked
        for company, records in locked.grouped("company_id").items():
            client = company._urssaf_client()
            if company._urssaf_parallel_calls() > 1:
                client.shared_backoff = SharedBackoff()
            try:
                records._urssaf_batch_calls(step, company, client, results, checked or {})
            finally:
                client.close()
        return results

    def _urssaf_batch_lock(self):
        """The records whose rows this transaction now holds (those another
        transaction holds are being sent by it: left out)."""
        if not self:
            return self
        self.flush_recordset()
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM %s WHERE id IN %s FOR NO KEY UPDATE SKIP LOCKED",
                        SQL.identifier(self._table),
                        tuple(self.ids),
                    )
                )
                held = {row[0] for row in self.env.cr.fetchall()}
        except psycopg2.errors.SerializationFailure:
            return self.browse()
        # Another transaction may have sent some of them meanwhile.
        self.invalidate_recordset()
        return self.filtered(lambda record: record.id in held)

    def _urssaf_batch_calls(self, step, company, client, results, checked):
        """``_urssaf_batch_run`` for the records of ``company``: each one
        prepared when the pool has a thread free for its call."""
        sent = []  # the record function of each call handed to the pool
        parallel = company._urssaf_parallel_calls()

        def calls():
            for record in self:
                try:
                    with self.env.cr.savepoint():
                        call, keep = record._urssaf_batch_prepare(step, checked.get(record.id))
                except UserError as error:
                    self.env.invalidate_all()
                    record._urssaf_batch_log_failure(step, str(error.args[0]))
                    results[FAILED].append((record, str(error.args[0])))
                    continue
                sent.append((record, keep))
                yield functools.partial(call, client)

        pool = UrssafCallPool(parallel, name=f"urssaf-{step}")
        with contextlib.closing(pool.run(calls())) as answers:
            for index, outcome in answers:
                record, keep = sent[index]
                record._urssaf_batch_record(step, keep, outcome, results)
        for index in pool.not_attempted:
            record = sent[index][0]
            message = self.env._("Urssaf kept refusing the calls (rate limit): try again later.")
            record._urssaf_batch_log_failure(step, message)
            results[FAILED].append((record, message))

    def _urssaf_batch_record(self, step, keep, outcome, results):
        """Record one call's outcome on this record, in a savepoint of its
        own, and sort it into ``results``."""
        self.ensure_one()
        if outcome.error is not None and not isinstance(outcome.error, UrssafError):
            # A bug, not an answer of Urssaf's: it stops the run.
            raise outcome.error
        try:
            with self.env.cr.savepoint():
                kind, message = keep(outcome.value, outcome.error)
        except UserError as error:
            self.env.invalidate_all()
            message = str(error.args[0])
            if isinstance(outcome.error, UrssafOutcomeUnknown):
                # Urssaf may hold it: the next sending looks it up first.
                results["unknown"] |= self
            self._urssaf_batch_log_failure(step, message)
            results[FAILED].append((self, message))
            return
        results[kind] |= self
        if kind == REFUSED:
            results.setdefault("refusals", []).append((self, message))

    def _urssaf_batch_record_answer(self, values, message, answer):
        """Keep what Urssaf answered and say it in one chatter line, with
        the correlation id (the line names the new state: no tracking line
        besides it, which also halves the chatter writes of a large run)."""
        self.with_context(mail_notrack=True)._urssaf_write(values)
        self.sudo()._message_log(body=message + correlation_note(self.env, answer))

    def _urssaf_batch_log_failure(self, step, message):
        """The failure's chatter line (what failed and why; the messages
        never carry a NIR nor an IBAN in clear)."""
        self.sudo()._message_log(body=message)

    def _urssaf_batch_send(self, step, checked=None):
        """A list or form button: ``step`` for these records (``checked``:
        the identifier each one's check found, by id); a summary
        notification, or for one record, its failure as an error."""
        check_declarant(self.env)
        results = self._urssaf_batch_run(step, checked)
        if len(self) == 1 and results[FAILED] and not results["unknown"]:
            # Nothing Urssaf may hold: say why, change nothing.
            raise UserError(results[FAILED][0][1])
        return self._urssaf_batch_notification(step, results)

    def _urssaf_batch_notification(self, step, results):
        label = self._urssaf_batch_label(step)
        lines = [
            self.env._(
                "%(step)s: %(done)s done, %(refused)s refused, %(failed)s failed.",
                step=label,
                done=len(results[DONE]),
                refused=len(results[REFUSED]),
                failed=len(results[FAILED]),
            )
        ]
        if results["skipped"]:
            lines.append(
                self.env._(
                    "Skipped, being sent by someone else: %s", ", ".join(results["skipped"].mapped("display_name"))
                )
            )
        for record, message in results.get("refusals", []):
            lines.append(self.env._("Refused: %(record)s: %(message)s", record=record.display_name, message=message))
        for record, message in results[FAILED]:
            lines.append(self.env._("Failed: %(record)s: %(message)s", record=record.display_name, message=message))
        trouble = bool(results[FAILED] or results[REFUSED])
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Urssaf"),
                "message": "\n".join(lines),
                "type": "warning" if trouble else "success",
                "sticky": trouble,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
