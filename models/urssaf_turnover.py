# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The turnover an auto-entrepreneur collected over a period, read from the books.

Collected ("encaissé") turnover is what the payments and bank lines dated in
the period brought in cash on the auto-entrepreneur's posted invoices and
sales receipts, excluding VAT, split by Urssaf activity category, in euros.
Everything is computed in one SQL query over all the auto-entrepreneurs asked
for: a quarterly run over hundreds of them must not cost a query per invoice.

The same query, without its filters, is the registers' view
(``urssaf.register.line``): one row per amount collected (or paid, for the
register of purchases), rounded to the cent, whose sum is the turnover
declared. There is no other computation of it.
"""

from odoo import api, models
from odoo.tools import SQL
from odoo.tools.misc import format_date

# The key of the amounts whose category nothing tells: a line without product
# (or a service) of an auto-entrepreneur without default category. It is kept
# apart rather than dropped, so that a declaration can refuse to under-declare.
UNCATEGORISED = False

# Settling an invoice with another invoice or credit note moves no cash.
INVOICE_MOVE_TYPES = ("out_invoice", "out_refund", "out_receipt", "in_invoice", "in_refund", "in_receipt")

# What each turnover source reads: the auto-entrepreneur's own sales, or the
# bills it sends the declaring company. Receipts are sales like invoices.
CUSTOMER_MOVE_TYPES = ("out_invoice", "out_refund", "out_receipt")
VENDOR_MOVE_TYPES = ("in_invoice", "in_refund", "in_receipt")

# The lines of a payment or bank entry that are money: bank and cash
# accounts (and credit cards); a payment's outstanding receipts or payments
# account is added in the query.
CASH_ACCOUNT_TYPES = ("asset_cash", "liability_credit_card")
# The lines an entry settles: what the customer or the payer owed.
SETTLED_ACCOUNT_TYPES = ("asset_receivable", "liability_payable")

RECEIPTS = "receipts"
PURCHASES = "purchases"
REGISTER_TYPES = (RECEIPTS, PURCHASES)

# A register row's id packs its reconciliation, its declaring company, its
# register and its rank among the categories of the invoice, within the
# integers a browser holds exactly (2**53).
ID_COMPANY_BITS = 2048
ID_CATEGORY_BITS = 512


class UrssafTurnover(models.AbstractModel):
    _name = "urssaf.turnover"
    _description = "Urssaf collected turnover"

    # ------------------------------------------------------------------
    # Public API
    # ------------------------------------------------------------------

    @api.model
    def _compute_collected(self, partners, date_from, date_to, company):
        """The turnover each auto-entrepreneur collected from ``date_from`` to
        ``date_to`` (both included).

        :param partners: the auto-entrepreneurs (``res.partner``); the
            ``turnover_source`` of each one's Urssaf account in ``company``
            tells where its turnover is read:
            the customer invoices, receipts and credit notes of the company
            whose partner it is (and of its branches), or the vendor bills,
            receipts and refunds it sent ``company`` or one of its branches
        :param company: the declaring company (``res.company``), whose vendor
            bills are read
        :return: ``{partner_id: {category_code: amount}}`` in euros,
            excluding VAT, the sum of the register rows (each rounded to the
            cent), without zero amounts; ``{}`` for a partner that collected
            nothing. Refunds paid back are negative. Amounts whose category
            is unknown are keyed ``UNCATEGORISED`` (``False``).
        """
        return self._collected_totals(partners, date_from, date_to, company)[0]

    @api.model
    def _collected_totals(self, partners, date_from, date_to, company):
        """``_compute_collected``'s amounts, and what they were in the
        currency of the books they were read from when it is not the euro.

        :return: ``(collected, converted)``: ``collected`` as
            ``_compute_collected`` returns it; ``converted``:
            ``{partner_id: {currency_id: amount}}`` of the amounts collected
            in a currency other than the euro, excluding VAT, before their
            conversion into euros.
        """
        collected = {partner.id: {} for partner in partners}
        converted = {partner.id: {} for partner in partners}
        if not partners:
            return collected, converted
        query = SQL(
            """
            SELECT register.partner_id, category.code, register.books_currency_id,
                   register.books_currency_id != register.currency_id,
                   SUM(register.amount), SUM(register.amount_currency)
              FROM (%(register)s) AS register
              LEFT JOIN urssaf_activity_category category ON category.id = register.category_id
             GROUP BY register.partner_id, category.code, register.books_currency_id, register.currency_id
            """,
            register=self._register_sql(partners=partners, date_from=date_from, date_to=date_to, company=company),
        )
        self.env.cr.execute(query)
        for partner_id, code, currency_id, is_converted, amount, amount_currency in self.env.cr.fetchall():
            key = code or UNCATEGORISED
            collected[partner_id][key] = collected[partner_id].get(key, 0.0) + float(amount)
            if is_converted:
                converted[partner_id][currency_id] = converted[partner_id].get(currency_id, 0.0) + float(
                    amount_currency
                )
        for amounts in collected.values():
            for key in [key for key, amount in amounts.items() if not round(amount, 2)]:
                del amounts[key]
            for key in amounts:
                amounts[key] = round(amounts[key], 2)
        return collected, converted

    @api.model
    def _collected_partials(self, partner, date_from, date_to, company, category_code=None):
        """The reconciliations behind an amount of ``_compute_collected``.

        :return: the ``account.partial.reconcile`` records, each one matching
            an invoice's receivable or payable line with the payment or bank
            line that settled it in the period; only those of the invoices
            with turnover in ``category_code`` when given (``UNCATEGORISED``
            for the amounts without category).
        """
        partner.ensure_one()
        category_filter = SQL()
        if category_code is not None:
            category_filter = SQL(
                "AND category.code IS NOT DISTINCT FROM %s",
                category_code or None,
            )
        query = SQL(
            """
            SELECT DISTINCT register.partial_id
              FROM (%(register)s) AS register
              LEFT JOIN urssaf_activity_category category ON category.id = register.category_id
             WHERE TRUE %(category_filter)s
            """,
            register=self._register_sql(partners=partner, date_from=date_from, date_to=date_to, company=company),
            category_filter=category_filter,
        )
        self.env.cr.execute(query)
        return self.env["account.partial.reconcile"].browse(row[0] for row in self.env.cr.fetchall())

    @api.model
    def action_open_collected(self, partner, date_from, date_to, company, category_code=None):
        """Open the journal items behind an amount: the invoices' receivable or
        payable lines and the payment or bank lines that settled them,
        grouped by matching number."""
        self.env["account.move.line"].check_access("read")
        partials = self._collected_partials(partner, date_from, date_to, company, category_code=category_code)
        action = self.env["ir.actions.act_window"]._for_xml_id("account.action_account_moves_all")
        name = self.env._(
            "Collected by %(partner)s from %(start)s to %(end)s",
            partner=partner.display_name,
            start=format_date(self.env, date_from),
            end=format_date(self.env, date_to),
        )
        if category_code is not None:
            category = self.env["urssaf.activity.category"].search([("code", "=", category_code)], limit=1)
            name = self.env._(
                "%(collected)s, %(category)s",
                collected=name,
                category=category.name or self.env._("without category"),
            )
        action.update(
            name=name,
            domain=[("id", "in", (partials.debit_move_id | partials.credit_move_id).ids)],
            context={"search_default_group_by_matching": 1, "create": False},
        )
        return action

    # ------------------------------------------------------------------
    # The query
    # ------------------------------------------------------------------

    @api.model
    def _register_sql(self, partners=None, date_from=None, date_to=None, company=None, register_types=(RECEIPTS,)):
        """The registers' rows: one per reconciliation of a document by a
        payment or bank line, and per Urssaf category of the document.

        Columns: ``id``, ``register_type``, ``partner_id`` (the
        auto-entrepreneur), ``company_id`` (the declaring company), ``date``
        (collected or paid), ``move_id`` (the document settled),
        ``partial_id``, ``payment_move_id``, ``payment_id``, ``journal_id``,
        ``payment_method_line_id``, ``counterpart_partner_id`` (customer,
        platform or supplier), ``category_id``, ``books_currency_id`` and
        ``amount_currency`` (excluding VAT, in the currency of the books),
        ``currency_id`` (the euro), ``amount`` (excluding VAT) and
        ``amount_total`` (VAT included), in euros at the rate of the day
        collected, each rounded to the cent. Rows of zero are left out.

        :param partners: with ``company``, the auto-entrepreneurs whose
            rows are read, from their Urssaf account in ``company``; None:
            every auto-entrepreneur of every company (the registers' view)
        :param date_from: None, or the first day collected
        :param date_to: None, or the last day collected
        :param register_types: the registers read, ``RECEIPTS`` (the
            turnover declared) and ``PURCHASES``
        """
        self._flush_turnover_models()
        return SQL(
            """
            WITH %(auto_entrepreneur)s,
            %(invoice)s,
            %(settlement)s,
            %(collected)s
            SELECT register.*
              FROM (
                  SELECT ((collected.partial_id::bigint * %(company_bits)s + collected.company_id) * 2
                          + (collected.register_type = %(purchases)s)::int) * %(category_bits)s
                         + COALESCE(split.rank, 0) AS id,
                         collected.register_type, collected.partner_id, collected.company_id,
                         collected.date, collected.move_id, collected.partial_id,
                         collected.payment_move_id, collected.payment_id, collected.journal_id,
                         collected.payment_method_line_id, collected.counterpart_partner_id,
                         split.category_id, collected.books_currency_id,
                         ROUND(collected.amount * collected.untaxed_ratio * COALESCE(split.share, 1),
                               collected.books_digits) AS amount_currency,
                         euro.id AS currency_id,
                         ROUND(collected.amount * collected.untaxed_ratio * COALESCE(split.share, 1)
                               * collected.euro_rate, euro.decimal_places) AS amount,
                         ROUND(collected.amount * COALESCE(split.share, 1) * collected.euro_rate,
                               euro.decimal_places) AS amount_total
                    FROM collected
                    JOIN res_currency euro ON euro.name = 'EUR'
                    %(split)s
              ) AS register
             WHERE register.amount != 0 OR register.amount_total != 0
            """,
            auto_entrepreneur=self._auto_entrepreneur_cte(partners, company),
            invoice=self._invoice_cte(register_types),
            settlement=self._settlement_cte(date_from),
            collected=self._collected_cte(date_from, date_to),
            split=self._split_join(),
            company_bits=ID_COMPANY_BITS,
            category_bits=ID_CATEGORY_BITS,
            purchases=PURCHASES,
        )

    @api.model
    def _flush_turnover_models(self):
        # The query reads the database: pending ORM writes (a payment just
        # reconciled, an invoice just posted) must be there first.
        for model in (
            "res.partner",
            "urssaf.account",
            "res.company",
            "res.currency",
            "res.currency.rate",
            "product.template",
            "product.product",
            "urssaf.activity.category",
            "account.account",
            "account.journal",
            "account.payment",
            "account.move",
            "account.move.line",
            "account.partial.reconcile",
        ):
            self.env[model].flush_model()

    @api.model
    def _auto_entrepreneur_cte(self, partners, company):
        """``auto_entrepreneur``: who is read, for which declaring company
        (``company_id``), from which ``source``, with which default
        category."""
        if partners is None:
            return SQL(
                """
                auto_entrepreneur AS (
                    SELECT account.partner_id, account.company_id,
                           account.turnover_source AS source,
                           account.category_id AS default_category_id
                      FROM urssaf_account account
                     WHERE account.is_auto_entrepreneur
                )
                """
            )
        return SQL(
            """
            auto_entrepreneur AS (
                -- What the declaring company knows of each one: its own
                -- Urssaf account of the auto-entrepreneur.
                SELECT partner.id AS partner_id, %(company_id)s AS company_id,
                       COALESCE(account.turnover_source, 'vendor_bills') AS source,
                       account.category_id AS default_category_id
                  FROM res_partner partner
                  LEFT JOIN urssaf_account account
                         ON account.partner_id = partner.id AND account.company_id = %(company_id)s
                 WHERE partner.id = ANY(%(partner_ids)s)
            )
            """,
            partner_ids=partners.ids,
            company_id=company.id,
        )

    @api.model
    def _invoice_cte(self, register_types):
        """``invoice_term``: the receivable or payable lines of the posted
        documents each auto-entrepreneur's registers read, with the sign that
        makes its collected (or paid) amounts positive, the untaxed share of
        the document's total and who the other party is.

        A company's branches (Odoo's child companies) are the same legal
        person: their books count with the company's."""
        untaxed_ratio = SQL(
            # Both in the invoice's currency, the ratio holds in any currency.
            "CASE WHEN move.amount_total != 0 THEN move.amount_untaxed / move.amount_total ELSE 1 END"
        )
        parts = []
        if RECEIPTS in register_types:
            parts += [
                SQL(
                    """
                    -- Its own company's sales: the customer pays, crediting
                    -- the receivable.
                    SELECT term.id AS line_id, move.id AS move_id, ae.partner_id, ae.company_id,
                           ae.default_category_id, %(receipts)s AS register_type, -1 AS sign,
                           %(untaxed_ratio)s AS untaxed_ratio,
                           move.commercial_partner_id AS counterpart_partner_id
                      FROM auto_entrepreneur ae
                      JOIN res_company own_company ON own_company.partner_id = ae.partner_id
                      JOIN res_company books ON STARTS_WITH(books.parent_path, own_company.parent_path)
                      JOIN account_move move ON move.company_id = books.id
                      JOIN account_move_line term ON term.move_id = move.id
                     WHERE ae.source = 'customer_invoices'
                       AND move.move_type IN %(customer_types)s
                       AND move.state = 'posted'
                       AND term.display_type = 'payment_term'
                    """,
                    receipts=RECEIPTS,
                    untaxed_ratio=untaxed_ratio,
                    customer_types=CUSTOMER_MOVE_TYPES,
                ),
                SQL(
                    """
                    -- Its bills to the declaring company: paying it debits
                    -- the payable. A term line's partner is the commercial
                    -- partner, and is indexed.
                    SELECT term.id, move.id, ae.partner_id, ae.company_id,
                           ae.default_category_id, %(receipts)s, 1,
                           %(untaxed_ratio)s,
                           declaring.partner_id
                      FROM auto_entrepreneur ae
                      JOIN res_company declaring ON declaring.id = ae.company_id
                      JOIN res_company books ON STARTS_WITH(books.parent_path, declaring.parent_path)
                      JOIN account_move_line term
                           ON term.partner_id = ae.partner_id AND term.company_id = books.id
                      JOIN account_move move ON move.id = term.move_id
                     WHERE ae.source = 'vendor_bills'
                       AND term.display_type = 'payment_term'
                       AND move.commercial_partner_id = ae.partner_id
                       AND move.move_type IN %(vendor_types)s
                       AND move.state = 'posted'
                    """,
                    receipts=RECEIPTS,
                    untaxed_ratio=untaxed_ratio,
                    vendor_types=VENDOR_MOVE_TYPES,
                ),
            ]
        if PURCHASES in register_types:
            parts.append(
                SQL(
                    """
                    -- The purchases of an auto-entrepreneur keeping its own
                    -- books: paying its suppliers debits the payable.
                    SELECT term.id, move.id, ae.partner_id, ae.company_id,
                           NULL, %(purchases)s, 1,
                           %(untaxed_ratio)s,
                           move.commercial_partner_id
                      FROM auto_entrepreneur ae
                      JOIN res_company own_company ON own_company.partner_id = ae.partner_id
                      JOIN res_company books ON STARTS_WITH(books.parent_path, own_company.parent_path)
                      JOIN account_move move ON move.company_id = books.id
                      JOIN account_move_line term ON term.move_id = move.id
                     WHERE ae.source = 'customer_invoices'
                       AND move.move_type IN %(vendor_types)s
                       AND move.state = 'posted'
                       AND term.display_type = 'payment_term'
                    """,
                    purchases=PURCHASES,
                    untaxed_ratio=untaxed_ratio,
                    vendor_types=VENDOR_MOVE_TYPES,
                )
            )
        return SQL("invoice_term AS (%s)", SQL(" UNION ALL ").join(parts))

    @api.model
    def _settlement_cte(self, date_from):
        """``settlement``: every reconciliation of an invoice's receivable or
        payable line, with the line on its other side and the amount it
        matched in that line's currency.

        A partial links a debit line to a credit line: the invoice's line is on
        either side, hence the two halves (each one using its index). A partial
        whose lines are both older than the period cannot be collected in it.
        """
        recent = SQL("partial.max_date >= %s", date_from) if date_from else SQL("TRUE")
        return SQL(
            """
            settlement AS (
                SELECT term.*, partial.id AS partial_id, partial.credit_move_id AS counterpart_id,
                       partial.credit_amount_currency AS counterpart_amount_currency,
                       partial.amount AS partial_amount
                  FROM invoice_term term
                  JOIN account_partial_reconcile partial ON partial.debit_move_id = term.line_id
                 WHERE %(recent)s
                UNION ALL
                SELECT term.*, partial.id, partial.debit_move_id,
                       partial.debit_amount_currency,
                       partial.amount
                  FROM invoice_term term
                  JOIN account_partial_reconcile partial ON partial.credit_move_id = term.line_id
                 WHERE %(recent)s
            )
            """,
            recent=recent,
        )

    @api.model
    def _collected_cte(self, date_from, date_to):
        """``collected``: the settlements by a payment or bank line dated in the
        period, for what that entry brought in cash: the company-currency
        amount of the line for the part the reconciliation matched (so a
        foreign currency payment counts at its own rate, exchange difference
        included), times the share of the entry's cash in what it settled.

        An early-payment discount or a write-off is booked in the payment's
        entry beside its cash: what the customer did not pay is not
        collected. An entry settling an invoice without any cash (a write-off
        entry, a compensation) collects nothing. The unmatched rest of a bank
        line (its suspense account) is neither.

        ``euro_rate`` converts the books' currency into euros at the rate of
        the day collected, as ``res.currency._convert`` does (the company's
        own rates first, else the shared ones; the first rate known before
        any)."""
        in_period = SQL("TRUE")
        if date_from:
            in_period = SQL("%s AND counterpart.date >= %s", in_period, date_from)
        if date_to:
            in_period = SQL("%s AND counterpart.date <= %s", in_period, date_to)
        return SQL(
            """
            collected AS (
                SELECT settlement.register_type, settlement.partner_id, settlement.company_id,
                       settlement.move_id, settlement.partial_id, settlement.default_category_id,
                       settlement.counterpart_partner_id, settlement.untaxed_ratio,
                       counterpart.date, counterpart.move_id AS payment_move_id,
                       counterpart_move.origin_payment_id AS payment_id,
                       counterpart_move.journal_id, payment.payment_method_line_id,
                       books.currency_id AS books_currency_id,
                       books_currency.decimal_places AS books_digits,
                       settlement.sign * CASE
                           WHEN counterpart.amount_currency != 0
                           THEN counterpart.balance * settlement.counterpart_amount_currency
                                / ABS(counterpart.amount_currency)
                           ELSE SIGN(counterpart.balance) * settlement.partial_amount
                       END * CASE
                           WHEN means.cash + means.other != 0 THEN means.cash / (means.cash + means.other)
                           ELSE 0
                       END AS amount,
                       CASE
                           WHEN books_currency.name = 'EUR' THEN 1
                           ELSE %(euro_rate)s / %(books_rate)s
                       END AS euro_rate
                  FROM settlement
                  JOIN account_move_line counterpart ON counterpart.id = settlement.counterpart_id
                  JOIN account_move counterpart_move ON counterpart_move.id = counterpart.move_id
                  JOIN res_company books ON books.id = counterpart.company_id
                  JOIN res_currency books_currency ON books_currency.id = books.currency_id
                  LEFT JOIN account_payment payment ON payment.id = counterpart_move.origin_payment_id
                  LEFT JOIN account_journal journal ON journal.id = counterpart_move.journal_id
                 CROSS JOIN LATERAL (
                     -- The entry's money, and what it booked besides the
                     -- debts it settled and its unmatched rest.
                     SELECT COALESCE(SUM(line.balance) FILTER (WHERE %(is_cash)s), 0) AS cash,
                            COALESCE(SUM(line.balance) FILTER (
                                WHERE NOT %(is_cash)s
                                  AND account.account_type NOT IN %(settled_types)s
                                  AND line.account_id != COALESCE(journal.suspense_account_id, 0)
                            ), 0) AS other
                       FROM account_move_line line
                       JOIN account_account account ON account.id = line.account_id
                      WHERE line.move_id = counterpart.move_id
                 ) AS means
                 WHERE %(in_period)s
                   AND counterpart_move.state = 'posted'
                   -- a credit note (or invoice) settling an invoice moves no cash
                   AND counterpart_move.move_type NOT IN %(invoice_types)s
                   -- an exchange difference entry only restates the invoice's
                   -- value: the payment's own amount already holds it
                   AND NOT EXISTS (
                       SELECT 1
                         FROM account_partial_reconcile exchange
                        WHERE exchange.exchange_move_id = counterpart.move_id
                   )
            )
            """,
            in_period=in_period,
            invoice_types=INVOICE_MOVE_TYPES,
            settled_types=SETTLED_ACCOUNT_TYPES,
            is_cash=SQL(
                "(account.account_type IN %s OR line.account_id = COALESCE(payment.outstanding_account_id, 0))",
                CASH_ACCOUNT_TYPES,
            ),
            euro_rate=self._rate_sql(SQL("(SELECT id FROM res_currency WHERE name = 'EUR')")),
            books_rate=self._rate_sql(SQL("books.currency_id")),
        )

    @api.model
    def _rate_sql(self, currency):
        """The rate of ``currency`` (SQL) on the day collected, as
        ``res.currency._get_rates`` reads it for the books' root company."""
        rate = SQL(
            """
            SELECT rate.rate::numeric
              FROM res_currency_rate rate
             WHERE rate.currency_id = %(currency)s
               AND (rate.company_id IS NULL
                    OR rate.company_id = SPLIT_PART(books.parent_path, '/', 1)::int)
               %(before)s
             ORDER BY rate.company_id, rate.name %(direction)s
             LIMIT 1
            """,
            currency=currency,
            before=SQL("AND rate.name <= counterpart.date"),
            direction=SQL("DESC"),
        )
        first = SQL(
            """
            SELECT rate.rate::numeric
              FROM res_currency_rate rate
             WHERE rate.currency_id = %(currency)s
               AND (rate.company_id IS NULL
                    OR rate.company_id = SPLIT_PART(books.parent_path, '/', 1)::int)
             ORDER BY rate.company_id, rate.name
             LIMIT 1
            """,
            currency=currency,
        )
        return SQL("COALESCE((%s), (%s), 1.0)", rate, first)

    @api.model
    def _split_join(self):
        """Joins to each ``collected`` row its ``split``: the ``share`` of each
        ``category_id`` in the invoice, in proportion to the untaxed amounts
        of its product lines, and its ``rank`` among them.

        A line's category is its product's, else sales of goods for a goods
        product, else the auto-entrepreneur's default one. An invoice without
        product lines (or whose lines cancel out) goes whole to the default
        category. A purchase has no category. A lateral join, looking up the
        lines of each invoice by index, whatever the number of invoices."""
        return SQL(
            """
            LEFT JOIN LATERAL (
                SELECT categories.category_id, categories.share,
                       ROW_NUMBER() OVER (ORDER BY categories.category_id NULLS FIRST) - 1 AS rank
                  FROM (
                      SELECT DISTINCT
                             CASE WHEN by_category.total = 0 THEN collected.default_category_id
                                  ELSE by_category.category_id END AS category_id,
                             CASE WHEN by_category.total = 0 THEN 1
                                  ELSE by_category.untaxed / by_category.total END AS share
                        FROM (
                            SELECT COALESCE(
                                       template.urssaf_category_id,
                                       CASE WHEN template.type = 'consu' THEN %(goods)s END,
                                       collected.default_category_id
                                   ) AS category_id,
                                   SUM(COALESCE(line.balance, 0)) AS untaxed,
                                   SUM(SUM(COALESCE(line.balance, 0))) OVER () AS total
                              -- one row at least, for an invoice without product lines
                              FROM (VALUES (1)) AS at_least_one (one)
                              LEFT JOIN account_move_line line
                                     ON line.move_id = collected.move_id AND line.display_type = 'product'
                              LEFT JOIN product_product product ON product.id = line.product_id
                              LEFT JOIN product_template template ON template.id = product.product_tmpl_id
                             WHERE collected.register_type = %(receipts)s
                             GROUP BY 1
                        ) AS by_category
                  ) AS categories
            ) AS split ON TRUE
            """,
            goods=SQL("(SELECT id FROM urssaf_activity_category WHERE is_goods ORDER BY sequence, id LIMIT 1)"),
            receipts=RECEIPTS,
        )
