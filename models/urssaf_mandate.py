# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_date

from ..urssaf_api.exceptions import (
    UrssafBusinessError,
    UrssafConflictError,
    UrssafError,
    UrssafNotFoundError,
)
from .urssaf_common import DECLARANT, check_declarant, correlation_note, urssaf_user_error

# Urssaf's answers that refuse the mandate itself (rather than a technical
# failure): the mandate ends "refused" with Urssaf's message. A 404 is a
# refusal only when it is about the account (not a wrong API address).
REFUSALS = (UrssafConflictError, UrssafBusinessError)
UNKNOWN_ACCOUNT = "ER_API_COMPTE_INCONNU"


def _is_refusal(error):
    if isinstance(error, UrssafNotFoundError):
        return error.code == UNKNOWN_ACCOUNT
    return isinstance(error, REFUSALS)


class UrssafMandate(models.Model):
    """The auto-entrepreneur's mandate for this company to declare and pay for them.

    The law (CSS R.133-43) makes the tiers-déclarant keep the signed mandate
    and notify Urssaf of it and of its end; only one tiers-déclarant may hold
    it at a time.
    """

    _name = "urssaf.mandate"
    _description = "Urssaf tierce-déclaration mandate"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "signature_date desc, id desc"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner",
        string="Auto-entrepreneur",
        required=True,
        index=True,
        tracking=True,
        check_company=True,
        domain="[('urssaf_is_auto_entrepreneur', '=', True)]",
    )
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    signature_date = fields.Date(required=True, tracking=True, default=fields.Date.context_today)
    # Declarants only, and so its attachment (ir.attachment checks the
    # field's groups for the attachments of a field).
    document = fields.Binary(
        string="Signed mandate",
        attachment=True,
        copy=False,
        groups=DECLARANT,
        help="The mandate signed by the auto-entrepreneur: the law makes the tiers-déclarant keep this evidence.",
    )
    document_name = fields.Char(string="Signed mandate file name", copy=False)
    state = fields.Selection(
        [("draft", "Draft"), ("active", "Active"), ("ended", "Ended"), ("refused", "Refused")],
        default="draft",
        required=True,
        readonly=True,
        tracking=True,
        copy=False,
    )
    urssaf_mandate_ref = fields.Char(string="Urssaf mandate ID", readonly=True, copy=False, tracking=True)
    effective_date = fields.Date(readonly=True, copy=False)
    end_date = fields.Date(readonly=True, copy=False, tracking=True)
    refusal_reason = fields.Text(string="Urssaf's refusal", readonly=True, copy=False)

    _one_active_mandate = models.UniqueIndex(
        "(partner_id, company_id) WHERE state = 'active'",
        "An auto-entrepreneur can have only one active Urssaf mandate per company.",
    )

    @api.depends("partner_id", "signature_date")
    def _compute_display_name(self):
        for mandate in self:
            mandate.display_name = self.env._(
                "Mandate of %(partner)s (%(date)s)",
                partner=mandate.partner_id.display_name or "",
                date=format_date(self.env, mandate.signature_date) if mandate.signature_date else "",
            )

    @api.ondelete(at_uninstall=False)
    def _unlink_only_draft(self):
        if any(mandate.state not in ("draft", "refused") for mandate in self):
            raise UserError(self.env._("Only draft or refused mandates can be deleted; end an active mandate instead."))

    def action_register(self):
        """Notify Urssaf of the mandates (Mandats)."""
        check_declarant(self.env)
        # Every mandate is checked before the first call, so that a bad one
        # in a batch sends nothing.
        for mandate in self:
            mandate._urssaf_check_registrable()
        for mandate in self:
            mandate._urssaf_register()
        return True

    def _urssaf_check_registrable(self):
        """Raise a UserError when this mandate cannot be sent to Urssaf."""
        self.ensure_one()
        if self.state not in ("draft", "refused"):
            raise UserError(self.env._("%s is already registered with Urssaf.", self.display_name))
        if not self.document:
            raise UserError(
                self.env._(
                    "Attach the signed mandate before registering %s: the tiers-déclarant must keep it.",
                    self.display_name,
                )
            )
        other = self.search(
            [
                ("partner_id", "=", self.partner_id.id),
                ("company_id", "=", self.company_id.id),
                ("state", "=", "active"),
                ("id", "!=", self.id),
            ],
            limit=1,
        )
        if other:
            raise UserError(
                self.env._(
                    "%(partner)s already has an active mandate: %(mandate)s.",
                    partner=self.partner_id.display_name,
                    mandate=other.display_name,
                )
            )
        return self.partner_id._urssaf_identifier(self.company_id)

    def _urssaf_register(self):
        self.ensure_one()
        identifier = self._urssaf_check_registrable()
        client = self.company_id._urssaf_client()
        try:
            result = client.register_mandate(identifier, self.signature_date)
        except UrssafError as error:
            if not _is_refusal(error):
                raise urssaf_user_error(
                    self.env, error, self.env._("Registering %s with Urssaf", self.display_name)
                ) from error
            # Only the state and Urssaf's reason change: nothing else of the
            # mandate is touched by a refusal.
            self.write({"state": "refused", "refusal_reason": error.message})
            self.message_post(body=self.env._("Urssaf refused the mandate: %s", error))
            return False
        self.write(
            {
                "state": "active",
                "urssaf_mandate_ref": result.mandate_id,
                "effective_date": result.effective_date or self.signature_date,
                "refusal_reason": False,
            }
        )
        self.message_post(
            body=self.env._(
                "Mandate registered with Urssaf under ID %(ref)s, effective %(date)s.%(note)s",
                ref=result.mandate_id,
                date=format_date(self.env, self.effective_date),
                note=correlation_note(self.env, result),
            )
        )
        return True

    def action_end(self):
        """Notify Urssaf that the mandates end."""
        check_declarant(self.env)
        for mandate in self:
            mandate._urssaf_check_endable()
        for mandate in self:
            mandate._urssaf_end()
        return True

    def _urssaf_check_endable(self):
        self.ensure_one()
        if self.state != "active":
            raise UserError(self.env._("%s is not active: only an active mandate can be ended.", self.display_name))

    def _urssaf_end(self):
        self.ensure_one()
        self._urssaf_check_endable()
        client = self.company_id._urssaf_client()
        try:
            result = client.end_mandate(self.urssaf_mandate_ref)
        except UrssafError as error:
            raise urssaf_user_error(self.env, error, self.env._("Ending %s", self.display_name)) from error
        self.write({"state": "ended", "end_date": fields.Date.context_today(self)})
        self.message_post(body=self.env._("Mandate ended at Urssaf.%s", correlation_note(self.env, result)))
        return True
