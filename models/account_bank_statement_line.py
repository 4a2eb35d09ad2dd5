# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import api, models
from odoo.tools import float_compare

# A bank books a SEPA debit on its date, or a few days later over a weekend
# or a bank holiday: a line of the right amount this close, naming no Urssaf
# payment reference, is Urssaf's when no line names the payment reference and
# no other payment of that amount is due this close.
DEBIT_DATE_WINDOW = timedelta(days=4)


class AccountBankStatementLine(models.Model):
    _inherit = "account.bank.statement.line"

    @api.model_create_multi
    def create(self, vals_list):
        st_lines = super().create(vals_list)
        st_lines._urssaf_reconcile_contributions()
        return st_lines

    def _urssaf_reconcile_contributions(self):
        """Reconcile new debits with the Urssaf contributions paid from
        their companies and not settled yet, where the books' owner lets the
        declaring company in."""
        debits = self.filtered(lambda line: line.amount < 0 and line.company_id.sudo().urssaf_post_contributions)
        if not debits:
            return
        declarations = (
            self.env["urssaf.declaration"]
            .sudo()
            .search(
                [
                    ("state", "in", ("ordered", "paid")),
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

    def _urssaf_names(self, reference):
        """Whether this line names ``reference``, in its label or its
        reference (banks put the SEPA debit's reference in either)."""
        self.ensure_one()
        return bool(reference) and reference.casefold() in f"{self.payment_ref or ''} {self.ref or ''}".casefold()

    @api.model
    def _urssaf_debit_line(self, candidates, amount, reference, debit_date, other_references=(), rival_days=()):
        """Among ``candidates``, the statement line of Urssaf's debit of
        ``amount`` whose payment reference is ``reference``:

        - the line of that amount naming ``reference``;
        - else, one to one, the only line of that amount dated within
          ``DEBIT_DATE_WINDOW`` of ``debit_date`` and naming no Urssaf payment
          reference (``other_references``: the auto-entrepreneur's other
          payments', whose debits those lines are), unless another payment
          of that amount (``rival_days``: their debit days) could be it too.
        """
        same_amount = candidates.filtered(
            lambda line: (
                not line.is_reconciled
                and float_compare(-line.amount, amount, precision_rounding=line.currency_id.rounding) == 0
            )
        )
        if reference:
            referenced = same_amount.filtered(lambda line: line._urssaf_names(reference))
            if referenced:
                return referenced[:1]
        if not debit_date:
            return self.browse()
        close = same_amount.filtered(
            lambda line: (
                abs(line.date - debit_date) <= DEBIT_DATE_WINDOW
                and not any(line._urssaf_names(other) for other in other_references)
            )
        )
        if len(close) != 1 or any(abs(close.date - day) <= DEBIT_DATE_WINDOW for day in rival_days):
            return self.browse()
        return close

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
