# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The daily job run by Odoo's own cron runner (``ir.cron``), as the
scheduler does: a transaction of its own committing after each
auto-entrepreneur (``_commit_progress``), a time budget, the job run again
while it reports work left, and several companies."""

from datetime import date
from decimal import Decimal
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged

from odoo.addons.base.models import ir_cron

from ..urssaf_api.seed import seed_account
from .common import paid_vendor_bill
from .test_declaration import DOCUMENT, UrssafDeclarationCase

MODULE = "l10n_fr_urssaf_tierce_declaration"


@tagged("post_install", "-at_install")
class TestDailyJob(UrssafDeclarationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cron = cls.env.ref(f"{MODULE}.ir_cron_urssaf_declarations")
        # The run in the cron job itself, not through OCA's job queue when
        # it is installed (tests/test_job_queue.py).
        without_queue = {"urssaf_job_queue": False}
        # Automatic runs need someone responsible: the declarant.
        cls.company.write(
            {
                "urssaf_auto_declare": True,
                "urssaf_auto_declare_days": 400,
                "urssaf_reminder_days": 0,
                "urssaf_responsible_user_id": cls.declarant.id,
                **without_queue,
            }
        )
        # Company A (this one): the trader's October and the craftsman's
        # third quarter, paid in their period.
        paid_vendor_bill(cls.env, cls.trader, date(2026, 10, 2), 1250.0, date(2026, 10, 20))
        paid_vendor_bill(cls.env, cls.craftsman, date(2026, 8, 3), 3600.0, date(2026, 8, 28))
        # Company B declares for a liberal auto-entrepreneur; its October
        # amount was set by a declarant (no books here), and is kept.
        cls.company_b = cls.env["res.company"].create({"name": "Cabinet B"})
        cls.company_b.write(
            {
                "urssaf_auto_declare": True,
                "urssaf_auto_declare_days": 400,
                "urssaf_reminder_days": 0,
                "urssaf_responsible_user_id": cls.declarant.id,
                **without_queue,
            }
        )
        seed = seed_account("liberal_bnc_liberatoire")
        cls.liberal = cls.env["res.partner"].create({"name": f"{seed['prenoms']} {seed['nom']}"})
        # Company B declares for it: its Urssaf account is company B's.
        liberal_b = cls.liberal.with_company(cls.company_b)
        liberal_b.write(
            {
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_identifier_type": "nir",
                "urssaf_nir": seed["nir"],
                "urssaf_category_id": cls.categories["PRESTATION_SERVICES_BNC"].id,
                "urssaf_trade": "liberal",
            }
        )
        liberal_b.action_urssaf_check_account()
        cls.mandate_b = (
            cls.env["urssaf.mandate"]
            .with_company(cls.company_b)
            .create(
                {
                    "partner_id": cls.liberal.id,
                    "company_id": cls.company_b.id,
                    "signature_date": date(2026, 1, 5),
                    "document": DOCUMENT,
                }
            )
        )
        cls.mandate_b.action_register()
        cls.october_b = (
            cls.env["urssaf.declaration"]
            .with_company(cls.company_b)
            .create(
                {
                    "partner_id": cls.liberal.id,
                    "company_id": cls.company_b.id,
                    "period_start": date(2026, 10, 1),
                    "period_end": date(2026, 10, 31),
                    "line_ids": [
                        fields.Command.create(
                            {
                                "category_id": cls.categories["PRESTATION_SERVICES_BNC"].id,
                                "computed_amount": 0.0,
                                "amount": 700.0,
                            }
                        )
                    ],
                }
            )
        )
        # Company C has an auto-entrepreneur, but no mandate: nothing to do.
        cls.company_c = cls.env["res.company"].create({"name": "Cabinet C"})
        cls.env["res.partner"].with_company(cls.company_c).create(
            {
                "name": "AE of C",
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_category_id": cls.categories["PRESTATION_SERVICES_BNC"].id,
                "company_id": cls.company_c.id,
            }
        )

    def setUp(self):
        super().setUp()
        # The sandbox starts from its seed for each test: company B's mandate too.
        client = self.company_b._urssaf_client()
        client.register_mandate(self.liberal._urssaf_identifier(self.company_b), date(2026, 1, 5))

    def _run_job(self):
        """The job, as the scheduler runs it, in a transaction of its own
        (the test's, through Odoo's test cursors, which commit to savepoints)."""
        with self.enter_registry_test_mode():
            result = self.cron.method_direct_trigger()
        self.assertIs(result, True, "the job ran without error")
        self.cron.invalidate_recordset()

    def _declarations(self):
        return self.env["urssaf.declaration"].search(
            [("partner_id", "in", (self.trader | self.craftsman | self.liberal).ids)], order="id"
        )

    def _assert_all_declared_once(self):
        declarations = self._declarations()
        self.assertEqual(len(declarations), 3)
        self.assertEqual(set(declarations.mapped("state")), {"declared"})
        turnover = {
            (d.company_id, d.partner_id, d.period_start): {line.category_id.code: line.amount for line in d.line_ids}
            for d in declarations
        }
        self.assertEqual(
            turnover,
            {
                (self.company, self.trader, date(2026, 10, 1)): {"VENTE_MARCHANDISES": 1250.0},
                (self.company, self.craftsman, date(2026, 7, 1)): {"PRESTATION_SERVICES_BIC": 3600.0},
                (self.company_b, self.liberal, date(2026, 10, 1)): {"PRESTATION_SERVICES_BNC": 700.0},
            },
        )
        for declaration in declarations:
            client = declaration.company_id._urssaf_client()
            held = client.find_declarations(
                declaration.partner_id._urssaf_identifier(declaration.company_id), declaration.period_start
            )
            self.assertEqual([d.number for d in held], [declaration.urssaf_number], "declared once at Urssaf")
            self.assertEqual(
                dict(held[0].turnover),
                {
                    code: Decimal(str(amount)).quantize(Decimal("0.01"))
                    for code, amount in turnover[
                        (declaration.company_id, declaration.partner_id, declaration.period_start)
                    ].items()
                },
            )
        self.assertFalse(self.env["urssaf.declaration"].search([("company_id", "=", self.company_c.id)]))
        return declarations

    def _progress(self):
        return self.env["ir.cron.progress"].search([("cron_id", "=", self.cron.id)], order="id")

    def test_one_call_declares_every_company(self):
        self._progress().unlink()
        self._run_job()
        declarations = self._assert_all_declared_once()
        (progress,) = self._progress()
        self.assertEqual((progress.done, progress.remaining), (3, 0), "one call did it all")
        # The cron runner dates its calls by the database's clock.
        now = self.env.cr.now().replace(microsecond=0)
        self.assertEqual(self.cron.lastcall, now)
        self.assertGreater(self.cron.nextcall, now, "rescheduled for its next day")
        self.assertFalse(self.env["ir.cron.trigger"].search([("cron_id", "=", self.cron.id)]))
        runs = self.env["urssaf.run"].search([("line_ids.declaration_id", "in", declarations.ids)])
        self.assertEqual(sorted(runs.mapped("company_id.name")), sorted([self.company.name, "Cabinet B"]))
        self.assertEqual(sorted(runs.mapped("done_count")), [1, 2])
        self.assertEqual(set(runs.mapped("state")), {"done"})

    def test_out_of_time_the_job_runs_again_until_every_company_is_done(self):
        """No time left after each declaration: every call of the job
        declares one per company and reports what is left, so the cron
        runner calls it again at once, until nothing is left."""
        self._progress().unlink()
        with patch.object(ir_cron, "MIN_TIME_PER_JOB", 0):
            self._run_job()
        self._assert_all_declared_once()
        progress = self._progress()
        self.assertEqual(progress.mapped("done"), [2, 1], "two calls: one of A and B's, then A's other")
        self.assertEqual(progress.mapped("remaining"), [1, 0])
        self.assertFalse(self.env["ir.cron.trigger"].search([("cron_id", "=", self.cron.id)]), "fully done")

    def test_scheduled_declarations_and_todos_go_to_the_responsible_accountant(self):
        """Issue 27: what the scheduled action prepares, and the deadline
        to-dos it plans, go to the company's responsible accountant, never to
        OdooBot; the to-do is done once the declaration is declared."""
        accountant = self.declarant
        # Prepared, not declared automatically, reminded now.
        self.company.write({"urssaf_auto_declare": False, "urssaf_reminder_days": 400})
        self._run_job()
        mine = self._declarations().filtered(lambda d: d.company_id == self.company)
        self.assertEqual(len(mine), 2)
        self.assertEqual(set(mine.mapped("state")), {"draft"})
        self.assertEqual(mine.user_id, accountant, "responsible: the accountant, not OdooBot")
        todos = mine.activity_ids
        self.assertEqual(len(todos), 2, "one to-do per declaration")
        self.assertEqual(todos.user_id, accountant)
        self.assertEqual(todos.activity_type_id, self.env.ref("mail.mail_activity_data_todo"))

        trader = mine.filtered(lambda d: d.partner_id == self.trader)
        trader.with_user(accountant).action_estimate()
        trader.with_user(accountant).action_declare()
        self.assertEqual(trader.state, "declared")
        self.assertFalse(trader.activity_ids, "the to-do is done once declared")
        done = self.env["mail.message"].search(
            [("model", "=", trader._name), ("res_id", "=", trader.id), ("mail_activity_type_id", "!=", False)]
        )
        self.assertEqual(len(done), 1, "marked done, not deleted")
        other = mine - trader
        self.assertEqual(len(other.activity_ids), 1, "the other declaration's to-do is left open")

        # The next run plans no to-do for the declared one.
        self._run_job()
        self.assertFalse(trader.activity_ids)

    def test_a_declaration_created_by_a_user_keeps_that_user(self):
        declaration = (
            self.env["urssaf.declaration"]
            .with_user(self.preparer)
            .create(
                {
                    "partner_id": self.trader.id,
                    "company_id": self.company.id,
                    "period_start": date(2026, 10, 1),
                    "period_end": date(2026, 10, 31),
                }
            )
        )
        self.assertEqual(declaration.user_id, self.preparer)
        self.company.write({"urssaf_auto_declare_days": 0, "urssaf_reminder_days": 400})
        self._run_job()
        self.assertEqual(declaration.user_id, self.preparer)
        self.assertEqual(declaration.activity_ids.user_id, self.preparer)
