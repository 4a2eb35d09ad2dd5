# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Running the Urssaf steps on declarations: the run engine (a batch of
declarations, the pool of calls in flight, the outcome of each), the
scheduled run (directly or through OCA's queue_job) and the deadline
reminders. The legal record itself is in ``urssaf_declaration.py``; the
report of a scheduled run is ``urssaf.run``."""

import contextlib
import dataclasses
import functools
import hashlib
import logging
import traceback

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools.misc import format_date

from ..urssaf_api.call_pool import UrssafCallPool
from ..urssaf_api.client import SharedBackoff
from ..urssaf_api.exceptions import UrssafError
from .urssaf_common import LOCK_SENDING, check_declarant, lock_rows, summary_notification
from .urssaf_declaration import UrssafUnreachableError

# The queue_job channel of the scheduled runs' jobs (its capacity is set in
# the job runner's configuration, see the README).
URSSAF_CHANNEL = "root.urssaf"

_logger = logging.getLogger(__name__)

# A scheduled run stops after this many auto-entrepreneurs in a row for
# whom Urssaf could not be reached: the rest waits for the next run.
UNREACHABLE_STOP_AFTER = 3


def chunk_key(model_name, method_name, ids):
    """The identity of a job on a chunk of declarations."""
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(f"{model_name}.{method_name}:{sorted(ids)}".encode())
    return digest.hexdigest()


def chunk_identity(job):
    """queue_job identity key: one job per chunk of declarations (whatever
    run it reports to)."""
    return chunk_key(job.model_name, job.method_name, job.recordset.ids)


def step_identity(job):
    """queue_job identity key: one job per step and chunk of declarations."""
    return chunk_key(job.model_name, f"{job.method_name}({job.args[0]})", job.recordset.ids)


def chunks(records):
    """``records`` split into the chunks of a run: each company's
    ``_urssaf_chunk_size`` records of that company."""
    parts = []
    for company, mine in records.grouped("company_id").items():
        size = company._urssaf_chunk_size()
        parts += [mine[start : start + size] for start in range(0, len(mine), size)]
    return parts


def chunks_waiting(env, model_name, method_name, parts):
    """Whether a job on each of these chunks still waits in the queue (the
    workers are busy, or stopped): then nothing is queued twice."""
    keys = {chunk_key(model_name, method_name, part.ids) for part in parts}
    waiting = (
        env["queue.job"]
        .sudo()
        .search_count(
            [("identity_key", "in", list(keys)), ("state", "in", ("wait_dependencies", "pending", "enqueued"))]
        )
    )
    return bool(keys) and waiting == len(keys)


def delay_chunks(parts, method_name, args, description, identity_key=step_identity, on_done=None):
    """Queue ``method_name(*args)`` on each chunk of ``parts`` (see
    :func:`chunks`) as a job of its own on the channel ``root.urssaf``, one
    job per chunk (``identity_key``); ``on_done``, a delayable, runs once
    every chunk is done. ``description(chunk)`` names a job. Returns the
    chunks' delayables."""
    from odoo.addons.queue_job.delay import group  # noqa: PLC0415 (queue_job is optional)

    jobs = [
        getattr(
            chunk.delayable(channel=URSSAF_CHANNEL, identity_key=identity_key, description=description(chunk)),
            method_name,
        )(*args)
        for chunk in parts
    ]
    if jobs:
        graph = group(*jobs)
        if on_done is not None:
            graph = graph.on_done(on_done)
        graph.delay()
    return jobs


def chunk_job_failure(env, work):
    """Run ``work()``, what a queued chunk's job does, in a savepoint.

    Returns None, or, when it raised an error that is neither an answer of
    Urssaf's (the run records those itself) nor one queue_job retries (a
    conflict with another transaction, retried as it is), the reason to give for each record
    of the chunk: what the chunk did is rolled back, as if its worker had
    died (nothing sent twice: the next sending looks Urssaf up first where
    it may hold something), and the job ends done with that reason as its
    chunk's result, so that the job closing the run still sums up, and says
    so. Otherwise queue_job would mark the job failed for good and the
    closing job would wait for ever, telling nobody.

    The reason names the job (its reference in *Jobs*) and the kind of
    error only: an error's text may quote an IBAN or a NIR. The server log
    has the traceback, without the text either."""
    from odoo.addons.queue_job.exception import RetryableJobError  # noqa: PLC0415 (queue_job is optional)

    try:
        with env.cr.savepoint():
            work()
    except (*PG_CONCURRENCY_EXCEPTIONS_TO_RETRY, RetryableJobError):
        raise
    except Exception as error:  # noqa: BLE001 (reported to the user, logged)
        env.invalidate_all()
        job = env.context.get("job_uuid") or "?"
        log_job_failure("the job %s failed (%s); its chunk is reported failed and left as it was", job, error)
        return chunk_failure_reason(env, job, type(error).__name__)
    return None


def log_job_failure(message, job_uuid, error):
    """Log a job's failure: ``message`` with the job's reference and the
    kind of error, then the traceback, without the error's own text (it
    may quote an IBAN or a NIR)."""
    _logger.error(
        "Urssaf: " + message + ":\n%s",
        job_uuid,
        type(error).__name__,
        "".join(traceback.format_tb(error.__traceback__)),
    )


def chunk_failure_reason(env, job_uuid, error_name):
    """Why each record of a chunk whose job failed was left as it was."""
    return env._("its job %(job)s failed (%(error)s): left as it was, send it again.", job=job_uuid, error=error_name)


def failed_chunk_jobs(env):
    """The chunk jobs that the closing job running now (a run's report, an
    onboarding summary) waited on and that the job queue failed for good:
    the daily check (``urssaf.run._urssaf_close_after_failed_chunks``) runs
    such a closing job anyway. Each with the reason of its records."""
    uuid = env.context.get("job_uuid")
    if not uuid:
        return []
    closing = env["queue.job"].sudo().search([("uuid", "=", uuid)], limit=1)
    return [
        (job, chunk_failure_reason(env, job.uuid, (job.exc_name or "").rpartition(".")[2] or "?"))
        for job in closing.dependency_ids
        if job.state == "failed"
    ]


@dataclasses.dataclass
class RunResults:
    """What running a step did to declarations, each in one of: ``done``;
    ``skipped`` (locked elsewhere, nothing to do); ``unknown`` (Urssaf may
    have recorded what was sent: looked up before anything is sent again);
    ``failed``, ``[(declaration, reason)]``, of which ``unreachable`` are
    those Urssaf could not be reached for; ``not_attempted``, left as they
    were once a run stopped on an unreachable Urssaf."""

    done: models.BaseModel
    skipped: models.BaseModel
    unknown: models.BaseModel
    unreachable: models.BaseModel
    not_attempted: models.BaseModel
    failed: list = dataclasses.field(default_factory=list)
    # The failed are those of a chunk whose job failed (see chunk_job_failure).
    job_failed: bool = False

    @classmethod
    def empty(cls, model):
        """No result yet, for records of ``model``."""
        none = model.browse()
        return cls(done=none, skipped=none, unknown=none, unreachable=none, not_attempted=none)

    @classmethod
    def chunk_failed(cls, declarations, reason):
        """Every one of ``declarations`` failed for ``reason``: the job of
        their chunk failed (see ``chunk_job_failure``)."""
        results = cls.empty(declarations)
        results.failed = [(declaration, reason) for declaration in declarations]
        results.job_failed = True
        return results

    def merge(self, other):
        """Add ``other``'s results to these; returns self."""
        self.done |= other.done
        self.skipped |= other.skipped
        self.unknown |= other.unknown
        self.unreachable |= other.unreachable
        self.not_attempted |= other.not_attempted
        self.failed += other.failed
        return self

    def summary(self, env):
        """One sentence counting them, in the user's language (a job's result)."""
        return env._(
            "%(done)s done, %(unknown)s outcome unknown, %(failed)s failed, %(skipped)s skipped.",
            done=len(self.done),
            unknown=len(self.unknown),
            failed=len(self.failed),
            skipped=len(self.skipped) + len(self.not_attempted),
        )


class UrssafDeclarationRun(models.Model):
    """Running the steps (estimate, declare, pay) on declarations."""

    _inherit = "urssaf.declaration"

    # ------------------------------------------------------------------
    # The run engine
    # ------------------------------------------------------------------

    def _lock_rows_for_urssaf(self):
        """Lock these declarations' rows for the rest of the transaction, in
        one query (see ``lock_rows``); returns those this transaction now
        holds, in their order.

        Two processes (two users, two scheduled runs) may try to send the same
        declaration at once: the second one finds the row locked and steps
        aside instead of sending it a second time. A row locked elsewhere, or
        changed by a transaction that committed after ours began (someone
        else is sending it, or has sent it), is left out.
        """
        return lock_rows(self, LOCK_SENDING)

    def _run_batch(self, step):
        """Run ``step`` on each declaration independently and say how it went.

        One declaration's failure never rolls back the others: each runs in a
        savepoint, and its error is kept on the declaration.
        """
        results = self._urssaf_process(step)
        if len(self) == 1 and results.failed and self.state != "error":
            # Refused before anything was sent: say why, change nothing.
            raise UserError(results.failed[0][1])
        return self._batch_notification(step, results)

    def _urssaf_process(self, step, stop_after=None):
        """Run ``step`` on each declaration; sort them into done, skipped
        (locked elsewhere, nothing to do), unknown (Urssaf may have recorded
        it) and failed (with the reason). ``unreachable`` holds the failures
        where Urssaf could not be reached at all; ``not_attempted`` the
        declarations left as they were once ``stop_after`` of them in a row
        found Urssaf unreachable (None: every one is attempted).

        Each declaration is prepared (locked, checked, its request built) in
        this thread; the calls then leave through a pool of each company's
        ``urssaf_parallel_calls`` threads, which only run HTTP; each answer
        is recorded here as it arrives. The row locks taken while preparing
        hold until the transaction ends: nobody else sends these meanwhile.
        """
        results = RunResults.empty(self)
        locked = self._lock_rows_for_urssaf()
        results.skipped |= self - locked
        clients = {}
        try:
            for company, declarations in locked.grouped("company_id").items():
                declarations._urssaf_process_calls(step, company, clients, results, stop_after)
        finally:
            for client in clients.values():
                client.close()
        return results

    def _urssaf_process_calls(self, step, company, clients, results, stop_after):
        """``_urssaf_process`` for the declarations of ``company``, whose
        rows this transaction holds: each one prepared when the pool has a
        thread free for its call, so that preparing the next requests and
        recording the answers overlap the calls in flight."""
        sent = []  # (declaration, record) of each call handed to the pool
        remaining = iter(self)

        def calls():
            for declaration in remaining:
                try:
                    with self.env.cr.savepoint():
                        ready = declaration._urssaf_prepare(step, clients)
                except UserError as error:
                    self.env.invalidate_all()
                    results.failed.append((declaration, str(error.args[0])))
                    continue
                if ready is False:
                    results.skipped |= declaration
                    continue
                client, call, record = ready
                sent.append((declaration, record))
                # Outside the savepoint: the pool may never come back for more.
                yield functools.partial(call, client)

        pool = UrssafCallPool(company._urssaf_parallel_calls(), stop_after=stop_after)
        # Closed at once if recording raises: the calls in flight end and no
        # other one starts.
        with contextlib.closing(pool.run(calls())) as answers:
            for index, outcome in answers:
                declaration, record = sent[index]
                declaration._urssaf_record_outcome(record, outcome, results)
        for index in pool.not_attempted:
            results.not_attempted |= sent[index][0]
        if pool.stopped:
            # Never prepared: the pool stopped before they were taken.
            results.not_attempted |= self.browse(declaration.id for declaration in remaining)

    def _urssaf_record_outcome(self, record, outcome, results):
        """Record one call's outcome on this declaration (in a savepoint of
        its own) and sort it into ``results``."""
        self.ensure_one()
        if outcome.error is not None and not isinstance(outcome.error, UrssafError):
            # A bug, not an answer of Urssaf's: it stops the run as before.
            raise outcome.error
        try:
            with self.env.cr.savepoint():
                record(outcome.value, outcome.error)
        except UserError as error:
            self.env.invalidate_all()
            results.failed.append((self, str(error.args[0])))
            if isinstance(error, UrssafUnreachableError):
                results.unreachable |= self
            return
        if self.state == "error" and self.outcome_unknown:
            results.unknown |= self
        elif self.state == "error":
            results.failed.append((self, self.error_message))
        else:
            results.done |= self

    def _urssaf_prepare(self, step, clients):
        """Check this declaration, whose row this transaction holds
        (``_lock_rows_for_urssaf``), for ``step`` and build its call.

        Returns False when there is nothing to send (done already), else
        ``(client, call, record)``: ``call(client)`` talks to Urssaf with
        plain values only (it runs in a pool thread: no ORM there),
        ``record(value, error)`` keeps what it gave, in this thread.
        """
        self.ensure_one()
        prepare = {
            "estimate": self._urssaf_prepare_estimate,
            "declare": self._urssaf_prepare_declare,
            "pay": self._urssaf_prepare_pay,
        }[step]
        prepared = prepare()
        if prepared is False:
            return False
        call, record = prepared
        company = self.company_id
        if company not in clients:
            clients[company] = company._urssaf_client()
            if company._urssaf_parallel_calls() > 1:
                clients[company].shared_backoff = SharedBackoff()
        return clients[company], call, record

    def _batch_notification(self, step, results):
        label = self._step_label(step)
        lines = [self.env._("%(step)s: %(count)s done.", step=label, count=len(results.done))]
        if results.skipped:
            lines.append(
                self.env._(
                    "Skipped, being processed elsewhere or nothing to do: %s",
                    ", ".join(results.skipped.mapped("display_name")),
                )
            )
        if results.unknown:
            lines.append(
                self.env._(
                    "Outcome unknown, looked up at Urssaf on the next attempt: %s",
                    ", ".join(results.unknown.mapped("display_name")),
                )
            )
        for declaration, message in results.failed:
            lines.append(
                self.env._(
                    "Failed: %(declaration)s: %(message)s", declaration=declaration.display_name, message=message
                )
            )
        return summary_notification(
            self.env, lines, results.failed or results.unknown, {"type": "ir.actions.act_window_close"}
        )

    # ------------------------------------------------------------------
    # Scheduled action
    # ------------------------------------------------------------------

    @api.model
    def _cron_urssaf_declarations(self):
        """Daily: prepare the drafts of ended periods, declare them for the
        companies that enable it, and remind the accountants of deadlines.

        Commits after each auto-entrepreneur, so that a crash loses at most
        the one in flight and a rerun resumes without duplicates.
        """
        today = fields.Date.context_today(self)
        self.env["urssaf.run"].sudo()._urssaf_close_after_failed_chunks()
        self._urssaf_settle_ordered_payments(today)
        preparation = self.env["urssaf.declaration.preparation"]
        # Only the companies that declare for someone: an active mandate.
        mandates = self.env["urssaf.mandate"].sudo()._read_group([("state", "=", "active")], ["company_id"])
        left = 0
        for (company,) in mandates:
            declarations = self.with_company(company).with_context(allowed_company_ids=[company.id])
            partners = preparation._default_partners(company)
            if partners:
                preparation.with_company(company)._prepare(partners, company, today)
                self.env["ir.cron"]._commit_progress()
            if company.urssaf_auto_declare and company._urssaf_uses_job_queue():
                # Every worker and server of the database shares the work.
                declarations._auto_declare_enqueue(company, today)
            elif company.urssaf_auto_declare:
                todo = declarations.search_count(declarations._auto_declare_domain(company, today))
                run = declarations._auto_declare(company, today)
                # What the job's time budget left undone, one run line per
                # declaration processed.
                left += todo - len(run.line_ids)
            declarations._plan_deadline_activities(company, today)
            self.env["ir.cron"]._commit_progress()
        # Each company's run reports only its own work left: the job says what
        # all of them left, so that the cron runner calls it again at once.
        self.env["ir.cron"]._commit_progress(remaining=left)

    def _auto_declare_domain(self, company, today):
        return [
            ("company_id", "=", company.id),
            ("state", "in", ("draft", "estimated", "error")),
            ("urssaf_number", "=", False),
            ("period_end", "<", today),
            ("due_date", "<=", fields.Date.add(today, days=company.urssaf_auto_declare_days)),
        ]

    def _auto_declare(self, company, today, trigger="cron"):
        """Estimate and declare the declarations near their deadline, a
        chunk of auto-entrepreneurs per transaction, and keep a report of
        the run.

        Within a chunk, several calls are in flight at once (the company's
        ``urssaf_parallel_calls``); each chunk is committed with its report
        lines, so that a crash loses at most one chunk's bookkeeping, which
        the next run settles by looking each declaration up at Urssaf by its
        reference before sending anything.

        When Urssaf cannot be reached for several auto-entrepreneurs in a
        row, the run stops there: the others are left as they are, and the
        accountant gets one to-do for the whole run.
        """
        cron = self.env["ir.cron"]
        todo = self.search(self._auto_declare_domain(company, today))
        run = self.env["urssaf.run"].sudo().create({"company_id": company.id, "trigger": trigger})
        cron._commit_progress(remaining=len(todo))
        size = company._urssaf_chunk_size()
        for start in range(0, len(todo), size):
            chunk = todo[start : start + size]
            results = chunk._urssaf_auto_declare_batch()
            run._add_results(results)
            if results.not_attempted:
                run._add_not_attempted(todo[start + size :])
                break
            if not cron._commit_progress(len(chunk)):
                break
        run._finish()
        cron._commit_progress()
        return run

    def _auto_declare_enqueue(self, company, today):
        """With OCA's queue_job: split the run into jobs of a chunk of
        auto-entrepreneurs each, on the channel ``root.urssaf``, so that
        every worker of every server of the database shares it; one last job
        closes the run report once they are all done.

        One job per chunk: a chunk already waiting in the queue (the same
        declarations) is not queued twice. A job run again (retried after
        an error, or a worker killed) is safe: each declaration is locked,
        and looked up at Urssaf by its reference before anything is sent.
        """
        return self.search(self._auto_declare_domain(company, today))._urssaf_enqueue_run(company)

    def _urssaf_enqueue_run(self, company):
        """Queue these declarations of ``company`` as a scheduled run's jobs
        (see :meth:`_auto_declare_enqueue`); returns the run's report, or no
        record when the same chunks still wait in the queue."""
        Run = self.env["urssaf.run"].sudo()
        Run._urssaf_queue_job_setup()
        parts = [part.sudo() for part in chunks(self)]
        if chunks_waiting(self.env, self._name, "_urssaf_job_auto_declare", parts):
            # The same chunks still wait in the queue (the workers are busy,
            # or stopped): queue nothing twice, open no second report.
            return Run
        run = Run.create({"company_id": company.id, "trigger": "cron"})
        if not parts:
            run._finish()
            return run
        finish = run.delayable(
            channel=URSSAF_CHANNEL, description=self.env._("Urssaf: close the report %s", run.name)
        )._urssaf_job_finish()
        delay_chunks(
            parts,
            "_urssaf_job_auto_declare",
            (run.id,),
            lambda chunk: self.env._("Urssaf: declare %(count)s auto-entrepreneurs", count=len(chunk)),
            identity_key=chunk_identity,
            on_done=finish,
        )
        return run

    def _urssaf_enqueue_step(self, step):
        """With OCA's queue_job: run ``step`` (estimate, declare or pay) on
        these declarations through the job queue, a chunk of them per job on
        the channel ``root.urssaf``, one job per chunk (see
        :meth:`_auto_declare_enqueue`). For integrations and large
        selections; returns the delayables queued."""
        if step in ("declare", "pay"):
            check_declarant(self.env)
        self.env["urssaf.run"]._urssaf_queue_job_setup()
        label = self._step_label(step).lower()
        return delay_chunks(
            chunks(self),
            "_urssaf_job_step",
            (step,),
            lambda chunk: self.env._("Urssaf: %(step)s %(count)s declarations", step=label, count=len(chunk)),
        )

    def _urssaf_job_step(self, step):
        """A queue_job job: ``step`` on a chunk of declarations (safe to run
        again: locked, looked up by reference before anything is sent)."""
        results = RunResults.empty(self)
        for company in self.company_id:
            mine = self.filtered(lambda d, company=company: d.company_id == company)
            env_company = mine.with_company(company).with_context(allowed_company_ids=[company.id])
            results.merge(env_company.exists()._urssaf_process(step))
        return results.summary(self.env)

    def _urssaf_job_auto_declare(self, run_id):
        """A queue_job job: one chunk of a scheduled run. Its report lines go
        to the run, whose counts the last job computes (two jobs writing the
        run's row at once would make one of them fail and start over)."""
        run = self.env["urssaf.run"].sudo().browse(run_id)
        company = run.company_id
        declarations = self.with_company(company).with_context(allowed_company_ids=[company.id]).exists()
        results = RunResults.empty(declarations)

        def work():
            results.merge(declarations._urssaf_auto_declare_batch())
            run._add_results(results, deferred=True)

        failure = chunk_job_failure(self.env, work)
        if failure:
            # The report's lines of this chunk say so: the closing job
            # counts them failed and gives the accountant a to-do.
            results = RunResults.chunk_failed(declarations, failure)
            run._add_results(results, deferred=True)
        return results.summary(self.env)

    def _urssaf_auto_declare_batch(self):
        """Re-read the books, estimate, then declare these declarations;
        the results of the last step each one ran.

        An unattended run declares only figures it computed, or got from
        Urssaf, in this same run: never an estimate somebody left (or
        forged) earlier. A declaration whose last sending has an unknown
        outcome is still looked up at Urssaf by declaring, which does that
        before it sends anything: what Urssaf may hold is never sent twice.
        """
        results = RunResults.empty(self)
        # Another run is declaring them, or declared them since this run
        # began: step aside before reading the books again, which writes
        # the rows that run holds.
        ready = self._lock_rows_for_urssaf().filtered(lambda declaration: not declaration._urssaf_is_locked())
        results.skipped |= self - ready
        try:
            # The books of the whole chunk in one read...
            with self.env.cr.savepoint():
                ready._refresh_turnover()
        except UserError:
            self.env.invalidate_all()
            # ... or, when one of them cannot be read, each on its own.
            for declaration in ready:
                try:
                    with self.env.cr.savepoint():
                        declaration._refresh_turnover()
                except UserError as error:
                    self.env.invalidate_all()
                    results.failed.append((declaration, str(error.args[0])))
                    ready -= declaration
        estimated = ready._urssaf_process("estimate", stop_after=UNREACHABLE_STOP_AFTER)
        # The estimated go on to declaring: their outcome is declaring's.
        to_declare = estimated.done | estimated.unknown
        results.merge(dataclasses.replace(estimated, done=self.browse(), unknown=self.browse()))
        if estimated.not_attempted:
            # Urssaf is unreachable: declare nothing more in this run.
            results.not_attempted |= to_declare
            return results
        return results.merge(to_declare._urssaf_process("declare", stop_after=UNREACHABLE_STOP_AFTER))

    # ------------------------------------------------------------------
    # Someone responsible (issue 27): never OdooBot
    # ------------------------------------------------------------------

    @api.model
    def _urssaf_responsible_for(self, company):
        """Who answers for a declaration of ``company`` made now: the user
        who makes it, or, for the scheduled action (run as OdooBot), the
        company's responsible accountant."""
        user = self.env.user
        if user._is_superuser() or not user._is_internal():
            return company.sudo().urssaf_responsible_user_id or user
        return user

    def _urssaf_deadline_todo_user(self, company):
        """The user of a declaration's deadline to-do: its responsible, or
        the company's accountant when it has none (or OdooBot)."""
        self.ensure_one()
        user = self.user_id
        if not user or user._is_superuser() or not user.active:
            user = company.sudo().urssaf_responsible_user_id
        return user

    def _urssaf_deadline_todos(self):
        """The deadline to-dos planned on these declarations (a to-do due on
        the declaration's due date; other to-dos are the users' own)."""
        todo_type = self.env.ref("mail.mail_activity_data_todo")
        due = {declaration.id: declaration.due_date for declaration in self}
        return self.sudo().activity_ids.filtered(
            lambda activity: activity.activity_type_id == todo_type and activity.date_deadline == due[activity.res_id]
        )

    def _urssaf_close_deadline_todos(self):
        """Once Urssaf holds the declaration, its deadline to-do is done."""
        todos = self._urssaf_deadline_todos()
        if todos:
            # As the system: the declarant closing it may not be the user
            # it is assigned to; the message is still posted in their name.
            todos.action_feedback(feedback=self.env._("Declared."))

    def _plan_deadline_activities(self, company, today):
        """One to-do per declaration still not declared N days before its
        deadline, for its responsible (the company's accountant for those
        of the scheduled action); none when nobody is responsible."""
        limit = fields.Date.add(today, days=company.urssaf_reminder_days)
        todo = self.search(
            [
                ("company_id", "=", company.id),
                ("state", "in", ("draft", "estimated", "error")),
                ("urssaf_number", "=", False),
                ("due_date", "<=", limit),
            ]
        )
        for declaration in todo:
            if declaration._urssaf_deadline_todos():
                continue
            user = declaration._urssaf_deadline_todo_user(company)
            if not user:
                continue
            declaration.activity_schedule(
                "mail.mail_activity_data_todo",
                date_deadline=declaration.due_date,
                summary=self.env._("Urssaf declaration due on %s", format_date(self.env, declaration.due_date)),
                user_id=user.id,
            )
