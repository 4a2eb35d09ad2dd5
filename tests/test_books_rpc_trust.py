# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Contributions in the books, ACRE and the yearly summary, tried over
XML-RPC as each user (see rpc_trust)."""

from datetime import date

from odoo.tests import tagged

from ..urssaf_api.seed import seed_account

# The module, not its class: a test module's own TestCase classes are the
# ones collected, and the harness' base class has no table to run.
from . import rpc_trust
from .rpc_trust import Attempt

NO_FIELD_ACCESS = "You do not have enough rights to access the field"
NO_WRITE = "You are not allowed to modify"
SYSTEM_ONLY = "is filled only from the books and Urssaf's answers"


def _company_write(values):
    def call(case):
        return ("res.company", "write", [[case.company_a.id], values])

    return call


def _partner_write(values):
    def call(case):
        return ("res.partner", "write", [[case.ae.id], values])

    return call


def _journal_write(case):
    return ("res.company", "write", [[case.company_a.id], {"urssaf_contribution_journal_id": case.journal.id}])


@tagged("post_install", "-at_install")
class TestBooksTrust(rpc_trust.RpcTrustCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        seed = seed_account("acre_new_business")
        cls.ae = cls.env["res.partner"].create(
            {
                "name": "Camille Martin",
                "company_registry": seed.get("siret"),
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_category_id": cls.env.ref("l10n_fr_urssaf_tierce_declaration.category_vente_marchandises").id,
                "urssaf_identifier_type": "nir" if seed.get("nir") else "siret",
                **({"urssaf_nir": seed["nir"]} if seed.get("nir") else {}),
            }
        )
        cls.ae._urssaf_check_account()
        cls.journal = cls.env["account.journal"].create(
            {"name": "Urssaf", "code": "URSF", "type": "general", "company_id": cls.company_a.id}
        )
        cls.declared = cls.env["urssaf.declaration"].create(
            {
                "partner_id": cls.ae.id,
                "company_id": cls.company_a.id,
                "period_start": date(2026, 10, 1),
                "period_end": date(2026, 10, 31),
                "periodicity": "monthly",
                "state": "paid",
                "urssaf_number": "D0001",
            }
        )
        cls.move = cls.env["account.move"].create({"move_type": "entry", "company_id": cls.company_a.id})

    ATTEMPTS = (
        Attempt(
            "a declarant turns the posting of contributions on",
            "declarant",
            _company_write({"urssaf_post_contributions": True}),
            NO_FIELD_ACCESS,
            ("res_company",),
        ),
        Attempt(
            "an Access rights administrator changes the contributions journal",
            "access_rights",
            _journal_write,
            NO_FIELD_ACCESS,
            ("res_company",),
        ),
        Attempt(
            "a declarant reads the contributions accounts",
            "declarant",
            lambda case: ("res.company", "read", [[case.company_a.id], ["urssaf_payable_account_id"]]),
            NO_FIELD_ACCESS,
        ),
        Attempt(
            "a system administrator chooses the contributions journal (control)",
            "system",
            _journal_write,
            None,
            ("res_company",),
        ),
        Attempt(
            "a preparer records ACRE",
            "preparer",
            _partner_write({"urssaf_acre": True}),
            NO_WRITE,
            ("urssaf_account",),
        ),
        Attempt(
            "a declarant records ACRE (control)",
            "declarant",
            _partner_write({"urssaf_acre": True}),
            None,
            ("urssaf_account",),
        ),
        Attempt(
            "a declarant links a declaration to another entry",
            "declarant",
            lambda case: ("urssaf.declaration", "write", [[case.declared.id], {"contribution_move_id": case.move.id}]),
            SYSTEM_ONLY,
            ("urssaf_declaration",),
        ),
        Attempt(
            "an internal user reads the yearly summary",
            "internal",
            lambda case: ("urssaf.yearly.summary", "search_read", [[]], {"fields": ["declared_amount"]}),
            "You are not allowed to access",
        ),
    )

    def after_attempts(self):
        account = self.ae._urssaf_account()
        self.assertTrue(account.acre)
        self.assertEqual(self.company_a.urssaf_contribution_journal_id, self.journal)
        self.assertFalse(self.company_a.urssaf_post_contributions)
