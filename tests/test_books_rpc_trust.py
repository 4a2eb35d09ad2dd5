# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Contributions in the books, ACRE and the yearly summary, tried over
XML-RPC as each user (see rpc_trust)."""

import json
import unittest.mock
import xmlrpc.client
from datetime import date
from urllib.parse import urlencode

from odoo import Command
from odoo.tests import freeze_time, new_test_user, tagged
from odoo.tools import html2plaintext

from ..urssaf_api.seed import seed_account

# The module, not its class: a test module's own TestCase classes are the
# ones collected, and the harness' base class has no table to run.
from . import rpc_trust
from .common import FROZEN_NOW
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


def _fee_account_write(case):
    return ("res.company", "write", [[case.company_a.id], {"urssaf_fee_account_ids": [(4, case.expense.id)]}])


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
        cls.ae._urssaf_flagged_account()._urssaf_check()
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
        cls.expense = cls.env["account.account"].create(
            {"code": "665999", "name": "Discounts granted", "account_type": "expense", "company_ids": cls.company_a.ids}
        )

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
            "a declarant makes a discount account a fee account",
            "declarant",
            _fee_account_write,
            NO_WRITE,
        ),
        Attempt(
            "an Access rights administrator makes a discount account a fee account",
            "access_rights",
            _fee_account_write,
            NO_FIELD_ACCESS,
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
        self.assertNotIn(self.expense, self.company_a.sudo().urssaf_fee_account_ids)


# The period the books of company A collected in.
OCTOBER = ("2026-10-01", "2026-10-31")


@tagged("post_install", "-at_install")
class TestBooksSharedOnTheOwnersSay(rpc_trust.RpcTrustCase):
    """Company B's declarant ticks auto-entrepreneur on company A's partner
    (a company partner, shared), to be read from "customer invoices of its
    own company": B reads nothing of A's books (invoices paid, income on the
    bank) until A's administrator lets B read them in A's settings."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env(context={**cls.env.context, "allowed_company_ids": cls.company_a.ids})
        cls.books_partner = cls.company_a.partner_id
        cls.bic = env.ref("l10n_fr_urssaf_tierce_declaration.category_prestation_services_bic")
        customer = env["res.partner"].create({"name": "A customer of company A"})
        invoice = env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "invoice_date": "2026-10-05",
                "date": "2026-10-05",
                "invoice_line_ids": [
                    Command.create({"name": "Work", "price_unit": 1000.0, "tax_ids": [Command.clear()]})
                ],
            }
        )
        invoice.action_post()
        env["account.payment.register"].with_context(active_model="account.move", active_ids=invoice.ids).create(
            {"payment_date": "2026-10-12"}
        )._create_payments()
        income = env["account.account"].search(
            [*env["account.account"]._check_company_domain(cls.company_a), ("account_type", "=", "income")], limit=1
        )
        bank = env["account.journal"].search(
            [*env["account.journal"]._check_company_domain(cls.company_a), ("type", "=", "bank")], limit=1
        )
        env["account.bank.statement.line"].create(
            {
                "journal_id": bank.id,
                "date": "2026-10-15",
                "amount": 400.0,
                "payment_ref": "Received without invoice",
                "counterpart_account_id": income.id,
            }
        )
        # A's purchases (its register of purchases).
        supplier = env["res.partner"].create({"name": "A supplier of company A"})
        bill = env["account.move"].create(
            {
                "move_type": "in_invoice",
                "partner_id": supplier.id,
                "invoice_date": "2026-10-06",
                "date": "2026-10-06",
                "invoice_line_ids": [
                    Command.create({"name": "Tools", "price_unit": 300.0, "tax_ids": [Command.clear()]})
                ],
            }
        )
        bill.action_post()
        env["account.payment.register"].with_context(active_model="account.move", active_ids=bill.ids).create(
            {"payment_date": "2026-10-20"}
        )._create_payments()
        # What of A's books must not show in B unless A says so.
        cls.secrets = (invoice.name, customer.name, bill.name, supplier.name)
        # Paid in November, after the period declared.
        november = env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "invoice_date": "2026-11-03",
                "date": "2026-11-03",
                "invoice_line_ids": [
                    Command.create({"name": "More work", "price_unit": 250.0, "tax_ids": [Command.clear()]})
                ],
            }
        )
        november.action_post()
        env["account.payment.register"].with_context(active_model="account.move", active_ids=november.ids).create(
            {"payment_date": "2026-11-10"}
        )._create_payments()
        cls.november_invoice = november.name
        cls.declaration = (
            cls.env["urssaf.declaration"]
            .sudo()
            .create(
                {
                    "partner_id": cls.books_partner.id,
                    "company_id": cls.company_b.id,
                    "period_start": OCTOBER[0],
                    "period_end": OCTOBER[1],
                    "periodicity": "monthly",
                }
            )
        )
        # Declared (its register kept and compared with the books daily).
        cls.declared = (
            cls.env["urssaf.declaration"]
            .sudo()
            .create(
                {
                    "partner_id": cls.books_partner.id,
                    "company_id": cls.company_b.id,
                    "period_start": "2026-08-01",
                    "period_end": OCTOBER[1],
                    "periodicity": "quarterly",
                    "state": "declared",
                    "urssaf_number": "D-B-0001",
                }
            )
        )
        # The auto-entrepreneur's own login, in its declaring company B.
        cls.users["portal_ae"] = new_test_user(
            cls.env,
            login="rpc_trust_portal_ae",
            password=rpc_trust.PASSWORD,
            groups="base.group_portal",
            name="Company A's owner",
            partner_id=cls.books_partner.id,
            company_id=cls.company_b.id,
            company_ids=[Command.set(cls.company_b.ids)],
            lang="en_US",
        )
        cls.company_c = cls.env["res.company"].create({"name": "Urssaf RPC company C"})
        # Company A lets C read its books (not B).
        cls.company_a.urssaf_books_reader_ids = cls.company_c
        # A system administrator of company B alone.
        cls.users["system_b"] = new_test_user(
            cls.env,
            login="rpc_trust_system_b",
            password=rpc_trust.PASSWORD,
            groups="base.group_system,account.group_account_manager",
            company_id=cls.company_b.id,
            company_ids=[Command.set(cls.company_b.ids)],
            lang="en_US",
        )

    ATTEMPTS = (
        Attempt(
            "company B's declarant lets its own company read company A's books",
            "declarant_b",
            lambda case: (
                "res.company",
                "write",
                [[case.company_a.id], {"urssaf_books_reader_ids": [(4, case.company_b.id)]}],
            ),
            # Refused on the company itself: a declarant writes no company,
            # and company A is none of its own (which check speaks first
            # varies).
            "(res.company)",
        ),
        # A system administrator working in company B alone may write any
        # company (base's rule lets "Access rights" write them all): the
        # books' owner is the one to share them.
        Attempt(
            "company B's system administrator lets its own company read company A's books",
            "system_b",
            lambda case: (
                "res.company",
                "write",
                [[case.company_a.id], {"urssaf_books_reader_ids": [(4, case.company_b.id)]}],
            ),
            "Companies declaring from these books",
        ),
        Attempt(
            "company B's system administrator empties company A's list",
            "system_b",
            lambda case: ("res.company", "write", [[case.company_a.id], {"urssaf_books_reader_ids": [(5, 0, 0)]}]),
            "Companies declaring from these books",
        ),
        Attempt(
            "company B's system administrator writes A's list with B's, in one call",
            "system_b",
            lambda case: (
                "res.company",
                "write",
                [[case.company_a.id, case.company_b.id], {"urssaf_books_reader_ids": [(4, case.company_c.id)]}],
            ),
            "Companies declaring from these books",
        ),
        Attempt(
            "company B's system administrator creates a branch of company A, which would read A's books",
            "system_b",
            lambda case: ("res.company", "create", [{"name": "A branch of A", "parent_id": case.company_a.id}]),
            "branch",
            ("res_company",),
        ),
        Attempt(
            "company B's system administrator adds a branch to company A's branches",
            "system_b",
            lambda case: (
                "res.company",
                "write",
                [[case.company_a.id], {"child_ids": [(0, 0, {"name": "A branch of A"})]}],
            ),
            "branch",
            ("res_company",),
        ),
        Attempt(
            "company B's system administrator lets company C read B's own books (control)",
            "system_b",
            lambda case: (
                "res.company",
                "write",
                [[case.company_b.id], {"urssaf_books_reader_ids": [(4, case.company_c.id)]}],
            ),
            None,
        ),
        Attempt(
            "company B's system administrator creates a branch of B (control)",
            "system_b",
            lambda case: ("res.company", "create", [{"name": "A branch of B", "parent_id": case.company_b.id}]),
            None,
            ("res_company",),
        ),
    )

    # Company B's declarant naming company A as the declaring company:
    # whatever path, the books are read as its own companies only.
    ATTEMPTS += (
        Attempt(
            "company B's declarant prepares declarations as company A",
            "declarant_b",
            lambda case: (
                "urssaf.declaration.prepare",
                "create",
                [
                    {
                        "company_id": case.company_a.id,
                        "partner_ids": [(6, 0, case.books_partner.ids)],
                        "period_mode": "custom",
                        "date_from": OCTOBER[0],
                        "date_to": OCTOBER[1],
                    }
                ],
            ),
            "is not one of your companies",
            ("urssaf_declaration_prepare", "urssaf_declaration"),
        ),
        Attempt(
            "company B's declarant reads the contact's year turnover as company A",
            "declarant_b",
            lambda case: (
                "res.partner",
                "read",
                [case.books_partner.ids, ["urssaf_year_turnover"]],
                {"context": {"allowed_company_ids": case.company_a.ids}},
            ),
            "unauthorized or invalid companies",
        ),
        Attempt(
            "company B's declarant opens the journal items behind a turnover read as company A",
            "declarant_b",
            lambda case: (
                "urssaf.turnover",
                "action_open_collected",
                [case.books_partner.id, OCTOBER[0], OCTOBER[1], case.company_a.id],
            ),
            "cannot be called remotely",
        ),
        Attempt(
            "company B's declarant turns its yearly summary to company A",
            "declarant_b",
            lambda case: (
                "urssaf.yearly.summary.send",
                "write",
                [case._summary_wizard_in_b().ids, {"company_id": case.company_a.id}],
            ),
            "is not one of your companies",
            ("urssaf_yearly_summary_send",),
        ),
        Attempt(
            "company B's declarant prepares declarations as company B (control)",
            "declarant_b",
            lambda case: (
                "urssaf.declaration.prepare",
                "create",
                [{"company_id": case.company_b.id, "partner_ids": [(6, 0, case.books_partner.ids)]}],
            ),
            None,
            ("urssaf_declaration_prepare",),
        ),
    )

    def after_attempts(self):
        # A relation table has no id to compare rows by: its content, then.
        self.assertEqual(self.company_a.sudo().urssaf_books_reader_ids, self.company_c)
        self.assertEqual(self.company_b.sudo().urssaf_books_reader_ids, self.company_c)
        self.assertFalse(self.env["res.company"].search([("name", "=", "A branch of A")]))

    def _summary_wizard_in_b(self):
        """A yearly summary of A's partner, opened by B's declarant in B."""
        return (
            self.env["urssaf.yearly.summary.send"]
            .with_user(self.users["declarant_b"])
            .with_company(self.company_b)
            .create({"partner_id": self.books_partner.id, "year": 2026, "company_id": self.company_b.id})
        )

    def test_settings_of_another_company_refused(self):
        """Company B's system administrator saves settings naming company A
        (the settings' company is a field any client can send): refused,
        A's list unchanged."""
        settings = self.rpc(
            "system_b",
            "res.config.settings",
            "create",
            [{"company_id": self.company_a.id, "urssaf_books_reader_ids": [(6, 0, self.company_b.ids)]}],
        )
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self.rpc("system_b", "res.config.settings", "execute", [[settings]])
        self.assertIn("Companies declaring from these books", caught.exception.faultString)
        self.env.invalidate_all()
        self.assertEqual(self.company_a.sudo().urssaf_books_reader_ids, self.company_c)
        # His own company's settings (control).
        settings = self.rpc(
            "system_b", "res.config.settings", "create", [{"urssaf_books_reader_ids": [(6, 0, self.company_a.ids)]}]
        )
        self.rpc("system_b", "res.config.settings", "execute", [[settings]])
        self.env.invalidate_all()
        self.assertEqual(self.company_b.sudo().urssaf_books_reader_ids, self.company_a)
        self.assertEqual(self.company_a.sudo().urssaf_books_reader_ids, self.company_c)

    def _web_call(self, model, method, args, kwargs):
        """``call_kw`` as the web client sends it, in company B's declarant's
        session: the registers' ids pack their reconciliation beyond the
        integers XML-RPC carries (2**31), JSON carries them."""
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": args, "kwargs": kwargs},
        )

    def _b_reads(self):
        """What company B's declarant reads of A's books, on every path that
        reads them: the registers' rows (receipts and purchases), their
        totals as the pivot asks them, its declaration's turnover once
        refreshed, the rows behind it (the drill-down), the contact's year
        turnover (FROZEN_NOW's year), the rows kept when declared, the
        daily comparison of the books with them, and the registers printed
        through the URL the web client builds."""
        self.authenticate(self.users["declarant_b"].login, rpc_trust.PASSWORD)
        domain = [("partner_id", "=", self.books_partner.id)]
        rows = self._web_call(
            "urssaf.register.line",
            "search_read",
            [domain],
            {"fields": ["amount", "register_type", "company_id"], "order": "amount"},
        )
        groups = self._web_call(
            "urssaf.register.line",
            "formatted_read_group",
            [domain],
            {"groupby": ["register_type"], "aggregates": ["amount:sum"]},
        )
        self.rpc("declarant_b", "urssaf.declaration", "action_refresh_turnover", [[self.declaration.id]])
        [declaration] = self.rpc(
            "declarant_b", "urssaf.declaration", "read", [[self.declaration.id], ["turnover_total"]]
        )
        action = self.rpc("declarant_b", "urssaf.declaration", "action_open_collected", [[self.declaration.id]])
        drill_down = self._web_call(
            "urssaf.register.line",
            "search_read",
            [action["domain"]],
            {"fields": ["amount"], "order": "amount", "context": action["context"]},
        )
        [contact] = self.rpc("declarant_b", "res.partner", "read", [[self.books_partner.id], ["urssaf_year_turnover"]])
        # The rows kept are written when declared (as the declarant).
        self.declared.with_user(self.users["declarant_b"]).with_company(self.company_b)._urssaf_store_register_rows()
        kept = self.rpc(
            "declarant_b",
            "urssaf.declaration.register.row",
            "search_read",
            [[("declaration_id", "=", self.declared.id)]],
            {"fields": ["amount", "document", "counterpart_name"], "order": "amount"},
        )
        self.rpc("declarant_b", "urssaf.declaration", "action_urssaf_check_register_books", [[self.declared.id]])
        [declared] = self.rpc(
            "declarant_b", "urssaf.declaration", "read", [[self.declared.id], ["register_books_total"]]
        )
        printed = self._print_registers(self.company_b)
        return {
            "rows": [(row["register_type"], row["amount"], row["company_id"][0]) for row in rows],
            "totals": [(group["register_type"], group["amount:sum"]) for group in groups],
            "turnover": declaration["turnover_total"],
            "drill_down": [row["amount"] for row in drill_down],
            "contact": contact["urssaf_year_turnover"],
            "kept": [(row["amount"], row["document"], row["counterpart_name"]) for row in kept],
            "compared": declared["register_books_total"],
            "printed": [secret for secret in self.secrets if secret in printed],
        }

    def test_prints_as_another_company_refused(self):
        """Company B's declarant prints the registers, then the yearly
        summary, naming company A (whose own books A always reads) in the
        report's data: refused, nothing of A printed. As B (control): the
        registers print, without A's books."""
        self.assertEqual(self._print_registers(self.company_a), "")
        self.assertEqual(self._last_status, 403)
        self.assertIn("is not one of yours", self._last_text)
        self.assertNotIn(self.secrets[0], self._last_text)
        response = self._print(
            "report_yearly_summary",
            {"partner_ids": self.books_partner.ids, "year": 2026, "company_id": self.company_a.id},
        )
        self.assertEqual(response.status_code, 403)
        self.assertIn("is not one of yours", response.text)
        printed = self._print_registers(self.company_b)
        self.assertIn("Register of receipts", printed)
        self.assertFalse([secret for secret in self.secrets if secret in printed])

    def _print(self, report, data):
        """The report ``report`` of the addon as the web client asks it with
        data (no ids), in B's declarant's session."""
        self.authenticate(self.users["declarant_b"].login, rpc_trust.PASSWORD)
        return self.url_open(
            f"/report/pdf/l10n_fr_urssaf_tierce_declaration.{report}?"
            + urlencode({"options": json.dumps(data), "context": json.dumps({"lang": "en_US"})})
        )

    def _print_registers(self, company):
        """The registers of A's partner printed by B's declarant for
        ``company``, as the web client asks them (report data, no ids):
        the report's text (tests render its HTML)."""
        data = {
            "partner_ids": self.books_partner.ids,
            "date_from": OCTOBER[0],
            "date_to": OCTOBER[1],
            "company_id": company.id,
        }
        response = self._print("report_urssaf_register", data)
        self._last_status, self._last_text = response.status_code, response.text
        if response.status_code != 200:
            return ""
        return html2plaintext(response.text)

    @freeze_time(FROZEN_NOW)
    def test_books_read_on_their_owners_say(self):
        self.rpc(
            "declarant_b",
            "res.partner",
            "write",
            [
                [self.books_partner.id],
                {
                    "urssaf_is_auto_entrepreneur": True,
                    "urssaf_turnover_source": "customer_invoices",
                    "urssaf_category_id": self.bic.id,
                },
            ],
        )
        account = (
            self.env["urssaf.account"]
            .sudo()
            .search([("partner_id", "=", self.books_partner.id), ("company_id", "=", self.company_b.id)])
        )
        self.assertEqual(account.turnover_source, "customer_invoices")
        # The query the preparation runs for B reads nothing of A's books.
        self.assertEqual(
            self.env["urssaf.turnover"]._compute_collected(self.books_partner, *OCTOBER, self.company_b),
            {self.books_partner.id: {}},
        )
        self.assertEqual(
            self._b_reads(),
            {
                "rows": [],
                "totals": [],
                "turnover": 0.0,
                "drill_down": [],
                "contact": 0.0,
                "kept": [],
                "compared": 0.0,
                "printed": [],
            },
        )

        # Company A's administrator lets B read its books, in A's settings.
        settings = self.rpc(
            "system", "res.config.settings", "create", [{"urssaf_books_reader_ids": [(6, 0, self.company_b.ids)]}]
        )
        self.rpc("system", "res.config.settings", "execute", [[settings]])
        self.env.invalidate_all()
        self.assertEqual(self.company_a.sudo().urssaf_books_reader_ids, self.company_b)

        invoice_name, customer_name = self.secrets[:2]
        kept = [(400.0, unittest.mock.ANY, False), (1000.0, invoice_name, customer_name)]
        self.assertEqual(
            self._b_reads(),
            {
                "rows": [
                    ("receipts", 250.0, self.company_b.id),
                    ("purchases", 300.0, self.company_b.id),
                    ("receipts", 400.0, self.company_b.id),
                    ("receipts", 1000.0, self.company_b.id),
                ],
                "totals": [("purchases", 300.0), ("receipts", 1650.0)],
                "turnover": 1400.0,
                "drill_down": [400.0, 1000.0],
                "contact": 1650.0,
                "kept": kept,
                "compared": 1400.0,
                "printed": list(self.secrets),
            },
        )
        portal_print = self._portal_registers()
        self.assertIn(invoice_name, portal_print)
        self.assertIn(self.november_invoice, portal_print)

        # A's administrator withdraws it: what was declared stays as
        # declared (the rows kept, the legal record), the books are read no
        # more (the comparison now finds nothing there).
        self.rpc("system", "res.company", "write", [self.company_a.ids, {"urssaf_books_reader_ids": [(5, 0, 0)]}])
        self.env.invalidate_all()
        reads = self._b_reads()
        self.assertEqual(
            {key: reads[key] for key in ("rows", "totals", "contact", "kept", "compared")},
            {"rows": [], "totals": [], "contact": 0.0, "kept": kept, "compared": 0.0},
        )
        self.assertTrue(self.declared.register_books_changed)
        # The auto-entrepreneur's portal prints its register as declared,
        # without November (its books no longer shared with B).
        portal_print = self._portal_registers()
        self.assertIn(invoice_name, portal_print)
        self.assertNotIn(self.november_invoice, portal_print)

    def _portal_registers(self):
        """The registers of 2026 kept by company B, printed from the
        auto-entrepreneur's portal (tests render the report's HTML)."""
        self.authenticate(self.users["portal_ae"].login, rpc_trust.PASSWORD)
        response = self.url_open(f"/my/urssaf/registers/{self.company_b.id}/2026/pdf")
        self.assertEqual(response.status_code, 200)
        return html2plaintext(response.text)
