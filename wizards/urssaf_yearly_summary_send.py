# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..report.urssaf_yearly_summary_report import SUMMARY_YEAR_KEY, last_complete_year

REPORT_XMLID = "l10n_fr_urssaf_tierce_declaration.action_report_urssaf_yearly_summary"
TEMPLATE_XMLID = "l10n_fr_urssaf_tierce_declaration.mail_template_urssaf_yearly_summary"
# A year before it is a typing mistake: the micro-social scheme started in 2009.
FIRST_YEAR = 2009


class UrssafYearlySummarySend(models.TransientModel):
    """Choose the year of an auto-entrepreneur's yearly summary, then print
    it or send it by e-mail with Odoo's mail composer."""

    _name = "urssaf.yearly.summary.send"
    _description = "Send the Urssaf yearly summary"
    _inherit = ["urssaf.sandbox.ribbon.mixin"]

    partner_id = fields.Many2one("res.partner", string="Auto-entrepreneur", required=True, readonly=True)
    company_id = fields.Many2one(
        "res.company", string="Declaring company", required=True, readonly=True, default=lambda self: self.env.company
    )
    year = fields.Integer(
        required=True,
        default=lambda self: last_complete_year(fields.Date.context_today(self)),
        help="The calendar year of the declarations summed up; by default the last complete one, or the last "
        "year with declarations when the last complete one has none.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    declared_amount = fields.Monetary(string="Turnover declared", compute="_compute_figures")
    contributions_paid = fields.Monetary(compute="_compute_figures")
    declaration_count = fields.Integer(string="Declarations", compute="_compute_figures")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if self.env.context.get("active_model") == "res.partner" and self.env.context.get("active_id"):
            values.setdefault("partner_id", self.env.context["active_id"])
        if "year" in fields_list and "default_year" not in self.env.context and values.get("partner_id"):
            company_id = values.get("company_id") or self.env.company.id
            values["year"] = self.env["urssaf.yearly.summary"]._default_year(
                [("partner_id", "=", values["partner_id"]), ("company_id", "=", company_id)]
            )
        return values

    @api.constrains("year")
    def _check_year(self):
        for wizard in self:
            this_year = fields.Date.context_today(self).year
            if not FIRST_YEAR <= wizard.year <= this_year:
                raise ValidationError(
                    self.env._(
                        "Year: choose a year from %(first)s to %(last)s.",
                        first=FIRST_YEAR,
                        last=this_year,
                    )
                )

    @api.constrains("company_id")
    def _check_company(self):
        """Only the user's own companies: the summary shows their
        declarations, nobody else's."""
        for wizard in self:
            if wizard.company_id not in self.env.user.company_ids:
                raise AccessError(
                    self.env._(
                        "Declaring company: “%(company)s” is not one of your companies.",
                        company=wizard.company_id.sudo().name,
                    )
                )

    @api.depends("partner_id", "company_id", "year")
    def _compute_figures(self):
        Summary = self.env["urssaf.yearly.summary"]
        for wizard in self:
            values = Summary._summary_values(wizard.partner_id, wizard.year, wizard.company_id)
            wizard.declared_amount = values["totals"]["declared_amount"]
            wizard.contributions_paid = (
                values["totals"]["contributions_paid"] + values["totals"]["versement_liberatoire_paid"]
            )
            wizard.declaration_count = len(values["declarations"])

    def _summary_context(self):
        self.ensure_one()
        return {SUMMARY_YEAR_KEY: self.year, "allowed_company_ids": self.company_id.ids}

    def action_print(self):
        self.ensure_one()
        return (
            self.env.ref(REPORT_XMLID)
            .with_context(**self._summary_context())
            .report_action(
                self.partner_id,
                # All of it in the data: with data, the web client's URL
                # carries no record ids (getReportUrl).
                data={"year": self.year, "partner_ids": self.partner_id.ids, "company_id": self.company_id.id},
            )
        )

    def action_send(self):
        """Odoo's mail composer on the auto-entrepreneur, with the yearly
        summary's template: the PDF of the chosen year attached."""
        self.ensure_one()
        template = self.env.ref(TEMPLATE_XMLID)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Send the yearly summary"),
            "res_model": "mail.compose.message",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {
                **self._summary_context(),
                "default_model": "res.partner",
                "default_res_ids": self.partner_id.ids,
                "default_template_id": template.id,
                "default_composition_mode": "comment",
                "default_email_layout_xmlid": "mail.mail_notification_light",
                "force_email": True,
            },
        }
