# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Each company's Urssaf account of an auto-entrepreneur (security review).

Partners are shared between the companies of a database; what a company knows
of an auto-entrepreneur (its NIR, how it is declared, what Urssaf answered to
the account check, the check's notes) is that company's alone, and the signed
mandate is for declarants only.
"""

import base64
from datetime import date, timedelta
from unittest.mock import patch

import psycopg2
from stdnum.fr import nir as stdnum_nir

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.modules.module import get_module_path, load_script
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL, mute_logger
from odoo.tools.sql import column_exists, table_exists

from ..urssaf_api.seed import seed_account
from . import rpc_trust
from .rpc_trust import PASSWORD, Attempt, with_context_defaults
from .test_partner_mandates import ADDON, DECLARANT, PDF, PREPARER, UrssafAeCase

NIR_TRADER = seed_account("monthly_trader")["nir"]
NIR_TRADER_FORMATTED = "2 88 04 75 111 023 71"
NIR_LIBERAL = seed_account("liberal_bnc_liberatoire")["nir"]
NIR_NOT_ELIGIBLE = seed_account("not_eligible")["nir"]
assert len({NIR_TRADER, NIR_LIBERAL, NIR_NOT_ELIGIBLE}) == 3
CHECK_ONLY = "is filled only from the books and Urssaf's answers"
# A record rule's refusal (of a record of another company).
RULE = "stumbled upon some top-secret records"
MESSAGE_REFUSED = "(Document type: Message, Operation: read)"
FIELD_ACCESS = "You do not have enough rights to access the field"


@tagged("post_install", "-at_install")
class TestAccountTrust(rpc_trust.RpcTrustCase):
    """Over XML-RPC, as each user: company A's auto-entrepreneur, its account
    in A (checked), the check's note and a mandate with its signed document."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.goods = cls.env.ref(f"{ADDON}.category_vente_marchandises")
        # A contact of no company: every company's users see the partner.
        cls.ae = cls.env["res.partner"].create(
            {
                "name": "Camille Martin",
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_identifier_type": "nir",
                "urssaf_nir": NIR_TRADER,
                "urssaf_category_id": cls.goods.id,
            }
        )
        cls.ae._urssaf_flagged_account()._urssaf_check()
        cls.account_a = cls.ae._urssaf_account()
        cls.check_notes = cls.env["mail.message"].search(
            [("model", "=", "urssaf.account"), ("res_id", "=", cls.account_a.id), ("body", "ilike", "checked")]
        )
        cls.mandate = cls.env["urssaf.mandate"].create(
            {"partner_id": cls.ae.id, "document": PDF, "document_name": "mandat.pdf"}
        )
        cls.document = (
            cls.env["ir.attachment"]
            .sudo()
            .search(
                [("res_model", "=", "urssaf.mandate"), ("res_id", "=", cls.mandate.id), ("res_field", "=", "document")]
            )
        )

    def test_setup(self):
        self.assertEqual(self.account_a.company_id, self.company_a)
        self.assertEqual(self.account_a.state, "eligible")
        self.assertEqual(len(self.check_notes), 1)
        self.assertEqual(len(self.document), 1)

    ATTEMPTS = (
        # --- another company's declarant -------------------------------------------------
        Attempt(
            "company B's declarant reads the NIR and the check of A's account",
            "declarant_b",
            lambda case: ("urssaf.account", "read", [[case.account_a.id], ["nir", "state", "eligible"]]),
            RULE,
        ),
        Attempt(
            "company B's declarant writes the NIR of A's account",
            "declarant_b",
            lambda case: ("urssaf.account", "write", [[case.account_a.id], {"nir": NIR_LIBERAL}]),
            RULE,
            ("urssaf_account",),
        ),
        Attempt(
            "company B's declarant runs the check of A's account",
            "declarant_b",
            lambda case: ("urssaf.account", "action_urssaf_check", [[case.account_a.id]]),
            RULE,
            ("urssaf_account", "mail_message"),
        ),
        Attempt(
            "company B's declarant runs the check from A's auto-entrepreneur",
            "declarant_b",
            lambda case: ("res.partner", "action_urssaf_check_account", [[case.ae.id]]),
            "is not an auto-entrepreneur of Urssaf RPC company B",
            ("urssaf_account", "mail_message"),
        ),
        Attempt(
            "company B's declarant reads the note of A's account check",
            "declarant_b",
            lambda case: ("mail.message", "read", [case.check_notes.ids, ["body"]]),
            MESSAGE_REFUSED,
        ),
        Attempt(
            "company B's declarant reads A's signed mandate",
            "declarant_b",
            lambda case: ("ir.attachment", "read", [case.document.ids, ["datas"]]),
            f"{RULE}",
        ),
        # --- users of company A without the right ------------------------------------------
        Attempt(
            "an internal user reads the note of the account check",
            "internal",
            lambda case: ("mail.message", "read", [case.check_notes.ids, ["body"]]),
            MESSAGE_REFUSED,
        ),
        Attempt(
            "an internal user reads the account",
            "internal",
            lambda case: ("urssaf.account", "read", [[case.account_a.id], ["state", "eligible"]]),
            "You are not allowed to access",
        ),
        Attempt(
            # Portal users read their own auto-entrepreneur's account only
            # (the portal's record rule): not this one.
            "a portal user reads the account",
            "portal",
            lambda case: ("urssaf.account", "read", [[case.account_a.id], ["state"]]),
            RULE,
        ),
        Attempt(
            "a preparer reads the NIR of the account",
            "preparer",
            lambda case: ("urssaf.account", "read", [[case.account_a.id], ["nir"]]),
            FIELD_ACCESS,
        ),
        Attempt(
            "a preparer reads the signed mandate through the mandate",
            "preparer",
            lambda case: ("urssaf.mandate", "read", [[case.mandate.id], ["document"]]),
            FIELD_ACCESS,
        ),
        Attempt(
            "a preparer reads the signed mandate's attachment",
            "preparer",
            lambda case: ("ir.attachment", "read", [case.document.ids, ["datas", "name"]]),
            "- Attachment (ir.attachment)",
        ),
        Attempt(
            "a preparer writes the eligibility on the partner",
            "preparer",
            lambda case: ("res.partner", "write", [[case.ae.id], {"urssaf_eligible": False}]),
            CHECK_ONLY,
            ("urssaf_account", "res_partner"),
        ),
        Attempt(
            "a preparer writes the check's state on the account",
            "preparer",
            lambda case: ("urssaf.account", "write", [[case.account_a.id], {"state": "unchecked"}]),
            CHECK_ONLY,
            ("urssaf_account",),
        ),
        Attempt(
            "a preparer writes the trade on the account",
            "preparer",
            lambda case: ("urssaf.account", "write", [[case.account_a.id], {"trade": "artisan"}]),
            "You are not allowed to modify 'Urssaf account",
            ("urssaf_account",),
        ),
        Attempt(
            "a preparer writes the trade on the partner",
            "preparer",
            lambda case: ("res.partner", "write", [[case.ae.id], {"urssaf_trade": "artisan"}]),
            "You are not allowed to modify",
            ("urssaf_account", "res_partner"),
        ),
        Attempt(
            "a declarant writes the eligibility on the account",
            "declarant",
            lambda case: ("urssaf.account", "write", [[case.account_a.id], {"eligible": False}]),
            f"“Eligible to tierce déclaration” {CHECK_ONLY}",
            ("urssaf_account",),
        ),
        Attempt(
            "a declarant writes the periodicity on the partner",
            "declarant",
            lambda case: ("res.partner", "write", [[case.ae.id], {"urssaf_periodicity": "quarterly"}]),
            f"“Declaration periodicity” {CHECK_ONLY}",
            ("urssaf_account", "res_partner"),
        ),
        Attempt(
            "a declarant creates an account already checked",
            "declarant",
            lambda case: (
                "urssaf.account",
                "create",
                [{"partner_id": case.ae.id, "state": "eligible", "eligible": True}],
            ),
            CHECK_ONLY,
            ("urssaf_account",),
        ),
        # --- context defaults, filled into create's values after the model looked at them ----
        Attempt(
            "a declarant creates an account with the check's results as context defaults",
            "declarant",
            with_context_defaults(
                lambda case: ("urssaf.account", "create", [{"partner_id": case.company_b.partner_id.id}]),
                state="eligible",
                eligible=True,
                periodicity="monthly",
            ),
            CHECK_ONLY,
            ("urssaf_account",),
        ),
        Attempt(
            "a declarant creates an auto-entrepreneur whose account gets eligible from the context defaults",
            "declarant",
            with_context_defaults(
                lambda case: ("res.partner", "create", [{"name": "Forged AE", "urssaf_is_auto_entrepreneur": True}]),
                eligible=True,
                activity_start="2020-01-01",
            ),
            CHECK_ONLY,
            ("urssaf_account", "res_partner"),
        ),
        Attempt(
            "a declarant creates a mandate already active at Urssaf through the context defaults",
            "declarant",
            with_context_defaults(
                lambda case: ("urssaf.mandate", "create", [{"partner_id": case.ae.id}]),
                state="active",
                urssaf_mandate_ref="MANDATE-FORGED",
                effective_date="2026-01-01",
            ),
            "“State” is filled only",
            ("urssaf_mandate",),
        ),
        Attempt(
            "a declarant creates a mandate said sent to production through the context defaults",
            "declarant",
            with_context_defaults(
                lambda case: ("urssaf.mandate", "create", [{"partner_id": case.ae.id}]),
                urssaf_environment="production",
            ),
            "“Urssaf environment” is filled only",
            ("urssaf_mandate",),
        ),
        # --- controls: company A's declarant -------------------------------------------------
        Attempt(
            "company A's declarant writes its auto-entrepreneur's NIR",
            "declarant",
            lambda case: (
                "res.partner",
                "write",
                [[case.ae.id], {"urssaf_nir_formatted": stdnum_nir.format(NIR_LIBERAL)}],
            ),
            None,
            ("urssaf_account",),
        ),
        Attempt(
            "company A's declarant runs the account check",
            "declarant",
            lambda case: ("res.partner", "action_urssaf_check_account", [[case.ae.id]]),
            None,
            ("urssaf_account", "mail_message"),
        ),
    )

    # --- what goes through, but shows or changes nothing of company A's --------------

    def _account_rows(self, partner):
        self.env.flush_all()
        self.env.cr.execute(SQL("SELECT * FROM urssaf_account WHERE partner_id = %s ORDER BY company_id", partner.id))
        return self.env.cr.fetchall()

    def test_company_b_reads_nothing_of_a_through_the_partner(self):
        fnames = [
            "urssaf_is_auto_entrepreneur",
            "urssaf_nir",
            "urssaf_nir_formatted",
            "urssaf_identifier_type",
            "urssaf_category_id",
            "urssaf_account_state",
            "urssaf_eligible",
            "urssaf_periodicity",
            "urssaf_activity_start",
            "urssaf_category_ids",
            "urssaf_checked_at",
            "urssaf_account_ids",
            "urssaf_account_count",
        ]
        (values,) = self.rpc("declarant_b", "res.partner", "read", [[self.ae.id], fnames])
        self.assertEqual(
            {fname: value for fname, value in values.items() if value and fname != "id"},
            {"urssaf_identifier_type": "siret", "urssaf_account_state": "unchecked"},
            "what a partner without account in B shows",
        )
        self.assertNotIn(NIR_TRADER, str(values))
        self.assertEqual(self.rpc("declarant_b", "urssaf.account", "search_read", [[], ["partner_id"]]), [])
        self.assertEqual(
            self.rpc("declarant_b", "res.partner", "search", [[("urssaf_is_auto_entrepreneur", "=", True)]]), []
        )
        self.assertEqual(self.rpc("declarant_b", "res.partner", "search", [[("urssaf_nir", "=", NIR_TRADER)]]), [])
        notes = [("model", "=", "urssaf.account"), ("res_id", "=", self.account_a.id)]
        for role in ("declarant_b", "internal"):
            with self.subTest(role=role):
                self.assertEqual(self.rpc(role, "mail.message", "search_read", [notes, ["body"]]), [])
        # Company A's declarant sees it all.
        (values,) = self.rpc("declarant", "res.partner", "read", [[self.ae.id], ["urssaf_nir", "urssaf_eligible"]])
        self.assertEqual((values["urssaf_nir"], values["urssaf_eligible"]), (NIR_TRADER, True))
        bodies = str(self.rpc("declarant", "mail.message", "search_read", [notes, ["body"]]))
        self.assertIn("Urssaf account checked: eligible", bodies)

    def test_company_b_writes_only_its_own_account(self):
        before = self._account_rows(self.ae)
        self.rpc(
            "declarant_b",
            "res.partner",
            "write",
            [
                [self.ae.id],
                {
                    "urssaf_is_auto_entrepreneur": True,
                    "urssaf_category_id": self.goods.id,
                    "urssaf_identifier_type": "nir",
                    "urssaf_nir_formatted": stdnum_nir.format(NIR_NOT_ELIGIBLE),
                },
            ],
        )
        self.env.invalidate_all()
        after = self._account_rows(self.ae)
        self.assertEqual(after[0], before[0], "company A's account is unchanged")
        account_b = self.ae.urssaf_account_ids - self.account_a
        self.assertEqual(account_b.company_id, self.company_b)
        self.assertEqual(account_b.nir, NIR_NOT_ELIGIBLE)
        # B's check reads and writes B's account only.
        self.rpc("declarant_b", "res.partner", "action_urssaf_check_account", [[self.ae.id]])
        self.env.invalidate_all()
        self.assertEqual(self._account_rows(self.ae)[0], before[0])
        self.assertEqual(account_b.state, "not_eligible")
        self.assertEqual(self.account_a.state, "eligible")
        (values,) = self.rpc("declarant_b", "res.partner", "read", [[self.ae.id], ["urssaf_nir", "urssaf_eligible"]])
        self.assertEqual((values["urssaf_nir"], values["urssaf_eligible"]), (NIR_NOT_ELIGIBLE, False))

    def test_preparer_finds_no_signed_mandate(self):
        self.assertEqual(
            self.rpc("declarant", "ir.attachment", "read", [self.document.ids, ["name"]])[0]["name"], "document"
        )
        domains = [
            [("res_model", "=", "urssaf.mandate"), ("res_id", "=", self.mandate.id), ("res_field", "=", "document")],
            [("res_field", "=", "document")],
            [("id", "in", self.document.ids)],
        ]
        for domain in domains:
            with self.subTest(domain=domain):
                self.assertEqual(self.rpc("preparer", "ir.attachment", "search_read", [domain, ["datas"]]), [])
        # A preparer still sees the mandate, not its document.
        (values,) = self.rpc("preparer", "urssaf.mandate", "read", [[self.mandate.id], ["state", "document_name"]])
        self.assertEqual(values["state"], "draft")
        self.assertNotIn("document", self.rpc("preparer", "urssaf.mandate", "fields_get", [], {"attributes": ["type"]}))
        # Nor through the web.
        self.authenticate(self.users["preparer"].login, PASSWORD)
        response = self.url_open(f"/web/content/urssaf.mandate/{self.mandate.id}/document")
        self.assertIn(response.status_code, (403, 404))
        self.assertNotIn(base64.b64decode(PDF), response.content)


@tagged("post_install", "-at_install")
class TestPerCompanyAccount(UrssafAeCase):
    """The same person, declared by two companies: each sees its own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.company
        cls.company_b = cls.env["res.company"].create({"name": "Cabinet B"})
        cls.declarant_b = new_test_user(
            cls.env,
            login="acc_declarant_b",
            groups=DECLARANT,
            company_id=cls.company_b.id,
            company_ids=[(6, 0, cls.company_b.ids)],
        )
        cls.preparer_a = new_test_user(cls.env, login="acc_preparer_a", groups=PREPARER)
        cls.both = new_test_user(
            cls.env,
            login="acc_declarant_ab",
            groups=DECLARANT,
            company_id=cls.company_a.id,
            company_ids=[(6, 0, (cls.company_a | cls.company_b).ids)],
        )

    def _declared_by_both(self):
        """One partner, checked by A with the trader's NIR and by B with the
        NIR of an ineligible account."""
        partner = self._ae("monthly_trader")
        partner.with_user(self.declarant).action_urssaf_check_account()
        partner.with_user(self.declarant_b).write(
            {
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_category_id": self.category_goods.id,
                "urssaf_identifier_type": "nir",
                "urssaf_nir": NIR_NOT_ELIGIBLE,
                "urssaf_trade": "liberal",
            }
        )
        partner.with_user(self.declarant_b).action_urssaf_check_account()
        return partner

    def test_each_company_sees_its_own_account(self):
        partner = self._declared_by_both()
        account_a, account_b = partner.sudo().urssaf_account_ids.sorted(lambda a: a.company_id == self.company_b)
        self.assertEqual((account_a.company_id, account_b.company_id), (self.company_a, self.company_b))
        as_a = partner.with_user(self.declarant)
        as_b = partner.with_user(self.declarant_b)
        self.assertEqual(
            (as_a.urssaf_nir, as_a.urssaf_trade, as_a.urssaf_account_state, as_a.urssaf_eligible),
            (NIR_TRADER, "commercant", "eligible", True),
        )
        self.assertEqual(
            (as_b.urssaf_nir, as_b.urssaf_trade, as_b.urssaf_account_state, as_b.urssaf_eligible),
            (NIR_NOT_ELIGIBLE, "liberal", "not_eligible", False),
        )
        self.assertEqual(as_a.urssaf_periodicity, "monthly")
        self.assertIn("Sortie du régime micro-social", as_b.urssaf_ineligibility_reason)
        self.assertFalse(as_a.urssaf_ineligibility_reason)
        # Each sees its own account only, and its own check's note.
        Account = self.env["urssaf.account"]
        self.assertEqual(Account.with_user(self.declarant).search([("partner_id", "=", partner.id)]), account_a)
        self.assertEqual(Account.with_user(self.declarant_b).search([("partner_id", "=", partner.id)]), account_b)
        action = as_b.action_urssaf_view_accounts()
        self.assertEqual(Account.with_user(self.declarant_b).search(action["domain"]), account_b)
        self.assertEqual(as_b.urssaf_account_count, 1)
        self.assertIn("eligible, declares monthly", self._bodies(account_a))
        self.assertNotIn("not eligible", self._bodies(account_a))
        self.assertIn("not eligible", self._bodies(account_b))
        self.assertNotIn("Urssaf account", self._bodies(partner))
        with self.assertRaises(AccessError):
            account_a.with_user(self.declarant_b).read(["state"])
        # Searching: in each company's own accounts.
        Partner = self.env["res.partner"]
        self.assertIn(partner, Partner.with_user(self.declarant).search([("urssaf_eligible", "=", True)]))
        self.assertNotIn(partner, Partner.with_user(self.declarant_b).search([("urssaf_eligible", "=", True)]))
        self.assertIn(partner, Partner.with_user(self.declarant_b).search([("urssaf_eligible", "!=", True)]))
        self.assertIn(partner, Partner.with_user(self.declarant_b).search([("urssaf_nir", "=", NIR_NOT_ELIGIBLE)]))
        self.assertNotIn(partner, Partner.with_user(self.declarant_b).search([("urssaf_nir", "=", NIR_TRADER)]))
        # A user of both companies sees the account of the current one.
        both = partner.with_user(self.both).with_context(allowed_company_ids=(self.company_a | self.company_b).ids)
        self.assertEqual(both.urssaf_nir, NIR_TRADER)
        self.assertEqual(both.with_company(self.company_b).urssaf_nir, NIR_NOT_ELIGIBLE)
        self.assertEqual(
            Account.with_user(self.both)
            .with_context(allowed_company_ids=both.env.companies.ids)
            .search([("partner_id", "=", partner.id)]),
            account_a | account_b,
        )
        # What each company declares with.
        self.assertEqual(partner._urssaf_identifier(self.company_a).nir, NIR_TRADER)
        self.assertEqual(partner._urssaf_identifier(self.company_b).nir, NIR_NOT_ELIGIBLE)

    def test_partner_without_account_in_the_company(self):
        partner = self._ae("monthly_trader")
        as_b = partner.with_user(self.declarant_b)
        self.assertFalse(as_b.urssaf_is_auto_entrepreneur)
        self.assertFalse(as_b.urssaf_nir)
        self.assertFalse(as_b.urssaf_category_id)
        self.assertEqual(as_b.urssaf_identifier_type, "siret")
        self.assertEqual(as_b.urssaf_account_state, "unchecked")
        Partner = self.env["res.partner"].with_user(self.declarant_b)
        self.assertNotIn(partner, Partner.search([("urssaf_is_auto_entrepreneur", "=", True)]))
        self.assertIn(partner, Partner.search([("urssaf_is_auto_entrepreneur", "=", False)]))
        self.assertIn(partner, Partner.search([("urssaf_identifier_type", "=", "siret")]))
        self.assertIn(partner, Partner.search([("urssaf_identifier_type", "in", ["siret", "nir"])]))
        self.assertNotIn(partner, Partner.search([("urssaf_identifier_type", "=", "nir")]))
        self.assertIn(partner, Partner.search([("urssaf_category_id", "=", False)]))
        self.assertIn(partner, Partner.search([("urssaf_checked_at", "=", False)]))
        self.assertNotIn(partner, Partner.search([("urssaf_checked_at", "!=", False)]))
        # Company B may not check nor declare it before flagging it.
        with self.assertNoUrssafCall(), self.assertRaises(UserError) as caught:
            as_b.action_urssaf_check_account()
        self.assertIn("is not an auto-entrepreneur of Cabinet B", str(caught.exception))
        with self.assertRaises(UserError):
            partner._urssaf_identifier(self.company_b)

    def test_writing_on_the_partner_creates_the_company_account(self):
        Partner = self.env["res.partner"].with_user(self.declarant)
        # A plain contact, saved with what the form shows: no account.
        plain = Partner.create(
            {
                "name": "Plain contact",
                "urssaf_is_auto_entrepreneur": False,
                "urssaf_identifier_type": "siret",
                "urssaf_turnover_source": "vendor_bills",
                "urssaf_category_id": False,
                "urssaf_trade": False,
                "urssaf_nir_formatted": False,
            }
        )
        self.assertFalse(plain.sudo().urssaf_account_ids)
        plain.write({"urssaf_trade": "artisan"})
        account = plain.sudo().urssaf_account_ids
        self.assertEqual((account.company_id, account.trade), (self.company_a, "artisan"))
        self.assertFalse(account.is_auto_entrepreneur, "not an auto-entrepreneur until flagged")
        self.assertFalse(plain.urssaf_is_auto_entrepreneur)
        plain.write(
            {
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_category_id": self.category_goods.id,
                "urssaf_nir_formatted": NIR_TRADER_FORMATTED,
            }
        )
        self.assertEqual(plain.sudo().urssaf_account_ids, account)
        self.assertTrue(account.is_auto_entrepreneur)
        self.assertEqual(account.nir, NIR_TRADER)
        self.assertEqual(plain.urssaf_nir, NIR_TRADER)
        # One account per company.
        with self.assertRaises(psycopg2.errors.UniqueViolation), self.env.cr.savepoint(), mute_logger("odoo.sql_db"):
            self.env["urssaf.account"].create({"partner_id": plain.id, "company_id": self.company_a.id})
        # A preparer reads it, may not change it.
        self.assertEqual(plain.with_user(self.preparer_a).urssaf_trade, "artisan")
        with self.assertRaises(AccessError):
            plain.with_user(self.preparer_a).write({"urssaf_trade": "liberal"})
        self.assertEqual(account.trade, "artisan")

    def test_check_results_are_written_by_the_check_only(self):
        partner = self._ae("monthly_trader")
        account = partner._urssaf_account()
        results = ["state", "eligible", "periodicity", "activity_start", "category_ids", "checked_at"]
        before = account.read(results)
        for fname, account_fname, value in (
            ("urssaf_eligible", "eligible", True),
            ("urssaf_account_state", "state", "eligible"),
            ("urssaf_periodicity", "periodicity", "monthly"),
            ("urssaf_activity_start", "activity_start", date(2020, 1, 1)),
            ("urssaf_category_ids", "category_ids", [fields.Command.set(self.category_goods.ids)]),
            ("urssaf_checked_at", "checked_at", fields.Datetime.now()),
        ):
            label = account._fields[account_fname].get_description(self.env)["string"]
            with self.subTest(field=fname):
                with self.assertRaises(UserError) as caught:
                    partner.with_user(self.declarant).write({fname: value})
                self.assertIn(f"“{label}” {CHECK_ONLY}", str(caught.exception))
                with self.assertRaises(UserError):
                    account.with_user(self.declarant).write({account_fname: value})
        self.assertEqual(account.read(results), before)
        # The check itself (and code running as superuser) writes them.
        partner.sudo().write({"urssaf_eligible": True, "urssaf_periodicity": "quarterly"})
        self.assertEqual((account.eligible, account.periodicity), (True, "quarterly"))
        partner.with_user(self.declarant).action_urssaf_check_account()
        self.assertEqual((account.state, account.periodicity), ("eligible", "monthly"))

    def test_scheduled_action_checks_each_account_in_its_company(self):
        now = fields.Datetime.now()
        partner = self._declared_by_both()
        other = self._ae("liberal_bnc_liberatoire")
        account_a, account_b = partner.sudo().urssaf_account_ids.sorted(lambda a: a.company_id == self.company_b)
        account_a.sudo().write({"checked_at": now - timedelta(days=8)})
        account_b.sudo().write({"checked_at": False, "state": "unchecked"})
        fresh = other._urssaf_account()
        fresh.sudo().write({"checked_at": now - timedelta(days=1)})
        Account = type(self.env["urssaf.account"])
        checked = []
        original = Account._urssaf_check

        def spy(account):
            checked.append((account, account.env.company))
            return original(account)

        cron = type(self.env["ir.cron"])
        with (
            patch.object(Account, "_urssaf_check", spy),
            patch.object(cron, "_commit_progress", return_value=float("inf")),
        ):
            self.env["res.partner"]._cron_urssaf_check_accounts()
        mine = [(account, company) for account, company in checked if account in (account_a | account_b | fresh)]
        # Never checked first, then the oldest; each in its company.
        self.assertEqual(mine, [(account_b, self.company_b), (account_a, self.company_a)])
        self.assertGreaterEqual(account_a.checked_at, now)
        self.assertEqual(account_b.state, "not_eligible")
        self.assertEqual(account_a.state, "eligible")
        self.assertEqual(fresh.checked_at, now - timedelta(days=1))
        self.assertEqual(self._bodies(account_b).count("not eligible"), 2)

    def test_sepa_synchronisation_note_on_the_company_account(self):
        partner = self._ae("monthly_trader")
        self._active_mandate(partner)
        self._bank(partner, "FR76 3000 6000 0112 3456 7890 189")
        partner.with_user(self.declarant).action_urssaf_sync_sepa_mandates()
        self.assertIn("SEPA mandates synchronised from Urssaf", self._bodies(partner._urssaf_account()))
        self.assertNotIn("SEPA", self._bodies(partner))

    def test_mandate_document_for_declarants_only(self):
        partner = self._ae("monthly_trader")
        mandate = self._mandate(partner)
        self.assertEqual(mandate.with_user(self.declarant).document, PDF)
        with self.assertRaises(AccessError):
            mandate.with_user(self.preparer_a).read(["document"])
        self.assertEqual(mandate.with_user(self.preparer_a).read(["state"])[0]["state"], "draft")
        Attachment = self.env["ir.attachment"]
        domain = [("res_model", "=", "urssaf.mandate"), ("res_id", "=", mandate.id), ("res_field", "=", "document")]
        attachment = Attachment.sudo().search(domain)
        self.assertEqual(len(attachment), 1)
        self.assertEqual(Attachment.with_user(self.declarant).search(domain), attachment)
        self.assertFalse(Attachment.with_user(self.preparer_a).search(domain))
        self.assertFalse(Attachment.with_user(self.preparer_a).search_read(domain, ["datas"]))
        with self.assertRaises(AccessError):
            attachment.with_user(self.preparer_a).read(["datas"])


@tagged("post_install", "-at_install")
class TestMigration(UrssafAeCase):
    """19.0.1.1.0: the partners' old columns become accounts."""

    OLD_COLUMNS = {
        "urssaf_is_auto_entrepreneur": "boolean",
        "urssaf_nir": "varchar",
        "urssaf_identifier_type": "varchar",
        "urssaf_category_id": "integer",
        "urssaf_trade": "varchar",
        "urssaf_turnover_source": "varchar",
        "urssaf_account_state": "varchar",
        "urssaf_eligible": "boolean",
        "urssaf_ineligibility_reason": "varchar",
        "urssaf_periodicity": "varchar",
        "urssaf_activity_start": "date",
        "urssaf_versement_liberatoire": "boolean",
        "urssaf_checked_at": "timestamp",
    }

    def _migration(self):
        path = f"{get_module_path(ADDON)}/migrations/19.0.1.1.0/post-migrate.py"
        return load_script(path, "urssaf_post_migrate_19_0_1_1_0")

    def _old_schema(self):
        """res_partner as version 19.0.1.0.0 had it, every partner with the
        old defaults."""
        cr = self.env.cr
        for column, kind in self.OLD_COLUMNS.items():
            cr.execute(SQL("ALTER TABLE res_partner ADD COLUMN %s %s", SQL.identifier(column), SQL(kind)))
        cr.execute(
            "UPDATE res_partner SET urssaf_identifier_type = 'siret', urssaf_turnover_source = 'vendor_bills', "
            "urssaf_account_state = 'unchecked', urssaf_is_auto_entrepreneur = FALSE"
        )
        cr.execute(
            "CREATE TABLE res_partner_urssaf_activity_category_rel ("
            " res_partner_id integer NOT NULL, urssaf_activity_category_id integer NOT NULL,"
            " PRIMARY KEY (res_partner_id, urssaf_activity_category_id))"
        )

    def _old_values(self, partner, **values):
        self.env.cr.execute(
            SQL(
                "UPDATE res_partner SET %s WHERE id = %s",
                SQL(", ").join(SQL("%s = %s", SQL.identifier(k), v) for k, v in values.items()),
                partner.id,
            )
        )

    def test_migration_makes_one_account_per_company_working_for_the_partner(self):
        company_b = self.env["res.company"].create({"name": "Cabinet B"})
        company_c = self.env["res.company"].create({"name": "Cabinet C"})
        Partner = self.env["res.partner"]
        # Created without Urssaf data: no account yet, as before the upgrade.
        shared = Partner.create({"name": "Camille Martin"})
        own = Partner.create({"name": "Lucas Bernard", "company_id": company_c.id})
        alone = Partner.create({"name": "Léa Dubois"})
        untouched = Partner.create({"name": "Not an auto-entrepreneur"})
        self.env["urssaf.mandate"].create({"partner_id": shared.id, "company_id": self.company.id})
        self.env["urssaf.declaration"].create(
            {
                "partner_id": shared.id,
                "company_id": company_b.id,
                "period_start": date(2025, 1, 1),
                "period_end": date(2025, 1, 31),
                "periodicity": "monthly",
            }
        )
        self.env.flush_all()
        self.assertFalse(self.env["urssaf.account"].search([("partner_id", "in", (shared | own | alone).ids)]))
        self._old_schema()
        checked_at = fields.Datetime.now() - timedelta(days=3)
        self._old_values(
            shared,
            urssaf_is_auto_entrepreneur=True,
            urssaf_nir=NIR_TRADER,
            urssaf_identifier_type="nir",
            urssaf_category_id=self.category_goods.id,
            urssaf_trade="commercant",
            urssaf_account_state="eligible",
            urssaf_eligible=True,
            urssaf_periodicity="monthly",
            urssaf_activity_start=date(2019, 3, 1),
            urssaf_checked_at=checked_at,
        )
        self._old_values(own, urssaf_is_auto_entrepreneur=True, urssaf_trade="artisan")
        self._old_values(alone, urssaf_category_id=self.category_bnc.id, urssaf_turnover_source="customer_invoices")
        self.env.cr.execute(
            "INSERT INTO res_partner_urssaf_activity_category_rel VALUES (%s, %s), (%s, %s)",
            [shared.id, self.category_goods.id, shared.id, self.category_bic.id],
        )
        note = shared.message_post(body="Urssaf account checked: eligible, declares monthly.")
        note.sudo().message_type = "notification"
        comment = shared.message_post(body="Called about the Urssaf letter", message_type="comment")
        self.env.flush_all()

        created = self._migration().migrate_partner_accounts(self.env.cr)
        self.env.invalidate_all()

        Account = self.env["urssaf.account"]
        accounts = Account.browse(created)
        self.assertEqual(accounts, Account.search([("partner_id", "in", (shared | own | alone | untouched).ids)]))
        by_key = {(a.partner_id, a.company_id): a for a in accounts}
        main = self.env.ref("base.main_company")
        self.assertEqual(
            set(by_key),
            {(shared, self.company), (shared, company_b), (own, company_c), (alone, main)},
            "the companies with a mandate or declaration, else the partner's, else the main company",
        )
        for company in (self.company, company_b):
            account = by_key[shared, company]
            self.assertEqual(
                (account.is_auto_entrepreneur, account.nir, account.identifier_type, account.category_id),
                (True, NIR_TRADER, "nir", self.category_goods),
            )
            self.assertEqual(
                (account.state, account.eligible, account.periodicity, account.activity_start, account.checked_at),
                ("eligible", True, "monthly", date(2019, 3, 1), checked_at),
            )
            self.assertEqual(account.category_ids, self.category_goods | self.category_bic)
            self.assertEqual((account.trade, account.turnover_source), ("commercant", "vendor_bills"))
        self.assertEqual((by_key[own, company_c].trade, by_key[own, company_c].is_auto_entrepreneur), ("artisan", True))
        alone_account = by_key[alone, main]
        self.assertFalse(alone_account.is_auto_entrepreneur)
        self.assertEqual(alone_account.category_id, self.category_bnc)
        self.assertEqual(
            (alone_account.turnover_source, alone_account.identifier_type, alone_account.state),
            ("customer_invoices", "siret", "unchecked"),
        )
        # The check's note left the partner's chatter for an account's.
        self.assertEqual((note.model, note.res_id), ("urssaf.account", by_key[shared, self.company].id))
        self.assertEqual((comment.model, comment.res_id), ("res.partner", shared.id))
        # The old columns and table are gone; the partner's fields read the accounts.
        cr = self.env.cr
        self.assertFalse([c for c in self.OLD_COLUMNS if column_exists(cr, "res_partner", c)])
        self.assertFalse(table_exists(cr, "res_partner_urssaf_activity_category_rel"))
        self.assertEqual(shared.urssaf_nir, NIR_TRADER)
        self.assertTrue(shared.with_company(company_b).urssaf_eligible)
        # Running it again does nothing.
        self.assertEqual(self._migration().migrate_partner_accounts(cr), [])

    def test_migration_runs_on_upgrade_only(self):
        migration = self._migration()
        with patch.object(migration, "migrate_partner_accounts") as migrate:
            migration.migrate(self.env.cr, None)
            migrate.assert_not_called()
            migration.migrate(self.env.cr, "19.0.1.0.0")
            migrate.assert_called_once_with(self.env.cr)
