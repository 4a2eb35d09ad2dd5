# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Registering with Urssaf when the worker dies after Urssaf answered and
before the run's transaction is committed: the next run registers nothing
new at Urssaf, and takes what Urssaf holds (embedded sandbox)."""

from unittest.mock import patch

from odoo import fields, sql_db
from odoo.tests import freeze_time, tagged
from odoo.tools import SQL

from ..models.urssaf_mandate import UrssafMandate
from ..models.urssaf_sepa_mandate import UrssafSepaMandate
from ..urssaf_api.models import Identifier
from .common import FROZEN_NOW
from .test_partner_mandates import IBAN_BERNARD, UrssafAeCase

CRAFTSMAN_SIRET = "81234567600017"


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestRegisteredOnceAfterACrash(UrssafAeCase):
    def setUp(self):
        super().setUp()
        self.partner = self._ae("quarterly_craftsman_moselle")
        self.identifier = Identifier(siret=CRAFTSMAN_SIRET)

    def _forget_marks(self, records):
        """The marks are committed on a cursor of their own: the test's
        rollback leaves them, this removes them."""
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(
                SQL(
                    "DELETE FROM urssaf_sending_mark WHERE res_model = %s AND res_id IN %s",
                    records._name,
                    tuple(records.ids),
                )
            )

    def _register_and_crash(self, model_class, records):
        """Register ``records``; the worker dies while the first answer is
        being recorded: the run's transaction is rolled back, Urssaf keeps
        what it recorded. Returns the answers Urssaf gave."""
        answers = []

        def killed(record, result, error):
            answers.append(result)
            raise RuntimeError("worker killed")

        self.addCleanup(self._forget_marks, records)
        with patch.object(model_class, "_urssaf_register_record", killed), self.assertRaises(RuntimeError):
            with self.env.cr.savepoint():
                records.with_user(self.declarant).action_register()
        self.env.invalidate_all()
        return answers

    def test_sepa_mandate_registered_once_when_the_worker_dies_before_the_commit(self):
        self._active_mandate(self.partner)
        sepa = self._sepa(self.partner, self._bank(self.partner, IBAN_BERNARD))
        with self.urssaf_calls() as calls:
            (answer,) = self._register_and_crash(UrssafSepaMandate, sepa)
        # The first sending costs no look-up: one registration, nothing else.
        self.assertEqual(len(self._api_calls(calls, "POST", "/mandats-sepa")), 1)
        self.assertEqual(self._api_calls(calls, "GET", "/mandats-sepa"), [])
        self.assertEqual((sepa.state, sepa.rum, sepa.urssaf_environment), ("draft", False, False))
        (remote,) = self._client().list_sepa_mandates(self.identifier)
        self.assertEqual(remote.rum, answer.rum)

        with self.urssaf_calls() as calls:
            sepa.with_user(self.declarant).action_register()
        self.assertEqual(self._api_calls(calls, "POST", "/mandats-sepa"), [], "nothing registered again")
        self.assertEqual(len(self._api_calls(calls, "GET", "/mandats-sepa")), 1, "looked up first")
        self.assertEqual((sepa.state, sepa.rum), ("active", answer.rum))
        (remote,) = self._client().list_sepa_mandates(self.identifier)
        self.assertEqual((remote.rum, remote.status), (sepa.rum, "ACTIF"))

    def test_sepa_mandate_looked_up_and_registered_when_urssaf_did_not_record_it(self):
        """A mark left by a sending that never reached Urssaf: looked up,
        nothing found, registered once."""
        self._active_mandate(self.partner)
        sepa = self._sepa(self.partner, self._bank(self.partner, IBAN_BERNARD))
        self.addCleanup(self._forget_marks, sepa)
        self.assertFalse(self.env["urssaf.sending.mark"].sudo()._urssaf_mark(sepa, "register"))
        with self.urssaf_calls() as calls:
            sepa.with_user(self.declarant).action_register()
        self.assertEqual(len(self._api_calls(calls, "GET", "/mandats-sepa")), 1)
        self.assertEqual(len(self._api_calls(calls, "POST", "/mandats-sepa")), 1)
        (remote,) = self._client().list_sepa_mandates(self.identifier)
        self.assertEqual((sepa.state, sepa.rum), ("active", remote.rum))

    def test_mandate_registered_again_after_a_crash_is_the_same_at_urssaf(self):
        """Registering a tierce-déclaration mandate again is idempotent at
        Urssaf: the answer lost with the worker comes back the same."""
        mandate = self._mandate(self.partner)
        (answer,) = self._register_and_crash(UrssafMandate, mandate)
        self.assertEqual(mandate.state, "draft")
        with self.urssaf_calls() as calls:
            mandate.with_user(self.declarant).action_register()
        self.assertEqual(len(self._api_calls(calls, "POST", "/mandats")), 1)
        self.assertEqual((mandate.state, mandate.urssaf_mandate_ref), ("active", answer.mandate_id))
        remote = self._client().get_account(self.identifier).mandate
        self.assertEqual((remote.mandate_id, remote.is_active), (answer.mandate_id, True))

    def test_daily_clean_up_keeps_only_the_marks_of_drafts(self):
        self._active_mandate(self.partner)
        drafts = self._sepa(self.partner, self._bank(self.partner, IBAN_BERNARD))
        drafts |= self._sepa(self.partner, drafts.bank_account_id, holder="Someone else")
        # Registered: as the answer recorded leaves it (its mark, if any,
        # committed elsewhere, is not this transaction's to see).
        drafts[1]._urssaf_write({"state": "active", "rum": "URSSAF-AE-99999999"})
        gone = self._sepa(self.partner, drafts.bank_account_id)
        gone_id = gone.id
        gone.unlink()
        Mark = self.env["urssaf.sending.mark"].sudo()
        now = fields.Datetime.now()
        Mark.create(
            [
                {"res_model": "urssaf.sepa.mandate", "res_id": res_id, "step": "register", "marked_at": now}
                for res_id in (*drafts.ids, gone_id)
            ]
        )
        Mark._gc_marks_sent()
        self.assertEqual(Mark.search([("res_id", "in", (*drafts.ids, gone_id))]).mapped("res_id"), drafts[:1].ids)
