# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Point-of-sale takings of an auto-entrepreneur keeping its own books, when
point_of_sale is installed (the addon does not depend on it: without it,
these tests skip, and the test run installs it so that they never do).

=================================================  ==========================================
case                                                expected
=================================================  ==========================================
an order of a service and goods, paid part in       each category on the payment's day in the
cash part by card, its session closed               cashier's time zone, once (not again from
                                                    the session's entries); a row per payment
                                                    and category, cash apart
an invoiced order                                   once, through its invoice's settlement
a refund order paid back                            reduces its day's takings
the books' owner's say withdrawn                    nothing
=================================================  ==========================================
"""

import unittest
from datetime import date

from odoo import Command, fields
from odoo.tests import tagged
from odoo.tools import SQL

from ..models.urssaf_turnover import ORIGIN_POS, ORIGIN_SETTLEMENT
from .test_turnover import Q1, VAT, CollectedTurnoverCase

JANUARY = (date(2025, 1, 1), date(2025, 1, 31))
FEBRUARY = (date(2025, 2, 1), date(2025, 2, 28))


@tagged("post_install", "-at_install")
class TestPosTakings(CollectedTurnoverCase):
    @classmethod
    def get_default_groups(cls):
        groups = super().get_default_groups()
        if "pos.order" in cls.env:
            # The shop's manager sets up the point of sale and closes sessions.
            groups |= cls.quick_ref("point_of_sale.group_pos_manager")
        return groups

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if "pos.order" not in cls.env:
            raise unittest.SkipTest("point_of_sale is not installed")
        company = cls.ae_company
        cls.env.user.tz = "Europe/Paris"
        # A country: l10n_fr_pos_cert, installed with point_of_sale beside the
        # French localisation, refuses a point of sale without one.
        company.country_id = cls.env.ref("base.fr")
        cls.pos_receivable = cls._pos_account("411900", "POS receivable", "asset_receivable")
        company.account_default_pos_receivable_account_id = cls.pos_receivable
        cls.cash_method = cls.env["pos.payment.method"].create(
            {
                "name": "Cash (AE)",
                "journal_id": cls.ae_company_data["default_journal_cash"].id,
                "receivable_account_id": cls.pos_receivable.id,
                "company_id": company.id,
            }
        )
        cls.card_method = cls.env["pos.payment.method"].create(
            {
                "name": "Card (AE)",
                "journal_id": cls.ae_company_data["default_journal_bank"].id,
                "receivable_account_id": cls.pos_receivable.id,
                "company_id": company.id,
            }
        )
        cls.pos_config = (
            cls.env["pos.config"]
            .with_company(company)
            .create(
                {
                    "name": "AE shop",
                    "company_id": company.id,
                    "journal_id": cls.ae_company_data["default_journal_sale"].id,
                    "invoice_journal_id": cls.ae_company_data["default_journal_sale"].id,
                    "payment_method_ids": [Command.set((cls.cash_method | cls.card_method).ids)],
                }
            )
        )
        cls.pos_vat = cls.vat[company]["sale"]

    @classmethod
    def _pos_account(cls, code, name, account_type):
        return (
            cls.env["account.account"]
            .with_company(cls.ae_company)
            .create(
                {
                    "code": code,
                    "name": name,
                    "account_type": account_type,
                    "reconcile": True,
                    "company_ids": [cls.ae_company.id],
                }
            )
        )

    def _session(self):
        config = self.pos_config.with_company(self.ae_company)
        if not config.current_session_id:
            config.open_ui()
        return config.current_session_id

    def _order(self, lines, payments, partner=None):
        """A paid order of ``lines`` (``(product, untaxed price, quantity)``,
        VAT on top) paid by ``payments`` (``(method, amount, UTC datetime)``)."""
        session = self._session()
        order = (
            self.env["pos.order"]
            .with_company(self.ae_company)
            .create(
                {
                    "session_id": session.id,
                    "company_id": self.ae_company.id,
                    "partner_id": partner.id if partner else False,
                    "date_order": fields.Datetime.to_datetime(payments[0][2]),
                    "amount_total": 0,
                    "amount_paid": 0,
                    "amount_tax": 0,
                    "amount_return": 0,
                    "lines": [
                        Command.create(
                            {
                                "product_id": product.product_variant_id.id,
                                "price_unit": price,
                                "qty": quantity,
                                "price_subtotal": 0,
                                "price_subtotal_incl": 0,
                                "tax_ids": [Command.set(self.pos_vat.ids)],
                            }
                        )
                        for product, price, quantity in lines
                    ],
                }
            )
        )
        order.lines._onchange_amount_line_all()
        order._compute_prices()
        self._pay_order(order, payments)
        return order

    def _pay_order(self, order, payments):
        for method, amount, paid_at in payments:
            order.add_payment(
                {
                    "pos_order_id": order.id,
                    "payment_method_id": method.id,
                    "amount": amount,
                    "payment_date": fields.Datetime.to_datetime(paid_at),
                }
            )
        order.action_pos_order_paid()
        self.assertEqual(order.state, "paid")

    def _close_session(self):
        session = self.pos_config.current_session_id
        payments = session.order_ids.payment_ids
        cash = sum(payments.filtered(lambda payment: payment.payment_method_id == self.cash_method).mapped("amount"))
        session.post_closing_cash_details(cash)
        session.close_session_from_ui()
        self.assertEqual(session.state, "closed")
        return session

    def _rows(self):
        return self.env["urssaf.register.line"].search(
            [("partner_id", "=", self.ae_own.id), ("company_id", "=", self.company.id)], order="date, id"
        )

    def _origins(self, rows):
        """The ``origin`` of the register rows ``rows``, as the query gives it."""
        query = SQL(
            "SELECT DISTINCT register.origin FROM (%s) AS register WHERE register.id = ANY(%s)",
            self.env["urssaf.turnover"]._register_sql(),
            rows.ids,
        )
        return {origin for (origin,) in self.env["urssaf.turnover"]._fetch_register(query)}

    def test_paid_order_counts_on_its_payment_day(self):
        """An order of a 100.00 service and 50.00 of goods (180.00 with VAT),
        paid 80.00 in cash and 100.00 by card at 00:30 on 1 February in
        Paris (23:30 UTC on 31 January): 100.00 services, 50.00 goods in
        February, nothing in January; after the session's closing, still
        once."""
        order = self._order(
            [(self.service, 100.0, 1), (self.goods_product, 25.0, 2)],
            [(self.cash_method, 80.0, "2025-01-31 23:30:00"), (self.card_method, 100.0, "2025-01-31 23:31:00")],
            partner=self.customer,
        )
        self.assertAlmostEqual(order.amount_total, 180.0)
        self.assertCollected(self.ae_own, JANUARY, {})
        self.assertCollected(self.ae_own, FEBRUARY, {self.bic: 100.0, self.goods: 50.0})
        session = self._close_session()
        self.assertTrue(session.move_id)
        self.assertCollected(self.ae_own, FEBRUARY, {self.bic: 100.0, self.goods: 50.0})
        self.assertCollected(self.ae_own, Q1, {self.bic: 100.0, self.goods: 50.0})

        # The register: a row per payment and category, the cash apart.
        rows = self._rows()
        self.assertEqual(len(rows), 4)
        self.assertEqual(set(rows.mapped("date")), {date(2025, 2, 1)})
        self.assertEqual(sum(rows.mapped("amount")), 150.0)
        self.assertEqual(sum(rows.mapped("amount_total")), 180.0)
        cash = rows.filtered("is_cash")
        self.assertEqual(cash.journal_id, self.ae_company_data["default_journal_cash"])
        self.assertEqual(sorted(cash.mapped("amount_total")), [26.67, 53.33])
        self.assertEqual(sorted(cash.mapped("amount")), [22.22, 44.44])
        self.assertEqual((rows - cash).journal_id, self.ae_company_data["default_journal_bank"])
        self.assertEqual(sorted((rows - cash).mapped("amount")), [27.78, 55.56])
        self.assertEqual(rows.category_id, self.bic | self.goods)
        self.assertEqual(rows.counterpart_partner_id, self.customer)
        # No invoice settled; booked in the session's entry.
        self.assertFalse(rows.move_id)
        self.assertEqual(rows.payment_move_id, session.move_id)
        self.assertFalse(rows.partial_id)
        self.assertEqual(self._origins(rows), {ORIGIN_POS})
        # Ids: one each, stable, within what a browser holds exactly.
        self.assertEqual(len(set(rows.ids)), 4)
        self.assertLess(max(rows.ids), 2**53)
        self.env.invalidate_all()
        self.assertEqual(self._rows(), rows)
        # What the amount was read from: the session's entry and its income.
        action = self.env["urssaf.turnover"].action_open_collected(self.ae_own, *Q1, self.company, self.goods.code)
        lines = self.env["account.move.line"].search(action["domain"])
        self.assertEqual(lines.move_id, session.move_id)

    def test_ids_apart_from_invoices_and_bank_income(self):
        """Rows of settlements, of bank income and of takings side by side,
        their ids packed apart: one each."""
        invoice = self._sale("2025-01-10", [(self.service, 100.0), (self.goods_product, 50.0)], vat=False)
        self._pay(invoice, 150.0, "2025-01-20")
        income = (
            self.env["account.account"]
            .with_company(self.ae_company)
            .create(
                {
                    "code": "706200",
                    "name": "Services sold",
                    "account_type": "income",
                    "company_ids": [self.ae_company.id],
                }
            )
        )
        self.env["account.bank.statement.line"].create(
            {
                "journal_id": self.ae_company_data["default_journal_bank"].id,
                "date": "2025-01-21",
                "amount": 70.0,
                "payment_ref": "Received",
                "counterpart_account_id": income.id,
            }
        )
        self._order(
            [(self.service, 10.0, 1), (self.goods_product, 20.0, 1)],
            [(self.card_method, 36.0, "2025-01-22 10:00:00")],
        )
        rows = self._rows()
        self.assertEqual(sorted(rows.mapped("amount")), [10.0, 20.0, 50.0, 70.0, 100.0])
        self.assertEqual(len(set(rows.ids)), 5)
        self.assertLess(max(rows.ids), 2**53)
        self.assertCollected(self.ae_own, Q1, {self.bic: 180.0, self.goods: 70.0})

    def test_invoiced_order_counts_once(self):
        """An invoiced order is read through its invoice: its settlement by
        the payment entry the point of sale books, once."""
        order = self._order(
            [(self.service, 200.0, 1)],
            [(self.card_method, 200.0 * (1 + VAT), "2025-02-10 09:00:00")],
            partner=self.customer,
        )
        order.action_pos_order_invoice()
        self.assertTrue(order.account_move)
        self._close_session()
        self.assertCollected(self.ae_own, Q1, {self.bic: 200.0})
        rows = self._rows()
        self.assertEqual(rows.mapped("amount"), [200.0])
        self.assertEqual(rows.move_id, order.account_move)
        self.assertEqual(self._origins(rows), {ORIGIN_SETTLEMENT})

    def test_refund_reduces(self):
        """Goods sold 60.00 (72.00 with VAT) on 3 February, refunded in cash
        on 5 March: 60.00 in February, -60.00 in March."""
        order = self._order([(self.goods_product, 60.0, 1)], [(self.cash_method, 72.0, "2025-02-03 15:00:00")])
        refund = self.env["pos.order"].browse(order.refund()["res_id"])
        self._pay_order(refund, [(self.cash_method, -72.0, "2025-03-05 15:00:00")])
        self.assertCollected(self.ae_own, FEBRUARY, {self.goods: 60.0})
        self.assertCollected(self.ae_own, (date(2025, 3, 1), date(2025, 3, 31)), {self.goods: -60.0})
        self.assertCollected(self.ae_own, Q1, {})
        self.assertEqual(self._rows().mapped("amount_total"), [72.0, -72.0])

    def test_read_only_on_the_books_owners_say(self):
        self._order([(self.service, 40.0, 1)], [(self.card_method, 48.0, "2025-02-10 09:00:00")])
        self.ae_company.sudo().urssaf_books_reader_ids = [Command.clear()]
        self.assertCollected(self.ae_own, Q1, {})
        self.assertFalse(self._rows())
        self.ae_company.sudo().urssaf_books_reader_ids = [Command.link(self.company.id)]
        self.assertCollected(self.ae_own, Q1, {self.bic: 40.0})

    def test_query_names_no_pos_table_without_point_of_sale(self):
        """Without point_of_sale (its models out of the registry), the query
        names none of its tables; with it, but for auto-entrepreneurs keeping
        no books, neither."""
        self._order([(self.service, 40.0, 1)], [(self.card_method, 48.0, "2025-02-10 09:00:00")])
        Turnover = self.env["urssaf.turnover"]
        self.assertIn("pos_payment", Turnover._register_sql().code)
        self.assertIn("pos_payment", Turnover._register_sql(self.ae_own, *Q1, self.company).code)
        self.assertNotIn("pos_payment", Turnover._register_sql(self.ae_supplier, *Q1, self.company).code)
        self.patch(type(Turnover), "_reads_pos", lambda model: False)
        self.assertNotIn("pos_", Turnover._register_sql().code)
        self.assertNotIn("pos_", Turnover._register_sql(self.ae_own, *Q1, self.company).code)
        self.assertCollected(self.ae_own, Q1, {})
