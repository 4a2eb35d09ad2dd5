# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import psycopg2

from odoo import api, fields, models
from odoo.tools import SQL, mute_logger


class UrssafSendingMark(models.Model):
    """A record about to be sent to Urssaf for a step that Urssaf does not
    take twice gracefully (registering a SEPA mandate: a second request is a
    second SEPA mandate).

    The mark is committed in a short transaction of its own before the
    request leaves, so that it outlives a worker killed (or a connection
    lost) between Urssaf's answer and the commit of the run that sent it:
    the next sending finds it and looks Urssaf up before sending again. It
    is written and read on a cursor of its own, never in the run's
    transaction: the run holds the lock of the record's row (an update of
    that row from another cursor would wait for the run: a deadlock), and
    its snapshot, taken before the mark was committed, would not show it.
    No foreign key either: the record may not be committed yet (a test, a
    record created and sent in one request), and a mark of a record that is
    gone is only removed by the daily clean-up.
    """

    _name = "urssaf.sending.mark"
    _description = "Urssaf request about to be sent"
    _log_access = False

    res_model = fields.Char(string="Model", required=True, readonly=True)
    res_id = fields.Many2oneReference(string="Record", model_field="res_model", required=True, readonly=True)
    step = fields.Char(required=True, readonly=True)
    marked_at = fields.Datetime(required=True, readonly=True)

    _record_step_unique = models.Constraint("UNIQUE(res_model, res_id, step)", "A record is marked once for each step.")

    @api.model
    def _urssaf_mark(self, records, step):
        """Mark ``records`` as about to be sent for ``step``, committed at
        once on a cursor of its own; returns the ids of those that were
        marked already (sent before, their answer maybe lost)."""
        if not records:
            return frozenset()
        query = SQL(
            """WITH marked AS (
                   INSERT INTO urssaf_sending_mark (res_model, res_id, step, marked_at)
                   SELECT %(model)s, unnest(%(ids)s::int[]), %(step)s, now() AT TIME ZONE 'UTC'
                   ON CONFLICT (res_model, res_id, step) DO NOTHING
                   RETURNING res_id)
               SELECT res_id FROM marked""",
            model=records._name,
            ids=list(records.ids),
            step=step,
        )
        for attempt in (1, 2):
            try:
                with mute_logger("odoo.sql_db"), self.env.registry.cursor() as cr:
                    cr.execute(query)
                    new = {row[0] for row in cr.fetchall()}
                break
            except psycopg2.errors.SerializationFailure:
                # Another sender marked one of them meanwhile (committed
                # after this transaction's snapshot): once more, it sees it.
                if attempt == 2:
                    raise
            except psycopg2.errors.UndefinedTable:
                # The addon is being installed in this very transaction (its
                # demo data registers SEPA mandates): the table is not
                # committed yet, no other transaction sees it. Marked in
                # this one: should it die, the addon's install dies with it.
                self.env.cr.execute(query)
                new = {row[0] for row in self.env.cr.fetchall()}
                break
        return frozenset(records.ids) - new

    @api.autovacuum
    def _gc_marks_sent(self):
        """Remove the marks of the records that are gone or whose step is
        done (the answer recorded): they are never sent for it again."""
        self.env.cr.execute("SELECT DISTINCT res_model, step FROM urssaf_sending_mark")
        for model, step in self.env.cr.fetchall():
            marks = self.search([("res_model", "=", model), ("step", "=", step)])
            if model not in self.env:
                marks.unlink()
                continue
            records = self.env[model].browse(marks.mapped("res_id")).exists()
            pending = set(records.filtered(lambda record, step=step: record._urssaf_batch_pending(step)).ids)
            marks.filtered(lambda mark, pending=pending: mark.res_id not in pending).unlink()
