# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import contextlib
import functools
import hashlib
import json
import logging
import uuid
from datetime import timezone
from decimal import Decimal

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, float_compare, float_is_zero, float_round, mute_logger
from odoo.tools.misc import format_date, formatLang

from ..urssaf_api import periods
from ..urssaf_api.client import SharedBackoff
from ..urssaf_api.exceptions import (
    DeclarationAlreadyExists,
    PaymentAlreadyExists,
    UrssafApiError,
    UrssafError,
    UrssafOutcomeUnknown,
    UrssafTransportError,
)
from .urssaf_call_pool import UrssafCallPool
from .urssaf_common import (
    PERIODICITY_SELECTION,
    PERIODICITY_TO_API,
    check_declarant,
    correlation_note,
    euro,
    urssaf_error_text,
)
from .urssaf_declaration_contribution import VERSEMENT_LIBERATOIRE_LABEL
from .urssaf_turnover import UNCATEGORISED

_logger = logging.getLogger(__name__)

# The queue_job channel of the scheduled runs' jobs (its capacity is set in
# the job runner's configuration, see the README).
URSSAF_CHANNEL = "root.urssaf"

# A scheduled run stops after this many auto-entrepreneurs in a row for
# whom Urssaf could not be reached: the rest waits for the next run.
UNREACHABLE_STOP_AFTER = 3

STATES = [
    ("draft", "Draft"),
    ("estimated", "Estimated"),
    ("declared", "Declared"),
    ("paid", "Paid"),
    ("error", "Error"),
    ("cancelled", "Cancelled"),
]
STEPS = [("estimate", "Estimate"), ("declare", "Declare"), ("pay", "Pay")]
# Once Urssaf holds the declaration, only what Urssaf says may change it.
LOCKED_STATES = ("declared", "paid")
# Filled only by the addon's own steps, from the books and from Urssaf's
# answers: no user writes them, whatever the client or the group. The steps
# write them as the superuser (sudo), which no RPC call can be.
SYSTEM_FIELDS = frozenset(
    {
        "state",
        "error_message",
        "error_step",
        "outcome_unknown",
        "periodicity",
        "is_first_period",
        "estimated_total",
        "estimate_snapshot",
        "amount_total",
        "remaining_due",
        "reference_tiers",
        "urssaf_number",
        "declared_at",
        "payment_amount",
        "payment_reference",
        "debit_date",
        "contribution_ids",
        "estimated_contribution_ids",
        "declared_contribution_ids",
        "urssaf_environment",
        "contribution_move_id",
        "collected_currency_id",
        "collected_amount_currency",
    }
)
# What was declared: frozen once Urssaf holds the declaration (its number
# or a declared state), together with its lines.
DECLARED_FIELDS = frozenset({"partner_id", "company_id", "period_start", "period_end", "line_ids"})
# Frozen once paid: the mandate Urssaf debited.
PAID_FIELDS = frozenset({"sepa_mandate_id"})


def _naive_utc(moment):
    """A datetime as Odoo stores it: UTC, without time zone."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _is_default(fname, value):
    """A value a client sends for a field it leaves as it is on a new record."""
    if fname == "state":
        return value == "draft"
    return not value


def chunk_key(model_name, method_name, ids):
    """The identity of a job on a chunk of declarations."""
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(f"{model_name}.{method_name}:{sorted(ids)}".encode())
    return digest.hexdigest()


def chunk_identity(job):
    """queue_job identity key: one job per chunk of declarations (whatever
    run it reports to)."""
    return chunk_key(job.model_name, job.method_name, job.recordset.ids)


def step_identity(job):
    """queue_job identity key: one job per step and chunk of declarations."""
    return chunk_key(job.model_name, f"{job.method_name}({job.args[0]})", job.recordset.ids)


class UrssafUnreachableError(UserError):
    """Urssaf could not be reached and nothing was sent: try again later."""


class UrssafDeclaration(models.Model):
    """The declaration of an auto-entrepreneur's collected turnover for a period."""

    _name = "urssaf.declaration"
    _description = "Urssaf declaration"
    _inherit = ["mail.thread", "mail.activity.mixin", "urssaf.environment.mixin"]
    _order = "period_start desc, partner_id, id desc"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    partner_id = fields.Many2one(
        "res.partner",
        string="Auto-entrepreneur",
        required=True,
        index=True,
        ondelete="restrict",
        check_company=True,
        domain="[('urssaf_is_auto_entrepreneur', '=', True)]",
        tracking=True,
    )
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    # Urssaf declares and debits euros, whatever the declaring company's
    # currency: the turnover is converted at the rate of each day collected.
    currency_id = fields.Many2one("res.currency", compute="_compute_currency_id")
    collected_currency_id = fields.Many2one(
        "res.currency",
        string="Currency of the books",
        readonly=True,
        copy=False,
        help="The turnover was collected in this currency, and converted into euros at the rate of each payment date.",
    )
    collected_amount_currency = fields.Monetary(
        string="Collected in the currency of the books",
        currency_field="collected_currency_id",
        readonly=True,
        copy=False,
        help="The turnover collected in the period, excluding VAT, before its conversion into euros.",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self.env.user,
        help="The accountant reminded of the deadline.",
    )
    period_start = fields.Date(required=True, index=True)
    period_end = fields.Date(required=True)
    periodicity = fields.Selection(
        PERIODICITY_SELECTION,
        required=True,
        readonly=True,
        copy=False,
        help="The auto-entrepreneur's periodicity at Urssaf when the declaration was prepared.",
    )
    is_first_period = fields.Boolean(
        string="First period",
        readonly=True,
        copy=False,
        help="The first declaration after the activity start, longer than a regular period.",
    )
    due_date = fields.Date(string="Due date", compute="_compute_due_date", store=True, index=True)
    state = fields.Selection(
        STATES, default="draft", required=True, readonly=True, copy=False, tracking=True, index=True
    )
    error_message = fields.Text(readonly=True, copy=False)
    error_step = fields.Selection(STEPS, string="Step to retry", readonly=True, copy=False)
    outcome_unknown = fields.Boolean(
        string="Outcome unknown",
        readonly=True,
        copy=False,
        help="Urssaf may or may not have recorded the last declaration or payment sent "
        "(time-out, technical error): it is looked up at Urssaf before anything is sent again.",
    )
    line_ids = fields.One2many("urssaf.declaration.line", "declaration_id", string="Turnover")
    contribution_ids = fields.One2many("urssaf.declaration.contribution", "declaration_id", string="Contributions")
    estimated_contribution_ids = fields.One2many(
        "urssaf.declaration.contribution",
        "declaration_id",
        domain=[("kind", "=", "estimate")],
        string="Estimated contributions",
    )
    declared_contribution_ids = fields.One2many(
        "urssaf.declaration.contribution",
        "declaration_id",
        domain=[("kind", "=", "declared")],
        string="Declared contributions",
    )
    turnover_total = fields.Monetary(string="Turnover to declare", compute="_compute_totals", store=True)
    estimated_total = fields.Monetary(string="Estimated total", readonly=True, copy=False)
    amount_total = fields.Monetary(string="Total due", readonly=True, copy=False, tracking=True)
    has_adjustment = fields.Boolean(
        string="Adjusted",
        compute="_compute_totals",
        store=True,
        help="An amount to declare differs from the computed one.",
    )
    estimate_snapshot = fields.Char(readonly=True, copy=False, help="The amounts the last estimate was made on.")
    reference_tiers = fields.Char(
        string="Own reference",
        readonly=True,
        copy=False,
        index=True,
        help="This company's own reference of the declaration, sent to Urssaf: "
        "it finds the declaration again after a time-out or a crash.",
    )
    urssaf_number = fields.Char(string="Urssaf declaration number", readonly=True, copy=False, tracking=True)
    declared_at = fields.Datetime(string="Declared on", readonly=True, copy=False)
    remaining_due = fields.Monetary(readonly=True, copy=False)
    sepa_mandate_id = fields.Many2one(
        "urssaf.sepa.mandate",
        string="SEPA mandate",
        check_company=True,
        domain="[('partner_id', '=', partner_id), ('state', '=', 'active')]",
        help="Empty: the auto-entrepreneur's active SEPA mandate.",
    )
    payment_amount = fields.Monetary(readonly=True, copy=False)
    payment_reference = fields.Char(readonly=True, copy=False, tracking=True)
    debit_date = fields.Date(readonly=True, copy=False)

    _reference_tiers_unique = models.UniqueIndex("(reference_tiers)", "The reference sent to Urssaf must be unique.")
    _one_per_period = models.UniqueIndex(
        "(partner_id, company_id, period_start) WHERE state != 'cancelled'",
        "An auto-entrepreneur has only one declaration per period.",
    )

    def _compute_currency_id(self):
        self.currency_id = euro(self.env)

    @api.depends("partner_id", "period_start", "period_end")
    def _compute_name(self):
        for declaration in self:
            if not (declaration.partner_id and declaration.period_start and declaration.period_end):
                declaration.name = False
                continue
            declaration.name = self.env._(
                "%(partner)s, %(start)s – %(end)s",
                partner=declaration.partner_id.name,
                start=format_date(self.env, declaration.period_start),
                end=format_date(self.env, declaration.period_end),
            )

    @api.depends("period_end", "periodicity")
    def _compute_due_date(self):
        for declaration in self:
            if declaration.period_end and declaration.periodicity:
                declaration.due_date = periods.due_date(
                    declaration.period_end, PERIODICITY_TO_API[declaration.periodicity]
                )
            else:
                declaration.due_date = False

    @api.depends("line_ids.amount", "line_ids.computed_amount")
    def _compute_totals(self):
        for declaration in self:
            declaration.turnover_total = sum(declaration.line_ids.mapped("amount"))
            declaration.has_adjustment = any(line.is_adjusted for line in declaration.line_ids)

    # ------------------------------------------------------------------
    # Who writes what: the legal record
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [dict(vals) for vals in vals_list]
        for index, vals in enumerate(vals_list):
            if not self.env.su:
                # A declaration a user creates always starts as a draft.
                given = {fname for fname in SYSTEM_FIELDS & set(vals) if not _is_default(fname, vals[fname])}
                self._urssaf_refuse_fields(given, self.env._("A new declaration"))
                vals = vals_list[index] = {k: v for k, v in vals.items() if k not in SYSTEM_FIELDS}
            self._urssaf_fill_period_values(vals)
            # Generated once, never changed: Urssaf finds the declaration by it.
            vals.setdefault("reference_tiers", f"ODOO-{uuid.uuid4().hex}")
        return super().create(vals_list)

    def write(self, vals):
        # What Urssaf holds is locked for everybody, the addon's steps included.
        for declaration in self:
            declaration._urssaf_check_unlocked(set(vals))
        if self.env.su:
            return super().write(vals)
        period_values = {}
        for declaration in self:
            declaration._urssaf_refuse_fields(SYSTEM_FIELDS & set(vals), declaration.display_name)
            if {"partner_id", "company_id", "period_start", "period_end"} & set(vals):
                # Another person or period: its periodicity is Urssaf's again.
                merged = {
                    "partner_id": declaration.partner_id.id,
                    "company_id": declaration.company_id.id,
                    "period_start": declaration.period_start,
                    "period_end": declaration.period_end,
                    **vals,
                }
                self._urssaf_fill_period_values(merged)
                period_values[declaration] = {
                    "periodicity": merged["periodicity"],
                    "is_first_period": merged["is_first_period"],
                }
        result = super().write(vals)
        for declaration, values in period_values.items():
            declaration.sudo().write(values)
        return result

    def _urssaf_write(self, vals):
        """Write what the addon's own steps computed or Urssaf answered.

        The caller's rights on these declarations are checked, then the
        system fields are written as the superuser: the only way to write
        them, and one that no RPC call can take.
        """
        self.check_access("write")
        return self.sudo().write(vals)

    def _urssaf_write_logged(self, vals, body):
        """``_urssaf_write`` what a step got, and say it in the chatter in
        one message: the sentence ``body`` with the tracked changes (the
        state first) under it.

        A run records thousands of answers in one transaction: a tracking
        message and a note beside it for each answer doubled the chatter's
        writes, and a posted note computes recipients a log does not need.
        When the state does not change (nothing tracked for sure), the
        sentence is logged on its own.
        """
        self.ensure_one()
        if vals.get("state", self.state) != self.state:
            # Logged with the tracking values when the changes are flushed
            # (at the latest when the step's savepoint ends).
            self._track_set_log_message(body)
            return self._urssaf_write(vals)
        result = self._urssaf_write(vals)
        self._message_log(body=body)
        return result

    def _urssaf_refuse_fields(self, fnames, what):
        """Refuse, naming the field, a user's write of fields only the addon fills."""
        if fnames:
            fname = sorted(fnames, key=list(self._fields).index)[0]
            raise UserError(
                self.env._(
                    "%(what)s: the field “%(field)s” is filled only from the books and Urssaf's answers; "
                    "it cannot be written.",
                    what=what,
                    field=self._fields[fname].get_description(self.env)["string"],
                )
            )

    def _urssaf_is_locked(self):
        """Urssaf holds this declaration: what was declared can no longer change."""
        self.ensure_one()
        return self.state in LOCKED_STATES or bool(self.urssaf_number)

    def _urssaf_check_unlocked(self, fnames, what=None):
        """Refuse changing what was declared (or the mandate paid from)."""
        self.ensure_one()
        frozen = set()
        if self._urssaf_is_locked():
            frozen |= DECLARED_FIELDS
        if self.state == "paid":
            frozen |= PAID_FIELDS
        fnames = frozen & set(fnames)
        if fnames:
            fname = sorted(fnames, key=list(self._fields).index)[0]
            raise UserError(
                self.env._(
                    "%(declaration)s is declared to Urssaf (%(number)s): “%(field)s” can no longer be changed.",
                    declaration=self.display_name,
                    number=self.urssaf_number or self._state_label(),
                    field=what or self._fields[fname].get_description(self.env)["string"],
                )
            )

    def _urssaf_account_partner(self):
        """The auto-entrepreneur as this declaration's company knows it
        (its Urssaf account there), whatever company the user works in."""
        self.ensure_one()
        return self.partner_id.with_company(self.company_id).sudo()

    def _urssaf_check_lines_editable(self):
        """Refuse a user's change of the turnover lines of a declared declaration."""
        for declaration in self:
            declaration._urssaf_check_unlocked({"line_ids"})

    @api.model
    def _urssaf_fill_period_values(self, vals):
        """The periodicity and first-period flag come from the Urssaf account,
        checked against the period, never from the user."""
        if vals.get("periodicity") or not vals.get("partner_id") or not vals.get("period_start"):
            return
        company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
        partner = self.env["res.partner"].browse(vals["partner_id"]).with_company(company).sudo()
        start = fields.Date.to_date(vals["period_start"])
        end = fields.Date.to_date(vals.get("period_end"))
        if not partner.urssaf_periodicity or not partner.urssaf_activity_start:
            raise UserError(
                self.env._(
                    "%(partner)s: check its Urssaf account first; the periodicity of its declarations comes "
                    "from Urssaf.",
                    partner=partner.display_name,
                )
            )
        periodicity = PERIODICITY_TO_API[partner.urssaf_periodicity]
        if not end or not periods.is_valid_period(partner.urssaf_activity_start, periodicity, start, end):
            raise UserError(
                self.env._(
                    "Period: %(start)s – %(end)s is not a declaration period of %(partner)s (%(periodicity)s).",
                    start=format_date(self.env, start),
                    end=format_date(self.env, end) if end else "?",
                    partner=partner.display_name,
                    periodicity=dict(self._fields["periodicity"]._description_selection(self.env))[
                        partner.urssaf_periodicity
                    ].lower(),
                )
            )
        vals["periodicity"] = partner.urssaf_periodicity
        vals["is_first_period"] = (start, end) == tuple(
            periods.first_period(partner.urssaf_activity_start, periodicity)
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_declared(self):
        declared = self.filtered(lambda d: d._urssaf_is_locked())
        if declared:
            raise UserError(
                self.env._(
                    "%(declaration)s is declared to Urssaf: it can no longer be deleted.",
                    declaration=declared[0].display_name,
                )
            )

    @api.constrains("sepa_mandate_id", "partner_id", "company_id")
    def _check_sepa_mandate(self):
        """Urssaf debits the auto-entrepreneur's own account, never another's."""
        for declaration in self:
            mandate = declaration.sepa_mandate_id
            if mandate and (
                mandate.partner_id != declaration.partner_id or mandate.company_id != declaration.company_id
            ):
                raise ValidationError(
                    self.env._(
                        "%(field)s: %(mandate)s is not a mandate of %(partner)s for %(company)s.",
                        field=self._fields["sepa_mandate_id"].get_description(self.env)["string"],
                        mandate=mandate.display_name,
                        partner=declaration.partner_id.display_name,
                        company=declaration.company_id.name,
                    )
                )

    @api.constrains("period_start", "period_end")
    def _check_period(self):
        for declaration in self:
            if declaration.period_start > declaration.period_end:
                raise ValidationError(
                    self.env._(
                        "Period: the start (%(start)s) is after the end (%(end)s).",
                        start=declaration.period_start,
                        end=declaration.period_end,
                    )
                )

    # ------------------------------------------------------------------
    # Turnover
    # ------------------------------------------------------------------

    def _refresh_turnover(self, turnover=None):
        """Compute the collected turnover of these drafts from the posted
        invoices, one batch per company and period; keep the amounts a
        declarant adjusted.

        :param turnover: None, or the turnover already computed for a run,
            ``{(company_id, start, end): (collected, converted)}`` as
            ``urssaf.turnover._collected_totals`` returns them, for all
            these declarations' auto-entrepreneurs
        """
        categories = {c.code: c for c in self.env["urssaf.activity.category"].search([])}
        turnover_model = self.env["urssaf.turnover"]
        groups = {}
        for declaration in self:
            if declaration.state not in ("draft", "estimated", "error") or declaration.urssaf_number:
                continue
            key = (declaration.company_id, declaration.period_start, declaration.period_end)
            groups.setdefault(key, self.browse())
            groups[key] |= declaration
        for (company, start, end), declarations in groups.items():
            known = (turnover or {}).get((company.id, start, end))
            if known and set(declarations.partner_id.ids) <= known[0].keys():
                collected, converted = known
            else:
                collected, converted = turnover_model._collected_totals(declarations.partner_id, start, end, company)
            new_lines = []
            for declaration in declarations:
                amounts = collected.get(declaration.partner_id.id, {})
                currencies = converted.get(declaration.partner_id.id, {})
                if declaration.line_ids or declaration.state != "draft" or currencies:
                    declaration._set_computed_turnover(amounts, categories, currencies)
                else:
                    # A new draft: its lines are created with the others'.
                    new_lines += [
                        {**command[2], "declaration_id": declaration.id}
                        for command in declaration._turnover_commands(amounts, categories)
                    ]
            if new_lines:
                declarations.check_access("write")
                self.env["urssaf.declaration.line"].sudo().create(new_lines)

    def _set_computed_turnover(self, amounts, categories, converted=None):
        """Write the computed amounts (euros) of the categories; ``converted``:
        ``{currency_id: amount}`` collected in another currency than the euro,
        shown beside them."""
        self.ensure_one()
        commands = self._turnover_commands(amounts, categories)
        values = {"line_ids": commands} if commands else {}
        # One currency of the books is shown; books in several (an
        # auto-entrepreneur's company and a platform's) have no single total.
        currency_id, amount_currency = (
            next(iter(converted.items())) if converted and len(converted) == 1 else (False, 0)
        )
        if (currency_id, amount_currency) != (self.collected_currency_id.id, self.collected_amount_currency):
            values.update(collected_currency_id=currency_id, collected_amount_currency=amount_currency)
        if values:
            self._urssaf_write(values)
        if self.state == "estimated" and self._amounts_snapshot() != self.estimate_snapshot:
            self._urssaf_write({"state": "draft"})

    def _turnover_commands(self, amounts, categories):
        """The commands that bring the turnover lines to the amounts
        collected (``{category code: amount}``), keeping a declarant's
        adjustments."""
        self.ensure_one()
        if UNCATEGORISED in amounts:
            # Declaring it under a guessed category would be wrong.
            raise UserError(
                self.env._(
                    "%(partner)s: part of the turnover has no Urssaf category. Set the auto-entrepreneur's "
                    "default activity category, or the category of its products.",
                    partner=self.partner_id.display_name,
                )
            )
        lines = {line.category_id.code: line for line in self.line_ids}
        codes = set(amounts) | set(lines)
        default_category = self._urssaf_account_partner().urssaf_category_id
        if not codes and default_category:
            # A period with no turnover is still declared, with zero.
            codes = {default_category.code}
        commands = []
        for code in sorted(codes, key=lambda c: categories[c].sequence if c in categories else 0):
            computed = amounts.get(code, 0.0)
            line = lines.get(code)
            if line:
                values = {"computed_amount": computed}
                if not line.is_adjusted:
                    values["amount"] = computed
                commands.append(fields.Command.update(line.id, values))
            elif code in categories:
                commands.append(
                    fields.Command.create(
                        {"category_id": categories[code].id, "computed_amount": computed, "amount": computed}
                    )
                )
        return commands

    def action_refresh_turnover(self):
        self._refresh_turnover()
        return True

    def action_open_collected(self):
        self.ensure_one()
        return self.env["urssaf.turnover"].action_open_collected(
            self.partner_id, self.period_start, self.period_end, self.company_id
        )

    def action_print_register(self):
        """The auto-entrepreneur's register of receipts over the period: the
        amounts behind the turnover computed."""
        self.ensure_one()
        return self.env.ref("l10n_fr_urssaf_tierce_declaration.action_report_urssaf_register").report_action(
            self.partner_id,
            data={
                "date_from": fields.Date.to_string(self.period_start),
                "date_to": fields.Date.to_string(self.period_end),
                "company_id": self.company_id.id,
            },
        )

    # ------------------------------------------------------------------
    # Checks before talking to Urssaf
    # ------------------------------------------------------------------

    def _turnover_to_send(self):
        """{category code: Decimal} of the amounts to declare, checked."""
        self.ensure_one()
        rounding = self.currency_id.rounding or 0.01
        turnover = {}
        for line in self.line_ids:
            label = line.category_id.name
            if float_compare(line.amount, 0.0, precision_rounding=rounding) < 0:
                raise UserError(
                    self.env._(
                        "%(declaration)s: the amount to declare for %(category)s is negative.",
                        declaration=self.display_name,
                        category=label,
                    )
                )
            if not float_is_zero(line.amount - float_round(line.amount, precision_digits=2), precision_digits=6):
                raise UserError(
                    self.env._(
                        "%(declaration)s: the amount to declare for %(category)s has more than two decimals.",
                        declaration=self.display_name,
                        category=label,
                    )
                )
            turnover[line.category_id.code] = Decimal(str(float_round(line.amount, precision_digits=2))).quantize(
                Decimal("0.01")
            )
        return turnover

    def _amounts_snapshot(self):
        """What an estimate was made on: who, which period, which amounts.
        Declaring anything else needs a new estimate."""
        return json.dumps(
            {
                "partner": self.partner_id.id,
                "period": [str(self.period_start), str(self.period_end)],
                "turnover": {line.category_id.code: round(line.amount, 2) for line in self.line_ids},
            },
            sort_keys=True,
        )

    def _check_can_declare(self):
        """Refuse, with a clear message and before any call, what Urssaf would refuse."""
        self.ensure_one()
        today = fields.Date.context_today(self)
        if self.state not in ("estimated", "error") or self.urssaf_number:
            raise UserError(
                self.env._("%(declaration)s cannot be declared in its state.", declaration=self.display_name)
            )
        if not periods.is_period_ended(self.period_end, today):
            raise UserError(
                self.env._(
                    "%(declaration)s: the period ends on %(end)s; it can be declared from the next day.",
                    declaration=self.display_name,
                    end=format_date(self.env, self.period_end),
                )
            )
        if not self._urssaf_account_partner().urssaf_eligible:
            raise UserError(
                self.env._(
                    "%(partner)s is not eligible to tierce déclaration: %(reason)s",
                    partner=self.partner_id.display_name,
                    reason=self._urssaf_account_partner().urssaf_ineligibility_reason
                    or self.env._("check the Urssaf account."),
                )
            )
        self._check_mandate()
        self._turnover_to_send()
        if self._amounts_snapshot() != self.estimate_snapshot:
            raise UserError(
                self.env._(
                    "%(declaration)s: the amounts changed since the last estimate. Estimate again before declaring.",
                    declaration=self.display_name,
                )
            )

    def _check_mandate(self):
        """Urssaf answers only a tiers-déclarant that holds the mandate, in
        the environment the mandate was registered in."""
        mandate = self._active_mandate()
        if mandate:
            mandate._urssaf_check_environment()
        else:
            raise UserError(
                self.env._(
                    "%(partner)s has no active Urssaf mandate for %(company)s: register the signed mandate first.",
                    partner=self.partner_id.display_name,
                    company=self.company_id.name,
                )
            )

    def _active_mandate(self):
        return self.env["urssaf.mandate"].search(
            [
                ("partner_id", "=", self.partner_id.id),
                ("company_id", "=", self.company_id.id),
                ("state", "=", "active"),
            ],
            limit=1,
        )

    def _lock_for_urssaf(self):
        """Lock this declaration's row for the rest of the transaction.

        Two processes (two users, two scheduled runs) may try to send the same
        declaration at once: the second one finds the row locked and steps
        aside instead of sending it a second time. Returns False when locked
        elsewhere.
        """
        self.ensure_one()
        try:
            # A refused lock is an expected outcome here, not a bad query.
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL("SELECT id FROM %s WHERE id = %s FOR UPDATE NOWAIT", SQL.identifier(self._table), self.id)
                )
        except (psycopg2.errors.LockNotAvailable, psycopg2.errors.SerializationFailure):
            # Locked, or changed by a transaction that committed after ours
            # began: someone else is sending it (or has sent it).
            return False
        # Another transaction may have declared it before we got the lock.
        self.invalidate_recordset()
        return True

    def _lock_rows_for_urssaf(self):
        """``_lock_for_urssaf`` for many declarations in one query: returns
        those whose rows this transaction now holds, in their order; the rows
        another transaction holds are left out."""
        if not self:
            return self
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM %s WHERE id IN %s FOR UPDATE SKIP LOCKED",
                        SQL.identifier(self._table),
                        tuple(self.ids),
                    )
                )
                held = {row[0] for row in self.env.cr.fetchall()}
        except psycopg2.errors.SerializationFailure:
            # One of them changed since this transaction began: find which,
            # each on its own.
            return self.filtered(lambda declaration: declaration._lock_for_urssaf())
        self.invalidate_recordset()
        return self.filtered(lambda declaration: declaration.id in held)

    # ------------------------------------------------------------------
    # Estimate / declare / pay
    # ------------------------------------------------------------------

    def action_estimate(self):
        return self._run_batch("estimate")

    def action_declare(self):
        check_declarant(self.env)
        return self._run_batch("declare")

    def action_pay(self):
        check_declarant(self.env)
        return self._run_batch("pay")

    def _run_batch(self, step):
        """Run ``step`` on each declaration independently and say how it went.

        One declaration's failure never rolls back the others: each runs in a
        savepoint, and its error is kept on the declaration.
        """
        results = self._urssaf_process(step)
        if len(self) == 1 and results["failed"] and self.state != "error":
            # Refused before anything was sent: say why, change nothing.
            raise UserError(results["failed"][0][1])
        return self._batch_notification(step, results)

    def _urssaf_process(self, step, stop_after=None):
        """Run ``step`` on each declaration; sort them into done, skipped
        (locked elsewhere, nothing to do), unknown (Urssaf may have recorded
        it) and failed (with the reason). ``unreachable`` holds the failures
        where Urssaf could not be reached at all; ``not_attempted`` the
        declarations left as they were once ``stop_after`` of them in a row
        found Urssaf unreachable (None: every one is attempted).

        Each declaration is prepared (locked, checked, its request built) in
        this thread; the calls then leave through a pool of each company's
        ``urssaf_parallel_calls`` threads, which only run HTTP; each answer
        is recorded here as it arrives. The row locks taken while preparing
        hold until the transaction ends: nobody else sends these meanwhile.
        """
        results = {"done": self.browse(), "failed": [], "skipped": self.browse(), "unknown": self.browse()}
        results["unreachable"] = self.browse()
        results["not_attempted"] = self.browse()
        locked = self._lock_rows_for_urssaf()
        results["skipped"] |= self - locked
        clients = {}
        try:
            for company, declarations in locked.grouped("company_id").items():
                declarations._urssaf_process_calls(step, company, clients, results, stop_after)
        finally:
            for client in clients.values():
                client.close()
        return results

    def _urssaf_process_calls(self, step, company, clients, results, stop_after):
        """``_urssaf_process`` for the declarations of ``company``, whose
        rows this transaction holds: each one prepared when the pool has a
        thread free for its call, so that preparing the next requests and
        recording the answers overlap the calls in flight."""
        sent = []  # (declaration, record) of each call handed to the pool
        remaining = iter(self)

        def calls():
            for declaration in remaining:
                try:
                    with self.env.cr.savepoint():
                        ready = declaration._urssaf_prepare(step, clients, locked=True)
                except UserError as error:
                    self.env.invalidate_all()
                    results["failed"].append((declaration, str(error.args[0])))
                    continue
                if ready is False:
                    results["skipped"] |= declaration
                    continue
                client, call, record = ready
                sent.append((declaration, record))
                # Outside the savepoint: the pool may never come back for more.
                yield functools.partial(call, client)

        pool = UrssafCallPool(company._urssaf_parallel_calls(), stop_after=stop_after)
        # Closed at once if recording raises: the calls in flight end and no
        # other one starts.
        with contextlib.closing(pool.run(calls())) as answers:
            for index, outcome in answers:
                declaration, record = sent[index]
                declaration._urssaf_record_outcome(record, outcome, results)
        for index in pool.not_attempted:
            results["not_attempted"] |= sent[index][0]
        if pool.stopped:
            # Never prepared: the pool stopped before they were taken.
            results["not_attempted"] |= self.browse(declaration.id for declaration in remaining)

    def _urssaf_record_outcome(self, record, outcome, results):
        """Record one call's outcome on this declaration (in a savepoint of
        its own) and sort it into ``results``."""
        self.ensure_one()
        if outcome.error is not None and not isinstance(outcome.error, UrssafError):
            # A bug, not an answer of Urssaf's: it stops the run as before.
            raise outcome.error
        try:
            with self.env.cr.savepoint():
                record(outcome.value, outcome.error)
        except UserError as error:
            self.env.invalidate_all()
            results["failed"].append((self, str(error.args[0])))
            if isinstance(error, UrssafUnreachableError):
                results["unreachable"] |= self
            return
        if self.state == "error" and self.outcome_unknown:
            results["unknown"] |= self
        elif self.state == "error":
            results["failed"].append((self, self.error_message))
        else:
            results["done"] |= self

    def _urssaf_prepare(self, step, clients, locked=False):
        """Lock (unless ``locked``: this transaction holds the row already)
        and check this declaration for ``step`` and build its call.

        Returns False when there is nothing to send (locked elsewhere, done
        already), else ``(client, call, record)``: ``call(client)`` talks to
        Urssaf with plain values only (it runs in a pool thread: no ORM
        there), ``record(value, error)`` keeps what it gave, in this thread.
        """
        self.ensure_one()
        prepare = {
            "estimate": self._urssaf_prepare_estimate,
            "declare": self._urssaf_prepare_declare,
            "pay": self._urssaf_prepare_pay,
        }[step]
        if not locked and not self._lock_for_urssaf():
            return False
        prepared = prepare()
        if prepared is False:
            return False
        call, record = prepared
        company = self.company_id
        if company not in clients:
            clients[company] = company._urssaf_client()
            if company._urssaf_parallel_calls() > 1:
                clients[company].shared_backoff = SharedBackoff()
        return clients[company], call, record

    def _urssaf_step(self, step):
        """``step`` for this one declaration, its call made in this thread."""
        self.ensure_one()
        clients = {}
        try:
            prepared = self._urssaf_prepare(step, clients)
            if prepared is False:
                return False
            client, call, record = prepared
            try:
                value, error = call(client), None
            except UrssafError as caught:
                value, error = None, caught
            return record(value, error)
        finally:
            for client in clients.values():
                client.close()

    def _batch_notification(self, step, results):
        label = self._step_label(step)
        lines = [self.env._("%(step)s: %(count)s done.", step=label, count=len(results["done"]))]
        if results["skipped"]:
            lines.append(
                self.env._(
                    "Skipped, being processed elsewhere or nothing to do: %s",
                    ", ".join(results["skipped"].mapped("display_name")),
                )
            )
        if results["unknown"]:
            lines.append(
                self.env._(
                    "Outcome unknown, looked up at Urssaf on the next attempt: %s",
                    ", ".join(results["unknown"].mapped("display_name")),
                )
            )
        for declaration, message in results["failed"]:
            lines.append(
                self.env._(
                    "Failed: %(declaration)s: %(message)s", declaration=declaration.display_name, message=message
                )
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Urssaf"),
                "message": "\n".join(lines),
                "type": "warning" if results["failed"] or results["unknown"] else "success",
                "sticky": bool(results["failed"] or results["unknown"]),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _step_label(self, step):
        """The step's name in the user's language."""
        return dict(self._fields["error_step"]._description_selection(self.env))[step]

    def _state_label(self):
        return dict(self._fields["state"]._description_selection(self.env))[self.state]

    def _urssaf_fail(self, step, error):
        """The one way a client error ends a step, for every step.

        - Urssaf answered with an error, or may have recorded what was sent
          (outcome unknown): the declaration keeps the error and the step to
          retry, with a message in its chatter;
        - Urssaf could not be reached at all: nothing was sent, nothing
          changes, and the caller is told (a scheduled run stops after a few);
        - anything else was refused before sending: nothing changes.
        """
        text = urssaf_error_text(self.env, error)
        if isinstance(error, (UrssafApiError, UrssafOutcomeUnknown)):
            self._urssaf_write_logged(
                {
                    "state": "error",
                    "error_step": step,
                    "error_message": text,
                    # Only the look-up that declaring and paying start with
                    # settles an unknown outcome; a failed estimate does not.
                    "outcome_unknown": isinstance(error, UrssafOutcomeUnknown)
                    or (step == "estimate" and self.outcome_unknown),
                },
                self.env._("Urssaf %(step)s failed: %(error)s", step=self._step_label(step).lower(), error=text),
            )
            return True
        failure = UrssafUnreachableError if isinstance(error, UrssafTransportError) else UserError
        raise failure(
            self.env._(
                "%(step)s of %(declaration)s failed: %(error)s",
                step=self._step_label(step),
                declaration=self.display_name,
                error=text,
            )
        ) from error

    def _urssaf_estimate(self):
        return self._urssaf_step("estimate")

    def _urssaf_prepare_estimate(self):
        if self._urssaf_is_locked():
            raise UserError(self.env._("%(declaration)s is already declared.", declaration=self.display_name))
        turnover = self._turnover_to_send()
        self._check_mandate()
        self._urssaf_check_environment()
        identifier = self.partner_id._urssaf_identifier(self.company_id)
        period_start, period_end = self.period_start, self.period_end

        def call(client):
            return client.estimate(identifier, period_start, period_end, turnover)

        def record(estimate, error):
            if error is not None:
                return self._urssaf_fail("estimate", error)
            self._record_estimate(estimate)
            return True

        return call, record

    def _record_estimate(self, estimate):
        self.contribution_ids.filtered(lambda c: c.kind == "estimate").sudo().unlink()
        self._urssaf_write_logged(
            {
                "state": "estimated",
                "estimated_total": float(estimate.total),
                "estimate_snapshot": self._amounts_snapshot(),
                "error_message": False,
                "error_step": False,
                "contribution_ids": [
                    fields.Command.create(self._contribution_values("estimate", line)) for line in estimate.lines
                ],
            },
            self.env._(
                "Estimated by Urssaf: %(total)s of contributions on %(turnover)s of turnover.%(note)s",
                total=self._format_amount(estimate.total),
                turnover=self._format_amount(self.turnover_total),
                note=correlation_note(self.env, estimate),
            ),
        )

    def _contribution_values(self, kind, line):
        return {
            "kind": kind,
            "category_id": self.env["urssaf.activity.category"]._id_by_code(line.category) or False,
            "label": line.label,
            "base": float(line.base),
            "rate": float(line.rate),
            "amount": float(line.amount),
        }

    def _format_amount(self, amount):
        return formatLang(self.env, float(amount), currency_obj=self.currency_id)

    def _urssaf_declare(self):
        """Declare exactly once.

        The row is locked while it is declared, and Urssaf is first asked
        whether it already holds a declaration with this reference (an earlier
        answer lost to a time-out, a 5xx or a crash) before anything is sent.
        """
        return self._urssaf_step("declare")

    def _urssaf_prepare_declare(self):
        if self._urssaf_is_locked():
            return False
        self._check_can_declare()
        self._urssaf_check_environment()
        identifier = self.partner_id._urssaf_identifier(self.company_id)
        reference, period_start, period_end = self.reference_tiers, self.period_start, self.period_end
        turnover = self._turnover_to_send()

        def call(client):
            """(how, Urssaf's declaration) with how in found, declared, already."""
            existing = client.find_declaration_by_reference(identifier, reference)
            if existing:
                return "found", existing
            try:
                return "declared", client.declare(identifier, period_start, period_end, turnover, reference)
            except DeclarationAlreadyExists as error:
                found = client.find_declaration_by_number(identifier, error.declaration_number, period_start)
                if found is None:
                    raise
                return "already", found

        def record(value, error):
            # Where it went: a lost answer (outcome unknown) leaves it stamped.
            self._urssaf_stamp_environment()
            if error is not None:
                return self._urssaf_fail("declare", error)
            how, declaration = value
            self._record_declaration(
                declaration,
                {
                    "found": self.env._("found at Urssaf (sent earlier)"),
                    "declared": self.env._("declared"),
                    "already": self.env._("already declared at Urssaf"),
                }[how],
            )
            return True

        return call, record

    def _record_declaration(self, declaration, how):
        self.contribution_ids.filtered(lambda c: c.kind == "declared").sudo().unlink()
        remaining = declaration.remaining_due if declaration.remaining_due is not None else declaration.total
        is_paid = declaration.is_paid or (remaining == 0 and declaration.total == 0)
        self._urssaf_write_logged(
            {
                "state": "paid" if is_paid else "declared",
                "urssaf_number": declaration.number,
                "declared_at": _naive_utc(declaration.declared_at or fields.Datetime.now()),
                "amount_total": float(declaration.total),
                "remaining_due": float(remaining),
                "error_message": False,
                "error_step": False,
                "outcome_unknown": False,
                "contribution_ids": [
                    fields.Command.create(self._contribution_values("declared", line)) for line in declaration.lines
                ],
            },
            self.env._(
                "Urssaf declaration %(number)s %(how)s: %(total)s due by %(due)s.%(note)s",
                number=declaration.number,
                how=how,
                total=self._format_amount(declaration.total),
                due=format_date(self.env, declaration.due_date or self.due_date),
                note=correlation_note(self.env, declaration),
            ),
        )
        self._urssaf_store_register_rows()

    def _payment_sepa_mandate(self):
        self.ensure_one()
        mandate = self.sepa_mandate_id or self.env["urssaf.sepa.mandate"].search(
            [
                ("partner_id", "=", self.partner_id.id),
                ("company_id", "=", self.company_id.id),
                ("state", "=", "active"),
            ],
            order="signature_date desc, id desc",
            limit=1,
        )
        if not mandate or mandate.state != "active":
            raise UserError(
                self.env._(
                    "%(partner)s has no active SEPA mandate for %(company)s: register one before paying.",
                    partner=self.partner_id.display_name,
                    company=self.company_id.name,
                )
            )
        # The constraint holds for what is saved; this holds for what is sent.
        if mandate.partner_id != self.partner_id or mandate.company_id != self.company_id:
            raise UserError(
                self.env._(
                    "%(mandate)s is not a SEPA mandate of %(partner)s: Urssaf debits only the auto-entrepreneur's "
                    "own account.",
                    mandate=mandate.display_name,
                    partner=self.partner_id.display_name,
                )
            )
        return mandate

    def _urssaf_pay(self):
        """Pay what remains due, exactly once (same rules as declaring)."""
        return self._urssaf_step("pay")

    def _urssaf_prepare_pay(self):
        if self.state == "paid":
            return False
        if not self.urssaf_number or (self.state == "error" and self.error_step != "pay"):
            raise UserError(
                self.env._("%(declaration)s must be declared before it is paid.", declaration=self.display_name)
            )
        mandate = self._payment_sepa_mandate()
        # Paid only where it was declared, from a mandate registered there.
        self._urssaf_check_environment()
        mandate._urssaf_check_environment()
        identifier = self.partner_id._urssaf_identifier(self.company_id)
        number, period_start, iban = self.urssaf_number, self.period_start, mandate._iban()
        remaining = Decimal(str(self.remaining_due))

        def call(client):
            """(how, Urssaf's answer) with how in found_paid, paid, already."""
            current = client.find_declaration_by_number(identifier, number, period_start)
            if current is not None and (current.is_paid or current.remaining_due == 0):
                return "found_paid", current
            amount = current.remaining_due if current is not None and current.remaining_due is not None else remaining
            try:
                return "paid", client.pay(number, amount, iban)
            except PaymentAlreadyExists as error:
                return "already", error.payment_reference

        def record(value, error):
            if error is not None:
                return self._urssaf_fail("pay", error)
            how, answer = value
            if how == "found_paid":
                self._record_payment(None, answer, mandate, self.env._("found paid at Urssaf"))
            elif how == "already":
                self._record_payment(None, None, mandate, self.env._("already paid at Urssaf"), reference=answer)
            else:
                self._record_payment(answer, None, mandate, self.env._("ordered"))
            return True

        return call, record

    def _record_payment(self, payment, declaration, mandate, how, reference=None):
        values = {
            "state": "paid",
            "sepa_mandate_id": mandate.id,
            "remaining_due": 0.0,
            "error_message": False,
            "error_step": False,
            "outcome_unknown": False,
        }
        if payment is not None:
            values.update(
                {
                    "payment_amount": float(payment.amount),
                    "payment_reference": payment.reference,
                    "debit_date": payment.debit_date,
                }
            )
        elif reference:
            values["payment_reference"] = reference
        debit_date = values.get("debit_date") or self.debit_date
        self._urssaf_write_logged(
            values,
            self.env._(
                "Payment %(how)s: %(amount)s debited from %(iban)s%(date)s, reference %(reference)s.%(note)s",
                how=how,
                amount=self._format_amount(values.get("payment_amount") or self.payment_amount or self.amount_total),
                iban=mandate.iban_masked,
                date=self.env._(" on %s", format_date(self.env, debit_date)) if debit_date else "",
                reference=values.get("payment_reference") or self.payment_reference or self.env._("unknown"),
                note=correlation_note(self.env, payment or declaration),
            ),
        )
        self._urssaf_post_contributions()

    def action_cancel(self):
        for declaration in self:
            if declaration._urssaf_is_locked() or declaration.outcome_unknown:
                raise UserError(
                    self.env._(
                        "%(declaration)s is declared to Urssaf: it cannot be cancelled.",
                        declaration=declaration.display_name,
                    )
                )
        self._urssaf_write({"state": "cancelled"})
        return True

    def action_reset_to_draft(self):
        for declaration in self:
            if declaration._urssaf_is_locked():
                raise UserError(
                    self.env._(
                        "%(declaration)s is declared to Urssaf: it cannot go back to draft.",
                        declaration=declaration.display_name,
                    )
                )
            if declaration.outcome_unknown:
                # Urssaf may hold it: only a look-up (Declare) settles that.
                raise UserError(
                    self.env._(
                        "%(declaration)s may have been recorded by Urssaf: declare it again to look it up first.",
                        declaration=declaration.display_name,
                    )
                )
        self._urssaf_write({"state": "draft", "error_message": False, "error_step": False})
        return True

    def action_retry(self):
        """Run again the step that failed."""
        self.ensure_one()
        step = self.error_step or "estimate"
        if step in ("declare", "pay"):
            check_declarant(self.env)
        return self._run_batch(step)

    # ------------------------------------------------------------------
    # Scheduled action
    # ------------------------------------------------------------------

    @api.model
    def _cron_urssaf_declarations(self):
        """Daily: prepare the drafts of ended periods, declare them for the
        companies that enable it, and remind the accountants of deadlines.

        Commits after each auto-entrepreneur, so that a crash loses at most
        the one in flight and a rerun resumes without duplicates.
        """
        today = fields.Date.context_today(self)
        preparation = self.env["urssaf.declaration.preparation"]
        # Only the companies that declare for someone: an active mandate.
        mandates = self.env["urssaf.mandate"].sudo()._read_group([("state", "=", "active")], ["company_id"])
        left = 0
        for (company,) in mandates:
            declarations = self.with_company(company).with_context(allowed_company_ids=[company.id])
            partners = preparation._default_partners(company)
            if partners:
                preparation.with_company(company)._prepare(partners, company, today)
                self.env["ir.cron"]._commit_progress()
            if company.urssaf_auto_declare and company._urssaf_uses_job_queue():
                # Every worker and server of the database shares the work.
                declarations._auto_declare_enqueue(company, today)
            elif company.urssaf_auto_declare:
                todo = declarations.search_count(declarations._auto_declare_domain(company, today))
                run = declarations._auto_declare(company, today)
                # What the job's time budget left undone, one run line per
                # declaration processed.
                left += todo - len(run.line_ids)
            declarations._plan_deadline_activities(company, today)
            self.env["ir.cron"]._commit_progress()
        # Each company's run reports only its own work left: the job says what
        # all of them left, so that the cron runner calls it again at once.
        self.env["ir.cron"]._commit_progress(remaining=left)

    def _auto_declare_domain(self, company, today):
        return [
            ("company_id", "=", company.id),
            ("state", "in", ("draft", "estimated", "error")),
            ("urssaf_number", "=", False),
            ("period_end", "<", today),
            ("due_date", "<=", fields.Date.add(today, days=company.urssaf_auto_declare_days)),
        ]

    def _auto_declare(self, company, today, trigger="cron"):
        """Estimate and declare the declarations near their deadline, a
        chunk of auto-entrepreneurs per transaction, and keep a report of
        the run.

        Within a chunk, several calls are in flight at once (the company's
        ``urssaf_parallel_calls``); each chunk is committed with its report
        lines, so that a crash loses at most one chunk's bookkeeping, which
        the next run settles by looking each declaration up at Urssaf by its
        reference before sending anything.

        When Urssaf cannot be reached for several auto-entrepreneurs in a
        row, the run stops there: the others are left as they are, and the
        accountant gets one to-do for the whole run.
        """
        cron = self.env["ir.cron"]
        todo = self.search(self._auto_declare_domain(company, today))
        run = self.env["urssaf.run"].sudo().create({"company_id": company.id, "trigger": trigger})
        cron._commit_progress(remaining=len(todo))
        size = company._urssaf_chunk_size()
        for start in range(0, len(todo), size):
            chunk = todo[start : start + size]
            results = chunk._urssaf_auto_declare_batch()
            run._add_results(results)
            if results["not_attempted"]:
                run._add_not_attempted(todo[start + size :])
                break
            if not cron._commit_progress(len(chunk)):
                break
        run._finish()
        cron._commit_progress()
        return run

    def _auto_declare_enqueue(self, company, today):
        """With OCA's queue_job: split the run into jobs of a chunk of
        auto-entrepreneurs each, on the channel ``root.urssaf``, so that
        every worker of every server of the database shares it; one last job
        closes the run report once they are all done.

        One job per chunk: a chunk already waiting in the queue (the same
        declarations) is not queued twice. A job run again (retried after
        an error, or a worker killed) is safe: each declaration is locked,
        and looked up at Urssaf by its reference before anything is sent.
        """
        return self.search(self._auto_declare_domain(company, today))._urssaf_enqueue_run(company)

    def _urssaf_enqueue_run(self, company):
        """Queue these declarations of ``company`` as a scheduled run's jobs
        (see :meth:`_auto_declare_enqueue`); returns the run's report, or no
        record when the same chunks still wait in the queue."""
        from odoo.addons.queue_job.delay import group  # noqa: PLC0415 (queue_job is optional)

        Run = self.env["urssaf.run"].sudo()
        Run._urssaf_queue_job_setup()
        todo = self
        size = company._urssaf_chunk_size()
        parts = [todo[start : start + size].sudo() for start in range(0, len(todo), size)]
        keys = {chunk_key(self._name, "_urssaf_job_auto_declare", part.ids) for part in parts}
        waiting = (
            self.env["queue.job"]
            .sudo()
            .search_count(
                [("identity_key", "in", list(keys)), ("state", "in", ("wait_dependencies", "pending", "enqueued"))]
            )
        )
        if keys and waiting == len(keys):
            # The same chunks still wait in the queue (the workers are busy,
            # or stopped): queue nothing twice, open no second report.
            return Run
        run = Run.create({"company_id": company.id, "trigger": "cron"})
        if not todo:
            run._finish()
            return run
        chunks = []
        for chunk in parts:
            description = self.env._("Urssaf: declare %(count)s auto-entrepreneurs", count=len(chunk))
            chunks.append(
                chunk.delayable(
                    channel=URSSAF_CHANNEL, identity_key=chunk_identity, description=description
                )._urssaf_job_auto_declare(run.id)
            )
        finish = run.delayable(
            channel=URSSAF_CHANNEL, description=self.env._("Urssaf: close the report %s", run.name)
        )._urssaf_job_finish()
        group(*chunks).on_done(finish).delay()
        return run

    def _urssaf_enqueue_step(self, step):
        """With OCA's queue_job: run ``step`` (estimate, declare or pay) on
        these declarations through the job queue, a chunk of them per job on
        the channel ``root.urssaf``, one job per chunk (see
        :meth:`_auto_declare_enqueue`). For integrations and large
        selections; returns the delayables queued."""
        from odoo.addons.queue_job.delay import group  # noqa: PLC0415 (queue_job is optional)

        if step in ("declare", "pay"):
            check_declarant(self.env)
        self.env["urssaf.run"]._urssaf_queue_job_setup()
        jobs = []
        for company in self.company_id:
            mine = self.filtered(lambda d, company=company: d.company_id == company)
            size = company._urssaf_chunk_size()
            for start in range(0, len(mine), size):
                chunk = mine[start : start + size]
                description = self.env._(
                    "Urssaf: %(step)s %(count)s declarations", step=self._step_label(step).lower(), count=len(chunk)
                )
                jobs.append(
                    chunk.delayable(
                        channel=URSSAF_CHANNEL, identity_key=step_identity, description=description
                    )._urssaf_job_step(step)
                )
        if jobs:
            group(*jobs).delay()
        return jobs

    def _urssaf_job_step(self, step):
        """A queue_job job: ``step`` on a chunk of declarations (safe to run
        again: locked, looked up by reference before anything is sent)."""
        results = {}
        for company in self.company_id:
            mine = self.filtered(lambda d, company=company: d.company_id == company)
            env_company = mine.with_company(company).with_context(allowed_company_ids=[company.id])
            results[company.id] = env_company.exists()._urssaf_process(step)
        return self.env._(
            "%(done)s done, %(unknown)s outcome unknown, %(failed)s failed, %(skipped)s skipped.",
            done=sum(len(r["done"]) for r in results.values()),
            unknown=sum(len(r["unknown"]) for r in results.values()),
            failed=sum(len(r["failed"]) for r in results.values()),
            skipped=sum(len(r["skipped"]) for r in results.values()),
        )

    def _urssaf_job_auto_declare(self, run_id):
        """A queue_job job: one chunk of a scheduled run. Its report lines go
        to the run, whose counts the last job computes (two jobs writing the
        run's row at once would make one of them fail and start over)."""
        run = self.env["urssaf.run"].sudo().browse(run_id)
        company = run.company_id
        declarations = self.with_company(company).with_context(allowed_company_ids=[company.id]).exists()
        results = declarations._urssaf_auto_declare_batch()
        run._add_results(results, deferred=True)
        return self.env._(
            "%(done)s declared, %(unknown)s outcome unknown, %(failed)s failed, %(skipped)s skipped.",
            done=len(results["done"]),
            unknown=len(results["unknown"]),
            failed=len(results["failed"]),
            skipped=len(results["skipped"]) + len(results["not_attempted"]),
        )

    def _urssaf_auto_declare_batch(self):
        """Re-read the books, estimate, then declare these declarations;
        the results of the last step each one ran.

        An unattended run declares only figures it computed, or got from
        Urssaf, in this same run: never an estimate somebody left (or
        forged) earlier. A declaration whose last sending has an unknown
        outcome is still looked up at Urssaf by declaring, which does that
        before it sends anything: what Urssaf may hold is never sent twice.
        """
        results = {
            "done": self.browse(),
            "failed": [],
            "skipped": self.browse(),
            "unknown": self.browse(),
            "unreachable": self.browse(),
            "not_attempted": self.browse(),
        }
        # Another run is declaring them, or declared them since this run
        # began: step aside before reading the books again, which writes
        # the rows that run holds.
        ready = self._lock_rows_for_urssaf().filtered(lambda declaration: not declaration._urssaf_is_locked())
        results["skipped"] |= self - ready
        try:
            # The books of the whole chunk in one read...
            with self.env.cr.savepoint():
                ready._refresh_turnover()
        except UserError:
            self.env.invalidate_all()
            # ... or, when one of them cannot be read, each on its own.
            for declaration in ready:
                try:
                    with self.env.cr.savepoint():
                        declaration._refresh_turnover()
                except UserError as error:
                    self.env.invalidate_all()
                    results["failed"].append((declaration, str(error.args[0])))
                    ready -= declaration
        estimated = ready._urssaf_process("estimate", stop_after=UNREACHABLE_STOP_AFTER)
        for key in ("failed", "skipped", "unreachable", "not_attempted"):
            results[key] += estimated[key]
        if estimated["not_attempted"]:
            # Urssaf is unreachable: declare nothing more in this run.
            results["not_attempted"] |= estimated["done"] | estimated["unknown"]
            return results
        declared = (estimated["done"] | estimated["unknown"])._urssaf_process(
            "declare", stop_after=UNREACHABLE_STOP_AFTER
        )
        for key in ("done", "failed", "skipped", "unknown", "unreachable", "not_attempted"):
            results[key] += declared[key]
        return results

    def _plan_deadline_activities(self, company, today):
        """One to-do per declaration still not declared N days before its deadline."""
        limit = fields.Date.add(today, days=company.urssaf_reminder_days)
        todo = self.search(
            [
                ("company_id", "=", company.id),
                ("state", "in", ("draft", "estimated", "error")),
                ("due_date", "<=", limit),
            ]
        )
        activity_type = self.env.ref("mail.mail_activity_data_todo")
        for declaration in todo:
            if declaration.activity_ids.filtered(lambda a: a.activity_type_id == activity_type):
                continue
            declaration.activity_schedule(
                "mail.mail_activity_data_todo",
                date_deadline=declaration.due_date,
                summary=self.env._("Urssaf declaration due on %s", format_date(self.env, declaration.due_date)),
                user_id=(declaration.user_id or company.urssaf_responsible_user_id or self.env.user).id,
            )

    # ------------------------------------------------------------------
    # Contributions in the books of the auto-entrepreneur's own company
    # ------------------------------------------------------------------

    contribution_move_id = fields.Many2one(
        "account.move",
        string="Contributions entry",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The entry booking these contributions in the auto-entrepreneur's own company, posted when the "
        "declaration was paid (when that company posts them: see its Urssaf settings).",
    )

    def _urssaf_books_company(self):
        """The company keeping the auto-entrepreneur's own books, when it
        posts its Urssaf contributions; empty otherwise (a platform's
        auto-entrepreneur: the debit is not in the platform's books)."""
        self.ensure_one()
        Company = self.env["res.company"].sudo()
        account = (
            self.env["urssaf.account"]
            .sudo()
            .search([("partner_id", "=", self.partner_id.id), ("company_id", "=", self.company_id.id)], limit=1)
        )
        if account.turnover_source != "customer_invoices":
            return Company
        company = Company.search([("partner_id", "=", self.partner_id.id)], limit=1)
        return company if company.urssaf_post_contributions else Company

    def _urssaf_post_contributions(self):
        """Book the paid contributions in the auto-entrepreneur's own
        company, then reconcile the bank's SEPA debit with them if its
        statement line is already there.

        Urssaf holds the payment whatever happens here: a posting that fails
        (an archived account, an archived journal) is told in the chatter, and the
        payment stays recorded.
        """
        self.ensure_one()
        if self.contribution_move_id:
            return
        company = self._urssaf_books_company()
        if not company or self.currency_id.is_zero(self.amount_total):
            return
        try:
            with self.env.cr.savepoint():
                move = self._urssaf_create_contribution_move(company)
        except (UserError, ValidationError) as error:
            self.message_post(
                body=self.env._(
                    "The contributions could not be posted in %(company)s: %(error)s",
                    company=company.name,
                    error=error.args[0],
                )
            )
            return
        self._urssaf_write({"contribution_move_id": move.id})
        self.message_post(
            body=self.env._(
                "Contributions posted in %(company)s: %(move)s.", company=company.name, move=move.display_name
            )
        )
        self._urssaf_reconcile_debit()

    def _urssaf_contribution_move_values(self, company):
        """The contributions entry: the expense (the versement libératoire
        on the owner's account) against what is owed to Urssaf."""
        contributions = self.declared_contribution_ids
        income_tax = sum(contributions.filtered(lambda c: c.label == VERSEMENT_LIBERATOIRE_LABEL).mapped("amount"))
        total = self.amount_total
        name = self.env._(
            "Urssaf contributions %(partner)s, %(number)s", partner=self.partner_id.name, number=self.urssaf_number
        )
        lines = [
            (company.urssaf_contribution_account_id, total - income_tax),
            (company.urssaf_income_tax_account_id, income_tax),
            (company.urssaf_payable_account_id, -total),
        ]
        return {
            "move_type": "entry",
            "company_id": company.id,
            "journal_id": company.urssaf_contribution_journal_id.id,
            "date": self.debit_date or self.due_date,
            "ref": self.payment_reference or self.urssaf_number,
            "line_ids": [
                fields.Command.create(
                    {
                        "name": name,
                        "account_id": account.id,
                        "currency_id": self.currency_id.id,
                        "amount_currency": amount,
                    }
                )
                for account, amount in lines
                if not self.currency_id.is_zero(amount)
            ],
        }

    def _urssaf_create_contribution_move(self, company):
        move = (
            self.env["account.move"].sudo().with_company(company).create(self._urssaf_contribution_move_values(company))
        )
        move.action_post()
        return move

    def _urssaf_payable_line(self):
        """The contributions entry's line owed to Urssaf, not settled yet."""
        self.ensure_one()
        move = self.contribution_move_id.sudo()
        payable = move.company_id.urssaf_payable_account_id
        return move.line_ids.filtered(lambda line: line.account_id == payable and not line.reconciled)

    def _urssaf_reconcile_debit(self, statement_lines=None):
        """Reconcile the bank statement line of Urssaf's SEPA debit with the
        contributions entry: the line of that amount whose label holds the
        payment reference, else the only one of that amount booked within a
        few days of the debit date. Returns the statement line, if any."""
        self.ensure_one()
        payable_line = self._urssaf_payable_line()
        if not payable_line:
            return self.env["account.bank.statement.line"]
        company = payable_line.company_id
        StatementLine = self.env["account.bank.statement.line"].sudo()
        amount = -payable_line.amount_residual
        if statement_lines is None:
            statement_lines = StatementLine.search(
                [
                    ("company_id", "=", company.id),
                    ("is_reconciled", "=", False),
                    ("amount", "=", -amount),
                ]
            )
        st_line = StatementLine._urssaf_debit_line(
            statement_lines, amount, self.payment_reference, self.debit_date or self.due_date
        )
        if st_line:
            st_line._urssaf_reconcile_with(payable_line)
            self.message_post(
                body=self.env._("Urssaf's SEPA debit reconciled with the bank statement line %s.", st_line.display_name)
            )
        return st_line

    def action_open_contribution_move(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": self.contribution_move_id.id,
            "view_mode": "form",
        }
