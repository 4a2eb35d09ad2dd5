# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class AccountAccount(models.Model):
    _inherit = "account.account"

    # Company-dependent: a chart shared by several companies (an accounting
    # firm's clients) maps its 706 to each auto-entrepreneur's own activity.
    urssaf_category_id = fields.Many2one(
        "urssaf.activity.category",
        string="Urssaf activity category",
        company_dependent=True,
        help="For an auto-entrepreneur keeping its books in this company: the category of the income booked on "
        "this account straight from a bank or cash journal, without an invoice. Empty: the auto-entrepreneur's "
        "default category.",
    )
