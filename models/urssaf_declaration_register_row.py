# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The register of receipts kept with each declaration.

When Urssaf records a declaration, the rows of the register of receipts
behind its turnover (those of ``urssaf.turnover._register_sql`` for its
auto-entrepreneur, company and period, the rows ``_compute_collected``
sums) are copied here, dated: the register a micro-entrepreneur must be
able to produce ("identified and dated as soon as drawn up", Code de
commerce D123-205-1), which later changes of the books cannot rewrite.
The names of the documents, parties and means of payment are copied too,
so that the register still reads as declared when a document is renamed
or deleted.
"""

from contextlib import contextmanager

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL

from .urssaf_turnover import RECEIPTS

# The journal type of the money received in cash: shown apart in the
# register (Code de commerce D123-205-1).
CASH_JOURNAL_TYPE = "cash"
# The declarations whose register is kept: those Urssaf holds.
REGISTER_KEPT_STATES = ("declared", "ordered", "paid")

JOURNAL_TYPES = [
    ("sale", "Sales"),
    ("purchase", "Purchase"),
    ("cash", "Cash"),
    ("bank", "Bank"),
    ("credit", "Credit card"),
    ("general", "Miscellaneous"),
]


# What the pivot's sums need of PostgreSQL for a million rows: hash tables
# of the groups (10,000 auto-entrepreneurs by year, and their totals) in
# memory rather than spilled to disk with the default 4 MB (0.69 s against
# 1.02 s of the query's 1.09 s); no JIT compilation, which would cost more
# (0.17 s) than it saves.
GROUP_QUERY_SETTINGS = {"work_mem": "32MB", "jit": "off"}


@contextmanager
def group_query_settings(cr):
    """Run the block's queries with ``GROUP_QUERY_SETTINGS``, then turn them
    back as they were (``set_config(..., true)`` is local to the
    transaction, as ``SET LOCAL``: an error's rollback turns them back too)."""
    before = {}
    for name, value in GROUP_QUERY_SETTINGS.items():
        cr.execute(SQL("SELECT current_setting(%s), set_config(%s, %s, true)", name, name, value))
        before[name] = cr.fetchone()[0]
    try:
        yield
    finally:
        for name, value in before.items():
            cr.execute(SQL("SELECT set_config(%s, %s, true)", name, value))


class UrssafDeclarationRegisterRow(models.Model):
    _name = "urssaf.declaration.register.row"
    _description = "Urssaf register row kept with a declaration"
    _inherit = ["urssaf.protected.mixin"]
    _order = "declaration_id, date, move_id, id"
    _rec_name = "document"

    declaration_id = fields.Many2one(
        "urssaf.declaration", required=True, readonly=True, index=True, ondelete="restrict"
    )
    company_id = fields.Many2one("res.company", string="Declaring company", required=True, readonly=True, index=True)
    partner_id = fields.Many2one("res.partner", string="Auto-entrepreneur", required=True, readonly=True, index=True)
    register_type = fields.Selection(
        [(RECEIPTS, "Receipts")], string="Register", default=RECEIPTS, required=True, readonly=True
    )
    declared_at = fields.Datetime(
        string="Declared on", readonly=True, help="When Urssaf recorded the declaration these rows were kept with."
    )
    rebuilt = fields.Boolean(
        readonly=True,
        help="Kept from the books as they were when the addon was updated, after the declaration: "
        "not necessarily the rows it was made of.",
    )
    date = fields.Date(readonly=True, index=True, help="The day the payment or bank line collected the amount.")
    move_id = fields.Many2one("account.move", string="Document settled", readonly=True, ondelete="set null")
    document = fields.Char(readonly=True, help="The document settled, as it was named when declared.")
    document_ref = fields.Char(
        string="Document reference", readonly=True, help="The reference written on the document settled."
    )
    counterpart_partner_id = fields.Many2one(
        "res.partner", string="Customer", readonly=True, ondelete="set null", help="Who paid."
    )
    counterpart_name = fields.Char(string="Customer name", readonly=True)
    partial_id = fields.Many2one(
        "account.partial.reconcile", string="Reconciliation", readonly=True, ondelete="set null"
    )
    payment_move_id = fields.Many2one("account.move", string="Payment entry", readonly=True, ondelete="set null")
    payment_entry = fields.Char(string="Payment entry name", readonly=True)
    payment_id = fields.Many2one("account.payment", readonly=True, ondelete="set null")
    journal_id = fields.Many2one("account.journal", readonly=True, ondelete="set null")
    journal_type = fields.Selection(JOURNAL_TYPES, readonly=True)
    payment_method_line_id = fields.Many2one(
        "account.payment.method.line", string="Payment method", readonly=True, ondelete="set null"
    )
    payment_means = fields.Char(
        string="Paid by", readonly=True, help="The payment method, else the journal of the bank line."
    )
    is_cash = fields.Boolean(string="Cash", readonly=True, help="Received in cash (a cash journal).")
    category_id = fields.Many2one("urssaf.activity.category", readonly=True, ondelete="restrict")
    books_currency_id = fields.Many2one("res.currency", string="Currency of the books", readonly=True)
    amount_currency = fields.Monetary(
        string="Amount in the currency of the books",
        currency_field="books_currency_id",
        readonly=True,
        help="Excluding VAT, before its conversion into euros.",
    )
    currency_id = fields.Many2one("res.currency", readonly=True)
    amount = fields.Monetary(string="Amount excluding VAT", readonly=True)
    amount_total = fields.Monetary(string="Amount including VAT", readonly=True)
    cash_amount = fields.Monetary(
        string="Received in cash",
        compute="_compute_cash_amount",
        store=True,
        help="The amount excluding VAT, when received in cash.",
    )

    # Every field of a row is the addon's: rows are written once, when the
    # declaration is recorded, and never changed nor removed.
    _urssaf_protected_fields = frozenset(
        {
            "declaration_id",
            "company_id",
            "partner_id",
            "register_type",
            "declared_at",
            "rebuilt",
            "date",
            "move_id",
            "document",
            "document_ref",
            "counterpart_partner_id",
            "counterpart_name",
            "partial_id",
            "payment_move_id",
            "payment_entry",
            "payment_id",
            "journal_id",
            "journal_type",
            "payment_method_line_id",
            "payment_means",
            "is_cash",
            "category_id",
            "books_currency_id",
            "amount_currency",
            "currency_id",
            "amount",
            "amount_total",
            "cash_amount",
        }
    )
    _urssaf_protected_defaults = {"register_type": RECEIPTS}
    _urssaf_protected_unlink = True

    # The registers' pivot (a year by auto-entrepreneur, 10,000 of them
    # and a million rows) reads the rows of a company over a period: an
    # index-only scan of this index, once vacuumed, without the table.
    _company_date_idx = models.Index("(company_id, date) INCLUDE (partner_id, amount)")

    def init(self):
        # The number of groups by auto-entrepreneur and year, which
        # PostgreSQL otherwise guesses ten times too many: with it, the
        # pivot hashes its groups instead of sorting a million rows.
        self.env.cr.execute(
            """
            CREATE STATISTICS IF NOT EXISTS urssaf_declaration_register_row_partner_year (ndistinct)
                ON partner_id, (date_trunc('year', date::timestamp)::date)
              FROM urssaf_declaration_register_row
            """
        )

    @api.model
    def _read_group(self, *args, **kwargs):
        with group_query_settings(self.env.cr):
            return super()._read_group(*args, **kwargs)

    @api.model
    def _read_grouping_sets(self, *args, **kwargs):
        with group_query_settings(self.env.cr):
            return super()._read_grouping_sets(*args, **kwargs)

    def _read_group_orderby(self, order, groupby_terms, query):
        # Tell _order_field_to_sql that the order is that of groups.
        return super(UrssafDeclarationRegisterRow, self.with_context(urssaf_group_order=True))._read_group_orderby(
            order, groupby_terms, query
        )

    def _order_field_to_sql(self, alias, field_name, direction, nulls, query):
        """Groups by auto-entrepreneur come in the order of res.partner
        (``complete_name``, then ``id`` descending), as Odoo's own join on
        res_partner gives it, but looked up once per group after the rows
        are summed, not joined to every row and grouped by: on a million
        rows that join made PostgreSQL guess two million groups (it cannot
        tell that the partner's name adds none) and sort every row on disk,
        1.7 s of query against 0.7 s without it."""
        if field_name == "partner_id" and self.env.context.get("urssaf_group_order"):
            partner = SQL.identifier(alias, "partner_id")
            reverse = SQL("ASC") if direction.code == "DESC" else SQL("DESC")
            return SQL(
                "(SELECT res_partner.complete_name FROM res_partner WHERE res_partner.id = %s) %s %s, %s %s %s",
                partner,
                direction,
                nulls,
                partner,
                reverse,
                nulls,
            )
        return super()._order_field_to_sql(alias, field_name, direction, nulls, query)

    def _web_read_group_groupby_formatter(self, groupby_spec, values):
        """The groups' labels and domains, each value's made once.

        The year pivot of 10,000 auto-entrepreneurs formats 20,000 groups
        holding two years and each auto-entrepreneur twice (its row and its
        cells): Babel formatted the same year 10,000 times, and the web
        client parsed the same two-leaf domains again for each group
        (together 0.4 s). A group's domain is an immutable ``Domain``,
        shared by the groups of the same value, taken as it is when the web
        client joins the groups' domains.

        Auto-entrepreneurs are labelled by their complete name, the name
        their rows are sorted by (``_order_field_to_sql``), read once for
        all of them: the contact's display name computed one contact at a
        time took 0.3 s. It is the display name but when the context asks
        the contact's name otherwise (address, e-mail, ...) or the contact
        has no name of its own: those keep the display name."""
        formatter = super()._web_read_group_groupby_formatter(groupby_spec, values)
        if groupby_spec == "partner_id":
            formatter = self._urssaf_partner_formatter(values, formatter)
        formatted = {}

        def format_once(value):
            if value not in formatted:
                label, domain = formatter(value)
                formatted[value] = label, Domain(domain)
            return formatted[value]

        return format_once

    def _urssaf_partner_formatter(self, values, formatter):
        Partner = self.env["res.partner"]
        naming_keys = set(self.pool.field_depends_context[Partner._fields["display_name"]]) - {"lang"}
        if any(self.env.context.get(key) for key in naming_keys):
            return formatter
        # Labels as the web client's are read: whatever the user's rights on
        # the contacts (core formats with sudo()).
        Partner.flush_model(["name", "complete_name"])
        self.env.cr.execute(
            SQL(
                "SELECT id, complete_name FROM res_partner WHERE id = ANY(%s) AND COALESCE(name, '') != ''",
                [value.id for value in values if value],
            )
        )
        labels = dict(self.env.cr.fetchall())

        def format_partner(value):
            if value.id not in labels:
                return formatter(value)
            return (value.id, labels[value.id]), Domain("partner_id", "=", value.id)

        return format_partner

    @api.depends("is_cash", "amount")
    def _compute_cash_amount(self):
        for row in self:
            row.cash_amount = row.amount if row.is_cash else 0.0
