# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class UrssafActivityCategory(models.Model):
    """An activity category of the micro-social scheme (the API's ``Categorie``).

    The turnover of each category is declared on a line of its own and bears
    its own contribution rate.
    """

    _name = "urssaf.activity.category"
    _description = "Urssaf activity category"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(
        required=True,
        readonly=True,
        help="The category as the Urssaf API names it.",
    )
    sequence = fields.Integer(default=10)
    is_goods = fields.Boolean(
        string="Sales of goods",
        help="Sales of goods, food and accommodation: the category of goods products when nothing else is set.",
    )

    _code_unique = models.UniqueIndex("(code)", "An Urssaf activity category code must be unique.")
