# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The turnover an auto-entrepreneur collected over a period, read from the books.

Collected ("encaissé") turnover is what settled the auto-entrepreneur's
posted invoices and sales receipts in the period, gross: the payments and
bank lines, the fees an intermediary kept on the way, the offsets against
another debt between the same parties (not the discounts nor the bad debts);
and, for an auto-entrepreneur keeping its own books, the income booked on its
bank and cash journals without an invoice and, when point_of_sale is
installed, its point-of-sale takings not invoiced. Excluding VAT, split by Urssaf
activity category, in euros.
Everything is computed in one SQL query over all the auto-entrepreneurs asked
for: a quarterly run over hundreds of them must not cost a query per invoice.

The same query, without its filters, is the registers' view
(``urssaf.register.line``): one row per amount collected (or paid, for the
register of purchases), rounded to the cent, whose sum is the turnover
declared. There is no other computation of it.
"""

import contextlib

from odoo import api, models
from odoo.tools import SQL
from odoo.tools.misc import format_date

# The key of the amounts whose category nothing tells: a line without product
# (or a service) of an auto-entrepreneur without default category. It is kept
# apart rather than dropped, so that a declaration can refuse to under-declare.
UNCATEGORISED = False

# What each turnover source reads: the auto-entrepreneur's own sales, or the
# bills it sends the declaring company (and its own purchases). Receipts are
# sales like invoices.
CUSTOMER_MOVE_TYPES = ("out_invoice", "out_refund", "out_receipt")
VENDOR_MOVE_TYPES = ("in_invoice", "in_refund", "in_receipt")
# The documents whose settlements are read.
INVOICE_MOVE_TYPES = CUSTOMER_MOVE_TYPES + VENDOR_MOVE_TYPES

# The lines of a payment or bank entry that are money: bank and cash
# accounts (and credit cards); a payment's outstanding receipts or payments
# account is added in the query.
CASH_ACCOUNT_TYPES = ("asset_cash", "liability_credit_card")
# The lines an entry settles: what the customer or the payer owed.
SETTLED_ACCOUNT_TYPES = ("asset_receivable", "liability_payable")

# The income booked straight on a bank or cash journal, without an invoice,
# counts for an auto-entrepreneur keeping its own books.
# Sales only: the turnover is what customers paid for goods and services.
# "Other income" (interest a bank credits on a 76x account, a subsidy, a
# gain on a sale of assets) is no turnover, whatever journal books it.
INCOME_ACCOUNT_TYPES = ("income",)
MONEY_JOURNAL_TYPES = ("bank", "cash")

# Where a register row comes from: a document settled (by a payment, a bank
# line, an offset), or income booked on a bank or cash journal.
ORIGIN_SETTLEMENT = "settlement"
ORIGIN_BANK = "bank"
# Point-of-sale takings (when point_of_sale is installed): the payments of a
# paid order not invoiced (an invoiced order is read through its invoice).
ORIGIN_POS = "pos"
# The orders whose takings count: paid, in an open session or a closed one.
POS_PAID_STATES = ("paid", "done")

# The point-of-sale models the takings are read from.
POS_MODELS = ("pos.config", "pos.session", "pos.order", "pos.order.line", "pos.payment", "pos.payment.method")

RECEIPTS = "receipts"
PURCHASES = "purchases"
REGISTER_TYPES = (RECEIPTS, PURCHASES)

# A register row's id packs its reconciliation, its declaring company, its
# register and its rank among the categories of the invoice, within the
# integers a browser holds exactly (2**53). A row of income on a bank or cash
# journal has no reconciliation: its id packs its journal item instead, in
# the register of purchases' place with the last rank, which no row of that
# register takes (a purchase has one category, rank 0).
# A row of point-of-sale takings packs its payment (``pos.payment``) in the
# same place, with the ranks between: 1 + its rank among the categories of
# its order (a handful, far below the last rank).
ID_COMPANY_BITS = 2048
ID_CATEGORY_BITS = 512
ID_BANK_RANK = ID_CATEGORY_BITS - 1
ID_POS_FIRST_RANK = 1


@contextlib.contextmanager
def without_jit(cr):
    """Run the queries of the block without PostgreSQL's just-in-time
    compilation, then turn it back as it was.

    The query of the registers is costed high whatever it reads, above the
    threshold of JIT compilation (PostgreSQL's default), which then costs
    more than the query itself: 6 s of compiling for one
    auto-entrepreneur's quarter of 1.5 s, 6 s for the turnover of ten
    thousand. ``set_config(..., true)`` is local to the transaction, as
    ``SET LOCAL``: after an error the transaction's end (or its savepoint's
    rollback) turns it back."""
    cr.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
    jit = cr.fetchone()[0]
    yield
    cr.execute(SQL("SELECT set_config('jit', %s, true)", jit))


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
        for partner_id, code, currency_id, is_converted, amount, amount_currency in self._fetch_register(query):
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
    def _collected_sources(self, partner, date_from, date_to, company, category_code=None):
        """What an amount of ``_compute_collected`` was read from.

        :return: ``(partials, entries)``: the reconciliations, each one
            matching an invoice's receivable or payable line with the
            payment, bank or offset line that settled it in the period (only
            those of the invoices with turnover in ``category_code`` when
            given: ``UNCATEGORISED`` for the amounts without category), and
            the bank or cash entries whose income without invoice counts
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
            SELECT ARRAY_AGG(DISTINCT register.partial_id) FILTER (WHERE register.partial_id IS NOT NULL),
                   ARRAY_AGG(DISTINCT register.payment_move_id) FILTER (
                       WHERE register.origin IN %(entry_origins)s)
              FROM (%(register)s) AS register
              LEFT JOIN urssaf_activity_category category ON category.id = register.category_id
             WHERE TRUE %(category_filter)s
            """,
            register=self._register_sql(partners=partner, date_from=date_from, date_to=date_to, company=company),
            category_filter=category_filter,
            entry_origins=(ORIGIN_BANK, ORIGIN_POS),
        )
        partial_ids, entry_ids = self._fetch_register(query)[0]
        return (
            self.env["account.partial.reconcile"].browse(partial_ids or ()),
            self.env["account.move"].browse(entry_ids or ()),
        )

    @api.model
    def _fetch_register(self, query):
        """The rows of ``query``, a query over ``_register_sql``, run without
        JIT compilation (see ``without_jit``)."""
        with without_jit(self.env.cr):
            self.env.cr.execute(query)
            return self.env.cr.fetchall()

    @api.private
    @api.model
    def action_open_collected(self, partner, date_from, date_to, company, category_code=None):
        """Open the journal items behind an amount: the invoices' receivable or
        payable lines and the payment, bank or offset lines that settled
        them, grouped by matching number, and the income booked on a bank or
        cash journal without an invoice.

        Not callable over RPC: it reads the books as ``company``, whichever
        it is; the declarations' drill-downs are (``urssaf.declaration``'s
        ``action_open_collected``)."""
        self.env["account.move.line"].check_access("read")
        partials, entries = self._collected_sources(partner, date_from, date_to, company, category_code=category_code)
        income_lines = entries.line_ids.filtered(lambda line: line.account_id.account_type in INCOME_ACCOUNT_TYPES)
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
            domain=[("id", "in", (partials.debit_move_id | partials.credit_move_id | income_lines).ids)],
            context={"search_default_group_by_matching": 1, "create": False},
        )
        return action

    # ------------------------------------------------------------------
    # The query
    # ------------------------------------------------------------------

    @api.model
    def _register_sql(self, partners=None, date_from=None, date_to=None, company=None, register_types=(RECEIPTS,)):
        """The registers' rows: one per reconciliation of a document by a
        payment, a bank line or an offset, and per Urssaf category of the
        document; for an auto-entrepreneur keeping its own books, one per
        line of income booked on a bank or cash journal without an invoice,
        and (point_of_sale installed) one per payment of a point-of-sale
        order not invoiced and per Urssaf category of the order.

        Columns: ``id``, ``register_type``, ``partner_id`` (the
        auto-entrepreneur), ``company_id`` (the declaring company), ``date``
        (collected or paid), ``move_id`` (the document settled),
        ``partial_id``, ``payment_move_id``, ``payment_id``, ``journal_id``,
        ``payment_method_line_id``, ``counterpart_partner_id`` (customer,
        platform or supplier), ``category_id``, ``books_currency_id`` and
        ``amount_currency`` (excluding VAT, in the currency of the books),
        ``currency_id`` (the euro), ``amount`` (excluding VAT) and
        ``amount_total`` (VAT included), in euros at the rate of the day
        collected, each rounded to the cent, ``origin`` (``settlement``: a
        document settled by a payment, a bank line or an offset; ``bank``:
        income booked on a bank or cash journal without an invoice, whose
        ``move_id`` and ``payment_move_id`` are that entry and which has no
        ``partial_id``; ``pos``: a point-of-sale order's payment, see
        ``_pos_takings_sql``) and ``journal_type`` (of the payment or bank
        entry).
        Rows of zero are left out.

        :param partners: with ``company``, the auto-entrepreneurs whose
            rows are read, from their Urssaf account in ``company``; None:
            every auto-entrepreneur of every company (the registers' view)
        :param date_from: None, or the first day collected
        :param date_to: None, or the last day collected
        :param register_types: the registers read, ``RECEIPTS`` (the
            turnover declared) and ``PURCHASES``
        """
        self._flush_turnover_models()
        # Which side the settlements are read from, and the companies of
        # those keeping their own books: one query, for both sources.
        reading = self._reading_side(partners) if partners is not None else (False, None)
        rows = SQL(
            """
            SELECT ((collected.partial_id::bigint * %(company_bits)s + collected.company_id) * 2
                    + (collected.register_type = %(purchases)s)::int) * %(category_bits)s
                   + collected.rank AS id,
                   collected.register_type, collected.partner_id, collected.company_id,
                   collected.date, collected.move_id, collected.partial_id,
                   collected.payment_move_id, collected.payment_id, collected.journal_id,
                   collected.payment_method_line_id, collected.counterpart_partner_id,
                   collected.category_id, collected.books_currency_id,
                   ROUND(collected.amount * collected.untaxed_ratio * collected.share,
                         collected.books_digits) AS amount_currency,
                   euro.id AS currency_id,
                   ROUND(collected.amount * collected.untaxed_ratio * collected.share
                         * collected.euro_rate, euro.decimal_places) AS amount,
                   ROUND(collected.amount * collected.share * collected.euro_rate,
                         euro.decimal_places) AS amount_total,
                   %(settlement_origin)s AS origin, collected.journal_type
              FROM (%(split)s) AS collected
              JOIN res_currency euro ON euro.name = 'EUR'
            """,
            split=self._split_sql(),
            company_bits=ID_COMPANY_BITS,
            category_bits=ID_CATEGORY_BITS,
            purchases=PURCHASES,
            settlement_origin=ORIGIN_SETTLEMENT,
        )
        # Income on the bank is read from the books of those keeping their
        # own: none asked, no lines to look at.
        if RECEIPTS in register_types and (partners is None or reading[1]):
            rows = SQL(
                "%s UNION ALL %s",
                rows,
                self._bank_income_sql(partners, date_from, date_to, company, own_books=reading[1]),
            )
        # Point-of-sale takings, likewise, when point_of_sale is installed:
        # without it, its tables do not exist and the query names none.
        if RECEIPTS in register_types and self._reads_pos() and (partners is None or reading[1]):
            rows = SQL(
                "%s UNION ALL %s",
                rows,
                self._pos_takings_sql(partners, date_from, date_to, company, own_books=reading[1]),
            )
        return SQL(
            """
            WITH %(settlement)s,
            %(invoice)s,
            %(fee_accounts)s,
            %(collected)s
            SELECT register.*
              FROM (%(rows)s) AS register
             WHERE register.amount != 0 OR register.amount_total != 0
            """,
            invoice=self._invoice_cte(register_types, partners, company),
            settlement=self._settlement_cte(date_from, date_to, partners, reading=reading),
            fee_accounts=self._fee_accounts_cte(),
            collected=self._collected_cte(),
            rows=rows,
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
            "account.tax",
            "account.payment",
            "account.move",
            "account.move.line",
            "account.partial.reconcile",
            *(POS_MODELS if self._reads_pos() else ()),
        ):
            self.env[model].flush_model()

    @api.model
    def _readers_sql(self, partners, company):
        """The auto-entrepreneurs read, as a table: a row per declaring
        company (``company_id``) reading one (``partner_id``), with its
        ``source`` and its default category.

        :param partners: with ``company``, the auto-entrepreneurs asked for,
            read as their Urssaf account in ``company`` tells (its vendor
            bills when it has none); None: every auto-entrepreneur's account
            in every company
        """
        if partners is None:
            return SQL(
                """
                SELECT account.partner_id, account.company_id,
                       account.turnover_source AS source,
                       account.category_id AS default_category_id
                  FROM urssaf_account account
                 WHERE account.is_auto_entrepreneur
                """
            )
        return SQL(
            """
            -- What the declaring company knows of each one: its own
            -- Urssaf account of the auto-entrepreneur.
            SELECT partner.id AS partner_id, %(company_id)s AS company_id,
                   COALESCE(account.turnover_source, 'vendor_bills') AS source,
                   account.category_id AS default_category_id
              FROM UNNEST(%(partner_ids)s) AS partner (id)
              LEFT JOIN urssaf_account account
                     ON account.partner_id = partner.id AND account.company_id = %(company_id)s
            """,
            partner_ids=partners.ids,
            company_id=company.id,
        )

    @api.model
    def _settlement_cte(self, date_from, date_to, partners=None, reading=None):
        """``settlement``: the reconciliations of a posted document's
        receivable or payable line by a payment or bank line dated in the
        period: ``partial_id``, ``counterpart_*`` the line settling it and
        the amount matched in its currency, ``move_*`` the document settled,
        ``term_partner_id`` the partner of its line.

        Read from one side or the other, whichever is the smaller (the rows
        are the same): from the documents of ``partners`` when given and a
        small part of the auto-entrepreneurs (their history), else from the
        lines of the period (what the whole database collected then). A
        reconciliation matches two lines of one account, a receivable or
        payable one. A partial links a debit line to a credit line, and a
        line is on the side of its sign: only that side is looked up. An
        invoice's own term lines settle nothing in cash.

        :param reading: with ``partners``, what ``_reading_side`` returned
            for them (asked here when None)"""
        in_period = SQL("TRUE")
        if date_from:
            in_period = SQL("%s AND counterpart.date >= %s", in_period, date_from)
        if date_to:
            in_period = SQL("%s AND counterpart.date <= %s", in_period, date_to)
        reads_documents = False
        if partners is not None:
            reads_documents, own_books = reading or self._reading_side(partners)
        if reads_documents:
            driving, documents = self._documents_settled_sql(partners, own_books, date_from)
        else:
            documents = SQL("TRUE")
            driving = SQL(
                """
                FROM account_account account
                JOIN account_move_line counterpart ON counterpart.account_id = account.id
                %(partials)s
                JOIN account_move_line term ON term.id = partial.other_id
                JOIN account_move move ON move.id = term.move_id
                """,
                partials=self._partials_join(SQL("counterpart"), counterpart_side=True),
            )
        return SQL(
            """
            settlement AS (
                SELECT counterpart.id AS counterpart_id, counterpart.move_id AS counterpart_move_id,
                       counterpart.date AS counterpart_date, counterpart.company_id AS counterpart_company_id,
                       counterpart.balance AS counterpart_balance,
                       counterpart.amount_currency AS counterpart_line_amount_currency,
                       counterpart.payment_id AS counterpart_payment_id,
                       counterpart.journal_id AS counterpart_journal_id,
                       partial.partial_id, partial.counterpart_amount_currency, partial.partial_amount,
                       term.partner_id AS term_partner_id,
                       move.id AS move_id, move.move_type, move.company_id AS move_company_id,
                       move.commercial_partner_id AS move_partner_id,
                       -- Both in the invoice's currency, the ratio holds in any currency.
                       CASE WHEN move.amount_total != 0 THEN move.amount_untaxed / move.amount_total
                            ELSE 1 END AS untaxed_ratio
                  %(driving)s
                 WHERE %(documents)s
                   AND account.account_type IN %(settled_types)s
                   AND %(in_period)s
                   AND counterpart.parent_state = 'posted'
                   AND counterpart.display_type IS DISTINCT FROM 'payment_term'
                   AND term.display_type = 'payment_term'
                   AND move.state = 'posted'
                   AND move.move_type IN %(invoice_types)s
            )
            """,
            driving=driving,
            documents=documents,
            settled_types=SETTLED_ACCOUNT_TYPES,
            in_period=in_period,
            invoice_types=INVOICE_MOVE_TYPES,
        )

    @api.model
    def _reading_side(self, partners):
        """Whether the documents of ``partners`` are read rather than the
        period's lines, and the companies whose books they keep.

        The documents are read for less than half of the database's
        auto-entrepreneurs: they are then fewer than the period's lines (at
        ten thousand, all of them: 5.3 s from the period, twice as long from
        their documents; 500 of them: 0.5 s from their documents, 2.2 s from
        the period).

        :return: ``(reads_documents, own_books)``, ``own_books`` the ids of
            the companies of those keeping their own books, and of their
            branches (one query either way)
        """
        self.env.cr.execute(
            SQL(
                """
                SELECT (SELECT COUNT(*) FROM urssaf_account WHERE is_auto_entrepreneur),
                       ARRAY(
                           SELECT books.id
                             FROM res_company own_company
                             JOIN res_company books ON STARTS_WITH(books.parent_path, own_company.parent_path)
                            WHERE own_company.partner_id = ANY(%s)
                       )
                """,
                partners.ids,
            )
        )
        known, own_books = self.env.cr.fetchone()
        return len(partners) * 2 < known, own_books

    @api.model
    def _documents_settled_sql(self, partners, own_books, date_from):
        """The ``FROM`` of ``settlement`` read from the documents of
        ``partners``, and the condition choosing them: the receivable or
        payable lines of their bills (whose partner they are) and of their
        own companies' books (and branches'), then the reconciliations of
        each one."""
        # A reconciliation of lines both older than the period collects
        # nothing in it.
        recent = SQL("AND matched.max_date >= %s", date_from) if date_from else SQL()
        driving = SQL(
            """
            FROM account_move_line term
            JOIN account_move move ON move.id = term.move_id
            %(partials)s
            JOIN account_move_line counterpart ON counterpart.id = partial.other_id
            JOIN account_account account ON account.id = counterpart.account_id
            """,
            partials=self._partials_join(SQL("term"), counterpart_side=False, recent=recent),
        )
        documents = SQL(
            "(term.partner_id = ANY(%(partner_ids)s) OR term.company_id = ANY(%(own_books)s))",
            partner_ids=partners.ids,
            # Constants, which PostgreSQL weighs when choosing its indexes.
            own_books=own_books,
        )
        return driving, documents

    @api.model
    def _partials_join(self, line, counterpart_side, recent=None):
        """A lateral join of the reconciliations of ``line`` (SQL, a journal
        item's alias) as ``partial``: ``partial_id``, ``other_id`` the line on
        the other side, ``counterpart_amount_currency`` the amount matched in
        the currency of the counterpart (``line`` itself when
        ``counterpart_side``, else the other line), ``partial_amount``.

        A partial links a debit line to a credit line, and a line is matched
        on the side of its sign: only that side is looked up (by its index).

        :param recent: None, or SQL filtering the partials (``matched``)
        """
        as_credit, as_debit = SQL("matched.credit_amount_currency"), SQL("matched.debit_amount_currency")
        if not counterpart_side:
            as_credit, as_debit = as_debit, as_credit
        return SQL(
            """
            CROSS JOIN LATERAL (
                SELECT matched.id AS partial_id, matched.debit_move_id AS other_id,
                       %(as_credit)s AS counterpart_amount_currency, matched.amount AS partial_amount
                  FROM account_partial_reconcile matched
                 WHERE (%(line)s.balance < 0 OR %(line)s.amount_currency < 0)
                   AND matched.credit_move_id = %(line)s.id %(recent)s
                UNION ALL
                SELECT matched.id, matched.credit_move_id, %(as_debit)s, matched.amount
                  FROM account_partial_reconcile matched
                 WHERE (%(line)s.balance > 0 OR %(line)s.amount_currency > 0)
                   AND matched.debit_move_id = %(line)s.id %(recent)s
            ) AS partial
            """,
            line=line,
            as_credit=as_credit,
            as_debit=as_debit,
            recent=recent or SQL(),
        )

    @api.model
    def _invoice_cte(self, register_types, partners, company):
        """``invoice_term``: the settlements of the documents each
        auto-entrepreneur's registers read, with the sign that makes its
        collected (or paid) amounts positive and who the other party is.

        Three ways of reading a document (``kind``):

        - its own company's sales (the auto-entrepreneur keeping its own
          books is the partner of one of the companies whose books hold the
          document): the customer pays, crediting the receivable;
        - its bills to the declaring company, whose partner it is: paying
          it debits the payable;
        - the purchases of an auto-entrepreneur keeping its own books (the
          register of purchases): paying its suppliers debits the payable.

        The readers are plain joins: PostgreSQL reads the accounts once and
        matches the settlements to them by hash. A lateral lookup for each
        settlement (an index lookup and a union each time) cost about 0.5 s
        of the turnover of ten thousand auto-entrepreneurs.

        A company's branches (Odoo's child companies) are the same legal
        person: their books count with the company's. An auto-entrepreneur's
        own books are read only by its own company, a branch or parent of
        it, or a company it authorised (``res.company``'s
        ``_urssaf_books_readable_sql``); its bills to a declaring company are
        that company's books."""
        # Each kind: its register, the sign of its amounts, whether the
        # auto-entrepreneur is read from its own books (else from its bills
        # to the declaring company), whether it reads sales (else
        # purchases), and the turnover source of the accounts it reads.
        kinds = []
        if RECEIPTS in register_types:
            kinds += [
                (RECEIPTS, -1, True, True, "customer_invoices"),
                (RECEIPTS, 1, False, False, "vendor_bills"),
            ]
        if PURCHASES in register_types:
            kinds.append((PURCHASES, 1, True, False, "customer_invoices"))
        return SQL(
            """
            invoice_term AS (
                SELECT settlement.*, reader.partner_id, reader.company_id,
                       -- a purchase has no category
                       CASE WHEN kind.register_type = %(receipts)s THEN reader.default_category_id
                       END AS default_category_id,
                       kind.register_type, kind.sign,
                       CASE WHEN kind.own_books THEN settlement.move_partner_id
                            ELSE declaring.partner_id END AS counterpart_partner_id
                  FROM settlement
                  JOIN res_company books ON books.id = settlement.move_company_id
                  JOIN (VALUES %(kinds)s) AS kind (register_type, sign, own_books, sales, source)
                    ON kind.sales = (settlement.move_type IN %(customer_types)s)
                  LEFT JOIN res_company own_company
                         ON kind.own_books AND STARTS_WITH(books.parent_path, own_company.parent_path)
                  JOIN (%(readers)s) AS reader
                    ON reader.partner_id = CASE WHEN kind.own_books THEN own_company.partner_id
                                                ELSE settlement.move_partner_id END
                   AND reader.source = kind.source
                  JOIN res_company declaring ON declaring.id = reader.company_id
                 WHERE CASE WHEN kind.own_books
                            -- the books' owner lets the declaring company read them
                            THEN %(readable)s
                            -- a bill to the declaring company (or a branch) from
                            -- the auto-entrepreneur itself
                            ELSE settlement.term_partner_id = settlement.move_partner_id
                                 AND STARTS_WITH(books.parent_path, declaring.parent_path)
                       END
            )
            """,
            readable=self.env["res.company"]._urssaf_books_readable_sql(SQL("own_company"), SQL("declaring")),
            kinds=SQL(", ").join(SQL("(%s, %s, %s, %s, %s)", *kind) for kind in kinds),
            customer_types=CUSTOMER_MOVE_TYPES,
            receipts=RECEIPTS,
            readers=self._readers_sql(partners, company),
        )

    @api.model
    def _fee_accounts_cte(self):
        """``fee_accounts``: for each company, the accounts of the fees an
        intermediary kept (``urssaf_fee_account_ids``) of the company and of
        its parents (a branch keeps its parent's chart)."""
        return SQL(
            """
            fee_accounts AS (
                SELECT books.id AS company_id, ARRAY_AGG(DISTINCT fee.account_id) AS account_ids
                  FROM res_company books
                 CROSS JOIN LATERAL UNNEST(STRING_TO_ARRAY(RTRIM(books.parent_path, '/'), '/')::int[]) AS owner (id)
                  JOIN urssaf_fee_account_rel fee ON fee.company_id = owner.id
                 GROUP BY books.id
            )
            """
        )

    @api.model
    def _collected_cte(self):
        """``collected``: the settlements of the documents read, for what
        settled the debt: the company-currency amount of the payment, bank
        or offset line for the part the reconciliation matched (so a foreign
        currency payment counts at its own rate, exchange difference
        included), times the share received of what settled it.

        What settled a line is what its entry booked on the other side (the
        lines of the opposite sign), the unmatched rest of a bank line (its
        suspense account) included: a bank line short of the invoice it is
        written to settle brings only its cash. Of those, received (the
        turnover is gross) are:

        - the money: bank and cash lines, a payment's outstanding account;
        - a fee or commission an intermediary kept on the way (a payment
          processor, a bank, a platform), written off to one of the books'
          fee accounts (``res.company.urssaf_fee_account_ids``);
        - an offset (compensation): a receivable or payable line settling
          another debt between the same parties (an auto-entrepreneur's
          invoice netted with what it owes its customer, a platform's
          commission netted from the auto-entrepreneur's bill), for the part
          of it that settled that other debt, on the offset's date.

        Not received: the unmatched rest of a bank line, what else was
        written off, an early-payment discount, a rebate, a bad debt, an
        exchange difference entry (it only restates the invoice's value,
        which the payment's own amount already holds).
        A credit note or another invoice settles with its own term line,
        left out of ``settlement``: it counts zero on both.

        ``euro_rate`` converts the books' currency into euros at the rate of
        the day collected, as ``res.currency._convert`` does (the company's
        own rates first, else the shared ones; the first rate known before
        any)."""
        return SQL(
            """
            collected AS (
                SELECT settlement.register_type, settlement.partner_id, settlement.company_id,
                       settlement.move_id, settlement.partial_id, settlement.default_category_id,
                       settlement.counterpart_partner_id, settlement.untaxed_ratio,
                       settlement.counterpart_date AS date, settlement.counterpart_move_id AS payment_move_id,
                       settlement.counterpart_payment_id AS payment_id,
                       settlement.counterpart_journal_id AS journal_id, payment.payment_method_line_id,
                       journal.type AS journal_type,
                       books.currency_id AS books_currency_id,
                       books_currency.decimal_places AS books_digits,
                       settlement.sign * CASE
                           WHEN settlement.counterpart_line_amount_currency != 0
                           THEN settlement.counterpart_balance * settlement.counterpart_amount_currency
                                / ABS(settlement.counterpart_line_amount_currency)
                           ELSE SIGN(settlement.counterpart_balance) * settlement.partial_amount
                       END * CASE
                           WHEN means.settling != 0 THEN means.received / means.settling
                           ELSE 0
                       END AS amount,
                       CASE
                           WHEN books_currency.name = 'EUR' THEN 1
                           ELSE %(euro_rate)s / %(books_rate)s
                       END AS euro_rate
                  FROM invoice_term settlement
                  JOIN res_company books ON books.id = settlement.counterpart_company_id
                  JOIN res_currency books_currency ON books_currency.id = books.currency_id
                  LEFT JOIN account_payment payment ON payment.id = settlement.counterpart_payment_id
                  LEFT JOIN account_journal journal ON journal.id = settlement.counterpart_journal_id
                  LEFT JOIN fee_accounts fee ON fee.company_id = books.id
                 CROSS JOIN LATERAL (
                     -- What the entry booked on the other side, and the
                     -- part of it received.
                     SELECT COALESCE(SUM(line.balance) FILTER (WHERE %(settling)s), 0) AS settling,
                            COALESCE(SUM(CASE
                                WHEN %(is_cash)s OR line.account_id = ANY(fee.account_ids) THEN line.balance
                                WHEN account.account_type IN %(settled_types)s
                                THEN line.balance - line.amount_residual
                                ELSE 0
                            END) FILTER (WHERE %(settling)s), 0) AS received
                       FROM account_move_line line
                       JOIN account_account account ON account.id = line.account_id
                      -- The conditions as filters, not in the WHERE: PostgreSQL
                      -- then expects the entry's few lines, and hashes the
                      -- accounts once for all the entries (as a WHERE, it
                      -- expected one line and read the accounts again for
                      -- each entry: three times as long).
                      WHERE line.move_id = settlement.counterpart_move_id
                 ) AS means
            )
            """,
            settled_types=SETTLED_ACCOUNT_TYPES,
            settling=SQL("SIGN(line.balance) = -SIGN(settlement.counterpart_balance)"),
            is_cash=SQL(
                "(account.account_type IN %s OR line.account_id = COALESCE(payment.outstanding_account_id, 0))",
                CASH_ACCOUNT_TYPES,
            ),
            euro_rate=self._rate_sql(SQL("(SELECT id FROM res_currency WHERE name = 'EUR')")),
            books_rate=self._rate_sql(SQL("books.currency_id")),
        )

    @api.model
    def _rate_sql(self, currency, day=None):
        """The rate of ``currency`` (SQL) on the day collected (``day``, SQL:
        the settlement's date by default), as ``res.currency._get_rates``
        reads it for the books' root company."""
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
            before=SQL("AND rate.name <= %s", day or SQL("settlement.counterpart_date")),
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
    def _split_sql(self):
        """Each ``collected`` row split by Urssaf category: one row per
        ``category_id`` of the document settled, with its ``share`` in
        proportion to the untaxed amounts of the document's product lines
        and its ``rank`` among them.

        A line's category is its product's, else sales of goods for a goods
        product, else the auto-entrepreneur's default one. A document without
        product lines (or whose lines cancel out) goes whole to the default
        category. A purchase has no category.

        The product lines are joined to the rows and summed by window
        functions over the whole set. A subquery by row, grouping a few lines
        each time, took about 2 s of the query at ten thousand
        auto-entrepreneurs."""

        # A row is one reconciliation read by one declaring company in one
        # register. Its partner and date, which follow from it, are in each
        # partition too: PostgreSQL then applies a filter of the registers'
        # view on them before the windows, down to the period's lines.
        def row_key(alias):
            return SQL(", ").join(
                SQL("%s.%s", SQL(alias), SQL(column))
                for column in ("partial_id", "company_id", "register_type", "partner_id", "date")
            )

        category = SQL("CASE WHEN by_line.total = 0 THEN by_line.default_category_id ELSE by_line.line_category_id END")
        return SQL(
            """
            SELECT categories.*,
                   ROW_NUMBER() OVER (
                       PARTITION BY %(categories_key)s
                       ORDER BY categories.category_id NULLS FIRST
                   ) - 1 AS rank
              FROM (
                  SELECT DISTINCT ON (%(by_line_key)s, %(category)s)
                         by_line.*, %(category)s AS category_id,
                         CASE WHEN by_line.total = 0 THEN 1
                              ELSE by_line.category_untaxed / by_line.total END AS share
                    FROM (
                        SELECT line.*,
                               SUM(line.untaxed) OVER (
                                   PARTITION BY %(line_key)s, line.line_category_id
                               ) AS category_untaxed,
                               SUM(line.untaxed) OVER (
                                   PARTITION BY %(line_key)s
                               ) AS total
                          FROM (
                              SELECT collected.*,
                                     COALESCE(
                                         template.urssaf_category_id,
                                         CASE WHEN template.type = 'consu' THEN %(goods)s END,
                                         collected.default_category_id
                                     ) AS line_category_id,
                                     COALESCE(line.balance, 0) AS untaxed
                                FROM collected
                                -- one row at least, for a document without product
                                -- lines. Its amount first: a row receiving nothing
                                -- has no lines to split over, and asking for it
                                -- keeps PostgreSQL from reading what settled it
                                -- once per product line (two lines: 6 s instead
                                -- of 1 at ten thousand auto-entrepreneurs).
                                LEFT JOIN account_move_line line
                                       ON collected.register_type = %(receipts)s
                                      AND collected.amount != 0
                                      AND line.move_id = collected.move_id
                                      AND line.display_type = 'product'
                                LEFT JOIN product_product product ON product.id = line.product_id
                                LEFT JOIN product_template template ON template.id = product.product_tmpl_id
                          ) AS line
                    ) AS by_line
                   ORDER BY %(by_line_key)s, %(category)s
              ) AS categories
            """,
            categories_key=row_key("categories"),
            by_line_key=row_key("by_line"),
            line_key=row_key("line"),
            category=category,
            goods=SQL("(SELECT id FROM urssaf_activity_category WHERE is_goods ORDER BY sequence, id LIMIT 1)"),
            receipts=RECEIPTS,
        )
