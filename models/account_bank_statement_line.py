# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import api, models
from odoo.tools import float_compare

# A bank books a SEPA debit on its date, or a few days later over a weekend
# or a bank holiday: a line of the right amount this close is Urssaf's when
# no line names the payment reference.
DEBIT_DATE_WINDOW = timedelta(days=4)


class AccountBankStatementLine(models.Model):
    _inherit = "account.bank.statement.line"

    @api.model_create_multi
    def create(self, vals_list):
        st_lines = super().create(vals_list)
        st_lines._urssaf_reconcile_contributions()
        return st_lines

    def _urssaf_reconcile_contributions(self):
        """Reconcile new debits with the Urssaf contributions posted in
        their companies and not settled yet."""
        debits = self.filtered(lambda line: line.amount < 0 and line.company_id.sudo().urssaf_post_contributions)
        if not debits:
            return
        declarations = (
            self.env["urssaf.declaration"]
            .sudo()
            .search(
                [
                    ("state", "=", "paid"),
                    ("contribution_move_id.company_id", "in", debits.company_id.ids),
                    # Still owed to Urssaf in the books.
                    (
                        "contribution_move_id.line_ids",
                        "any",
                        [("account_id.reconcile", "=", True), ("reconciled", "=", False)],
                    ),
                ],
                order="debit_date, id",
            )
        )
        for declaration in declarations:
            if declaration._urssaf_payable_line():
                declaration._urssaf_reconcile_debit(debits.filtered(lambda line: not line.is_reconciled))

    @api.model
    def _urssaf_debit_line(self, candidates, amount, reference, debit_date):
        """Among ``candidates``, the statement line of Urssaf's debit of
        ``amount``: the one whose label holds ``reference``, else the only
        one dated within ``DEBIT_DATE_WINDOW`` of ``debit_date``."""
        same_amount = candidates.filtered(
            lambda line: (
                not line.is_reconciled
                and float_compare(-line.amount, amount, precision_rounding=line.currency_id.rounding) == 0
            )
        )
        if reference:
            referenced = same_amount.filtered(
                lambda line: reference.casefold() in f"{line.payment_ref or ''} {line.ref or ''}".casefold()
            )
            if referenced:
                return referenced[:1]
        if debit_date:
            close = same_amount.filtered(lambda line: abs(line.date - debit_date) <= DEBIT_DATE_WINDOW)
            if len(close) == 1:
                return close
        return self.browse()

    def _urssaf_reconcile_with(self, payable_line):
        """Settle ``payable_line`` (owed to Urssaf) with this statement line:
        its suspense line takes the payable account, and the two reconcile."""
        self.ensure_one()
        _liquidity, suspense, _other = self._seek_for_lines()
        if len(suspense) != 1:
            return False
        suspense.account_id = payable_line.account_id
        (suspense | payable_line).reconcile()
        return True
