# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The registers of receipts and purchases: the collected-turnover query's
own rows, browsable, exported and printed."""

import io
from collections import defaultdict
from datetime import date

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools.pdf import PdfFileReader

from ..models.urssaf_turnover import UNCATEGORISED
from .test_turnover import Q1, VAT, CollectedTurnoverCase

MODULE = "l10n_fr_urssaf_tierce_declaration"


@tagged("post_install", "-at_install")
class TestRegisters(CollectedTurnoverCase):
    def _lines(self, partner, period, register_type="receipts", company=None):
        return self.env["urssaf.register.line"].search(
            [
                ("partner_id", "=", partner.id),
                ("company_id", "=", (company or self.company).id),
                ("register_type", "=", register_type),
                ("date", ">=", period[0]),
                ("date", "<=", period[1]),
            ]
        )

    def _books(self):
        """A quarter of both auto-entrepreneurs: mixed categories, partial
        payments, a refund, a dollar payment, a write-off, and amounts whose
        VAT-excluded shares do not fall on the cent."""
        invoice = self._sale("2025-01-10", [(self.goods_product, 333.33), (self.service, 666.67)])
        self._pay(invoice, 413.0, "2025-01-20")
        self._pay(invoice, 400.0, "2025-02-20")
        refund = self._invoice("out_refund", self.customer, "2025-03-01", [(self.service, 77.77)], self.ae_company)
        self._pay(refund, 77.77 * (1 + VAT), "2025-03-02")
        written_off = self._sale("2025-02-03", [(self.service, 500.0)], vat=False)
        self._register_payment(
            written_off,
            amount=495.0,
            payment_date="2025-02-12",
            payment_difference_handling="reconcile",
            writeoff_account_id=self.ae_company_data["default_account_expense"].id,
        )
        bill = self._bill("2025-01-15", [(self.bnc_service, 101.01), (self.goods_product, 202.02)], currency=self.usd)
        self._pay(bill, 100.0, "2025-01-25")
        self._pay(bill, bill.amount_residual, "2025-03-25")
        for i in range(3):
            other = self._bill("2025-02-01", [(self.service, 10.0 + i / 3)])
            self._pay(other, other.amount_total / 3, "2025-02-0%s" % (i + 2))

    def test_register_total_is_the_declared_turnover(self):
        """Per auto-entrepreneur and category, the register's rows of a period
        add up, to the cent, to the turnover computed for its declaration."""
        self._books()
        both = self.ae_own | self.ae_supplier
        for period in (Q1, (date(2025, 1, 1), date(2025, 1, 31)), (date(2025, 2, 1), date(2025, 3, 31))):
            collected = self._collected(both, period)
            for partner in both:
                lines = self._lines(partner, period)
                totals = defaultdict(float)
                for line in lines:
                    # Each row is an amount to the cent.
                    self.assertEqual(line.amount, round(line.amount, 2))
                    totals[line.category_id.code or UNCATEGORISED] += line.amount
                self.assertTrue(lines)
                self.assertEqual(
                    {code: round(amount, 2) for code, amount in totals.items() if round(amount, 2)},
                    collected[partner.id],
                    f"{partner.name}, {period}",
                )
        # The write-off is not collected: 495 paid, not 500.
        written_off = self._lines(self.ae_own, Q1).filtered(lambda line: line.move_id.amount_untaxed == 500.0)
        self.assertEqual(written_off.mapped("amount"), [495.0])

    def test_register_reads_run_without_jit(self):
        """Lists, counts, groupings and reads of the registers run their query
        with JIT compilation off (it cost 6 s a query, more than the query),
        and leave the server's setting as it was."""
        self._books()
        cr = self.env.cr
        execute = cr.execute
        jit_of_view_queries = []

        def spying(query, params=None, log_exceptions=True):
            if "urssaf_register_line" in str(query):
                execute("SELECT current_setting('jit')")
                jit_of_view_queries.append(cr.fetchone()[0])
            return execute(query, params, log_exceptions)

        cr.execute("SET LOCAL jit = on")
        self.patch(cr, "execute", spying)
        registers = self.env["urssaf.register.line"]
        domain = [("partner_id", "=", self.ae_own.id), ("date", ">=", Q1[0]), ("date", "<=", Q1[1])]
        lines = registers.search(domain)
        self.assertTrue(lines)
        self.assertEqual(registers.search_count(domain), len(lines))
        groups = registers._read_group(domain, ["category_id"], ["amount:sum"])
        self.assertAlmostEqual(sum(amount for _category, amount in groups), sum(lines.mapped("amount")), places=2)
        self.env.invalidate_all()
        self.assertTrue(all(lines.read(["amount"])))
        # a search, a count, a grouping, and the reads of the lines' fields
        self.assertGreaterEqual(len(jit_of_view_queries), 4)
        self.assertEqual(set(jit_of_view_queries), {"off"})
        execute("SELECT current_setting('jit')")
        self.assertEqual(cr.fetchone()[0], "on", "the setting is restored after each read")

    def test_register_columns(self):
        invoice = self._sale("2025-02-01", [(self.goods_product, 300.0), (self.service, 700.0)])
        payment = self._pay(invoice, 1200.0, "2025-02-20")
        lines = self._lines(self.ae_own, Q1)
        self.assertEqual(len(lines), 2)
        self.assertEqual(len(set(lines.ids)), 2)
        by_category = {line.category_id: line for line in lines}
        self.assertEqual(set(by_category), {self.goods, self.bic})
        goods = by_category[self.goods]
        self.assertEqual(goods.date, date(2025, 2, 20))
        self.assertEqual(goods.counterpart_partner_id, self.customer)
        self.assertEqual(goods.move_id, invoice)
        self.assertEqual(goods.payment_id, payment)
        self.assertEqual(goods.payment_move_id, payment.move_id)
        self.assertEqual(goods.payment_method_line_id, payment.payment_method_line_id)
        self.assertEqual(goods.payment_means, payment.payment_method_line_id.display_name)
        self.assertEqual(goods.company_id, self.company)
        self.assertEqual((goods.amount, goods.amount_total), (300.0, 360.0))
        self.assertEqual((by_category[self.bic].amount, by_category[self.bic].amount_total), (700.0, 840.0))
        self.assertEqual(goods.currency_id, self.env.ref("base.EUR"))

        # A bank line's journal tells how a platform paid.
        bill = self._bill("2025-03-10", [(self.service, 50.0)], vat=False)
        journal = self.company_data["default_journal_bank"]
        self.pay_with_statement_line(bill, journal.id, "2025-03-11", -50.0)
        line = self._lines(self.ae_supplier, Q1)
        self.assertEqual(line.counterpart_partner_id, self.company.partner_id)
        self.assertEqual((line.journal_id, line.payment_means, line.amount), (journal, journal.display_name, 50.0))

        # Odoo's export reads it like any list.
        exported = lines.export_data(["date", "partner_id", "move_id", "category_id", "amount"])["datas"]

        self.assertEqual(sorted(row[-1] for row in exported), [300.0, 700.0])
        self.assertEqual({row[2] for row in exported}, {invoice.display_name})

    def test_register_of_purchases(self):
        """The vendor bills an auto-entrepreneur keeping its own books paid;
        none for a platform's auto-entrepreneur."""
        supplier = self.env["res.partner"].create({"name": "Wholesaler"})
        bought = self._invoice("in_invoice", supplier, "2025-01-05", [(self.goods_product, 200.0)], self.ae_company)
        self._pay(bought, 240.0, "2025-01-06")
        self._invoice("in_invoice", supplier, "2025-01-07", [(self.goods_product, 90.0)], self.ae_company)
        purchases = self._lines(self.ae_own, Q1, "purchases")
        self.assertEqual(purchases.move_id, bought)
        self.assertEqual((purchases.amount, purchases.amount_total), (200.0, 240.0))
        self.assertEqual(purchases.counterpart_partner_id, supplier)
        self.assertFalse(purchases.category_id)
        # Purchases are no turnover.
        self.assertEqual(self._collected(self.ae_own, Q1)[self.ae_own.id], {})
        # A bill the declaring company paid the AE is its receipt, not a purchase.
        bill = self._bill("2025-01-05", [(self.service, 100.0)], vat=False)
        self._pay(bill, 100.0, "2025-01-06")
        self.assertFalse(self._lines(self.ae_supplier, Q1, "purchases"))
        self.assertEqual(self._lines(self.ae_supplier, Q1).amount, 100.0)

    def test_access(self):
        """Read only, for the addon's users, in their own companies."""
        bill = self._bill("2025-01-05", [(self.service, 100.0)], vat=False)
        self._pay(bill, 100.0, "2025-01-06")
        preparer = new_test_user(
            self.env, login="register_preparer", groups=f"account.group_account_user,{MODULE}.group_urssaf_preparer"
        )
        preparer.write({"company_ids": [Command.set(self.company.ids)], "company_id": self.company.id})
        other = new_test_user(
            self.env,
            login="register_other_company",
            groups=f"account.group_account_user,{MODULE}.group_urssaf_preparer",
            company_id=self.ae_company.id,
            company_ids=[Command.set(self.ae_company.ids)],
        )
        accountant = new_test_user(
            self.env, login="register_accountant", groups="account.group_account_user", company_id=self.company.id
        )
        Register = self.env["urssaf.register.line"]
        self.assertEqual(Register.with_user(preparer).search([("partner_id", "=", self.ae_supplier.id)]).amount, 100.0)
        self.assertFalse(Register.with_user(other).search([("partner_id", "=", self.ae_supplier.id)]))
        with self.assertRaises(AccessError):
            Register.with_user(accountant).search([])
        with self.assertRaises(AccessError):
            Register.with_user(preparer).search([]).check_access("write")

    def test_printed_register(self):
        """The PDF register: the auto-entrepreneur's identity, the year, each
        row with its running total, the months' and the year's totals."""
        self.ae_own.sudo().write({"company_registry": "73282932000074", "city": "Lyon", "street": "1 rue de la Paix"})
        first = self._sale("2025-01-10", [(self.service, 100.0)], vat=False)
        self._pay(first, 100.0, "2025-01-12")
        second = self._sale("2025-01-11", [(self.service, 250.0)], vat=False)
        self._pay(second, 250.0, "2025-01-15")
        third = self._sale("2025-02-01", [(self.service, 40.0)], vat=False)
        self._pay(third, 40.0, "2025-02-03")
        self._pay(self._sale("2026-01-01", [(self.service, 999.0)], vat=False), 999.0, "2026-01-02")

        report = self.env.ref(f"{MODULE}.action_report_urssaf_register")
        values = self.env[f"report.{MODULE}.report_urssaf_register"]._get_report_values(
            self.ae_own.ids, {"date_from": "2025-01-01", "date_to": "2025-12-31", "company_id": self.company.id}
        )
        (register,) = values["registers"]
        self.assertEqual(values["period"], "2025")
        self.assertEqual([month["total"] for month in register["months"]], [350.0, 40.0])
        self.assertEqual(
            [row["running"] for month in register["months"] for row in month["rows"]], [100.0, 350.0, 390.0]
        )
        self.assertEqual(
            register["total"],
            self._collected(self.ae_own, (date(2025, 1, 1), date(2025, 12, 31)))[self.ae_own.id][self.bic.code],
        )

        html = str(
            report._render_qweb_html(
                report.report_name,
                self.ae_own.ids,
                data={"date_from": "2025-01-01", "date_to": "2025-12-31", "company_id": self.company.id},
            )[0]
        )
        for expected in ("Register of receipts", self.ae_own.name, "73282932000074", "Lyon", first.name, "2025"):
            self.assertIn(expected, html)
        self.assertNotIn("999", html)

        # From a declaration: its period.
        declaration = (
            self.env["urssaf.declaration"]
            .sudo()
            .create(
                {
                    "partner_id": self.ae_own.id,
                    "period_start": date(2025, 2, 1),
                    "period_end": date(2025, 2, 28),
                    "periodicity": "monthly",
                }
            )
        )
        # (A company without document layout has it chosen first.)
        self.company.sudo().external_report_layout_id = self.env.ref("web.external_layout_standard")
        action = declaration.sudo(False).action_print_register()
        self.assertEqual(action["report_name"], report.report_name)
        self.assertEqual(action["context"]["active_ids"], self.ae_own.ids)
        values = self.env[f"report.{MODULE}.report_urssaf_register"]._get_report_values(
            action["context"]["active_ids"], action["data"]
        )
        self.assertEqual(values["registers"][0]["total"], 40.0)

        # From the auto-entrepreneur's form: its registers.
        action = self.ae_own.action_urssaf_view_register()
        self.assertEqual(self.env["urssaf.register.line"].search(action["domain"]).mapped("partner_id"), self.ae_own)

    def test_register_pdf_rendered_by_wkhtmltopdf(self):
        """The PDF register itself, as a user prints it (wkhtmltopdf): the
        auto-entrepreneur, its SIRET, the document settled and the total."""
        self.ae_own.sudo().write({"company_registry": "73282932000074"})
        invoice = self._sale("2025-03-10", [(self.service, 1234.0)], vat=False)
        self._pay(invoice, 1234.0, "2025-03-12")
        report = self.env.ref(f"{MODULE}.action_report_urssaf_register")
        self.company.sudo().external_report_layout_id = self.env.ref("web.external_layout_standard")
        with self.allow_pdf_render():
            pdf, kind = report.with_context(force_report_rendering=True)._render_qweb_pdf(
                report.report_name,
                self.ae_own.ids,
                data={"date_from": "2025-01-01", "date_to": "2025-12-31", "company_id": self.company.id},
            )
        self.assertEqual(kind, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        text = " ".join(page.extract_text() for page in PdfFileReader(io.BytesIO(pdf)).pages)
        compact = "".join(text.split())
        for expected in (self.ae_own.name, "73282932000074", invoice.name, "1,234.00"):
            self.assertIn("".join(expected.split()), compact)
