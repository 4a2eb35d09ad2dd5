# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Unattended runs against a fault-injecting Urssaf on the loopback, set in
the settings like a real environment: nothing lost, nothing sent twice."""

import threading
from collections import Counter
from datetime import date
from unittest.mock import patch

from odoo import api, fields
from odoo.tests import freeze_time, tagged

from odoo.addons.base.models.ir_cron import IrCron

from ..models.urssaf_declaration import UrssafDeclaration
from ..models.urssaf_declaration_run import UNREACHABLE_STOP_AFTER, UrssafDeclarationRun
from ..urssaf_api.sandbox import Sandbox
from ..urssaf_api.seed import synthetic_siret
from ..urssaf_api.storage import MemoryStorage
from ..urssaf_api.testing import DECLARE, Delay, ExpireTokens, FaultServer, RateLimit, ServerError
from .common import FROZEN_NOW, UrssafTransactionCase, start_remote_urssaf

PERIOD = (date(2026, 10, 1), date(2026, 10, 31))
BATCH = 50
# base.user_admin: created right after OdooBot by the base module, in every database.
ADMIN_USER_ID = 2


def _company_settings(base_url, responsible_id=False):
    # Automatic runs need a responsible accountant (issue 27): the
    # administrator unless the test names another one.
    return {
        "urssaf_responsible_user_id": responsible_id or ADMIN_USER_ID,
        "urssaf_environment": "sandbox",
        "urssaf_client_id": "demo-tiers",
        "urssaf_client_secret": "demo-secret",
        "urssaf_base_url": base_url,
        "urssaf_timeout": 1.0,
        "urssaf_connect_timeout": 1.0,
        "urssaf_auto_declare": True,
        "urssaf_auto_declare_days": 400,
        "urssaf_reminder_days": 0,
    }


def _make_batch(env, remote, count, first_index=0):
    """``count`` auto-entrepreneurs known to the remote Urssaf (mandate held
    by this platform) and to Odoo (checked, with an active mandate), each with
    a draft declaration of ``PERIOD``."""
    category = env.ref("l10n_fr_urssaf_tierce_declaration.category_vente_marchandises")
    partners = env["res.partner"]
    for index in range(first_index, first_index + count):
        siret = synthetic_siret(index)
        remote.add_account(
            siret=siret,
            nom=f"AE{index}",
            prenoms="Test",
            dateNaissance="1990-01-01",
            periodicite="MENSUELLE",
            dateDebutActivite="2019-01-01",
            categories=["VENTE_MARCHANDISES"],
            trade="commercant",
            mandate_holder="demo-tiers",
        )
        partners |= env["res.partner"].create(
            {
                "name": f"AE {index}",
                "company_registry": siret,
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_identifier_type": "siret",
                "urssaf_category_id": category.id,
                "urssaf_trade": "commercant",
            }
        )
    partners.sudo().write(
        {
            "urssaf_eligible": True,
            "urssaf_periodicity": "monthly",
            "urssaf_activity_start": date(2019, 1, 1),
            "urssaf_checked_at": fields.Datetime.now(),
        }
    )
    mandates = env["urssaf.mandate"].create(
        [{"partner_id": partner.id, "signature_date": date(2026, 1, 5)} for partner in partners]
    )
    mandates.sudo().write({"state": "active", "urssaf_mandate_ref": "known-at-urssaf"})
    return env["urssaf.declaration"].create(
        [
            {
                "partner_id": partner.id,
                "period_start": PERIOD[0],
                "period_end": PERIOD[1],
                "periodicity": "monthly",
                # No invoice in these books: the amounts are a declarant's
                # adjustments, which the scheduled run keeps when it reads
                # the books again before declaring.
                "line_ids": [
                    fields.Command.create({"category_id": category.id, "computed_amount": 0.0, "amount": 100.0 + i})
                ],
            }
            for i, partner in enumerate(partners)
        ]
    )


def _no_commit():
    """The run commits after each auto-entrepreneur; a test transaction may not."""
    return patch.object(IrCron, "_commit_progress", lambda cron, processed=0, **kw: float("inf"))


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestUnattendedRuns(UrssafTransactionCase):
    def setUp(self):
        super().setUp()
        start_remote_urssaf(self)
        self.company = self.env.company
        self.company.sudo().write(_company_settings(self.server.base_url))
        self.today = fields.Date.context_today(self.env["urssaf.declaration"])

    def _run(self):
        with _no_commit():
            return self.env["urssaf.declaration"]._auto_declare(self.company, self.today)

    def _assert_each_declared_once(self, declarations):
        sent = Counter(
            request.json()["referenceTiers"] for request in self.server.requests_for(DECLARE, delegated=True)
        )
        self.assertEqual(set(sent), set(declarations.mapped("reference_tiers")))
        self.assertEqual(set(sent.values()), {1}, "no declaration reached Urssaf twice")
        self.assertEqual(set(declarations.mapped("state")), {"declared"})
        self.assertEqual(len(set(declarations.mapped("urssaf_number"))), len(declarations))

    def test_token_expiry_in_the_middle_of_a_batch(self):
        declarations = _make_batch(self.env, self.remote, BATCH)
        rule = self.server.inject(ExpireTokens(), DECLARE, calls=BATCH // 2)
        run = self._run()
        self.assertEqual(rule.fired, 1)
        self._assert_each_declared_once(declarations)
        self.assertEqual((run.done_count, run.failed_count, run.unknown_count), (BATCH, 0, 0))

    def test_rate_limited_every_third_call(self):
        declarations = _make_batch(self.env, self.remote, BATCH)
        rule = self.server.inject(RateLimit(retry_after=0), calls=range(3, 10 * BATCH, 3))
        run = self._run()
        self.assertGreater(rule.fired, BATCH // 2)
        self._assert_each_declared_once(declarations)
        self.assertEqual(run.done_count, BATCH)

    def test_server_errors_and_time_outs_on_declare_are_settled_by_the_next_run(self):
        declarations = _make_batch(self.env, self.remote, 12)

        def declaring(*targets):
            references = [declarations[i].reference_tiers.encode() for i in targets]
            return lambda request: any(reference in request.body for reference in references)

        self.server.inject(ServerError(500, after=True), DECLARE, when=declaring(1, 6))
        self.server.inject(Delay(1.5, after=True), DECLARE, when=declaring(3))
        self.server.inject(ServerError(503), DECLARE, when=declaring(9))
        run = self._run()
        unknown = declarations.filtered("outcome_unknown")
        self.assertEqual(unknown, declarations[1] | declarations[3] | declarations[6] | declarations[9])
        self.assertEqual(set(unknown.mapped("state")), {"error"})
        self.assertEqual(set((declarations - unknown).mapped("state")), {"declared"})
        self.assertEqual((run.done_count, run.unknown_count), (8, 4))

        self.server.clear_faults()
        second = self._run()
        self.assertEqual(second.done_count, 4)
        # Three were recorded by Urssaf before the fault and are found by
        # their reference; the one refused before processing (503) is sent.
        self._assert_each_declared_once(declarations)

    def test_crash_after_urssaf_accepted_and_before_the_commit(self):
        declarations = _make_batch(self.env, self.remote, 3)
        crashed = []

        def crash_once(declaration, *args, **kwargs):
            if not crashed:
                crashed.append(declaration.id)
                raise RuntimeError("worker killed")
            return original(declaration, *args, **kwargs)

        original = UrssafDeclaration._record_declaration
        with patch.object(UrssafDeclaration, "_record_declaration", crash_once), self.assertRaises(RuntimeError):
            with self.env.cr.savepoint():
                self._run()
        self.env.invalidate_all()
        self.assertEqual(self.server.count(DECLARE, delegated=True), 1, "Urssaf holds the first declaration")
        self.assertEqual(set(declarations.mapped("state")), {"draft"}, "the transaction died with the worker")

        self._run()
        self._assert_each_declared_once(declarations)

    def test_urssaf_unreachable_for_the_whole_run(self):
        declarations = _make_batch(self.env, self.remote, 10)
        self.server.stop()
        before = declarations.read(["state", "urssaf_number", "outcome_unknown", "line_ids"])
        run = self._run()
        self.assertEqual(declarations.read(["state", "urssaf_number", "outcome_unknown", "line_ids"]), before)
        self.assertTrue(run.unreachable)
        self.assertEqual(run.failed_count, UNREACHABLE_STOP_AFTER)
        self.assertEqual(run.skipped_count, 10 - UNREACHABLE_STOP_AFTER)
        self.assertEqual(len(run.activity_ids), 1, "one to-do for the whole run")
        self.assertFalse(declarations.activity_ids)


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestConcurrentRuns(UrssafTransactionCase):
    """Two scheduled runs at once, each in its own transactions, committing
    after each auto-entrepreneur as in production."""

    def test_two_runs_at_once_declare_each_auto_entrepreneur_once(self):
        remote = Sandbox(MemoryStorage())
        server = FaultServer(remote.handle)
        server.start()
        self.addCleanup(server.stop)
        registry = self.registry
        company_id = self.env.company.id
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            company = env["res.company"].browse(company_id)
            saved = company.read(list(_company_settings("x")))[0]
            company.write(_company_settings(server.base_url))
            declarations = _make_batch(env, remote, BATCH, first_index=5000)
            ids = declarations.ids
            partner_ids = declarations.partner_id.ids
            cr.execute("SELECT COALESCE(MAX(id), 0) FROM urssaf_run")
            (last_run_id,) = cr.fetchone()
            # The two runs see only committed data, as in production.
            cr.commit()  # pylint: disable=invalid-commit
        today = fields.Date.context_today(self.env["urssaf.declaration"])
        errors = []
        # Both runs start declaring together, from the same list: they
        # overlap for sure, instead of one finishing before the other starts.
        start_together = threading.Barrier(2, timeout=60)
        started = set()
        declare_batch = UrssafDeclarationRun._urssaf_auto_declare_batch

        def auto_declare_batch(declarations):
            if threading.get_ident() not in started:
                started.add(threading.get_ident())
                start_together.wait()
            return declare_batch(declarations)

        def run():
            try:
                with registry.cursor() as cr:
                    env = api.Environment(cr, api.SUPERUSER_ID, {})
                    env["urssaf.declaration"]._auto_declare(env["res.company"].browse(company_id), today)
            except Exception as error:  # noqa: BLE001 (reported by the test)
                errors.append(error)

        try:
            threads = [threading.Thread(target=run) for _ in range(2)]
            with patch.object(UrssafDeclarationRun, "_urssaf_auto_declare_batch", auto_declare_batch):
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=300)
            self.assertFalse(any(thread.is_alive() for thread in threads))
            self.assertFalse(errors)
            self.assertEqual(len(started), 2, "both runs declared")
            with registry.cursor() as cr:
                env = api.Environment(cr, api.SUPERUSER_ID, {})
                declarations = env["urssaf.declaration"].browse(ids)
                sent = Counter(r.json()["referenceTiers"] for r in server.requests_for(DECLARE, delegated=True))
                self.assertEqual(set(sent), set(declarations.mapped("reference_tiers")))
                self.assertEqual(set(sent.values()), {1}, "each auto-entrepreneur declared once")
                self.assertEqual(set(declarations.mapped("state")), {"declared"})
                runs = env["urssaf.run"].search([("id", ">", last_run_id)])
                self.assertEqual(len(runs), 2)
                self.assertEqual(runs.mapped("state"), ["done", "done"])
                done = runs.line_ids.filtered(lambda line: line.result == "done")
                self.assertEqual(sorted(done.declaration_id.ids), sorted(ids), "each declared by one run")
                self.assertEqual(len(done), BATCH)
                # They overlapped: at least one declaration was locked by
                # the other run when this one came to it, and stepped aside.
                refused = runs.line_ids.filtered(lambda line: line.result == "skipped")
                self.assertGreaterEqual(len(refused), 1, "the runs overlapped")
                self.assertEqual(set(refused.mapped("message")), {"being processed elsewhere, or nothing to do"})
                self.assertLessEqual(set(refused.partner_id.ids), set(partner_ids))
                self.assertEqual(runs.line_ids.mapped("result").count("failed"), 0, runs.line_ids.mapped("message"))
        finally:
            with registry.cursor() as cr:
                env = api.Environment(cr, api.SUPERUSER_ID, {})
                # Remove what this test committed; the uninstall flag lifts the
                # protection of declared declarations and active mandates.
                env = env(context={"_force_unlink": True})
                env["urssaf.run"].search([("id", ">", last_run_id)]).unlink()
                env["urssaf.declaration"].browse(ids).exists().unlink()
                env["urssaf.mandate"].search([("partner_id", "in", partner_ids)]).unlink()
                env["res.partner"].browse(partner_ids).unlink()
                saved.pop("id")
                env["res.company"].browse(company_id).write(
                    {k: (v[0] if isinstance(v, tuple) else v) for k, v in saved.items()}
                )
                cr.commit()  # pylint: disable=invalid-commit
