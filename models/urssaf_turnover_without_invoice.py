# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Receipts without an invoice, for an auto-entrepreneur keeping its own
books: income booked straight on a bank or cash journal, and point-of-sale
takings when point_of_sale is installed. Register rows of the same columns
as the settlements' (``urssaf.turnover._register_sql`` joins them)."""

from odoo import api, models
from odoo.tools import SQL

from .urssaf_turnover import (
    ID_BANK_RANK,
    ID_CATEGORY_BITS,
    ID_COMPANY_BITS,
    ID_POS_FIRST_RANK,
    INCOME_ACCOUNT_TYPES,
    MONEY_JOURNAL_TYPES,
    ORIGIN_BANK,
    ORIGIN_POS,
    POS_PAID_STATES,
    RECEIPTS,
    SETTLED_ACCOUNT_TYPES,
)


class UrssafTurnover(models.AbstractModel):
    _inherit = "urssaf.turnover"

    @api.model
    def _reads_pos(self):
        """Whether point-of-sale takings are read: point_of_sale is installed
        (its models are in the registry, its tables in the database)."""
        return "pos.order" in self.env

    @api.model
    def _bank_income_sql(self, partners, date_from, date_to, company, own_books=None):
        """The register rows of income booked on a bank or cash journal
        without an invoice, for the auto-entrepreneurs keeping their own
        books: a row per income line of a posted entry of a bank or cash
        journal of their company (or a branch), dated by it; in an entry that
        also settles a receivable or payable (read as that settlement), only
        the income it credits beside it. ``amount``: the income (a debit reduces it);
        ``amount_total``: with its share of the entry's sales taxes. Its
        category is its account's (``account.account.urssaf_category_id`` in
        the books' company, else their root company's), else the
        auto-entrepreneur's default one. The same columns as the rows of
        settlements; the books' owner must let the declaring company read
        them.

        :param own_books: with ``partners``, the ids of the companies of
            those keeping their own books and of their branches (see
            ``_reading_side``)"""
        conditions = [SQL("line.parent_state = 'posted'")]
        if date_from:
            conditions.append(SQL("line.date >= %s", date_from))
        if date_to:
            conditions.append(SQL("line.date <= %s", date_to))
        own_books_filter = SQL()
        if partners is not None:
            if own_books is None:
                own_books = self._reading_side(partners)[1]
            own_books_filter = SQL("AND books.id = ANY(%s)", own_books)
        root = SQL("SPLIT_PART(books.parent_path, '/', 1)")
        return SQL(
            """
            SELECT ((income.line_id::bigint * %(company_bits)s + income.company_id) * 2 + 1) * %(category_bits)s
                   + %(bank_rank)s AS id,
                   %(receipts)s AS register_type, income.partner_id, income.company_id,
                   income.date, income.move_id, NULL::int AS partial_id,
                   income.move_id AS payment_move_id, income.payment_id, income.journal_id,
                   NULL::int AS payment_method_line_id, income.counterpart_partner_id,
                   income.category_id, income.books_currency_id,
                   ROUND(income.amount, income.books_digits) AS amount_currency,
                   euro.id AS currency_id,
                   ROUND(income.amount * income.euro_rate, euro.decimal_places) AS amount,
                   ROUND(income.amount * income.gross_ratio * income.euro_rate, euro.decimal_places) AS amount_total,
                   %(bank_origin)s AS origin, income.journal_type
              FROM (
                  SELECT line.id AS line_id, reader.partner_id, reader.company_id, line.date,
                         line.move_id, line.payment_id, line.journal_id, journal.type AS journal_type,
                         line.partner_id AS counterpart_partner_id,
                         COALESCE(
                             (account.urssaf_category_id ->> books.id::text)::int,
                             (account.urssaf_category_id ->> %(root)s)::int,
                             reader.default_category_id
                         ) AS category_id,
                         books.currency_id AS books_currency_id,
                         books_currency.decimal_places AS books_digits,
                         -line.balance AS amount,
                         CASE WHEN entry.income != 0 THEN (entry.income + entry.tax) / entry.income
                              ELSE 1 END AS gross_ratio,
                         CASE
                             WHEN books_currency.name = 'EUR' THEN 1
                             ELSE %(euro_rate)s / %(books_rate)s
                         END AS euro_rate
                    -- From the auto-entrepreneurs keeping their own books to
                    -- their bank and cash journals, then to those journals'
                    -- lines: a database whose auto-entrepreneurs keep none
                    -- reads no line.
                    FROM (%(readers)s) AS reader
                    JOIN res_company own_company ON own_company.partner_id = reader.partner_id
                    JOIN res_company declaring ON declaring.id = reader.company_id
                    JOIN res_company books ON STARTS_WITH(books.parent_path, own_company.parent_path)
                    JOIN res_currency books_currency ON books_currency.id = books.currency_id
                    JOIN account_journal journal
                      ON journal.company_id = books.id AND journal.type IN %(journal_types)s
                   CROSS JOIN LATERAL (
                       -- OFFSET 0 keeps the subquery apart: looked up by
                       -- journal (its index), not a scan of every line of
                       -- the period hashed against the journals.
                       SELECT line.*
                         FROM account_move_line line
                        WHERE line.journal_id = journal.id AND %(conditions)s
                       OFFSET 0
                   ) AS line
                    JOIN account_account account ON account.id = line.account_id
                   CROSS JOIN LATERAL (
                       -- The entry's income and its sales taxes.
                       SELECT COALESCE(SUM(other.balance) FILTER (
                                  WHERE other_account.account_type IN %(income_types)s), 0) AS income,
                              COALESCE(SUM(other.balance) FILTER (WHERE tax.type_tax_use = 'sale'), 0) AS tax,
                              BOOL_OR(other_account.account_type IN %(settled_types)s) AS settles
                         FROM account_move_line other
                         JOIN account_account other_account ON other_account.id = other.account_id
                         LEFT JOIN account_tax tax ON tax.id = other.tax_line_id
                        WHERE other.move_id = line.move_id
                   ) AS entry
                   WHERE reader.source = 'customer_invoices'
                     AND account.account_type IN %(income_types)s
                     -- An entry settling an invoice is read as its settlement;
                     -- income it books beside it was received too (a customer
                     -- paying more than the invoice, an extra sale on the same
                     -- bank line), but a debit there is a price reduction (an
                     -- early-payment discount on 709) the settlement's share
                     -- already leaves out.
                     AND (NOT entry.settles OR line.balance < 0)
                     AND %(readable)s %(own_books)s
              ) AS income
              JOIN res_currency euro ON euro.name = 'EUR'
            """,
            company_bits=ID_COMPANY_BITS,
            category_bits=ID_CATEGORY_BITS,
            bank_rank=ID_BANK_RANK,
            receipts=RECEIPTS,
            bank_origin=ORIGIN_BANK,
            root=root,
            euro_rate=self._rate_sql(SQL("(SELECT id FROM res_currency WHERE name = 'EUR')"), SQL("line.date")),
            books_rate=self._rate_sql(SQL("books.currency_id"), SQL("line.date")),
            readers=self._readers_sql(partners, company),
            income_types=INCOME_ACCOUNT_TYPES,
            settled_types=SETTLED_ACCOUNT_TYPES,
            journal_types=MONEY_JOURNAL_TYPES,
            conditions=SQL(" AND ").join(conditions),
            readable=self.env["res.company"]._urssaf_books_readable_sql(SQL("own_company"), SQL("declaring")),
            own_books=own_books_filter,
        )

    @api.model
    def _pos_takings_sql(self, partners, date_from, date_to, company, own_books=None):
        """The register rows of point-of-sale takings, for the
        auto-entrepreneurs keeping their own books (point_of_sale installed):
        a row per payment (``pos.payment``) of a paid order not invoiced of a
        point of sale of their company (or a branch), and per Urssaf category
        of the order's lines; a refund's negative payments reduce.

        Read from the orders, not from what the session books at its
        closing: the session's entry sums the sales per account and tax
        (the product, hence the category, is lost) and is dated by the
        closing, and its cash statement lines and bank payments by method,
        all on the closing day, which may be days after the sale. The
        customer paid on the payment's day: ``date`` is that day in the time
        zone of the session's user (Odoo books a split payment's statement
        line on it, and an invoiced order's payment entry on its order's
        day, the same way). An invoiced order is read through its invoice's
        settlement (those payment entries): it is left out here. A payment
        "pay later" (customer account) collects nothing: the customer
        settles it later.

        Split by category as ``_split_sql`` splits a document: a line's
        category is its product's, else sales of goods for a goods product,
        else the auto-entrepreneur's default one; each category's share of
        the payment is its lines' untaxed amount (``amount``) and amount
        with taxes (``amount_total``) over the order's total with taxes, in
        the company's currency at the order's rate, then in euros at the
        rate of the day collected. ``move_id``: none, no invoice is settled
        (and the row reads the same before and after the session's closing,
        which a kept register compares by ``move_id``); ``payment_move_id``:
        the session's entry, once closed; ``journal_id``: the payment
        method's (cash or bank). The books' owner must let the declaring
        company read them.

        :param own_books: with ``partners``, the ids of the companies of
            those keeping their own books and of their branches (see
            ``_reading_side``)"""
        conditions = [SQL("pos_order.state IN %s AND pos_order.account_move IS NULL", POS_PAID_STATES)]
        own_books_filter = SQL()
        if partners is not None:
            if own_books is None:
                own_books = self._reading_side(partners)[1]
            own_books_filter = SQL("AND books.id = ANY(%s)", own_books)
        day = SQL(
            "(payment.payment_date AT TIME ZONE 'UTC' AT TIME ZONE COALESCE(NULLIF(cashier.tz, ''), 'UTC'))::date"
        )
        in_period = []
        # The day in any time zone is within a day of the day in UTC: the
        # payments of the days around the period first, then their day.
        if date_from:
            in_period.append(SQL("AND taking.date >= %s", date_from))
            conditions.append(SQL("payment.payment_date >= %s::date - 1", date_from))
        if date_to:
            in_period.append(SQL("AND taking.date <= %s", date_to))
            conditions.append(SQL("payment.payment_date < %s::date + 2", date_to))
        return SQL(
            """
            SELECT ((taking.payment_id::bigint * %(company_bits)s + taking.company_id) * 2 + 1) * %(category_bits)s
                   + %(first_rank)s + taking.rank AS id,
                   %(receipts)s AS register_type, taking.partner_id, taking.company_id,
                   taking.date, NULL::int AS move_id, NULL::int AS partial_id,
                   taking.move_id AS payment_move_id, NULL::int AS payment_id, taking.journal_id,
                   NULL::int AS payment_method_line_id, taking.counterpart_partner_id,
                   taking.category_id, taking.books_currency_id,
                   ROUND(taking.amount, taking.books_digits) AS amount_currency,
                   euro.id AS currency_id,
                   ROUND(taking.amount * taking.euro_rate, euro.decimal_places) AS amount,
                   ROUND(taking.amount_total * taking.euro_rate, euro.decimal_places) AS amount_total,
                   %(pos_origin)s AS origin, taking.journal_type
              FROM (
                  SELECT payment.id AS payment_id, reader.partner_id, reader.company_id, %(day)s AS date,
                         pos_session.move_id, method.journal_id, journal.type AS journal_type,
                         pos_order.partner_id AS counterpart_partner_id,
                         split.category_id, split.rank,
                         books.currency_id AS books_currency_id,
                         books_currency.decimal_places AS books_digits,
                         -- The payment, in the order's currency, into the
                         -- company's at the order's rate, by share.
                         CASE WHEN split.order_total != 0
                              THEN payment.amount::numeric / COALESCE(NULLIF(pos_order.currency_rate, 0), 1)::numeric
                                   / split.order_total
                              ELSE 0 END AS to_books,
                         split.untaxed, split.total,
                         CASE
                             WHEN books_currency.name = 'EUR' THEN 1
                             ELSE %(euro_rate)s / %(books_rate)s
                         END AS euro_rate
                    -- From the auto-entrepreneurs keeping their own books to
                    -- their points of sale, then to those points' sessions
                    -- and orders: a database whose auto-entrepreneurs keep
                    -- none reads no order.
                    FROM (%(readers)s) AS reader
                    JOIN res_company own_company ON own_company.partner_id = reader.partner_id
                    JOIN res_company declaring ON declaring.id = reader.company_id
                    JOIN res_company books ON STARTS_WITH(books.parent_path, own_company.parent_path)
                    JOIN res_currency books_currency ON books_currency.id = books.currency_id
                    JOIN pos_config config ON config.company_id = books.id
                    JOIN pos_session ON pos_session.config_id = config.id
                    LEFT JOIN res_users cashier_user ON cashier_user.id = pos_session.user_id
                    LEFT JOIN res_partner cashier ON cashier.id = cashier_user.partner_id
                    JOIN pos_order ON pos_order.session_id = pos_session.id
                    JOIN pos_payment payment ON payment.pos_order_id = pos_order.id
                    JOIN pos_payment_method method ON method.id = payment.payment_method_id
                    JOIN account_journal journal ON journal.id = method.journal_id
                   CROSS JOIN LATERAL (
                       -- The order's lines by category, with their rank and
                       -- the order's total with taxes.
                       SELECT by_category.*,
                              ROW_NUMBER() OVER (ORDER BY by_category.category_id NULLS FIRST) - 1 AS rank,
                              SUM(by_category.total) OVER () AS order_total
                         FROM (
                             SELECT COALESCE(
                                        template.urssaf_category_id,
                                        CASE WHEN template.type = 'consu' THEN %(goods)s END,
                                        reader.default_category_id
                                    ) AS category_id,
                                    SUM(line.price_subtotal)::numeric AS untaxed,
                                    SUM(line.price_subtotal_incl)::numeric AS total
                               FROM pos_order_line line
                               JOIN product_product product ON product.id = line.product_id
                               JOIN product_template template ON template.id = product.product_tmpl_id
                              WHERE line.order_id = pos_order.id
                              GROUP BY 1
                         ) AS by_category
                   ) AS split
                   WHERE reader.source = 'customer_invoices'
                     AND %(conditions)s
                     AND %(readable)s %(own_books)s
              ) AS taking_split
             CROSS JOIN LATERAL (
                 SELECT taking_split.*, taking_split.to_books * taking_split.untaxed AS amount,
                        taking_split.to_books * taking_split.total AS amount_total
             ) AS taking
              JOIN res_currency euro ON euro.name = 'EUR'
             WHERE TRUE %(in_period)s
            """,
            company_bits=ID_COMPANY_BITS,
            category_bits=ID_CATEGORY_BITS,
            first_rank=ID_POS_FIRST_RANK,
            receipts=RECEIPTS,
            pos_origin=ORIGIN_POS,
            day=day,
            euro_rate=self._rate_sql(SQL("(SELECT id FROM res_currency WHERE name = 'EUR')"), day),
            books_rate=self._rate_sql(SQL("books.currency_id"), day),
            goods=SQL("(SELECT id FROM urssaf_activity_category WHERE is_goods ORDER BY sequence, id LIMIT 1)"),
            readers=self._readers_sql(partners, company),
            conditions=SQL(" AND ").join(conditions),
            readable=self.env["res.company"]._urssaf_books_readable_sql(SQL("own_company"), SQL("declaring")),
            own_books=own_books_filter,
            in_period=SQL(" ").join(in_period),
        )
