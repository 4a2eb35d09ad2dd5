# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The registers a micro-entrepreneur must keep, read from the books.

The livre des recettes (register of receipts) lists every amount collected:
its rows are those of the collected-turnover query itself
(``urssaf.turnover._register_sql``), so that their total over a period is the
turnover declared for it, to the cent. The registre des achats (register of
purchases) lists, in the same form, what an auto-entrepreneur keeping its
own books paid its suppliers.
"""

from odoo import api, fields, models, tools
from odoo.tools import SQL

from .urssaf_declaration_register_row import CASH_JOURNAL_TYPE
from .urssaf_turnover import PURCHASES, RECEIPTS, REGISTER_TYPES, without_jit

# What the view reads of point_of_sale's models, when it is installed.
POS_DEPENDS = {
    "pos.config": ["company_id"],
    "pos.session": ["config_id", "user_id", "move_id"],
    "pos.order": ["session_id", "state", "account_move", "partner_id", "currency_rate"],
    "pos.order.line": ["order_id", "product_id", "price_subtotal", "price_subtotal_incl"],
    "pos.payment": ["pos_order_id", "payment_method_id", "amount", "payment_date"],
    "pos.payment.method": ["journal_id"],
    "res.users": ["partner_id"],
    "res.partner": ["tz"],
}


class UrssafRegisterLine(models.Model):
    _name = "urssaf.register.line"
    _description = "Urssaf register line (receipts and purchases)"
    _auto = False
    _order = "date, move_id, id"
    _rec_name = "move_id"

    register_type = fields.Selection(
        [(RECEIPTS, "Receipts"), (PURCHASES, "Purchases")], string="Register", readonly=True
    )
    date = fields.Date(readonly=True, help="The day the payment or bank line collected (or paid) the amount.")
    partner_id = fields.Many2one("res.partner", string="Auto-entrepreneur", readonly=True)
    company_id = fields.Many2one("res.company", string="Declaring company", readonly=True)
    counterpart_partner_id = fields.Many2one(
        "res.partner",
        string="Customer or supplier",
        readonly=True,
        help="Who paid: the customer, or the platform paying the auto-entrepreneur's bills; "
        "the supplier paid, in the register of purchases.",
    )
    move_id = fields.Many2one("account.move", string="Document settled", readonly=True)
    payment_move_id = fields.Many2one("account.move", string="Payment entry", readonly=True)
    payment_id = fields.Many2one("account.payment", readonly=True)
    journal_id = fields.Many2one("account.journal", readonly=True)
    payment_method_line_id = fields.Many2one("account.payment.method.line", string="Payment method", readonly=True)
    payment_means = fields.Char(
        string="Paid by",
        compute="_compute_payment_means",
        help="The payment method, else the journal of the bank line.",
    )
    is_cash = fields.Boolean(
        string="Cash", compute="_compute_payment_means", help="Received (or paid) in cash: a cash journal."
    )
    partial_id = fields.Many2one("account.partial.reconcile", string="Reconciliation", readonly=True)
    category_id = fields.Many2one("urssaf.activity.category", readonly=True)
    books_currency_id = fields.Many2one("res.currency", string="Currency of the books", readonly=True)
    amount_currency = fields.Monetary(
        string="Amount in the currency of the books",
        currency_field="books_currency_id",
        readonly=True,
        help="Excluding VAT, before its conversion into euros.",
    )
    currency_id = fields.Many2one("res.currency", readonly=True)
    amount = fields.Monetary(
        string="Amount excluding VAT",
        readonly=True,
        help="In euros, at the rate of the day collected when the books are in another currency.",
    )
    amount_total = fields.Monetary(string="Amount including VAT", readonly=True)

    # What the view reads: pending writes of these fields are flushed before
    # it is searched.
    _depends = {
        "account.move": [
            "state",
            "move_type",
            "company_id",
            "commercial_partner_id",
            "amount_total",
            "amount_untaxed",
        ],
        "account.move.line": [
            "move_id",
            "partner_id",
            "company_id",
            "display_type",
            "parent_state",
            "account_id",
            "balance",
            "amount_currency",
            "date",
            "product_id",
            "payment_id",
            "journal_id",
            "amount_residual",
            "tax_line_id",
        ],
        "account.partial.reconcile": [
            "debit_move_id",
            "credit_move_id",
            "amount",
            "debit_amount_currency",
            "credit_amount_currency",
            "max_date",
        ],
        "account.payment": ["outstanding_account_id", "payment_method_line_id"],
        "account.account": ["account_type", "urssaf_category_id"],
        "account.journal": ["suspense_account_id", "type"],
        "account.tax": ["type_tax_use"],
        "res.company": [
            "partner_id",
            "parent_path",
            "currency_id",
            "urssaf_fee_account_ids",
            "urssaf_books_reader_ids",
        ],
        "res.currency.rate": ["rate", "name", "currency_id", "company_id"],
        "product.template": ["urssaf_category_id", "type"],
        "urssaf.account": ["partner_id", "company_id", "is_auto_entrepreneur", "turnover_source", "category_id"],
    }

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                "CREATE VIEW %s AS (%s)",
                SQL.identifier(self._table),
                self.env["urssaf.turnover"]._register_sql(register_types=REGISTER_TYPES),
            )
        )

    @property
    def _table_sql(self):
        # The point-of-sale fields the view reads when point_of_sale is
        # installed: ``_depends`` names models that must exist.
        table_sql = super()._table_sql
        if not self.env["urssaf.turnover"]._reads_pos():
            return table_sql
        return SQL().join(
            [
                table_sql,
                *(
                    SQL(to_flush=self.env[model]._fields[name])
                    for model, names in POS_DEPENDS.items()
                    for name in names
                ),
            ]
        )

    def _register_hook(self):
        """Rebuild the view when it does not read what the registry holds:
        the addon does not depend on point_of_sale, and its view is built
        when the addon is loaded, before point_of_sale may be (or after it
        was installed, or uninstalled, whose tables' drop takes the view
        with it). A query at each registry load; the view is rebuilt only
        when point_of_sale came or went."""
        super()._register_hook()
        self.env.cr.execute(
            SQL("SELECT definition FROM pg_views WHERE viewname = %s AND schemaname = current_schema()", self._table)
        )
        row = self.env.cr.fetchone()
        if row is None or ("pos_payment" in row[0]) != self.env["urssaf.turnover"]._reads_pos():
            self.init()

    # The view's reads (lists, counts, pivots and graphs, forms, exports) run
    # without JIT compilation: with it, one auto-entrepreneur's quarter took
    # 6 to 7 s a query instead of 1 to 2 s (see ``without_jit``).

    @api.model
    def search_count(self, domain, limit=None):
        with without_jit(self.env.cr):
            return super().search_count(domain, limit=limit)

    def _fetch_query(self, query, fields):
        with without_jit(self.env.cr):
            return super()._fetch_query(query, fields)

    @api.model
    def _read_group(self, domain, groupby=(), aggregates=(), having=(), offset=0, limit=None, order=None):
        with without_jit(self.env.cr):
            return super()._read_group(
                domain, groupby, aggregates, having=having, offset=offset, limit=limit, order=order
            )

    @api.depends("payment_method_line_id", "journal_id")
    def _compute_payment_means(self):
        for line in self:
            line.payment_means = (line.payment_method_line_id or line.journal_id).sudo().display_name or False
            line.is_cash = line.journal_id.sudo().type == CASH_JOURNAL_TYPE
