# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The turnover an auto-entrepreneur collected over a period, read from the books.

Collected ("encaissé") turnover is what the payments and bank lines dated in
the period settled on the auto-entrepreneur's posted invoices, excluding VAT,
split by Urssaf activity category. Everything is computed in one SQL query
over all the auto-entrepreneurs asked for: a quarterly run over hundreds of
them must not cost a query per invoice.
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
# bills it sends the declaring company.
CUSTOMER_MOVE_TYPES = ("out_invoice", "out_refund")
VENDOR_MOVE_TYPES = ("in_invoice", "in_refund")


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
            the customer invoices and credit notes of the company whose
            partner it is, or the vendor bills and refunds it sent ``company``
        :param company: the declaring company (``res.company``), whose vendor
            bills are read
        :return: ``{partner_id: {category_code: amount}}`` in company
            currency, excluding VAT, rounded to the cent, without zero
            amounts; ``{}`` for a partner that collected nothing. Refunds paid
            back are negative. Amounts whose category is unknown are keyed
            ``UNCATEGORISED`` (``False``).
        """
        result = {partner.id: {} for partner in partners}
        if not partners:
            return result
        query = SQL(
            """
            %(collected)s
            SELECT collected.partner_id, category.code,
                   ROUND(SUM(collected.amount * split.share), %(digits)s)
              FROM collected
              %(split)s
             GROUP BY collected.partner_id, category.code
            """,
            collected=self._collected_sql(partners, date_from, date_to, company),
            split=self._split_join(),
            digits=company.currency_id.decimal_places,
        )
        self.env.cr.execute(query)
        for partner_id, code, amount in self.env.cr.fetchall():
            if amount:
                result[partner_id][code or UNCATEGORISED] = float(amount)
        return result

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
            %(collected)s
            SELECT DISTINCT collected.partial_id
              FROM collected
              %(split)s
             WHERE collected.partner_id = %(partner_id)s
               AND split.share != 0
               %(category_filter)s
            """,
            collected=self._collected_sql(partner, date_from, date_to, company),
            split=self._split_join(),
            partner_id=partner.id,
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
    def _collected_sql(self, partners, date_from, date_to, company):
        """``WITH`` clauses ending with ``collected``: one row per invoice and
        reconciliation settled in the period (``partner_id``, ``move_id``,
        ``partial_id``, ``default_category_id``, ``amount`` excluding VAT)."""
        self._flush_turnover_models()
        return SQL(
            """
            WITH %(invoice)s,
            %(settlement)s,
            %(collected)s
            """,
            invoice=self._invoice_cte(partners, company),
            settlement=self._settlement_cte(date_from),
            collected=self._collected_cte(date_from, date_to),
        )

    @api.model
    def _flush_turnover_models(self):
        # The query reads the database: pending ORM writes (a payment just
        # reconciled, an invoice just posted) must be there first.
        for model in (
            "res.partner",
            "urssaf.account",
            "res.company",
            "product.template",
            "product.product",
            "urssaf.activity.category",
            "account.move",
            "account.move.line",
            "account.partial.reconcile",
        ):
            self.env[model].flush_model()

    @api.model
    def _invoice_cte(self, partners, company):
        """``invoice_term``: the receivable or payable lines of the posted
        invoices and refunds each auto-entrepreneur collects on, with the sign
        that makes its collected amounts positive and the untaxed share of
        the invoice's total."""
        return SQL(
            """
            auto_entrepreneur AS (
                -- What the declaring company knows of each one: its own
                -- Urssaf account of the auto-entrepreneur.
                SELECT partner.id AS partner_id,
                       COALESCE(account.turnover_source, 'vendor_bills') AS source,
                       account.category_id AS default_category_id
                  FROM res_partner partner
                  LEFT JOIN urssaf_account account
                         ON account.partner_id = partner.id AND account.company_id = %(company_id)s
                 WHERE partner.id = ANY(%(partner_ids)s)
            ),
            invoice_term AS (
                -- Its own company's sales: the customer pays, crediting the
                -- receivable.
                SELECT term.id AS line_id, move.id AS move_id, ae.partner_id, ae.default_category_id,
                       -1 AS sign, %(untaxed_ratio)s AS untaxed_ratio
                  FROM auto_entrepreneur ae
                  JOIN res_company own_company ON own_company.partner_id = ae.partner_id
                  JOIN account_move move ON move.company_id = own_company.id
                  JOIN account_move_line term ON term.move_id = move.id
                 WHERE ae.source = 'customer_invoices'
                   AND move.move_type IN %(customer_types)s
                   AND move.state = 'posted'
                   AND term.display_type = 'payment_term'
                UNION ALL
                -- Its bills to the declaring company: paying it debits the
                -- payable. A term line's partner is the commercial partner,
                -- and is indexed.
                SELECT term.id, move.id, ae.partner_id, ae.default_category_id,
                       1, %(untaxed_ratio)s
                  FROM auto_entrepreneur ae
                  JOIN account_move_line term ON term.partner_id = ae.partner_id
                  JOIN account_move move ON move.id = term.move_id
                 WHERE ae.source = 'vendor_bills'
                   AND term.display_type = 'payment_term'
                   AND term.company_id = %(company_id)s
                   AND move.commercial_partner_id = ae.partner_id
                   AND move.move_type IN %(vendor_types)s
                   AND move.state = 'posted'
            )
            """,
            partner_ids=partners.ids,
            company_id=company.id,
            customer_types=CUSTOMER_MOVE_TYPES,
            vendor_types=VENDOR_MOVE_TYPES,
            # Both in the invoice's currency, the ratio holds in any currency.
            untaxed_ratio=SQL(
                "CASE WHEN move.amount_total != 0 THEN move.amount_untaxed / move.amount_total ELSE 1 END"
            ),
        )

    @api.model
    def _settlement_cte(self, date_from):
        """``settlement``: every reconciliation of an invoice's receivable or
        payable line, with the line on its other side and the amount it
        matched in that line's currency.

        A partial links a debit line to a credit line: the invoice's line is on
        either side, hence the two halves (each one using its index). A partial
        whose lines are both older than the period cannot be collected in it.
        """
        return SQL(
            """
            settlement AS (
                SELECT term.*, partial.id AS partial_id, partial.credit_move_id AS counterpart_id,
                       partial.credit_amount_currency AS counterpart_amount_currency,
                       partial.amount AS partial_amount
                  FROM invoice_term term
                  JOIN account_partial_reconcile partial ON partial.debit_move_id = term.line_id
                 WHERE partial.max_date >= %(date_from)s
                UNION ALL
                SELECT term.*, partial.id, partial.debit_move_id,
                       partial.debit_amount_currency,
                       partial.amount
                  FROM invoice_term term
                  JOIN account_partial_reconcile partial ON partial.credit_move_id = term.line_id
                 WHERE partial.max_date >= %(date_from)s
            )
            """,
            date_from=date_from,
        )

    @api.model
    def _collected_cte(self, date_from, date_to):
        """``collected``: the settlements by a payment or bank line dated in the
        period, worth that line's company-currency amount for the part the
        reconciliation matched (so a foreign currency payment counts at its
        own rate, exchange difference included), excluding VAT."""
        return SQL(
            """
            collected AS (
                SELECT settlement.partner_id, settlement.move_id, settlement.partial_id,
                       settlement.default_category_id,
                       settlement.sign * settlement.untaxed_ratio * CASE
                           WHEN counterpart.amount_currency != 0
                           THEN counterpart.balance * settlement.counterpart_amount_currency
                                / ABS(counterpart.amount_currency)
                           ELSE SIGN(counterpart.balance) * settlement.partial_amount
                       END AS amount
                  FROM settlement
                  JOIN account_move_line counterpart ON counterpart.id = settlement.counterpart_id
                  JOIN account_move counterpart_move ON counterpart_move.id = counterpart.move_id
                 WHERE counterpart.date BETWEEN %(date_from)s AND %(date_to)s
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
            date_from=date_from,
            date_to=date_to,
            invoice_types=INVOICE_MOVE_TYPES,
        )

    @api.model
    def _split_join(self):
        """Joins to each ``collected`` row its ``split``: the ``share`` of each
        ``category_id`` in the invoice, in proportion to the untaxed amounts
        of its product lines, and that ``category``.

        A line's category is its product's, else sales of goods for a goods
        product, else the auto-entrepreneur's default one. An invoice without
        product lines (or whose lines cancel out) goes whole to the default
        category. A lateral join, looking up the lines of each invoice by
        index, whatever the number of invoices."""
        return SQL(
            """
            CROSS JOIN LATERAL (
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
                       GROUP BY 1
                  ) AS by_category
            ) AS split
            LEFT JOIN urssaf_activity_category category ON category.id = split.category_id
            """,
            goods=SQL("(SELECT id FROM urssaf_activity_category WHERE is_goods ORDER BY sequence, id LIMIT 1)"),
        )
