# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..models.urssaf_common import field_label


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
    # A platform declares for thousands of auto-entrepreneurs: "all" is a
    # choice, not thousands of tags loaded into the form.
    scope = fields.Selection(
        [("all", "Every auto-entrepreneur of the company"), ("chosen", "The auto-entrepreneurs chosen")],
        string="Auto-entrepreneurs",
        required=True,
        default="all",
        help="Those that cannot be prepared (no active mandate, not eligible, already declared, period not "
        "ended) are listed with the reason.",
    )
    company_partner_count = fields.Integer(
        string="Auto-entrepreneurs of the company", compute="_compute_company_partner_count"
    )
    company_partner_count_label = fields.Char(
        string="Auto-entrepreneurs to prepare", compute="_compute_company_partner_count"
    )
    partner_ids = fields.Many2many(
        "res.partner",
        string="Chosen auto-entrepreneurs",
        domain="[('urssaf_is_auto_entrepreneur', '=', True)]",
    )
    state = fields.Selection([("choose", "Choose"), ("done", "Done")], default="choose")
    summary = fields.Text(readonly=True)
    declaration_ids = fields.Many2many("urssaf.declaration", string="Declarations")
    created_ids = fields.Many2many(
        "urssaf.declaration", "urssaf_declaration_prepare_created_rel", string="Declarations created"
    )
    skip_ids = fields.One2many("urssaf.declaration.prepare.skip", "wizard_id", string="Skipped")
    books_changed_ids = fields.Many2many(
        "urssaf.declaration",
        "urssaf_declaration_prepare_books_changed_rel",
        string="Books changed since declared",
        help="Declarations of these auto-entrepreneurs, already declared, whose books changed since "
        "(as last compared): the difference is to correct in a later declaration.",
    )
    books_changed_warning = fields.Text(readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        # Auto-entrepreneurs given (a selection, an RPC call) are the choice.
        for vals in vals_list:
            if "partner_ids" in vals and "scope" not in vals:
                vals["scope"] = "chosen"
        return super().create(vals_list)

    @api.constrains("company_id")
    def _check_users_company(self):
        """Only the user's own companies: the preparation reads the books as
        that company (the ones their owners let it read) and creates its
        declarations. (Constraints run as the superuser: its user is the
        one asking.)"""
        for wizard in self:
            if wizard.company_id not in self.env.user.company_ids:
                raise AccessError(
                    self.env._(
                        "%(field)s: “%(company)s” is not one of your companies.",
                        field=field_label(self, "company_id"),
                        company=wizard.company_id.sudo().name,
                    )
                )

    @api.depends("company_id")
    def _compute_company_partner_count(self):
        preparation = self.env["urssaf.declaration.preparation"]
        for wizard in self:
            count = len(preparation._company_partners(wizard.company_id))
            wizard.company_partner_count = count
            wizard.company_partner_count_label = (
                self.env._("1 auto-entrepreneur")
                if count == 1
                else self.env._("%(count)s auto-entrepreneurs", count=count)
            )

    def _partners(self):
        """The auto-entrepreneurs to prepare."""
        if self.scope == "chosen":
            if not self.partner_ids:
                raise UserError(self.env._("Auto-entrepreneurs: choose at least one."))
            return self.partner_ids
        return self.env["urssaf.declaration.preparation"]._company_partners(self.company_id)

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
        partners = self._partners()
        preparation = self.env["urssaf.declaration.preparation"]
        # The company's Urssaf settings (the responsible accountant the new
        # declarations go to) are readable by system administrators only:
        # the preparation reads them as the system; what it creates and
        # searches stays the user's.
        result = preparation._prepare(partners, self.company_id.sudo(), self.reference_date, self._period())
        self.write(
            {
                "state": "done",
                "summary": preparation._summary(result),
                "declaration_ids": [fields.Command.set((result["created"] | result["refreshed"]).ids)],
                "created_ids": [fields.Command.set(result["created"].ids)],
                "skip_ids": [fields.Command.clear()]
                + [
                    fields.Command.create({"partner_id": partner.id, "reason": reason, "detail": detail or False})
                    for partner, reason, detail in result["skipped"]
                ],
                **self._books_changed_values(partners),
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

    def _books_changed_values(self, partners):
        """The declared periods of the auto-entrepreneurs prepared whose
        books changed since they were declared (the daily comparison's
        flag): a warning beside the periods prepared, since the difference
        is corrected in a later declaration."""
        changed = self.env["urssaf.declaration"].search(
            [
                ("partner_id", "in", partners.ids),
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
