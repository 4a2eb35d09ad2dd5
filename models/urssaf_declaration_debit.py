# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A payment ordered until its SEPA debit is confirmed: paid once Urssaf
says so on or after the debit date (or once the bank's debit line is
matched), due again when the auto-entrepreneur's bank rejected the debit."""

import logging

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_date

from ..urssaf_api.exceptions import UrssafError

_logger = logging.getLogger(__name__)


class UrssafDeclarationDebit(models.Model):
    _inherit = "urssaf.declaration"

    @api.model
    def _urssaf_settle_ordered_payments(self, today):
        """Daily: the payments ordered whose debit date has come are paid if
        Urssaf confirms the debit was taken, due again if it was rejected.
        When Urssaf cannot be asked, they stay ordered until the next run."""
        due = self.sudo().search([("state", "=", "ordered"), ("debit_date", "<=", today)], order="company_id, id")
        for company, declarations in due.grouped("company_id").items():
            client = None
            try:
                for declaration in declarations:
                    try:
                        with self.env.cr.savepoint():
                            client = client or company._urssaf_client()
                            declaration._urssaf_confirm_debit(client)
                    except (UrssafError, UserError) as error:
                        # Neither the NIR nor the IBAN: the declaration and the kind of error.
                        _logger.warning(
                            "Urssaf debit of declaration %s not confirmed yet: %s", declaration.id, type(error).__name__
                        )
            finally:
                if client is not None:
                    client.close()
        if due:
            self.env["ir.cron"]._commit_progress()

    def _urssaf_confirm_debit(self, client):
        """Ask Urssaf, through ``client``, whether the debit of this payment
        ordered was taken, and record what it says."""
        self.ensure_one()
        self._urssaf_check_environment()
        identifier = self.partner_id._urssaf_identifier(self.company_id)
        self._urssaf_record_debit(client.find_declaration_by_number(identifier, self.urssaf_number, self.period_start))

    @api.model
    def _urssaf_debit_taken(self, remote):
        """Whether Urssaf's declaration ``remote`` says it is paid."""
        return remote is not None and (
            remote.is_paid or (remote.remaining_due is not None and remote.remaining_due <= 0)
        )

    def _urssaf_record_debit(self, remote):
        """Ordered -> paid when Urssaf's declaration ``remote`` is paid, or
        -> declared, debit rejected, when something is still due once the
        debit date has come. Unknown to Urssaf (None): left as it is."""
        self.ensure_one()
        if self.state != "ordered" or remote is None:
            return
        if self._urssaf_debit_taken(remote):
            self._urssaf_mark_debited()
        else:
            self._urssaf_debit_rejected(remote)

    def _urssaf_mark_debited(self):
        """Ordered -> paid: Urssaf debited the payment (it confirmed the debit
        once its date had come, or the bank's debit line was matched)."""
        for declaration in self.filtered(lambda d: d.state == "ordered"):
            declaration._urssaf_write_logged(
                {"state": "paid"},
                self.env._(
                    "Payment debited on %(date)s: %(amount)s.",
                    date=format_date(self.env, declaration.debit_date or fields.Date.context_today(self)),
                    amount=declaration._format_amount(declaration.payment_amount or declaration.amount_total),
                ),
            )

    def _urssaf_debit_rejected(self, remote):
        """The bank rejected the debit of the payment ordered: the
        declaration is declared and due again (so that it can be paid again,
        once), flagged, said in its chatter; the contributions booked as paid
        are reversed, and the company's responsible accountant gets a to-do."""
        self.ensure_one()
        values, sentence = self._urssaf_debit_rejected_values(
            remote, self.payment_amount, self.debit_date, self.payment_reference
        )
        self._urssaf_write_logged(values, sentence)
        self._urssaf_contributions_debit_rejected()
        self._urssaf_debit_rejected_todo()

    def _urssaf_debit_rejected_values(self, remote, amount, debit_date, reference):
        """What a rejected debit of ``amount`` on ``debit_date`` (payment
        ``reference``) changes, Urssaf's declaration being ``remote``, and
        the sentence that says it."""
        self.ensure_one()
        remaining = float(remote.remaining_due) if remote.remaining_due is not None else amount
        sentence = self.env._(
            "Urssaf's SEPA debit of %(amount)s on %(date)s, reference %(reference)s, was rejected by the "
            "auto-entrepreneur's bank: %(remaining)s is due again. Pay again once the account is settled.",
            amount=self._format_amount(amount or self.amount_total),
            date=format_date(self.env, debit_date) if debit_date else "?",
            reference=reference or self.env._("unknown"),
            remaining=self._format_amount(remaining),
        )
        rejected = " ".join(filter(None, [self.rejected_payment_references, reference]))
        values = {
            "state": "declared",
            "debit_rejected": True,
            "remaining_due": remaining,
            "rejected_payment_references": rejected or False,
        }
        return values, sentence

    def _urssaf_debit_rejected_todo(self):
        """A to-do for the company's responsible accountant (never OdooBot)."""
        self.ensure_one()
        user = self.company_id.sudo().urssaf_responsible_user_id or self._urssaf_deadline_todo_user(self.company_id)
        if not user or user._is_superuser():
            return
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            date_deadline=fields.Date.context_today(self),
            summary=self.env._("Urssaf debit rejected: pay again"),
            note=self.env._(
                "The auto-entrepreneur's bank rejected Urssaf's SEPA debit of %(declaration)s.",
                declaration=self.display_name,
            ),
            user_id=user.id,
        )
