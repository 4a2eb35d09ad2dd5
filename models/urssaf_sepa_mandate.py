# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from stdnum import iban as stdnum_iban

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..urssaf_api.exceptions import (
    UrssafBusinessError,
    UrssafConflictError,
    UrssafError,
    UrssafNotFoundError,
    UrssafOutcomeUnknown,
)
from ..urssaf_api.masking import mask_iban
from .urssaf_common import (
    DECLARANT,
    PREPARER,
    check_declarant,
    correlation_note,
    field_label,
    urssaf_error_text,
    urssaf_user_error,
)
from .urssaf_portal_signed_mixin import SIGNATURE_FIELDS

# Urssaf's answers that refuse the SEPA mandate itself: it stays a draft.
SEPA_REFUSALS = (UrssafConflictError, UrssafBusinessError, UrssafNotFoundError)


def find_registered(client, identifier, iban, holder, signature_date, known_rums):
    """The SEPA mandate Urssaf holds for this account, IBAN, holder and
    signature date that this database does not know yet (its answer was
    lost), or None. Runs in a pool thread: plain values only."""
    for remote in client.list_sepa_mandates(identifier):
        if (
            remote.is_active
            and remote.rum not in known_rums
            and (remote.iban or "")[-4:].upper() == iban[-4:].upper()
            and (remote.holder is None or remote.holder == holder)
            and (remote.signature_date is None or remote.signature_date == signature_date)
        ):
            return remote
    return None


class UrssafSepaMandate(models.Model):
    """A SEPA direct-debit mandate Urssaf holds to collect the contributions."""

    _name = "urssaf.sepa.mandate"
    _description = "Urssaf SEPA mandate"
    _inherit = [
        "mail.thread",
        "mail.activity.mixin",
        "urssaf.environment.mixin",
        "urssaf.protected.mixin",
        "urssaf.batch.mixin",
        "urssaf.portal.signed.mixin",
    ]
    _order = "signature_date desc, id desc"
    _rec_name = "rum"
    _check_company_auto = True
    # Filled from Urssaf's answers only, and the portal's signature.
    _urssaf_protected_fields = frozenset({"state", "rum", "urssaf_environment"}) | SIGNATURE_FIELDS
    _urssaf_protected_defaults = {"state": "draft"}
    # A SEPA mandate signed in the portal: its parties, its account, its
    # date, its document.
    _urssaf_signed_frozen_fields = frozenset(
        {"partner_id", "company_id", "bank_account_id", "holder", "signature_date", "document", "document_name"}
    )
    _urssaf_signed_report = "l10n_fr_urssaf_tierce_declaration.action_report_urssaf_sepa_mandate_document"
    # Urssaf registers a second SEPA mandate when asked twice.
    _urssaf_batch_marked_steps = frozenset({"register"})

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
    bank_account_id = fields.Many2one(
        "res.partner.bank",
        string="Bank account",
        required=True,
        check_company=True,
        domain="[('partner_id', '=', partner_id)]",
        help="The auto-entrepreneur's account Urssaf debits.",
        # Its name is the IBAN in clear: not for the auto-entrepreneur's
        # portal user, who reads the masked IBAN.
        groups=PREPARER,
    )
    iban_masked = fields.Char(string="IBAN", compute="_compute_iban_masked", store=True)
    holder = fields.Char(string="Account holder", required=True)
    signature_date = fields.Date(required=True, default=fields.Date.context_today)
    # Declarants only, as the tierce-déclaration mandate's.
    document = fields.Binary(
        string="Signed SEPA mandate",
        attachment=True,
        copy=False,
        groups=DECLARANT,
        help="The SEPA mandate signed by the auto-entrepreneur in the portal.",
    )
    document_name = fields.Char(string="Signed SEPA mandate file name", copy=False)
    rum = fields.Char(string="Mandate reference (RUM)", readonly=True, copy=False, tracking=True)
    state = fields.Selection(
        [("draft", "Draft"), ("active", "Active"), ("revoked", "Revoked")],
        default="draft",
        required=True,
        readonly=True,
        tracking=True,
        copy=False,
    )

    _rum_unique = models.UniqueIndex(
        "(company_id, rum) WHERE rum IS NOT NULL", "This SEPA mandate reference already exists."
    )

    @api.depends("rum", "iban_masked")
    def _compute_display_name(self):
        for mandate in self:
            mandate.display_name = mandate.rum or self.env._(
                "SEPA mandate on %s", mandate.iban_masked or self.env._("(no bank account)")
            )

    @api.depends("bank_account_id.acc_number")
    def _compute_iban_masked(self):
        for mandate in self:
            number = mandate.bank_account_id.sanitized_acc_number
            mandate.iban_masked = mask_iban(number) if number else False

    @api.onchange("partner_id")
    def _onchange_partner_id(self):
        if self.partner_id and not self.holder:
            self.holder = self.partner_id.name
        if self.bank_account_id.partner_id != self.partner_id:
            self.bank_account_id = self.partner_id.bank_ids[:1]

    @api.constrains("bank_account_id", "partner_id")
    def _check_bank_account(self):
        for mandate in self:
            mandate._urssaf_check_bank_account()

    def _urssaf_check_bank_account(self):
        """A ValidationError naming the field when the account is not the
        partner's or not a valid IBAN (never shown in clear)."""
        self.ensure_one()
        account = self.bank_account_id
        label = field_label(self, "bank_account_id")
        if account.partner_id != self.partner_id:
            raise ValidationError(
                self.env._(
                    "%(field)s: it must belong to %(partner)s.", field=label, partner=self.partner_id.display_name
                )
            )
        if not stdnum_iban.is_valid(account.sanitized_acc_number or ""):
            raise ValidationError(
                self.env._(
                    "%(field)s: %(iban)s is not a valid IBAN (country, check digits and length).",
                    field=label,
                    iban=mask_iban(account.sanitized_acc_number or "") or self.env._("(empty)"),
                )
            )

    @api.ondelete(at_uninstall=False)
    def _unlink_only_draft(self):
        if any(mandate.state != "draft" for mandate in self):
            raise UserError(self.env._("Only draft SEPA mandates can be deleted; revoke a registered one instead."))

    def _urssaf_signed_document_name(self):
        self.ensure_one()
        return self.env._(
            "SEPA mandate %(partner)s %(date)s.pdf", partner=self.partner_id.name, date=self.signature_date
        )

    def _iban(self):
        return stdnum_iban.compact(self.bank_account_id.sanitized_acc_number or "")

    def action_register(self):
        """Register the SEPA mandates with Urssaf (Mandats SEPA): every one
        checked before the first call (a bad one sends nothing), then several
        calls in flight (the company's *Urssaf calls in parallel*), a summary
        at the end."""
        check_declarant(self.env)
        return self._urssaf_batch_send("register", self._urssaf_check_registrable_all())

    def _urssaf_batch_label(self, step):
        return self.env._("Register SEPA mandates")

    def _urssaf_batch_done_since(self, step, since):
        # Every one was checked registrable (a draft) before it was queued.
        return self.state == "active"

    def _urssaf_batch_pending(self, step):
        return self.state == "draft"

    def _urssaf_check_registrable(self):
        """The partner's identifier, or an error saying why nothing can be sent."""
        self.ensure_one()
        return self._urssaf_check_registrable_all()[self.id]

    def _urssaf_check_registrable_all(self):
        """``_urssaf_check_registrable`` of each, in their order, their
        accounts read in one search: ``{SEPA mandate id: identifier}``."""
        identifiers = self.env["urssaf.account"]._urssaf_identifiers_of(self)
        checked = {}
        for mandate in self:
            if mandate.state != "draft":
                raise UserError(self.env._("SEPA mandate %s is already registered with Urssaf.", mandate.display_name))
            # The account may have changed since the mandate was saved.
            mandate._urssaf_check_bank_account()
            checked[mandate.id] = identifiers[mandate.id]()
        return checked

    def _urssaf_known_rums(self):
        """The RUMs of this auto-entrepreneur's SEPA mandates this database
        holds (in a run, read once for all of its records)."""
        key = (self.partner_id.id, self.company_id.id)
        run = self.env.context.get("urssaf_batch")
        if run is None:
            partners, companies = self.partner_id, self.company_id
        elif "rums" in run.memo:
            return frozenset(run.memo["rums"].get(key, ()))
        else:
            partners, companies = run.records.partner_id, run.records.company_id
        rums = {}
        for mandate in self.sudo().search(
            [("partner_id", "in", partners.ids), ("company_id", "in", companies.ids), ("rum", "!=", False)]
        ):
            rums.setdefault((mandate.partner_id.id, mandate.company_id.id), set()).add(mandate.rum)
        if run is not None:
            run.memo["rums"] = rums
        return frozenset(rums.get(key, ()))

    def _urssaf_batch_prepare(self, step, identifier=None):
        """The registration's call (plain values only: it runs in a pool
        thread) and what records its answer (in the run's thread).

        Registering a SEPA mandate is never sent twice: when its answer was
        lost (a 5xx, a time-out), or when this draft was sent before (its
        environment is stamped, or its sending was marked: the mark is
        committed before the request leaves, so it outlives a worker killed
        before the run's commit), Urssaf's SEPA mandates of the account are
        looked up first, and the one of this IBAN, holder and signature date
        that no mandate of this database holds is taken as this one's."""
        self.ensure_one()
        if identifier is None or self.state != "draft":
            # Not checked yet, or changed since (read again once locked).
            identifier = self._urssaf_check_registrable()
        # Both read before either is written: the stamp for what this
        # transaction's predecessors committed, the mark for a sending
        # whose transaction died.
        stamped = bool(self.urssaf_environment)
        sent_before = self._urssaf_batch_sent_before(step) or stamped
        self._urssaf_stamp_environment()
        iban, holder, signature_date = self._iban(), self.holder, self.signature_date
        bic = self.bank_account_id.bank_bic or None
        known_rums = self._urssaf_known_rums()

        def call(client):
            if sent_before:
                found = find_registered(client, identifier, iban, holder, signature_date, known_rums)
                if found is not None:
                    return found
            try:
                return client.register_sepa_mandate(identifier, iban, holder, signature_date, bic=bic)
            except UrssafOutcomeUnknown as error:
                try:
                    found = find_registered(client, identifier, iban, holder, signature_date, known_rums)
                except UrssafError:
                    # Still unknown: the next sending looks it up first.
                    found = None
                if found is None:
                    raise error from None
                return found

        return call, self._urssaf_register_record

    def _urssaf_register_record(self, result, error):
        """Keep Urssaf's answer to the registration: ``(outcome, message)``."""
        if isinstance(error, SEPA_REFUSALS):
            message = self.env._(
                "Urssaf refused the SEPA mandate on %(iban)s: %(reason)s",
                iban=self.iban_masked,
                reason=urssaf_error_text(self.env, error),
            )
            self._urssaf_batch_log(message + correlation_note(self.env, error))
            return "refused", message
        if error is not None:
            raise urssaf_user_error(
                self.env, error, self.env._("Registering the SEPA mandate on %s", self.iban_masked)
            ) from error
        message = self.env._(
            "SEPA mandate registered with Urssaf on %(iban)s, reference %(rum)s.",
            iban=self.iban_masked,
            rum=result.rum,
        )
        self._urssaf_batch_record_answer({"state": "active", "rum": result.rum}, message, result)
        run = self.env.context.get("urssaf_batch")
        if run is not None and "rums" in run.memo:
            # Held now: never taken for another draft of the run.
            run.memo["rums"].setdefault((self.partner_id.id, self.company_id.id), set()).add(result.rum)
        return "done", message

    def action_revoke(self):
        """Revoke the SEPA mandates at Urssaf."""
        return self._urssaf_send_each(type(self)._urssaf_check_revocable, type(self)._urssaf_revoke)

    def _urssaf_check_revocable(self):
        self.ensure_one()
        if self.state != "active":
            raise UserError(
                self.env._(
                    "SEPA mandate %s is not active: only an active SEPA mandate can be revoked.",
                    self.display_name,
                )
            )
        # Only the environment that holds the mandate can revoke it.
        self._urssaf_check_environment()

    def _urssaf_revoke(self):
        self.ensure_one()
        self._urssaf_check_revocable()
        result = self._urssaf_call(
            self.env._("Revoking SEPA mandate %s", self.rum), lambda client: client.revoke_sepa_mandate(self.rum)
        )
        self._urssaf_record_answer({"state": "revoked"}, self.env._("SEPA mandate revoked at Urssaf."), result)
        return True

    @api.model
    def _urssaf_matching_account(self, partner, masked_iban):
        """The partner's bank account an IBAN masked by Urssaf stands for.

        Urssaf shows the last four characters only: they decide, among the
        partner's valid IBANs; one of the same length is preferred.
        """
        last4 = (masked_iban or "")[-4:].upper()
        if len(last4) < 4:
            return self.env["res.partner.bank"]
        candidates = partner.bank_ids.filtered(
            lambda account: (
                stdnum_iban.is_valid(account.sanitized_acc_number or "")
                and account.sanitized_acc_number[-4:].upper() == last4
            )
        )
        same_length = candidates.filtered(lambda account: len(account.sanitized_acc_number) == len(masked_iban))
        return (same_length or candidates)[:1]

    @api.model
    def _sync_from_urssaf(self, partner):
        """Align this database with the SEPA mandates Urssaf knows for ``partner``.

        Adds the mandates Urssaf knows and this database lacks, matching
        Urssaf's masked IBANs to the partner's bank accounts by their last four
        characters, and marks revoked the local active mandates Urssaf no longer
        holds.
        """
        company = partner._urssaf_company()
        identifier = partner._urssaf_identifier(company)
        try:
            remote = company._urssaf_client().list_sepa_mandates(identifier)
        except UrssafError as error:
            raise urssaf_user_error(
                self.env, error, self.env._("Reading the SEPA mandates of %s", partner.display_name)
            ) from error
        # Only the mandates of the environment asked: those registered in
        # another one are unknown here, not revoked.
        local = self.search(
            [
                ("partner_id", "=", partner.id),
                ("company_id", "=", company.id),
                ("urssaf_environment", "in", (False, company.sudo().urssaf_environment)),
            ]
        )
        by_rum = {mandate.rum: mandate for mandate in local if mandate.rum}
        active_rums = {m.rum for m in remote if m.is_active}
        added, revoked, unmatched = self.browse(), self.browse(), []
        for remote_mandate in remote:
            if remote_mandate.rum in by_rum:
                continue
            bank_account = self._urssaf_matching_account(partner, remote_mandate.iban)
            if not bank_account:
                # A revoked mandate on an account the partner no longer has
                # is history: only the active ones need the account.
                if remote_mandate.is_active:
                    unmatched.append(remote_mandate)
                continue
            added |= self.create(
                {
                    "partner_id": partner.id,
                    "company_id": company.id,
                    "bank_account_id": bank_account.id,
                    "holder": remote_mandate.holder or partner.name,
                    "signature_date": remote_mandate.signature_date or fields.Date.context_today(self),
                }
            )
            added[-1:]._urssaf_write(
                {"rum": remote_mandate.rum, "state": "active" if remote_mandate.is_active else "revoked"}
            )
            added[-1:]._urssaf_stamp_environment()
        for mandate in local.filtered(lambda m: m.state == "active" and m.rum not in active_rums):
            mandate._urssaf_write({"state": "revoked"})
            mandate.message_post(
                body=self.env._(
                    "Marked revoked: Urssaf no longer holds this SEPA mandate.%s", correlation_note(self.env, remote)
                )
            )
            revoked |= mandate
        for mandate in added:
            mandate.message_post(
                body=self.env._("Added from Urssaf's SEPA mandates.%s", correlation_note(self.env, remote))
            )
        summary = self.env._(
            "SEPA mandates synchronised from Urssaf: %(added)s added, %(revoked)s marked revoked.",
            added=len(added),
            revoked=len(revoked),
        )
        if unmatched:
            summary += " " + self.env._(
                "No bank account of the partner ends like %(ibans)s: add it, then synchronise again.",
                ibans=", ".join(mask_iban(m.iban) for m in unmatched),
            )
        # In the chatter of this company's account of the partner: who else
        # declares for it is none of another company's business.
        partner._urssaf_account(company).sudo()._message_log(body=summary + correlation_note(self.env, remote))
        return {"added": added, "revoked": revoked, "unmatched": unmatched}
