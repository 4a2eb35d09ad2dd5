# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The paid contributions booked in the auto-entrepreneur's own company,
and the bank's SEPA debit matched with them."""

from odoo import fields, models
from odoo.exceptions import UserError, ValidationError

from .urssaf_declaration_contribution import VERSEMENT_LIBERATOIRE_LABEL


class UrssafDeclarationContributionMove(models.Model):
    """The contributions entry of a paid declaration."""

    _inherit = "urssaf.declaration"

    # ------------------------------------------------------------------
    # Contributions in the books of the auto-entrepreneur's own company
    # ------------------------------------------------------------------

    contribution_move_id = fields.Many2one(
        "account.move",
        string="Contributions entry",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The entry booking these contributions in the auto-entrepreneur's own company, posted when the "
        "declaration was paid (when that company posts them: see its Urssaf settings).",
    )

    def _urssaf_books_company(self):
        """The company keeping the auto-entrepreneur's own books, when it
        posts its Urssaf contributions; empty otherwise (a platform's
        auto-entrepreneur: the debit is not in the platform's books)."""
        self.ensure_one()
        Company = self.env["res.company"].sudo()
        account = (
            self.env["urssaf.account"]
            .sudo()
            .search([("partner_id", "=", self.partner_id.id), ("company_id", "=", self.company_id.id)], limit=1)
        )
        if account.turnover_source != "customer_invoices":
            return Company
        company = Company.search([("partner_id", "=", self.partner_id.id)], limit=1)
        return company if company.urssaf_post_contributions else Company

    def _urssaf_post_contributions(self):
        """Book the paid contributions in the auto-entrepreneur's own
        company, then reconcile the bank's SEPA debit with them if its
        statement line is already there.

        Urssaf holds the payment whatever happens here: a posting that fails
        (an archived account, an archived journal) is told in the chatter, and the
        payment stays recorded.
        """
        self.ensure_one()
        if self.contribution_move_id:
            return
        company = self._urssaf_books_company()
        if not company or self.currency_id.is_zero(self.amount_total):
            return
        try:
            with self.env.cr.savepoint():
                move = self._urssaf_create_contribution_move(company)
        except (UserError, ValidationError) as error:
            self.message_post(
                body=self.env._(
                    "The contributions could not be posted in %(company)s: %(error)s",
                    company=company.name,
                    error=error.args[0],
                )
            )
            return
        self._urssaf_write({"contribution_move_id": move.id})
        self.message_post(
            body=self.env._(
                "Contributions posted in %(company)s: %(move)s.", company=company.name, move=move.display_name
            )
        )
        self._urssaf_reconcile_debit()

    def _urssaf_contribution_move_values(self, company):
        """The contributions entry: the expense (the versement libératoire
        on the owner's account) against what is owed to Urssaf."""
        contributions = self.declared_contribution_ids
        income_tax = sum(contributions.filtered(lambda c: c.label == VERSEMENT_LIBERATOIRE_LABEL).mapped("amount"))
        total = self.amount_total
        name = self.env._(
            "Urssaf contributions %(partner)s, %(number)s", partner=self.partner_id.name, number=self.urssaf_number
        )
        lines = [
            (company.urssaf_contribution_account_id, total - income_tax),
            (company.urssaf_income_tax_account_id, income_tax),
            (company.urssaf_payable_account_id, -total),
        ]
        return {
            "move_type": "entry",
            "company_id": company.id,
            "journal_id": company.urssaf_contribution_journal_id.id,
            "date": self.debit_date or self.due_date,
            "ref": self.payment_reference or self.urssaf_number,
            "line_ids": [
                fields.Command.create(
                    {
                        "name": name,
                        "account_id": account.id,
                        "currency_id": self.currency_id.id,
                        "amount_currency": amount,
                    }
                )
                for account, amount in lines
                if not self.currency_id.is_zero(amount)
            ],
        }

    def _urssaf_create_contribution_move(self, company):
        move = (
            self.env["account.move"].sudo().with_company(company).create(self._urssaf_contribution_move_values(company))
        )
        move.action_post()
        return move

    def _urssaf_payable_line(self):
        """The contributions entry's line owed to Urssaf, not settled yet."""
        self.ensure_one()
        move = self.contribution_move_id.sudo()
        payable = move.company_id.urssaf_payable_account_id
        return move.line_ids.filtered(lambda line: line.account_id == payable and not line.reconciled)

    def _urssaf_reconcile_debit(self, statement_lines=None):
        """Reconcile the bank statement line of Urssaf's SEPA debit with the
        contributions entry: the line of that amount whose label holds the
        payment reference, else the only one of that amount booked within a
        few days of the debit date. Returns the statement line, if any."""
        self.ensure_one()
        payable_line = self._urssaf_payable_line()
        if not payable_line:
            return self.env["account.bank.statement.line"]
        company = payable_line.company_id
        StatementLine = self.env["account.bank.statement.line"].sudo()
        amount = -payable_line.amount_residual
        if statement_lines is None:
            statement_lines = StatementLine.search(
                [
                    ("company_id", "=", company.id),
                    ("is_reconciled", "=", False),
                    ("amount", "=", -amount),
                ]
            )
        st_line = StatementLine._urssaf_debit_line(
            statement_lines, amount, self.payment_reference, self.debit_date or self.due_date
        )
        if st_line:
            st_line._urssaf_reconcile_with(payable_line)
            self.message_post(
                body=self.env._("Urssaf's SEPA debit reconciled with the bank statement line %s.", st_line.display_name)
            )
        return st_line

    def action_open_contribution_move(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": self.contribution_move_id.id,
            "view_mode": "form",
        }
