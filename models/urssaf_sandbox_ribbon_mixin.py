# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from .res_company import URSSAF_ENVIRONMENTS

# The environments where nothing real happens.
SANDBOXES = ("embedded", "sandbox")


class UrssafSandboxRibbonMixin(models.AbstractModel):
    """An Urssaf form shows a "Sandbox" ribbon whenever what it holds goes,
    or went, to a sandbox: the one way every Urssaf form computes it.

    A record sent to Urssaf (``urssaf.environment.mixin``) shows where it was
    sent; one not sent yet, and any record without an environment of its own
    (an Urssaf account, a wizard), shows where its company sends now; the
    confirmation of Declare and Pay shows its declarations' own. The
    company's setting is for settings managers: it is read as the system, so
    that every user of the form sees the ribbon.
    """

    _name = "urssaf.sandbox.ribbon.mixin"
    _description = "Urssaf form with a sandbox ribbon"

    urssaf_sandbox = fields.Selection(
        [choice for choice in URSSAF_ENVIRONMENTS if choice[0] in SANDBOXES],
        string="Sandbox",
        compute="_compute_urssaf_sandbox",
        help="The sandbox this record goes to (or went to): nothing it does reaches Urssaf for real.",
    )

    @api.depends(
        lambda self: [
            path
            for path in ("company_id.urssaf_environment", "urssaf_environment")
            if path.split(".")[0] in self._fields
        ]
    )
    def _compute_urssaf_sandbox(self):
        for record in self:
            sent = "urssaf_environment" in record._fields and record.urssaf_environment
            environment = sent or record.company_id.sudo().urssaf_environment
            record.urssaf_sandbox = environment if environment in SANDBOXES else False
