# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The auto-entrepreneur's own space in the portal, tried as its users do:
two portal users of two auto-entrepreneurs of the same declaring company,
and one of an auto-entrepreneur of another declaring company, over XML-RPC
(search_read, write, create, unlink) and over HTTP (the pages and the PDF
routes); the e-mails and the invitation."""

import json
import xmlrpc.client
from datetime import date

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import freeze_time, new_test_user, tagged
from odoo.tools import html2plaintext

from . import rpc_trust
from .common import FROZEN_NOW
from .rpc_trust import PASSWORD, Attempt
from .test_declaration_trust import _declaration, _make_auto_entrepreneur
from .test_robustness import _no_commit

# What a portal user reads of its own, and how a row names its auto-entrepreneur.
SHOWN_MODELS = {
    "urssaf.account": "partner_id",
    "urssaf.declaration": "partner_id",
    "urssaf.declaration.line": "declaration_id",
    "urssaf.declaration.contribution": "declaration_id",
    "urssaf.mandate": "partner_id",
    "urssaf.sepa.mandate": "partner_id",
    "urssaf.declaration.register.row": "partner_id",
    "urssaf.yearly.summary": "partner_id",
}
TABLES = (
    "urssaf_account",
    "urssaf_declaration",
    "urssaf_declaration_line",
    "urssaf_declaration_contribution",
    "urssaf_mandate",
    "urssaf_sepa_mandate",
    "urssaf_declaration_register_row",
    "res_partner_bank",
)
REFUSED = "not allowed"
# Odoo's answers: another's record is not even read; one's own is not written.
NOT_READ = "doesn't have 'read' access"
NOT_WRITTEN = "not allowed to modify"
NOT_CREATED = "not allowed to create"
NOT_DELETED = "not allowed to delete"
TRADER_IBAN = "FR7630006000011234567890189"
LIBERAL_IBAN = "FR1420041010050500013M02606"
ARCHITECT_IBAN = "DE89370400440532013000"


def _compact(text):
    return "".join(text.split())


def _register_row(env, declaration, document, amount):
    """A row of the register kept with ``declaration``, as the addon's step
    writes them (these books hold no invoice)."""
    return (
        env["urssaf.declaration.register.row"]
        .sudo()
        .create(
            {
                "declaration_id": declaration.id,
                "company_id": declaration.company_id.id,
                "partner_id": declaration.partner_id.id,
                "date": declaration.period_end,
                "document": document,
                "counterpart_name": f"Customer of {document}",
                "amount": amount,
                "amount_total": amount,
                "currency_id": env.ref("base.EUR").id,
            }
        )
    )


def _own(model, method, *args):
    """A call on the trader's records of ``model``."""
    return lambda case: (
        model,
        method,
        [case.env[model].search([("partner_id", "=", case.trader.id)]).ids, *args],
    )


def _new_declaration(case):
    return (
        "urssaf.declaration",
        "create",
        [{"partner_id": case.trader.id, "period_start": "2026-06-01", "period_end": "2026-06-30"}],
    )


# What a portal user tries on the trader's records.
OWN_CALLS = (
    (
        "write the declaration",
        lambda case: ("urssaf.declaration", "write", [case.trader_declaration.ids, {"name": "Renamed"}]),
        NOT_WRITTEN,
        NOT_READ,
    ),
    (
        "delete the declaration",
        lambda case: ("urssaf.declaration", "unlink", [case.trader_declaration.ids]),
        NOT_DELETED,
        NOT_DELETED,
    ),
    ("create a declaration", _new_declaration, NOT_CREATED, None),
    (
        "delete a turnover line",
        lambda case: ("urssaf.declaration.line", "unlink", [case.trader_declaration.line_ids.ids]),
        NOT_DELETED,
        NOT_DELETED,
    ),
    (
        "delete a contribution line",
        lambda case: ("urssaf.declaration.contribution", "unlink", [case.trader_declaration.contribution_ids.ids]),
        NOT_DELETED,
        NOT_DELETED,
    ),
    ("rename the mandate's document", _own("urssaf.mandate", "write", {"document_name": "x"}), NOT_WRITTEN, NOT_READ),
    ("delete the mandate", _own("urssaf.mandate", "unlink"), NOT_DELETED, NOT_DELETED),
    (
        "create a mandate",
        lambda case: ("urssaf.mandate", "create", [{"partner_id": case.trader.id, "signature_date": "2026-11-01"}]),
        NOT_CREATED,
        None,
    ),
    ("change the SEPA mandate's holder", _own("urssaf.sepa.mandate", "write", {"holder": "X"}), NOT_WRITTEN, NOT_READ),
    ("change the Urssaf account", _own("urssaf.account", "write", {"acre": True}), NOT_WRITTEN, NOT_READ),
    ("delete a register row", _own("urssaf.declaration.register.row", "unlink"), NOT_DELETED, NOT_DELETED),
)


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestPortal(rpc_trust.RpcTrustCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        # Two auto-entrepreneurs of company A, one of company B.
        cls.trader = _make_auto_entrepreneur(env, "monthly_trader", "VENTE_MARCHANDISES")
        cls.liberal = _make_auto_entrepreneur(env, "liberal_bnc_liberatoire", "PRESTATION_SERVICES_BNC")
        env_b = env(context=dict(env.context, allowed_company_ids=cls.company_b.ids))
        cls.architect = _make_auto_entrepreneur(env_b, "cipav_corsica", "PRESTATION_SERVICES_BNC_CIPAV")
        for partner, email in (
            (cls.trader, "camille@example.com"),
            (cls.liberal, "lea@example.com"),
            (cls.architect, "hugo@example.com"),
        ):
            partner.email = email

        declarant = cls.users["declarant"]
        # The trader: October declared and paid (debited on its due date).
        cls.trader_declaration = _declaration(env, cls.trader, date(2026, 10, 1), date(2026, 10, 31), 1234.56)
        cls.trader_declaration.action_estimate()
        cls.trader_declaration.with_user(declarant).action_declare()
        env["res.partner.bank"].create({"partner_id": cls.trader.id, "acc_number": TRADER_IBAN})
        cls.trader.action_urssaf_sync_sepa_mandates()
        cls.trader_declaration.with_user(declarant).action_pay()
        assert cls.trader_declaration.state == "ordered", cls.trader_declaration.error_message
        # A draft the firm works on: not for the portal.
        cls.trader_draft = _declaration(env, cls.trader, date(2026, 11, 1), date(2026, 11, 30), 50.0)
        # The liberal: September declared, not paid.
        cls.liberal_declaration = _declaration(
            env, cls.liberal, date(2026, 9, 1), date(2026, 9, 30), 4321.0, "PRESTATION_SERVICES_BNC"
        )
        cls.liberal_declaration.action_estimate()
        cls.liberal_declaration.with_user(declarant).action_declare()
        assert cls.liberal_declaration.state == "declared", cls.liberal_declaration.error_message
        # The architect (company B): the third quarter declared.
        cls.architect_declaration = _declaration(
            env_b, cls.architect, date(2026, 7, 1), date(2026, 9, 30), 2468.0, "PRESTATION_SERVICES_BNC_CIPAV"
        )
        cls.architect_declaration.action_estimate()
        cls.architect_declaration.action_declare()
        assert cls.architect_declaration.state == "declared", cls.architect_declaration.error_message
        # The others' SEPA mandates, not registered yet.
        for partner, iban in ((cls.liberal, LIBERAL_IBAN), (cls.architect, ARCHITECT_IBAN)):
            partner_env = env_b if partner == cls.architect else env
            bank = partner_env["res.partner.bank"].create({"partner_id": partner.id, "acc_number": iban})
            partner_env["urssaf.sepa.mandate"].create(
                {"partner_id": partner.id, "bank_account_id": bank.id, "holder": partner.name}
            )
        cls.trader_row = _register_row(env, cls.trader_declaration, "INV/TRADER/0001", 1234.56)
        cls.liberal_row = _register_row(env, cls.liberal_declaration, "INV/LIBERAL/0001", 4321.0)
        cls.architect_row = _register_row(env, cls.architect_declaration, "INV/ARCHITECT/0001", 2468.0)

        # Their portal users, in their declaring company.
        for role, partner, company in (
            ("portal_trader", cls.trader, cls.env.company),
            ("portal_liberal", cls.liberal, cls.env.company),
            ("portal_architect", cls.architect, cls.company_b),
        ):
            cls.users[role] = new_test_user(
                env,
                login=f"urssaf_{role}",
                password=PASSWORD,
                groups="base.group_portal",
                name=partner.name,
                email=partner.email,
                partner_id=partner.id,
                company_id=company.id,
                company_ids=[Command.set(company.ids)],
                lang="en_US",
            )
        cls.own = {
            "portal_trader": (cls.trader, cls.trader_declaration),
            "portal_liberal": (cls.liberal, cls.liberal_declaration),
            "portal_architect": (cls.architect, cls.architect_declaration),
        }

    # ------------------------------------------------------------------
    # RPC: what each reads, what nobody writes
    # ------------------------------------------------------------------

    ATTEMPTS = (
        # Its own records: read only.
        *(Attempt(f"{what} (its own)", "portal_trader", call, refused, TABLES) for what, call, refused, _ in OWN_CALLS),
        # Another auto-entrepreneur's, of the same company or not: not even read.
        *(
            Attempt(f"{what} (another's)", role, call, refused, TABLES)
            for role in ("portal_liberal", "portal_architect")
            for what, call, _own_refused, refused in OWN_CALLS
            if not what.startswith("create")
        ),
        Attempt("create a declaration for another", "portal_liberal", _new_declaration, NOT_CREATED, TABLES),
    )

    def test_rpc_each_reads_its_own_only(self):
        for role, (partner, declaration) in self.own.items():
            for model, link in SHOWN_MODELS.items():
                with self.subTest(role=role, model=model):
                    rows = self.rpc(role, model, "search_read", [[]], {"fields": [link]})
                    self.assertTrue(rows, f"{role} reads none of its own {model}")
                    ids = [row["id"] for row in rows]
                    records = self.env[model].browse(ids)
                    owners = records.mapped("declaration_id.partner_id" if link == "declaration_id" else "partner_id")
                    self.assertEqual(owners, partner)
            # Of its declarations, only what Urssaf holds.
            ids = self.rpc(role, "urssaf.declaration", "search", [[]])
            self.assertEqual(ids, declaration.ids)
        # Another's record, asked by its id: refused.
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self.rpc("portal_trader", "urssaf.declaration", "read", [self.liberal_declaration.ids, ["amount_total"]])
        self.assertIn(NOT_READ, caught.exception.faultString)
        with self.assertRaises(xmlrpc.client.Fault):
            self.rpc("portal_trader", "urssaf.declaration", "read", [self.trader_draft.ids, ["amount_total"]])

    def test_rpc_no_nir_no_iban_no_internal_field(self):
        account = self.env["urssaf.account"].search([("partner_id", "=", self.trader.id)])
        sepa = self.env["urssaf.sepa.mandate"].search([("partner_id", "=", self.trader.id)])
        for model, ids, fname in (
            ("urssaf.account", account.ids, "nir"),
            ("urssaf.account", account.ids, "nir_formatted"),
            ("urssaf.sepa.mandate", sepa.ids, "bank_account_id"),
            ("urssaf.declaration", self.trader_declaration.ids, "error_message"),
            ("urssaf.declaration", self.trader_declaration.ids, "estimate_snapshot"),
            (
                "urssaf.mandate",
                self.env["urssaf.mandate"].search([("partner_id", "=", self.trader.id)]).ids,
                "document",
            ),
        ):
            with self.subTest(model=model, field=fname), self.assertRaises(xmlrpc.client.Fault) as caught:
                self.rpc("portal_trader", model, "read", [ids, [fname]])
            self.assertIn("enough rights to access the field", caught.exception.faultString)
        # Everything else it may read: never the IBAN nor the NIR in clear.
        for model, ids in (("urssaf.account", account.ids), ("urssaf.sepa.mandate", sepa.ids)):
            # Every field of the record open to all (the others are refused,
            # as above; the chatter's and activities' are mail's own).
            fnames = [
                fname
                for fname, field in self.env[model]._fields.items()
                if not field.groups and not fname.startswith(("activity_", "message_", "my_activity", "has_message"))
            ]
            record = self.rpc("portal_trader", model, "read", [ids, fnames])
            dumped = json.dumps(record, default=str)
            self.assertNotIn(TRADER_IBAN[-12:], dumped)
            self.assertNotIn("288047511102371", dumped)
        self.assertEqual(
            self.rpc("portal_trader", "urssaf.sepa.mandate", "read", [sepa.ids, ["iban_masked"]])[0]["iban_masked"],
            "****0189",
        )

    # ------------------------------------------------------------------
    # HTTP: the pages
    # ------------------------------------------------------------------

    def _get(self, url, status=200):
        response = self.url_open(url, allow_redirects=False)
        self.assertEqual(response.status_code, status, url)
        return response

    def _page_text(self, url):
        return html2plaintext(self._get(url).text)

    def test_pages_show_own_figures_only(self):
        self.authenticate(self.users["portal_trader"].login, PASSWORD)
        declaration = self.trader_declaration
        listing = self._page_text("/my/urssaf/declarations")
        self.assertIn("1,234.56", listing)
        self.assertIn(f"{declaration.amount_total:,.2f}", listing)
        self.assertIn("11/30/2026", listing)  # due date and debit date
        self.assertIn("Payment ordered", listing)
        self.assertNotIn("4,321.00", listing)
        self.assertNotIn("2,468.00", listing)
        self.assertNotIn("50.00", listing)  # the draft

        page = self._page_text(f"/my/urssaf/declarations/{declaration.id}")
        self.assertIn(declaration.line_ids.category_id.name, page)
        for contribution in declaration.contribution_ids.filtered(lambda c: c.kind == "declared"):
            self.assertIn(contribution.label, page)
        self.assertIn(f"{declaration.payment_amount:,.2f}", page)
        self.assertIn("****0189", page)
        self.assertNotIn(self.liberal.name, page)

        mandates = self._get("/my/urssaf/mandates").text
        self.assertIn("****0189", mandates)
        self.assertIn('href="/my/urssaf/mandate"', mandates, "the way to sign or end the mandates online")
        self.assertNotIn("3000 6000 0112", mandates)
        self.assertNotIn("30006000011234567890", mandates)

        summary = self._page_text("/my/urssaf/summary")
        self.assertIn("5KO", summary)
        self.assertIn("1235", summary.replace(",", ""))  # the box, in whole euros
        self.assertNotIn("5HQ", summary)  # the liberal's box

        registers = self._page_text("/my/urssaf/registers")
        self.assertIn("2026", registers)

        counters = self.url_open(
            "/my/counters",
            data=json.dumps({"params": {"counters": ["urssaf_declaration_count", "urssaf_mandate_count"]}}),
            headers={"Content-Type": "application/json"},
        ).json()["result"]
        self.assertEqual(counters, {"urssaf_declaration_count": 1, "urssaf_mandate_count": 2})

    def test_pages_never_show_the_nir_in_clear(self):
        for role, nir in (("portal_trader", "288047511102371"), ("portal_architect", "175022A00401227")):
            self.authenticate(self.users[role].login, PASSWORD)
            _partner, declaration = self.own[role]
            for url in (
                "/my/urssaf/declarations",
                f"/my/urssaf/declarations/{declaration.id}",
                "/my/urssaf/mandates",
                "/my/urssaf/summary",
                "/my/urssaf/registers",
            ):
                with self.subTest(role=role, url=url):
                    compact = _compact(self._get(url).text)
                    self.assertNotIn(nir, compact)
                    self.assertNotIn(nir[:13], compact)
            self.assertIn(f"{nir[0]} {nir[1:3]} ** ** *** *** {nir[13:]}", self._get("/my/urssaf/declarations").text)

    def test_routes_of_others_answer_404(self):
        self.authenticate(self.users["portal_trader"].login, PASSWORD)
        company_a, company_b = self.env.company, self.company_b
        for url in (
            f"/my/urssaf/declarations/{self.liberal_declaration.id}",
            f"/my/urssaf/declarations/{self.architect_declaration.id}",
            f"/my/urssaf/declarations/{self.trader_draft.id}",
            "/my/urssaf/declarations/999999999",
            f"/my/urssaf/registers/{company_b.id}/2026/pdf",
            f"/my/urssaf/registers/{company_a.id}/2025/pdf",
            f"/my/urssaf/summary/{company_b.id}/2026/pdf",
            f"/my/urssaf/summary/{company_a.id}/2025/pdf",
        ):
            with self.subTest(url=url):
                self._get(url, 404)
        # The backend's report URL stays closed to portal users.
        response = self.url_open(
            f"/report/pdf/l10n_fr_urssaf_tierce_declaration.report_urssaf_register/{self.trader.id}"
        )
        self.assertNotEqual(response.status_code, 200)
        self.assertNotIn("INV/TRADER/0001", response.text)
        self.assertNotIn("INV/LIBERAL/0001", response.text)

    def test_pdf_routes_print_own_rows_only(self):
        for role, own_doc, others in (
            ("portal_trader", "INV/TRADER/0001", ("INV/LIBERAL/0001", "INV/ARCHITECT/0001")),
            ("portal_liberal", "INV/LIBERAL/0001", ("INV/TRADER/0001", "INV/ARCHITECT/0001")),
            ("portal_architect", "INV/ARCHITECT/0001", ("INV/TRADER/0001", "INV/LIBERAL/0001")),
        ):
            self.authenticate(self.users[role].login, PASSWORD)
            partner, declaration = self.own[role]
            company = declaration.company_id
            with self.subTest(role=role):
                response = self._get(f"/my/urssaf/registers/{company.id}/2026/pdf")
                self.assertEqual(response.headers["Content-Type"], "application/pdf")
                # Tests render the report's HTML (no wkhtmltopdf): its text.
                text = html2plaintext(response.text)
                self.assertIn("Register of receipts", text)
                self.assertIn(own_doc, text)
                self.assertIn(partner.name, text)
                for other in others:
                    self.assertNotIn(other, text)
                summary = html2plaintext(self._get(f"/my/urssaf/summary/{company.id}/2026/pdf").text)
                self.assertIn(partner.name, summary)
                self.assertIn("2042-C-PRO", summary)
                for other_partner in (self.trader | self.liberal | self.architect) - partner:
                    self.assertNotIn(other_partner.name, summary)

    # ------------------------------------------------------------------
    # E-mails and invitation
    # ------------------------------------------------------------------

    def _mails(self, partner, subject_part):
        return self.env["mail.mail"].search([("recipient_ids", "in", partner.ids), ("subject", "ilike", subject_part)])

    def test_declared_and_payment_mails_sent_once_to_the_contact(self):
        declared = self._mails(self.trader, "declared")
        self.assertEqual(len(declared), 1)
        self.assertEqual(declared.recipient_ids, self.trader)
        self.assertFalse(declared.partner_ids - self.trader)
        body = html2plaintext(declared.body_html)
        self.assertIn("1,234.56", body)
        self.assertIn(f"{self.trader_declaration.amount_total:,.2f}", body)
        self.assertIn(f"/my/urssaf/declarations/{self.trader_declaration.id}", declared.body_html)
        payment = self._mails(self.trader, "direct debit")
        self.assertEqual(len(payment), 1)
        self.assertIn("11/30/2026", html2plaintext(payment.body_html))
        self.assertIn("****0189", payment.body_html)
        self.assertNotIn("30006000011234567890", payment.body_html)
        # Nothing was posted for the followers: the two e-mails are the only
        # messages that reach the contact, and no note travels with them.
        to_contact = self.trader_declaration.message_ids.filtered(lambda m: self.trader in m.partner_ids)
        self.assertEqual(to_contact, (declared | payment).mail_message_id)
        self.assertEqual(set(to_contact.mapped("message_type")), {"email_outgoing"})
        self.assertFalse(to_contact.notification_ids)
        self.assertFalse(to_contact.subtype_id)
        # The same events again: nothing more.
        self.trader_declaration._urssaf_portal_mail("declared")
        self.trader_declaration._urssaf_portal_mail("payment")
        self.assertEqual(len(self._mails(self.trader, "declared")), 1)
        self.assertEqual(len(self._mails(self.trader, "direct debit")), 1)
        # No e-mail address, no e-mail.
        self.assertEqual(len(self._mails(self.liberal, "declared")), 1)
        declaration = _declaration(self.env, self.trader, date(2026, 8, 1), date(2026, 8, 31), 10.0)
        self.trader.email = False
        declaration.action_estimate()
        declaration.with_user(self.users["declarant"]).action_declare()
        self.assertEqual(declaration.state, "declared")
        self.assertFalse(
            self.env["mail.mail"].search([("res_id", "=", declaration.id), ("model", "=", "urssaf.declaration")])
        )

    def test_a_broken_template_never_undoes_the_declaration(self):
        template = self.env.ref("l10n_fr_urssaf_tierce_declaration.mail_template_urssaf_portal_declared")
        # A template that Odoo accepts (it renders on the latest declaration)
        # but that fails on the one declared: a division by zero.
        template.body_html = '<p t-out="1 / (object.turnover_total - 10.0)"/>'
        declaration = _declaration(
            self.env, self.liberal, date(2026, 8, 1), date(2026, 8, 31), 10.0, "PRESTATION_SERVICES_BNC"
        )
        declaration.action_estimate()
        with self.assertLogs("odoo.addons.l10n_fr_urssaf_tierce_declaration.models.urssaf_declaration_portal") as logs:
            declaration.with_user(self.users["declarant"]).action_declare()
        self.assertEqual(declaration.state, "declared")
        self.assertTrue(declaration.urssaf_number)
        self.assertIn(f"the declared e-mail of declaration {declaration.id} was not sent", logs.output[0])
        self.assertFalse(declaration.portal_declared_notified)
        self.assertFalse(
            self.env["mail.mail"].search([("model", "=", "urssaf.declaration"), ("res_id", "=", declaration.id)])
        )

    def test_late_without_mandate_mail(self):
        today = date(2026, 11, 27)
        Declaration = self.env["urssaf.declaration"]
        # The liberal's September is declared; its August is late, with a mandate: no e-mail.
        late_with_mandate = _declaration(
            self.env, self.liberal, date(2026, 8, 1), date(2026, 8, 31), 10.0, "PRESTATION_SERVICES_BNC"
        )
        # The trader's mandate ends: its late August is late for want of it.
        late_without = _declaration(self.env, self.trader, date(2026, 8, 1), date(2026, 8, 31), 20.0)
        self.env["urssaf.mandate"].search([("partner_id", "=", self.trader.id)]).sudo().write({"state": "ended"})
        self.assertLess(late_without.due_date, today)
        # The daily scheduled action.
        with _no_commit():
            Declaration._cron_urssaf_declarations()
        mails = self._mails(self.trader, "mandate missing")
        self.assertEqual(len(mails), 1)
        self.assertEqual(mails.recipient_ids, self.trader)
        self.assertIn("/my/urssaf/mandates", mails.body_html)
        self.assertIn(late_without.due_date.strftime("%m/%d/%Y"), html2plaintext(mails.body_html))
        self.assertFalse(self._mails(self.liberal, "mandate missing"))
        self.assertTrue(late_with_mandate)
        # The next day's run: not again.
        with _no_commit():
            Declaration._cron_urssaf_declarations()
        self.assertEqual(len(self._mails(self.trader, "mandate missing")), 1)

    def test_invite_to_the_portal(self):
        partner = self.env["res.partner"].create(
            {"name": "Invited Auto-Entrepreneur", "email": "invited@example.com", "street": "1 rue de la Paix"}
        )
        account = self.env["urssaf.account"].create(
            {
                "partner_id": partner.id,
                "company_id": self.env.company.id,
                "category_id": self.env.ref("l10n_fr_urssaf_tierce_declaration.category_vente_marchandises").id,
            }
        )
        before = partner.read(["name", "email", "street", "company_id", "category_id"])
        with self.assertRaisesRegex(UserError, "Only Urssaf declarants"):
            account.with_user(self.users["preparer"]).action_urssaf_portal_invite()
        self.assertFalse(partner.user_ids)
        account.with_user(self.users["declarant"]).action_urssaf_portal_invite()
        user = partner.user_ids
        self.assertEqual(len(user), 1)
        self.assertTrue(user._is_portal())
        self.assertIn(self.env.company, user.company_ids)
        self.assertEqual(partner.read(["name", "email", "street", "company_id", "category_id"]), before)
        mail = self._mails(partner, "Your Urssaf space")
        self.assertEqual(len(mail), 1)
        self.assertIn("2042-C-PRO", mail.body_html)
        # The link to choose a password: the contact's signup token.
        self.assertIn(f"token={partner._generate_signup_token()}", mail.body_html)
        # An auto-entrepreneur company A now declares for too: its portal user
        # (of company B) gains company A, and no second user is made.
        architect_user = self.users["portal_architect"]
        account_a = self.env["urssaf.account"].create(
            {
                "partner_id": self.architect.id,
                "company_id": self.env.company.id,
                "category_id": self.env.ref("l10n_fr_urssaf_tierce_declaration.category_vente_marchandises").id,
            }
        )
        account_a.with_user(self.users["declarant"]).action_urssaf_portal_invite()
        self.assertEqual(self.architect.with_context(active_test=False).user_ids, architect_user)
        self.assertEqual(architect_user.company_ids, self.company_b | self.env.company)
        self.assertEqual(len(self._mails(self.architect, "Your Urssaf space")), 1)
        # An internal user is not invited; a contact without e-mail neither.
        internal = self.users["internal"].partner_id
        internal.email = "internal@example.com"
        internal_user_account = self.env["urssaf.account"].create(
            {
                "partner_id": internal.id,
                "company_id": self.env.company.id,
                "category_id": self.env.ref("l10n_fr_urssaf_tierce_declaration.category_vente_marchandises").id,
            }
        )
        with self.assertRaisesRegex(UserError, "is a user of this database"):
            internal_user_account.with_user(self.users["declarant"]).action_urssaf_portal_invite()
        self.assertFalse(self.users["internal"].share)
        trader_account = self.env["urssaf.account"].search([("partner_id", "=", self.trader.id)])
        trader_account.partner_id.email = False
        with self.assertRaisesRegex(UserError, "no e-mail address"):
            trader_account.with_user(self.users["declarant"]).action_urssaf_portal_invite()
