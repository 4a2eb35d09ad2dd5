# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Urssaf settings and the environment records were sent to, tried over
XML-RPC as each user (see rpc_trust)."""

from datetime import date

from odoo.tests import tagged

# The module, not its class: a test module's own TestCase classes are the
# ones collected, and the harness' base class has no table to run.
from . import rpc_trust
from .rpc_trust import Attempt

SETTINGS_READ = ["urssaf_client_id", "urssaf_environment", "urssaf_base_url"]
NO_FIELD_ACCESS = "You do not have enough rights to access the field"


def _company_write(values, **context):
    def call(case):
        kwargs = {"context": context} if context else {}
        return ("res.company", "write", [[case.company_a.id], values], kwargs)

    return call


def _company_read(case):
    return ("res.company", "read", [[case.company_a.id], SETTINGS_READ])


def _confirm_through_wizard(case):
    wizard = (
        case.env["urssaf.environment.change"]
        .with_user(case.users["system"])
        .create({"company_id": case.company_a.id, "environment": "sandbox"})
    )
    return ("urssaf.environment.change", "action_confirm", [[wizard.id]])


@tagged("post_install", "-at_install")
class TestSettingsTrust(rpc_trust.RpcTrustCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a.write({"urssaf_environment": "embedded", "urssaf_client_id": "cabinet-a"})
        partner = cls.env["res.partner"].create({"name": "Camille Martin"})
        cls.mandate = cls.env["urssaf.mandate"].create({"partner_id": partner.id, "company_id": cls.company_a.id})
        cls.declared = cls.env["urssaf.declaration"].create(
            {
                "partner_id": partner.id,
                "company_id": cls.company_a.id,
                "period_start": date(2026, 1, 1),
                "period_end": date(2026, 1, 31),
                "periodicity": "monthly",
                "state": "declared",
                "urssaf_number": "D0001",
            }
        )

    ATTEMPTS = (
        Attempt(
            "an Access rights administrator switches the company to production",
            "access_rights",
            _company_write({"urssaf_environment": "production"}),
            NO_FIELD_ACCESS,
            ("res_company",),
        ),
        Attempt(
            "an Access rights administrator points the base URL at any host",
            "access_rights",
            _company_write({"urssaf_base_url": "https://evil.example.com"}),
            NO_FIELD_ACCESS,
            ("res_company",),
        ),
        Attempt(
            "a declarant switches the company to production",
            "declarant",
            _company_write({"urssaf_environment": "production"}),
            NO_FIELD_ACCESS,
            ("res_company",),
        ),
        Attempt("a portal user reads the Urssaf settings", "portal", _company_read, NO_FIELD_ACCESS, ("res_company",)),
        Attempt(
            "an internal user reads the Urssaf settings", "internal", _company_read, NO_FIELD_ACCESS, ("res_company",)
        ),
        Attempt("a declarant reads the Urssaf settings", "declarant", _company_read, NO_FIELD_ACCESS, ("res_company",)),
        Attempt(
            "a portal user searches the companies by environment",
            "portal",
            lambda case: ("res.company", "search", [[("urssaf_environment", "=", "production")]]),
            NO_FIELD_ACCESS,
        ),
        Attempt(
            "the system administrator points the base URL at a host not allowed",
            "system",
            _company_write({"urssaf_base_url": "https://evil.example.com"}),
            "Urssaf base URL: the host “evil.example.com” is not allowed",
            ("res_company",),
        ),
        Attempt(
            "the system administrator hides a host in the user info of the base URL",
            "system",
            _company_write({"urssaf_base_url": "https://api.urssaf.fr@evil.example.com"}),
            "Urssaf base URL",
            ("res_company",),
        ),
        Attempt(
            "a declarant writes the environment of a mandate",
            "declarant",
            lambda case: ("urssaf.mandate", "write", [[case.mandate.id], {"urssaf_environment": "production"}]),
            "“Urssaf environment” is filled only from the books and Urssaf's answers",
            ("urssaf_mandate",),
        ),
        Attempt(
            "a declarant creates a mandate said sent to production",
            "declarant",
            lambda case: (
                "urssaf.mandate",
                "create",
                [{"partner_id": case.mandate.partner_id.id, "urssaf_environment": "production"}],
            ),
            "“Urssaf environment” is filled only from the books and Urssaf's answers",
            ("urssaf_mandate",),
        ),
        Attempt(
            "the system administrator switches the environment with a declared unpaid declaration",
            "system",
            _company_write({"urssaf_environment": "sandbox"}),
            "declared to Urssaf but not paid yet: Camille Martin",
            ("res_company", "urssaf_declaration"),
        ),
        Attempt(
            "the system administrator forges the confirmation in the context",
            "system",
            _company_write({"urssaf_environment": "sandbox"}, urssaf_environment_change_confirmed=True),
            "declared to Urssaf but not paid yet",
            ("res_company", "urssaf_declaration"),
        ),
        # Issue 27: someone responsible before automatic runs.
        Attempt(
            "the system administrator turns automatic runs on with no responsible accountant",
            "system",
            _company_write({"urssaf_auto_declare": True, "urssaf_responsible_user_id": False}),
            "Responsible accountant is required to turn on Declare automatically",
            ("res_company",),
        ),
        Attempt(
            "the system administrator turns automatic runs on naming the declarant responsible",
            "system",
            lambda case: (
                "res.company",
                "write",
                [
                    [case.company_a.id],
                    {"urssaf_auto_declare": True, "urssaf_responsible_user_id": case.users["declarant"].id},
                ],
            ),
            None,
            ("res_company",),
        ),
        Attempt(
            "the system administrator writes a base URL on urssaf.fr",
            "system",
            _company_write({"urssaf_base_url": "https://api-edi.urssaf.fr"}),
            None,
            ("res_company",),
        ),
        Attempt(
            "the system administrator confirms the change through the wizard",
            "system",
            _confirm_through_wizard,
            None,
            ("res_company",),
        ),
    )

    def test_confirmed_change_is_the_one_asked(self):
        self.rpc("system", *_confirm_through_wizard(self))
        self.env.invalidate_all()
        self.assertEqual(self.company_a.urssaf_environment, "sandbox")
        self.assertEqual(self.declared.state, "declared")
