# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The demo does the job: straight after install, every eligible demo
auto-entrepreneur gets a declaration whose turnover is what its paid
documents brought in, and it is estimated, declared and paid.

Runs on the demo database only (French localisation and demo data, as
tools/demo.py builds it): ``tools/run_tests.py`` runs this file on a
database of its own. The expected turnover is worked out here from the
documents and their payments, not by the addon's turnover query.
"""

import json
import unittest
from datetime import date

from lxml import etree

from odoo import fields, sql_db
from odoo.tests import TransactionCase, tagged
from odoo.tools.misc import format_date, formatLang
from odoo.tools.safe_eval import safe_eval

from ..models.res_company import EMBEDDED_TOKEN_CACHES
from .common import UrssafSandboxMixin

MODULE = "l10n_fr_urssaf_tierce_declaration"
# Who the demo's platform holds a registered mandate for (demo/urssaf_demo.py).
MANDATED = {"Camille Martin", "Lucas Bernard", "Chloé Moreau"}
DEMO_PARTNERS = ("martin", "bernard", "dubois", "moreau", "roux", "petit")


@tagged("post_install", "-at_install", "urssaf_demo")
class TestDemo(UrssafSandboxMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        # The demo registered its mandates with the embedded sandbox: keep
        # them (UrssafSandboxMixin would forget them), but let its requests
        # through Odoo's HTTP guard.
        super(UrssafSandboxMixin, cls).setUpClass()
        if not cls.env.ref(f"{MODULE}.demo_company_platform", raise_if_not_found=False):
            # Odoo's runner on a database without demo data (tests/__init__
            # imports every test module); tools/run_tests.py runs this file on
            # the demo database, where a skip would fail the run.
            raise unittest.SkipTest("the addon's demo data is not installed")
        # What the demo told the embedded sandbox, given back after each
        # test: its state is committed apart from the test's transaction,
        # and a declaration declared by one test would be found paid by the
        # next one.
        cls._sandbox_rows = cls._sandbox_state()
        cls.addClassCleanup(cls._restore_sandbox)
        cls.platform = cls.env.ref(f"{MODULE}.demo_company_platform")
        cls.preparer = cls.env.ref(f"{MODULE}.demo_user_preparer")
        cls.declarant = cls.env.ref(f"{MODULE}.demo_user_declarant")

    def setUp(self):
        super().setUp()
        self.addCleanup(self._restore_sandbox)

    @classmethod
    def _sandbox_state(cls):
        with sql_db.db_connect(cls.env.cr.dbname).cursor() as cr:
            cr.execute("SELECT kind, key, document FROM urssaf_sandbox_document")
            return cr.fetchall()

    @classmethod
    def _restore_sandbox(cls):
        dbname = cls.env.cr.dbname
        with sql_db.db_connect(dbname).cursor() as cr:
            cr.execute("DELETE FROM urssaf_sandbox_document")
            for kind, key, document in cls._sandbox_rows:
                cr.execute(
                    "INSERT INTO urssaf_sandbox_document (kind, key, document) VALUES (%s, %s, %s)",
                    [kind, key, json.dumps(document)],
                )
        # The tokens it granted since are forgotten with the rest.
        if dbname in EMBEDDED_TOKEN_CACHES:
            EMBEDDED_TOKEN_CACHES[dbname].clear()

    def _paid(self, partner, start, end):
        """What ``partner``'s documents were paid from ``start`` to ``end``,
        excluding VAT, in the platform's currency: each payment dated in the
        period, times the untaxed share of the document it paid."""
        source = partner.with_company(self.platform).urssaf_turnover_source
        if source == "customer_invoices":
            own = self.env["res.company"].search([("partner_id", "=", partner.id)])
            documents = self.env["account.move"].search(
                [("company_id", "=", own.id), ("move_type", "in", ("out_invoice", "out_refund"))]
            )
            refund = "out_refund"
        else:
            documents = self.env["account.move"].search(
                [
                    ("company_id", "=", self.platform.id),
                    ("commercial_partner_id", "=", partner.id),
                    ("move_type", "in", ("in_invoice", "in_refund")),
                ]
            )
            refund = "in_refund"
        total = 0.0
        for document in documents.filtered(lambda move: move.state == "posted"):
            untaxed_share = document.amount_untaxed / document.amount_total
            sign = -1 if document.move_type == refund else 1
            for payment in document._get_reconciled_payments():
                self.assertEqual(payment.reconciled_bill_ids | payment.reconciled_invoice_ids, document)
                if start <= payment.date <= end:
                    total += sign * abs(payment.amount_company_currency_signed) * untaxed_share
        return round(total, 2)

    def test_demo_documents(self):
        """The demo's books hold what the demo promises: partial payments, a
        credit note, goods and services on one bill, VAT, a payment in
        another currency."""
        bills = self.env["account.move"].search(
            [("company_id", "=", self.platform.id), ("move_type", "in", ("in_invoice", "in_refund"))]
        )
        # paid in two halves, a month apart
        self.assertTrue(bills.filtered(lambda bill: len(bill._get_reconciled_payments()) == 2))
        self.assertIn("in_refund", bills.mapped("move_type"))
        self.assertTrue(
            bills.filtered(
                lambda bill: (
                    bill.amount_tax and set(bill.invoice_line_ids.product_id.mapped("type")) == {"service", "consu"}
                )
            )
        )
        payments = self.env["account.payment"].search([("company_id", "=", self.platform.id)])
        self.assertNotEqual(payments.currency_id, self.platform.currency_id)
        self.assertEqual(self.platform.currency_id.name, "EUR")
        self.assertEqual(self.platform.chart_template, "fr")

    def test_prepare_estimate_declare_pay(self):
        wizard = self.env["urssaf.declaration.prepare"].with_user(self.preparer).with_company(self.platform).create({})
        self.assertEqual(wizard.scope, "all", "every AE of the platform proposed")
        self.assertGreaterEqual(wizard.company_partner_count, len(MANDATED))
        wizard.action_prepare()
        declarations = wizard.declaration_ids
        self.assertEqual(set(declarations.partner_id.mapped("name")), MANDATED)
        for declaration in declarations:
            expected = self._paid(declaration.partner_id, declaration.period_start, declaration.period_end)
            self.assertGreater(expected, 0, f"{declaration.partner_id.name} was paid in {declaration.display_name}")
            self.assertAlmostEqual(declaration.turnover_total, expected, places=2, msg=declaration.partner_id.name)

        declarations.with_user(self.preparer).with_company(self.platform).action_estimate()
        self.assertEqual(set(declarations.mapped("state")), {"estimated"})
        declarations.with_user(self.declarant).with_company(self.platform).action_declare()
        self.assertEqual(set(declarations.mapped("state")), {"declared"})
        self.assertTrue(all(declarations.mapped("urssaf_number")))
        declarations.with_user(self.declarant).with_company(self.platform).action_pay()
        # Ordered until the debit date, paid from then on (issue 27).
        today = fields.Date.context_today(declarations)
        for declaration in declarations:
            self.assertEqual(declaration.state, "ordered" if declaration.debit_date > today else "paid")
        for declaration in declarations:
            self.assertAlmostEqual(declaration.payment_amount, declaration.amount_total, places=2)
            self.assertGreater(declaration.payment_amount, 0)

    # --- a French demo (issue 27) ---------------------------------------------

    def _as(self, user):
        """The environment of ``user``'s web client: its language, its
        company the platform."""
        return self.env(
            user=user, context={**user.with_user(user).context_get(), "allowed_company_ids": self.platform.ids}
        )

    def test_demo_is_in_french(self):
        self.assertTrue(self.env["res.lang"]._lang_get("fr_FR").active)
        admin = self.env.ref("base.user_admin")
        for user in (admin, self.preparer, self.declarant):
            self.assertEqual((user.lang, user.tz), ("fr_FR", "Europe/Paris"), user.login)
        for name in DEMO_PARTNERS:
            self.assertEqual(self.env.ref(f"{MODULE}.demo_partner_{name}").lang, "fr_FR", name)
        self.assertEqual(self.platform.partner_id.lang, "fr_FR")
        # The menus as the declarant's web client loads them: Odoo's terms
        # and the addon's in French.
        env = self._as(self.declarant)
        menus = env["ir.ui.menu"].load_menus(debug=False)
        names = {menu["xmlid"]: menu["name"] for menu in menus.values() if isinstance(menu, dict) and "xmlid" in menu}
        self.assertEqual(names["account.menu_finance"], "Facturation")
        cockpit = self.env.ref(f"{MODULE}.menu_urssaf_cockpit")
        self.assertEqual(names[f"{MODULE}.menu_urssaf_cockpit"], cockpit.with_context(lang="fr_FR").name)
        self.assertNotEqual(names[f"{MODULE}.menu_urssaf_cockpit"], cockpit.with_context(lang="en_US").name)
        # Dates and amounts the French way.
        self.assertEqual(format_date(env, date(2026, 3, 1)), "01/03/2026")
        amount = formatLang(env, 1250.5, currency_obj=self.platform.currency_id)
        self.assertRegex(amount, r"^1\s?250,50\s?€$")

    def _declare_prepared(self):
        wizard = self.env["urssaf.declaration.prepare"].with_user(self.preparer).with_company(self.platform).create({})
        wizard.action_prepare()
        declarations = wizard.declaration_ids
        declarations.with_user(self.preparer).with_company(self.platform).action_estimate()
        declarations.with_user(self.declarant).with_company(self.platform).action_declare()
        self.assertEqual(set(declarations.mapped("state")), {"declared"})
        return declarations

    def test_yearly_summary_opens_on_a_year_with_declarations(self):
        declarations = self._declare_prepared()
        years = {declaration.period_start.year for declaration in declarations}
        last_complete = fields.Date.context_today(declarations).year - 1
        expected = last_complete if last_complete in years else max(years)
        env = self._as(self.declarant)
        # The menu's action, as the web client runs it.
        action = env.ref(f"{MODULE}.action_urssaf_yearly_summary_open").run()
        self.assertEqual(action["res_model"], "urssaf.yearly.summary")
        context = action["context"]
        self.assertEqual(context["search_default_year"], str(expected))
        search = etree.fromstring(
            env["urssaf.yearly.summary"].get_views([(False, "search")])["views"]["search"]["arch"]
        )
        [year_filter] = search.xpath("//field[@name='year']")
        domain = safe_eval(year_filter.get("filter_domain"), {"self": context["search_default_year"]})
        self.assertTrue(env["urssaf.yearly.summary"].search(domain), "the year opened has declarations")
        # The wizard of the partner's form, on the same year.
        partner = declarations.filtered(lambda d: d.period_start.year == expected)[:1].partner_id
        wizard_action = partner.with_env(env).action_urssaf_yearly_summary()
        Wizard = env["urssaf.yearly.summary.send"].with_context(**wizard_action.get("context", {}))
        values = Wizard.onchange({}, [], {"year": {}, "partner_id": {}, "declaration_count": {}})["value"]
        self.assertEqual(values["year"], expected)
        self.assertGreater(values["declaration_count"], 0)
        # A year, not a number: no thousands separator.
        form = etree.fromstring(Wizard.get_views([(False, "form")])["views"]["form"]["arch"])
        [year_field] = form.xpath("//field[@name='year']")
        self.assertIs(safe_eval(year_field.get("options"))["enable_formatting"], False)
        self.assertEqual(env["urssaf.yearly.summary"]._fields["year"].type, "char")

    def _ribbons(self, env, model, record=None, context=None):
        """The colours of the Sandbox ribbons the form of ``model`` shows, as
        the web client draws it: the record read (or the new record's
        defaults, for a dialog), the ribbons' ``invisible`` evaluated on it."""
        Model = env[model].with_context(**(context or {}))
        arch = etree.fromstring(Model.get_views([(False, "form")])["views"]["form"]["arch"])
        ribbons = arch.xpath("//widget[@name='web_ribbon']")
        self.assertEqual(len(ribbons), 2, model)
        spec = {"urssaf_sandbox": {}}
        values = record.with_env(env).web_read(spec)[0] if record else Model.onchange({}, [], spec)["value"]
        return [
            ribbon.get("bg_color")
            for ribbon in ribbons
            if not safe_eval(ribbon.get("invisible"), {"urssaf_sandbox": values["urssaf_sandbox"]})
        ]

    def test_sandbox_ribbon_on_every_urssaf_form(self):
        """The platform works in the embedded sandbox: every Urssaf form
        says so, before anything is sent as after."""
        env = self._as(self.declarant)
        martin = self.env.ref(f"{MODULE}.demo_partner_martin")
        draft = self.env["urssaf.declaration.prepare"].with_env(env).create({})
        draft.action_prepare()
        declaration = draft.declaration_ids[:1]
        self.assertEqual((declaration.state, declaration.urssaf_environment), ("draft", False))
        mandate = env["urssaf.mandate"].search([("partner_id", "=", martin.id), ("company_id", "=", self.platform.id)])
        records = {
            "urssaf.declaration": declaration,
            "urssaf.account": env["urssaf.account"].search(
                [("partner_id", "=", martin.id), ("company_id", "=", self.platform.id)]
            ),
            "urssaf.mandate": mandate,
            "urssaf.sepa.mandate": env["urssaf.sepa.mandate"].search(
                [("partner_id", "=", martin.id), ("company_id", "=", self.platform.id)], limit=1
            ),
        }
        dialogs = {
            "urssaf.declaration.prepare": {},
            "urssaf.declaration.send": {
                "active_model": "urssaf.declaration",
                "active_ids": declaration.ids,
                "default_step": "declare",
            },
            "urssaf.yearly.summary.send": {"active_model": "res.partner", "active_id": martin.id},
        }
        embedded = ["text-bg-warning"]
        for model, record in records.items():
            self.assertTrue(record, model)
            self.assertEqual(self._ribbons(env, model, record), embedded, model)
        for model, context in dialogs.items():
            self.assertEqual(self._ribbons(env, model, context=context), embedded, model)

        # In production, what was sent to the sandbox still says so; what
        # is not sent yet goes to production: no ribbon.
        self.platform.sudo().write({"urssaf_client_id": "client-id", "urssaf_environment": "production"})
        self.assertEqual(mandate.urssaf_environment, "embedded")
        self.assertEqual(self._ribbons(env, "urssaf.mandate", mandate), embedded)
        self.assertEqual(self._ribbons(env, "urssaf.declaration", declaration), [])
        self.assertEqual(self._ribbons(env, "urssaf.declaration.prepare"), [])
