# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..models.res_company import ENVIRONMENT_CHANGE_CONFIRMED, URSSAF_ENVIRONMENTS, EnvironmentChangeConfirmation

_logger = logging.getLogger(__name__)


class UrssafEnvironmentChange(models.TransientModel):
    """Confirming a change of Urssaf environment while declarations are
    declared but not paid: they can only be paid in the environment they
    were declared to.

    The company refuses such a change unless this wizard confirms it (see
    ``res.company._urssaf_check_environment_change``). Opened by the settings
    page when it saves a new environment, or created directly (XML-RPC).
    """

    _name = "urssaf.environment.change"
    _description = "Change of Urssaf environment"

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, ondelete="cascade"
    )
    environment = fields.Selection(URSSAF_ENVIRONMENTS, string="New Urssaf environment", required=True)
    # The settings page that asked: confirming saves the whole page.
    settings_id = fields.Many2one("res.config.settings", ondelete="cascade")
    current_environment = fields.Selection(
        URSSAF_ENVIRONMENTS, string="Current Urssaf environment", compute="_compute_declarations"
    )
    declaration_count = fields.Integer(string="Declared, not paid", compute="_compute_declarations")
    warning = fields.Text(compute="_compute_declarations")

    @api.depends("company_id", "environment")
    def _compute_declarations(self):
        for wizard in self:
            company = wizard.company_id
            declarations = company._urssaf_declared_unpaid(wizard.environment) if company else company
            wizard.current_environment = company.sudo().urssaf_environment if company else False
            wizard.declaration_count = len(declarations)
            wizard.warning = (
                company._urssaf_environment_change_warning(wizard.environment, declarations)
                if declarations and wizard.environment
                else False
            )

    def _action_open(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Change the Urssaf environment"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_confirm(self):
        """Change the environment (and save the settings page that asked)."""
        self.ensure_one()
        company = self.company_id
        confirmation = EnvironmentChangeConfirmation(frozenset(company.ids), self.environment)
        confirmed = company.with_context(**{ENVIRONMENT_CHANGE_CONFIRMED: confirmation})
        declarations = company._urssaf_declared_unpaid(self.environment)
        previous = company.urssaf_environment
        settings = self.settings_id
        if settings:
            if settings.company_id != company or settings.urssaf_environment != self.environment:
                raise UserError(self.env._("These settings do not change the Urssaf environment confirmed here."))
            # The company's settings are validated together: written at once,
            # then the rest of the page is saved as usual.
            confirmed.write(settings._urssaf_company_changes())
            result = settings.execute()
        else:
            confirmed.write({"urssaf_environment": self.environment})
            result = {"type": "ir.actions.act_window_close"}
        _logger.info(
            "Urssaf environment of company %s changed from %s to %s by user %s, confirmed with %s declared "
            "unpaid declarations (ids %s)",
            company.id,
            previous,
            self.environment,
            self.env.uid,
            len(declarations),
            declarations.ids,
        )
        return result
