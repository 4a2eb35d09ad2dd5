# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.tools.misc import format_datetime

RESULTS = [("done", "Declared"), ("skipped", "Skipped"), ("failed", "Failed"), ("unknown", "Outcome unknown")]


class UrssafRun(models.Model):
    """The report of one unattended declaration run of a company."""

    _name = "urssaf.run"
    _description = "Urssaf declaration run"
    _inherit = ["mail.thread", "mail.activity.mixin"]
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

    def _add_lines(self, declarations, result, message=False, link=True):
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
                }
                for declaration in declarations
            ]
        )

    def _add_results(self, results):
        """Record what ``urssaf.declaration._urssaf_process`` reported."""
        self._add_lines(results["done"], "done")
        self._add_lines(
            results["skipped"], "skipped", self.env._("being processed elsewhere, or nothing to do"), link=False
        )
        self._add_lines(results["unknown"], "unknown", self.env._("looked up at Urssaf on the next run"))
        for declaration, message in results["failed"]:
            self._add_lines(declaration, "failed", message)
        if results["unreachable"]:
            self.unreachable = True

    def _finish(self):
        """Close the run; if Urssaf could not be reached, give the
        responsible accountant one to-do for the whole run."""
        self.ensure_one()
        self.write({"state": "done", "ended_at": fields.Datetime.now()})
        if self.unreachable:
            user = self.company_id.sudo().urssaf_responsible_user_id or self.env.ref("base.user_admin", False)
            self.activity_schedule(
                "mail.mail_activity_data_warning",
                summary=self.env._("Urssaf could not be reached"),
                note=self.env._(
                    "%(failed)s declarations could not be sent and %(skipped)s were not attempted; "
                    "they stay as they were and the next run tries them again.",
                    failed=self.failed_count,
                    skipped=self.skipped_count,
                ),
                user_id=user.id if user else self.env.uid,
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
