# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The e-mail to an auto-entrepreneur that never gave its mandate: the
preparation skips it, so no declaration exists, yet its period is late."""

from datetime import date

from odoo.tests import freeze_time, tagged
from odoo.tools import html2plaintext

from . import rpc_trust
from .common import FROZEN_NOW
from .rpc_trust import Attempt
from .test_declaration_trust import _make_auto_entrepreneur
from .test_robustness import _no_commit

SUBJECT = "sign your mandate"


def _account(env, partner):
    return env["urssaf.account"].search([("partner_id", "=", partner.id), ("company_id", "=", env.company.id)])


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestPortalLateMail(rpc_trust.RpcTrustCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        # Monthly, never gave its mandate: the one to tell.
        cls.trader = _make_auto_entrepreneur(env, "monthly_trader", mandate=False, email="camille@example.com")
        # Gave its mandate: its periods are prepared, nothing to tell.
        cls.liberal = _make_auto_entrepreneur(env, "liberal_bnc_liberatoire", "PRESTATION_SERVICES_BNC")
        cls.liberal.email = "lea@example.com"
        # No e-mail address: nobody to tell.
        cls.baker = _make_auto_entrepreneur(env, "craftsman_alsace_baker", mandate=False, email=False)
        # Not eligible: no mandate would mend that; not the AE's to mend.
        cls.ineligible = _make_auto_entrepreneur(env, "not_eligible", mandate=False, email="nathan@example.com")
        # Never checked at Urssaf: the firm's to mend.
        cls.unchecked = env["res.partner"].create(
            {
                "name": "Unchecked AE",
                "email": "unchecked@example.com",
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_category_id": cls.trader.urssaf_category_id.id,
            }
        )
        cls.trader_account = _account(env, cls.trader)
        assert cls.trader_account.eligible and not cls.trader_account.has_active_mandate
        assert _account(env, cls.ineligible).checked_at and not _account(env, cls.ineligible).eligible

    ATTEMPTS = (
        # The field that keeps the e-mail from going twice: the daily run's only.
        Attempt(
            "forget the lateness e-mailed",
            "declarant",
            lambda case: (
                "urssaf.account",
                "write",
                [case.trader_account.ids, {"portal_late_period_end": "2030-01-31"}],
            ),
            "cannot be written",
            ("urssaf_account",),
        ),
    )

    def _mails(self, partner):
        return self.env["mail.mail"].search([("recipient_ids", "in", partner.ids), ("subject", "ilike", SUBJECT)])

    def _run(self):
        with _no_commit():
            self.env["urssaf.declaration"]._cron_urssaf_declarations()

    def test_late_mail_once_per_period_to_the_contact_only(self):
        # 2 December: November ended but is due on 31 December; October
        # was due on 30 November and was never declared.
        with freeze_time("2026-12-02 10:00:00"):
            self._run()
        mail = self._mails(self.trader)
        self.assertEqual(len(mail), 1)
        self.assertEqual(mail.recipient_ids, self.trader)
        self.assertFalse(mail.partner_ids - self.trader)
        self.assertEqual(mail.model, "urssaf.account")
        self.assertEqual(mail.res_id, self.trader_account.id)
        self.assertIn("10/01/2026 – 10/31/2026", mail.subject)
        body = html2plaintext(mail.body_html)
        self.assertIn("was due on *11/30/2026*", body)
        self.assertIn(f"{self.env.company.name} holds no tierce-déclaration mandate", body)
        self.assertIn("/my/urssaf/mandate", mail.body_html)
        self.assertIn(f"ask {self.env.company.name} to invite you", body)
        self.assertEqual(self.trader_account.portal_late_period_end, date(2026, 10, 31))
        # Nothing posted for the followers, on the account or the contact.
        message = mail.mail_message_id
        self.assertEqual(message.message_type, "email_outgoing")
        self.assertFalse(message.subtype_id)
        self.assertFalse(message.notification_ids)
        self.assertNotIn(message, self.trader.message_ids)
        self.assertFalse(
            self.trader_account.message_ids.filtered(lambda m: m != message and self.trader in m.partner_ids)
        )
        # Not the one with a mandate, nor the one without e-mail, nor the
        # ineligible or unchecked ones.
        for partner in (self.liberal, self.baker, self.ineligible, self.unchecked):
            with self.subTest(partner=partner.name):
                self.assertFalse(self._mails(partner))
        self.assertFalse(_account(self.env, self.baker).portal_late_period_end)
        # The next day's run: nothing more.
        with freeze_time("2026-12-03 10:00:00"):
            self._run()
        self.assertEqual(len(self._mails(self.trader)), 1)
        # In January, November is late in turn: told once more.
        with freeze_time("2027-01-05 10:00:00"):
            self._run()
        mails = self._mails(self.trader)
        self.assertEqual(len(mails), 2)
        self.assertIn("11/01/2026 – 11/30/2026", (mails - mail).subject)
        self.assertEqual(self.trader_account.portal_late_period_end, date(2026, 11, 30))

    def test_a_portal_user_is_not_asked_to_get_one(self):
        self.trader_account._urssaf_portal_mail_late(date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 30))
        without_user = self._mails(self.trader)
        self.assertIn("to invite you", html2plaintext(without_user.body_html))
        self.env["res.users"].create(
            {
                "name": self.trader.name,
                "login": "camille@example.com",
                "partner_id": self.trader.id,
                "group_ids": [(6, 0, self.env.ref("base.group_portal").ids)],
            }
        )
        self.trader_account._urssaf_portal_mail_late(date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 31))
        with_user = self._mails(self.trader) - without_user
        self.assertEqual(len(with_user), 1)
        self.assertNotIn("to invite you", html2plaintext(with_user.body_html))
        self.assertIn("/my/urssaf/mandate", with_user.body_html)

    def test_a_period_with_a_declaration_is_told_by_it(self):
        # A declaration of October exists (prepared before the mandate
        # ended): its own e-mail tells the lateness (sent already), not this one.
        declaration = self.env["urssaf.declaration"].create(
            {"partner_id": self.trader.id, "period_start": date(2026, 10, 1), "period_end": date(2026, 10, 31)}
        )
        declaration._urssaf_write({"portal_late_notified": True})
        with freeze_time("2026-12-02 10:00:00"):
            self._run()
        self.assertFalse(self._mails(self.trader))
        self.assertFalse(self.trader_account.portal_late_period_end)

    def test_a_broken_template_never_stops_the_run(self):
        template = self.env.ref("l10n_fr_urssaf_tierce_declaration.mail_template_urssaf_portal_late_account")
        # A template that Odoo accepts (it renders it on an account, without
        # a period) but that fails when sent: a division by zero.
        template.body_html = "<p t-out=\"1 / (0 if ctx.get('urssaf_period_start') else 1)\"/>"
        with (
            freeze_time("2026-12-02 10:00:00"),
            self.assertLogs("odoo.addons.l10n_fr_urssaf_tierce_declaration.models.urssaf_account_portal") as logs,
        ):
            self._run()
        not_sent = f"the late_no_mandate e-mail of Urssaf account {self.trader_account.id} was not sent"
        self.assertIn(not_sent, logs.output[0])
        self.assertFalse(self._mails(self.trader))
        # Not recorded as told: the next run tries again.
        self.assertFalse(self.trader_account.portal_late_period_end)
