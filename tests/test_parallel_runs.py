# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Runs over many declarations with several calls in flight, against a real
socket server that fails on purpose (500s and time-outs after Urssaf
recorded the call, 429s, a token expiry): every declaration declared and
paid exactly once after at most two runs, in the scheduled action itself and
through OCA's job queue."""

import math
import threading
import time
from collections import Counter
from datetime import date
from unittest.mock import patch

import psycopg2

from odoo import fields
from odoo.tests import freeze_time, tagged

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.tests.common import trap_jobs

from ..models.urssaf_declaration_run import URSSAF_CHANNEL, UrssafDeclarationRun, chunk_identity, chunk_job_failure
from ..urssaf_api.sandbox import Sandbox
from ..urssaf_api.seed import seed_account
from ..urssaf_api.storage import MemoryStorage
from ..urssaf_api.testing import DECLARE, PAY, Delay, ExpireTokens, FaultServer, RateLimit, ServerError
from .common import FROZEN_NOW, UrssafTransactionCase
from .test_robustness import _company_settings, _make_batch, _no_commit

COUNT = 200
PARALLEL = 8
IBAN = seed_account("monthly_trader")["sepa_mandates"][0]["iban"]


class CountingHandler:
    """The remote Urssaf's handler, noting how many calls it serves at once
    (each takes a few milliseconds, like a real round trip)."""

    def __init__(self, handle, seconds=0.01):
        self.handle = handle
        self.seconds = seconds
        self.lock = threading.Lock()
        self.now = self.most = 0

    def __call__(self, request):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(self.seconds)
            return self.handle(request)
        finally:
            with self.lock:
                self.now -= 1


def _with_sepa_mandates(env, company, declarations):
    """Each auto-entrepreneur's SEPA mandate, registered at Urssaf (straight
    through the API client) and active in Odoo."""
    client = company._urssaf_client()
    banks = env["res.partner.bank"].create(
        [{"partner_id": partner.id, "acc_number": IBAN} for partner in declarations.partner_id]
    )
    sepa = env["urssaf.sepa.mandate"].create(
        [
            {"partner_id": bank.partner_id.id, "bank_account_id": bank.id, "holder": bank.partner_id.name}
            for bank in banks
        ]
    )
    for mandate in sepa:
        registered = client.register_sepa_mandate(
            mandate.partner_id._urssaf_identifier(company), IBAN, mandate.holder, date(2026, 1, 5)
        )
        mandate.sudo().write({"state": "active", "rum": registered.rum})
    client.close()
    return sepa


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class ParallelRunsCase(UrssafTransactionCase):
    def setUp(self):
        super().setUp()
        self.remote = Sandbox(MemoryStorage())
        self.handler = CountingHandler(self.remote.handle)
        self.server = FaultServer(self.handler)
        self.server.start()
        self.addCleanup(self.server.stop)
        self.company = self.env.company
        self.company.sudo().write(
            {**_company_settings(self.server.base_url), "urssaf_parallel_calls": PARALLEL, "urssaf_job_queue": False}
        )
        self.today = fields.Date.context_today(self.env["urssaf.declaration"])

    def _batch(self, count):
        """``count`` auto-entrepreneurs, each with a draft declaration and an
        active SEPA mandate."""
        self.declarations = _make_batch(self.env, self.remote, count)
        _with_sepa_mandates(self.env, self.company, self.declarations)
        return self.declarations

    def _about(self, declarations, fname):
        """A fault predicate: the calls about these declarations."""
        values = {str(value).encode() for value in declarations.mapped(fname)}
        return lambda request: any(value in request.body for value in values)

    def _inject_faults(self):
        """500s and time-outs after Urssaf recorded the declaration, 429s,
        and every token expired in the middle of the run."""
        recorded_500 = self._about(self.declarations[0:10], "reference_tiers")
        recorded_late = self._about(self.declarations[10:16], "reference_tiers")
        self.server.inject(ServerError(500, after=True), DECLARE, when=recorded_500)
        self.server.inject(Delay(1.5, after=True), DECLARE, when=recorded_late)
        self.server.inject(ExpireTokens(), DECLARE, calls=COUNT // 2)
        self.rate_limit = self.server.inject(RateLimit(retry_after=1), calls=range(50, 2000, 150))

    def _inject_payment_faults(self, declared):
        """500s and time-outs after Urssaf recorded the payment of some."""
        self.server.inject(ServerError(500, after=True), PAY, when=self._about(declared[20:30], "urssaf_number"))
        self.server.inject(Delay(1.5, after=True), PAY, when=self._about(declared[30:34], "urssaf_number"))

    def _pay(self):
        todo = self.declarations.filtered(
            lambda d: d.state == "declared" or (d.state == "error" and d.error_step == "pay")
        )
        with _no_commit():
            return todo._urssaf_process("pay")

    def _assert_declared_and_paid_once(self):
        declarations = self.declarations
        self.env.invalidate_all()
        declared = Counter(r.json()["referenceTiers"] for r in self.server.requests_for(DECLARE, delegated=True))
        self.assertEqual(set(declared), set(declarations.mapped("reference_tiers")))
        self.assertEqual(set(declared.values()), {1}, "no declaration reached Urssaf twice")
        paid = Counter(r.json()["numeroDeclaration"] for r in self.server.requests_for(PAY, delegated=True))
        self.assertEqual(set(paid), set(declarations.mapped("urssaf_number")))
        self.assertEqual(set(paid.values()), {1}, "no declaration paid twice")
        # Paid at Urssaf: ordered until the debit date (issue 27); a payment
        # found at Urssaf after an unknown outcome is paid as Urssaf says.
        self.assertLessEqual(set(declarations.mapped("state")), {"ordered", "paid"})
        self.assertIn("ordered", declarations.mapped("state"))
        self.assertEqual(len(set(declarations.mapped("urssaf_number"))), COUNT)
        self.assertFalse(declarations.filtered("outcome_unknown"))


class TestParallelRuns(ParallelRunsCase):
    def _declare_run(self):
        with _no_commit():
            return self.env["urssaf.declaration"]._auto_declare(self.company, self.today)

    def test_two_runs_with_faults_declare_and_pay_each_once(self):
        self._batch(COUNT)
        self._inject_faults()
        first = self._declare_run()
        self.assertEqual(len(first.line_ids), COUNT)
        unknown = self.declarations.filtered("outcome_unknown")
        self.assertEqual(unknown, self.declarations[0:16], "the 500s and time-outs after Urssaf recorded them")
        self.assertEqual((first.done_count, first.unknown_count, first.failed_count), (COUNT - 16, 16, 0))
        self.assertGreater(self.rate_limit.fired, 0)
        self.assertGreater(self.handler.most, 1, "several calls in flight at once")
        self.assertLessEqual(self.handler.most, PARALLEL, "never more than the pool")
        declared = self.declarations - unknown
        self._inject_payment_faults(declared)
        paying = self._pay()
        self.assertEqual(len(paying.unknown), 14)
        self.assertEqual(len(paying.done), COUNT - 16 - 14)

        self.server.clear_faults()
        second = self._declare_run()
        self.assertEqual((second.done_count, len(second.line_ids)), (16, 16), "found by their reference")
        self._pay()
        self._assert_declared_and_paid_once()

    def test_first_calls_leave_while_the_next_requests_are_prepared(self):
        """Preparing the requests (lock, checks, request) and the calls in
        flight overlap: a run does not prepare its whole batch first."""
        self._batch(30)
        events = []
        handle = self.handler.handle

        def noting_call(request):
            events.append("call")
            return handle(request)

        self.handler.handle = noting_call
        Declaration = type(self.env["urssaf.declaration"])
        prepare = Declaration._urssaf_prepare_estimate

        def noting_prepare(declaration):
            events.append("prepared")
            return prepare(declaration)

        with _no_commit(), patch.object(Declaration, "_urssaf_prepare_estimate", noting_prepare):
            results = self.declarations._urssaf_process("estimate")
        self.assertEqual(len(results.done), 30)
        self.assertEqual(events.count("prepared"), 30)
        last_prepared = len(events) - 1 - events[::-1].index("prepared")
        self.assertLess(events.index("call"), last_prepared, "calls were on their way before the last was prepared")

    def test_one_at_a_time_when_the_setting_says_so(self):
        self._batch(20)
        self.company.sudo().urssaf_parallel_calls = 1
        run = self._declare_run()
        self.assertEqual(run.done_count, 20)
        self.assertEqual(self.handler.most, 1)


class TestJobQueueRuns(ParallelRunsCase):
    def setUp(self):
        super().setUp()
        self.company.sudo().urssaf_job_queue = True

    def _enqueue(self):
        with trap_jobs() as trap, _no_commit():
            self.env["urssaf.declaration"]._cron_urssaf_declarations()
        return trap

    def _jobs(self, trap, method):
        return [job for job in trap.enqueued_jobs if job.method_name == method]

    def test_jobs_of_a_chunk_each_declare_and_pay_once_in_two_runs(self):
        self._batch(COUNT)
        self._inject_faults()
        trap = self._enqueue()
        size = self.company._urssaf_chunk_size()
        chunks = self._jobs(trap, "_urssaf_job_auto_declare")
        (finish,) = self._jobs(trap, "_urssaf_job_finish")
        self.assertEqual(len(chunks), math.ceil(COUNT / size))
        self.assertEqual({job.channel for job in chunks + [finish]}, {URSSAF_CHANNEL})
        self.assertEqual(sum(len(job.recordset) for job in chunks), COUNT)
        self.assertEqual({job.identity_key for job in chunks}, {chunk_identity(job) for job in chunks})
        self.assertEqual(len({job.identity_key for job in chunks}), len(chunks), "one key per chunk")
        run = finish.recordset
        self.assertEqual(run.state, "running")
        trap.perform_enqueued_jobs()
        self.assertEqual(run.state, "done", "the last job closed the run")
        self.assertEqual((run.done_count, run.unknown_count, len(run.line_ids)), (COUNT - 16, 16, COUNT))
        self.assertGreater(self.handler.most, 1, "several calls in flight at once")
        # A chunk's job run again (retried, or its worker killed after
        # Urssaf answered) sends nothing twice.
        chunks[0].perform()
        declared = self.declarations - self.declarations.filtered("outcome_unknown")
        self._inject_payment_faults(declared)
        self._pay()

        self.server.clear_faults()
        second = self._enqueue()
        second.perform_enqueued_jobs()
        self._pay()
        self._assert_declared_and_paid_once()

    def test_a_chunk_waiting_in_the_queue_is_not_queued_twice(self):
        self._batch(100)
        Job = self.env["queue.job"]
        before = Job.search_count([("method_name", "=", "_urssaf_job_auto_declare")])
        for _again in range(2):
            self.env["urssaf.declaration"]._auto_declare_enqueue(self.company, self.today)
        jobs = Job.search([("method_name", "=", "_urssaf_job_auto_declare")])
        self.assertEqual(len(jobs) - before, math.ceil(100 / self.company._urssaf_chunk_size()))
        self.assertEqual(set(jobs.mapped("channel")), {URSSAF_CHANNEL})
        self.assertEqual(
            self.env["queue.job.function"].search([("method", "=", "_urssaf_job_auto_declare")]).channel,
            URSSAF_CHANNEL,
        )
        self.assertFalse(self.server.count(DECLARE), "nothing sent before a worker runs the jobs")

    def test_a_chunk_whose_job_fails_is_in_the_run_report(self):
        """A chunk's job that fails (a bug, not an answer of Urssaf's): the
        run is still closed, its report says which chunk failed, with the
        job's reference, and the accountant gets a to-do."""
        self.company.sudo().urssaf_parallel_calls = 1
        self._batch(3)
        trap = self._enqueue()
        chunks = self._jobs(trap, "_urssaf_job_auto_declare")
        (finish,) = self._jobs(trap, "_urssaf_job_finish")
        self.assertEqual(len(chunks), 3)
        broken = chunks[1]
        declare = UrssafDeclarationRun._urssaf_auto_declare_batch

        def bug_in_one_chunk(declarations):
            if declarations.env.context.get("job_uuid") == broken.uuid:
                raise RuntimeError(f"a bug, with {IBAN} in its text")
            return declare(declarations)

        logger = "odoo.addons.l10n_fr_urssaf_tierce_declaration.models.urssaf_declaration_run"
        bug = patch.object(UrssafDeclarationRun, "_urssaf_auto_declare_batch", bug_in_one_chunk)
        with bug, self.assertLogs(logger):
            trap.perform_enqueued_jobs()
        run = finish.recordset
        self.assertEqual(run.state, "done", "the last job closed the run")
        self.assertEqual((run.done_count, run.failed_count), (2, 1))
        (failed,) = run.line_ids.filtered(lambda line: line.result == "failed")
        self.assertEqual(failed.declaration_id, broken.recordset)
        self.assertTrue(failed.job_failed)
        self.assertIn(f"its job {broken.uuid} failed (RuntimeError)", failed.message)
        self.assertNotIn(IBAN.replace(" ", ""), failed.message.replace(" ", ""))
        self.assertEqual(broken.recordset.state, "draft", "left as it was")
        (todo,) = run.activity_ids
        self.assertEqual(todo.summary, "A job of this run failed")

    def test_a_chunk_the_queue_failed_for_good_is_closed_by_the_next_scheduled_run(self):
        """A chunk's job the job queue itself failed for good (its retries
        exhausted) leaves the run's closing job waiting; the next daily run
        closes the report, the chunk's declarations failed with the job's
        reference, and a to-do for the accountant."""
        self.company.sudo().urssaf_parallel_calls = 1
        self._batch(3)
        run = self.env["urssaf.declaration"]._auto_declare_enqueue(self.company, self.today)
        jobs = self.env["queue.job"].search([("graph_uuid", "!=", False)], order="id desc", limit=4)
        chunks = jobs.filtered(lambda job: job.method_name == "_urssaf_job_auto_declare").sorted("id")
        (finish,) = jobs.filtered(lambda job: job.method_name == "_urssaf_job_finish")
        self.assertEqual((len(chunks), finish.records), (3, run))
        broken = chunks[1]
        broken.write({"state": "failed", "exc_name": "odoo.addons.queue_job.exception.FailedJobError"})
        for chunk in chunks - broken:
            job = Job.load(self.env, chunk.uuid)
            job.perform()
            job.set_done()
            job.store()
        self.assertEqual((run.state, finish.state), ("running", "wait_dependencies"))

        self._enqueue()
        self.assertEqual((run.state, finish.state), ("done", "done"))
        self.assertEqual((run.done_count, run.failed_count), (2, 1))
        (failed,) = run.line_ids.filtered(lambda line: line.result == "failed")
        self.assertEqual(failed.declaration_id, broken.records)
        self.assertTrue(failed.job_failed)
        self.assertIn(f"its job {broken.uuid} failed (FailedJobError)", failed.message)
        (todo,) = run.activity_ids
        self.assertEqual(todo.summary, "A job of this run failed")

    def test_a_conflict_with_another_transaction_is_left_to_queue_job_to_retry(self):
        """Only a failure for good is a chunk's result: queue_job retries a
        conflict later, which the chunk's job lets through."""
        for error in (psycopg2.errors.SerializationFailure(), RetryableJobError("busy")):

            def work(error=error):
                self.env["urssaf.run"].create({"company_id": self.company.id})
                raise error

            runs = self.env["urssaf.run"].search_count([])
            with self.subTest(error=type(error).__name__), self.assertRaises(type(error)):
                chunk_job_failure(self.env, work)
            self.assertEqual(self.env["urssaf.run"].search_count([]), runs, "rolled back")

    def test_without_the_setting_the_scheduled_action_declares_itself(self):
        self._batch(20)
        self.company.sudo().urssaf_job_queue = False
        trap = self._enqueue()
        self.assertEqual(trap.enqueued_jobs, [])
        self.assertEqual(set(self.declarations.mapped("state")), {"declared"})
