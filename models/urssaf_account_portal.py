# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Inviting the auto-entrepreneur to its own space in the portal, and
e-mailing it when a period is late because it never gave its mandate."""

import logging

from odoo import Command, fields, models
from odoo.exceptions import UserError

from .urssaf_common import PREPARER, check_declarant

_logger = logging.getLogger(__name__)


class UrssafAccount(models.Model):
    _inherit = "urssaf.account"

    portal_late_period_end = fields.Date(
        string="Lateness e-mailed up to",
        readonly=True,
        copy=False,
        groups=PREPARER,
        help="The end of the last period the auto-entrepreneur was e-mailed about as late for want of a mandate.",
    )

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

    # ------------------------------------------------------------------
    # Late for want of a mandate
    # ------------------------------------------------------------------

    def _urssaf_portal_notify_late(self, today, told=None):
        """E-mail each auto-entrepreneur whose latest overdue period has no
        declaration because the declaring company holds no active mandate
        from it (the preparation skips it): only it can mend that, by
        signing the mandate. Once per account and period.

        :param told: declarations whose lateness was e-mailed in this run:
            their auto-entrepreneurs are not e-mailed twice the same day.
        """
        told_keys = {(declaration.partner_id.id, declaration.company_id.id) for declaration in (told or [])}
        preparation = self.env["urssaf.declaration.preparation"].sudo()
        companies = self.sudo()._read_group([("is_auto_entrepreneur", "=", True)], ["company_id"])
        for (company,) in companies:
            late = preparation.with_company(company)._late_for_want_of_mandate(company, today)
            accounts = self.sudo().search(
                [("company_id", "=", company.id), ("partner_id", "in", [partner.id for partner, *_rest in late])]
            )
            account_of = {account.partner_id.id: account for account in accounts}
            for partner, start, end, due in late:
                account = account_of[partner.id]
                if (partner.id, company.id) in told_keys:
                    continue
                if account.portal_late_period_end and account.portal_late_period_end >= end:
                    continue
                account._urssaf_portal_mail_late(start, end, due)

    def _urssaf_portal_mail_late(self, start, end, due):
        """E-mail the contact (only it: nothing is posted in the chatter, so
        no follower is notified) that the period ``start``..``end``, due on
        ``due``, is late for want of a mandate, with the link to sign it."""
        self.ensure_one()
        account = self.sudo()
        if not account.partner_id.email:
            return
        template = self.env.ref(
            "l10n_fr_urssaf_tierce_declaration.mail_template_urssaf_portal_late_account", raise_if_not_found=False
        )
        if not template:
            return
        try:
            # An e-mail that cannot be made (a template edited wrong) never
            # stops the daily run.
            with self.env.cr.savepoint():
                template.sudo().with_context(
                    urssaf_portal_url=f"{account.get_base_url()}/my/urssaf/mandate",
                    urssaf_period_start=start,
                    urssaf_period_end=end,
                    urssaf_due_date=due,
                ).send_mail(account.id, email_layout_xmlid="mail.mail_notification_light")
                account._urssaf_write({"portal_late_period_end": end})
        except Exception as error:  # noqa: BLE001 (any error of a template, logged)
            _logger.warning(
                "Urssaf: the late_no_mandate e-mail of Urssaf account %s was not sent: %s",
                account.id,
                type(error).__name__,
            )
