# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError


class UrssafDeclarationPrepare(models.TransientModel):
    """Create or refresh, in one go, the draft declarations of a period."""

    _name = "urssaf.declaration.prepare"
    _description = "Prepare Urssaf declarations"
    _inherit = ["urssaf.sandbox.ribbon.mixin"]

    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    period_mode = fields.Selection(
        [
            ("last_ended", "Last ended period of each auto-entrepreneur"),
            ("custom", "A given period"),
        ],
        string="Period",
        required=True,
        default="last_ended",
    )
    reference_date = fields.Date(
        string="As of",
        required=True,
        default=fields.Date.context_today,
        help="The last period ended before this date, by each auto-entrepreneur's periodicity.",
    )
    date_from = fields.Date(string="From")
    date_to = fields.Date(string="To")
    partner_ids = fields.Many2many(
        "res.partner",
        string="Auto-entrepreneurs",
        domain="[('urssaf_is_auto_entrepreneur', '=', True)]",
        help="By default, every eligible auto-entrepreneur with an active mandate.",
    )
    state = fields.Selection([("choose", "Choose"), ("done", "Done")], default="choose")
    summary = fields.Text(readonly=True)
    declaration_ids = fields.Many2many("urssaf.declaration", string="Declarations")
    books_changed_ids = fields.Many2many(
        "urssaf.declaration",
        "urssaf_declaration_prepare_books_changed_rel",
        string="Books changed since declared",
        help="Declarations of these auto-entrepreneurs, already declared, whose books changed since "
        "(as last compared): the difference is to correct in a later declaration.",
    )
    books_changed_warning = fields.Text(readonly=True)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if "partner_ids" in fields_list and not values.get("partner_ids"):
            company = self.env["res.company"].browse(values.get("company_id")) or self.env.company
            partners = self.env["urssaf.declaration.preparation"]._default_partners(company)
            values["partner_ids"] = [fields.Command.set(partners.ids)]
        return values

    def _period(self):
        if self.period_mode != "custom":
            return None
        if not self.date_from or not self.date_to:
            raise UserError(self.env._("Period: give its first and last days."))
        if self.date_from > self.date_to:
            raise UserError(self.env._("Period: the first day is after the last day."))
        if self.date_to >= fields.Date.context_today(self):
            raise UserError(self.env._("Period: it has not ended yet; a period can be declared once it has ended."))
        return self.date_from, self.date_to

    def action_prepare(self):
        self.ensure_one()
        if not self.partner_ids:
            raise UserError(self.env._("Auto-entrepreneurs: choose at least one."))
        preparation = self.env["urssaf.declaration.preparation"]
        # The company's Urssaf settings (the responsible accountant the new
        # declarations go to) are readable by system administrators only:
        # the preparation reads them as the system; what it creates and
        # searches stays the user's.
        result = preparation._prepare(self.partner_ids, self.company_id.sudo(), self.reference_date, self._period())
        self.write(
            {
                "state": "done",
                "summary": preparation._summary(result),
                "declaration_ids": [fields.Command.set((result["created"] | result["refreshed"]).ids)],
                **self._books_changed_values(),
            }
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("Prepare declarations"),
        }

    def _books_changed_values(self):
        """The declared periods of the auto-entrepreneurs prepared whose
        books changed since they were declared (the daily comparison's
        flag): a warning beside the periods prepared, since the difference
        is corrected in a later declaration."""
        changed = self.env["urssaf.declaration"].search(
            [
                ("partner_id", "in", self.partner_ids.ids),
                ("company_id", "=", self.company_id.id),
                ("register_books_changed", "=", True),
            ],
            order="partner_id, period_start",
        )
        return {
            "books_changed_ids": [fields.Command.set(changed.ids)],
            "books_changed_warning": changed._urssaf_register_books_warning(),
        }

    def action_open_books_changed(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "l10n_fr_urssaf_tierce_declaration.action_urssaf_declaration"
        )
        action["domain"] = [("id", "in", self.books_changed_ids.ids)]
        return action

    def action_open_declarations(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "l10n_fr_urssaf_tierce_declaration.action_urssaf_declaration"
        )
        action["domain"] = [("id", "in", self.declaration_ids.ids)]
        return action
