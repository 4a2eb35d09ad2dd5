# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The accountant's day, tried over XML-RPC as each user: the cockpit, the
declarations' pivot and grouped sums, the figures in the confirmations.

One set of records for these tests (company A of the trust tables):

- the trader (monthly, eligible, mandate and SEPA mandate active): its
  September declared and unpaid, August estimated, July in error with an
  unknown outcome, October still a draft;
- the craftsman (quarterly, mandate, no SEPA mandate), 70,000 declared and
  paid for the first quarter: near its services ceiling;
- the liberal profession (checked, no mandate), and the ineligible one;
- in company B, a draft declaration that company A's users never count.
"""

from datetime import date

from odoo import Command
from odoo.tests import HttpCase, freeze_time, new_test_user

from .common import FROZEN_NOW, UrssafSandboxMixin
from .rpc_trust import PASSWORD, USER_GROUPS
from .test_declaration_trust import IBAN_TRADER, _declaration, _make_auto_entrepreneur

TODAY = date(2026, 11, 27)


@freeze_time(FROZEN_NOW)
class AccountantDayCase(UrssafSandboxMixin, HttpCase):
    """The records above, and ``rpc`` as the users of the trust tables."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Urssaf day company B"})
        cls.users = {}
        for role in ("preparer", "declarant", "declarant_b"):
            company = cls.company_b if role == "declarant_b" else cls.company_a
            cls.users[role] = new_test_user(
                cls.env,
                login=f"urssaf_day_{role}",
                password=PASSWORD,
                groups=USER_GROUPS[role],
                company_id=company.id,
                company_ids=[Command.set(company.ids)],
                lang="en_US",
            )
        env = cls.env
        cls.trader = _make_auto_entrepreneur(env, "monthly_trader", "VENTE_MARCHANDISES")
        env["res.partner.bank"].create({"partner_id": cls.trader.id, "acc_number": IBAN_TRADER})
        cls.trader.action_urssaf_sync_sepa_mandates()
        cls.craftsman = _make_auto_entrepreneur(env, "quarterly_craftsman_moselle", "PRESTATION_SERVICES_BIC")
        cls.liberal = _make_auto_entrepreneur(env, "liberal_bnc_liberatoire", "PRESTATION_SERVICES_BNC", mandate=False)
        cls.ineligible = _make_auto_entrepreneur(env, "not_eligible", "PRESTATION_SERVICES_BIC", mandate=False)

        preparer, declarant = cls.users["preparer"], cls.users["declarant"]
        cls.september = _declaration(env, cls.trader, date(2026, 9, 1), date(2026, 9, 30), 1000.0)
        cls.september.with_user(preparer).action_estimate()
        cls.september.with_user(declarant).action_declare()
        cls.august = _declaration(env, cls.trader, date(2026, 8, 1), date(2026, 8, 31), 2500.0)
        cls.august.with_user(preparer).action_estimate()
        cls.july = _declaration(env, cls.trader, date(2026, 7, 1), date(2026, 7, 31), 300.0)
        cls.july.write(
            {"state": "error", "error_step": "declare", "error_message": "Time-out", "outcome_unknown": True}
        )
        cls.october = _declaration(env, cls.trader, date(2026, 10, 1), date(2026, 10, 31), 400.0)
        assert cls.september.state == "declared", cls.september.error_message
        assert cls.august.state == "estimated", cls.august.error_message

        # 70,000 of services declared this year: 90 % of the BIC services ceiling.
        cls.craftsman_q1 = _declaration(
            env, cls.craftsman, date(2026, 1, 1), date(2026, 3, 31), 70000.0, "PRESTATION_SERVICES_BIC"
        )
        cls.craftsman_q1.write({"state": "paid", "urssaf_number": "DEC-Q1-CRAFTSMAN"})

        category = env["urssaf.activity.category"].search([("code", "=", "VENTE_MARCHANDISES")])
        cls.other_company_declaration = env["urssaf.declaration"].create(
            {
                "partner_id": cls.trader.id,
                "company_id": cls.company_b.id,
                "period_start": date(2026, 10, 1),
                "period_end": date(2026, 10, 31),
                "periodicity": "monthly",
                "line_ids": [Command.create({"category_id": category.id, "computed_amount": 9.0, "amount": 9.0})],
            }
        )

    def rpc(self, role, model, method, args, kwargs=None):
        """``execute_kw`` over XML-RPC as the user of ``role``."""
        user = self.users[role]
        return self.xmlrpc_object.execute_kw(self.env.cr.dbname, user.id, PASSWORD, model, method, args, kwargs or {})

    def call_kw(self, role, model, method, args, kwargs=None):
        """The web client's own call (JSON-RPC on ``/web/dataset/call_kw``)
        in a session of the user of ``role``."""
        self.authenticate(self.users[role].login, PASSWORD)
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        )
