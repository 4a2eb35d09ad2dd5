# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import contextlib

from odoo import api, fields, models
from odoo.tools.misc import format_datetime

COUNT_FIELDS = ("done_count", "skipped_count", "failed_count", "unknown_count")
# The jobs that close a queued run once its chunks are done.
CLOSING_JOB_METHODS = ("_urssaf_job_finish", "_urssaf_job_batch_summary")
RESULTS = [("done", "Declared"), ("skipped", "Skipped"), ("failed", "Failed"), ("unknown", "Outcome unknown")]


class UrssafRun(models.Model):
    """The report of one unattended declaration run of a company."""

    _name = "urssaf.run"
    _description = "Urssaf declaration run"
    _inherit = ["mail.thread", "mail.activity.mixin", "urssaf.sandbox.ribbon.mixin"]
    _order = "started_at desc, id desc"

    name = fields.Char(compute="_compute_name", store=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    trigger = fields.Selection(
        [("cron", "Scheduled action"), ("manual", "By hand")], required=True, default="cron", readonly=True
    )
    started_at = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    ended_at = fields.Datetime(readonly=True)
    state = fields.Selection([("running", "Running"), ("done", "Done")], default="running", readonly=True)
    unreachable = fields.Boolean(
        string="Urssaf unreachable", readonly=True, help="Urssaf could not be reached during this run."
    )
    line_ids = fields.One2many("urssaf.run.line", "run_id", string="Auto-entrepreneurs", readonly=True)
    done_count = fields.Integer(string="Declared", compute="_compute_counts", store=True)
    skipped_count = fields.Integer(string="Skipped", compute="_compute_counts", store=True)
    failed_count = fields.Integer(string="Failed", compute="_compute_counts", store=True)
    unknown_count = fields.Integer(string="Outcome unknown", compute="_compute_counts", store=True)

    @api.depends("started_at")
    def _compute_name(self):
        for run in self:
            run.name = self.env._("Run of %s", format_datetime(self.env, run.started_at)) if run.started_at else False

    @api.depends("line_ids.result")
    def _compute_counts(self):
        for run in self:
            results = run.line_ids.mapped("result")
            run.done_count = results.count("done")
            run.skipped_count = results.count("skipped")
            run.failed_count = results.count("failed")
            run.unknown_count = results.count("unknown")

    @api.model
    def _urssaf_queue_job_setup(self, functions=()):
        """The channel ``root.urssaf`` and the job functions of the
        scheduled runs (and ``functions``, more ``(model, method)`` of jobs
        on that channel), created when first needed: the addon does not
        depend on queue_job, so its data files cannot name them."""
        from .urssaf_declaration_run import URSSAF_CHANNEL  # noqa: PLC0415 (one module imports the other)

        Channel = self.env["queue.job.channel"].sudo()
        channel = Channel.search([("complete_name", "=", URSSAF_CHANNEL)], limit=1)
        if not channel:
            parent_name, _dot, name = URSSAF_CHANNEL.rpartition(".")
            parent = Channel.search([("complete_name", "=", parent_name)], limit=1)
            channel = Channel.create({"name": name, "parent_id": parent.id})
        Function = self.env["queue.job.function"].sudo()
        for model, method in (
            ("urssaf.declaration", "_urssaf_job_auto_declare"),
            ("urssaf.declaration", "_urssaf_job_step"),
            ("urssaf.run", "_urssaf_job_finish"),
            *functions,
        ):
            if not Function.search([("name", "=", Function.job_function_name(model, method))], limit=1):
                Function.create(
                    {
                        "model_id": self.env["ir.model"]._get_id(model),
                        "method": method,
                        "channel_id": channel.id,
                        # A retry is safe (lock, then look-up by reference
                        # before sending): after a few quick ones, wait for
                        # Urssaf to come back.
                        "retry_pattern": {1: 10, 5: 60, 10: 600},
                    }
                )
        return channel

    @api.model
    def _urssaf_close_after_failed_chunks(self):
        """Daily: run the closing jobs (a run's report, an onboarding
        summary) that still wait on a chunk whose job the job queue failed
        for good (its retries exhausted), once their other chunks are done:
        the job queue would keep them waiting for ever, telling nobody. They
        report each record of a failed chunk as failed, naming its job.
        Returns how many were run."""
        if "queue.job" not in self.env:
            return 0
        from odoo.addons.queue_job.job import Job  # noqa: PLC0415 (queue_job is optional)

        from .urssaf_declaration_run import log_job_failure  # noqa: PLC0415 (one module imports the other)

        waiting = (
            self.env["queue.job"]
            .sudo()
            .search([("state", "=", "wait_dependencies"), ("method_name", "in", CLOSING_JOB_METHODS)], order="id")
        )
        closed = 0
        for closing in waiting:
            states = set(closing.dependency_ids.mapped("state"))
            if "failed" not in states or states - {"done", "failed"}:
                continue
            try:
                with self.env.cr.savepoint():
                    job = Job.load(self.env, closing.uuid)
                    job.set_started()
                    job.store()
                    job.perform()
                    job.set_done()
                    job.store()
            except Exception as error:  # noqa: BLE001 (the others still run; tried again tomorrow)
                self.env.invalidate_all()
                log_job_failure("the closing job %s failed (%s)", closing.uuid, error)
                continue
            closed += 1
        return closed

    def _urssaf_job_finish(self):
        """A queue_job job, once the run's chunks are done: count the lines
        they left and close the run."""
        self.ensure_one()
        from .urssaf_declaration_run import RunResults, failed_chunk_jobs  # noqa: PLC0415 (one module imports the other)

        for job, reason in failed_chunk_jobs(self.env):
            # Its declarations have no line: the job's transaction died.
            self._add_results(RunResults.chunk_failed(job.records.exists(), reason))
        self.modified(["line_ids"])
        self._finish()
        return self.env._("%(done)s declared, %(failed)s failed.", done=self.done_count, failed=self.failed_count)

    def _add_lines(self, declarations, result, message=False, link=True, unreachable=False, job_failed=False):
        """One line per declaration. ``link=False`` for the declarations
        another run is processing: referencing a row that a concurrent
        transaction changes would fail, and that run links it already."""
        self.ensure_one()
        self.env["urssaf.run.line"].create(
            [
                {
                    "run_id": self.id,
                    "declaration_id": declaration.id if link else False,
                    "partner_id": declaration.partner_id.id,
                    "result": result,
                    "message": message,
                    "unreachable": unreachable,
                    "job_failed": job_failed,
                }
                for declaration in declarations
            ]
        )

    def _add_results(self, results, deferred=False):
        """Record what ``urssaf.declaration._urssaf_process`` reported
        (its ``RunResults``).

        ``deferred``: for a job among others of the same run, which leaves
        the run's own row (its counts) to the job that closes it.
        """
        counts = [self._fields[fname] for fname in COUNT_FIELDS]
        with self.env.protecting(counts, self) if deferred else contextlib.nullcontext():
            self._add_lines(results.done, "done")
            self._add_lines(
                results.skipped, "skipped", self.env._("being processed elsewhere, or nothing to do"), link=False
            )
            self._add_lines(results.unknown, "unknown", self.env._("looked up at Urssaf on the next run"))
            for declaration, message in results.failed:
                self._add_lines(
                    declaration,
                    "failed",
                    message,
                    unreachable=declaration in results.unreachable,
                    job_failed=results.job_failed,
                )
            self._add_not_attempted(results.not_attempted)
            if deferred:
                self.env.flush_all()

    def _add_not_attempted(self, declarations):
        """The declarations a run left as they were, Urssaf being unreachable."""
        if declarations:
            self._add_lines(
                declarations, "skipped", self.env._("not attempted: Urssaf could not be reached"), unreachable=True
            )

    def _finish(self):
        """Close the run; if a chunk's job failed or Urssaf could not be
        reached, give the responsible accountant one to-do for the whole run
        (each)."""
        self.ensure_one()
        values = {"state": "done", "ended_at": fields.Datetime.now()}
        if any(self.line_ids.mapped("unreachable")):
            values["unreachable"] = True
        self.write(values)
        job_failed = self.line_ids.filtered("job_failed")
        if job_failed:
            self._urssaf_todo(
                self.env._("A job of this run failed"),
                self.env._(
                    "%(count)s declarations were left as they were because the job of their chunk failed "
                    "(its reference is in the report's lines); the next run tries them again.",
                    count=len(job_failed),
                ),
            )
        if self.unreachable:
            self._urssaf_todo(
                self.env._("Urssaf could not be reached"),
                self.env._(
                    "%(failed)s declarations could not be sent and %(skipped)s were not attempted; "
                    "they stay as they were and the next run tries them again.",
                    failed=self.failed_count,
                    skipped=self.skipped_count,
                ),
            )

    def _urssaf_todo(self, summary, note):
        """A to-do on the run for the company's responsible accountant (the
        administrator when none is set)."""
        user = self.company_id.sudo().urssaf_responsible_user_id or self.env.ref("base.user_admin", False)
        self.activity_schedule(
            "mail.mail_activity_data_warning", summary=summary, note=note, user_id=user.id if user else self.env.uid
        )


class UrssafRunLine(models.Model):
    """What a run did for one auto-entrepreneur."""

    _name = "urssaf.run.line"
    _description = "Urssaf declaration run line"
    _order = "id"

    run_id = fields.Many2one("urssaf.run", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="run_id.company_id", store=True)
    declaration_id = fields.Many2one("urssaf.declaration", ondelete="set null")
    partner_id = fields.Many2one("res.partner", string="Auto-entrepreneur")
    result = fields.Selection(RESULTS, required=True)
    message = fields.Text()
    unreachable = fields.Boolean(string="Urssaf unreachable", help="Not declared because Urssaf could not be reached.")
    job_failed = fields.Boolean(
        string="Job failed", help="Not declared because the job of its chunk failed (see the message)."
    )
