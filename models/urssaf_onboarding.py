# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Onboarding at scale: checking accounts and registering mandates and SEPA
mandates for a selection of auto-entrepreneurs, several Urssaf calls in
flight at once through the bounded call pool, as the declaration runs do.

This thread prepares each request (ORM, checks, the identifier) and records
each answer (ORM, chatter); the pool's threads only run the HTTP calls with
plain values: the ORM and the cursor are not thread-safe."""

import contextlib
import functools
import json

from markupsafe import Markup

from odoo import fields, models
from odoo.exceptions import UserError

from ..urssaf_api.call_pool import UrssafCallPool
from ..urssaf_api.client import SharedBackoff
from ..urssaf_api.exceptions import UrssafError, UrssafOutcomeUnknown
from .urssaf_common import LOCK_SENDING_KEEP_KEYS, check_declarant, correlation_note, lock_rows, summary_notification
from .urssaf_declaration_run import (
    URSSAF_CHANNEL,
    chunk_job_failure,
    chunks,
    chunks_waiting,
    delay_chunks,
    failed_chunk_jobs,
)

DONE, REFUSED, FAILED = "done", "refused", "failed"
# A selection of more records than this goes through OCA's queue_job, when
# installed: a chunk per job, as the declarations' scheduled run, rather
# than one request that lasts minutes (10,000 accounts: about ten).
QUEUE_ABOVE = 100
# The answers of a run are recorded this many at a time, in one savepoint
# (each in its own only when one of them fails).
RECORD_TOGETHER = 20


def _ids(values):
    """The record ids of a chunk's result list: ids, or (id, message) pairs."""
    return [value[0] if isinstance(value, list | tuple) else value for value in values]


class BatchRun:
    """What one run of a step on a selection keeps besides its records (in
    the context of its records, key ``urssaf_batch``): their chatter lines,
    written together once every answer is recorded (one INSERT for all of
    them rather than one for each: that was a quarter of the time of a large
    run), and what the steps of its records look up once for all of them
    (``memo``)."""

    def __init__(self, records):
        self.records = records
        self.chatter = []  # (record id, body)
        self.memo = {}


class UrssafBatchMixin(models.AbstractModel):
    """Records sent to Urssaf on a selection, each once, several in flight.

    A model using it implements ``_urssaf_batch_prepare(step, identifier)``
    (``identifier``: what the check before the first call found, None when
    not checked yet), which raises a UserError (before it writes anything:
    no savepoint around it) when the record cannot be sent, else returns
    ``(call, record)``: ``call(client)`` talks to Urssaf with plain values
    only (it runs in a pool thread), ``record(value, error)`` keeps what it
    gave, in the thread of the run, and returns ``(outcome, message)`` with
    outcome ``done`` or ``refused`` (a UserError is a failure); and
    ``_urssaf_batch_label(step)``, what the step is called in the summary.
    """

    _name = "urssaf.batch.mixin"
    _description = "Urssaf calls on a selection"
    # The steps Urssaf would do twice if sent twice (no reference of ours
    # to look up, nor idempotent): each record is marked, in a committed
    # transaction of its own, before its request leaves; one marked before
    # is looked up at Urssaf before it is sent again (see
    # ``urssaf.sending.mark``).
    _urssaf_batch_marked_steps = frozenset()

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

    def _urssaf_batch_pending(self, step):
        """Whether ``step`` is still to be done on this record (its mark of
        a sending, if any, still matters)."""
        return True

    def _urssaf_batch_sent_before(self, step):
        """For a step of ``_urssaf_batch_marked_steps``: mark this record as
        about to be sent (committed before the request leaves) and say
        whether it was marked before, by a sending whose answer may be
        lost. In a run, all its records were marked at once when locked."""
        self.ensure_one()
        run = self.env.context.get("urssaf_batch")
        marked, before = run.memo.get(("marked", step), ((), ())) if run is not None else ((), ())
        if self.id in marked:
            return self.id in before
        return bool(self.env["urssaf.sending.mark"].sudo()._urssaf_mark(self, step))

    def _urssaf_batch_done_since(self, step, since):
        """Whether ``step`` was done on this record since ``since`` (a
        queued job run again finds it so: it counts it done, and sends
        nothing, nor writes a second chatter line)."""
        return False

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
            run = BatchRun(records)
            if step in self._urssaf_batch_marked_steps:
                # One short transaction for the whole run, before its
                # first request leaves.
                before = self.env["urssaf.sending.mark"].sudo()._urssaf_mark(records, step)
                run.memo["marked", step] = (frozenset(records.ids), before)
            in_run = records.with_context(urssaf_batch=run)
            try:
                in_run._urssaf_batch_calls(step, company, client, results, checked or {})
            finally:
                client.close()
            records._urssaf_batch_write_chatter(run)
        return results

    def _urssaf_batch_log(self, body):
        """This record's chatter line: kept with those of its run, if it is
        in one, else written at once."""
        self.ensure_one()
        run = self.env.context.get("urssaf_batch")
        if run is None:
            self.sudo()._message_log(body=body)
        else:
            run.chatter.append((self.id, body))

    def _urssaf_batch_write_chatter(self, run):
        """Write the chatter lines of ``run``, a batch INSERT for all (a
        record's lines in their order, when it has several)."""
        lines = run.chatter
        while lines:
            bodies, later = {}, []
            for record_id, body in lines:
                if record_id in bodies:
                    later.append((record_id, body))
                else:
                    bodies[record_id] = body
            self.browse(list(bodies)).sudo()._message_log_batch(bodies)
            lines = later
        run.chatter = []

    def _urssaf_batch_lock(self):
        """The records whose rows this transaction now holds (those another
        transaction holds are being sent by it: left out). ``FOR NO KEY
        UPDATE``: see ``lock_rows``."""
        return lock_rows(self, LOCK_SENDING_KEEP_KEYS)

    def _urssaf_batch_calls(self, step, company, client, results, checked):
        """``_urssaf_batch_run`` for the records of ``company``: each one
        prepared when the pool has a thread free for its call."""
        sent = []  # the record function of each call handed to the pool
        parallel = company._urssaf_parallel_calls()

        def calls():
            for record in self:
                try:
                    # No savepoint: a prepare raises before it writes.
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
            together = []
            for index, outcome in answers:
                record, keep = sent[index]
                together.append((record, keep, outcome))
                if len(together) == RECORD_TOGETHER:
                    self._urssaf_batch_record_together(step, together, results)
                    together = []
            self._urssaf_batch_record_together(step, together, results)
        for index in pool.not_attempted:
            record = sent[index][0]
            message = self.env._("Urssaf kept refusing the calls (rate limit): try again later.")
            record._urssaf_batch_log_failure(step, message)
            results[FAILED].append((record, message))

    def _urssaf_batch_record_together(self, step, answers, results):
        """Record ``answers``, ``[(record, keep, outcome)]``, in one
        savepoint; when one of them fails, everything they did is rolled
        back and each is recorded again in a savepoint of its own (two
        queries fewer for each answer of a run where all goes well)."""
        for _record, _keep, outcome in answers:
            if outcome.error is not None and not isinstance(outcome.error, UrssafError):
                # A bug, not an answer of Urssaf's: it stops the run.
                raise outcome.error
        if len(answers) > 1:
            run = self.env.context.get("urssaf_batch")
            logged = len(run.chatter) if run else 0
            try:
                with self.env.cr.savepoint():
                    kept = [(record, keep(outcome.value, outcome.error)) for record, keep, outcome in answers]
            except UserError:
                self.env.invalidate_all()
                if run:
                    del run.chatter[logged:]
            else:
                for record, (kind, message) in kept:
                    results[kind] |= record
                    if kind == REFUSED:
                        results.setdefault("refusals", []).append((record, message))
                return
        for record, keep, outcome in answers:
            record._urssaf_batch_record(step, keep, outcome, results)

    def _urssaf_batch_record(self, step, keep, outcome, results):
        """Record one call's outcome on this record, in a savepoint of its
        own, and sort it into ``results``."""
        self.ensure_one()
        if outcome.error is not None and not isinstance(outcome.error, UrssafError):
            # A bug, not an answer of Urssaf's: it stops the run.
            raise outcome.error
        run = self.env.context.get("urssaf_batch")
        logged = len(run.chatter) if run else 0
        try:
            with self.env.cr.savepoint():
                kind, message = keep(outcome.value, outcome.error)
        except UserError as error:
            self.env.invalidate_all()
            if run:
                # Rolled back with the rest of what recording it did.
                del run.chatter[logged:]
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
        self._urssaf_batch_log(message + correlation_note(self.env, answer))

    def _urssaf_batch_log_failure(self, step, message):
        """The failure's chatter line (what failed and why; the messages
        never carry a NIR nor an IBAN in clear)."""
        self._urssaf_batch_log(message)

    def _urssaf_batch_send(self, step, checked=None):
        """A list or form button: ``step`` for these records (``checked``:
        the identifier each one's check found, by id); a summary
        notification, or for one record, its failure as an error."""
        check_declarant(self.env)
        if self._urssaf_batch_queued():
            return self._urssaf_batch_enqueue(step)
        results = self._urssaf_batch_run(step, checked)
        if len(self) == 1 and results[FAILED] and not results["unknown"]:
            # Nothing Urssaf may hold: say why, change nothing.
            raise UserError(results[FAILED][0][1])
        return self._urssaf_batch_notification(step, results)

    def _urssaf_batch_notification(self, step, results):
        lines = self._urssaf_batch_summary(step, results)
        trouble = bool(results[FAILED] or results[REFUSED])
        return self._urssaf_batch_toast(lines, trouble)

    def _urssaf_batch_toast(self, lines, trouble=False):
        return summary_notification(self.env, lines, trouble, {"type": "ir.actions.client", "tag": "soft_reload"})

    def _urssaf_batch_summary(self, step, results):
        """The lines that say what ``_urssaf_batch_run`` did."""
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
        return lines

    # ------------------------------------------------------------------
    # Through OCA's queue_job: a chunk per job, a summary at the end
    # ------------------------------------------------------------------

    def _urssaf_batch_queued(self):
        """Whether this selection goes through the job queue: large, and
        every company of it sharing its runs through queue_job (installed,
        and not turned off in the company's settings)."""
        return len(self) > QUEUE_ABOVE and all(company._urssaf_uses_job_queue() for company in self.company_id)

    def _urssaf_batch_enqueue(self, step):
        """Queue ``step`` on these records as the declarations' runs are (see
        ``urssaf.declaration._urssaf_enqueue_run``): a job per chunk of each
        company's ``_urssaf_chunk_size`` records on the channel
        ``root.urssaf``, one job per chunk (a chunk still waiting is not
        queued twice); once they are all done, one last job sends the user
        who launched them the summary. Returns the notification saying so."""
        self.env["urssaf.run"]._urssaf_queue_job_setup(
            functions=[(self._name, "_urssaf_job_batch"), (self._name, "_urssaf_job_batch_summary")]
        )
        label = self._urssaf_batch_label(step)
        parts = chunks(self)
        if chunks_waiting(self.env, self._name, f"_urssaf_job_batch({step})", parts):
            return self._urssaf_batch_toast(
                [self.env._("%(step)s: these records are already in the job queue.", step=label)], trouble=True
            )
        summary = (
            self.browse()
            .delayable(channel=URSSAF_CHANNEL, description=self.env._("Urssaf: %(step)s, the summary", step=label))
            ._urssaf_job_batch_summary(step)
        )
        delay_chunks(
            parts,
            "_urssaf_job_batch",
            (step, fields.Datetime.to_string(fields.Datetime.now())),
            lambda chunk: self.env._("Urssaf: %(step)s, %(count)s records", step=label, count=len(chunk)),
            on_done=summary,
        )
        return self._urssaf_batch_toast(
            [
                self.env._(
                    "%(step)s: %(count)s records queued in %(jobs)s jobs. "
                    "A summary comes to your inbox once they are all done.",
                    step=label,
                    count=len(self),
                    jobs=len(parts),
                )
            ]
        )

    def _urssaf_job_batch(self, step, since):
        """A queue_job job: ``step`` on a chunk of records, queued at
        ``since``. Safe to run again (retried, or its worker killed): what
        was done since it was queued counts done, and the others are each
        locked, checked again once locked, and what Urssaf may hold is
        looked up before anything is sent again. Returns what it did (JSON:
        ids and messages), which the summary job reads."""
        since = fields.Datetime.to_datetime(since)
        todo = self.exists()
        done_before = todo.filtered(lambda record: record._urssaf_batch_done_since(step, since))
        results = {DONE: done_before.ids, REFUSED: [], FAILED: [], "skipped": [], "unknown": []}

        def work():
            for company, records in (todo - done_before).grouped("company_id").items():
                mine = records.with_company(company).with_context(allowed_company_ids=[company.id])
                done = mine._urssaf_batch_run(step)
                results[DONE] += done[DONE].ids
                results[REFUSED] += [(record.id, message) for record, message in done.get("refusals", [])]
                results[FAILED] += [(record.id, message) for record, message in done[FAILED]]
                results["skipped"] += done["skipped"].ids
                results["unknown"] += done["unknown"].ids

        failure = chunk_job_failure(self.env, work)
        if failure:
            # Rolled back: each record of the chunk is a failure of the
            # summary, which names the job.
            failed = [(record_id, failure) for record_id in (todo - done_before).ids]
            results = {DONE: done_before.ids, REFUSED: [], FAILED: failed, "skipped": [], "unknown": []}
        return json.dumps(results)

    def _urssaf_job_batch_summary(self, step):
        """A queue_job job, once every chunk of a queued ``step`` is done:
        the summary of their results, in the inbox of the user who launched
        them (the jobs run as that user)."""
        Job = self.env["queue.job"].sudo()
        job = Job.search([("uuid", "=", self.env.context.get("job_uuid"))], limit=1)
        results = {DONE: self.browse(), REFUSED: self.browse(), FAILED: [], "skipped": self.browse()}
        results["unknown"], results["refusals"] = self.browse(), []
        done_by_chunk = [
            json.loads(chunk.result or "{}")
            for chunk in Job.search([("uuid", "in", (job.dependencies or {}).get("depends_on", []))], order="id")
            # A failed one's result is no chunk's (a retry's message): below.
            if chunk.state == "done"
        ]
        # The records deleted since (a draft mandate may be) are left out.
        mentioned = [record_id for done in done_by_chunk for ids in done.values() for record_id in _ids(ids)]
        existing = set(self.browse(mentioned).exists().ids)

        def records(ids):
            return self.browse(record_id for record_id in ids if record_id in existing)

        # The chunks whose job failed for good left no result: all their
        # records failed (the daily check runs this job anyway).
        for chunk_job, reason in failed_chunk_jobs(self.env):
            done_by_chunk.append({FAILED: [(record_id, reason) for record_id in chunk_job.records.ids]})
            existing.update(chunk_job.records.exists().ids)
        for done in done_by_chunk:
            results[DONE] |= records(done.get(DONE, []))
            results["skipped"] |= records(done.get("skipped", []))
            results["unknown"] |= records(done.get("unknown", []))
            for record_id, message in done.get(REFUSED, []):
                if record_id in existing:
                    results[REFUSED] |= self.browse(record_id)
                    results["refusals"].append((self.browse(record_id), message))
            for record_id, message in done.get(FAILED, []):
                if record_id in existing:
                    results[FAILED].append((self.browse(record_id), message))
        lines = self._urssaf_batch_summary(step, results)
        self.env["mail.thread"].message_notify(
            partner_ids=self.env.user.partner_id.ids,
            # From OdooBot: a message of one's own is no notification.
            author_id=self.env.ref("base.partner_root").id,
            subject=self.env._("Urssaf: %s", self._urssaf_batch_label(step)),
            body=Markup("<br/>").join(lines),
        )
        return lines[0]
