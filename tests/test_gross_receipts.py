# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Gross receipts: what settled the debt is collected, before any fee or
commission (service-public F36249: "chiffre d'affaires brut, sans déduction
des charges ni commissions"); a price reduction or a bad debt is not.

=================================================  ==========================================
case                                                expected
=================================================  ==========================================
200 paid 194.20, 5.80 fee kept by the processor     200 (the fee is on a fee account)
the same difference written off elsewhere           194.20 (not a fee: not received)
platform offsets its 200 commission, pays 1,800     200 on the offset's day, 1,800 on the
                                                    payment's: 2,000
invoice settled partly by offset, partly in cash    the whole invoice; the AE's bill paid by
                                                    the offset in its register of purchases
bad debt written off with the payment's rest        the cash only
early-payment discount                              the cash only (the discount is no fee)
400 received on the bank, straight to income        400 on the bank line's day, in the
                                                    income account's category
income on the bank of another company's books       nothing until the books' owner says so
French chart                                        fee accounts: its 622 and 627 accounts
=================================================  ==========================================

Every case runs twice, as in test_turnover: reading the period's lines and
reading the auto-entrepreneurs' documents.
"""

from datetime import date

from odoo import Command
from odoo.tests import tagged

from ..models.urssaf_turnover import PURCHASES, UrssafTurnover
from .test_turnover import Q1, VAT, CollectedTurnoverCase

JANUARY = (date(2025, 1, 1), date(2025, 1, 31))
FEBRUARY = (date(2025, 2, 1), date(2025, 2, 28))


@tagged("post_install", "-at_install")
class TestGrossReceipts(CollectedTurnoverCase):
    """The cases, read from the period's payment and bank lines."""

    reads_documents = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fee_account = cls._account(cls.ae_company, "627800", "Bank fees", "expense")
        cls.bad_debt_account = cls._account(cls.ae_company, "654000", "Bad debts", "expense")
        cls.services_income = cls._account(cls.ae_company, "706100", "Services sold", "income")
        cls.goods_income = cls._account(cls.ae_company, "707100", "Goods sold", "income")
        cls.ae_company.sudo().urssaf_fee_account_ids = [Command.set(cls.fee_account.ids)]

    @classmethod
    def _account(cls, company, code, name, account_type):
        return (
            cls.env["account.account"]
            .with_company(company)
            .create({"code": code, "name": name, "account_type": account_type, "company_ids": [company.id]})
        )

    def setUp(self):
        super().setUp()
        reads_documents = self.reads_documents
        self.patch(
            type(self.env["urssaf.turnover"]),
            "_reading_side",
            lambda model, partners: (reads_documents, UrssafTurnover._reading_side(model, partners)[1]),
        )

    def _pay_with_difference(self, invoice, amount, day, account, label):
        return self._register_payment(
            invoice,
            amount=amount,
            payment_date=day,
            payment_difference_handling="reconcile",
            writeoff_account_id=account.id,
            writeoff_label=label,
        )

    def _entry(self, company, day, lines):
        """A posted miscellaneous entry of ``lines``: ``(account, partner,
        balance)``."""
        data = self.company_data if company == self.company else self.ae_company_data
        entry = (
            self.env["account.move"]
            .with_company(company)
            .create(
                {
                    "move_type": "entry",
                    "date": day,
                    "journal_id": data["default_journal_misc"].id,
                    "line_ids": [
                        Command.create(
                            {
                                "account_id": account.id,
                                "partner_id": partner.id if partner else False,
                                "debit": max(balance, 0.0),
                                "credit": max(-balance, 0.0),
                            }
                        )
                        for account, partner, balance in lines
                    ],
                }
            )
        )
        entry.action_post()
        return entry

    def _reconcile_on(self, account, *moves):
        lines = self.env["account.move.line"]
        for move in moves:
            lines |= move.line_ids.filtered(lambda line: line.account_id == account and not line.reconciled)
        lines.reconcile()

    def _bank_line(self, day, amount, account, journal="default_journal_bank", partner=None):
        """A bank (or cash) statement line of the AE's company booked
        straight to ``account``, as a bookkeeper does without invoice."""
        return self.env["account.bank.statement.line"].create(
            {
                "journal_id": self.ae_company_data[journal].id,
                "date": day,
                "amount": amount,
                "payment_ref": "Received",
                "partner_id": partner.id if partner else False,
                "counterpart_account_id": account.id,
            }
        )

    # ------------------------------------------------------------------
    # Fees kept on the way
    # ------------------------------------------------------------------

    def test_fee_kept_by_processor(self):
        """200 + VAT invoiced, the processor paid 232.80 and kept a 7.20 fee
        (written off to bank fees): 200 collected, 240 with VAT."""
        invoice = self._sale("2025-01-10", [(self.service, 200.0)])
        payment = self._pay_with_difference(invoice, 232.80, "2025-01-20", self.fee_account, "Processor fee")
        self.assertEqual(invoice.payment_state, "paid")
        self.assertIn(self.fee_account, payment.move_id.line_ids.account_id)
        self.assertCollected(self.ae_own, Q1, {self.bic: 200.0})
        rows = self.env["urssaf.register.line"].search([("partner_id", "=", self.ae_own.id)])
        self.assertEqual(rows.mapped("amount_total"), [200.0 * (1 + VAT)])
        self.assertEqual(rows.payment_id, payment)

    def test_difference_written_off_elsewhere(self):
        """The same difference written off to an account that is not a fee
        (a loss the customer did not pay) was not received."""
        invoice = self._sale("2025-01-10", [(self.service, 200.0)], vat=False)
        self._pay_with_difference(invoice, 194.20, "2025-01-20", self.bad_debt_account, "Short payment")
        self.assertCollected(self.ae_own, Q1, {self.bic: 194.20})
        # Configured as a fee, the same books count it received.
        self.ae_company.sudo().urssaf_fee_account_ids = [Command.link(self.bad_debt_account.id)]
        self.assertCollected(self.ae_own, Q1, {self.bic: 200.0})

    def test_bad_debt_with_the_payment(self):
        """600 invoiced, 400 paid and the rest written off as a bad debt with
        the payment: 400; the rest written off later on its own: nothing
        more."""
        invoice = self._sale("2025-01-10", [(self.service, 600.0)], vat=False)
        self._pay_with_difference(invoice, 400.0, "2025-01-20", self.bad_debt_account, "Bad debt")
        self.assertEqual(invoice.payment_state, "paid")
        self.assertCollected(self.ae_own, Q1, {self.bic: 400.0})
        other = self._sale("2025-02-01", [(self.service, 300.0)], vat=False)
        self._pay(other, 100.0, "2025-02-05")
        receivable = self._term_lines(other).account_id
        entry = self._entry(
            self.ae_company,
            "2025-03-01",
            [(receivable, self.customer, -200.0), (self.bad_debt_account, None, 200.0)],
        )
        self._reconcile_on(receivable, other, entry)
        self.assertEqual(other.payment_state, "paid")
        self.assertCollected(self.ae_own, Q1, {self.bic: 400.0 + 100.0})

    def test_early_payment_discount_is_no_fee(self):
        """A 2 % early-payment discount, fee accounts set: the cash only."""
        terms = (
            self.env["account.payment.term"]
            .with_company(self.ae_company)
            .create(
                {
                    "name": "2 % within 10 days",
                    "company_id": self.ae_company.id,
                    "early_discount": True,
                    "discount_percentage": 2.0,
                    "discount_days": 10,
                    "line_ids": [Command.create({"value": "percent", "value_amount": 100.0, "nb_days": 30})],
                }
            )
        )
        invoice = self._sale("2025-02-03", [(self.service, 1000.0)], vat=False, post=False)
        invoice.invoice_payment_term_id = terms
        invoice.action_post()
        payment = self._register_payment(invoice, payment_date="2025-02-10")
        self.assertEqual((payment.amount, invoice.payment_state), (980.0, "paid"))
        self.assertCollected(self.ae_own, Q1, {self.bic: 980.0})

    # ------------------------------------------------------------------
    # Offsets
    # ------------------------------------------------------------------

    def test_platform_offsets_its_commission(self):
        """A platform nets its 200 commission invoice against the AE's 2,000
        bill on 31 January, then pays 1,800 on 10 February: 200 collected on
        the offset's day, 1,800 on the payment's, 2,000 in all."""
        bill = self._bill("2025-01-15", [(self.service, 2000.0)], vat=False)
        commission = self._invoice("out_invoice", self.ae_supplier, "2025-01-15", [(None, 200.0)], vat=False)
        payable = self._term_lines(bill).account_id
        receivable = self._term_lines(commission).account_id
        offset = self._entry(
            self.company,
            "2025-01-31",
            [(payable, self.ae_supplier, 200.0), (receivable, self.ae_supplier, -200.0)],
        )
        self._reconcile_on(payable, bill, offset)
        self._reconcile_on(receivable, commission, offset)
        self.assertEqual(commission.payment_state, "paid")
        self._pay(bill, 1800.0, "2025-02-10")
        self.assertEqual(bill.payment_state, "paid")
        self.assertCollected(self.ae_supplier, JANUARY, {self.bic: 200.0})
        self.assertCollected(self.ae_supplier, FEBRUARY, {self.bic: 1800.0})
        self.assertCollected(self.ae_supplier, Q1, {self.bic: 2000.0})

    def test_invoice_settled_partly_by_offset(self):
        """The AE's 1,000 invoice to a customer it also bought 300 from: 300
        netted by an offset, 700 paid in cash: 1,000 collected; its bill of
        300 was paid by the offset (register of purchases)."""
        invoice = self._sale("2025-01-10", [(self.service, 1000.0)], vat=False)
        bought = self._invoice(
            "in_invoice", self.customer, "2025-01-12", [(self.goods_product, 300.0)], self.ae_company, vat=False
        )
        receivable = self._term_lines(invoice).account_id
        payable = self._term_lines(bought).account_id
        offset = self._entry(
            self.ae_company,
            "2025-01-20",
            [(receivable, self.customer, -300.0), (payable, self.customer, 300.0)],
        )
        self._reconcile_on(receivable, invoice, offset)
        self._reconcile_on(payable, bought, offset)
        self.assertEqual(invoice.amount_residual, 700.0)
        self.assertCollected(self.ae_own, JANUARY, {self.bic: 300.0})
        self._pay(invoice, 700.0, "2025-02-03")
        self.assertCollected(self.ae_own, Q1, {self.bic: 1000.0})
        # The same offset paid the AE's own bill.
        purchases = self.env["urssaf.register.line"].search(
            [("register_type", "=", PURCHASES), ("partner_id", "=", self.ae_own.id), ("move_id", "=", bought.id)]
        )
        self.assertEqual(purchases.mapped("amount"), [300.0])
        self.assertEqual(purchases.payment_move_id, offset)

    def test_credit_note_still_counts_zero(self):
        """A credit note settling an invoice with its own term line is no
        offset: nothing collected, fees or not."""
        invoice = self._sale("2025-01-10", [(self.service, 500.0)], vat=False)
        credit_note = self._invoice(
            "out_refund", self.customer, "2025-01-20", [(self.service, 500.0)], self.ae_company, vat=False
        )
        self._term_lines(invoice + credit_note).reconcile()
        self.assertFalse(invoice.amount_residual)
        self.assertCollected(self.ae_own, Q1, {})

    # ------------------------------------------------------------------
    # Income on the bank without invoice
    # ------------------------------------------------------------------

    def test_bank_income_without_invoice(self):
        """400 received on the bank straight to a services income account,
        150 in cash to a goods one mapped to sales of goods: counted on their
        days, each in its category, in the registers too."""
        self.goods_income.with_company(self.ae_company).urssaf_category_id = self.goods
        self._bank_line("2025-02-14", 400.0, self.services_income, partner=self.customer)
        self._bank_line("2025-03-02", 150.0, self.goods_income, journal="default_journal_cash")
        # Money going out to an expense is no income.
        self._bank_line("2025-03-03", -80.0, self.fee_account)
        self.assertCollected(self.ae_own, FEBRUARY, {self.bic: 400.0})
        self.assertCollected(self.ae_own, Q1, {self.bic: 400.0, self.goods: 150.0})
        rows = self.env["urssaf.register.line"].search([("partner_id", "=", self.ae_own.id)], order="date")
        self.assertEqual(rows.mapped("amount"), [400.0, 150.0])
        self.assertEqual(rows.mapped("amount_total"), [400.0, 150.0])
        self.assertEqual(rows.mapped("category_id"), self.bic | self.goods)
        self.assertFalse(rows.partial_id)
        self.assertEqual(rows[0].counterpart_partner_id, self.customer)
        self.assertEqual(rows.mapped("journal_id.type"), ["bank", "cash"])
        # What is behind the amount: the income lines.
        action = self.env["urssaf.turnover"].action_open_collected(self.ae_own, *Q1, self.company, self.goods.code)
        lines = self.env["account.move.line"].search(action["domain"])
        self.assertEqual(lines.account_id, self.goods_income)

    def test_bank_income_beside_invoices_keeps_ids_apart(self):
        """Register rows of bank income and of settlements side by side: each
        row its own id, within what a browser holds exactly."""
        invoice = self._sale("2025-01-10", [(self.service, 100.0), (self.goods_product, 50.0)], vat=False)
        self._pay(invoice, 150.0, "2025-01-20")
        self._bank_line("2025-01-21", 70.0, self.services_income)
        rows = self.env["urssaf.register.line"].search([("partner_id", "=", self.ae_own.id)])
        self.assertEqual(len(rows), 3)
        self.assertEqual(len(set(rows.ids)), 3)
        self.assertLess(max(rows.ids), 2**53)
        self.assertCollected(self.ae_own, Q1, {self.bic: 170.0, self.goods: 50.0})
        # Read again, the same ids.
        self.env.invalidate_all()
        self.assertEqual(self.env["urssaf.register.line"].search([("partner_id", "=", self.ae_own.id)]), rows)

    def test_bank_line_settling_an_invoice_is_no_income(self):
        """A bank line paying an invoice is its settlement, not income again."""
        invoice = self._sale("2025-01-10", [(self.service, 300.0)], vat=False)
        self.pay_with_statement_line(invoice, self.ae_company_data["default_journal_bank"].id, "2025-01-25", 300.0)
        self.assertCollected(self.ae_own, Q1, {self.bic: 300.0})

    def test_bank_line_paying_an_invoice_and_more(self):
        """One bank line of 1,200: 1,000 settling an invoice, 200 more booked
        straight to income (an extra sale): 1,200 collected, nothing twice."""
        invoice = self._sale("2025-01-10", [(self.service, 1000.0)], vat=False)
        journal = self.ae_company_data["default_journal_bank"]
        entry = (
            self.env["account.move"]
            .with_company(self.ae_company)
            .create(
                {
                    "journal_id": journal.id,
                    "date": "2025-01-25",
                    "line_ids": [
                        Command.create(
                            {"account_id": journal.default_account_id.id, "debit": 1200.0, "name": "Received"}
                        ),
                        Command.create(
                            {
                                "account_id": self._term_lines(invoice).account_id.id,
                                "partner_id": self.customer.id,
                                "credit": 1000.0,
                                "name": invoice.name,
                            }
                        ),
                        Command.create({"account_id": self.services_income.id, "credit": 200.0, "name": "Extra"}),
                    ],
                }
            )
        )
        entry.action_post()
        receivable = entry.line_ids.filtered(lambda line: line.account_id == self._term_lines(invoice).account_id)
        (self._term_lines(invoice) + receivable).reconcile()
        self.assertEqual(invoice.payment_state, "paid")
        self.assertCollected(self.ae_own, Q1, {self.bic: 1200.0})

    def test_other_income_on_the_bank_is_no_turnover(self):
        """Interest the bank credits on an "other income" account (76x) is no
        sale: nothing collected."""
        interest = self._account(self.ae_company, "768000", "Interest received", "income_other")
        self._bank_line("2025-02-14", 12.5, interest)
        self.assertCollected(self.ae_own, Q1, {})

    # ------------------------------------------------------------------
    # The books' owner's say
    # ------------------------------------------------------------------

    def test_own_books_read_only_on_their_owners_say(self):
        invoice = self._sale("2025-01-10", [(self.service, 250.0)], vat=False)
        self._pay(invoice, 250.0, "2025-01-20")
        self._bank_line("2025-01-22", 400.0, self.services_income)
        self.ae_company.sudo().urssaf_books_reader_ids = [Command.clear()]
        self.assertCollected(self.ae_own, Q1, {})
        Register = self.env["urssaf.register.line"]
        self.assertFalse(Register.search([("partner_id", "=", self.ae_own.id), ("company_id", "=", self.company.id)]))
        # Its own company reads them still (its Urssaf account there).
        self.ae_own.sudo().with_company(self.ae_company).write(self._ae_values("customer_invoices", self.bic))
        self.assertCollected(self.ae_own, Q1, {self.bic: 650.0}, company=self.ae_company)
        self.ae_company.sudo().urssaf_books_reader_ids = [Command.link(self.company.id)]
        self.assertCollected(self.ae_own, Q1, {self.bic: 650.0})


@tagged("post_install", "-at_install")
class TestGrossReceiptsFromDocuments(TestGrossReceipts):
    """The same cases, read from the auto-entrepreneurs' documents."""

    reads_documents = True


@tagged("post_install", "-at_install")
class TestFeeAccountDefaults(CollectedTurnoverCase):
    def test_french_chart_fee_accounts(self):
        """A company loading the French chart gets its 622 and 627 accounts as
        fees; the generic chart, none; a list set by hand is kept."""
        french = self.env["res.company"].create({"name": "Chart FR", "country_id": self.env.ref("base.fr").id})
        self.env.user.company_ids = [Command.link(french.id)]
        self.env["account.chart.template"].try_loading("fr", french, install_demo=False)
        fees = french.sudo().urssaf_fee_account_ids
        codes = sorted(fees.with_company(french).mapped("code"))
        self.assertIn("622100", codes)
        self.assertIn("627800", codes)
        self.assertTrue(all(code[:3] in ("622", "627") for code in codes), codes)
        self.assertFalse(self.company.sudo().urssaf_fee_account_ids)
        # Set by hand: left as it is.
        french.sudo().urssaf_fee_account_ids = [Command.set(fees[:1].ids)]
        self.env["res.company"]._urssaf_set_default_fee_accounts()
        self.assertEqual(french.sudo().urssaf_fee_account_ids, fees[:1])
        # Emptied: filled again on the next call (the migration's).
        french.sudo().urssaf_fee_account_ids = [Command.clear()]
        self.env["res.company"]._urssaf_set_default_fee_accounts(french)
        self.assertEqual(french.sudo().urssaf_fee_account_ids, fees)
