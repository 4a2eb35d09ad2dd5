# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from ..models.urssaf_declaration_preparation import SKIP_REASONS


class UrssafDeclarationPrepareSkip(models.TransientModel):
    """An auto-entrepreneur the Prepare wizard left out, and why."""

    _name = "urssaf.declaration.prepare.skip"
    _description = "Auto-entrepreneur left out of a preparation"
    _order = "id"

    wizard_id = fields.Many2one("urssaf.declaration.prepare", required=True, ondelete="cascade", index=True)
    partner_id = fields.Many2one("res.partner", string="Auto-entrepreneur", required=True, readonly=True)
    reason = fields.Selection(SKIP_REASONS, required=True, readonly=True)
    detail = fields.Char(readonly=True, help="What Urssaf said, or the declaration already there.")

    def action_open_partner(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "res.partner",
            "res_id": self.partner_id.id,
            "view_mode": "form",
            "target": "current",
        }
