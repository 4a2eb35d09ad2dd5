# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_date, formatLang

from ..models.urssaf_common import check_declarant
from ..urssaf_api import periods


class UrssafDeclarationSend(models.TransientModel):
    """Say what is about to be sent to Urssaf, and send it once confirmed.

    Declaring and paying cannot be withdrawn: wherever they start from a
    selection (the list's buttons, the Actions menu), this confirmation comes
    first, naming the declarations and the amounts.
    """

    _name = "urssaf.declaration.send"
    _description = "Confirm sending Urssaf declarations or payments"
    _inherit = ["urssaf.sandbox.ribbon.mixin"]

    step = fields.Selection([("declare", "Declare"), ("pay", "Pay")], required=True, readonly=True)
    declaration_ids = fields.Many2many("urssaf.declaration", string="Declarations", readonly=True)
    currency_id = fields.Many2one(related="declaration_ids.currency_id")
    summary = fields.Text(compute="_compute_summary")

    @api.depends("declaration_ids.urssaf_sandbox")
    def _compute_urssaf_sandbox(self):
        # The declarations' own ribbon: where each went, or goes.
        for wizard in self:
            wizard.urssaf_sandbox = next(iter(filter(None, wizard.declaration_ids.mapped("urssaf_sandbox"))), False)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if self.env.context.get("active_model") == "urssaf.declaration" and "declaration_ids" in fields_list:
            values["declaration_ids"] = [fields.Command.set(self.env.context.get("active_ids") or [])]
        return values

    @api.depends("step", "declaration_ids")
    @api.depends_context("date")
    def _compute_summary(self):
        for wizard in self:
            declarations = wizard.declaration_ids
            if wizard.step == "pay":
                lines = [wizard._pay_line(declaration) for declaration in declarations]
                text = wizard._pay_heading(declarations)
            else:
                lines = [wizard._declare_line(declaration) for declaration in declarations]
                text = wizard._declare_heading(declarations)
            names = "\n".join(f"- {line}" for line in lines)
            wizard.summary = f"{text}\n{names}"

    def _amount(self, amount, declarations):
        return formatLang(self.env, amount, currency_obj=declarations.currency_id[:1])

    def _declare_heading(self, declarations):
        total = self._amount(sum(declarations.mapped("turnover_total")), declarations)
        if len(declarations) == 1:
            return self.env._(
                "1 declaration, %(total)s of turnover, will be declared to Urssaf. A declaration cannot be withdrawn.",
                total=total,
            )
        return self.env._(
            "%(count)s declarations, %(total)s of turnover in all, will be declared to Urssaf. "
            "A declaration cannot be withdrawn.",
            total=total,
            count=len(declarations),
        )

    def _declare_line(self, declaration):
        # An estimate of nothing is 0.00: only a missing one is "not estimated".
        estimated = (
            self._amount(declaration.estimated_total, declaration)
            if declaration.estimate_snapshot
            else self.env._("not estimated yet")
        )
        line = self.env._(
            "%(declaration)s: turnover %(turnover)s, estimated contributions %(estimated)s",
            declaration=declaration.display_name,
            turnover=self._amount(declaration.turnover_total, declaration),
            estimated=estimated,
        )
        return f"{line}{self._late_warning(declaration)}"

    def _late_warning(self, declaration):
        days = declaration.days_late
        if not days:
            return ""
        if days == 1:
            return self.env._(" (late: due on %(due)s, 1 day ago)", due=format_date(self.env, declaration.due_date))
        return self.env._(
            " (late: due on %(due)s, %(days)s days ago)",
            due=format_date(self.env, declaration.due_date),
            days=days,
        )

    def _pay_heading(self, declarations):
        total = self._amount(sum(declarations.mapped("remaining_due")), declarations)
        if len(declarations) == 1:
            return self.env._(
                "Urssaf will debit %(total)s from the auto-entrepreneur's account by SEPA direct debit, "
                "for 1 declaration. A payment cannot be withdrawn.",
                total=total,
            )
        return self.env._(
            "Urssaf will debit %(total)s from the auto-entrepreneurs' accounts by SEPA direct debit, "
            "for %(count)s declarations. A payment cannot be withdrawn.",
            total=total,
            count=len(declarations),
        )

    def _pay_line(self, declaration):
        """The amount, the account debited (masked) and the day Urssaf debits
        it when no date is sent: the due date, or once it has passed the next
        working day from today."""
        amount = self._amount(declaration.remaining_due, declaration)
        try:
            account = declaration._payment_sepa_mandate().iban_masked
        except UserError as error:
            # Said now rather than when the payment is refused.
            return self.env._(
                "%(declaration)s: %(amount)s cannot be paid: %(reason)s",
                declaration=declaration.display_name,
                amount=amount,
                reason=error.args[0],
            )
        today = fields.Date.context_today(self)
        debit_date = periods.working_day_on_or_after(max(declaration.due_date or today, today))
        return self.env._(
            "%(declaration)s: %(amount)s from %(account)s, debited on %(date)s%(late)s",
            declaration=declaration.display_name,
            amount=amount,
            account=account,
            date=format_date(self.env, debit_date),
            late=self._late_warning(declaration),
        )

    def action_confirm(self):
        self.ensure_one()
        check_declarant(self.env)
        declarations = self.declaration_ids
        return declarations.action_declare() if self.step == "declare" else declarations.action_pay()
