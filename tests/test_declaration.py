# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Declarations against the embedded sandbox: estimate, declare, pay, refusals,
exactly-once sending and the scheduled action."""

import base64
import re
import threading
from datetime import date
from decimal import Decimal
from unittest.mock import patch

import psycopg2

from odoo import api, fields
from odoo.exceptions import UserError
from odoo.tests import freeze_time, new_test_user, tagged
from odoo.tools import html2plaintext, mute_logger
from odoo.tools.misc import real_time
from odoo.tools.safe_eval import safe_eval

from odoo.addons.base.models.ir_model import MODULE_UNINSTALL_FLAG

from ..urssaf_api import periods
from ..urssaf_api.client import UrssafClient
from ..urssaf_api.sandbox import Sandbox
from ..urssaf_api.seed import seed_account
from ..urssaf_api.testing import DECLARE, ESTIMATE, PAY, Delay, Fault, ServerError
from .common import FROZEN_NOW, UrssafTransactionCase, paid_vendor_bill, reset_embedded_sandbox, start_remote_urssaf

DOCUMENT = base64.b64encode(b"%PDF-1.4 mandat signe")


@freeze_time(FROZEN_NOW)
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

    def setUp(self):
        super().setUp()
        # Urssaf (the embedded sandbox) keeps what it was told across the
        # test transactions, which roll back: each test starts from the seed,
        # with the mandates of the class's auto-entrepreneurs registered.
        reset_embedded_sandbox(self.env.cr.dbname)
        client = self.company._urssaf_client()
        for partner in (self.trader, self.craftsman):
            client.register_mandate(partner._urssaf_identifier(), date(2026, 1, 5))

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
        self.assertRegex(declaration.urssaf_number, r"^D2026\d{7}$")
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
        # Debited on the due date, three days from now: ordered until then.
        self.assertEqual(declaration.state, "ordered")
        self.assertEqual(declaration.debit_date, date(2026, 11, 30))
        self.assertRegex(declaration.payment_reference, r"^P2026\d{7}$")
        self.assertAlmostEqual(declaration.payment_amount, 124.0)
        (held,) = self._sandbox_declarations(self.trader, date(2026, 10, 1))
        self.assertEqual((held.number, held.status), (declaration.urssaf_number, "PAYEE"))

        texts = [html2plaintext(body) for body in declaration.message_ids.mapped("body") if body]
        amount = declaration._format_amount(124.0)
        note = r" Urssaf correlation id: [-0-9a-f]{36}\."
        self.assertRegex(
            texts[0],
            rf"^Payment ordered: {re.escape(amount)} debited from \*\*\*\*0189 on 11/30/2026, reference "
            rf"{declaration.payment_reference}\.{note}$",
        )
        self.assertRegex(
            texts[1],
            rf"^Urssaf declaration {declaration.urssaf_number} declared: {re.escape(amount)} due by "
            rf"11/30/2026\.{note}$",
        )
        # One message a step: Urssaf's answer, and the state's change under it.
        steps = []
        for message in declaration.message_ids.sorted("id")[-3:]:
            state = message.sudo().tracking_value_ids.filtered(lambda value: value.field_id.name == "state")
            steps.append((html2plaintext(message.body).split(":")[0], state.old_value_char, state.new_value_char))
        self.assertEqual(
            steps,
            [
                ("Estimated by Urssaf", "Draft", "Estimated"),
                (f"Urssaf declaration {declaration.urssaf_number} declared", "Estimated", "Declared"),
                ("Payment ordered", "Declared", "Payment ordered"),
            ],
        )
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
        # 21.2 % of BIC services, rounded to the euro; CFP 0.1 % of a trader;
        # TFC 0.044 % of a trader's services (1.10, rounded to the euro).
        self.assertEqual(
            {c.label: c.amount for c in declaration.declared_contribution_ids},
            {
                "Cotisations sociales": 530.0,
                "Contribution à la formation professionnelle": 2.5,
                "Taxe pour frais de chambre": 1.0,
            },
        )

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
        """Estimate from the Actions menu; Declare through its confirmation."""
        first = self._declaration(self.trader, date(2025, 11, 1), date(2025, 11, 30), {"VENTE_MARCHANDISES": 10.0})
        second = self._declaration(self.trader, date(2025, 12, 1), date(2025, 12, 31), {"VENTE_MARCHANDISES": 20.0})
        records = first | second
        context = {"active_model": "urssaf.declaration", "active_ids": records.ids}
        estimate = self.env.ref("l10n_fr_urssaf_tierce_declaration.action_server_urssaf_estimate")
        result = estimate.with_user(self.declarant).with_context(**context).run()
        self.assertEqual(result["params"]["message"], "Estimate: 2 done.")
        self.assertEqual(records.mapped("state"), ["estimated", "estimated"])
        declare = self.env.ref("l10n_fr_urssaf_tierce_declaration.action_urssaf_declaration_send_declare")
        wizard = (
            self.env[declare.res_model]
            .with_user(self.declarant)
            .with_context(**context, **safe_eval(declare.context))
            .create({})
        )
        self.assertEqual(records.mapped("state"), ["estimated", "estimated"], "nothing sent before confirming")
        result = wizard.action_confirm()
        self.assertEqual(result["params"]["message"], "Declare: 2 done.")
        self.assertEqual(records.mapped("state"), ["declared", "declared"])
        self.assertEqual(
            {d.number for d in self._sandbox_declarations(self.trader, date(2025, 11, 1))}
            | {d.number for d in self._sandbox_declarations(self.trader, date(2025, 12, 1))},
            set(records.mapped("urssaf_number")),
        )

    def test_declare_and_pay_are_for_declarants(self):
        declarant_group = self.env.ref("l10n_fr_urssaf_tierce_declaration.group_urssaf_declarant")
        for step in ("declare", "pay"):
            action = self.env.ref(f"l10n_fr_urssaf_tierce_declaration.action_urssaf_declaration_send_{step}")
            self.assertEqual(action.group_ids, declarant_group)
        for user, expected in ((self.preparer, {"Estimate"}), (self.declarant, {"Estimate", "Declare", "Pay"})):
            bindings = self.env["ir.actions.actions"].with_user(user).get_bindings("urssaf.declaration")
            names = {action["name"] for action in bindings["action"]}
            self.assertEqual(names & {"Estimate", "Declare", "Pay"}, expected, user.login)


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

    def test_period_not_ended_in_france_whatever_the_users_time_zone(self):
        # 30 November, 15:00 in Paris: already 1 December in Kiribati (UTC+14).
        # Whether November has ended is Urssaf's clock's to say, not the
        # time zone a declarant's context names.
        declaration = self._declaration(
            self.trader, date(2026, 11, 1), date(2026, 11, 30), {"VENTE_MARCHANDISES": 10.0}
        )
        declaration.write({"state": "estimated", "estimate_snapshot": declaration._amounts_snapshot()})
        with freeze_time("2026-11-30 14:00:00"):
            self._assert_refused_without_call(
                declaration.with_context(tz="Pacific/Kiritimati"), "can be declared from the next day"
            )

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


class PaidMeanwhile(Fault):
    """Another tool pays the declaration just before this payment reaches
    Urssaf: the first payment is recorded, and this one is refused with
    Urssaf's 409 ER_API_PAIEMENT_EXISTANT."""

    def respond(self, request, delegate, server):
        delegate()
        return delegate()


@tagged("post_install", "-at_install")
class TestDeclarationOutcomeUnknown(UrssafDeclarationCase):
    """Against a fault-injecting Urssaf on the loopback, set in the settings
    like a real environment."""

    TIMEOUT = 1.0

    def setUp(self):
        super().setUp()
        start_remote_urssaf(self)
        self.company.write(
            {
                "urssaf_environment": "sandbox",
                "urssaf_client_id": "demo-tiers",
                "urssaf_base_url": self.server.base_url,
                "urssaf_timeout": self.TIMEOUT,
            }
        )
        self.company.sudo().urssaf_client_secret = "demo-secret"
        self.partner = self._make_ae("monthly_trader", "VENTE_MARCHANDISES", "commercant")

    def _declared(self, start, end, amount):
        """A declaration declared at Urssaf, and the SEPA mandate Urssaf
        holds for its auto-entrepreneur brought in."""
        declaration = self._declaration(self.partner, start, end, {"VENTE_MARCHANDISES": amount})
        declaration.action_estimate()
        declaration.with_user(self.declarant).action_declare()
        self.assertEqual(declaration.state, "declared")
        self.env["res.partner.bank"].create(
            {"partner_id": self.partner.id, "acc_number": "FR76 3000 6000 0112 3456 7890 189"}
        )
        self.partner.action_urssaf_sync_sepa_mandates()
        return declaration

    @staticmethod
    def _last_message(declaration):
        """The text of the last chatter message with a body (tracking
        messages have none)."""
        bodies = [message.body for message in declaration.message_ids if message.body]
        return html2plaintext(bodies[0]) if bodies else None

    def _remote_payments(self, declaration):
        """The payments Urssaf (the loopback sandbox) holds for ``declaration``."""
        with self.remote.storage.transaction() as transaction:
            return transaction.find("payment", numeroDeclaration=declaration.urssaf_number)

    def _remote_declaration(self, declaration):
        client = self.company._urssaf_client()
        return client.find_declaration_by_number(
            self.partner._urssaf_identifier(), declaration.urssaf_number, declaration.period_start
        )

    def test_server_error_after_acceptance_is_settled_by_lookup(self):
        declaration = self._declaration(
            self.partner, date(2026, 10, 1), date(2026, 10, 31), {"VENTE_MARCHANDISES": 500.0}
        )
        declaration.action_estimate()
        self.server.inject(ServerError(500, after=True), DECLARE, calls=1)
        declaration.with_user(self.declarant).action_declare()
        self.assertEqual((declaration.state, declaration.error_step), ("error", "declare"))
        self.assertTrue(declaration.outcome_unknown)
        self.assertFalse(declaration.urssaf_number)
        self.assertEqual(self.server.count(DECLARE, delegated=True), 1, "Urssaf recorded it")

        declaration.with_user(self.declarant).action_retry()
        self.assertEqual(declaration.state, "declared")
        self.assertFalse(declaration.outcome_unknown)
        self.assertEqual(self.server.count(DECLARE, delegated=True), 1, "sent to Urssaf exactly once")
        (sent,) = self.server.requests_for(DECLARE)
        self.assertEqual(sent.json()["referenceTiers"], declaration.reference_tiers)
        self.assertEqual(self._remote_declaration(declaration).reference_tiers, declaration.reference_tiers)

    def test_timeout_on_pay_is_settled_by_lookup(self):
        """Urssaf records the payment but answers after the client's read
        time-out: the outcome is unknown, and the retry finds it paid at
        Urssaf instead of paying again."""
        declaration = self._declared(date(2026, 9, 1), date(2026, 9, 30), 500.0)
        # 12.3 % of 500 rounded to the euro, and the CFP of 0.1 %.
        self.assertEqual((declaration.amount_total, declaration.remaining_due), (62.5, 62.5))
        self.server.inject(Delay(self.TIMEOUT + 1.0, after=True), PAY, calls=1)
        # The wall clock: freezegun stops time.monotonic, not real_time.
        started = real_time()
        declaration.with_user(self.declarant).action_pay()
        waited = real_time() - started
        self.assertEqual((declaration.state, declaration.error_step), ("error", "pay"))
        self.assertTrue(declaration.outcome_unknown)
        self.assertIn("did not answer the payment in time", declaration.error_message)
        self.assertGreaterEqual(waited, self.TIMEOUT, "the client waited for its read time-out")
        self.assertLess(waited, self.TIMEOUT + 1.0, "and gave up before Urssaf answered")
        (paid,) = self._remote_payments(declaration)
        self.assertEqual(paid["montant"], "62.50", "Urssaf recorded the payment sent")
        self.assertEqual(self._remote_declaration(declaration).status, "PAYEE")

        declaration.with_user(self.declarant).action_retry()
        self.assertEqual(declaration.state, "paid")
        self.assertFalse(declaration.outcome_unknown)
        self.assertEqual(declaration.remaining_due, 0.0)
        self.assertEqual(self.server.count(PAY), 1, "paid exactly once: the retry only looked it up")
        self.assertEqual(len(self._remote_payments(declaration)), 1)
        self.assertRegex(
            self._last_message(declaration),
            rf"^Payment found paid at Urssaf: {re.escape(declaration._format_amount(62.5))} debited from "
            r"\*\*\*\*0189, reference unknown\. Urssaf correlation id: [-0-9a-f]{36}\.$",
        )

    def test_payment_already_held_by_urssaf_is_recorded(self):
        """Another tool paid between the look-up and the payment: Urssaf's
        409 names its payment, which is recorded instead of failing."""
        declaration = self._declared(date(2026, 8, 1), date(2026, 8, 31), 300.0)
        self.server.inject(PaidMeanwhile(), PAY, calls=1)
        declaration.with_user(self.declarant).action_pay()
        (held,) = self._remote_payments(declaration)
        self.assertEqual(self.server.requests_for(PAY)[0].status, 409)
        self.assertEqual(declaration.state, "paid")
        self.assertFalse(declaration.error_message)
        self.assertEqual(declaration.payment_reference, held["referencePaiement"])
        self.assertEqual(declaration.remaining_due, 0.0)
        self.assertEqual(
            self._last_message(declaration),
            f"Payment already paid at Urssaf: {declaration._format_amount(37.3)} debited from "
            f"****0189, reference {held['referencePaiement']}.",
        )

    def test_payment_found_paid_at_urssaf_is_not_sent(self):
        """Urssaf already holds the payment (made with another tool): paying
        records it and sends nothing."""
        declaration = self._declared(date(2026, 7, 1), date(2026, 7, 31), 200.0)
        client = self.company._urssaf_client()
        client.pay(declaration.urssaf_number, Decimal("25.20"), "FR7630006000011234567890189")
        self.assertEqual(self.server.count(PAY), 1)
        declaration.with_user(self.declarant).action_pay()
        self.assertEqual(declaration.state, "paid")
        self.assertEqual(declaration.remaining_due, 0.0)
        self.assertEqual(self.server.count(PAY), 1, "nothing sent: the look-up found it paid")
        self.assertRegex(
            self._last_message(declaration),
            rf"^Payment found paid at Urssaf: {re.escape(declaration._format_amount(25.2))} debited from "
            r"\*\*\*\*0189, reference unknown\. Urssaf correlation id: [-0-9a-f]{36}\.$",
        )

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
    """Two declare calls at once, each in a transaction of its own on a real
    cursor, on a declaration committed as in production."""

    def _committed_estimated_declaration(self):
        """An auto-entrepreneur of the seed with its mandate and an estimated
        declaration of its last quarter, committed; removed after the test."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            seed = seed_account("craftsman_alsace_baker")
            partner = env["res.partner"].create(
                {
                    "name": f"{seed['prenoms']} {seed['nom']}",
                    "urssaf_is_auto_entrepreneur": True,
                    "urssaf_category_id": self.categories["VENTE_MARCHANDISES"].id,
                    "urssaf_trade": "artisan",
                    "urssaf_identifier_type": "nir",
                    "urssaf_nir": seed["nir"],
                }
            )
            partner.action_urssaf_check_account()
            mandate = env["urssaf.mandate"].create(
                {"partner_id": partner.id, "signature_date": date(2026, 1, 5), "document": DOCUMENT}
            )
            mandate.action_register()
            declaration = env["urssaf.declaration"].create(
                {
                    "partner_id": partner.id,
                    "period_start": date(2026, 7, 1),
                    "period_end": date(2026, 9, 30),
                    "line_ids": [
                        fields.Command.create(
                            {
                                "category_id": self.categories["VENTE_MARCHANDISES"].id,
                                "computed_amount": 900.0,
                                "amount": 900.0,
                            }
                        )
                    ],
                }
            )
            declaration.action_estimate()
            self.assertEqual(declaration.state, "estimated")
            cr.commit()  # pylint: disable=invalid-commit
            ids = (declaration.id, mandate.id, partner.id)
            identifier = partner._urssaf_identifier()
        self.addCleanup(self._remove_committed, *ids)
        return ids[0], identifier

    def _remove_committed(self, declaration_id, mandate_id, partner_id):
        with self.registry.cursor() as cr:
            # The uninstall flag lifts the protection of declared declarations
            # and active mandates.
            env = api.Environment(cr, api.SUPERUSER_ID, {MODULE_UNINSTALL_FLAG: True})
            env["urssaf.declaration"].browse(declaration_id).exists().unlink()
            env["urssaf.mandate"].browse(mandate_id).exists().unlink()
            env["res.partner"].browse(partner_id).exists().unlink()
            cr.commit()  # pylint: disable=invalid-commit

    def _declare_in_own_transaction(self, declaration_id):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            result = env["urssaf.declaration"].browse(declaration_id).action_declare()
            cr.commit()  # pylint: disable=invalid-commit
            return result

    def _state(self, declaration_id):
        with self.registry.cursor() as cr:
            cr.execute("SELECT state, urssaf_number FROM urssaf_declaration WHERE id = %s", [declaration_id])
            return cr.fetchone()

    def test_second_declare_steps_aside_while_the_first_talks_to_urssaf(self):
        declaration_id, identifier = self._committed_estimated_declaration()
        inside, release = threading.Event(), threading.Event()
        handle = Sandbox.handle

        def gated_handle(sandbox, request):
            """The first declaration sent waits in Urssaf's hands until released."""
            if DECLARE.matches(request.method, request.path) and not inside.is_set():
                inside.set()
                release.wait(60)
            return handle(sandbox, request)

        first = {}

        def first_call():
            try:
                first["result"] = self._declare_in_own_transaction(declaration_id)
            except Exception as error:  # noqa: BLE001 (reported by the test)
                first["error"] = error
                inside.set()

        with patch.object(Sandbox, "handle", gated_handle):
            thread = threading.Thread(target=first_call)
            thread.start()
            try:
                self.assertTrue(inside.wait(60), "the first call reached Urssaf")
                self.assertNotIn("error", first)
                # The first transaction holds the row while Urssaf answers.
                second = self._declare_in_own_transaction(declaration_id)
            finally:
                release.set()
                thread.join(60)
        self.assertFalse(thread.is_alive())
        self.assertNotIn("error", first)
        self.assertEqual(
            second["params"]["message"],
            "Declare: 0 done.\nSkipped, being processed elsewhere or nothing to do: "
            "Jules FOURNIER, 07/01/2026 – 09/30/2026",
        )
        self.assertEqual(first["result"]["params"]["message"], "Declare: 1 done.")
        state, number = self._state(declaration_id)
        self.assertEqual(state, "declared")
        client = self.company._urssaf_client()
        self.assertEqual([d.number for d in client.find_declarations(identifier, date(2026, 7, 1))], [number])

    def test_locking_refuses_a_row_locked_by_another_transaction(self):
        declaration_id, _identifier = self._committed_estimated_declaration()
        with self.registry.cursor() as cr_a, self.registry.cursor() as cr_b:
            declaration = api.Environment(cr_a, api.SUPERUSER_ID, {})["urssaf.declaration"].browse(declaration_id)
            cr_b.execute("SELECT id FROM urssaf_declaration WHERE id = %s FOR UPDATE", [declaration_id])
            self.assertFalse(declaration._lock_rows_for_urssaf(), "held by the other transaction")
            cr_b.rollback()
            self.assertEqual(declaration._lock_rows_for_urssaf(), declaration, "free again")
            cr_a.rollback()

    def test_locking_a_run_skips_rows_held_or_changed_elsewhere(self):
        """A run locks its rows in one query: one held by another transaction
        is left out; one changed and committed since the run's transaction
        began makes that query fail, and each row is then tried on its own."""
        held_id, _identifier = self._committed_estimated_declaration()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            free = (
                env["urssaf.declaration"]
                .browse(held_id)
                .copy({"period_start": date(2026, 4, 1), "period_end": date(2026, 6, 30)})
            )
            cr.commit()  # pylint: disable=invalid-commit
            free_id = free.id
        self.addCleanup(self._remove_committed, free_id, 0, 0)
        with self.registry.cursor() as cr_a, self.registry.cursor() as cr_b:
            declarations = api.Environment(cr_a, api.SUPERUSER_ID, {})["urssaf.declaration"].browse([held_id, free_id])
            cr_b.execute("SELECT id FROM urssaf_declaration WHERE id = %s FOR UPDATE", [held_id])
            self.assertEqual(declarations._lock_rows_for_urssaf().ids, [free_id], "the held row is left out")
            cr_a.rollback()
            cr_b.rollback()
            # The run's snapshot is taken, then another transaction changes a row.
            cr_a.execute("SELECT 1 FROM urssaf_declaration LIMIT 1")
            cr_b.execute("UPDATE urssaf_declaration SET write_date = now() WHERE id = %s", [held_id])
            cr_b.commit()  # pylint: disable=invalid-commit
            self.assertEqual(declarations._lock_rows_for_urssaf().ids, [free_id], "changed since: left out")
            with self.assertRaises(psycopg2.errors.LockNotAvailable), mute_logger("odoo.sql_db"):
                cr_b.execute("SELECT id FROM urssaf_declaration WHERE id = %s FOR UPDATE NOWAIT", [free_id])
            cr_b.rollback()
            cr_a.rollback()


@tagged("post_install", "-at_install")
class TestDeclarationCron(UrssafDeclarationCase):
    """The scheduled action on books with paid vendor bills."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.urssaf_responsible_user_id = cls.declarant
        # The run in the scheduled action itself, not through OCA's job queue
        # when it is installed (tests/test_job_queue.py).
        cls.company.urssaf_job_queue = False
        # The trader's October 2026 (monthly, due 30 November 2026): one bill
        # paid in October; another paid in November belongs to November.
        cls.october = (date(2026, 10, 1), date(2026, 10, 31))
        paid_vendor_bill(cls.env, cls.trader, date(2026, 10, 2), 1250.0, date(2026, 10, 20))
        paid_vendor_bill(cls.env, cls.trader, date(2026, 10, 25), 400.0, date(2026, 11, 3))
        # The craftsman's third quarter 2026 (due 31 October 2026): one bill
        # paid in August, one never paid.
        cls.q3 = (date(2026, 7, 1), date(2026, 9, 30))
        paid_vendor_bill(cls.env, cls.craftsman, date(2026, 8, 3), 3600.0, date(2026, 8, 28))
        paid_vendor_bill(cls.env, cls.craftsman, date(2026, 9, 10), 900.0)

    def _run_cron(self):
        with self._no_commit():
            self.env["urssaf.declaration"]._cron_urssaf_declarations()

    def _declarations(self):
        Declaration = self.env["urssaf.declaration"]
        trader = Declaration.search([("partner_id", "=", self.trader.id)])
        craftsman = Declaration.search([("partner_id", "=", self.craftsman.id)])
        return trader, craftsman

    def _turnover(self, declaration):
        return {line.category_id.code: (line.computed_amount, line.amount) for line in declaration.line_ids}

    def _at_urssaf(self, partner, period):
        return self._sandbox_declarations(partner, period[0])

    def test_cron_declares_what_the_books_collected_then_pays(self):
        self.company.write({"urssaf_auto_declare": True, "urssaf_auto_declare_days": 400, "urssaf_reminder_days": 0})
        runs_before = self.env["urssaf.run"].search([])
        self._run_cron()
        trader, craftsman = self._declarations()
        self.assertEqual((trader.period_start, trader.period_end), self.october)
        self.assertEqual((craftsman.period_start, craftsman.period_end), self.q3)
        self.assertEqual((trader.state, craftsman.state), ("declared", "declared"))
        self.assertEqual(self._turnover(trader), {"VENTE_MARCHANDISES": (1250.0, 1250.0)})
        self.assertEqual(self._turnover(craftsman), {"PRESTATION_SERVICES_BIC": (3600.0, 3600.0)})
        # DOMAIN.md: goods 12.3 % rounded to the euro (154), CFP 0.1 % of a
        # trader (1.25), TFC 0.015 % (0.19, rounded to 0).
        self.assertEqual(trader.amount_total, 155.25)
        # Craft services 21.2 % (763), CFP 0.3 % of a craftsman (10.80), TFC
        # of a Moselle craftsman 0.83 % of services (29.88, rounded to 30).
        self.assertEqual(craftsman.amount_total, 803.8)
        for declaration, partner, period, turnover in (
            (trader, self.trader, self.october, "VENTE_MARCHANDISES"),
            (craftsman, self.craftsman, self.q3, "PRESTATION_SERVICES_BIC"),
        ):
            (held,) = self._at_urssaf(partner, period)
            self.assertEqual(held.number, declaration.urssaf_number)
            self.assertEqual(held.reference_tiers, declaration.reference_tiers)
            self.assertEqual(held.turnover, ((turnover, Decimal(str(declaration.turnover_total))),))
            self.assertEqual(held.total, Decimal(str(declaration.amount_total)))
            self.assertEqual(held.status, "DECLAREE")
        self.assertFalse((trader | craftsman).activity_ids, "declared: no reminder")
        (run,) = self.env["urssaf.run"].search([]) - runs_before
        self.assertEqual(run.company_id, self.company)
        self.assertEqual((run.done_count, run.failed_count, run.skipped_count), (2, 0, 0))

        # Then the declarant pays, from the mandates Urssaf debits.
        self.env["res.partner.bank"].create(
            {"partner_id": self.trader.id, "acc_number": "FR76 3000 6000 0112 3456 7890 189"}
        )
        self.trader.action_urssaf_sync_sepa_mandates()
        bank = self.env["res.partner.bank"].create(
            {"partner_id": self.craftsman.id, "acc_number": "FR14 2004 1010 0505 0001 3M02 606"}
        )
        sepa = self.env["urssaf.sepa.mandate"].create(
            {
                "partner_id": self.craftsman.id,
                "bank_account_id": bank.id,
                "holder": self.craftsman.name,
                "signature_date": date(2026, 11, 2),
            }
        )
        sepa.action_register()
        result = (trader | craftsman).with_user(self.declarant).action_pay()
        self.assertEqual(result["params"]["message"], "Pay: 2 done.")
        # The craftsman's deadline has passed: debited today, paid. The
        # trader's is debited on its due date, in three days: ordered.
        self.assertEqual((trader.debit_date, craftsman.debit_date), (date(2026, 11, 30), date(2026, 11, 27)))
        self.assertEqual((trader.state, craftsman.state), ("ordered", "paid"))
        for declaration, partner, period in ((trader, self.trader, self.october), (craftsman, self.craftsman, self.q3)):
            self.assertEqual(declaration.payment_amount, declaration.amount_total)
            (held,) = self._at_urssaf(partner, period)
            self.assertEqual((held.status, held.remaining_due), ("PAYEE", Decimal(0)))

        # A second run changes nothing: nothing prepared, declared nor paid twice.
        self._run_cron()
        self.assertEqual(self._declarations(), (trader, craftsman))
        self.assertEqual(len(self._at_urssaf(self.trader, self.october)), 1)
        self.assertEqual(len(self._at_urssaf(self.craftsman, self.q3)), 1)
        self.assertEqual((trader.state, craftsman.state), ("ordered", "paid"), "not debited yet")
        # A payment ordered is locked like a paid one, and never paid twice.
        with self.assertRaises(UserError):
            trader.line_ids.with_user(self.declarant).amount = 1.0
        with self.assertRaises(UserError):
            trader.with_user(self.declarant).sepa_mandate_id = False
        trader.with_user(self.declarant).action_pay()
        self.assertEqual(trader.state, "ordered")
        # The debit date's run: paid, and said so.
        with freeze_time("2026-11-30 10:00:00"):
            self._run_cron()
        self.assertEqual((trader.state, craftsman.state), ("paid", "paid"))
        self.env.cr.flush()  # the tracking message, as a commit would
        trader.invalidate_recordset(["message_ids"])
        texts = [html2plaintext(message.body) for message in trader.message_ids.sorted("id") if message.body]
        self.assertEqual(texts[-1], f"Payment debited on 11/30/2026: {trader._format_amount(trader.payment_amount)}.")
        self.assertEqual(len(self._at_urssaf(self.trader, self.october)), 1)

    def test_cron_reads_the_books_again_before_declaring(self):
        """Drafts prepared earlier are declared with what the books say on
        the day of the run; an amount a declarant adjusted is kept."""
        self.company.write({"urssaf_auto_declare": False, "urssaf_reminder_days": 0})
        self._run_cron()
        trader, craftsman = self._declarations()
        self.assertEqual((trader.state, craftsman.state), ("draft", "draft"))
        self.assertEqual(self._turnover(trader), {"VENTE_MARCHANDISES": (1250.0, 1250.0)})
        # A payment of October entered late, and the craftsman's amount adjusted.
        paid_vendor_bill(self.env, self.trader, date(2026, 10, 12), 80.0, date(2026, 10, 30))
        craftsman.line_ids.with_user(self.declarant).amount = 3500.0
        # An older draft, which no preparation refreshes any more, and its
        # payment entered late too.
        september = self._declaration(self.trader, date(2026, 9, 1), date(2026, 9, 30), {"VENTE_MARCHANDISES": 0.0})
        paid_vendor_bill(self.env, self.trader, date(2026, 9, 1), 500.0, date(2026, 9, 4))

        self.company.write({"urssaf_auto_declare": True, "urssaf_auto_declare_days": 400})
        self._run_cron()
        self.assertEqual((trader.state, craftsman.state), ("declared", "declared"))
        self.assertEqual(self._turnover(trader), {"VENTE_MARCHANDISES": (1330.0, 1330.0)})
        self.assertEqual(self._turnover(craftsman), {"PRESTATION_SERVICES_BIC": (3600.0, 3500.0)})
        self.assertEqual(september.state, "declared")
        self.assertEqual(self._turnover(september), {"VENTE_MARCHANDISES": (500.0, 500.0)})
        (held,) = self._at_urssaf(self.trader, self.october)
        self.assertEqual(held.turnover, (("VENTE_MARCHANDISES", Decimal("1330.00")),))
        (held,) = self._at_urssaf(self.craftsman, self.q3)
        self.assertEqual(held.turnover, (("PRESTATION_SERVICES_BIC", Decimal("3500.00")),))

    def test_cron_reminds_once_n_days_before_the_deadline(self):
        """Declared 2 days before the deadline at most: the craftsman's
        (overdue) is declared, the trader's (due in 3 days) is not; its
        accountant is reminded from 3 days before the deadline, once."""
        self.company.write({"urssaf_auto_declare": True, "urssaf_auto_declare_days": 2, "urssaf_reminder_days": 2})
        self._run_cron()
        trader, craftsman = self._declarations()
        self.assertEqual((trader.state, craftsman.state), ("draft", "declared"))
        self.assertEqual(trader.due_date, date(2026, 11, 30))
        self.assertFalse(trader.activity_ids, "due in 3 days: not yet reminded 2 days before")

        self.company.urssaf_reminder_days = 3
        self._run_cron()
        self._run_cron()
        activity = trader.activity_ids
        self.assertEqual(len(activity), 1, "one to-do, not one per run")
        self.assertEqual(activity.activity_type_id, self.env.ref("mail.mail_activity_data_todo"))
        self.assertEqual(activity.date_deadline, date(2026, 11, 30))
        self.assertEqual(activity.user_id, self.declarant)
        self.assertEqual(activity.summary, "Urssaf declaration due on 11/30/2026")
        self.assertFalse(craftsman.activity_ids, "declared: no reminder")
        self.assertEqual(trader.state, "draft", "still outside the days to declare automatically")
        self.assertFalse(self._at_urssaf(self.trader, self.october))


@tagged("post_install", "-at_install")
class TestDeclarationButtons(UrssafDeclarationCase):
    """Cancel, Reset to draft and Refresh turnover."""

    def _estimated(self, partner, start, end, amounts, periodicity="monthly"):
        declaration = self._declaration(partner, start, end, amounts, periodicity)
        declaration.with_user(self.preparer).action_estimate()
        self.assertEqual(declaration.state, "estimated")
        return declaration

    def _refused(self, call, message):
        with self.assertRaises(UserError) as caught:
            call()
        self.assertEqual(str(caught.exception), message)

    def test_cancel_frees_the_period(self):
        declaration = self._estimated(self.trader, date(2026, 10, 1), date(2026, 10, 31), {"VENTE_MARCHANDISES": 9.0})
        self.assertIs(declaration.with_user(self.preparer).action_cancel(), True)
        self.assertEqual(declaration.state, "cancelled")
        self.assertFalse(self._sandbox_declarations(self.trader, date(2026, 10, 1)), "nothing sent")
        # Another declaration of the period may be made, in a later request
        # (the end of this one saves the cancellation): the cancelled one
        # does not count.
        self.env.flush_all()
        again = self._declaration(self.trader, date(2026, 10, 1), date(2026, 10, 31), {"VENTE_MARCHANDISES": 10.0})
        self.assertEqual(again.state, "draft")

    def test_cancel_is_refused_once_urssaf_holds_it_or_may_hold_it(self):
        declared = self._estimated(self.trader, date(2026, 9, 1), date(2026, 9, 30), {"VENTE_MARCHANDISES": 9.0})
        declared.with_user(self.declarant).action_declare()
        self._refused(
            declared.with_user(self.declarant).action_cancel,
            "Camille MARTIN, 09/01/2026 – 09/30/2026 is declared to Urssaf: it cannot be cancelled.",
        )
        self.assertEqual(declared.state, "declared")
        unknown = self._declaration(self.trader, date(2026, 8, 1), date(2026, 8, 31), {"VENTE_MARCHANDISES": 9.0})
        unknown.sudo().write({"state": "error", "error_step": "declare", "outcome_unknown": True})
        self._refused(
            unknown.with_user(self.declarant).action_cancel,
            "Camille MARTIN, 08/01/2026 – 08/31/2026 is declared to Urssaf: it cannot be cancelled.",
        )
        self.assertEqual((unknown.state, unknown.outcome_unknown), ("error", True))

    def test_reset_to_draft(self):
        failed = self._declaration(self.trader, date(2026, 10, 1), date(2026, 10, 31), {"VENTE_MARCHANDISES": 9.0})
        failed.sudo().write({"state": "error", "error_step": "estimate", "error_message": "Urssaf said no"})
        self.assertIs(failed.with_user(self.preparer).action_reset_to_draft(), True)
        self.assertEqual(
            (failed.state, failed.error_step, failed.error_message, failed.outcome_unknown),
            ("draft", False, False, False),
        )
        failed.with_user(self.preparer).action_cancel()
        failed.with_user(self.preparer).action_reset_to_draft()
        self.assertEqual(failed.state, "draft", "a cancelled declaration comes back")

        declared = self._estimated(self.trader, date(2026, 9, 1), date(2026, 9, 30), {"VENTE_MARCHANDISES": 9.0})
        declared.with_user(self.declarant).action_declare()
        self._refused(
            declared.with_user(self.declarant).action_reset_to_draft,
            "Camille MARTIN, 09/01/2026 – 09/30/2026 is declared to Urssaf: it cannot go back to draft.",
        )
        self.assertEqual(declared.state, "declared")
        unknown = self._declaration(self.trader, date(2026, 8, 1), date(2026, 8, 31), {"VENTE_MARCHANDISES": 9.0})
        unknown.sudo().write({"state": "error", "error_step": "declare", "outcome_unknown": True})
        self._refused(
            unknown.with_user(self.declarant).action_reset_to_draft,
            "Camille MARTIN, 08/01/2026 – 08/31/2026 may have been recorded by Urssaf: declare it again to look it "
            "up first.",
        )
        self.assertEqual((unknown.state, unknown.outcome_unknown), ("error", True))

    def test_refresh_turnover_reads_the_books(self):
        paid_vendor_bill(self.env, self.trader, date(2026, 10, 2), 1250.0, date(2026, 10, 20))
        paid_vendor_bill(self.env, self.trader, date(2026, 9, 2), 300.0, date(2026, 9, 10))
        paid_vendor_bill(self.env, self.craftsman, date(2026, 8, 3), 3600.0, date(2026, 8, 28))
        draft = self._declaration(self.trader, date(2026, 10, 1), date(2026, 10, 31), {"VENTE_MARCHANDISES": 0.0})
        adjusted = self._declaration(
            self.craftsman, date(2026, 7, 1), date(2026, 9, 30), {"PRESTATION_SERVICES_BIC": 0.0}, "quarterly"
        )
        adjusted.line_ids.with_user(self.declarant).amount = 100.0
        estimated = self._estimated(self.trader, date(2026, 9, 1), date(2026, 9, 30), {"VENTE_MARCHANDISES": 300.0})
        unchanged = self._estimated(self.trader, date(2026, 6, 1), date(2026, 6, 30), {"VENTE_MARCHANDISES": 0.0})
        declared = self._estimated(self.trader, date(2026, 5, 1), date(2026, 5, 31), {"VENTE_MARCHANDISES": 7.0})
        declared.with_user(self.declarant).action_declare()
        paid_vendor_bill(self.env, self.trader, date(2026, 5, 2), 500.0, date(2026, 5, 5))
        paid_vendor_bill(self.env, self.trader, date(2026, 9, 3), 20.0, date(2026, 9, 15))

        everything = draft | adjusted | estimated | unchanged | declared
        self.assertIs(everything.with_user(self.preparer).action_refresh_turnover(), True)

        def turnover(declaration):
            return {line.category_id.code: (line.computed_amount, line.amount) for line in declaration.line_ids}

        self.assertEqual(turnover(draft), {"VENTE_MARCHANDISES": (1250.0, 1250.0)})
        self.assertEqual(turnover(adjusted), {"PRESTATION_SERVICES_BIC": (3600.0, 100.0)}, "the adjustment is kept")
        self.assertEqual(turnover(estimated), {"VENTE_MARCHANDISES": (320.0, 320.0)})
        self.assertEqual(estimated.state, "draft", "its amounts changed since its estimate: estimate again")
        self.assertEqual((turnover(unchanged), unchanged.state), ({"VENTE_MARCHANDISES": (0.0, 0.0)}, "estimated"))
        self.assertEqual(turnover(declared), {"VENTE_MARCHANDISES": (7.0, 7.0)}, "what was declared stays")
        self.assertEqual(declared.state, "declared")
