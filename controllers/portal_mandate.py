# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The auto-entrepreneur signs its mandates in the portal (issue 28).

The portal user stands for the auto-entrepreneur whose contact is its
commercial partner; each declaring company's ``urssaf.account`` of that
contact is a page of its own (``/my/urssaf/mandate/<account id>``). An
account of another contact answers 404, like one that does not exist.

Read the way Sales signs its quotations (``sale``'s ``portal_order_accept``):
the page shows the document and ``portal.signature_form``, which posts the
name and the signature (JSON-RPC) to an ``.../accept`` route; the other
posts are forms carrying the CSRF token.
"""

from stdnum import iban as stdnum_iban

from odoo import fields, http
from odoo.exceptions import UserError, ValidationError
from odoo.http import request
from odoo.tools import SQL

from odoo.addons.portal.controllers.portal import CustomerPortal

from ..urssaf_api.masking import mask_iban

BASE = "/my/urssaf/mandate"
# The SEPA details entered, kept on the server (the session) between the
# form and the signature: never in an address, which servers log.
PENDING_SEPA = "urssaf_pending_sepa"


class UrssafMandatePortal(CustomerPortal):
    # ------------------------------------------------------------------
    # Whose pages
    # ------------------------------------------------------------------

    def _urssaf_principal(self):
        """The auto-entrepreneur the portal user stands for."""
        return request.env.user.partner_id.commercial_partner_id

    def _urssaf_accounts(self):
        return (
            request.env["urssaf.account"]
            .sudo()
            .search([("partner_id", "=", self._urssaf_principal().id), ("is_auto_entrepreneur", "=", True)])
        )

    def _urssaf_account_or_404(self, account_id):
        """The account ``account_id`` (as the superuser) when it is the
        portal user's own; a 404 otherwise, whether it exists or not."""
        account = request.env["urssaf.account"].sudo().browse(account_id).exists()
        if not account or not account.is_auto_entrepreneur or account.partner_id != self._urssaf_principal():
            raise request.not_found()
        return account

    def _urssaf_lock(self, account):
        """Serialise the signatures of one account: a second request signing
        at the same time fails to update this row and is retried by Odoo
        once the first one committed, then finds its mandate (one mandate
        for one signature)."""
        request.env.cr.execute(SQL("UPDATE urssaf_account SET write_date = write_date WHERE id = %s", account.id))

    def _urssaf_mandates(self, account):
        return (
            request.env["urssaf.mandate"]
            .sudo()
            .search([("partner_id", "=", account.partner_id.id), ("company_id", "=", account.company_id.id)])
        )

    def _urssaf_sepa_mandates(self, account):
        return (
            request.env["urssaf.sepa.mandate"]
            .sudo()
            .search([("partner_id", "=", account.partner_id.id), ("company_id", "=", account.company_id.id)])
        )

    def _urssaf_pending_mandate(self, account):
        """The mandate that makes a new signature pointless: one waiting
        for registration or active."""
        return self._urssaf_mandates(account).filtered(lambda m: m.state in ("draft", "active"))[:1]

    def _urssaf_signing_values(self, account, **values):
        user_env = request.env
        return {
            **self._prepare_portal_layout_values(),
            "page_name": "urssaf_mandate",
            "account": account,
            "company": account.company_id,
            "partner": account.partner_id,
            "base_url": f"{BASE}/{account.id}",
            "today": fields.Date.context_today(user_env.user),
            "mandate_states": dict(user_env["urssaf.mandate"]._fields["state"]._description_selection(user_env)),
            "sepa_states": dict(user_env["urssaf.sepa.mandate"]._fields["state"]._description_selection(user_env)),
            **values,
        }

    # ------------------------------------------------------------------
    # Pages
    # ------------------------------------------------------------------

    @http.route([BASE], type="http", auth="user", website=True, readonly=True)
    def urssaf_mandate_accounts(self, **kwargs):
        """The declaring companies of the auto-entrepreneur: one goes
        straight to its page, several are listed to pick from."""
        accounts = self._urssaf_accounts()
        if not accounts:
            raise request.not_found()
        if len(accounts) == 1:
            return request.redirect(f"{BASE}/{accounts.id}")
        values = {**self._prepare_portal_layout_values(), "page_name": "urssaf_mandate", "accounts": accounts}
        return request.render("l10n_fr_urssaf_tierce_declaration.portal_urssaf_mandate_accounts", values)

    @http.route([f"{BASE}/<int:account_id>"], type="http", auth="user", website=True, readonly=True)
    def urssaf_mandate_page(self, account_id, message=None, **kwargs):
        account = self._urssaf_account_or_404(account_id)
        mandates = self._urssaf_mandates(account)
        values = self._urssaf_signing_values(
            account,
            mandate=mandates[:1],
            can_sign=not self._urssaf_pending_mandate(account),
            sepa_mandates=self._urssaf_sepa_mandates(account),
            message=message,
        )
        return request.render("l10n_fr_urssaf_tierce_declaration.portal_urssaf_mandate_page", values)

    # ------------------------------------------------------------------
    # The tierce-déclaration mandate
    # ------------------------------------------------------------------

    @http.route([f"{BASE}/<int:account_id>/sign"], type="http", auth="user", website=True, readonly=True)
    def urssaf_mandate_sign(self, account_id, **kwargs):
        account = self._urssaf_account_or_404(account_id)
        if self._urssaf_pending_mandate(account):
            return request.redirect(f"{BASE}/{account.id}")
        values = self._urssaf_signing_values(account)
        return request.render("l10n_fr_urssaf_tierce_declaration.portal_urssaf_mandate_sign", values)

    @http.route([f"{BASE}/<int:account_id>/sign/accept"], type="jsonrpc", auth="user", website=True, methods=["POST"])
    def urssaf_mandate_accept(self, account_id, name=None, signature=None, **kwargs):
        account = self._urssaf_account_or_404(account_id)
        self._urssaf_lock(account)
        if self._urssaf_pending_mandate(account):
            return {"error": request.env._("This mandate is already signed.")}
        today = fields.Date.context_today(request.env.user)
        try:
            mandate = request.env["urssaf.mandate"]._urssaf_portal_create_signed(
                {"partner_id": account.partner_id.id, "company_id": account.company_id.id, "signature_date": today},
                name,
                signature,
                request.httprequest.remote_addr,
            )
        except (UserError, ValidationError) as error:
            request.env.cr.rollback()
            return {"error": error.args[0]}
        self._urssaf_after_signature(mandate)
        return {"force_refresh": True, "redirect_url": f"{BASE}/{account.id}?message=signed"}

    def _urssaf_after_signature(self, mandate):
        """Keep the signed mandate whatever happens next, then register it
        (or ask a declarant to)."""
        if mandate.company_id.sudo().urssaf_auto_register_mandates:
            # The call to Urssaf may take long or fail: the signature is
            # kept first.
            request.env.cr.commit()
        mandate._urssaf_portal_after_signature()

    @http.route([f"{BASE}/<int:account_id>/end"], type="http", auth="user", website=True, methods=["POST"])
    def urssaf_mandate_request_end(self, account_id, **kwargs):
        """The auto-entrepreneur asks to end its active mandate: a form
        post, its CSRF token checked by Odoo."""
        account = self._urssaf_account_or_404(account_id)
        mandate = self._urssaf_mandates(account).filtered(lambda m: m.state == "active")[:1]
        if not mandate:
            raise request.not_found()
        mandate._urssaf_portal_request_end(request.env.user.partner_id)
        return request.redirect(f"{BASE}/{account.id}?message=end_requested")

    # ------------------------------------------------------------------
    # The SEPA mandate
    # ------------------------------------------------------------------

    @http.route([f"{BASE}/<int:account_id>/sepa"], type="http", auth="user", website=True, methods=["GET"])
    def urssaf_sepa_form(self, account_id, **kwargs):
        account = self._urssaf_account_or_404(account_id)
        values = self._urssaf_signing_values(account, holder=account.partner_id.name, error=None)
        return request.render("l10n_fr_urssaf_tierce_declaration.portal_urssaf_sepa_form", values)

    @http.route(
        [f"{BASE}/<int:account_id>/sepa"], type="http", auth="user", website=True, methods=["POST"], readonly=False
    )
    def urssaf_sepa_form_post(self, account_id, iban=None, holder=None, **kwargs):
        """Check the IBAN and the holder, keep them for the signature (never
        echoed back: the page shows the IBAN masked)."""
        account = self._urssaf_account_or_404(account_id)
        compact = stdnum_iban.compact(iban or "")
        holder = (holder or "").strip()
        error = None
        if not stdnum_iban.is_valid(compact):
            error = request.env._("IBAN: this is not a valid IBAN (country, check digits and length).")
        elif not holder:
            error = request.env._("Account holder: enter the name of the account's holder.")
        if error:
            values = self._urssaf_signing_values(account, holder=holder or account.partner_id.name, error=error)
            return request.render("l10n_fr_urssaf_tierce_declaration.portal_urssaf_sepa_form", values, status=400)
        request.session[PENDING_SEPA] = {"account_id": account.id, "iban": compact, "holder": holder}
        return request.redirect(f"{BASE}/{account.id}/sepa/sign")

    def _urssaf_pending_sepa(self, account):
        pending = request.session.get(PENDING_SEPA)
        if not pending or pending.get("account_id") != account.id:
            return None
        return pending

    @http.route([f"{BASE}/<int:account_id>/sepa/sign"], type="http", auth="user", website=True, readonly=True)
    def urssaf_sepa_sign(self, account_id, **kwargs):
        account = self._urssaf_account_or_404(account_id)
        pending = self._urssaf_pending_sepa(account)
        if not pending:
            return request.redirect(f"{BASE}/{account.id}/sepa")
        values = self._urssaf_signing_values(account, holder=pending["holder"], iban_masked=mask_iban(pending["iban"]))
        return request.render("l10n_fr_urssaf_tierce_declaration.portal_urssaf_sepa_sign", values)

    @http.route([f"{BASE}/<int:account_id>/sepa/accept"], type="jsonrpc", auth="user", website=True, methods=["POST"])
    def urssaf_sepa_accept(self, account_id, name=None, signature=None, **kwargs):
        account = self._urssaf_account_or_404(account_id)
        self._urssaf_lock(account)
        pending = self._urssaf_pending_sepa(account)
        if not pending:
            return {"error": request.env._("Nothing to sign: enter the bank account again.")}
        partner = account.partner_id
        already = self._urssaf_sepa_mandates(account).filtered(
            lambda m: m.state in ("draft", "active") and m._iban() == pending["iban"]
        )
        if already:
            request.session.pop(PENDING_SEPA, None)
            return {"error": request.env._("A SEPA mandate on this bank account is already signed.")}
        today = fields.Date.context_today(request.env.user)
        try:
            bank_account = self._urssaf_bank_account(partner, pending["iban"])
            mandate = request.env["urssaf.sepa.mandate"]._urssaf_portal_create_signed(
                {
                    "partner_id": partner.id,
                    "company_id": account.company_id.id,
                    "bank_account_id": bank_account.id,
                    "holder": pending["holder"],
                    "signature_date": today,
                },
                name,
                signature,
                request.httprequest.remote_addr,
            )
        except (UserError, ValidationError) as error:
            request.env.cr.rollback()
            return {"error": error.args[0]}
        request.session.pop(PENDING_SEPA, None)
        self._urssaf_after_signature(mandate)
        return {"force_refresh": True, "redirect_url": f"{BASE}/{account.id}?message=sepa_signed"}

    def _urssaf_bank_account(self, partner, iban):
        """The contact's bank account of this IBAN, created when it has none."""
        Bank = request.env["res.partner.bank"].sudo().with_context(active_test=False)
        existing = Bank.search([("partner_id", "=", partner.id)]).filtered(
            lambda bank: stdnum_iban.compact(bank.sanitized_acc_number or "") == iban
        )[:1]
        if existing:
            if not existing.active:
                existing.active = True
            return existing
        return Bank.create({"partner_id": partner.id, "acc_number": iban})
