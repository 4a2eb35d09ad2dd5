# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What a declaration keeps of the register of receipts behind it, and how
the books compare with it later.

The rows are stored when Urssaf records the declaration
(``_urssaf_store_register_rows``, called from ``_record_declaration``).
Afterwards the books may still change (a payment unreconciled or re-dated,
an invoice cancelled): nothing declared changes with them, the difference
shows instead, on the declaration, in the lists and when the next period is
prepared (``_urssaf_check_register_books``, run daily and by the Prepare
wizard).
"""

from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import SQL
from odoo.tools.misc import format_date

from .urssaf_declaration import UrssafDeclaration as UrssafDeclarationRecord
from .urssaf_declaration_register_row import CASH_JOURNAL_TYPE, REGISTER_KEPT_STATES
from .urssaf_turnover import RECEIPTS, without_jit

# Filled only by the addon's comparison of the kept rows with the books.
REGISTER_CHECK_FIELDS = frozenset({"register_books_total", "register_books_changed", "register_checked_at"})
REGISTER_MODEL = "urssaf.declaration.register.row"
REGISTER_REPORT = "l10n_fr_urssaf_tierce_declaration.action_report_urssaf_register"

# What identifies the rows of a register, compared between the rows kept
# and the books: the same rows, on the same days, for the same amounts.
_FINGERPRINT = """
    md5(string_agg(
        concat_ws('|', {t}.date, COALESCE({t}.move_id, 0), COALESCE({t}.category_id, 0),
                  ROUND({t}.amount::numeric, 2), ROUND({t}.amount_total::numeric, 2)),
        ',' ORDER BY {t}.date, {t}.move_id, {t}.category_id, ROUND({t}.amount::numeric, 2),
                     ROUND({t}.amount_total::numeric, 2)
    ))
"""


class UrssafDeclaration(models.Model):
    _inherit = "urssaf.declaration"

    # The register kept and the books' comparison are the addon's alone.
    _urssaf_protected_fields = (
        UrssafDeclarationRecord._urssaf_protected_fields | REGISTER_CHECK_FIELDS | {"register_row_ids"}
    )

    register_row_ids = fields.One2many(REGISTER_MODEL, "declaration_id", string="Register kept", readonly=True)
    register_row_count = fields.Integer(string="Register rows", compute="_compute_register_row_count")
    register_declared_total = fields.Monetary(
        string="Register total declared",
        compute="_compute_register_declared_total",
        store=True,
        help="The total of the register rows kept when the declaration was declared.",
    )
    register_books_total = fields.Monetary(
        string="Books now say",
        readonly=True,
        copy=False,
        help="The turnover the books give for the same period, when last compared with the register kept.",
    )
    register_books_changed = fields.Boolean(
        string="Books changed since declared",
        readonly=True,
        copy=False,
        index=True,
        help="The books no longer give the register rows kept when the declaration was declared "
        "(a payment unreconciled, re-dated or changed since): the difference is to correct "
        "in a later declaration, the register declared does not change.",
    )
    register_checked_at = fields.Datetime(string="Books compared on", readonly=True, copy=False)
    register_books_difference = fields.Monetary(
        string="Books minus declared register",
        compute="_compute_register_books_difference",
    )
    register_books_message = fields.Char(compute="_compute_register_books_difference")
    earlier_books_changed_count = fields.Integer(
        string="Earlier periods changed",
        compute="_compute_earlier_books_changed_count",
        help="Declared periods of this auto-entrepreneur whose books changed since they were declared.",
    )

    @api.depends("register_row_ids.amount")
    def _compute_register_declared_total(self):
        # One query for all: rows are kept by the thousand at a time.
        stored = self.filtered("id")
        totals = (
            dict(
                self.env[REGISTER_MODEL]
                .sudo()
                ._read_group([("declaration_id", "in", stored.ids)], ["declaration_id"], ["amount:sum"])
            )
            if stored
            else {}
        )
        for declaration in self:
            if declaration.id:
                declaration.register_declared_total = totals.get(declaration, 0.0)
            else:
                declaration.register_declared_total = sum(declaration.register_row_ids.mapped("amount"))

    @api.depends("register_row_ids")
    def _compute_register_row_count(self):
        for declaration in self:
            declaration.register_row_count = len(declaration.register_row_ids)

    @api.depends("register_books_total", "register_declared_total", "register_books_changed")
    def _compute_register_books_difference(self):
        for declaration in self:
            declaration.register_books_difference = (
                declaration.register_books_total - declaration.register_declared_total
            )
            declaration.register_books_message = (
                self.env._(
                    "The books now say %(books)s, %(declared)s was declared (register of %(date)s).",
                    books=declaration._format_amount(declaration.register_books_total),
                    declared=declaration._format_amount(declaration.register_declared_total),
                    date=format_date(self.env, declaration.declared_at),
                )
                if declaration.register_books_changed
                else False
            )

    @api.depends("partner_id", "company_id", "period_start")
    def _compute_earlier_books_changed_count(self):
        for declaration in self:
            if not (declaration.partner_id and declaration.company_id and declaration.period_start):
                declaration.earlier_books_changed_count = 0
                continue
            declaration.earlier_books_changed_count = self.search_count(
                [
                    ("partner_id", "=", declaration.partner_id.id),
                    ("company_id", "=", declaration.company_id.id),
                    ("period_start", "<", declaration.period_start),
                    ("register_books_changed", "=", True),
                ]
            )

    # ------------------------------------------------------------------
    # Keeping the register
    # ------------------------------------------------------------------

    def _urssaf_register_groups(self):
        """The declarations by (company, period): one query reads the
        register of all the auto-entrepreneurs of a group."""
        groups = defaultdict(lambda: self.browse())
        for declaration in self:
            groups[(declaration.company_id, declaration.period_start, declaration.period_end)] |= declaration
        return groups

    def _urssaf_store_register_rows(self, rebuilt=False):
        """Keep with each declaration (that keeps none yet) the rows of its
        auto-entrepreneur's register of receipts over its period, as the
        books give them now: the rows its computed turnover is the sum of.

        One ``INSERT ... SELECT`` per (company, period) of the declarations,
        whatever their number: the register query writes the rows and the
        names they show (``_urssaf_register_names_sql``) where it reads
        them. Through the ORM, one record created per row, the registers of
        40,000 declarations (980,000 rows) took 18 minutes.

        Written as the superuser: the rows are the addon's alone.
        """
        declarations = self.sudo().filtered(lambda d: not d.register_row_ids)
        if not declarations:
            return
        declarations.flush_recordset(["partner_id", "company_id", "period_start", "period_end", "declared_at"])
        Turnover = self.env["urssaf.turnover"]
        Row = self.env[REGISTER_MODEL]
        columns, values = self._urssaf_register_names_sql()
        for (company, start, end), group in declarations._urssaf_register_groups().items():
            query = SQL(
                """
                INSERT INTO urssaf_declaration_register_row (
                    declaration_id, company_id, partner_id, register_type, declared_at, rebuilt,
                    date, move_id, partial_id, payment_move_id, payment_id, journal_id,
                    payment_method_line_id, counterpart_partner_id, category_id, books_currency_id,
                    amount_currency, currency_id, amount, amount_total, cash_amount,
                    %(columns)s,
                    create_uid, create_date, write_uid, write_date)
                SELECT declaration.id, declaration.company_id, register.partner_id, %(receipts)s,
                       declaration.declared_at, %(rebuilt)s,
                       register.date, register.move_id, register.partial_id, register.payment_move_id,
                       register.payment_id, register.journal_id, register.payment_method_line_id,
                       register.counterpart_partner_id, register.category_id, register.books_currency_id,
                       COALESCE(register.amount_currency, 0), register.currency_id,
                       COALESCE(register.amount, 0), COALESCE(register.amount_total, 0),
                       CASE WHEN journal.type = %(cash)s THEN COALESCE(register.amount, 0) ELSE 0 END,
                       %(values)s,
                       %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
                  FROM (%(register)s) AS register
                  JOIN urssaf_declaration AS declaration
                    ON declaration.partner_id = register.partner_id AND declaration.id IN %(ids)s
                  LEFT JOIN account_move AS move ON move.id = register.move_id
                  LEFT JOIN account_move AS payment_move ON payment_move.id = register.payment_move_id
                  LEFT JOIN account_journal AS journal ON journal.id = register.journal_id
                  LEFT JOIN res_currency AS journal_currency ON journal_currency.id = journal.currency_id
                  LEFT JOIN res_company AS journal_company ON journal_company.id = journal.company_id
                  LEFT JOIN account_payment_method_line AS method ON method.id = register.payment_method_line_id
                  LEFT JOIN account_journal AS method_journal ON method_journal.id = method.journal_id
                  LEFT JOIN res_partner AS counterpart ON counterpart.id = register.counterpart_partner_id
                 ORDER BY register.partner_id, register.date, register.move_id, register.id
                """,
                columns=columns,
                values=values,
                receipts=RECEIPTS,
                rebuilt=bool(rebuilt),
                cash=CASH_JOURNAL_TYPE,
                uid=self.env.uid,
                ids=tuple(group.ids),
                register=Turnover._register_sql(
                    partners=group.partner_id, date_from=start, date_to=end, company=company
                ),
            )
            with without_jit(self.env.cr):
                self.env.cr.execute(query)
        # The rows were written under the ORM: what it holds of them, and
        # the totals computed from them, follow.
        Row.invalidate_model()
        declarations.invalidate_recordset(["register_row_ids"])
        declarations.modified(["register_row_ids"])

    def _urssaf_register_names_sql(self):
        """The names the register shows, copied into its rows when kept,
        as the records' display names give them (in the user's language):
        the document and its reference, the payment entry, the customer
        (``complete_name``), the journal type, how paid (the payment
        method and its journal, else the journal, with its currency when
        not the company's) and whether in cash. They read as declared
        whatever later becomes of the records.

        :return: (the columns, the SQL expressions of their values over the
            aliases of ``_urssaf_store_register_rows``)
        """
        lang = self.env.lang or "en_US"

        def translated(alias):
            return SQL("COALESCE(%s.name->>%s, %s.name->>'en_US')", SQL.identifier(alias), lang, SQL.identifier(alias))

        journal_name = SQL(
            "CASE WHEN journal.currency_id IS NOT NULL AND journal.currency_id <> journal_company.currency_id "
            "THEN %s || ' (' || journal_currency.name || ')' ELSE %s END",
            translated("journal"),
            translated("journal"),
        )
        names = {
            "document": SQL("move.name"),
            "document_ref": SQL("move.ref"),
            "payment_entry": SQL("payment_move.name"),
            "counterpart_name": SQL("counterpart.complete_name"),
            "journal_type": SQL("journal.type"),
            "payment_means": SQL(
                "CASE WHEN method.id IS NOT NULL THEN method.name || ' (' || %s || ')' ELSE %s END",
                translated("method_journal"),
                journal_name,
            ),
            "is_cash": SQL("COALESCE(journal.type = %s, FALSE)", CASH_JOURNAL_TYPE),
        }
        return (
            SQL(", ").join(SQL.identifier(column) for column in names),
            SQL(", ").join(names.values()),
        )

    @api.model
    def _urssaf_rebuild_register_rows(self):
        """For the migration: the declarations Urssaf holds that keep no
        register (declared before the addon kept them) get their rows from
        the books as they are now, flagged ``rebuilt``; then the books are
        compared with them (no difference, by construction).

        :return: the declarations given a register
        """
        declarations = (
            self.sudo()
            .with_context(active_test=False)
            .search([("state", "in", REGISTER_KEPT_STATES), ("register_row_ids", "=", False)])
        )
        declarations._urssaf_store_register_rows(rebuilt=True)
        declarations._urssaf_check_register_books()
        return declarations

    # ------------------------------------------------------------------
    # Comparing the books with what was declared
    # ------------------------------------------------------------------

    def _urssaf_check_register_books(self):
        """Compare, for each declaration Urssaf holds, the register rows kept
        with the rows the books give now for the same period; record what
        the books say and whether they changed. Nothing kept is rewritten.

        One query per (company, period) for the books, one for the rows kept.
        """
        declarations = self.sudo().filtered(lambda d: d.state in REGISTER_KEPT_STATES)
        if not declarations:
            return
        self.env[REGISTER_MODEL].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT row.declaration_id, %(fingerprint)s
                  FROM urssaf_declaration_register_row row
                 WHERE row.declaration_id IN %(ids)s
                 GROUP BY row.declaration_id
                """,
                fingerprint=SQL(_FINGERPRINT.format(t="row")),
                ids=tuple(declarations.ids),
            )
        )
        kept = dict(self.env.cr.fetchall())
        Turnover = self.env["urssaf.turnover"]
        changes = []
        for (company, start, end), group in declarations._urssaf_register_groups().items():
            query = SQL(
                """
                SELECT register.partner_id, SUM(register.amount), %(fingerprint)s
                  FROM (%(register)s) AS register
                 GROUP BY register.partner_id
                """,
                fingerprint=SQL(_FINGERPRINT.format(t="register")),
                register=Turnover._register_sql(
                    partners=group.partner_id, date_from=start, date_to=end, company=company
                ),
            )
            books = {
                partner_id: (float(total), print_) for partner_id, total, print_ in Turnover._fetch_register(query)
            }
            for declaration in group:
                total, print_ = books.get(declaration.partner_id.id, (0.0, None))
                changed = print_ != kept.get(declaration.id)
                if (
                    declaration.register_books_changed != changed
                    or declaration.currency_id.compare_amounts(declaration.register_books_total, total)
                    or not declaration.register_checked_at
                ):
                    changes.append(
                        (declaration, {"register_books_total": round(total, 2), "register_books_changed": changed})
                    )
        # Thousands of declarations are compared each day and nearly all
        # agree with the books: one write for all of them, one per change.
        declarations.write({"register_checked_at": fields.Datetime.now()})
        for declaration, values in changes:
            declaration.write(values)

    @api.model
    def _cron_urssaf_check_register_books(self):
        """Daily: compare the books with every register kept."""
        self.sudo().search([("state", "in", REGISTER_KEPT_STATES)])._urssaf_check_register_books()

    def action_urssaf_check_register_books(self):
        """Compare the books with the register kept, now."""
        self.check_access("read")
        self._urssaf_check_register_books()
        return True

    def action_open_register_rows(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "l10n_fr_urssaf_tierce_declaration.action_urssaf_declaration_register_row"
        )
        action["domain"] = [("declaration_id", "=", self.id)]
        action["context"] = {"create": False}
        return action

    def action_print_register(self):
        """The auto-entrepreneur's register of receipts over the period: the
        rows kept when declared, else the books' rows behind the turnover
        computed.

        Everything the report needs is in its data, the auto-entrepreneur
        included: with data, the web client builds a URL without record ids
        (``getReportUrl``)."""
        self.ensure_one()
        return self.env.ref(REGISTER_REPORT).report_action(
            self.partner_id,
            data={
                "partner_ids": self.partner_id.ids,
                "date_from": fields.Date.to_string(self.period_start),
                "date_to": fields.Date.to_string(self.period_end),
                "company_id": self.company_id.id,
            },
        )

    def _urssaf_register_books_warning(self):
        """A sentence naming the declarations whose books changed (or
        False)."""
        changed = self.filtered("register_books_changed")
        if not changed:
            return False
        return self.env._(
            "Books changed since declared: %(declarations)s. The difference is to correct in a later declaration.",
            declarations="; ".join(
                self.env._(
                    "%(declaration)s: the books now say %(books)s, %(declared)s was declared",
                    declaration=declaration.display_name,
                    books=declaration._format_amount(declaration.register_books_total),
                    declared=declaration._format_amount(declaration.register_declared_total),
                )
                for declaration in changed
            ),
        )
