# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""From posted and paid vendor bills to declarations, with the period wizard,
and the year's turnover against the micro ceilings."""

import base64
from datetime import date

from odoo import Command, fields
from odoo.tests import HttpCase, freeze_time, new_test_user, tagged

from ..models import urssaf_declaration_preparation as preparation
from ..urssaf_api import periods
from ..urssaf_api.ceilings import ceilings
from ..urssaf_api.seed import seed_account
from .common import FROZEN_NOW, UrssafAccountingCase, UrssafSandboxMixin
from .rpc_trust import DECLARANT, PASSWORD, PREPARER
from .test_declaration_trust import _make_auto_entrepreneur

MODULE = "l10n_fr_urssaf_tierce_declaration"
VAT = 0.2


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestPrepareWizard(UrssafAccountingCase):
    @classmethod
    def get_default_groups(cls):
        return super().get_default_groups() | cls.quick_ref(f"{MODULE}.group_urssaf_declarant")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.company_data["company"]
        cls.goods = cls.env.ref(f"{MODULE}.category_vente_marchandises")
        cls.service = cls.env.ref(f"{MODULE}.category_prestation_services_bic")
        cls.vat = cls.env["account.tax"].create(
            {"name": "VAT 20 %", "amount": VAT * 100, "amount_type": "percent", "type_tax_use": "purchase"}
        )
        cls.today = fields.Date.context_today(cls.env["urssaf.declaration"])
        seed = seed_account("monthly_trader")
        cls.trader = cls.env["res.partner"].create(
            {
                "name": "Camille Martin",
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_identifier_type": "nir",
                "urssaf_nir": seed["nir"],
                "urssaf_category_id": cls.goods.id,
                "urssaf_trade": "commercant",
                "urssaf_turnover_source": "vendor_bills",
            }
        )
        cls.trader.with_company(cls.company).action_urssaf_check_account()
        mandate = cls.env["urssaf.mandate"].create(
            {
                "partner_id": cls.trader.id,
                "company_id": cls.company.id,
                "signature_date": date(2026, 1, 5),
                "document": base64.b64encode(b"%PDF mandat"),
            }
        )
        mandate.action_register()
        cls.last_month = periods.last_ended_period(cls.today, date(2019, 3, 1), periods.MONTHLY)

    def _paid_bill(self, partner, day, untaxed, pay_day, paid=None):
        bill = self.env["account.move"].create(
            {
                "move_type": "in_invoice",
                "partner_id": partner.id,
                "invoice_date": day,
                "date": day,
                "invoice_line_ids": [
                    Command.create({"name": "Work", "price_unit": untaxed, "tax_ids": [Command.set(self.vat.ids)]})
                ],
            }
        )
        bill.action_post()
        self._register_payment(bill, amount=paid or bill.amount_total, payment_date=pay_day)
        return bill

    def _wizard(self, **values):
        return self.env["urssaf.declaration.prepare"].with_company(self.company).create(values)

    def test_wizard_creates_then_refreshes_the_last_ended_period(self):
        start, end = self.last_month
        bill = self._paid_bill(self.trader, start, 1000.0, end, paid=600.0)
        wizard = self._wizard()
        self.assertEqual(wizard.scope, "all", "every auto-entrepreneur of the company by default, no tags loaded")
        self.assertFalse(wizard.partner_ids)
        self.assertEqual(
            wizard.company_partner_count,
            self.env["urssaf.account"].search_count(
                [("company_id", "=", self.company.id), ("is_auto_entrepreneur", "=", True)]
            ),
        )
        count = wizard.company_partner_count
        self.assertEqual(
            wizard.company_partner_count_label,
            "1 auto-entrepreneur" if count == 1 else f"{count} auto-entrepreneurs",
        )
        wizard.action_prepare()
        declaration = wizard.declaration_ids
        self.assertEqual(len(declaration), 1)
        self.assertEqual((declaration.period_start, declaration.period_end), (start, end))
        self.assertEqual(declaration.periodicity, "monthly")
        # 600 paid of 1,200 tax included: 500 collected excluding VAT.
        self.assertEqual(declaration.line_ids.category_id, self.goods)
        self.assertAlmostEqual(declaration.line_ids.computed_amount, 600.0 / (1 + VAT))
        self.assertAlmostEqual(declaration.line_ids.amount, 500.0)
        self.assertIn("1 declaration created.", wizard.summary)
        self.assertEqual(wizard.created_ids, declaration)

        # The rest is paid within the period: preparing again refreshes it.
        self._register_payment(bill, amount=600.0, payment_date=end)
        again = self._wizard()
        again.action_prepare()
        self.assertEqual(again.declaration_ids, declaration)
        self.assertAlmostEqual(declaration.line_ids.amount, 1000.0)
        self.assertIn("0 declarations created.\n1 declaration refreshed.", again.summary)
        self.assertFalse(again.created_ids)

        action = declaration.line_ids.action_open_collected()
        lines = self.env[action["res_model"]].search(action["domain"])
        self.assertIn(bill, lines.move_id)

    def test_wizard_skips_with_reasons(self):
        no_mandate = self.env["res.partner"].create(
            {"name": "No mandate", "urssaf_is_auto_entrepreneur": True, "urssaf_category_id": self.goods.id}
        )
        wizard = self._wizard(partner_ids=[Command.set((self.trader | no_mandate).ids)])
        wizard.action_prepare()
        self.assertEqual(wizard.declaration_ids.partner_id, self.trader)
        self.assertIn("1 auto-entrepreneur skipped:\n- No mandate: Urssaf account not checked", wizard.summary)
        self.assertEqual([(skip.partner_id, skip.reason) for skip in wizard.skip_ids], [(no_mandate, "not_checked")])

    def test_zero_period_is_still_prepared(self):
        wizard = self._wizard()
        wizard.action_prepare()
        self.assertEqual(wizard.declaration_ids.line_ids.category_id, self.goods)
        self.assertEqual(wizard.declaration_ids.line_ids.amount, 0.0)

    def test_year_turnover_against_the_ceiling(self):
        sales_ceiling, _services = ceilings(self.today.year)
        start = self.today.replace(month=1, day=1)
        # 85 % of the sales ceiling collected this year: a warning.
        untaxed = round(float(sales_ceiling) * 0.85, 2)
        self._paid_bill(self.trader, start, untaxed, start)
        self.trader.invalidate_recordset()
        partner = self.trader.with_company(self.company)
        self.assertAlmostEqual(partner.urssaf_year_turnover, untaxed, places=2)
        self.assertAlmostEqual(partner.urssaf_ceiling_usage, 85.0, places=2)
        self.assertEqual(partner.urssaf_ceiling_state, "approaching")
        # Over the ceiling.
        self._paid_bill(self.trader, start, round(float(sales_ceiling) * 0.2, 2), start)
        partner.invalidate_recordset()
        self.assertEqual(partner.urssaf_ceiling_state, "exceeded")

    def test_a_run_over_several_batches_reads_each_period_once(self):
        """A run longer than a batch reads the turnover of each period once
        for all its auto-entrepreneurs, and each declaration gets its own
        amounts."""
        partners = self.env["res.partner"].create(
            [
                {
                    "name": f"Auto-entrepreneur {index}",
                    "urssaf_is_auto_entrepreneur": True,
                    "urssaf_category_id": self.goods.id,
                    "urssaf_turnover_source": "vendor_bills",
                }
                for index in range(3)
            ]
        )
        # Checked at Urssaf and under mandate, as the trader is.
        partners.sudo().with_company(self.company).write(
            {
                "urssaf_eligible": True,
                "urssaf_periodicity": "monthly",
                "urssaf_activity_start": self.trader.with_company(self.company).urssaf_activity_start,
                "urssaf_checked_at": fields.Datetime.now(),
            }
        )
        mandates = (
            self.env["urssaf.mandate"]
            .sudo()
            .create(
                [
                    {"partner_id": partner.id, "company_id": self.company.id, "signature_date": date(2026, 1, 5)}
                    for partner in partners
                ]
            )
        )
        mandates.write({"state": "active", "urssaf_mandate_ref": "test"})
        start, end = self.last_month
        for index, partner in enumerate(partners):
            self._paid_bill(partner, start, 100.0 * (index + 1), end)
        self._paid_bill(self.trader, start, 50.0, end)

        turnover_class = type(self.env["urssaf.turnover"])
        collected_totals = turnover_class._collected_totals
        asked = []

        def counting(model, partners, *args):
            asked.append(len(partners))
            return collected_totals(model, partners, *args)

        preparation_class = type(self.env["urssaf.declaration.preparation"])
        period_for = preparation_class._period_for
        periods_asked = []

        def counting_periods(model, partner, *args):
            periods_asked.append(partner.id)
            return period_for(model, partner, *args)

        self.patch(turnover_class, "_collected_totals", counting)
        self.patch(preparation_class, "_period_for", counting_periods)
        self.patch(preparation, "PREPARE_BATCH", 2)
        result = self.env["urssaf.declaration.preparation"]._prepare(self.trader | partners, self.company, self.today)
        self.assertEqual(asked, [4], "one query for the period's four auto-entrepreneurs, not one per batch")
        self.assertEqual(
            sorted(periods_asked),
            sorted((self.trader | partners).ids),
            "each auto-entrepreneur's period worked out once, for the turnover and its batch",
        )
        amounts = {declaration.partner_id: declaration.line_ids.amount for declaration in result["created"]}
        self.assertEqual(
            amounts,
            {self.trader: 50.0, **{partner: 100.0 * (index + 1) for index, partner in enumerate(partners)}},
        )


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestPrepareWizardSkipsRpc(UrssafSandboxMixin, HttpCase):
    """The wizard's result over XML-RPC, as the preparer who runs it: the
    declarations created, and each auto-entrepreneur left out with its
    reason, in sentences whose plurals are right."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.preparer = new_test_user(
            cls.env,
            login="prepare_skips_preparer",
            password=PASSWORD,
            groups=f"account.group_account_user,{PREPARER}",
            lang="en_US",
        )
        cls.declarant = new_test_user(
            cls.env, login="prepare_skips_declarant", groups=f"account.group_account_manager,{DECLARANT}"
        )
        # Under mandate: a declaration each, for October 2026.
        cls.trader = _make_auto_entrepreneur(cls.env, "monthly_trader")
        cls.translator = _make_auto_entrepreneur(cls.env, "acre_new_business")
        # Checked, eligible, but no mandate given to the company.
        cls.craftsman = _make_auto_entrepreneur(cls.env, "quarterly_craftsman_moselle", mandate=False)
        cls.consultant = _make_auto_entrepreneur(cls.env, "liberal_bnc_liberatoire", mandate=False)
        # Urssaf says it is not eligible.
        cls.ineligible = _make_auto_entrepreneur(cls.env, "not_eligible", mandate=False)
        # Under mandate, but its first period ends on 31 December 2026.
        cls.newcomer = _make_auto_entrepreneur(cls.env, "new_business_quarterly")
        # Never checked at Urssaf.
        cls.unchecked = cls.env["res.partner"].create(
            {
                "name": "Unchecked auto-entrepreneur",
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_category_id": cls.env.ref(f"{MODULE}.category_vente_marchandises").id,
            }
        )

    def rpc(self, model, method, *args, **kwargs):
        return self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, self.preparer.id, PASSWORD, model, method, list(args), kwargs
        )

    def _prepare(self, values):
        """Run the wizard as the preparer; its result and the lines skipped."""
        wizard_id = self.rpc("urssaf.declaration.prepare", "create", values)
        self.rpc("urssaf.declaration.prepare", "action_prepare", [wizard_id])
        (result,) = self.rpc(
            "urssaf.declaration.prepare", "read", [wizard_id], fields=["summary", "created_ids", "skip_ids"]
        )
        skips = self.rpc(
            "urssaf.declaration.prepare.skip", "read", result["skip_ids"], fields=["partner_id", "reason", "detail"]
        )
        return result, {skip["partner_id"][0]: (skip["reason"], skip["detail"]) for skip in skips}

    def _declarations(self, partners):
        return self.env["urssaf.declaration"].search([("partner_id", "in", partners.ids)])

    def test_each_skipped_auto_entrepreneur_with_its_reason(self):
        result, skipped = self._prepare({})

        created = self.env["urssaf.declaration"].browse(result["created_ids"])
        self.assertEqual(created.partner_id, self.trader | self.translator)
        self.assertEqual(set(created.mapped("period_end")), {date(2026, 10, 31)})
        self.assertEqual(
            {partner_id: reason for partner_id, (reason, _detail) in skipped.items()},
            {
                self.craftsman.id: "no_mandate",
                self.consultant.id: "no_mandate",
                self.ineligible.id: "not_eligible",
                self.newcomer.id: "not_ended",
                self.unchecked.id: "not_checked",
            },
        )
        self.assertIn("Sortie du régime micro-social", skipped[self.ineligible.id][1], "Urssaf's reason")
        self.assertIn("no period has ended yet", skipped[self.newcomer.id][1])
        self.assertFalse(
            self._declarations(self.craftsman | self.consultant | self.ineligible | self.newcomer | self.unchecked)
        )

        summary = result["summary"]
        self.assertTrue(summary.startswith("2 declarations created.\n5 auto-entrepreneurs skipped:\n"), summary)
        self.assertNotIn("refreshed", summary, "nothing refreshed: not said")
        for partner, reason in (
            (self.craftsman, "No active mandate"),
            (self.consultant, "No active mandate"),
            (self.unchecked, "Urssaf account not checked"),
            (self.newcomer, "Period not ended (no period has ended yet since its activity started)"),
        ):
            self.assertIn(f"- {partner.display_name}: {reason}\n", f"{summary}\n")
        self.assertIn(f"- {self.ineligible.display_name}: Not eligible (Sortie du régime micro-social", summary)

    def test_already_declared_and_the_singulars(self):
        result, _skipped = self._prepare({})
        declared = (
            self.env["urssaf.declaration"]
            .browse(result["created_ids"])
            .filtered(lambda declaration: declaration.partner_id == self.trader)
        )
        declared.with_user(self.preparer).action_estimate()
        declared.with_user(self.declarant).action_declare()
        self.assertTrue(declared.urssaf_number, declared.error_message)

        result, skipped = self._prepare({"partner_ids": [(6, 0, (self.trader | self.translator).ids)]})
        self.assertEqual(skipped, {self.trader.id: ("already_declared", declared.urssaf_number)})
        self.assertFalse(result["created_ids"])
        self.assertEqual(self._declarations(self.trader), declared, "nothing created beside the declared one")
        self.assertEqual(
            result["summary"],
            "0 declarations created.\n1 declaration refreshed.\n1 auto-entrepreneur skipped:\n"
            f"- {self.trader.display_name}: Already declared ({declared.urssaf_number})",
        )

        result, skipped = self._prepare({"partner_ids": [(6, 0, (self.trader | self.craftsman).ids)]})
        self.assertEqual(
            result["summary"].split("\n")[:2], ["0 declarations created.", "2 auto-entrepreneurs skipped:"]
        )
