# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_date

from ..urssaf_api.exceptions import (
    UrssafBusinessError,
    UrssafConflictError,
    UrssafNotFoundError,
    UrssafServerError,
    UrssafTransportError,
)
from .urssaf_common import DECLARANT, check_declarant, urssaf_error_text, urssaf_user_error
from .urssaf_portal_signed_mixin import SIGNATURE_FIELDS

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
    _inherit = [
        "mail.thread",
        "mail.activity.mixin",
        "urssaf.environment.mixin",
        "urssaf.protected.mixin",
        "urssaf.batch.mixin",
        "urssaf.portal.signed.mixin",
    ]
    _order = "signature_date desc, id desc"
    _check_company_auto = True
    # Filled from Urssaf's answers only, and the portal's signature (with
    # the auto-entrepreneur's request to end the mandate).
    _urssaf_protected_fields = frozenset(
        {"state", "urssaf_mandate_ref", "effective_date", "end_date", "refusal_reason", "urssaf_environment"}
        | SIGNATURE_FIELDS
        | {"end_requested_on"}
    )
    _urssaf_protected_defaults = {"state": "draft"}
    # A mandate signed in the portal: its parties, its dates and its document.
    _urssaf_signed_frozen_fields = frozenset(
        {"partner_id", "company_id", "signature_date", "document", "document_name"}
    )
    _urssaf_signed_report = "l10n_fr_urssaf_tierce_declaration.action_report_urssaf_mandate_document"

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
    end_requested_on = fields.Datetime(
        string="End requested on",
        readonly=True,
        copy=False,
        tracking=True,
        help="When the auto-entrepreneur asked, from the portal, to end this mandate: a declarant ends it at Urssaf.",
    )

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
        """Notify Urssaf of the mandates (Mandats): every one checked before
        the first call (a bad one sends nothing), then several calls in
        flight (the company's *Urssaf calls in parallel*), a summary at the
        end."""
        check_declarant(self.env)
        return self._urssaf_batch_send("register", self._urssaf_check_registrable_all())

    def _urssaf_batch_label(self, step):
        return self.env._("Register mandates")

    def _urssaf_batch_done_since(self, step, since):
        # Every one was checked registrable (a draft) before it was queued.
        return self.state == "active"

    def _urssaf_check_registrable(self):
        """Raise a UserError when this mandate cannot be sent to Urssaf;
        else its auto-entrepreneur's identifier."""
        self.ensure_one()
        return self._urssaf_check_registrable_all()[self.id]

    def _urssaf_check_registrable_all(self):
        """``_urssaf_check_registrable`` of each mandate, in their order, a
        few queries for all of them (a selection of thousands is checked
        before the first call): ``{mandate id: identifier}``."""
        active = {}
        for mandate in self.search(
            [
                ("partner_id", "in", self.partner_id.ids),
                ("company_id", "in", self.company_id.ids),
                ("state", "=", "active"),
            ]
        ):
            active.setdefault((mandate.partner_id.id, mandate.company_id.id), mandate)
        identifiers = self.env["urssaf.account"]._urssaf_identifiers_of(self)
        checked = {}
        for mandate in self:
            if mandate.state not in ("draft", "refused"):
                raise UserError(self.env._("%s is already registered with Urssaf.", mandate.display_name))
            if not mandate.document:
                raise UserError(
                    self.env._(
                        "Attach the signed mandate before registering %s: the tiers-déclarant must keep it.",
                        mandate.display_name,
                    )
                )
            other = active.get((mandate.partner_id.id, mandate.company_id.id))
            if other and other != mandate:
                raise UserError(
                    self.env._(
                        "%(partner)s already has an active mandate: %(mandate)s.",
                        partner=mandate.partner_id.display_name,
                        mandate=other.display_name,
                    )
                )
            checked[mandate.id] = identifiers[mandate.id]()
        return checked

    def _urssaf_batch_prepare(self, step, identifier=None):
        """The registration's call (plain values only: it runs in a pool
        thread) and what records its answer (in the run's thread).

        Registering is idempotent at Urssaf, but an answer lost (a 5xx, a
        time-out) is settled by looking the account up first (Comptes names
        the mandate this platform holds): one registration each."""
        self.ensure_one()
        if identifier is None or self.state not in ("draft", "refused"):
            # Not checked yet, or changed since (read again once locked).
            identifier = self._urssaf_check_registrable()
        signature_date = self.signature_date
        # Where it goes (a refused mandate registered again may go elsewhere).
        self._urssaf_stamp_environment()

        def call(client):
            try:
                return client.register_mandate(identifier, signature_date)
            except (UrssafServerError, UrssafTransportError) as error:
                if isinstance(error, UrssafTransportError) and error.nothing_sent:
                    raise
                mandate = client.get_account(identifier).mandate
                if mandate is None or not mandate.is_active:
                    raise error from None
                return mandate

        return call, self._urssaf_register_record

    def _urssaf_register_record(self, result, error):
        """Keep Urssaf's answer to the registration: ``(outcome, message)``."""
        if error is not None:
            if self._urssaf_record_refusal(error):
                return "refused", self.refusal_reason
            raise urssaf_user_error(
                self.env, error, self.env._("Registering %s with Urssaf", self.display_name)
            ) from error
        message = self.env._(
            "Mandate registered with Urssaf under ID %(ref)s, effective %(date)s.",
            ref=result.mandate_id,
            date=format_date(self.env, result.effective_date or self.signature_date),
        )
        self._urssaf_batch_record_answer(
            {
                "state": "active",
                "urssaf_mandate_ref": result.mandate_id,
                "effective_date": result.effective_date or self.signature_date,
                "refusal_reason": False,
            },
            message,
            result,
        )
        return "done", message

    def _urssaf_record_refusal(self, error):
        """Urssaf refused the mandate itself: only the state and Urssaf's
        reason change, nothing else of the mandate."""
        if not _is_refusal(error):
            return False
        reason = urssaf_error_text(self.env, error)
        self._urssaf_record_answer(
            {"state": "refused", "refusal_reason": reason},
            self.env._("Urssaf refused the mandate: %s", reason),
            None,
        )
        return True

    def _urssaf_signed_document_name(self):
        self.ensure_one()
        return self.env._("Mandate %(partner)s %(date)s.pdf", partner=self.partner_id.name, date=self.signature_date)

    def _urssaf_portal_request_end(self, author):
        """The auto-entrepreneur (``author``, a partner) asks to end this
        active mandate from the portal: kept in the chatter, with a to-do for
        the responsible accountant, once. True when the request is new."""
        self.ensure_one()
        mandate = self.sudo()
        if mandate.state != "active" or mandate.end_requested_on:
            return False
        mandate.write({"end_requested_on": fields.Datetime.now()})
        mandate.message_post(
            body=self.env._("The auto-entrepreneur asks to end this mandate: end it at Urssaf."),
            author_id=author.id,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
        mandate._urssaf_portal_todo(self.env._("End the mandate at Urssaf: the auto-entrepreneur asked for it"))
        return True

    def action_end(self):
        """Notify Urssaf that the mandates end."""
        return self._urssaf_send_each(type(self)._urssaf_check_endable, type(self)._urssaf_end)

    def _urssaf_check_endable(self):
        self.ensure_one()
        if self.state != "active":
            raise UserError(self.env._("%s is not active: only an active mandate can be ended.", self.display_name))
        # Only the environment that holds the mandate can end it.
        self._urssaf_check_environment()

    def _urssaf_end(self):
        self.ensure_one()
        self._urssaf_check_endable()
        result = self._urssaf_call(
            self.env._("Ending %s", self.display_name), lambda client: client.end_mandate(self.urssaf_mandate_ref)
        )
        self._urssaf_record_answer(
            {"state": "ended", "end_date": fields.Date.context_today(self)},
            self.env._("Mandate ended at Urssaf."),
            result,
        )
        return True
