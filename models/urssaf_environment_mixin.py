# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError

from .res_company import URSSAF_ENVIRONMENTS


class UrssafEnvironmentMixin(models.AbstractModel):
    """Which Urssaf environment a record was sent to.

    Stamped when the record first reaches Urssaf (a mandate or a SEPA
    mandate when registered, a declaration when declared), from its
    company's environment at that moment; what follows (ending, revoking,
    paying, looking it up) is only done in that same environment. Users
    never write it: only the addon, as the system.
    """

    _name = "urssaf.environment.mixin"
    _description = "Urssaf environment a record was sent to"

    urssaf_environment = fields.Selection(
        URSSAF_ENVIRONMENTS,
        string="Urssaf environment",
        readonly=True,
        copy=False,
        help="Where this record was sent: the embedded sandbox (a simulation in this database), Urssaf's "
        "sandbox (test platform) or production. Set when it is first sent to Urssaf.",
    )

    def _urssaf_check_environment_not_written(self, field_names):
        if "urssaf_environment" in field_names and not self.env.su:
            raise UserError(
                self.env._(
                    "%(field)s is set when the record is sent to Urssaf: it cannot be changed.",
                    field=self._fields["urssaf_environment"].get_description(self.env)["string"],
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        self._urssaf_check_environment_not_written(
            {fname for vals in vals_list for fname in vals}
            | {key[len("default_") :] for key in self.env.context if key.startswith("default_")}
        )
        return super().create(vals_list)

    def write(self, vals):
        self._urssaf_check_environment_not_written(vals)
        return super().write(vals)

    def _urssaf_stamp_environment(self):
        """Record that these records are being sent to their company's
        current environment (call it just before the first call to Urssaf)."""
        for record in self:
            record.sudo().write({"urssaf_environment": record.company_id.sudo().urssaf_environment})

    def _urssaf_check_environment(self):
        """Raise a UserError when a record was sent to another environment
        than its company's current one (call it before any later call to
        Urssaf about it). Records never sent (not stamped) pass."""
        for record in self:
            company = record.company_id.sudo()
            if record.urssaf_environment and record.urssaf_environment != company.urssaf_environment:
                raise UserError(
                    self.env._(
                        "%(record)s was sent to Urssaf in the environment “%(sent)s”, but %(company)s now uses "
                        "“%(current)s”: it can only be followed up in “%(sent)s”. A system administrator can switch "
                        "the company back in Accounting > Configuration > Settings, section Urssaf.",
                        record=record.display_name,
                        sent=company._urssaf_environment_label(record.urssaf_environment),
                        company=company.name,
                        current=company._urssaf_environment_label(company.urssaf_environment),
                    )
                )
