# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Onboarding at scale through OCA's queue_job: *Check accounts*, *Register
mandates*, *Register SEPA mandates* on a large selection are queued as jobs
of a chunk each, as the declarations' scheduled run is; each record reaches
Urssaf once, even when a chunk's job runs again; the last job sends the
user who launched them one summary.

The jobs are those queue_job stored; they run one after the other here,
through queue_job's own job controller, in the test's transaction."""

import json
import math
import re
from collections import Counter
from unittest.mock import patch

from odoo.tests import freeze_time, tagged

from odoo.addons.queue_job.controllers.main import RunJobController
from odoo.addons.queue_job.job import Job

from ..models import urssaf_onboarding
from ..models.urssaf_declaration_run import URSSAF_CHANNEL
from ..models.urssaf_onboarding import QUEUE_ABOVE, UrssafBatchMixin
from ..urssaf_api.testing import GET_ACCOUNT, REGISTER_MANDATE, REGISTER_SEPA_MANDATE, ServerError
from .common import FROZEN_NOW
from .test_onboarding import COUNT, PARALLEL, OnboardingCase, _chatter
from .test_parallel_runs import IBAN

LARGE = QUEUE_ABOVE + 1


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestOnboardingJobs(OnboardingCase):
    def setUp(self):
        super().setUp()
        if "queue.job" not in self.env:
            self.skipTest("OCA's queue_job is not installed")
        self.company.sudo().urssaf_job_queue = True
        self.env.cr.execute("SELECT COALESCE(MAX(id), 0) FROM queue_job")
        (self.last_job,) = self.env.cr.fetchone()

    def _jobs(self, method=None):
        domain = [("id", ">", self.last_job), ("channel", "=", URSSAF_CHANNEL)]
        if method:
            domain.append(("method_name", "=", method))
        return self.env["queue.job"].search(domain, order="id")

    def _run_jobs(self):
        """Run the pending jobs as a worker would, until none is left:
        each through queue_job's job controller, as the user who queued it,
        then the jobs waiting on it released. Returns the jobs run."""
        ran = self.env["queue.job"]
        while pending := self._jobs().filtered(lambda job: job.state == "pending")[:1]:
            job = Job.load(self.env, pending.uuid)
            job.set_started()
            job.store()
            RunJobController._try_perform_job(self.env, job)
            RunJobController._enqueue_dependent_jobs(self.env, job)
            ran |= pending
        return ran

    def _summary(self, user):
        """The summary notifications in ``user``'s inbox."""
        return self.env["mail.notification"].search(
            [("res_partner_id", "=", user.partner_id.id), ("mail_message_id.subject", "like", "Urssaf:")]
        )

    def test_check_accounts_queued_in_chunks_with_a_summary(self):
        partners = self.partners | self._auto_entrepreneurs(LARGE - COUNT - 1, first=COUNT)
        unknown = self._auto_entrepreneurs(1, known=False, first=LARGE)
        accounts = (partners | unknown).mapped(lambda partner: partner._urssaf_account())
        action = accounts.with_user(self.declarant).action_urssaf_check()
        self.assertIn(f"Check accounts: {LARGE} records queued", self._message(action))
        self.assertFalse(self.server.count(GET_ACCOUNT), "nothing sent before a worker runs the jobs")
        chunks = self._jobs("_urssaf_job_batch")
        size = self.company._urssaf_chunk_size()
        self.assertEqual(len(chunks), math.ceil(LARGE / size))
        self.assertEqual(sum(len(job.records) for job in chunks), LARGE)
        self.assertEqual(set(chunks.mapped("user_id")), {self.declarant}, "the jobs run as who launched them")
        (summary,) = self._jobs("_urssaf_job_batch_summary")
        self.assertEqual(summary.state, "wait_dependencies")

        # Clicked again while the chunks wait: nothing queued twice.
        again = accounts.with_user(self.declarant).action_urssaf_check()
        self.assertIn("already in the job queue", self._message(again))
        self.assertEqual(len(self._jobs()), len(chunks) + 1)

        ran = self._run_jobs()
        self.assertEqual(ran[-1], summary, "the summary comes last, once")
        self.assertEqual(set(self._jobs().mapped("state")), {"done"})
        self.assertEqual(self.server.count(GET_ACCOUNT, delegated=True), LARGE)
        self.assertGreater(self.handler.most, 1, "several calls in flight in a job")
        self.assertLessEqual(self.handler.most, PARALLEL)
        known = accounts - unknown._urssaf_account()
        self.assertEqual(set(known.mapped("state")), {"eligible"})
        self.assertEqual(unknown._urssaf_account().state, "unknown")
        checked = _chatter(known, "Urssaf account checked")
        self.assertEqual((len(checked), set(checked.values())), (LARGE - 1, {1}))
        (notification,) = self._summary(self.declarant)
        body = notification.mail_message_id.body
        self.assertIn(f"Check accounts: {LARGE - 1} done, 1 refused, 0 failed.", body)
        self.assertIn(f"Refused: {unknown._urssaf_account().display_name}", body)
        # In the inbox or by email, as the user chose.
        self.assertEqual(notification.notification_type, self.declarant.notification_type)

    def test_register_mandates_queued_each_once_even_when_a_job_runs_again(self):
        partners = self.partners | self._auto_entrepreneurs(LARGE - COUNT, first=COUNT)
        lost = partners[:3]
        self.server.inject(ServerError(500, after=True), REGISTER_MANDATE, when=self._about(lost))
        mandates = self._mandate_drafts(partners)
        mandates.with_user(self.declarant).action_register()
        self._run_jobs()
        self._sent_once_each(REGISTER_MANDATE, partners)
        self.assertEqual(set(mandates.mapped("state")), {"active"})
        # A chunk's job run again (retried, or its worker killed after
        # Urssaf answered): each one found registered, nothing sent.
        first = self._jobs("_urssaf_job_batch")[0]
        Job.load(self.env, first.uuid).perform()
        self._sent_once_each(REGISTER_MANDATE, partners)
        registered = _chatter(mandates, "Mandate registered with Urssaf")
        self.assertEqual((len(registered), set(registered.values())), (LARGE, {1}))
        (notification,) = self._summary(self.declarant)
        self.assertIn(f"Register mandates: {LARGE} done, 0 refused, 0 failed.", notification.mail_message_id.body)
        # What each chunk did, for the summary: every mandate once.
        done = Counter(
            record_id for job in self._jobs("_urssaf_job_batch") for record_id in json.loads(job.result)["done"]
        )
        self.assertEqual(done, Counter(mandates.ids))

    def test_register_sepa_mandates_queued_each_once(self):
        held = self._auto_entrepreneurs(LARGE, holder="demo-tiers", first=COUNT)
        lost = held[:3]
        self.server.inject(ServerError(500, after=True), REGISTER_SEPA_MANDATE, when=self._about(lost))
        sepa = self._sepa_drafts(held)
        sepa.with_user(self.declarant).action_register()
        self._run_jobs()
        self._sent_once_each(REGISTER_SEPA_MANDATE, held)
        self.assertEqual(set(sepa.mapped("state")), {"active"})
        registered = _chatter(sepa, "SEPA mandate registered with Urssaf")
        self.assertEqual((len(registered), set(registered.values())), (LARGE, {1}))
        (notification,) = self._summary(self.declarant)
        self.assertIn(f"Register SEPA mandates: {LARGE} done, 0 refused, 0 failed.", notification.mail_message_id.body)

    def test_without_the_setting_a_large_selection_is_sent_at_once(self):
        self.company.sudo().urssaf_job_queue = False
        partners = self.partners | self._auto_entrepreneurs(LARGE - COUNT, first=COUNT)
        accounts = partners.mapped(lambda partner: partner._urssaf_account())
        action = accounts.with_user(self.declarant).action_urssaf_check()
        self.assertEqual(self._message(action), f"Check accounts: {LARGE} done, 0 refused, 0 failed.")
        self.assertFalse(self._jobs())

    def test_a_small_selection_is_sent_at_once(self):
        accounts = self.partners.mapped(lambda partner: partner._urssaf_account())
        action = accounts.with_user(self.declarant).action_urssaf_check()
        self.assertEqual(self._message(action), f"Check accounts: {COUNT} done, 0 refused, 0 failed.")
        self.assertFalse(self._jobs())

    def test_a_chunk_whose_job_fails_is_told_in_the_summary(self):
        """A chunk's job that fails (a bug, not an answer of Urssaf's) still
        lets the summary come, which names the job; no IBAN in it, nor in
        the log. Three SEPA mandates, a chunk each (one call at a time)."""
        self.company.sudo().urssaf_parallel_calls = 1
        held = self._auto_entrepreneurs(3, holder="demo-tiers", first=COUNT)
        sepa = self._sepa_drafts(held)
        with patch.object(urssaf_onboarding, "QUEUE_ABOVE", 2):
            sepa.with_user(self.declarant).action_register()
        chunks = self._jobs("_urssaf_job_batch")
        self.assertEqual(len(chunks), 3)
        broken = chunks[1]
        send = UrssafBatchMixin._urssaf_batch_run

        def bug_in_one_chunk(records, step, checked=None):
            if records.env.context.get("job_uuid") == broken.uuid:
                raise RuntimeError(f"a bug, with {IBAN} in its text")
            return send(records, step, checked)

        logger = "odoo.addons.l10n_fr_urssaf_tierce_declaration.models.urssaf_declaration_run"
        with patch.object(UrssafBatchMixin, "_urssaf_batch_run", bug_in_one_chunk), self.assertLogs(logger) as logs:
            self._run_jobs()
        self.assertEqual(set(self._jobs().mapped("state")), {"done"}, "the summary did not wait for ever")
        left = broken.records
        self.assertEqual(left.state, "draft")
        self.assertEqual(set((sepa - left).mapped("state")), {"active"})
        (notification,) = self._summary(self.declarant)
        body = str(notification.mail_message_id.body)
        self.assertIn("Register SEPA mandates: 2 done, 0 refused, 1 failed.", body)
        self.assertIn(f"Failed: {left.display_name}: its job {broken.uuid} failed (RuntimeError)", body)
        (log,) = logs.output
        self.assertIn(broken.uuid, log)
        for text in (body, log):
            self.assertNotIn(re.sub(r"\s", "", IBAN), re.sub(r"\s", "", text))

    def test_a_chunk_the_queue_failed_for_good_is_told_by_the_daily_check(self):
        """A chunk's job the job queue itself failed for good (its retries
        exhausted) leaves the summary waiting; the daily check sends it,
        the chunk's records failed with the job's reference."""
        self.company.sudo().urssaf_parallel_calls = 1
        held = self._auto_entrepreneurs(3, holder="demo-tiers", first=COUNT)
        sepa = self._sepa_drafts(held)
        with patch.object(urssaf_onboarding, "QUEUE_ABOVE", 2):
            sepa.with_user(self.declarant).action_register()
        broken = self._jobs("_urssaf_job_batch")[1]
        broken.write(
            {
                "state": "failed",
                "exc_name": "odoo.addons.queue_job.exception.FailedJobError",
                "result": "Max. retries (5) reached",
            }
        )
        self._run_jobs()
        (summary,) = self._jobs("_urssaf_job_batch_summary")
        self.assertEqual(summary.state, "wait_dependencies")
        subject = "Urssaf: Register SEPA mandates"
        # queue_job tells of the failure, not the summary.
        self.assertNotIn(subject, self._summary(self.declarant).mail_message_id.mapped("subject"))

        self.assertEqual(self.env["urssaf.run"]._urssaf_close_after_failed_chunks(), 1)
        self.assertEqual(summary.state, "done")
        notification = self._summary(self.declarant).filtered(lambda n: n.mail_message_id.subject == subject)
        body = str(notification.mail_message_id.body)
        self.assertIn("Register SEPA mandates: 2 done, 0 refused, 1 failed.", body)
        self.assertIn(f"Failed: {broken.records.display_name}: its job {broken.uuid} failed (FailedJobError)", body)
        self.assertEqual(self.env["urssaf.run"]._urssaf_close_after_failed_chunks(), 0, "told once")
