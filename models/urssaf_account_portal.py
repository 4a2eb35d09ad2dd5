# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Inviting the auto-entrepreneur to its own space in the portal."""

from odoo import Command, models
from odoo.exceptions import UserError

from .urssaf_common import check_declarant


class UrssafAccount(models.Model):
    _inherit = "urssaf.account"

    def action_urssaf_portal_invite(self):
        """Give the auto-entrepreneur a portal user (Odoo's portal wizard
        makes it, in the declaring company) and e-mail it what its space
        is for, with the link to choose its password. Nothing else changes
        for the contact."""
        check_declarant(self.env)
        for account in self:
            account._urssaf_portal_invite()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._(
                    "Invitation to the portal sent to %(partners)s.",
                    partners=", ".join(self.mapped("partner_id.display_name")),
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _urssaf_portal_invite(self):
        self.ensure_one()
        partner = self.partner_id
        company = self.company_id
        if not partner.email:
            raise UserError(
                self.env._(
                    "%(partner)s has no e-mail address: fill in the contact's “Email” to invite it to the portal.",
                    partner=partner.display_name,
                )
            )
        users = partner.sudo().with_context(active_test=False).user_ids
        if users.filtered(lambda user: not user.share):
            raise UserError(
                self.env._(
                    "%(partner)s is a user of this database: it reads its Urssaf records there, not in the portal.",
                    partner=partner.display_name,
                )
            )
        group_portal = self.env.ref("base.group_portal")
        group_public = self.env.ref("base.group_public")
        user = users[:1]
        if not user:
            wizard = (
                self.env["portal.wizard"]
                .sudo()
                .with_company(company)
                .create({"partner_ids": [Command.link(partner.id)]})
            )
            wizard_user = wizard.user_ids.filtered(lambda line: line.partner_id == partner)
            # Refuses an e-mail that is another user's login already.
            wizard_user._assert_user_email_uniqueness()
            user = wizard_user.with_company(company)._create_user()
        # The declaring company's records are read in its company: the user
        # belongs to each company that declares for it.
        user.sudo().write(
            {
                "active": True,
                "group_ids": [Command.link(group_portal.id), Command.unlink(group_public.id)],
                "company_ids": [Command.link(company.id)],
            }
        )
        partner.sudo().signup_prepare()
        template = self.env.ref("l10n_fr_urssaf_tierce_declaration.mail_template_urssaf_portal_invite")
        template.sudo().with_context(lang=partner.lang).send_mail(
            self.id, force_send=False, email_layout_xmlid="mail.mail_notification_light"
        )
