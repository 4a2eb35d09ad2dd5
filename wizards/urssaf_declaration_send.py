# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.tools.misc import formatLang

from ..models.urssaf_common import check_declarant


class UrssafDeclarationSend(models.TransientModel):
    """Say what is about to be sent to Urssaf, and send it once confirmed.

    Declaring and paying cannot be withdrawn: wherever they start from a
    selection (the list's buttons, the Actions menu), this confirmation comes
    first, naming the declarations and the amounts.
    """

    _name = "urssaf.declaration.send"
    _description = "Confirm sending Urssaf declarations or payments"

    step = fields.Selection([("declare", "Declare"), ("pay", "Pay")], required=True, readonly=True)
    declaration_ids = fields.Many2many("urssaf.declaration", string="Declarations", readonly=True)
    currency_id = fields.Many2one(related="declaration_ids.currency_id")
    summary = fields.Text(compute="_compute_summary")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if self.env.context.get("active_model") == "urssaf.declaration" and "declaration_ids" in fields_list:
            values["declaration_ids"] = [fields.Command.set(self.env.context.get("active_ids") or [])]
        return values

    @api.depends("step", "declaration_ids")
    def _compute_summary(self):
        for wizard in self:
            declarations = wizard.declaration_ids
            if wizard.step == "pay":
                total = sum(declarations.mapped("remaining_due"))
                text = self.env._(
                    "Urssaf will debit %(total)s from the auto-entrepreneurs' accounts by SEPA direct debit, "
                    "for %(count)s declarations. A payment cannot be withdrawn.",
                    total=formatLang(self.env, total, currency_obj=declarations.currency_id[:1]),
                    count=len(declarations),
                )
            else:
                total = sum(declarations.mapped("turnover_total"))
                text = self.env._(
                    "%(count)s declarations, %(total)s of turnover in all, will be declared to Urssaf. "
                    "A declaration cannot be withdrawn.",
                    total=formatLang(self.env, total, currency_obj=declarations.currency_id[:1]),
                    count=len(declarations),
                )
            names = "\n".join(f"- {name}" for name in declarations.mapped("display_name"))
            wizard.summary = f"{text}\n{names}"

    def action_confirm(self):
        self.ensure_one()
        check_declarant(self.env)
        declarations = self.declaration_ids
        return declarations.action_declare() if self.step == "declare" else declarations.action_pay()
