# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models, tools


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

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        if "code" in vals:
            self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()

    @api.model
    def _id_by_code(self, code):
        """The id of the category Urssaf calls ``code`` (0 when none): read
        for every line of every answer of a run, so kept in Odoo's cache."""
        return self._ids_by_code().get(code, 0)

    @tools.ormcache()
    def _ids_by_code(self):
        return {category.code: category.id for category in self.sudo().search_fetch([], ["code"])}
