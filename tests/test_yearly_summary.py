# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The yearly summary for the income tax return: its figures are the
declarations', and it reaches the auto-entrepreneur by e-mail as a PDF."""

import io
import re
from datetime import date

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import html2plaintext
from odoo.tools.misc import formatLang
from odoo.tools.pdf import PdfFileReader

from ..urssaf_api.contributions import LABELS, VERSEMENT_LIBERATOIRE
from .test_declaration import UrssafDeclarationCase

VALID_IBAN = "FR1420041010050500013M02606"


def _compact(text):
    """``text`` without blanks: the report lays amounts out with spaces."""
    return re.sub(r"\s+", "", text)


@tagged("post_install", "-at_install")
class TestYearlySummary(UrssafDeclarationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.liberal = cls._make_ae("liberal_bnc_liberatoire", "PRESTATION_SERVICES_BNC", "liberal")
        cls.liberal.email = "consultante@example.com"
        cls.bank = cls.env["res.partner.bank"].create({"partner_id": cls.liberal.id, "acc_number": VALID_IBAN})

    def setUp(self):
        super().setUp()
        # Urssaf (the embedded sandbox) starts each test from its seed.
        client = self.company._urssaf_client()
        client.register_mandate(self.liberal._urssaf_identifier(), date(2026, 1, 5))
        sepa = self.env["urssaf.sepa.mandate"].create(
            {
                "partner_id": self.liberal.id,
                "bank_account_id": self.bank.id,
                "holder": self.liberal.name,
                "signature_date": date(2025, 10, 1),
            }
        )
        sepa.with_user(self.declarant).action_register()

    def _declared(self, start, end, computed, declared=None, pay=True):
        """A declaration of the liberal AE, computed ``computed`` from the
        books, declared ``declared`` (the declarant's adjustment), paid."""
        declaration = self._declaration(self.liberal, start, end, {"PRESTATION_SERVICES_BNC": computed})
        if declared is not None:
            declaration.line_ids.with_user(self.declarant).amount = declared
        declaration.with_user(self.declarant).action_estimate()
        declaration.with_user(self.declarant).action_declare()
        if pay:
            declaration.with_user(self.declarant).action_pay()
        self.assertEqual(declaration.state, "paid" if pay else "declared")
        return declaration

    def _expected(self, declarations):
        """The figures the summary must show, read from the declarations."""
        vl_label = LABELS[VERSEMENT_LIBERATOIRE]
        lines = declarations.line_ids
        contributions = declarations.declared_contribution_ids
        paid = contributions.filtered(lambda c: c.declaration_id.state == "paid")
        return {
            "computed_amount": sum(lines.mapped("computed_amount")),
            "declared_amount": sum(lines.mapped("amount")),
            "difference": sum(lines.mapped("amount")) - sum(lines.mapped("computed_amount")),
            "contributions_declared": sum(contributions.filtered(lambda c: c.label != vl_label).mapped("amount")),
            "contributions_paid": sum(paid.filtered(lambda c: c.label != vl_label).mapped("amount")),
            "versement_liberatoire_declared": sum(
                contributions.filtered(lambda c: c.label == vl_label).mapped("amount")
            ),
            "versement_liberatoire_paid": sum(paid.filtered(lambda c: c.label == vl_label).mapped("amount")),
        }

    def _declare_2025(self):
        november = self._declared(date(2025, 11, 1), date(2025, 11, 30), 1000.0)
        december = self._declared(date(2025, 12, 1), date(2025, 12, 31), 2000.0, declared=2150.0, pay=False)
        # Another year: not in 2025's summary.
        self._declared(date(2026, 1, 1), date(2026, 1, 31), 700.0)
        return november | december

    def test_summary_figures_are_the_declarations(self):
        declarations = self._declare_2025()
        self.assertTrue(declarations[1].has_adjustment)
        expected = self._expected(declarations)
        # The versement libératoire applies to this AE: the declaration has it.
        self.assertTrue(expected["versement_liberatoire_declared"])
        self.assertTrue(expected["versement_liberatoire_paid"])
        self.assertLess(expected["versement_liberatoire_paid"], expected["versement_liberatoire_declared"])

        rows = (
            self.env["urssaf.yearly.summary"]
            .with_user(self.preparer)
            .search([("partner_id", "=", self.liberal.id), ("year", "=", "2025")])
        )
        self.assertEqual(rows.category_id, self.categories["PRESTATION_SERVICES_BNC"])
        self.assertEqual(rows.declaration_count, 2)
        for fname, amount in expected.items():
            self.assertAlmostEqual(rows[fname], amount, places=2, msg=fname)
        self.assertAlmostEqual(rows.difference, 150.0, places=2)

        # The pivot and list group by year and auto-entrepreneur.
        groups = self.env["urssaf.yearly.summary"].formatted_read_group(
            [("partner_id", "=", self.liberal.id)], ["year"], ["declared_amount:sum"]
        )
        by_year = {group["year"]: group["declared_amount:sum"] for group in groups}
        self.assertEqual(set(by_year), {"2025", "2026"})
        self.assertAlmostEqual(by_year["2025"], expected["declared_amount"], places=2)

    def test_summary_is_per_company(self):
        self._declared(date(2025, 11, 1), date(2025, 11, 30), 1000.0)
        other = self.env["res.company"].create({"name": "Other declaring firm"})
        self.preparer.company_ids |= other
        rows = (
            self.env["urssaf.yearly.summary"]
            .with_user(self.preparer)
            .with_context(allowed_company_ids=other.ids)
            .search([("partner_id", "=", self.liberal.id)])
        )
        self.assertFalse(rows, "another company's declarations are not shown")

    def test_pdf_holds_the_figures(self):
        declarations = self._declare_2025()
        expected = self._expected(declarations)
        report = self.env.ref("l10n_fr_urssaf_tierce_declaration.action_report_urssaf_yearly_summary")
        html = (
            self.env["ir.actions.report"]
            .with_user(self.preparer)
            ._render_qweb_html(report, self.liberal.ids, data={"year": 2025})[0]
            .decode()
        )
        text = html2plaintext(html)
        self.assertIn("Urssaf yearly summary 2025", text)
        self.assertIn(self.liberal.name, text)
        compact = _compact(text)
        currency = self.company.currency_id
        for fname in (
            "computed_amount",
            "declared_amount",
            "difference",
            "contributions_declared",
            "contributions_paid",
            "versement_liberatoire_paid",
        ):
            self.assertIn(_compact(formatLang(self.env, expected[fname], currency_obj=currency)), compact, fname)
        for declaration in declarations:
            self.assertIn(declaration.urssaf_number, text)
        self.assertIn(declarations[0].payment_reference, text)

    def test_send_by_email_from_the_partner(self):
        declarations = self._declare_2025()
        expected = self._expected(declarations)
        action = self.liberal.with_user(self.declarant).action_urssaf_yearly_summary()
        wizard = Form(self.env[action["res_model"]].with_user(self.declarant).with_context(**action["context"]))
        # The last complete year by default (today is in 2026).
        self.assertEqual(wizard.year, 2025)
        self.assertAlmostEqual(wizard.declared_amount, expected["declared_amount"], places=2)
        wizard = wizard.save()
        composer_action = wizard.action_send()
        self.assertEqual(composer_action["res_model"], "mail.compose.message")
        composer = Form(
            self.env["mail.compose.message"].with_user(self.declarant).with_context(**composer_action["context"])
        )
        self.assertEqual(composer.subject, "Your Urssaf declarations of 2025")
        attachment = composer.attachment_ids[0]
        self.assertEqual(len(composer.attachment_ids), 1)
        # In test mode Odoo renders reports as HTML (.html), else as PDF.
        self.assertRegex(attachment.name, rf"^Urssaf summary 2025 - {re.escape(self.liberal.name)}\.(pdf|html)$")
        content = _compact(html2plaintext(attachment.raw.decode()))
        self.assertIn(
            _compact(formatLang(self.env, expected["declared_amount"], currency_obj=self.company.currency_id)), content
        )
        self.assertIn(self.liberal, composer.partner_ids)
        composer.save().action_send_mail()
        message = self.liberal.message_ids[0]
        self.assertEqual(message.subject, "Your Urssaf declarations of 2025")
        self.assertEqual(message.attachment_ids.mapped("name"), [attachment.name])
        self.assertIn(self.liberal, message.partner_ids)

    def test_opens_on_the_last_year_with_declarations(self):
        """Nothing declared for the last complete year (a first year of
        business, a demo): the wizard and the menu's list open on the year
        that has declarations, not on an empty one (issue 27)."""
        menu_action = self.env.ref("l10n_fr_urssaf_tierce_declaration.action_urssaf_yearly_summary_open")
        # Nothing declared at all: the last complete year.
        self.assertEqual(menu_action.with_user(self.preparer).run()["context"]["search_default_year"], "2025")
        self._declared(date(2026, 1, 1), date(2026, 1, 31), 700.0)
        action = self.liberal.with_user(self.declarant).action_urssaf_yearly_summary()
        wizard = Form(self.env[action["res_model"]].with_user(self.declarant).with_context(**action["context"]))
        self.assertEqual(wizard.year, 2026)
        self.assertEqual(wizard.declaration_count, 1)
        self.assertEqual(menu_action.with_user(self.preparer).run()["context"]["search_default_year"], "2026")

    def test_year_chosen_and_checked(self):
        self._declared(date(2026, 1, 1), date(2026, 1, 31), 700.0)
        wizard = (
            self.env["urssaf.yearly.summary.send"]
            .with_user(self.preparer)
            .create({"partner_id": self.liberal.id, "year": 2026})
        )
        self.assertEqual(wizard.declaration_count, 1)
        self.assertAlmostEqual(wizard.declared_amount, 700.0)
        with self.assertRaises(ValidationError):
            wizard.year = 2027
        action = wizard.action_print()
        # Everything the print needs travels in its data: with data, the web
        # client's URL carries no record ids (see test_declaration_register).
        self.assertEqual(action["data"], {"year": 2026, "partner_ids": self.liberal.ids, "company_id": self.company.id})
        self.assertEqual(action["report_name"], "l10n_fr_urssaf_tierce_declaration.report_yearly_summary")

    def test_only_urssaf_users_print_it(self):
        user = self.env["res.users"].create(
            {"name": "Salesman", "login": "urssaf_summary_sales", "group_ids": [(6, 0, [self.ref("base.group_user")])]}
        )
        with self.assertRaises(AccessError):
            self.env["urssaf.yearly.summary"].with_user(user).search([])
        with self.assertRaises(AccessError):
            self.liberal.with_user(user).action_urssaf_yearly_summary()

    def test_pdf_rendered_by_wkhtmltopdf(self):
        """The PDF itself, as a user prints it (wkhtmltopdf), holds the
        auto-entrepreneur, the year and the declared turnover."""
        declarations = self._declare_2025()
        expected = self._expected(declarations)
        report = self.env.ref("l10n_fr_urssaf_tierce_declaration.action_report_urssaf_yearly_summary")
        with self.allow_pdf_render():
            pdf, kind = (
                self.env["ir.actions.report"]
                .with_user(self.preparer)
                .with_context(force_report_rendering=True)
                ._render_qweb_pdf(report, self.liberal.ids, data={"year": 2025})
            )
        self.assertEqual(kind, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        text = _compact(" ".join(page.extract_text() for page in PdfFileReader(io.BytesIO(pdf)).pages))
        self.assertIn(_compact(self.liberal.name), text)
        self.assertIn("2025", text)
        currency = self.company.currency_id
        self.assertIn(_compact(formatLang(self.env, expected["declared_amount"], currency_obj=currency)), text)

    def test_summary_leaves_out_what_urssaf_does_not_hold(self):
        """A 2025 declaration only estimated, in draft, in error or
        cancelled is not in 2025's summary: only what was declared counts
        (the figures of the income tax return)."""
        declared = self._declared(date(2025, 11, 1), date(2025, 11, 30), 1000.0)
        others = self.env["urssaf.declaration"]
        for start, end, amount in (
            (date(2025, 7, 1), date(2025, 7, 31), 7000.0),
            (date(2025, 8, 1), date(2025, 8, 31), 8000.0),
            (date(2025, 9, 1), date(2025, 9, 30), 9000.0),
            (date(2025, 10, 1), date(2025, 10, 31), 10000.0),
        ):
            others |= self._declaration(self.liberal, start, end, {"PRESTATION_SERVICES_BNC": amount})
        estimated, _draft, error, cancelled = others
        estimated.with_user(self.declarant).action_estimate()
        error._urssaf_write({"state": "error", "error_step": "declare", "error_message": "Urssaf refused it."})
        cancelled.with_user(self.declarant).action_cancel()
        self.assertEqual(others.mapped("state"), ["estimated", "draft", "error", "cancelled"])
        self.assertTrue(estimated.estimated_contribution_ids, "an estimate has contribution lines")
        expected = self._expected(declared)

        rows = (
            self.env["urssaf.yearly.summary"]
            .with_user(self.preparer)
            .search([("partner_id", "=", self.liberal.id), ("year", "=", "2025")])
        )
        left_out = "only the declared one counts, not the estimated, draft, in error or cancelled ones"
        self.assertEqual(sum(rows.mapped("declaration_count")), 1, left_out)
        self.assertEqual(len(rows), 1, left_out)
        for fname, amount in expected.items():
            self.assertAlmostEqual(sum(rows.mapped(fname)), amount, places=2, msg=f"{fname}: {left_out}")
        # The wizard sending it and the print list the declarations it sums up.
        wizard = (
            self.env["urssaf.yearly.summary.send"]
            .with_user(self.preparer)
            .create({"partner_id": self.liberal.id, "year": 2025})
        )
        self.assertEqual(wizard.declaration_count, 1, f"the wizard: {left_out}")
        self.assertAlmostEqual(wizard.declared_amount, 1000.0, places=2, msg=f"the wizard: {left_out}")
        report = self.env.ref("l10n_fr_urssaf_tierce_declaration.action_report_urssaf_yearly_summary")
        text = html2plaintext(
            self.env["ir.actions.report"]
            .with_user(self.preparer)
            ._render_qweb_html(report, self.liberal.ids, data={"year": 2025})[0]
            .decode()
        )
        self.assertIn(declared.urssaf_number, text)
        # The declared one is paid: a row "not yet" paid is one left out.
        self.assertNotIn("not yet", text, f"the print's declarations: {left_out}")
        # As the pivot asks for it.
        groups = (
            self.env["urssaf.yearly.summary"]
            .with_user(self.preparer)
            .formatted_read_group(
                [("partner_id", "=", self.liberal.id)], ["year"], ["declared_amount:sum", "computed_amount:sum"]
            )
        )
        by_year = {group["year"]: group for group in groups}
        self.assertEqual(set(by_year), {"2025"})
        self.assertAlmostEqual(by_year["2025"]["declared_amount:sum"], 1000.0, places=2)
        self.assertAlmostEqual(by_year["2025"]["computed_amount:sum"], 1000.0, places=2)
