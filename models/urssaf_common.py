# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the Odoo models share about talking to Urssaf."""

import psycopg2

from odoo import fields
from odoo.exceptions import UserError
from odoo.tools import SQL, mute_logger

from ..exceptions import urssaf_error_text

PREPARER = "l10n_fr_urssaf_tierce_declaration.group_urssaf_preparer"
DECLARANT = "l10n_fr_urssaf_tierce_declaration.group_urssaf_declarant"

# Odoo selection keys <-> the API's Periodicite.
PERIODICITY_TO_API = {"monthly": "MENSUELLE", "quarterly": "TRIMESTRIELLE"}
PERIODICITY_FROM_API = {api: key for key, api in PERIODICITY_TO_API.items()}
PERIODICITY_SELECTION = [("monthly", "Monthly"), ("quarterly", "Quarterly")]


# Urssaf's clock: whether a period has ended is Urssaf's to say (it refuses a
# period not ended in France), whatever time zone the user's context names.
URSSAF_TZ = "Europe/Paris"


def urssaf_today(record):
    """Today on Urssaf's clock, not the user's: a declarant whose context
    names a time zone ahead of France is still refused a period that has
    not ended there."""
    return fields.Date.context_today(record.with_context(tz=URSSAF_TZ))


def euro(env):
    """The euro, in which Urssaf declares and collects every amount.

    By id, from Odoo's cache: ``env.ref()`` also checks that the record
    exists, a query for each record computed."""
    return env["res.currency"].browse(env["ir.model.data"]._xmlid_to_res_id("base.EUR"))


def field_label(record, fname):
    """The label of ``record``'s field ``fname`` in the user's language, to
    name it in a message."""
    return record._fields[fname].get_description(record.env)["string"]


def first_in_order(record, fnames):
    """Of ``fnames``, the field that comes first in the model's order: the
    one a refusal names when several are refused at once."""
    order = list(record._fields)
    return min(fnames, key=lambda name: order.index(name) if name in order else len(order))


def summary_notification(env, lines, trouble, after):
    """The notification that sums up a run of Urssaf calls (``lines``),
    sticky and a warning when something went wrong; ``after``: the action
    the web client runs next."""
    return {
        "type": "ir.actions.client",
        "tag": "display_notification",
        "params": {
            "title": env._("Urssaf"),
            "message": "\n".join(lines),
            "type": "warning" if trouble else "success",
            "sticky": bool(trouble),
            "next": after,
        },
    }


def check_declarant(env):
    """Only declarants decide what is sent to Urssaf in their name."""
    if not env.su and not env.user.has_group(DECLARANT):
        raise UserError(env._("Only Urssaf declarants can do this."))


def urssaf_user_error(env, error, what):
    """A UserError telling what failed and why (see urssaf_error_text)."""
    return UserError(env._("%(what)s failed: %(error)s", what=what, error=urssaf_error_text(env, error)))


def correlation_note(env, result_or_error):
    """The correlation id sentence of a chatter message, or an empty string."""
    correlation_id = getattr(result_or_error, "correlation_id", None)
    if not correlation_id:
        return ""
    return env._(" Urssaf correlation id: %s.", correlation_id)


# The row locks of the Urssaf runs (see lock_rows).
LOCK_SENDING = "FOR UPDATE"
LOCK_SENDING_KEEP_KEYS = "FOR NO KEY UPDATE"
_LOCKS = {LOCK_SENDING: SQL("FOR UPDATE"), LOCK_SENDING_KEEP_KEYS: SQL("FOR NO KEY UPDATE")}


def lock_rows(records, lock=LOCK_SENDING):
    """Lock the rows of ``records`` for the rest of the transaction, before
    sending them to Urssaf; returns those whose rows this transaction now
    holds, in their order. The rows another transaction holds are left out:
    that transaction is sending them (two users, two runs, two job workers
    on the same records), and this one steps aside instead of sending them
    a second time.

    ``lock``: ``LOCK_SENDING`` (``FOR UPDATE``) keeps out, until the
    transaction ends, the rows of other tables that would point at a locked
    record (their foreign key check waits): nothing is attached to a
    declaration while it is being declared. ``LOCK_SENDING_KEEP_KEYS``
    (``FOR NO KEY UPDATE``) excludes the other senders just as well but lets
    others point at the record meanwhile: for the accounts and mandates an
    onboarding run sends, which the rest of the database refers to (the
    declarations, the SEPA mandates of a partner) and which nothing hanging
    below them can change.

    One query for all of them; when it fails because one row changed since
    this transaction began (PostgreSQL's serialization failure in
    REPEATABLE READ), each row is tried again on its own, so that only the
    changed rows are left out. That is right for every run: a row changed
    meanwhile was sent (or is being sent) by someone else, and the others
    are free; giving up the whole selection for one row, as the onboarding
    runs did, made a selection of thousands skip everything for one.
    """
    if not records:
        return records
    records.flush_recordset()
    held = _locked_ids(records, records.ids, lock)
    if held is None and len(records) > 1:
        held = {record.id for record in records if _locked_ids(records, [record.id], lock)}
    # Another transaction may have sent some of them before we got the lock:
    # read them again.
    records.invalidate_recordset()
    return records.filtered(lambda record: record.id in (held or ()))


def _locked_ids(records, ids, lock):
    """The ids of ``ids`` whose rows this transaction could lock now, or
    None when one of them changed since the transaction began."""
    try:
        # A refused lock is an expected outcome here, not a bad query.
        with mute_logger("odoo.sql_db"), records.env.cr.savepoint(flush=False):
            records.env.cr.execute(
                SQL(
                    "SELECT id FROM %s WHERE id IN %s %s SKIP LOCKED",
                    SQL.identifier(records._table),
                    tuple(ids),
                    _LOCKS[lock],
                )
            )
            return {row[0] for row in records.env.cr.fetchall()}
    except psycopg2.errors.SerializationFailure:
        return None
