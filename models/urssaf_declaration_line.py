# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_compare, float_round

from .urssaf_common import DECLARANT, euro


class UrssafDeclarationLine(models.Model):
    """The turnover of one activity category in a declaration."""

    _name = "urssaf.declaration.line"
    _description = "Urssaf declaration turnover line"
    _inherit = ["urssaf.protected.mixin"]
    _order = "sequence, id"
    # Set by the addon from the books: a user changes only the amount to
    # declare of the line the books gave.
    _urssaf_protected_fields = frozenset({"computed_amount"})
    _urssaf_fixed_fields = frozenset({"declaration_id", "category_id"})

    declaration_id = fields.Many2one("urssaf.declaration", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="declaration_id.company_id", store=True)
    # The euro, as the declaration's. Not read through the declaration:
    # creating the lines of ten thousand declarations then computed it for
    # each amount. The amounts are in cents already (computed ones rounded,
    # declared ones refused beyond two decimals).
    currency_id = fields.Many2one("res.currency", compute="_compute_currency_id")
    category_id = fields.Many2one("urssaf.activity.category", required=True)
    sequence = fields.Integer(related="category_id.sequence", store=True)
    computed_amount = fields.Monetary(string="Collected (computed)", readonly=True)
    amount = fields.Monetary(string="Amount to declare")
    difference = fields.Monetary(compute="_compute_difference", store=True)
    is_adjusted = fields.Boolean(string="Adjusted", compute="_compute_difference", store=True)
    # What the form shows read-only to a preparer; the server's rule is
    # _check_adjustment_allowed.
    user_can_adjust = fields.Boolean(
        string="May adjust the amount",
        compute="_compute_user_can_adjust",
        help="Whether the current user may change the amount to declare (Urssaf declarants only).",
    )

    _category_unique = models.UniqueIndex("(declaration_id, category_id)", "One line per category.")

    def _compute_currency_id(self):
        self.currency_id = euro(self.env)

    @api.depends_context("uid")
    def _compute_user_can_adjust(self):
        can_adjust = self.env.user.has_group(DECLARANT)
        for line in self:
            line.user_can_adjust = can_adjust

    @api.depends("amount", "computed_amount")
    def _compute_difference(self):
        for line in self:
            line.difference = line.amount - line.computed_amount
            line.is_adjusted = (
                not line.currency_id.is_zero(line.difference) if line.currency_id else bool(line.difference)
            )

    @api.model
    def _urssaf_create_values(self, vals_list):
        # Once the protected fields are checked (the computed amount named
        # first); the declaration and amounts checked are the ones stored,
        # whether sent or defaulted (a ``default_*`` key, a saved default).
        checked = self._urssaf_values_with_defaults(vals_list, ("declaration_id", "amount", "computed_amount"))
        for vals in checked:
            self.env["urssaf.declaration"].browse(vals.get("declaration_id"))._urssaf_check_lines_editable()
            self._check_amount_precision(vals.get("amount"))
            self._check_adjustment_allowed(vals.get("amount", 0.0), vals.get("computed_amount", 0.0))
        return super()._urssaf_create_values(vals_list)

    def write(self, vals):
        self.declaration_id._urssaf_check_lines_editable()
        if "amount" in vals:
            self._check_amount_precision(vals["amount"])
            for line in self:
                self._check_adjustment_allowed(vals["amount"], vals.get("computed_amount", line.computed_amount))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_declared_or_collected(self):
        self.declaration_id._urssaf_check_lines_editable()
        if self.env.su:
            return
        collected = self.filtered(lambda line: not line.currency_id.is_zero(line.computed_amount))
        if collected:
            # Deleting it would hide the difference from the books: an
            # adjustment is an amount to declare, kept beside the computed one.
            raise UserError(
                self.env._(
                    "%(category)s: the books show %(amount)s collected; set the amount to declare instead of "
                    "deleting the line.",
                    category=collected[0].category_id.display_name,
                    amount=collected[0].computed_amount,
                )
            )

    def _check_amount_precision(self, amount):
        """Urssaf takes euros and cents: refuse a third decimal rather than
        let the currency rounding change the amount silently."""
        if amount and float_compare(amount, float_round(amount, precision_digits=2), precision_digits=6):
            raise ValidationError(
                self.env._(
                    "Amount to declare: %(amount)s has more than two decimals; Urssaf takes euros and cents.",
                    amount=amount,
                )
            )

    def _check_adjustment_allowed(self, amount, computed_amount):
        """Preparers declare what the invoices say; only declarants adjust it."""
        if self.env.su or self.env.user.has_group(DECLARANT):
            return
        if float_compare(amount or 0.0, computed_amount or 0.0, precision_digits=2):
            raise UserError(self.env._("Only Urssaf declarants can change the amount to declare."))

    def action_open_collected(self):
        self.ensure_one()
        return self.declaration_id._urssaf_collected_action(category=self.category_id)
