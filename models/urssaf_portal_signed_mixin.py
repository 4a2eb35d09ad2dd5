# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools.misc import format_datetime

from ..urssaf_api.exceptions import UrssafError
from .urssaf_common import field_label, first_in_order

_logger = logging.getLogger(__name__)

# The fields of the signature itself: only the portal's signing step writes
# them (as the superuser, once), never a client.
SIGNATURE_FIELDS = frozenset({"signature", "signed_by", "signed_on", "signed_ip"})
# Passed in the context by the signing step while it keeps the signed PDF
# of the mandate it has just created. An object, not a flag: a context sent
# over RPC cannot hold it.
KEEPING_SIGNED_DOCUMENT = object()
SIGNED_DOCUMENT_FIELDS = frozenset({"document", "document_name"})


class UrssafPortalSignedMixin(models.AbstractModel):
    """A mandate the auto-entrepreneur signs in the portal.

    The signature (image, signer's name, date and time, IP address) and the
    signed PDF are the evidence the tiers-déclarant must keep (CSS
    R.133-43): once signed, they and the mandate's parties and dates are
    frozen for everyone, the superuser included (``write`` and ``unlink``
    refuse), and no client sets a signature at all (the fields are in the
    model's ``_urssaf_protected_fields``, ``default_*`` keys included).
    """

    _name = "urssaf.portal.signed.mixin"
    _description = "Urssaf mandate signed in the portal"

    # The report (XML id) printing the signed document.
    _urssaf_signed_report = None
    # What the signature freezes besides itself: the parties, the dates,
    # the document.
    _urssaf_signed_frozen_fields = frozenset()

    signature = fields.Image(
        copy=False,
        attachment=True,
        max_width=1024,
        max_height=1024,
        help="Drawn or typed by the auto-entrepreneur in the portal.",
    )
    signed_by = fields.Char(string="Signed by", copy=False)
    signed_on = fields.Datetime(string="Signed on", copy=False)
    signed_ip = fields.Char(string="Signed from (IP address)", copy=False)

    def write(self, vals):
        frozen = set(vals) & (self._urssaf_signed_frozen_fields | SIGNATURE_FIELDS)
        if self.env.context.get("urssaf_keeping_signed_document") is KEEPING_SIGNED_DOCUMENT:
            frozen -= SIGNED_DOCUMENT_FIELDS
        if frozen:
            signed = self.filtered("signed_on")
            if signed:
                # Also as the superuser: nothing of the addon rewrites a
                # signed document, and an RPC call never is the superuser.
                self._urssaf_refuse_signed(signed[0], frozen)
        return super().write(vals)

    def _urssaf_refuse_signed(self, record, fnames):
        fname = first_in_order(self, fnames)
        raise UserError(
            self.env._(
                "%(record)s was signed by the auto-entrepreneur on %(date)s: the field “%(field)s” of a signed "
                "mandate cannot be changed.",
                record=record.display_name,
                date=format_datetime(self.env, record.signed_on),
                field=field_label(self, fname),
            )
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_signed(self):
        signed = self.filtered("signed_on")
        if signed:
            raise UserError(
                self.env._(
                    "%(record)s was signed by the auto-entrepreneur: a signed mandate is evidence the "
                    "tiers-déclarant keeps, it cannot be deleted.",
                    record=signed[0].display_name,
                )
            )

    # ------------------------------------------------------------------
    # The portal's steps (as the superuser: a portal user reads none of it)
    # ------------------------------------------------------------------

    @api.model
    def _urssaf_portal_create_signed(self, vals, name, signature, ip_address):
        """Create the mandate signed in the portal, print its signed PDF
        into ``document`` and say so in the chatter. ``signature`` is the
        image in base64; raises a UserError when it is missing."""
        if not signature or not (name or "").strip():
            raise UserError(self.env._("Sign with your name and your signature."))
        try:
            base64.b64decode(signature, validate=True)
        except (TypeError, ValueError) as error:
            raise UserError(self.env._("The signature could not be read: sign again.")) from error
        record = self.sudo().create(
            {
                **vals,
                "signature": signature,
                "signed_by": name.strip(),
                "signed_on": fields.Datetime.now(),
                "signed_ip": ip_address,
            }
        )
        # The PDF is printed from the record as stored (its signature
        # included), then kept: written before the signature freezes it.
        record.env.flush_all()
        pdf, _kind = self.env["ir.actions.report"].sudo()._render_qweb_pdf(self._urssaf_signed_report, record.ids)
        record.with_context(urssaf_keeping_signed_document=KEEPING_SIGNED_DOCUMENT).write(
            {"document": base64.b64encode(pdf), "document_name": record._urssaf_signed_document_name()}
        )
        record._message_log(
            body=self.env._(
                "Signed in the portal by %(name)s on %(date)s (IP address %(ip)s); the signed document is kept "
                "on the mandate.",
                name=record.signed_by,
                date=format_datetime(self.env, record.signed_on),
                ip=ip_address or "-",
            )
        )
        return record

    def _urssaf_signed_document_name(self):
        raise NotImplementedError

    def _urssaf_register(self):
        """Register this one mandate (tierce-déclaration or SEPA) with
        Urssaf, its call made in this thread: whether Urssaf registered it."""
        return self._urssaf_batch_one("register")[0] == "done"

    def _urssaf_portal_after_signature(self):
        """Register the signed mandate at once when its company turned on
        automatic registration; otherwise (or when Urssaf did not register
        it), a to-do for the company's responsible accountant. Nothing of
        it reaches the auto-entrepreneur as an error: the failure is kept
        in the chatter."""
        self.ensure_one()
        record = self.sudo()
        if record.company_id.urssaf_auto_register_mandates:
            try:
                if record._urssaf_register():
                    return True
            except (UserError, ValidationError, UrssafError) as error:
                message = error.args[0] if error.args else str(error)
                record._message_log(body=self.env._("Automatic registration with Urssaf failed: %s", message))
                _logger.info("Automatic registration of %s failed", record)
        record._urssaf_portal_todo(self.env._("Register the mandate signed in the portal with Urssaf"))
        return False

    def _urssaf_portal_todo(self, summary, note=None):
        """A to-do on this mandate for its company's responsible accountant
        (never OdooBot); none when the company names nobody."""
        self.ensure_one()
        user = self.company_id.sudo().urssaf_responsible_user_id
        if not user or user._is_superuser() or not user.active:
            return self.env["mail.activity"]
        return self.sudo().activity_schedule(
            "mail.mail_activity_data_todo", summary=summary, note=note, user_id=user.id
        )
