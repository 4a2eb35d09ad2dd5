# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The register kept with each declaration: stored when Urssaf records it,
never rewritten by the books, which show as a difference instead; the
registers and the yearly summary printed through the URL the web client
builds (``getReportUrl`` of web/static/src/webclient/actions/reports/utils.js)."""

import json
import shutil
import subprocess
import tempfile
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import html2plaintext

from ..urssaf_api.contributions import LABELS, VERSEMENT_LIBERATOIRE
from ..urssaf_api.models import ContributionLine, Declaration, Period
from .test_turnover import CollectedTurnoverCase

MODULE = "l10n_fr_urssaf_tierce_declaration"
REGISTER_REPORT = f"{MODULE}.report_urssaf_register"
SUMMARY_REPORT = f"{MODULE}.report_yearly_summary"
Q1 = (date(2025, 1, 1), date(2025, 3, 31))


def report_url(action, converter, user_context=None):
    """The URL ``getReportUrl`` builds for ``action`` (utils.js): with data,
    the options and the action's context in the query string and no record
    ids; else the ``active_ids`` in the path."""
    url = f"/report/{converter}/{action['report_name']}"
    context = action.get("context") or {}
    if action.get("data"):
        url += f"?options={quote(json.dumps(action['data']))}&context={quote(json.dumps(context))}"
    else:
        if context.get("active_ids"):
            url += "/" + ",".join(str(i) for i in context["active_ids"])
        if converter == "html":
            url += f"?context={quote(json.dumps(user_context or {}))}"
    return url


def _compact(text):
    return "".join(text.split())


@tagged("post_install", "-at_install")
class TestRegisterKept(CollectedTurnoverCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.preparer = new_test_user(
            cls.env,
            login="register_kept_preparer",
            password="register_kept_preparer",
            groups=f"account.group_account_user,{MODULE}.group_urssaf_preparer",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.company.sudo().external_report_layout_id = cls.env.ref("web.external_layout_standard")
        cls.cash_journal = cls.company_data["default_journal_cash"]

    # --- helpers ---------------------------------------------------------------

    def _declaration(self, partner, period, state="draft"):
        """A declaration of ``partner``'s turnover over ``period`` as the
        preparation computes it from the books."""
        collected = self._collected(partner, period)[partner.id]
        categories = {c.code: c for c in self.goods | self.bic | self.bnc | self.cipav}
        return (
            self.env["urssaf.declaration"]
            .sudo()
            .create(
                {
                    "partner_id": partner.id,
                    "company_id": self.company.id,
                    "period_start": period[0],
                    "period_end": period[1],
                    "periodicity": "quarterly",
                    "line_ids": [
                        Command.create(
                            {"category_id": categories[code].id, "computed_amount": amount, "amount": amount}
                        )
                        for code, amount in collected.items()
                    ],
                }
            )
            .sudo(False)
        )

    def _declare(self, declaration, declared_at=datetime(2025, 4, 2, 9, 30), versement_liberatoire=False):
        """Record Urssaf's answer to Declare, as the run does: its own step,
        ``_record_declaration``, keeps the register."""
        lines = []
        for line in declaration.line_ids:
            lines.append(
                ContributionLine(
                    line.category_id.code, "Cotisations sociales", Decimal(line.amount), Decimal(21), Decimal(1)
                )
            )
            if versement_liberatoire:
                lines.append(
                    ContributionLine(
                        line.category_id.code,
                        LABELS[VERSEMENT_LIBERATOIRE],
                        Decimal(line.amount),
                        Decimal("1.7"),
                        Decimal(1),
                    )
                )
        declaration.sudo()._record_declaration(
            Declaration(
                number=f"N-{declaration.id}",
                period=Period(declaration.period_start, declaration.period_end),
                total=Decimal(len(lines)),
                status="DECLAREE",
                declared_at=declared_at,
                due_date=declaration.due_date,
                lines=tuple(lines),
            ),
            "declared",
        )
        self.assertEqual(declaration.state, "declared")
        return declaration

    def _books(self):
        """A quarter of the platform's auto-entrepreneur: a bill paid by
        bank, one paid in cash, one paid in two parts."""
        by_bank = self._bill("2025-01-10", [(self.service, 100.0)], vat=False)
        bank_payment = self._pay(by_bank, 100.0, "2025-01-20")
        in_cash = self._bill("2025-02-01", [(self.service, 40.0)], vat=False)
        self._register_payment(in_cash, amount=40.0, payment_date="2025-02-05", journal_id=self.cash_journal.id)
        in_two = self._bill("2025-03-01", [(self.service, 60.0)])
        self._pay(in_two, 30.0, "2025-03-02")
        self._pay(in_two, in_two.amount_residual, "2025-03-20")
        return by_bank, bank_payment, in_cash, in_two

    def _open(self, action, converter="html"):
        if converter == "pdf":
            # wkhtmltopdf fetches the report's stylesheets from Odoo, which
            # builds them on a database's first print (and again when a
            # company's colours change). Built here, in the test's
            # transaction: the stylesheet's read-only request may not write.
            # wkhtmltopdf asks as the public user, of the main company.
            qweb = self.env["ir.qweb"].with_company(self.env.ref("base.main_company"))
            for bundle in ("web.report_assets_common", "web.report_assets_pdf"):
                qweb._get_asset_bundle(bundle, js=False, autoprefix=True).css()
        response = self.url_open(report_url(action, converter, {"lang": "en_US"}))
        self.assertEqual(response.status_code, 200, response.text[:2000])
        return response

    # --- the register kept -------------------------------------------------------

    def test_rows_kept_when_declared_and_books_changes_show(self):
        by_bank, bank_payment, in_cash, _in_two = self._books()
        declaration = self._declare(self._declaration(self.ae_supplier, Q1))
        live = self.env["urssaf.register.line"].search(
            [("partner_id", "=", self.ae_supplier.id), ("date", ">=", Q1[0]), ("date", "<=", Q1[1])]
        )
        rows = declaration.register_row_ids
        self.assertEqual(len(rows), len(live))
        self.assertEqual(len(rows), 4)
        self.assertEqual(
            sorted((r.date, r.move_id.id, r.amount, r.amount_total) for r in rows),
            sorted((line.date, line.move_id.id, line.amount, line.amount_total) for line in live),
        )
        # Their total is the turnover computed for the declaration.
        self.assertAlmostEqual(declaration.register_declared_total, sum(declaration.line_ids.mapped("computed_amount")))
        self.assertEqual(set(rows.mapped("declared_at")), {datetime(2025, 4, 2, 9, 30)})
        self.assertFalse(any(rows.mapped("rebuilt")))
        cash = rows.filtered("is_cash")
        self.assertEqual(cash.move_id, in_cash)
        self.assertEqual((cash.document, cash.journal_type, cash.cash_amount), (in_cash.name, "cash", 40.0))
        bank_row = rows.filtered(lambda r: r.move_id == by_bank)
        self.assertEqual((bank_row.counterpart_name, bank_row.is_cash), (self.company.partner_id.display_name, False))
        self.assertEqual(bank_row.payment_id, bank_payment)
        self.assertEqual(bank_row.payment_means, bank_payment.payment_method_line_id.display_name)

        # Compared with unchanged books: nothing to say.
        declaration._urssaf_check_register_books()
        self.assertFalse(declaration.register_books_changed)
        self.assertAlmostEqual(declaration.register_books_total, 200.0)

        # The books change: the bank payment is unreconciled.
        bank_payment.move_id.line_ids.remove_move_reconcile()
        self.env["urssaf.declaration"]._cron_urssaf_check_register_books()
        self.assertTrue(declaration.register_books_changed)
        self.assertAlmostEqual(declaration.register_books_total, 100.0)
        self.assertEqual(len(declaration.register_row_ids), 4, "nothing declared changes")
        self.assertRegex(
            declaration.register_books_message, r"^The books now say \D*100\.00\D*, \D*200\.00\D* was declared"
        )
        Declaration = self.env["urssaf.declaration"].with_user(self.preparer)
        self.assertEqual(Declaration.search([("register_books_changed", "=", True)]), declaration)
        groups = Declaration.formatted_read_group([], ["register_books_changed"], ["__count"])
        self.assertEqual({g["register_books_changed"]: g["__count"] for g in groups}.get(True), 1)

        # The next period warns, on its form and in the Prepare wizard.
        following = self._declaration(self.ae_supplier, (date(2025, 4, 1), date(2025, 6, 30)))
        self.assertEqual(following.with_user(self.preparer).earlier_books_changed_count, 1)
        wizard = (
            self.env["urssaf.declaration.prepare"]
            .with_user(self.preparer)
            .create({"partner_ids": [Command.set(self.ae_supplier.ids)], "company_id": self.company.id})
        )
        wizard.write(wizard._books_changed_values(wizard._partners()))
        self.assertEqual(wizard.books_changed_ids, declaration)
        self.assertIn(declaration.display_name, wizard.books_changed_warning)

        # Payment back: the books agree again.
        self._pay(by_bank, 100.0, "2025-01-20")
        declaration._urssaf_check_register_books()
        self.assertFalse(declaration.register_books_changed)

    def test_rows_kept_in_bulk_are_the_register_views_rows(self):
        """The declarations of a batch keep their registers in one step:
        each its own auto-entrepreneur's rows, the same as the register
        view's over the period, field for field, with the names the view
        shows."""
        _by_bank, _bank_payment, bill_in_cash, _in_two = self._books()
        sale = self._sale("2025-02-10", [(self.service, 80.0)])
        self._pay(sale, sale.amount_total, "2025-02-15")
        in_cash = self._sale("2025-03-03", [(self.bnc_service, 30.0)], vat=False)
        self._register_payment(
            in_cash,
            amount=30.0,
            payment_date="2025-03-04",
            journal_id=self.ae_company_data["default_journal_cash"].id,
        )
        declarations = self._declaration(self.ae_supplier, Q1) | self._declaration(self.ae_own, Q1)
        declarations.sudo().write({"state": "declared", "declared_at": datetime(2025, 4, 2, 9, 30)})
        declarations.sudo()._urssaf_store_register_rows()

        fields_compared = [
            "date",
            "move_id",
            "partial_id",
            "payment_move_id",
            "payment_id",
            "journal_id",
            "payment_method_line_id",
            "counterpart_partner_id",
            "category_id",
            "books_currency_id",
            "amount_currency",
            "currency_id",
            "amount",
            "amount_total",
            "payment_means",
            "is_cash",
        ]

        def rows_of(records):
            return sorted(
                tuple(
                    value.id if hasattr(value, "_name") else value
                    for value in (record[fname] for fname in fields_compared)
                )
                for record in records
            )

        for declaration in declarations:
            live = (
                self.env["urssaf.register.line"]
                .sudo()
                .search(
                    [
                        ("register_type", "=", "receipts"),
                        ("company_id", "=", self.company.id),
                        ("partner_id", "=", declaration.partner_id.id),
                        ("date", ">=", Q1[0]),
                        ("date", "<=", Q1[1]),
                    ]
                )
            )
            rows = declaration.register_row_ids
            self.assertTrue(live, "both auto-entrepreneurs have a register")
            self.assertEqual(rows_of(rows), rows_of(live))
            self.assertEqual(set(rows.partner_id), {declaration.partner_id})
            self.assertEqual(set(rows.company_id), {self.company})
            self.assertEqual(set(rows.mapped("declared_at")), {datetime(2025, 4, 2, 9, 30)})
            for row in rows:
                self.assertEqual(
                    (row.document, row.document_ref, row.payment_entry, row.counterpart_name, row.journal_type),
                    (
                        row.move_id.name,
                        row.move_id.ref or False,
                        row.payment_move_id.name or False,
                        row.counterpart_partner_id.display_name or False,
                        row.journal_id.type or False,
                    ),
                )
                self.assertEqual(row.cash_amount, row.amount if row.is_cash else 0.0)
            self.assertAlmostEqual(declaration.register_declared_total, sum(live.mapped("amount")))
            self.assertAlmostEqual(
                declaration.register_declared_total, sum(declaration.line_ids.mapped("computed_amount"))
            )
        self.assertEqual(declarations.register_row_ids.filtered("is_cash").move_id, bill_in_cash | in_cash)

    def test_year_pivot_of_the_rows_kept_as_the_web_client_asks_it(self):
        """The pivot view's call (rows by auto-entrepreneur, columns by
        year): the totals of the register view, the auto-entrepreneurs in
        res.partner's order (name, not id) whatever the way the rows are
        grouped; the list still sorts by auto-entrepreneur."""
        self._books()
        sale = self._sale("2025-02-10", [(self.service, 80.0)])
        self._pay(sale, sale.amount_total, "2025-02-15")
        # By name, the auto-entrepreneur keeping its books comes last, by id first.
        self.ae_own.sudo().name = "Zed, keeping its own books"
        declarations = self._declaration(self.ae_supplier, Q1) | self._declaration(self.ae_own, Q1)
        for declaration in declarations:
            self._declare(declaration)
        domain = [("company_id", "=", self.company.id), ("date", ">=", "2025-01-01"), ("date", "<=", "2025-12-31")]
        sets = [[], ["partner_id"], ["date:year"], ["partner_id", "date:year"]]
        Row = self.env["urssaf.declaration.register.row"].with_user(self.preparer)
        total, by_partner, by_year, by_partner_year = Row.formatted_read_grouping_sets(
            domain, sets, ["amount:sum", "__count"]
        )
        live = {
            group["partner_id"][0]: group["amount:sum"]
            for group in self.env["urssaf.register.line"]
            .sudo()
            .formatted_read_group(domain + [("register_type", "=", "receipts")], ["partner_id"], ["amount:sum"])
        }
        in_partner_order = self.env["res.partner"].search([("id", "in", declarations.partner_id.ids)]).ids
        self.assertEqual(in_partner_order, [self.ae_supplier.id, self.ae_own.id])
        for groups in (by_partner, by_partner_year):
            self.assertEqual([group["partner_id"][0] for group in groups], in_partner_order)
            for group in groups:
                self.assertAlmostEqual(group["amount:sum"], live[group["partner_id"][0]])
        self.assertEqual([group["date:year"][1] for group in by_year], ["2025"])
        self.assertAlmostEqual(total[0]["amount:sum"], sum(live.values()))
        self.assertEqual(total[0]["__count"], len(declarations.register_row_ids))
        # Labels and group domains as Odoo's own formatting gives them (the
        # live view has none of the rows' shortcuts), and the display name
        # the context asks for when it asks another.
        Live = self.env["urssaf.register.line"].with_user(self.preparer)
        live_domain = domain + [("register_type", "=", "receipts")]
        for context in ({}, {"show_email": True}):
            self.ae_supplier.sudo().email = "supplier@example.com"
            kept = Row.with_context(**context).formatted_read_grouping_sets(domain, sets, ["__count"])
            core = Live.with_context(**context).formatted_read_grouping_sets(live_domain, sets, ["__count"])
            for kept_groups, core_groups in zip(kept[1:], core[1:], strict=True):
                self.assertEqual(
                    [(g.get("partner_id"), g.get("date:year"), g["__extra_domain"]) for g in kept_groups],
                    [(g.get("partner_id"), g.get("date:year"), g["__extra_domain"]) for g in core_groups],
                )
            self.assertEqual(
                [group["partner_id"][1] for group in kept[1]],
                declarations.partner_id.with_context(**context)
                .sorted(lambda p: in_partner_order.index(p.id))
                .mapped("display_name"),
            )
        self.assertIn("supplier@example.com", kept[1][0]["partner_id"][1])
        # Descending too, as a click on the header asks it.
        descending = Row.formatted_read_group(domain, ["partner_id"], ["amount:sum"], order="partner_id desc")
        self.assertEqual([group["partner_id"][0] for group in descending], in_partner_order[::-1])
        # The list sorted by auto-entrepreneur: Odoo's own order.
        rows = Row.search(domain, order="partner_id, id")
        self.assertEqual(list(dict.fromkeys(rows.partner_id.ids)), in_partner_order)

    def test_rebuilt_for_the_migration(self):
        self._books()
        declaration = self._declaration(self.ae_supplier, Q1)
        # Declared before the addon kept registers.
        declaration.sudo().write({"state": "paid", "urssaf_number": "OLD-1", "declared_at": datetime(2025, 4, 2)})
        draft = self._declaration(self.ae_supplier, (date(2025, 4, 1), date(2025, 6, 30)))
        rebuilt = self.env["urssaf.declaration"]._urssaf_rebuild_register_rows()
        self.assertEqual(rebuilt, declaration)
        self.assertEqual(len(declaration.register_row_ids), 4)
        self.assertTrue(all(declaration.register_row_ids.mapped("rebuilt")))
        self.assertFalse(draft.register_row_ids)
        self.assertFalse(declaration.register_books_changed)
        # Once only: kept rows are never rebuilt.
        self.assertFalse(self.env["urssaf.declaration"]._urssaf_rebuild_register_rows())

    # --- printed as people print ------------------------------------------------

    def test_register_printed_from_a_declaration_through_the_url(self):
        by_bank, bank_payment, in_cash, _in_two = self._books()
        declaration = self._declare(self._declaration(self.ae_supplier, Q1))
        # After the declaration the books change: the register declared does not.
        bank_payment.move_id.line_ids.remove_move_reconcile()
        declaration._urssaf_check_register_books()
        self.authenticate(self.preparer.login, self.preparer.login)
        action = declaration.with_user(self.preparer).action_print_register()
        self.assertEqual(action["type"], "ir.actions.report")
        text = html2plaintext(self._open(action).text)
        compact = _compact(text)
        for expected in ("Register of receipts", self.ae_supplier.name, by_bank.name, in_cash.name):
            self.assertIn(_compact(expected), compact)
        self.assertIn("as declared to Urssaf on", text)
        self.assertIn("The books now say", text)
        # Cash apart: its total.
        self.assertIn(_compact("Of which cash"), compact)
        self.assertRegex(compact, r"Total01/01/2025.03/31/2025\D*200\.00\D*40\.00")

        # The PDF the browser gets (wkhtmltopdf) is not blank.
        if not shutil.which("pdftotext"):
            self.skipTest("pdftotext is not installed")
        with self.allow_pdf_render():
            pdf_action = dict(action, context=dict(action["context"], force_report_rendering=True))
            pdf = self._open(pdf_action, "pdf").content
        self.assertTrue(pdf.startswith(b"%PDF"))
        with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
            handle.write(pdf)
            handle.flush()
            pdf_text = subprocess.run(
                ["pdftotext", "-layout", handle.name, "-"], capture_output=True, check=True, text=True
            ).stdout
        # The PDF keeps its text (a system font): each row kept with the
        # declaration (its ✓ and its document), and the footnote's ✓.
        self.assertTrue(declaration.register_row_ids)
        self.assertEqual(text.count("✓"), len(declaration.register_row_ids) + 1)
        self.assertEqual(pdf_text.count("✓"), text.count("✓"))
        for row in declaration.register_row_ids:
            self.assertIn(row.document, pdf_text)
        self.assertIn(_compact("The books now say"), _compact(pdf_text))

    def test_purchases_register_with_vat_and_goods_seller_without_purchase(self):
        supplier = self.env["res.partner"].create({"name": "Wholesaler"})
        sale = self._sale("2026-01-10", [(self.goods_product, 500.0)], vat=False)
        self._pay(sale, 500.0, "2026-01-12")
        user = new_test_user(
            self.env,
            login="register_kept_ae_accountant",
            password="register_kept_ae_accountant",
            groups=f"account.group_account_user,{MODULE}.group_urssaf_preparer",
            company_id=self.company.id,
            company_ids=[Command.set((self.company | self.ae_company).ids)],
        )
        self.authenticate(user.login, user.login)
        report = self.env.ref(f"{MODULE}.action_report_urssaf_register")
        # From the auto-entrepreneur's contact (its current year): the record
        # ids in the URL.
        action = report.with_user(user).with_context(discard_logo_check=True).report_action(self.ae_own)
        text = html2plaintext(self._open(action).text)
        self.assertIn("Register of purchases", text)
        self.assertIn("No purchase in the period.", text)

        bought = self._invoice("in_invoice", supplier, "2026-02-05", [(self.goods_product, 200.0)], self.ae_company)
        self._pay(bought, 240.0, "2026-02-06")
        values = self.env[f"report.{REGISTER_REPORT}"]._get_report_values(
            [], {"partner_ids": self.ae_own.ids, "date_from": "2026-01-01", "date_to": "2026-12-31"}
        )
        purchases = [r for r in values["registers"] if r["register_type"] == "purchases"][0]
        self.assertEqual((purchases["total"], purchases["total_incl"]), (200.0, 240.0))
        text = html2plaintext(self._open(action).text)
        self.assertIn("240.00", _compact(text))
        self.assertNotIn("No purchase in the period.", text)

    def test_register_of_another_company_refused(self):
        other = self.env["res.company"].create({"name": "Not the preparer's"})
        self.authenticate(self.preparer.login, self.preparer.login)
        action = {
            "report_name": REGISTER_REPORT,
            "data": {"partner_ids": self.ae_supplier.ids, "company_id": other.id},
            "context": {},
        }
        response = self.url_open(report_url(action, "html"))
        self.assertNotEqual(response.status_code, 200)
        self.assertNotIn(self.ae_supplier.name, response.text)

    # --- the yearly summary --------------------------------------------------------

    def test_yearly_summary_by_year_of_collection_in_its_boxes(self):
        """A first period spanning 31 December is split between the two
        years; the boxes follow the versement libératoire declared."""
        december = self._bill("2025-12-01", [(self.service, 300.4)], vat=False)
        self._pay(december, 300.4, "2025-12-20")
        january = self._bill("2026-01-02", [(self.service, 700.0)], vat=False)
        self._pay(january, 700.0, "2026-01-10")
        first = self._declaration(self.ae_supplier, (date(2025, 11, 15), date(2026, 3, 31)))
        self._declare(first, datetime(2026, 4, 3, 8, 0), versement_liberatoire=True)
        # Later that year, without the versement libératoire.
        june = self._bill("2026-06-01", [(self.service, 99.5)], vat=False)
        self._pay(june, 99.5, "2026-06-02")
        second = self._declaration(self.ae_supplier, (date(2026, 4, 1), date(2026, 6, 30)))
        self._declare(second, datetime(2026, 7, 3, 8, 0))
        # Not declared: left out.
        september = self._bill("2026-09-01", [(self.service, 5000.0)], vat=False)
        self._pay(september, 5000.0, "2026-09-02")
        self._declaration(self.ae_supplier, (date(2026, 7, 1), date(2026, 9, 30)))

        Summary = self.env["urssaf.yearly.summary"].with_user(self.preparer)
        rows = Summary.search([("partner_id", "=", self.ae_supplier.id)])
        by_key = {(r.year, r.tax_box): (r.declared_amount, r.tax_amount) for r in rows if r.tax_box}
        self.assertEqual(
            by_key, {("2025", "5TB"): (300.4, 300), ("2026", "5TB"): (700.0, 700), ("2026", "5KP"): (99.5, 100)}
        )

        self.authenticate(self.preparer.login, self.preparer.login)
        wizard = (
            self.env["urssaf.yearly.summary.send"]
            .with_user(self.preparer)
            .create({"partner_id": self.ae_supplier.id, "year": 2026, "company_id": self.company.id})
        )
        self.assertAlmostEqual(wizard.declared_amount, 799.5)
        action = wizard.with_context(discard_logo_check=True).action_print()
        text = html2plaintext(self._open(action).text)
        self.assertIn("Urssaf yearly summary 2026", text)
        compact = _compact(text)
        for box, amount in (("5TB", "700"), ("5KP", "100")):
            self.assertRegex(text, rf"{box}\s+[^\n]+\s+{amount}\s")
        self.assertNotIn("5000", compact)
        # 2025's part of the first period is 2025's.
        self.assertNotRegex(text, r"5TB\s+[^\n]+\s+(300|1000)\s")
