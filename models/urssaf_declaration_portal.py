# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the auto-entrepreneur hears of its declarations: the e-mails of its
portal space (declared, payment ordered, late for want of a mandate), and
the fields a portal user must not read over RPC."""

import logging

from odoo import fields, models

from .urssaf_common import PREPARER
from .urssaf_declaration import UNSETTLED_STATES
from .urssaf_declaration_register import UrssafDeclaration as UrssafDeclarationRegister

_logger = logging.getLogger(__name__)

# The event an e-mail tells, its template and the flag that says it was sent.
PORTAL_MAILS = {
    "declared": ("mail_template_urssaf_portal_declared", "portal_declared_notified"),
    "payment": ("mail_template_urssaf_portal_payment", "portal_payment_notified"),
    "late_no_mandate": ("mail_template_urssaf_portal_late_no_mandate", "portal_late_notified"),
}
PORTAL_MAIL_FLAGS = frozenset(flag for _template, flag in PORTAL_MAILS.values())


class UrssafDeclaration(models.Model):
    _inherit = "urssaf.declaration"
    # Which e-mails went: written by the addon only, so that none goes twice.
    _urssaf_protected_fields = UrssafDeclarationRegister._urssaf_protected_fields | PORTAL_MAIL_FLAGS

    portal_declared_notified = fields.Boolean(
        string="Declaration e-mailed to the auto-entrepreneur", readonly=True, copy=False, groups=PREPARER
    )
    portal_payment_notified = fields.Boolean(
        string="Payment e-mailed to the auto-entrepreneur", readonly=True, copy=False, groups=PREPARER
    )
    portal_late_notified = fields.Boolean(
        string="Lateness e-mailed to the auto-entrepreneur", readonly=True, copy=False, groups=PREPARER
    )
    # The firm's own working fields: not for the auto-entrepreneur's portal
    # user, who reads its declarations over RPC too.
    error_message = fields.Text(groups=PREPARER)
    estimate_snapshot = fields.Char(groups=PREPARER)
    estimated_total = fields.Monetary(groups=PREPARER)

    # ------------------------------------------------------------------
    # The steps that tell the auto-entrepreneur
    # ------------------------------------------------------------------

    def _record_declaration(self, declaration, how):
        result = super()._record_declaration(declaration, how)
        self._urssaf_portal_mail("declared")
        return result

    def _record_payment(self, payment, declaration, mandate, how, reference=None, confirmed=None):
        result = super()._record_payment(payment, declaration, mandate, how, reference=reference, confirmed=confirmed)
        if self.state in ("ordered", "paid"):
            self._urssaf_portal_mail("payment")
        return result

    def _cron_urssaf_declarations(self):
        result = super()._cron_urssaf_declarations()
        self._urssaf_portal_notify_late(fields.Date.context_today(self))
        return result

    def _urssaf_portal_late_domain(self, today):
        return [
            ("state", "in", UNSETTLED_STATES),
            ("urssaf_number", "=", False),
            ("due_date", "<", today),
            ("portal_late_notified", "=", False),
            ("partner_id.email", "!=", False),
        ]

    def _urssaf_portal_notify_late(self, today):
        """E-mail each auto-entrepreneur whose period is late because the
        declaring company holds no active mandate from it: only it can
        mend that (sign the mandate). Once per declaration."""
        late = self.sudo().search(self._urssaf_portal_late_domain(today))
        told = self.browse()
        for declaration in late.filtered(lambda d: not d._active_mandate()):
            declaration._urssaf_portal_mail("late_no_mandate")
            told |= declaration.filtered("portal_late_notified")
        # The auto-entrepreneurs that never gave a mandate have no
        # declaration at all: the preparation skips them. One e-mail a day
        # at most: the ones just told hear of their latest period tomorrow.
        self.env["urssaf.account"]._urssaf_portal_notify_late(today, told=told)

    # ------------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------------

    def _urssaf_portal_url(self, event):
        """The page of the portal the e-mail links to."""
        base = self.get_base_url()
        if event == "late_no_mandate":
            return f"{base}/my/urssaf/mandates"
        return f"{base}/my/urssaf/declarations/{self.id}"

    def _urssaf_portal_mail(self, event):
        """E-mail the auto-entrepreneur (the contact, no internal user) what
        ``event`` says of each declaration, once, when it has an e-mail.

        The mail goes out of the mail queue, to the contact only: nothing is
        posted in the chatter, so no follower of the firm is notified and no
        internal note travels with it. It is written in the transaction of
        the step: a step rolled back sends nothing.
        """
        template_xmlid, flag = PORTAL_MAILS[event]
        template = self.env.ref(f"l10n_fr_urssaf_tierce_declaration.{template_xmlid}", raise_if_not_found=False)
        if not template:
            return
        for declaration in self.sudo():
            if declaration[flag] or not declaration.partner_id.email:
                continue
            try:
                # An e-mail that cannot be made (a template edited wrong)
                # never undoes the step that Urssaf has recorded.
                with self.env.cr.savepoint():
                    template.sudo().with_context(urssaf_portal_url=declaration._urssaf_portal_url(event)).send_mail(
                        declaration.id,
                        email_layout_xmlid="mail.mail_notification_light",
                    )
                    declaration.write({flag: True})
            except Exception as error:  # noqa: BLE001 (any error of a template, logged)
                _logger.warning(
                    "Urssaf: the %s e-mail of declaration %s was not sent: %s",
                    event,
                    declaration.id,
                    type(error).__name__,
                )
