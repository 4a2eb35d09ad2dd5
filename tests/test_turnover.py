# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Collected turnover: what the payments of a period settled on an
auto-entrepreneur's invoices, excluding VAT, by Urssaf category.

The cases, each worked out from its own figures (VAT 20 % unless said):

=====================================  ==============================================
case                                    expected
=====================================  ==============================================
partial payments over two periods       each period: its payment x untaxed / total
payment dated before the invoice        the payment's period, not the invoice's
refund paid back                        negative, in the period it is paid back
credit note reconciled with invoice     zero; only the cash paid on the rest counts
foreign currency payment                payment / rate of the payment day, untaxed
euro payment of a dollar invoice        the euros paid, untaxed
mixed goods and services                spread by untaxed amounts of the lines
product category override               the product's category wins
no default category                     kept apart, under ``UNCATEGORISED``
draft and cancelled invoices            nothing
unreconciled payment                    nothing
bank statement line                     dated by the bank line
customer invoices of the AE's company   counted whatever the declaring company
vendor bills from the AE                only those of the declaring company
vendor refund paid back by the AE       negative
early-payment discount, write-off       only the cash paid (980 + 495 = 1,475)
write-off entry without cash            nothing
sales receipt, platform's receipt       counted like invoices
bill posted in a branch                 counted for the declaring company
non-euro declaring company              euros at the rate of each payment day
what is behind an amount                its reconciliations, invoice and payment lines
query count                             the same for 1 invoice as for 5 AEs x 10
=====================================  ==============================================

Every case runs twice: reading the period's payment and bank lines (a run
over most auto-entrepreneurs), and reading the auto-entrepreneurs' documents
(a few of them); both give the same amounts.
"""

from datetime import date

from odoo import Command
from odoo.tests import tagged

from ..models.urssaf_turnover import UNCATEGORISED, UrssafTurnover
from .common import UrssafAccountingCase

MODULE = "l10n_fr_urssaf_tierce_declaration"
Q1 = (date(2025, 1, 1), date(2025, 3, 31))
Q2 = (date(2025, 4, 1), date(2025, 6, 30))
VAT = 0.2
# Rates of the US dollar: dollars for one euro.
USD_RATE_JANUARY = 1.25
USD_RATE_FEBRUARY = 1.5


class CollectedTurnoverCase(UrssafAccountingCase):
    """An auto-entrepreneur keeping its books here, one billing the declaring
    company, their products and VAT; the helpers to invoice and pay."""

    @classmethod
    def get_default_groups(cls):
        # The auto-entrepreneurs' Urssaf accounts are set up by declarants
        # (preparers only read them).
        return super().get_default_groups() | cls.quick_ref(f"{MODULE}.group_urssaf_declarant")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.company_data["company"]
        cls.goods = cls.env.ref(f"{MODULE}.category_vente_marchandises")
        cls.bic = cls.env.ref(f"{MODULE}.category_prestation_services_bic")
        cls.bnc = cls.env.ref(f"{MODULE}.category_prestation_services_bnc")
        cls.cipav = cls.env.ref(f"{MODULE}.category_prestation_services_bnc_cipav")
        cls.usd = cls.setup_other_currency(
            "USD", rates=[("2025-01-01", USD_RATE_JANUARY), ("2025-02-01", USD_RATE_FEBRUARY)]
        )

        # An auto-entrepreneur keeping its own books here, as a company.
        cls.ae_company_data = cls.setup_other_company(name="AE company", currency_id=cls.company.currency_id.id)
        cls.ae_company = cls.ae_company_data["company"]
        cls.ae_own = cls.ae_company.partner_id
        cls.ae_own.write(cls._ae_values("customer_invoices", cls.bic))
        # The declaring company reads those books on their owner's say.
        cls.ae_company.sudo().urssaf_books_reader_ids = [Command.link(cls.company.id)]
        # An auto-entrepreneur the declaring company pays through vendor bills.
        cls.ae_supplier = cls.env["res.partner"].create(
            {"name": "AE supplier", **cls._ae_values("vendor_bills", cls.bic)}
        )
        cls.customer = cls.env["res.partner"].create({"name": "Customer of the AE"})

        cls.vat = {
            company: {
                "sale": cls._vat(company, "sale"),
                "purchase": cls._vat(company, "purchase"),
            }
            for company in cls.company | cls.ae_company
        }
        cls.service = cls._create_product(name="Service", type="service")
        cls.goods_product = cls._create_product(name="Goods", type="consu")
        cls.bnc_service = cls._create_product(name="Consulting", type="service", urssaf_category_id=cls.bnc.id)
        cls.goods_as_bic = cls._create_product(name="Repaired goods", type="consu", urssaf_category_id=cls.bic.id)

    @classmethod
    def _ae_values(cls, source, category):
        return {
            "urssaf_is_auto_entrepreneur": True,
            "urssaf_turnover_source": source,
            "urssaf_category_id": category.id,
        }

    @classmethod
    def _vat(cls, company, use):
        return cls.env["account.tax"].create(
            {
                "name": f"VAT 20 % {use} {company.name}",
                "amount": VAT * 100,
                "amount_type": "percent",
                "type_tax_use": use,
                "company_id": company.id,
            }
        )

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _invoice(self, move_type, partner, day, lines, company=None, currency=None, vat=True, post=True):
        """An invoice of ``lines``: ``(product or None, untaxed amount)``."""
        company = company or self.company
        move = (
            self.env["account.move"]
            .with_company(company)
            .create(self._invoice_values(move_type, partner, day, lines, company, currency=currency, vat=vat))
        )
        if post:
            move.action_post()
        return move

    def _bills(self, bills):
        """Many vendor bills to the declaring company, created and posted
        together: ``bills``: ``(day, lines, partner)``, as ``_bill`` takes
        them."""
        moves = self.env["account.move"].create(
            [self._invoice_values("in_invoice", partner, day, lines, self.company) for day, lines, partner in bills]
        )
        moves.action_post()
        return moves

    def _invoice_values(self, move_type, partner, day, lines, company, currency=None, vat=True):
        data = self.company_data if company == self.company else self.ae_company_data
        sale = move_type.startswith("out_")
        taxes = self.vat[company]["sale" if sale else "purchase"] if vat else self.env["account.tax"]
        return {
            "move_type": move_type,
            "partner_id": partner.id,
            "invoice_date": day,
            "date": day,
            "journal_id": data["default_journal_sale" if sale else "default_journal_purchase"].id,
            "currency_id": (currency or company.currency_id).id,
            "invoice_line_ids": [
                Command.create(
                    {
                        "product_id": product.id if product else False,
                        "name": product.name if product else "Work",
                        "price_unit": amount,
                        "tax_ids": [Command.set(taxes.ids)],
                    }
                )
                for product, amount in lines
            ],
        }

    def _sale(self, day, lines, **kwargs):
        """A customer invoice of the auto-entrepreneur's own company."""
        return self._invoice("out_invoice", self.customer, day, lines, company=self.ae_company, **kwargs)

    def _bill(self, day, lines, partner=None, **kwargs):
        """A vendor bill the auto-entrepreneur sent the declaring company."""
        return self._invoice("in_invoice", partner or self.ae_supplier, day, lines, **kwargs)

    def _pay(self, invoice, amount, day, currency=None):
        return self._register_payment(
            invoice,
            amount=amount,
            payment_date=day,
            currency_id=(currency or invoice.currency_id).id,
        )

    @staticmethod
    def _term_lines(moves):
        return moves.line_ids.filtered(lambda line: line.display_type == "payment_term")

    def _collected(self, partners, period, company=None):
        return self.env["urssaf.turnover"]._compute_collected(partners, *period, company or self.company)

    def assertCollected(self, partner, period, expected, company=None):
        """``expected``: {category record: amount}, rounded here to the cent."""
        collected = self._collected(partner, period, company)[partner.id]
        self.assertEqual(
            collected,
            {category.code: round(amount, 2) for category, amount in expected.items() if round(amount, 2)},
        )


@tagged("post_install", "-at_install")
class TestCollectedTurnover(CollectedTurnoverCase):
    """The cases, read from the period's payment and bank lines."""

    reads_documents = False

    def setUp(self):
        super().setUp()
        reads_documents = self.reads_documents
        self.patch(
            type(self.env["urssaf.turnover"]),
            "_reading_side",
            lambda model, partners: (reads_documents, UrssafTurnover._reading_side(model, partners)[1]),
        )

    # ------------------------------------------------------------------
    # The cases
    # ------------------------------------------------------------------

    def test_partial_payments_over_two_periods(self):
        untaxed = 1000.0
        total = untaxed * (1 + VAT)
        first, second = 480.0, total - 480.0
        bill = self._bill("2025-02-10", [(self.service, untaxed)])
        self._pay(bill, first, "2025-03-15")
        self._pay(bill, second, "2025-04-20")
        self.assertCollected(self.ae_supplier, Q1, {self.bic: first * untaxed / total})
        self.assertCollected(self.ae_supplier, Q2, {self.bic: second * untaxed / total})
        # The whole half-year holds the whole invoice, excluding VAT.
        self.assertCollected(self.ae_supplier, (Q1[0], Q2[1]), {self.bic: untaxed})

    def test_payment_dated_before_invoice(self):
        untaxed = 500.0
        total = untaxed * (1 + VAT)
        invoice = self._sale("2025-04-03", [(self.service, untaxed)])
        payment = (
            self.env["account.payment"]
            .with_company(self.ae_company)
            .create(
                {
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "partner_id": self.customer.id,
                    "amount": total,
                    "date": "2025-03-28",
                    "journal_id": self.ae_company_data["default_journal_bank"].id,
                }
            )
        )
        payment.action_post()
        receivable = self._term_lines(invoice).account_id
        (payment.move_id.line_ids + invoice.line_ids).filtered(lambda line: line.account_id == receivable).reconcile()
        self.assertEqual(invoice.payment_state, "paid")
        self.assertCollected(self.ae_own, Q1, {self.bic: untaxed})
        self.assertCollected(self.ae_own, Q2, {})

    def test_refund_paid_back(self):
        sold, refunded = 1000.0, 200.0
        invoice = self._sale("2025-04-02", [(self.service, sold)])
        self._pay(invoice, sold * (1 + VAT), "2025-04-05")
        refund = self._invoice("out_refund", self.customer, "2025-05-02", [(self.service, refunded)], self.ae_company)
        self._pay(refund, refunded * (1 + VAT), "2025-05-10")
        self.assertCollected(self.ae_own, Q2, {self.bic: sold - refunded})
        # A refund alone in its period makes it negative.
        self.assertCollected(self.ae_own, (date(2025, 5, 1), date(2025, 5, 31)), {self.bic: -refunded})

    def test_vendor_refund_paid_back(self):
        refunded = 300.0
        refund = self._invoice("in_refund", self.ae_supplier, "2025-02-01", [(self.service, refunded)])
        self._pay(refund, refunded * (1 + VAT), "2025-02-03")
        self.assertCollected(self.ae_supplier, Q1, {self.bic: -refunded})

    def test_credit_note_reconciled_with_invoice(self):
        untaxed, credited = 1000.0, 500.0
        total = untaxed * (1 + VAT)
        invoice = self._sale("2025-01-10", [(self.service, untaxed)])
        credit_note = self._invoice(
            "out_refund", self.customer, "2025-01-20", [(self.service, credited)], self.ae_company
        )
        self._term_lines(invoice + credit_note).reconcile()
        self.assertCollected(self.ae_own, Q1, {})
        # Only the cash paid on the rest is collected.
        rest = total - credited * (1 + VAT)
        self._pay(invoice, rest, "2025-02-01")
        self.assertCollected(self.ae_own, Q1, {self.bic: rest * untaxed / total})
        # A credit note cancelling a whole invoice counts zero on both.
        other = self._sale("2025-03-01", [(self.service, 700.0)])
        other._reverse_moves(cancel=True)
        self.assertEqual(other.payment_state, "reversed")
        self.assertCollected(self.ae_own, Q1, {self.bic: rest * untaxed / total})

    def test_foreign_currency_payment(self):
        untaxed = 1000.0
        total = untaxed * (1 + VAT)
        bill = self._bill("2025-01-15", [(self.service, untaxed)], currency=self.usd)
        self.assertAlmostEqual(bill.amount_total_signed, -total / USD_RATE_JANUARY)
        self._pay(bill, total, "2025-02-15")
        # The case is one: the reconciliation booked an exchange difference.
        self.assertTrue(self._term_lines(bill).matched_debit_ids.exchange_move_id)
        # Worth its euros on the day it was paid, not the invoice's booked ones.
        self.assertCollected(self.ae_supplier, Q1, {self.bic: total / USD_RATE_FEBRUARY * untaxed / total})

    def test_euro_payment_of_foreign_currency_invoice(self):
        untaxed = 1000.0
        paid_eur = 600.0
        bill = self._bill("2025-01-15", [(self.service, untaxed)], currency=self.usd)
        self._pay(bill, paid_eur, "2025-02-15", currency=self.company.currency_id)
        self.assertCollected(self.ae_supplier, Q1, {self.bic: paid_eur / (1 + VAT)})

    def test_mixed_goods_and_services(self):
        goods, services = 300.0, 700.0
        total = (goods + services) * (1 + VAT)
        paid = total / 2
        invoice = self._sale("2025-02-01", [(self.goods_product, goods), (self.service, services)])
        self._pay(invoice, paid, "2025-02-20")
        untaxed_paid = paid / (1 + VAT)
        self.assertCollected(
            self.ae_own,
            Q1,
            {
                self.goods: untaxed_paid * goods / (goods + services),
                self.bic: untaxed_paid * services / (goods + services),
            },
        )

    def test_product_category_override(self):
        self.ae_supplier.urssaf_category_id = self.cipav
        consulting, repair, other = 400.0, 600.0, 100.0
        # An auto-entrepreneur under the VAT threshold bills without VAT.
        bill = self._bill(
            "2025-03-01",
            [(self.bnc_service, consulting), (self.goods_as_bic, repair), (None, other)],
            vat=False,
        )
        self._pay(bill, consulting + repair + other, "2025-03-02")
        self.assertCollected(
            self.ae_supplier,
            Q1,
            {self.bnc: consulting, self.bic: repair, self.cipav: other},
        )

    def test_no_default_category(self):
        # An account of before the default category was required (the ORM
        # refuses to empty it now).
        self.env.flush_all()
        self.env.cr.execute("UPDATE urssaf_account SET category_id = NULL WHERE partner_id = %s", [self.ae_supplier.id])
        self.env.invalidate_all()
        goods, work = 100.0, 250.0
        bill = self._bill("2025-03-01", [(self.goods_product, goods), (None, work)], vat=False)
        self._pay(bill, goods + work, "2025-03-02")
        collected = self._collected(self.ae_supplier, Q1)[self.ae_supplier.id]
        self.assertEqual(collected, {self.goods.code: goods, UNCATEGORISED: work})

    def test_draft_and_cancelled_invoices(self):
        untaxed = 800.0
        total = untaxed * (1 + VAT)
        self._sale("2025-01-05", [(self.service, untaxed)], post=False)
        cancelled = self._sale("2025-01-06", [(self.service, untaxed)])
        self._pay(cancelled, total, "2025-01-07")
        cancelled.button_draft()
        cancelled.button_cancel()
        self.assertEqual(cancelled.state, "cancel")
        self.assertCollected(self.ae_own, Q1, {})

    def test_unreconciled_payment(self):
        for company, data, partner, payment_type, partner_type in (
            (self.ae_company, self.ae_company_data, self.customer, "inbound", "customer"),
            (self.company, self.company_data, self.ae_supplier, "outbound", "supplier"),
        ):
            payment = (
                self.env["account.payment"]
                .with_company(company)
                .create(
                    {
                        "payment_type": payment_type,
                        "partner_type": partner_type,
                        "partner_id": partner.id,
                        "amount": 1000.0,
                        "date": "2025-02-01",
                        "journal_id": data["default_journal_bank"].id,
                    }
                )
            )
            payment.action_post()
        self._sale("2025-01-05", [(self.service, 1000.0)])
        self._bill("2025-01-05", [(self.service, 1000.0)])
        result = self._collected(self.ae_own | self.ae_supplier, Q1)
        self.assertEqual(result, {self.ae_own.id: {}, self.ae_supplier.id: {}})

    def test_bank_statement_line(self):
        untaxed = 900.0
        total = untaxed * (1 + VAT)
        bill = self._bill("2025-03-10", [(self.service, untaxed)])
        self.pay_with_statement_line(bill, self.company_data["default_journal_bank"].id, "2025-04-01", -total)
        self.assertEqual(bill.payment_state, "paid")
        self.assertCollected(self.ae_supplier, Q1, {})
        self.assertCollected(self.ae_supplier, Q2, {self.bic: untaxed})

    def test_both_sources_and_two_companies(self):
        sold, billed_here, billed_there, bought = 1000.0, 400.0, 250.0, 3000.0
        # The AE's own sales count, whatever company declares.
        invoice = self._sale("2025-01-10", [(self.service, sold)])
        self._pay(invoice, sold * (1 + VAT), "2025-01-15")
        # What the AE's company buys from the declaring one is no turnover of it.
        purchase = self._invoice("out_invoice", self.ae_own, "2025-01-10", [(self.service, bought)])
        self._pay(purchase, bought * (1 + VAT), "2025-01-15")
        # The same supplier bills both companies: each one declares its own.
        here = self._bill("2025-01-10", [(self.service, billed_here)])
        self._pay(here, billed_here * (1 + VAT), "2025-01-20")
        there = self._bill("2025-01-10", [(self.service, billed_there)], company=self.ae_company)
        self._pay(there, billed_there * (1 + VAT), "2025-01-20")

        both = self.ae_own | self.ae_supplier
        self.assertEqual(
            self._collected(both, Q1),
            {self.ae_own.id: {self.bic.code: sold}, self.ae_supplier.id: {self.bic.code: billed_here}},
        )
        # The other company declares them too, from its own Urssaf accounts of them.
        self.ae_own.sudo().with_company(self.ae_company).write(self._ae_values("customer_invoices", self.bic))
        self.ae_supplier.sudo().with_company(self.ae_company).write(self._ae_values("vendor_bills", self.bic))
        self.assertEqual(
            self._collected(both, Q1, self.ae_company),
            {self.ae_own.id: {self.bic.code: sold}, self.ae_supplier.id: {self.bic.code: billed_there}},
        )

    # ------------------------------------------------------------------
    # What was really received
    # ------------------------------------------------------------------

    def test_early_payment_discount_and_write_off(self):
        """The issue's figures: an auto-entrepreneur keeping its own books,
        without VAT, is paid 980 of a 1,000 invoice within the early-payment
        discount and 495 of a 500 one, 5 written off: 1,475 collected."""
        terms = (
            self.env["account.payment.term"]
            .with_company(self.ae_company)
            .create(
                {
                    "name": "2 % within 10 days, net 30",
                    "company_id": self.ae_company.id,
                    "early_discount": True,
                    "discount_percentage": 2.0,
                    "discount_days": 10,
                    "line_ids": [Command.create({"value": "percent", "value_amount": 100.0, "nb_days": 30})],
                }
            )
        )
        discounted = self._sale("2025-02-03", [(self.service, 1000.0)], vat=False, post=False)
        discounted.invoice_payment_term_id = terms
        discounted.action_post()
        payment = self._register_payment(discounted, payment_date="2025-02-10")
        self.assertEqual(payment.amount, 980.0)
        written_off = self._sale("2025-02-03", [(self.service, 500.0)], vat=False)
        self._register_payment(
            written_off,
            amount=495.0,
            payment_date="2025-02-12",
            payment_difference_handling="reconcile",
            writeoff_account_id=self.ae_company_data["default_account_expense"].id,
            writeoff_label="Bank fees",
        )
        self.assertEqual((discounted | written_off).mapped("payment_state"), ["paid", "paid"])
        self.assertCollected(self.ae_own, Q1, {self.bic: 980.0 + 495.0})

        # With VAT, the cash paid is taken excluding VAT in proportion.
        with_vat = self._sale("2025-03-03", [(self.service, 1000.0)], post=False)
        with_vat.invoice_payment_term_id = terms
        with_vat.action_post()
        paid = self._register_payment(with_vat, payment_date="2025-03-05").amount
        self.assertEqual(paid, 1000.0 * (1 + VAT) * 0.98)
        self.assertCollected(
            self.ae_own, (date(2025, 3, 1), date(2025, 3, 31)), {self.bic: paid * 1000.0 / (1000.0 * (1 + VAT))}
        )

    def test_write_off_entry_without_cash(self):
        """An invoice settled by a journal entry moving no money (a loss
        written off) collected nothing."""
        invoice = self._sale("2025-02-01", [(self.service, 600.0)], vat=False)
        receivable = self._term_lines(invoice).account_id
        entry = (
            self.env["account.move"]
            .with_company(self.ae_company)
            .create(
                {
                    "move_type": "entry",
                    "date": "2025-03-01",
                    "journal_id": self.ae_company_data["default_journal_misc"].id,
                    "line_ids": [
                        Command.create({"account_id": receivable.id, "partner_id": self.customer.id, "credit": 600.0}),
                        Command.create(
                            {"account_id": self.ae_company_data["default_account_expense"].id, "debit": 600.0}
                        ),
                    ],
                }
            )
        )
        entry.action_post()
        (self._term_lines(invoice) + entry.line_ids.filtered(lambda line: line.account_id == receivable)).reconcile()
        self.assertEqual(invoice.payment_state, "paid")
        self.assertCollected(self.ae_own, Q1, {})

    def test_receipts(self):
        """A paid sales receipt of the auto-entrepreneur's company, and a
        platform's purchase receipt, count like invoices."""
        receipt = self._invoice(
            "out_receipt", self.customer, "2025-01-10", [(self.service, 120.0)], self.ae_company, vat=False
        )
        self._pay(receipt, 120.0, "2025-01-10")
        self.assertCollected(self.ae_own, Q1, {self.bic: 120.0})
        platform_receipt = self._invoice("in_receipt", self.ae_supplier, "2025-01-12", [(self.service, 300.0)])
        self._pay(platform_receipt, 300.0 * (1 + VAT), "2025-01-14")
        self.assertCollected(self.ae_supplier, Q1, {self.bic: 300.0})

    def test_bill_in_branch(self):
        """A bill posted in a branch of the declaring company counts for it."""
        branch = (
            self.env["res.company"]
            .sudo()
            .create({"name": "Branch", "parent_id": self.company.id, "country_id": self.company.country_id.id})
        )
        self.env.user.sudo().company_ids = [Command.link(branch.id)]
        self.cr.precommit.run()  # the branch's journals
        bill = (
            self.env["account.move"]
            .with_company(branch)
            .create(
                {
                    "move_type": "in_invoice",
                    "partner_id": self.ae_supplier.id,
                    "invoice_date": "2025-02-01",
                    "date": "2025-02-01",
                    "invoice_line_ids": [
                        Command.create(
                            {"product_id": self.service.id, "price_unit": 700.0, "tax_ids": [Command.clear()]}
                        )
                    ],
                }
            )
        )
        bill.action_post()
        self.assertEqual(bill.company_id, branch)
        self._pay(bill, 700.0, "2025-02-05")
        self.assertCollected(self.ae_supplier, Q1, {self.bic: 700.0})

    def test_non_euro_declaring_company(self):
        """A platform keeping its books in dollars: each amount is converted
        into euros at the rate of the day it was paid, and the declaration
        says so."""
        eur = self.env.ref("base.EUR")
        platform_data = self.setup_other_company(name="Platform USD", currency_id=self.usd.id)
        platform = platform_data["company"]
        self.assertEqual(platform.currency_id, self.usd)
        # The platform's own rates: euros for one dollar.
        self.env["res.currency.rate"].sudo().create(
            [
                {"currency_id": self.usd.id, "company_id": platform.id, "name": "2025-01-01", "rate": 1.0},
                {"currency_id": eur.id, "company_id": platform.id, "name": "2025-01-01", "rate": 0.8},
                {"currency_id": eur.id, "company_id": platform.id, "name": "2025-02-01", "rate": 0.9},
            ]
        )
        self.ae_supplier.sudo().with_company(platform).write(self._ae_values("vendor_bills", self.bic))
        paid = {}
        for amount, bill_day, payment_day in (
            (500.0, "2025-01-05", "2025-01-20"),
            (1000.0, "2025-01-15", "2025-02-15"),
        ):
            bill = (
                self.env["account.move"]
                .with_company(platform)
                .create(
                    {
                        "move_type": "in_invoice",
                        "partner_id": self.ae_supplier.id,
                        "invoice_date": bill_day,
                        "date": bill_day,
                        "journal_id": platform_data["default_journal_purchase"].id,
                        "invoice_line_ids": [
                            Command.create({"name": "Work", "price_unit": amount, "tax_ids": [Command.clear()]})
                        ],
                    }
                )
            )
            bill.action_post()
            self._pay(bill, amount, payment_day)
            paid[amount] = self.usd._convert(amount, eur, platform, date.fromisoformat(payment_day), round=False)
        # Odoo's own conversion, and the rates above.
        self.assertAlmostEqual(paid[500.0], 400.0)
        self.assertAlmostEqual(paid[1000.0], 900.0)
        self.assertCollected(self.ae_supplier, Q1, {self.bic: paid[500.0] + paid[1000.0]}, company=platform)

        declaration = (
            self.env["urssaf.declaration"]
            .sudo()
            .create(
                {
                    "partner_id": self.ae_supplier.id,
                    "company_id": platform.id,
                    "period_start": Q1[0],
                    "period_end": Q1[1],
                    "periodicity": "quarterly",
                }
            )
        )
        declaration._refresh_turnover()
        self.assertEqual(declaration.currency_id, eur)
        self.assertEqual(declaration.turnover_total, 1300.0)
        self.assertEqual(declaration.collected_currency_id, self.usd)
        self.assertEqual(declaration.collected_amount_currency, 1500.0)

    # ------------------------------------------------------------------
    # What is behind an amount
    # ------------------------------------------------------------------

    def test_collected_sources_and_action(self):
        goods, services = 200.0, 800.0
        total = (goods + services) * (1 + VAT)
        bill = self._bill("2025-02-10", [(self.goods_product, goods), (self.service, services)])
        march = self._pay(bill, 300.0, "2025-03-15")
        self._pay(bill, total - 300.0, "2025-04-15")
        turnover = self.env["urssaf.turnover"]

        partials = turnover._collected_sources(self.ae_supplier, *Q1, self.company)[0]
        payable = self._term_lines(bill)
        self.assertEqual(
            partials, payable.matched_debit_ids.filtered(lambda p: p.debit_move_id.move_id == march.move_id)
        )
        self.assertEqual(turnover._collected_sources(self.ae_supplier, *Q1, self.company, self.goods.code)[0], partials)
        self.assertFalse(turnover._collected_sources(self.ae_supplier, *Q1, self.company, self.bnc.code)[0])

        action = turnover.action_open_collected(self.ae_supplier, *Q1, self.company, self.bic.code)
        self.assertEqual(action["res_model"], "account.move.line")
        lines = self.env["account.move.line"].search(action["domain"])
        self.assertEqual(
            lines, payable + march.move_id.line_ids.filtered(lambda line: line.account_id == payable.account_id)
        )

    # ------------------------------------------------------------------
    # Performance
    # ------------------------------------------------------------------

    def _count_queries(self, partners):
        # A first call fills the registry's caches (access rules), which the
        # data does not change; each count then starts from an empty record
        # cache, as a fresh request does.
        self.env.flush_all()
        self.env.invalidate_all()
        self._collected(partners, Q2)
        self.env.invalidate_all()
        before = self.cr.sql_log_count
        result = self._collected(partners, Q1)
        return self.cr.sql_log_count - before, result

    def test_query_count_does_not_grow(self):
        """One auto-entrepreneur with one invoice costs as many queries as five
        with ten invoices each, mixed categories and partial payments."""
        single = self.env["res.partner"].create({"name": "Single AE", **self._ae_values("vendor_bills", self.bnc)})
        bill = self._bill("2025-01-10", [(self.service, 100.0)], partner=single)
        self._pay(bill, 120.0, "2025-01-20")

        many = self.env["res.partner"].create(
            [{"name": f"AE {i}", **self._ae_values("vendor_bills", self.bic)} for i in range(5)]
        )
        expected = {}
        bills = self._bills(
            [
                ("2025-01-10", [(self.service, 100.0 + i), (self.goods_product, 50.0)], partner)
                for partner in many
                for i in range(10)
            ]
        )
        # Every other bill of each auto-entrepreneur (its odd ``i``) half
        # paid, one payment each; the others paid in full, their payments
        # registered together (one wizard, as fast as the test can go).
        half_paid = bills[1::2]
        for bill in half_paid:
            self._pay(bill, bill.amount_total / 2, "2025-02-01")
        self._register_payment(bills - half_paid, payment_date="2025-02-01", group_payment=False)
        for partner in many:
            services = sum((100.0 + i) / (2 if i % 2 else 1) for i in range(10))
            goods = sum(50.0 / (2 if i % 2 else 1) for i in range(10))
            expected[partner.id] = {self.bic.code: round(services, 2), self.goods.code: round(goods, 2)}

        count_single, result_single = self._count_queries(single)
        count_many, result_many = self._count_queries(many)
        self.assertEqual(result_single, {single.id: {self.bnc.code: 100.0}})
        self.assertEqual(result_many, expected)
        self.assertEqual(count_single, count_many)

    def _bank_line_settling_the_whole_invoice(self, invoice, amount):
        """A customer's bank line of ``amount`` written as settling all of
        ``invoice``: its unmatched rest stays on the journal's suspense
        account (a credit when it brings more, a debit when it brings less)."""
        total = invoice.amount_total
        st_line = (
            self.env["account.bank.statement.line"]
            .with_company(self.ae_company)
            .create(
                {
                    "payment_ref": "Customer transfer",
                    "journal_id": self.ae_company_data["default_journal_bank"].id,
                    "partner_id": self.customer.id,
                    "amount": amount,
                    "date": "2025-03-01",
                }
            )
        )
        synchronised = st_line.with_context(skip_account_move_synchronization=True)
        _liquidity, suspense, _other = synchronised._seek_for_lines()
        receivable = self._term_lines(invoice)
        move = synchronised.move_id
        move.button_draft()
        move.write(
            {
                "line_ids": [
                    Command.update(suspense.id, {"balance": total - amount, "amount_currency": total - amount}),
                    Command.create(
                        {
                            "name": invoice.name,
                            "account_id": receivable.account_id.id,
                            "partner_id": self.customer.id,
                            "balance": -total,
                            "amount_currency": -total,
                            "currency_id": suspense.currency_id.id,
                        }
                    ),
                ]
            }
        )
        move.action_post()
        paying = move.line_ids.filtered(lambda line: line.account_id == receivable.account_id)
        (paying | receivable).reconcile()
        self.assertEqual(invoice.payment_state, "paid")
        _liquidity, rest, _other = synchronised._seek_for_lines()
        self.assertAlmostEqual(rest.balance, total - amount)
        self.assertFalse(st_line.is_reconciled, "the rest is still to match")
        return st_line

    def test_bank_line_unmatched_rest_is_not_received(self):
        """A customer pays 1,500 for an invoice of 1,200 (1,000 excluding
        VAT) in one bank line: the invoice takes 1,200 of it, the other 300
        stay on the journal's suspense account, unmatched. Only the invoice
        is collected; the rest is not turnover (nothing says what it pays)."""
        invoice = self._sale("2025-02-10", [(self.service, 1000.0)])
        self._bank_line_settling_the_whole_invoice(invoice, 1500.0)
        self.assertCollected(self.ae_own, Q1, {self.bic: 1000.0})

    def test_bank_line_short_of_the_invoice_collects_its_cash_only(self):
        """A bank line of 1,000 written as settling all of an invoice of
        1,200 (1,000 excluding VAT): the 200 it lacks stay on the suspense
        account, not received. Collected: the 1,000 of cash, 833.33
        excluding VAT, not the whole invoice."""
        invoice = self._sale("2025-02-10", [(self.service, 1000.0)])
        self._bank_line_settling_the_whole_invoice(invoice, 1000.0)
        received = invoice.currency_id.round(1000.0 * 1000.0 / invoice.amount_total)
        self.assertCollected(self.ae_own, Q1, {self.bic: received})


@tagged("post_install", "-at_install")
class TestCollectedTurnoverFromDocuments(TestCollectedTurnover):
    """The same cases, read from the auto-entrepreneurs' documents."""

    reads_documents = True

    def test_reading_side_follows_the_share_of_auto_entrepreneurs(self):
        """The documents are read for less than half of the database's
        auto-entrepreneurs, the period's lines from half of them on."""
        self.patch(type(self.env["urssaf.turnover"]), "_reading_side", UrssafTurnover._reading_side)
        turnover = self.env["urssaf.turnover"]
        self.env["res.partner"].create(
            [{"name": f"AE {i}", **self._ae_values("vendor_bills", self.bnc)} for i in range(3)]
        )
        known = self.env["urssaf.account"].sudo().search_count([("is_auto_entrepreneur", "=", True)])
        self.assertGreater(known, 4)
        half = (known + 1) // 2

        def asked(count):
            # Only their number matters.
            return self.env["res.partner"].browse(range(1, count + 1))

        self.assertFalse(turnover._reading_side(asked(known))[0])
        self.assertFalse(turnover._reading_side(asked(half))[0])
        self.assertTrue(turnover._reading_side(asked(half - 1))[0])
        # The books of an auto-entrepreneur keeping its own, and its branches'.
        self.assertEqual(
            sorted(turnover._reading_side(self.ae_own)[1]),
            sorted(self.env["res.company"].sudo().search([("id", "child_of", self.ae_company.id)]).ids),
        )
