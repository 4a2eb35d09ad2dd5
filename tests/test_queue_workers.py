# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Several queue_job workers on one scheduled run, for real: two worker
processes (tools/bench_declare.py's stand-in for queue_job's runner, which
runs each job with queue_job's own job controller) share the run's chunks,
each committing its own transactions; the job closing the run is released
once, when the last chunk is done, and runs once.

The other tests of the job queue run the jobs one after the other in the
test's transaction (``trap_jobs``): they cannot see two chunks finishing
together. This one commits its records, and removes them afterwards.
"""

import json
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

from odoo import Command, api, fields
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, get_db_name, tagged
from odoo.tools import config

from odoo.addons.base.models.ir_model import MODULE_UNINSTALL_FLAG

from ..models.urssaf_declaration_run import URSSAF_CHANNEL
from ..models.urssaf_onboarding import QUEUE_ABOVE
from ..urssaf_api.seed import synthetic_siret
from ..urssaf_api.testing import DECLARE, GET_ACCOUNT, Delay
from .common import start_remote_urssaf
from .test_robustness import _company_settings

BENCH = Path(__file__).resolve().parent.parent / "tools" / "bench_declare.py"
WORKERS = 2
COUNT = 4
# A period every clock has seen end (the workers' clocks are not frozen).
PERIOD = (date(2025, 1, 1), date(2025, 1, 31))
# How long the workers may take (each loads Odoo first).
TIMEOUT = 240


@tagged("post_install", "-at_install")
class TestQueueWorkers(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            if "queue.job" not in env:
                self.skipTest("OCA's queue_job is not installed")
        self._pause_runner_of_this_process()
        start_remote_urssaf(self)
        # Each call takes a while: the two workers have a chunk in hand at once.
        self.server.inject(Delay(0.3), DECLARE)

    def _pause_runner_of_this_process(self):
        """queue_job's own runner, which the test server started in this
        process, would run the committed jobs here, through the test's HTTP
        guard: only the two workers run them. It starts again afterwards."""
        from odoo.addons.queue_job import jobrunner  # noqa: PLC0415 (queue_job is optional)

        thread = jobrunner.runner_thread
        if not thread or not thread.is_alive():
            return
        thread.stop()
        thread.join(timeout=30)
        jobrunner.runner_thread = None
        self.addCleanup(jobrunner._start_runner_thread, "threaded server")

    # --- committed records, removed after the test ---------------------------

    def _commit_run(self):
        """COUNT auto-entrepreneurs known to the remote Urssaf, each with a
        draft declaration, queued as a scheduled run of one declaration per
        chunk; returns the ids of the declarations and of the run."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            company = env.company
            fnames = [*_company_settings(""), "urssaf_parallel_calls", "urssaf_job_queue"]
            saved = company.read(fnames)[0]
            self.addCleanup(self._restore_company, {fname: saved[fname] for fname in fnames})
            company.write(
                {
                    **_company_settings(self.server.base_url),
                    "urssaf_timeout": 10.0,
                    "urssaf_parallel_calls": 1,
                    "urssaf_job_queue": True,
                }
            )
            category = env.ref("l10n_fr_urssaf_tierce_declaration.category_vente_marchandises")
            partners = env["res.partner"]
            for index in range(900100, 900100 + COUNT):
                siret = synthetic_siret(index)
                self.remote.add_account(
                    siret=siret,
                    nom=f"AE{index}",
                    prenoms="Worker",
                    dateNaissance="1990-01-01",
                    periodicite="MENSUELLE",
                    dateDebutActivite="2019-01-01",
                    categories=["VENTE_MARCHANDISES"],
                    trade="commercant",
                    mandate_holder="demo-tiers",
                )
                partners |= env["res.partner"].create(
                    {
                        "name": f"Queue worker AE {index}",
                        "company_registry": siret,
                        "urssaf_is_auto_entrepreneur": True,
                        "urssaf_identifier_type": "siret",
                        "urssaf_category_id": category.id,
                        "urssaf_trade": "commercant",
                    }
                )
            self.addCleanup(self._remove, "res.partner", partners.ids)
            self.addCleanup(self._remove, "urssaf.account", partners.urssaf_account_ids.ids)
            partners.write(
                {
                    "urssaf_eligible": True,
                    "urssaf_periodicity": "monthly",
                    "urssaf_activity_start": date(2019, 1, 1),
                    "urssaf_checked_at": fields.Datetime.now(),
                }
            )
            mandates = env["urssaf.mandate"].create(
                [{"partner_id": partner.id, "signature_date": date(2024, 12, 1)} for partner in partners]
            )
            self.addCleanup(self._remove, "urssaf.mandate", mandates.ids)
            mandates.write({"state": "active", "urssaf_mandate_ref": "known-at-urssaf"})
            declarations = env["urssaf.declaration"].create(
                [
                    {
                        "partner_id": partner.id,
                        "period_start": PERIOD[0],
                        "period_end": PERIOD[1],
                        # No books: a declarant's adjustment, kept by the run.
                        "line_ids": [Command.create({"category_id": category.id, "amount": 100.0 + i})],
                    }
                    for i, partner in enumerate(partners)
                ]
            )
            self.addCleanup(self._remove, "urssaf.declaration", declarations.ids)
            cr.execute("SELECT COALESCE(MAX(id), 0) FROM queue_job")
            (self.last_job,) = cr.fetchone()
            self.addCleanup(self._remove_jobs, self.last_job)
            run = declarations._urssaf_enqueue_run(company)
            self.addCleanup(self._remove, "urssaf.run", run.ids)
            # For the worker processes to see them, as the scheduled action does.
            cr.commit()  # pylint: disable=invalid-commit
            return declarations.ids, run.id

    def _commit_mass_check(self):
        """QUEUE_ABOVE + 1 auto-entrepreneurs known to the remote Urssaf,
        their accounts checked by the administrator (a declarant) from the
        list: queued, one account per chunk; returns the accounts' ids and
        the administrator's partner id."""
        count = QUEUE_ABOVE + 1
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            company = env.company
            fnames = [*_company_settings(""), "urssaf_parallel_calls", "urssaf_job_queue"]
            saved = company.read(fnames)[0]
            self.addCleanup(self._restore_company, {fname: saved[fname] for fname in fnames})
            company.write(
                {
                    **_company_settings(self.server.base_url),
                    "urssaf_timeout": 10.0,
                    "urssaf_parallel_calls": 1,
                    "urssaf_job_queue": True,
                }
            )
            category = env.ref("l10n_fr_urssaf_tierce_declaration.category_vente_marchandises")
            values = []
            for index in range(900200, 900200 + count):
                siret = synthetic_siret(index)
                self.remote.add_account(
                    siret=siret,
                    nom=f"AE{index}",
                    prenoms="Worker",
                    dateNaissance="1990-01-01",
                    periodicite="MENSUELLE",
                    dateDebutActivite="2019-01-01",
                    categories=["VENTE_MARCHANDISES"],
                    trade="commercant",
                )
                values.append(
                    {
                        "name": f"Queue worker AE {index}",
                        "company_registry": siret,
                        "urssaf_is_auto_entrepreneur": True,
                        "urssaf_identifier_type": "siret",
                        "urssaf_category_id": category.id,
                        "urssaf_trade": "commercant",
                    }
                )
            partners = env["res.partner"].create(values)
            self.addCleanup(self._remove, "res.partner", partners.ids)
            accounts = partners.urssaf_account_ids
            self.addCleanup(self._remove, "urssaf.account", accounts.ids)
            cr.execute("SELECT COALESCE(MAX(id), 0) FROM queue_job")
            (self.last_job,) = cr.fetchone()
            self.addCleanup(self._remove_jobs, self.last_job)
            cr.execute("SELECT COALESCE(MAX(id), 0) FROM mail_message")
            self.addCleanup(self._remove_messages, cr.fetchone()[0])
            admin = env.ref("base.user_admin")
            accounts.with_user(admin).action_urssaf_check()
            cr.commit()  # pylint: disable=invalid-commit
            return accounts.ids, admin.partner_id.id

    def _remove_messages(self, last_message):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            env["mail.message"].search([("id", ">", last_message)]).unlink()

    def _restore_company(self, values):
        with self.registry.cursor() as cr:
            api.Environment(cr, api.SUPERUSER_ID, {}).company.write(values)

    def _remove(self, model, ids):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {MODULE_UNINSTALL_FLAG: True})
            env[model].browse(ids).exists().unlink()

    def _remove_jobs(self, last_job):
        with self.registry.cursor() as cr:
            cr.execute("DELETE FROM queue_job WHERE id > %s AND channel = %s", (last_job, URSSAF_CHANNEL))

    # --- the workers -----------------------------------------------------------

    def _start_workers(self, stop_file):
        workers = []
        for _index in range(WORKERS):
            worker = subprocess.Popen(
                [
                    sys.executable,
                    str(BENCH),
                    "--child",
                    "worker",
                    str(stop_file),
                    "--db",
                    get_db_name(),
                    "--path",
                    ",".join(config["addons_path"]),
                    "--data",
                    config["data_dir"],
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            workers.append(worker)
            self.addCleanup(self._stop_worker, worker, stop_file)
        return workers

    def _stop_worker(self, worker, stop_file):
        Path(stop_file).touch()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()

    def _jobs(self):
        """``{method: [(state, try)]}`` of the jobs this test queued."""
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT method_name, state, retry FROM queue_job WHERE id > %s AND channel = %s ORDER BY id",
                (self.last_job, URSSAF_CHANNEL),
            )
            jobs = {}
            for method, state, retry in cr.fetchall():
                jobs.setdefault(method, []).append((state, retry))
            return jobs

    def _run_workers(self, stop_file):
        """Two workers, until every job this test queued is done (or
        failed); returns how many jobs each one ran."""
        stop_file.unlink(missing_ok=True)
        workers = self._start_workers(stop_file)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            jobs = self._jobs()
            if all(state in ("done", "failed") for states in jobs.values() for state, _retry in states):
                break
            if any(worker.poll() is not None for worker in workers):
                break
            time.sleep(0.5)
        stop_file.touch()
        outputs = [worker.communicate(timeout=60) for worker in workers]
        self.assertEqual([worker.returncode for worker in workers], [0] * WORKERS, outputs)
        return [json.loads(out.strip().splitlines()[-1])["jobs"] for out, _err in outputs]

    def test_two_workers_share_a_run_and_close_it_once(self):
        declaration_ids, run_id = self._commit_run()
        jobs = self._jobs()
        self.assertEqual(len(jobs["_urssaf_job_auto_declare"]), COUNT, "one job per chunk of one")
        self.assertEqual(
            jobs.get("_urssaf_job_finish"),
            [("wait_dependencies", 0)],
            "one job closes the run, waiting for the chunks",
        )

        taken = self._run_workers(Path(config["data_dir"]) / f"urssaf-queue-workers-{run_id}.stop")
        jobs = self._jobs()
        self.assertEqual(Counter(state for state, _retry in jobs["_urssaf_job_auto_declare"]), {"done": COUNT})
        # Released once, when the last chunk was done, and run once.
        self.assertEqual(jobs.get("_urssaf_job_finish"), [("done", 1)], "the closing job released once, run once")
        self.assertEqual(sum(taken), COUNT + 1, f"jobs each worker ran: {taken}")
        self.assertTrue(all(taken), f"both workers took part: {taken}")
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            run = env["urssaf.run"].browse(run_id)
            self.assertEqual(
                (run.state, run.done_count, len(run.line_ids)),
                ("done", COUNT, COUNT),
                "closed once every chunk was done, counting them all",
            )
            declarations = env["urssaf.declaration"].browse(declaration_ids)
            self.assertEqual(set(declarations.mapped("state")), {"declared"})
            sent = Counter(r.json()["referenceTiers"] for r in self.server.requests_for(DECLARE, delegated=True))
            self.assertEqual(sent, Counter(declarations.mapped("reference_tiers")), "each declared once")

    def test_two_workers_share_a_mass_check_and_sum_it_up_once(self):
        self.server.inject(Delay(0.1), GET_ACCOUNT)
        account_ids, admin_partner_id = self._commit_mass_check()
        jobs = self._jobs()
        chunks = len(account_ids)  # one account per chunk: one call at a time
        self.assertEqual(len(jobs["_urssaf_job_batch"]), chunks)
        self.assertEqual(
            jobs.get("_urssaf_job_batch_summary"),
            [("wait_dependencies", 0)],
            "one job sums the check up, waiting for the chunks",
        )

        taken = self._run_workers(Path(config["data_dir"]) / f"urssaf-queue-workers-check-{self.last_job}.stop")
        jobs = self._jobs()
        self.assertEqual(Counter(state for state, _retry in jobs["_urssaf_job_batch"]), {"done": chunks})
        # Released once, when the last chunk was done, and run once.
        self.assertEqual(jobs.get("_urssaf_job_batch_summary"), [("done", 1)], "the summary released once, run once")
        self.assertEqual(sum(taken), chunks + 1, f"jobs each worker ran: {taken}")
        self.assertTrue(all(taken), f"both workers took part: {taken}")
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            accounts = env["urssaf.account"].browse(account_ids)
            self.assertEqual(set(accounts.mapped("state")), {"eligible"})
            requests = self.server.requests_for(GET_ACCOUNT, delegated=True)
            sent = Counter(request.query["siret"] for request in requests)
            self.assertEqual(sent, Counter(accounts.partner_id.mapped("company_registry")), "each checked once")
            messages = env["mail.message"].search([("model", "=", "urssaf.account"), ("res_id", "in", account_ids)])
            lines = Counter(message.res_id for message in messages if "Urssaf account checked" in message.body)
            self.assertEqual((len(lines), set(lines.values())), (chunks, {1}), "one chatter line each")
            (summary,) = env["mail.message"].search(
                [("partner_ids", "in", admin_partner_id), ("subject", "=", "Urssaf: Check accounts")]
            )
            self.assertIn(f"Check accounts: {chunks} done, 0 refused, 0 failed.", summary.body)
