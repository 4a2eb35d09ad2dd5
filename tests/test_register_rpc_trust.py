# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The register kept with each declaration is the addon's alone, and the
yearly summary is printed for the user's own companies only: tried over
XML-RPC as each user (see rpc_trust)."""

from datetime import date

from odoo.tests import freeze_time, tagged

from . import rpc_trust
from .common import FROZEN_NOW
from .rpc_trust import Attempt
from .test_declaration_trust import _declaration, _make_auto_entrepreneur

ROWS = ("urssaf_declaration_register_row",)
# The legal record's guard (urssaf.protected.mixin) answers a write or a
# create before the access rights (read only for every group) are looked at;
# a deletion is refused by the access rights first.
NOT_WRITTEN = "cannot be written"
NOT_DELETED = "not allowed to delete"


def _row_call(method, *args):
    return lambda case: ("urssaf.declaration.register.row", method, [case.row.ids, *args])


def _new_row(case):
    return (
        "urssaf.declaration.register.row",
        "create",
        [
            {
                "declaration_id": case.declared.id,
                "company_id": case.company_a.id,
                "partner_id": case.trader.id,
                "date": "2026-09-15",
                "amount": 5000.0,
            }
        ],
    )


def _summary_wizard(company_attr):
    return lambda case: (
        "urssaf.yearly.summary.send",
        "create",
        [{"partner_id": case.trader.id, "year": 2026, "company_id": getattr(case, company_attr).id}],
    )


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestRegisterTrustRpc(rpc_trust.RpcTrustCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.trader = _make_auto_entrepreneur(env, "monthly_trader", "VENTE_MARCHANDISES")
        cls.declared = _declaration(env, cls.trader, date(2026, 9, 1), date(2026, 9, 30), 1000.0)
        cls.declared.with_user(cls.users["preparer"]).action_estimate()
        cls.declared.with_user(cls.users["declarant"]).action_declare()
        assert cls.declared.state == "declared", cls.declared.error_message
        # The row the addon kept (these books hold no invoice: one is made
        # here, as the addon's step writes them).
        cls.row = (
            env["urssaf.declaration.register.row"]
            .sudo()
            .create(
                {
                    "declaration_id": cls.declared.id,
                    "company_id": cls.declared.company_id.id,
                    "partner_id": cls.trader.id,
                    "date": date(2026, 9, 10),
                    "document": "INV/2026/00001",
                    "amount": 1000.0,
                    "amount_total": 1200.0,
                    "currency_id": env.ref("base.EUR").id,
                }
            )
        )

    ATTEMPTS = (
        Attempt("a declarant rewrites a row kept", "declarant", _row_call("write", {"amount": 1.0}), NOT_WRITTEN, ROWS),
        Attempt("a declarant removes a row kept", "declarant", _row_call("unlink"), NOT_DELETED, ROWS),
        Attempt("a declarant adds a row", "declarant", _new_row, NOT_WRITTEN, ROWS),
        Attempt(
            "an administrator of access rights rewrites a row kept",
            "access_rights",
            _row_call("write", {"date": "2026-10-01"}),
            NOT_WRITTEN,
            ROWS,
        ),
        Attempt("a system administrator removes a row kept", "system", _row_call("unlink"), NOT_DELETED, ROWS),
        Attempt("a system administrator adds a row", "system", _new_row, NOT_WRITTEN, ROWS),
        Attempt(
            "a declarant adds a row through the context's defaults",
            "declarant",
            rpc_trust.with_context_defaults(
                lambda case: ("urssaf.declaration.register.row", "create", [{}]), amount=5000.0, rebuilt=True
            ),
            NOT_WRITTEN,
            ROWS,
        ),
        Attempt(
            "a declarant creates a declaration whose books' comparison is forged through the context's defaults",
            "declarant",
            rpc_trust.with_context_defaults(
                lambda case: (
                    "urssaf.declaration",
                    "create",
                    [
                        {
                            "partner_id": case.trader.id,
                            "company_id": case.company_a.id,
                            "period_start": "2026-10-01",
                            "period_end": "2026-10-31",
                        }
                    ],
                ),
                register_books_total=12345.0,
            ),
            NOT_WRITTEN,
            ("urssaf_declaration",),
        ),
        Attempt(
            "a declarant clears the books' difference of a declaration",
            "declarant",
            lambda case: (
                "urssaf.declaration",
                "write",
                [case.declared.ids, {"register_books_changed": True, "register_books_total": 1.0}],
            ),
            "cannot be written",
            ("urssaf_declaration",),
        ),
        Attempt(
            "a declarant asks the yearly summary of another company",
            "declarant",
            _summary_wizard("company_b"),
            "is not one of your companies",
            ("urssaf_yearly_summary_send",),
        ),
        Attempt(
            "control: a declarant asks the yearly summary of its company",
            "declarant",
            _summary_wizard("company_a"),
            None,
            ("urssaf_yearly_summary_send",),
        ),
    )

    def after_attempts(self):
        self.assertEqual(self.row.amount, 1000.0)
        self.assertEqual(self.declared.register_row_ids, self.row)
