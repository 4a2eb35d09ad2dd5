# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The contributions booked in the auto-entrepreneur's own company (when
declared, or when paid on a cash basis), and the bank's SEPA debit matched
with them, on the books' owner's say."""

from odoo import fields, models
from odoo.exceptions import UserError, ValidationError

from .urssaf_declaration import PAYMENT_STATES
from .urssaf_declaration_contribution import VERSEMENT_LIBERATOIRE_LABEL


class UrssafDeclarationContributionMove(models.Model):
    """The contributions entry of a declaration."""

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
        help="The entry booking these contributions in the auto-entrepreneur's own company (when that company "
        "posts them and lets the declaring company do so: see its Urssaf settings), posted when the declaration "
        "was declared, or when it was paid for a company on a cash basis.",
    )

    def _urssaf_books_company(self):
        """The company keeping the auto-entrepreneur's own books, when it
        posts its Urssaf contributions and its owner lets the declaring
        company read (and write) them; empty otherwise (a platform's
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
        if not company.urssaf_post_contributions or not company._urssaf_books_readable_by(self.company_id):
            return Company
        return company

    def _urssaf_contributions_owed(self, company):
        """Whether the books of ``company`` record the contributions now:
        from the declaration (accrual: the charge is owed once declared), or
        from the payment (cash basis)."""
        if company.urssaf_contribution_basis == "cash":
            # A payment ordered is booked like a payment: its SEPA debit
            # is what the bank line will be matched with.
            return self.state in PAYMENT_STATES
        return bool(self.urssaf_number) and self.state in ("declared", *PAYMENT_STATES)

    def _urssaf_post_contributions(self):
        """Book the contributions in the auto-entrepreneur's own company when
        its basis says they are owed, then, once paid, reconcile the bank's
        SEPA debit with them if its statement line is already there. Called
        when a declaration is declared and when it is paid.

        Urssaf holds the declaration and the payment whatever happens here: a
        posting that fails (an archived account, an archived journal) is told
        in the chatter, and the declaration stays recorded.
        """
        self.ensure_one()
        if not self.contribution_move_id:
            company = self._urssaf_books_company()
            if (
                not company
                or self.currency_id.is_zero(self.amount_total)
                or not self._urssaf_contributions_owed(company)
            ):
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
        if self.state in PAYMENT_STATES:
            self._urssaf_reconcile_debit()

    def _urssaf_contributions_debit_rejected(self):
        """Urssaf's debit was rejected. On a cash basis, the entry posted
        when the payment was ordered books a payment that did not happen: it
        is reversed on the day the rejection is known, and paying again
        posts a new one. On an accrual basis the contributions are still
        owed (the payable stays open until the next debit): nothing to post.
        """
        self.ensure_one()
        move = self.contribution_move_id.sudo()
        if not move or move.company_id.urssaf_contribution_basis != "cash":
            return
        if not self._urssaf_payable_line() or not move.company_id._urssaf_books_readable_by(self.company_id):
            # The bank's debit was matched with it (a payment the books
            # hold), or its owner no longer lets the declaring company in.
            return
        try:
            with self.env.cr.savepoint():
                reversal = move._reverse_moves(
                    [
                        {
                            "date": fields.Date.context_today(self),
                            "ref": self.env._("Urssaf debit rejected: %s", move.ref or move.name),
                        }
                    ],
                    cancel=True,
                )
        except (UserError, ValidationError) as error:
            self.message_post(
                body=self.env._(
                    "The contributions entry %(move)s could not be reversed: %(error)s",
                    move=move.display_name,
                    error=error.args[0],
                )
            )
            return
        self._urssaf_write({"contribution_move_id": False})
        self.message_post(
            body=self.env._(
                "Contributions entry %(move)s reversed by %(reversal)s: the debit was rejected.",
                move=move.display_name,
                reversal=reversal.display_name,
            )
        )

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
            "date": self._urssaf_contribution_move_date(company),
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

    def _urssaf_contribution_move_date(self, company):
        """Accrual: the declaration date (in the user's time zone); cash
        basis: the debit date."""
        if company.urssaf_contribution_basis == "cash" or not self.declared_at:
            return self.debit_date or self.due_date
        return fields.Date.context_today(self, self.declared_at)

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
        contributions entry (see ``_urssaf_debit_line`` for which line is
        the debit's), when the books' owner still lets the declaring company
        in. Returns the statement line, if any."""
        self.ensure_one()
        payable_line = self._urssaf_payable_line()
        StatementLine = self.env["account.bank.statement.line"].sudo()
        if not payable_line:
            return StatementLine
        company = payable_line.company_id
        if not company._urssaf_books_readable_by(self.company_id):
            return StatementLine
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
            statement_lines,
            amount,
            self.payment_reference,
            self._urssaf_debit_day(),
            other_references=self._urssaf_other_payment_references(),
            rival_days=self._urssaf_rival_debit_days(payable_line, statement_lines),
        )
        if st_line:
            st_line._urssaf_reconcile_with(payable_line)
            self.message_post(
                body=self.env._("Urssaf's SEPA debit reconciled with the bank statement line %s.", st_line.display_name)
            )
            if self.state == "ordered":
                # The bank says it was debited: paid, whatever the date.
                self._urssaf_mark_debited()
        return st_line

    def _urssaf_debit_day(self):
        return self.debit_date or self.due_date

    def _urssaf_other_payment_references(self):
        """The auto-entrepreneur's other Urssaf payment references: a bank
        line naming one of them is that payment's debit, nobody else's (nor
        is the debit of a payment of this declaration that was rejected)."""
        self.ensure_one()
        others = self.sudo().search(
            [("partner_id", "=", self.partner_id.id), ("payment_reference", "!=", False), ("id", "!=", self.id)]
        )
        rejected = (self.rejected_payment_references or "").split()
        return [
            reference for reference in others.mapped("payment_reference") if reference != self.payment_reference
        ] + [reference for reference in rejected if reference != self.payment_reference]

    def _urssaf_rival_debit_days(self, payable_line, statement_lines):
        """The debit days of the other payments of the same amount still owed
        in the same books, except those a statement line names (they go to
        that line): a line close to one of them too is nobody's by amount."""
        self.ensure_one()
        company = payable_line.company_id
        rivals = (
            self.sudo()
            .search(
                [
                    ("id", "!=", self.id),
                    ("state", "in", PAYMENT_STATES),
                    ("contribution_move_id.company_id", "=", company.id),
                    (
                        "contribution_move_id.line_ids",
                        "any",
                        [("account_id", "=", payable_line.account_id.id), ("reconciled", "=", False)],
                    ),
                ]
            )
            .filtered(
                lambda rival: (
                    company.currency_id.compare_amounts(
                        sum(rival._urssaf_payable_line().mapped("amount_residual")), payable_line.amount_residual
                    )
                    == 0
                    and not (
                        rival.payment_reference
                        and any(line._urssaf_names(rival.payment_reference) for line in statement_lines)
                    )
                )
            )
        )
        return [rival._urssaf_debit_day() for rival in rivals if rival._urssaf_debit_day()]

    def action_open_contribution_move(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": self.contribution_move_id.id,
            "view_mode": "form",
        }
