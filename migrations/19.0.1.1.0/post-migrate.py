# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""19.0.1.1.0: each company's Urssaf data of an auto-entrepreneur in an
``urssaf.account`` of its own, instead of columns of the shared partner.

Every partner holding Urssaf data, or for which a company holds a mandate, a
SEPA mandate or a declaration, gets one account per such company; a partner
that no company works for yet gets one in its own company, else in the main
company. Each account starts from what the partner held (it was shared by all
companies until now). The addon's notes of the account checks and SEPA
synchronisations move from the partner's chatter, which every internal user
reads, to the chatter of the account of the company whose check wrote them
(which gets an account if it had none). Then the partner's old columns and
table go.
"""

import logging

from odoo.tools import SQL
from odoo.tools.sql import column_exists, table_exists

_logger = logging.getLogger(__name__)

# res_partner's old column -> urssaf_account's column, with the value of a
# partner that never had one.
OLD_COLUMNS = {
    "urssaf_is_auto_entrepreneur": ("is_auto_entrepreneur", "FALSE"),
    "urssaf_nir": ("nir", None),
    "urssaf_identifier_type": ("identifier_type", "'siret'"),
    "urssaf_category_id": ("category_id", None),
    "urssaf_trade": ("trade", None),
    "urssaf_turnover_source": ("turnover_source", "'vendor_bills'"),
    "urssaf_account_state": ("state", "'unchecked'"),
    "urssaf_eligible": ("eligible", "FALSE"),
    "urssaf_ineligibility_reason": ("ineligibility_reason", None),
    "urssaf_periodicity": ("periodicity", None),
    "urssaf_activity_start": ("activity_start", None),
    "urssaf_versement_liberatoire": ("versement_liberatoire", "FALSE"),
    "urssaf_checked_at": ("checked_at", None),
}
# Columns whose value makes a partner one the addon knows (the others hold
# their default on every partner).
DATA_COLUMNS = ("urssaf_is_auto_entrepreneur", "urssaf_nir", "urssaf_category_id", "urssaf_trade", "urssaf_checked_at")
OLD_CATEGORY_TABLE = "res_partner_urssaf_activity_category_rel"
# The models whose company works for a partner.
WORKING_TABLES = ("urssaf_mandate", "urssaf_sepa_mandate", "urssaf_declaration")
# How the notes 19.0.1.0.x logged on the partners begin (``ILIKE``
# patterns), in the languages it shipped: the account check's, found or
# not, and the SEPA mandates synchronisation's. No other message moves.
CHECK_NOTE_PATTERNS = (
    "%Urssaf account check: unknown account.%",
    "%Urssaf account checked: %",
    "%SEPA mandates synchronised from Urssaf: %",
    "%Vérification du compte Urssaf : compte inconnu.%",
    "%Compte Urssaf vérifié : %",
    # The apostrophe is stored escaped in the HTML body.
    "%Mandats SEPA synchronisés depuis l%Urssaf : %",
)


def migrate(cr, version):
    if version:
        migrate_partner_accounts(cr)
        recompute_due_dates(cr)


def recompute_due_dates(cr):
    """Deadlines follow Urssaf's calendar now: one on a Saturday, a Sunday or
    a public holiday moves to the next working day. The declarations not yet
    declared get theirs again (those declared keep Urssaf's own)."""
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415 (Odoo's migration scripts are loaded by path)

    env = api.Environment(cr, SUPERUSER_ID, {})
    declarations = env["urssaf.declaration"].search([("urssaf_number", "=", False)])
    env.add_to_compute(env["urssaf.declaration"]._fields["due_date"], declarations)
    declarations.flush_recordset(["due_date"])
    _logger.info("Urssaf: due dates of %s declarations moved to Urssaf's working-day calendar", len(declarations))


def _check_notes(alias):
    """SQL: the message ``alias`` is a note of the addon on a partner."""
    return SQL(
        "(%(m)s.model = 'res.partner' AND %(m)s.message_type = 'notification' AND %(m)s.body::text ILIKE ANY(%(p)s))",
        m=SQL.identifier(alias),
        p=list(CHECK_NOTE_PATTERNS),
    )


def _note_company(partner, author, main_company):
    """SQL: the company whose check wrote the note: 19.0.1.0.x checked a
    partner with the Urssaf settings of the partner's company, else of the
    user's current company (the author's company; the scheduled check's
    user's)."""
    return SQL(
        "COALESCE(%s.company_id, %s.company_id, %s.id)",
        SQL.identifier(partner),
        SQL.identifier(author),
        SQL.identifier(main_company),
    )


def migrate_partner_accounts(cr):
    """Create the accounts from the partners' old columns, move the account
    checks' notes, drop the old columns. Returns the ids of the accounts
    created."""
    present = {name for name in OLD_COLUMNS if column_exists(cr, "res_partner", name)}
    if "urssaf_is_auto_entrepreneur" not in present:
        return []

    def old_value(name):
        """The account's column and the SQL of its value."""
        column, default = OLD_COLUMNS[name]
        if name not in present:
            return column, SQL(default or "NULL")
        value = SQL("partner.%s", SQL.identifier(name))
        return column, SQL("COALESCE(%s, %s)", value, SQL(default)) if default else value

    working = SQL(" UNION ").join(
        SQL("SELECT partner_id, company_id FROM %s", SQL.identifier(table))
        for table in WORKING_TABLES
        if table_exists(cr, table)
    ) or SQL("SELECT NULL::int AS partner_id, NULL::int AS company_id WHERE FALSE")
    has_data = SQL(" OR ").join(
        SQL("partner.%s IS NOT NULL AND partner.%s::text NOT IN ('false', '')", SQL.identifier(c), SQL.identifier(c))
        for c in DATA_COLUMNS
        if c in present
    )
    values = [old_value(name) for name in OLD_COLUMNS]
    cr.execute(
        SQL(
            """
            WITH working AS (%(working)s),
            main_company AS (
                SELECT COALESCE(
                    (SELECT res_id FROM ir_model_data WHERE module = 'base' AND name = 'main_company'),
                    (SELECT MIN(id) FROM res_company)
                ) AS id
            ),
            target AS (
                SELECT DISTINCT working.partner_id, working.company_id
                  FROM working
                 WHERE working.partner_id IS NOT NULL AND working.company_id IS NOT NULL
                UNION
                SELECT partner.id, COALESCE(partner.company_id, main_company.id)
                  FROM res_partner partner, main_company
                 WHERE (%(has_data)s)
                   AND NOT EXISTS (SELECT 1 FROM working WHERE working.partner_id = partner.id)
                UNION
                -- The companies whose checks wrote notes: their notes go to
                -- their own account.
                SELECT partner.id, %(note_company)s
                  FROM mail_message note
                  JOIN res_partner partner ON partner.id = note.res_id
                  LEFT JOIN res_users author ON author.id = note.create_uid
                 CROSS JOIN main_company
                 WHERE %(is_note)s
            )
            INSERT INTO urssaf_account (partner_id, company_id, %(columns)s,
                                        create_uid, write_uid, create_date, write_date)
            SELECT target.partner_id, target.company_id, %(values)s,
                   1, 1, NOW() AT TIME ZONE 'UTC', NOW() AT TIME ZONE 'UTC'
              FROM target
              JOIN res_partner partner ON partner.id = target.partner_id
            ON CONFLICT (partner_id, company_id) DO NOTHING
            RETURNING id
            """,
            working=working,
            has_data=has_data,
            note_company=_note_company("partner", "author", "main_company"),
            is_note=_check_notes("note"),
            columns=SQL(", ").join(SQL.identifier(column) for column, _value in values),
            values=SQL(", ").join(value for _column, value in values),
        )
    )
    account_ids = [row[0] for row in cr.fetchall()]
    _logger.info("Urssaf: %s auto-entrepreneur accounts created from the partners' data", len(account_ids))
    if account_ids and table_exists(cr, OLD_CATEGORY_TABLE):
        cr.execute(
            SQL(
                """
                INSERT INTO urssaf_account_activity_category_rel (account_id, category_id)
                SELECT account.id, old.urssaf_activity_category_id
                  FROM urssaf_account account
                  JOIN %(old)s old ON old.res_partner_id = account.partner_id
                 WHERE account.id = ANY(%(ids)s)
                ON CONFLICT DO NOTHING
                """,
                old=SQL.identifier(OLD_CATEGORY_TABLE),
                ids=account_ids,
            )
        )
    if account_ids:
        _move_check_notes(cr, account_ids)
    _drop_old_columns(cr, present)
    return account_ids


def _move_check_notes(cr, account_ids):
    """The addon's notes of the account checks and SEPA synchronisations on
    the partners go to the chatter of the account of the company whose
    check wrote them; the other messages stay where they are."""
    cr.execute(
        SQL(
            """
            WITH main_company AS (
                SELECT COALESCE(
                    (SELECT res_id FROM ir_model_data WHERE module = 'base' AND name = 'main_company'),
                    (SELECT MIN(id) FROM res_company)
                ) AS id
            ),
            destination AS (
                SELECT message.id AS message_id, account.id AS account_id, account.company_id
                  FROM mail_message message
                  JOIN res_partner partner ON partner.id = message.res_id
                  LEFT JOIN res_users author ON author.id = message.create_uid
                 CROSS JOIN main_company
                  JOIN urssaf_account account
                    ON account.partner_id = partner.id
                   AND account.company_id = %(note_company)s
                 WHERE %(is_note)s
                   AND account.id = ANY(%(ids)s)
            )
            UPDATE mail_message message
               SET model = 'urssaf.account', res_id = destination.account_id,
                   record_company_id = destination.company_id
              FROM destination
             WHERE message.id = destination.message_id
            """,
            note_company=_note_company("partner", "author", "main_company"),
            is_note=_check_notes("message"),
            ids=account_ids,
        )
    )
    _logger.info("Urssaf: %s account check notes moved from the partners to their accounts", cr.rowcount)


def _drop_old_columns(cr, present):
    for name in sorted(present):
        cr.execute(SQL("ALTER TABLE res_partner DROP COLUMN IF EXISTS %s CASCADE", SQL.identifier(name)))
    cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(OLD_CATEGORY_TABLE)))
    # Odoo's records of what the module created for them, that it would try
    # to remove on uninstall.
    cr.execute("DELETE FROM ir_model_relation WHERE name = %s", [OLD_CATEGORY_TABLE])
    cr.execute(
        """
        DELETE FROM ir_model_constraint
         WHERE type = 'f'
           AND (name = 'res_partner_urssaf_category_id_fkey' OR name LIKE 'res\\_partner\\_urssaf\\_activity\\_ca%')
           AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = ir_model_constraint.name)
        """
    )
