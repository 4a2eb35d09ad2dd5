# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Declarations against the embedded sandbox: estimate, declare, pay, refusals,
exactly-once sending and the scheduled action."""

import base64
from datetime import date, timedelta
from unittest.mock import patch

import psycopg2

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger
from odoo.tools.safe_eval import safe_eval

from ..urssaf_api import periods
from ..urssaf_api.client import UrssafClient
from ..urssaf_api.sandbox import Sandbox
from ..urssaf_api.seed import seed_account
from ..urssaf_api.storage import MemoryStorage
from ..urssaf_api.testing import DECLARE, ESTIMATE, PAY, FaultServer, ServerError
from .common import UrssafTransactionCase

DOCUMENT = base64.b64encode(b"%PDF-1.4 mandat signe")


@tagged("post_install", "-at_install")
class UrssafDeclarationCase(UrssafTransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.categories = {c.code: c for c in cls.env["urssaf.activity.category"].search([])}
        cls.declarant = new_test_user(
            cls.env,
            login="urssaf_decl_declarant",
            groups="account.group_account_manager,l10n_fr_urssaf_tierce_declaration.group_urssaf_declarant",
        )
        cls.preparer = new_test_user(
            cls.env,
            login="urssaf_decl_preparer",
            groups="account.group_account_user,l10n_fr_urssaf_tierce_declaration.group_urssaf_preparer",
        )
        cls.trader = cls._make_ae("monthly_trader", "VENTE_MARCHANDISES", "commercant")
        cls.craftsman = cls._make_ae("quarterly_craftsman_moselle", "PRESTATION_SERVICES_BIC", "artisan")
        cls.today = fields.Date.context_today(cls.env["urssaf.declaration"])

    @classmethod
    def _make_ae(cls, alias, category, trade, register=True):
        seed = seed_account(alias)
        values = {
            "name": f"{seed['prenoms']} {seed['nom']}",
            "urssaf_is_auto_entrepreneur": True,
            "urssaf_category_id": cls.categories[category].id,
            "urssaf_trade": trade,
        }
        if seed.get("nir"):
            values.update({"urssaf_identifier_type": "nir", "urssaf_nir": seed["nir"]})
        else:
            values.update({"urssaf_identifier_type": "siret", "company_registry": seed["siret"]})
        partner = cls.env["res.partner"].create(values)
        partner.action_urssaf_check_account()
        if register:
            mandate = cls.env["urssaf.mandate"].create(
                {"partner_id": partner.id, "signature_date": date(2026, 1, 5), "document": DOCUMENT}
            )
            mandate.action_register()
        return partner

    def _declaration(self, partner, start, end, amounts, periodicity="monthly", **extra):
        declaration = self.env["urssaf.declaration"].create(
            {
                "partner_id": partner.id,
                "period_start": start,
                "period_end": end,
                "periodicity": periodicity,
                "line_ids": [
                    fields.Command.create(
                        {"category_id": self.categories[code].id, "computed_amount": amount, "amount": amount}
                    )
                    for code, amount in amounts.items()
                ],
                **extra,
            }
        )
        return declaration

    def _sandbox_declarations(self, partner, period_start):
        """What Urssaf (the embedded sandbox) holds for ``partner`` and the
        period starting on ``period_start``."""
        client = self.company._urssaf_client()
        return client.find_declarations(partner._urssaf_identifier(), period_start=period_start)

    def _no_commit(self):
        """The scheduled action commits after each AE; a test may not."""
        return patch.object(type(self.env["ir.cron"]), "_commit_progress", lambda cron, processed=0, **kw: float("inf"))


class TestDeclarationFlow(UrssafDeclarationCase):
    def test_monthly_estimate_declare_pay(self):
        declaration = self._declaration(
            self.trader, date(2026, 10, 1), date(2026, 10, 31), {"VENTE_MARCHANDISES": 1000.0}
        )
        self.assertTrue(declaration.reference_tiers)
        self.assertEqual(declaration.due_date, date(2026, 11, 30))

        declaration.with_user(self.preparer).action_estimate()
        self.assertEqual(declaration.state, "estimated")
        # DOMAIN.md: sales of goods 12.3 % since 2022-10, rounded to the euro;
        # CFP 0.1 % for traders kept to the cent; TFC 0.015 % rounds to 0 €.
        by_label = {c.label: c.amount for c in declaration.estimated_contribution_ids}
        self.assertEqual(by_label["Cotisations sociales"], 123.0)
        self.assertEqual(by_label["Contribution à la formation professionnelle"], 1.0)
        self.assertAlmostEqual(declaration.estimated_total, 124.0)

        declaration.with_user(self.declarant).action_declare()
        self.assertEqual(declaration.state, "declared")
        self.assertTrue(declaration.urssaf_number)
        self.assertAlmostEqual(declaration.amount_total, 124.0)
        self.assertAlmostEqual(declaration.remaining_due, 124.0)
        self.assertEqual(
            [d.number for d in self._sandbox_declarations(self.trader, date(2026, 10, 1))], [declaration.urssaf_number]
        )

        # The seeded SEPA mandate of this AE, brought in from Urssaf.
        self.env["res.partner.bank"].create(
            {"partner_id": self.trader.id, "acc_number": "FR76 3000 6000 0112 3456 7890 189"}
        )
        self.trader.action_urssaf_sync_sepa_mandates()
        declaration.with_user(self.declarant).action_pay()
        self.assertEqual(declaration.state, "paid")
        self.assertTrue(declaration.payment_reference)
        self.assertAlmostEqual(declaration.payment_amount, 124.0)
        self.assertEqual(self._sandbox_declarations(self.trader, date(2026, 10, 1))[0].status, "PAYEE")

        messages = declaration.message_ids.mapped("body")
        self.assertTrue(any(declaration.urssaf_number in body for body in messages))
        self.assertTrue(any(declaration.payment_reference in body for body in messages))
        # Declared: no more editing, no deletion.
        with self.assertRaises(UserError):
            declaration.line_ids.amount = 5.0
        with self.assertRaises(UserError):
            declaration.unlink()

    def test_quarterly_zero_period_is_declared(self):
        declaration = self._declaration(
            self.craftsman, date(2026, 7, 1), date(2026, 9, 30), {"PRESTATION_SERVICES_BIC": 0.0}, "quarterly"
        )
        # 31 October 2026 is a Saturday, 1 November a Sunday (All Saints): next working day.
        self.assertEqual(declaration.due_date, date(2026, 11, 2))
        declaration.action_estimate()
        declaration.with_user(self.declarant).action_declare()
        self.assertEqual(declaration.state, "paid", "nothing is due on a zero period")
        self.assertEqual(declaration.amount_total, 0.0)
        self.assertEqual(len(self._sandbox_declarations(self.craftsman, date(2026, 7, 1))), 1)

    def test_first_long_period(self):
        partner = self._make_ae("new_business_monthly", "PRESTATION_SERVICES_BIC", "commercant")
        start, end = periods.first_period(partner.urssaf_activity_start, periods.MONTHLY)
        self.assertEqual((start, end), (date(2026, 7, 20), date(2026, 10, 31)))
        declaration = self._declaration(partner, start, end, {"PRESTATION_SERVICES_BIC": 2500.0}, is_first_period=True)
        self.assertEqual(declaration.due_date, date(2026, 11, 30))
        declaration.action_estimate()
        declaration.with_user(self.declarant).action_declare()
        self.assertEqual(declaration.state, "declared")
        # 21.2 % of BIC services, rounded to the euro.
        self.assertIn(530.0, declaration.declared_contribution_ids.mapped("amount"))

    def test_declaring_again_after_a_crash_records_the_existing_declaration(self):
        """Urssaf accepted the declaration, then the Odoo transaction died
        before its commit: the next attempt finds it by its reference."""
        declaration = self._declaration(self.trader, date(2026, 9, 1), date(2026, 9, 30), {"VENTE_MARCHANDISES": 800.0})
        declaration.action_estimate()
        sent = self.company._urssaf_client().declare(
            self.trader._urssaf_identifier(),
            declaration.period_start,
            declaration.period_end,
            declaration._turnover_to_send(),
            declaration.reference_tiers,
        )
        with patch.object(UrssafClient, "declare", autospec=True) as declare:
            declaration.with_user(self.declarant).action_declare()
        declare.assert_not_called()
        self.assertEqual(declaration.urssaf_number, sent.number)
        self.assertEqual(len(self._sandbox_declarations(self.trader, date(2026, 9, 1))), 1)

    def test_already_declared_period_records_urssaf_number(self):
        """Another tool declared the period with another reference: Urssaf's
        409 gives the existing number, which is recorded instead of failing."""
        declaration = self._declaration(self.trader, date(2026, 8, 1), date(2026, 8, 31), {"VENTE_MARCHANDISES": 300.0})
        declaration.action_estimate()
        other = self.company._urssaf_client().declare(
            self.trader._urssaf_identifier(),
            date(2026, 8, 1),
            date(2026, 8, 31),
            {"VENTE_MARCHANDISES": 300},
            "OTHER-TOOL-1",
        )
        declaration.with_user(self.declarant).action_declare()
        self.assertEqual(declaration.state, "declared")
        self.assertEqual(declaration.urssaf_number, other.number)


class TestDeclarationServerActions(UrssafDeclarationCase):
    def test_actions_menu_runs_the_steps_on_many(self):
        """Estimate runs straight from the Actions menu; Declare asks first,
        then declares the whole selection."""
        first = self._declaration(self.trader, date(2025, 11, 1), date(2025, 11, 30), {"VENTE_MARCHANDISES": 10.0})
        second = self._declaration(self.trader, date(2025, 12, 1), date(2025, 12, 31), {"VENTE_MARCHANDISES": 20.0})
        records = (first | second).with_user(self.declarant)
        context = {"active_model": "urssaf.declaration", "active_ids": records.ids}
        estimate = self.env.ref("l10n_fr_urssaf_tierce_declaration.action_server_urssaf_estimate")
        estimate.with_user(self.declarant).with_context(**context).run()
        self.assertEqual(set((first | second).mapped("state")), {"estimated"})
        declare = self.env.ref("l10n_fr_urssaf_tierce_declaration.action_urssaf_declaration_send_declare")
        wizard = (
            self.env[declare.res_model]
            .with_user(self.declarant)
            .with_context(**context, **safe_eval(declare.context))
            .create({})
        )
        self.assertEqual(set((first | second).mapped("state")), {"estimated"}, "nothing sent before confirming")
        wizard.action_confirm()
        self.assertEqual(set((first | second).mapped("state")), {"declared"})

    def test_declare_and_pay_are_for_declarants(self):
        for step in ("declare", "pay"):
            action = self.env.ref(f"l10n_fr_urssaf_tierce_declaration.action_urssaf_declaration_send_{step}")
            self.assertEqual(action.group_ids, self.env.ref("l10n_fr_urssaf_tierce_declaration.group_urssaf_declarant"))
        bindings = self.env["ir.actions.actions"].with_user(self.preparer).get_bindings("urssaf.declaration")
        names = {action["name"] for action in bindings["action"]}
        self.assertIn("Estimate", names)
        self.assertNotIn("Declare", names)
        self.assertNotIn("Pay", names)


class TestDeclarationRefusals(UrssafDeclarationCase):
    def _assert_refused_without_call(self, declaration, pattern, user=None):
        before = declaration.read(["state", "urssaf_number", "error_message"])
        with (
            patch.object(UrssafClient, "declare", autospec=True) as declare,
            patch.object(UrssafClient, "find_declarations", autospec=True) as find,
        ):
            with self.assertRaisesRegex(UserError, pattern):
                declaration.with_user(user or self.declarant).action_declare()
        declare.assert_not_called()
        find.assert_not_called()
        self.assertEqual(declaration.read(["state", "urssaf_number", "error_message"]), before)

    def test_period_not_ended(self):
        start, end = periods.period_containing(self.today, periods.MONTHLY)
        declaration = self._declaration(self.trader, start, end, {"VENTE_MARCHANDISES": 10.0})
        declaration.write({"state": "estimated", "estimate_snapshot": declaration._amounts_snapshot()})
        self._assert_refused_without_call(declaration, "can be declared from the next day")

    def test_no_active_mandate(self):
        partner = self._make_ae("liberal_bnc_liberatoire", "PRESTATION_SERVICES_BNC", "liberal", register=False)
        declaration = self._declaration(
            partner, date(2026, 10, 1), date(2026, 10, 31), {"PRESTATION_SERVICES_BNC": 10.0}
        )
        declaration.write({"state": "estimated", "estimate_snapshot": declaration._amounts_snapshot()})
        self._assert_refused_without_call(declaration, "no active Urssaf mandate")

    def test_ineligible_auto_entrepreneur(self):
        partner = self._make_ae("not_eligible", "PRESTATION_SERVICES_BIC", "commercant", register=False)
        self.assertFalse(partner.urssaf_eligible)
        declaration = self._declaration(
            partner, date(2026, 10, 1), date(2026, 10, 31), {"PRESTATION_SERVICES_BIC": 10.0}
        )
        declaration.write({"state": "estimated", "estimate_snapshot": declaration._amounts_snapshot()})
        self._assert_refused_without_call(declaration, "not eligible")

    def test_negative_amount(self):
        declaration = self._declaration(self.trader, date(2026, 7, 1), date(2026, 7, 31), {"VENTE_MARCHANDISES": -5.0})
        with patch.object(UrssafClient, "estimate", autospec=True) as estimate:
            with self.assertRaisesRegex(UserError, "negative"):
                declaration.action_estimate()
        estimate.assert_not_called()
        declaration.write({"state": "estimated", "estimate_snapshot": declaration._amounts_snapshot()})
        self._assert_refused_without_call(declaration, "negative")

    def test_line_edited_after_estimate(self):
        declaration = self._declaration(self.trader, date(2026, 6, 1), date(2026, 6, 30), {"VENTE_MARCHANDISES": 100.0})
        declaration.action_estimate()
        declaration.line_ids.with_user(self.declarant).amount = 150.0
        self.assertTrue(declaration.has_adjustment)
        self._assert_refused_without_call(declaration, "Estimate again")

    def test_preparer_cannot_declare_nor_adjust(self):
        declaration = self._declaration(self.trader, date(2026, 5, 1), date(2026, 5, 31), {"VENTE_MARCHANDISES": 100.0})
        declaration.action_estimate()
        self._assert_refused_without_call(declaration, "Only Urssaf declarants", user=self.preparer)
        with self.assertRaisesRegex(UserError, "Only Urssaf declarants"):
            declaration.line_ids.with_user(self.preparer).amount = 90.0

    def test_one_declaration_per_period(self):
        self._declaration(self.trader, date(2026, 4, 1), date(2026, 4, 30), {"VENTE_MARCHANDISES": 1.0})
        with self.assertRaises(psycopg2.errors.UniqueViolation), self.env.cr.savepoint(), mute_logger("odoo.sql_db"):
            self._declaration(self.trader, date(2026, 4, 1), date(2026, 4, 30), {"VENTE_MARCHANDISES": 2.0})

    def test_batch_declares_each_independently(self):
        good = self._declaration(self.trader, date(2026, 3, 1), date(2026, 3, 31), {"VENTE_MARCHANDISES": 200.0})
        bad = self._declaration(
            self.craftsman, date(2026, 1, 1), date(2026, 3, 31), {"PRESTATION_SERVICES_BIC": 50.0}, "quarterly"
        )
        (good | bad).action_estimate()
        self.assertEqual((good.state, bad.state), ("estimated", "estimated"))
        bad.line_ids.with_user(self.declarant).amount = 60.0
        result = (good | bad).with_user(self.declarant).action_declare()
        self.assertEqual(good.state, "declared")
        self.assertEqual(bad.state, "estimated", "the refused one is left as it was")
        self.assertFalse(bad.urssaf_number)
        message = result["params"]["message"]
        self.assertIn(bad.display_name, message)
        self.assertIn("Estimate again", message)

    def test_estimate_without_mandate_is_refused_before_any_call(self):
        partner = self._make_ae("liberal_bnc_liberatoire", "PRESTATION_SERVICES_BNC", "liberal", register=False)
        declaration = self._declaration(partner, date(2026, 3, 1), date(2026, 3, 31), {"PRESTATION_SERVICES_BNC": 50.0})
        with patch.object(UrssafClient, "estimate", autospec=True) as estimate:
            with self.assertRaisesRegex(UserError, "no active Urssaf mandate"):
                declaration.action_estimate()
        estimate.assert_not_called()
        self.assertEqual(declaration.state, "draft")


@tagged("post_install", "-at_install")
class TestDeclarationOutcomeUnknown(UrssafDeclarationCase):
    """Against a fault-injecting Urssaf on the loopback, set in the settings
    like a real environment."""

    def setUp(self):
        super().setUp()
        self.remote = Sandbox(MemoryStorage())
        self.server = FaultServer(self.remote.handle)
        self.server.start()
        self.addCleanup(self.server.stop)
        self.company.write(
            {
                "urssaf_environment": "sandbox",
                "urssaf_client_id": "demo-tiers",
                "urssaf_base_url": self.server.base_url,
                "urssaf_timeout": 1.0,
            }
        )
        self.company.sudo().urssaf_client_secret = "demo-secret"
        self.partner = self._make_ae("monthly_trader", "VENTE_MARCHANDISES", "commercant")

    def test_server_error_after_acceptance_is_settled_by_lookup(self):
        declaration = self._declaration(
            self.partner, date(2026, 10, 1), date(2026, 10, 31), {"VENTE_MARCHANDISES": 500.0}
        )
        declaration.action_estimate()
        self.server.inject(ServerError(500, after=True), DECLARE, calls=1)
        declaration.with_user(self.declarant).action_declare()
        self.assertEqual(declaration.state, "error")
        self.assertTrue(declaration.outcome_unknown)
        self.assertEqual(declaration.error_step, "declare")

        declaration.with_user(self.declarant).action_retry()
        self.assertEqual(declaration.state, "declared")
        self.assertFalse(declaration.outcome_unknown)
        self.assertEqual(self.server.count(DECLARE, delegated=True), 1, "sent to Urssaf exactly once")

    def test_timeout_on_pay_is_settled_by_lookup(self):
        declaration = self._declaration(
            self.partner, date(2026, 9, 1), date(2026, 9, 30), {"VENTE_MARCHANDISES": 500.0}
        )
        declaration.action_estimate()
        declaration.with_user(self.declarant).action_declare()
        self.env["res.partner.bank"].create(
            {"partner_id": self.partner.id, "acc_number": "FR76 3000 6000 0112 3456 7890 189"}
        )
        self.partner.action_urssaf_sync_sepa_mandates()
        self.server.inject(ServerError(503, after=True), PAY, calls=1)
        declaration.with_user(self.declarant).action_pay()
        self.assertEqual((declaration.state, declaration.error_step), ("error", "pay"))
        self.assertTrue(declaration.outcome_unknown)

        declaration.with_user(self.declarant).action_retry()
        self.assertEqual(declaration.state, "paid")
        self.assertEqual(self.server.count(PAY, delegated=True), 1, "paid exactly once")

    def test_estimate_error_keeps_urssaf_message_and_step(self):
        declaration = self._declaration(
            self.partner, date(2026, 10, 1), date(2026, 10, 31), {"VENTE_MARCHANDISES": 5.0}
        )
        self.server.inject(ServerError(500), ESTIMATE)
        declaration.action_estimate()
        self.assertEqual((declaration.state, declaration.error_step), ("error", "estimate"))
        self.assertIn("ERREUR_TECHNIQUE", declaration.error_message)
        self.server.clear_faults()
        declaration.action_estimate()
        self.assertEqual(declaration.state, "estimated")
        self.assertFalse(declaration.error_message)


@tagged("post_install", "-at_install")
class TestConcurrentDeclare(UrssafDeclarationCase):
    def test_declaration_locked_elsewhere_is_skipped(self):
        """Two declare calls at once: the one that finds the row locked steps aside."""
        declaration = self._declaration(self.trader, date(2026, 2, 1), date(2026, 2, 28), {"VENTE_MARCHANDISES": 40.0})
        declaration.action_estimate()
        self.env.flush_all()
        # The other process: a second cursor on the same database, holding the
        # row's lock as _urssaf_declare does while it talks to Urssaf. Our
        # uncommitted row is invisible to it, so it locks a committed twin.
        with patch.object(type(declaration), "_lock_for_urssaf", return_value=False):
            with patch.object(UrssafClient, "declare", autospec=True) as declare:
                result = declaration.with_user(self.declarant).action_declare()
        declare.assert_not_called()
        self.assertEqual(declaration.state, "estimated")
        self.assertIn("Skipped", result["params"]["message"])

    def test_lock_for_urssaf_refuses_a_row_locked_by_another_transaction(self):
        registry = self.registry
        with registry.cursor() as cr_a:
            env_a = self.env(cr=cr_a)
            partner = env_a["res.partner"].create({"name": "Concurrent AE", "urssaf_is_auto_entrepreneur": True})
            declaration = env_a["urssaf.declaration"].create(
                {
                    "partner_id": partner.id,
                    "period_start": date(2020, 1, 1),
                    "period_end": date(2020, 1, 31),
                    "periodicity": "monthly",
                }
            )
            cr_a.commit()
            try:
                with registry.cursor() as cr_b:
                    cr_b.execute("SELECT id FROM urssaf_declaration WHERE id = %s FOR UPDATE", [declaration.id])
                    self.assertFalse(declaration._lock_for_urssaf(), "held by the other transaction")
                    cr_b.rollback()
                self.assertTrue(declaration._lock_for_urssaf(), "free again")
            finally:
                cr_a.rollback()
                declaration.unlink()
                partner.unlink()
                cr_a.commit()


@tagged("post_install", "-at_install")
class TestDeclarationCron(UrssafDeclarationCase):
    def test_cron_prepares_declares_and_reminds(self):
        self.company.write({"urssaf_auto_declare": True, "urssaf_auto_declare_days": 400, "urssaf_reminder_days": 400})
        Declaration = self.env["urssaf.declaration"]
        with self._no_commit():
            Declaration._cron_urssaf_declarations()
        declarations = Declaration.search([("partner_id", "in", (self.trader | self.craftsman).ids)])
        last_month = periods.last_ended_period(self.today, date(2019, 3, 1), periods.MONTHLY)
        trader_declaration = declarations.filtered(lambda d: d.partner_id == self.trader)
        self.assertEqual((trader_declaration.period_start, trader_declaration.period_end), last_month)
        self.assertEqual(trader_declaration.state, "paid" if trader_declaration.amount_total == 0 else "declared")
        self.assertEqual(len(declarations), 2)

        # A second run declares nothing twice and adds no activity.
        with self._no_commit():
            Declaration._cron_urssaf_declarations()
        self.assertEqual(len(Declaration.search([("partner_id", "in", (self.trader | self.craftsman).ids)])), 2)
        self.assertEqual(len(self._sandbox_declarations(self.trader, last_month[0])), 1)

    def test_cron_reminds_once_before_the_deadline(self):
        self.company.write({"urssaf_auto_declare": False, "urssaf_reminder_days": 400})
        Declaration = self.env["urssaf.declaration"]
        with self._no_commit():
            Declaration._cron_urssaf_declarations()
            Declaration._cron_urssaf_declarations()
        declaration = Declaration.search([("partner_id", "=", self.trader.id)])
        self.assertEqual(declaration.state, "draft")
        self.assertEqual(len(declaration.activity_ids), 1)
        self.assertEqual(declaration.activity_ids.date_deadline, declaration.due_date)
        self.assertLessEqual(declaration.due_date - timedelta(days=400), self.today)
