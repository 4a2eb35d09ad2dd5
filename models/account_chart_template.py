# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class AccountChartTemplate(models.AbstractModel):
    _inherit = "account.chart.template"

    def _post_load_data(self, template_code, company, template_data):
        result = super()._post_load_data(template_code, company, template_data)
        # A company getting its chart gets the chart's fee accounts too.
        self.env["res.company"]._urssaf_set_default_fee_accounts(company or self.env.company)
        return result
