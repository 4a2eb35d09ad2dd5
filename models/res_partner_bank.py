# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models
from odoo.exceptions import UserError
from odoo.tools.misc import format_datetime

from odoo.addons.base.models.res_bank import sanitize_account_number


class ResPartnerBank(models.Model):
    _inherit = "res.partner.bank"

    def _urssaf_signed_sepa_mandates(self):
        return (
            self.env["urssaf.sepa.mandate"]
            .sudo()
            .search([("bank_account_id", "in", self.ids), ("signed_on", "!=", False)])
        )

    def write(self, vals):
        # What a SEPA mandate signed in the portal was signed on: the
        # account's number and its contact.
        if ("acc_number" in vals or "partner_id" in vals) and self.ids:
            signed = self._urssaf_signed_sepa_mandates()
            number = sanitize_account_number(vals["acc_number"]) if "acc_number" in vals else None
            changed = signed.bank_account_id.filtered(
                lambda account: (
                    (number is not None and number != account.sanitized_acc_number)
                    or ("partner_id" in vals and vals["partner_id"] != account.partner_id.id)
                )
            )
            if changed:
                mandate = signed.filtered(lambda m: m.bank_account_id in changed)[0]
                raise UserError(
                    self.env._(
                        "This bank account carries %(mandate)s, signed by the auto-entrepreneur on %(date)s: "
                        "its number and its contact cannot be changed. Add a new bank account and have a new "
                        "SEPA mandate signed.",
                        mandate=mandate.display_name,
                        date=format_datetime(self.env, mandate.signed_on),
                    )
                )
        return super().write(vals)
