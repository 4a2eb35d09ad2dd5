# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.exceptions import UserError

from ..urssaf_api.exceptions import UrssafError
from .res_company import URSSAF_ENVIRONMENTS
from .urssaf_common import check_declarant, correlation_note, urssaf_user_error


class UrssafEnvironmentMixin(models.AbstractModel):
    """A record sent to Urssaf: where it went, what Urssaf answered, and
    the one way a batch of them is sent.

    - The environment is stamped when the record first reaches Urssaf (a
      mandate or a SEPA mandate when registered, a declaration when
      declared), from its company's environment at that moment; what
      follows (ending, revoking, paying, looking it up) is only done in that
      same environment.
    - The fields Urssaf's answers fill (the state, Urssaf's references and
      dates, the environment) are each model's ``_urssaf_protected_fields``
      (``urssaf.protected.mixin``, which every model using this one
      inherits too): written only through ``_urssaf_write``.
    - Sending a batch is for declarants; every record is checked before the
      first call, so that a bad one sends nothing; a client error becomes a
      message in the user's language.
    """

    _name = "urssaf.environment.mixin"
    _inherit = ["urssaf.sandbox.ribbon.mixin"]
    _description = "Record sent to Urssaf"

    urssaf_environment = fields.Selection(
        URSSAF_ENVIRONMENTS,
        string="Urssaf environment",
        readonly=True,
        copy=False,
        help="Where this record was sent: the embedded sandbox (a simulation in this database), Urssaf's "
        "sandbox (test platform) or production. Set when it is first sent to Urssaf.",
    )

    # --- sending --------------------------------------------------------------

    def _urssaf_send_each(self, check, send):
        """Declarants only: ``check`` every record (a UserError stops the
        batch before any call), then ``send`` each one."""
        check_declarant(self.env)
        for record in self:
            check(record)
        for record in self:
            send(record)
        return True

    def _urssaf_call(self, failure, call, refusal=None):
        """``call(client)`` for this record; a client error becomes a
        UserError saying ``failure`` (what failed) and why, unless
        ``refusal(error)`` takes it as Urssaf's refusal of the record itself
        (and returns True)."""
        self.ensure_one()
        client = self.company_id._urssaf_client()
        try:
            return call(client)
        except UrssafError as error:
            if refusal and refusal(error):
                return None
            raise urssaf_user_error(self.env, error, failure) from error

    def _urssaf_record_answer(self, values, message, answer):
        """Keep what Urssaf answered and say it in the chatter, with the
        correlation id of the exchange."""
        self._urssaf_write(values)
        self.message_post(body=message + correlation_note(self.env, answer))

    def _urssaf_stamp_environment(self):
        """Record that these records are being sent to their company's
        current environment (call it just before the first call to Urssaf)."""
        for record in self:
            record._urssaf_write({"urssaf_environment": record.company_id.sudo().urssaf_environment})

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
