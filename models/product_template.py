# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ProductTemplate(models.Model):
    _inherit = "product.template"

    urssaf_category_id = fields.Many2one(
        "urssaf.activity.category",
        string="Urssaf activity category",
        help="Category of the turnover this product brings to an "
        "auto-entrepreneur. Empty: goods count as sales of goods, anything "
        "else as the auto-entrepreneur's default category.",
    )
