# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from ..urssaf_api.contributions import LABELS, VERSEMENT_LIBERATOIRE

# Urssaf's label of the versement libératoire line: the contract's
# LigneCotisation has no type, the label tells it apart.
VERSEMENT_LIBERATOIRE_LABEL = LABELS[VERSEMENT_LIBERATOIRE]


class UrssafDeclarationContribution(models.Model):
    """A contribution line of an estimate or of a declaration, as Urssaf computed it."""

    _name = "urssaf.declaration.contribution"
    _description = "Urssaf contribution line"
    _inherit = ["urssaf.protected.mixin"]
    _order = "kind, id"
    # Urssaf's answer, as it gave it: only the addon's steps write and
    # remove them.
    _urssaf_protected_fields = frozenset({"declaration_id", "kind", "category_id", "label", "base", "rate", "amount"})
    _urssaf_protected_unlink = True

    declaration_id = fields.Many2one("urssaf.declaration", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="declaration_id.company_id", store=True)
    currency_id = fields.Many2one(related="declaration_id.currency_id")
    kind = fields.Selection([("estimate", "Estimate"), ("declared", "Declared")], required=True)
    category_id = fields.Many2one("urssaf.activity.category")
    label = fields.Char(required=True)
    base = fields.Monetary()
    rate = fields.Float(string="Rate (%)", digits=(16, 3))
    amount = fields.Monetary()
