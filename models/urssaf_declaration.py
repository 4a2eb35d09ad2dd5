# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging
import uuid
from datetime import timezone
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_compare, float_is_zero, float_round
from odoo.tools.misc import format_date, formatLang

from ..urssaf_api import periods
from ..urssaf_api.exceptions import (
    DeclarationAlreadyExists,
    PaymentAlreadyExists,
    UrssafApiError,
    UrssafError,
    UrssafOutcomeUnknown,
    UrssafTransportError,
)
from .urssaf_common import (
    PERIODICITY_SELECTION,
    PERIODICITY_TO_API,
    check_declarant,
    correlation_note,
    euro,
    field_label,
    urssaf_error_text,
    urssaf_today,
)

_logger = logging.getLogger(__name__)

STATES = [
    ("draft", "Draft"),
    ("estimated", "Estimated"),
    ("declared", "Declared"),
    ("ordered", "Payment ordered"),
    ("paid", "Paid"),
    ("error", "Error"),
    ("cancelled", "Cancelled"),
]
STEPS = [("estimate", "Estimate"), ("declare", "Declare"), ("pay", "Pay")]
# Not settled yet: late once the due date has passed.
UNSETTLED_STATES = ("draft", "estimated", "declared", "error")
# Once Urssaf holds the declaration, only what Urssaf says may change it.
LOCKED_STATES = ("declared", "ordered", "paid")
# Paid at Urssaf: the payment ordered (debited on its debit date), or debited.
PAYMENT_STATES = ("ordered", "paid")
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


class UrssafUnreachableError(UserError):
    """Urssaf could not be reached and nothing was sent: try again later."""


class UrssafDeclaration(models.Model):
    """The declaration of an auto-entrepreneur's collected turnover for a period."""

    _name = "urssaf.declaration"
    _description = "Urssaf declaration"
    _inherit = ["mail.thread", "mail.activity.mixin", "urssaf.environment.mixin", "urssaf.protected.mixin"]
    _order = "period_start desc, partner_id, id desc"
    _check_company_auto = True
    # Filled only by the addon's own steps, from the books and from Urssaf's
    # answers: no user writes them, whatever the client or the group.
    _urssaf_protected_fields = frozenset(
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
            "debit_rejected",
            "rejected_payment_references",
            "contribution_ids",
            "estimated_contribution_ids",
            "declared_contribution_ids",
            "urssaf_environment",
            "contribution_move_id",
            "collected_currency_id",
            "collected_amount_currency",
            "currency_id",
        }
    )
    # A declaration a user creates always starts as a draft.
    _urssaf_protected_defaults = {"state": "draft"}

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
    # Stored, so that the amounts sum in grouped lists, pivots and graphs
    # (Odoo aggregates a monetary field only by a stored currency).
    currency_id = fields.Many2one("res.currency", compute="_compute_currency_id", store=True)
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
    days_late = fields.Integer(
        string="Days late",
        compute="_compute_days_late",
        help="Days since the due date of a declaration not paid yet.",
    )
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
    debit_rejected = fields.Boolean(
        string="Debit rejected",
        readonly=True,
        copy=False,
        tracking=True,
        help="The auto-entrepreneur's bank rejected Urssaf's SEPA debit of the last payment (insufficient funds, "
        "closed account): the contributions are due again. Pay again once the account is settled.",
    )
    rejected_payment_references = fields.Char(
        readonly=True,
        copy=False,
        help="The references of the payments whose debit was rejected: a bank line naming one of them is not the "
        "debit of this declaration's payment.",
    )

    _reference_tiers_unique = models.UniqueIndex("(reference_tiers)", "The reference sent to Urssaf must be unique.")
    _one_per_period = models.UniqueIndex(
        "(partner_id, company_id, period_start) WHERE state != 'cancelled'",
        "An auto-entrepreneur has only one declaration per period.",
    )

    # The euro whatever the company: company_id, always set, only triggers
    # the computation of new declarations (a stored field depending on
    # nothing is computed only when its column is created, on update).
    @api.depends("company_id")
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

    @api.depends("due_date", "state")
    @api.depends_context("date")
    def _compute_days_late(self):
        today = fields.Date.context_today(self)
        for declaration in self:
            late = declaration.state in UNSETTLED_STATES and declaration.due_date and declaration.due_date < today
            declaration.days_late = (today - declaration.due_date).days if late else 0

    @api.depends("line_ids.amount", "line_ids.computed_amount")
    def _compute_totals(self):
        for declaration in self:
            declaration.turnover_total = sum(declaration.line_ids.mapped("amount"))
            declaration.has_adjustment = any(line.is_adjusted for line in declaration.line_ids)

    # ------------------------------------------------------------------
    # Who writes what: the legal record
    # ------------------------------------------------------------------

    @api.model
    def _urssaf_create_values(self, vals_list):
        vals_list = [dict(vals) for vals in super()._urssaf_create_values(vals_list)]
        # The period checked is the one stored, whether sent or defaulted.
        vals_list = self._urssaf_values_with_defaults(
            vals_list, ("partner_id", "company_id", "period_start", "period_end")
        )
        for vals in vals_list:
            self._urssaf_fill_period_values(vals)
            # Generated once, never changed: Urssaf finds the declaration by it.
            vals.setdefault("reference_tiers", f"ODOO-{uuid.uuid4().hex}")
        return vals_list

    def write(self, vals):
        # What Urssaf holds is locked for everybody, the addon's steps included.
        for declaration in self:
            declaration._urssaf_check_unlocked(set(vals))
        if self.env.su:
            return super().write(vals)
        # Refused before the period is looked at: the field named is the
        # one written, whatever else is wrong.
        self._urssaf_refuse_protected(vals)
        period_values = {}
        for declaration in self:
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
            declaration._urssaf_write(values)
        return result

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
        if self.state in PAYMENT_STATES:
            frozen |= PAID_FIELDS
        fnames = frozen & set(fnames)
        if fnames:
            fname = sorted(fnames, key=list(self._fields).index)[0]
            raise UserError(
                self.env._(
                    "%(declaration)s is declared to Urssaf (%(number)s): “%(field)s” can no longer be changed.",
                    declaration=self.display_name,
                    number=self.urssaf_number or self._state_label(),
                    field=what or field_label(self, fname),
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
                        field=field_label(self, "sepa_mandate_id"),
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
        today = urssaf_today(self)
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

    def _urssaf_prepare_declare(self):
        """Declare exactly once.

        The row is locked while it is declared (the run engine holds it from
        ``_lock_rows_for_urssaf`` to the end of the transaction), and the
        call first asks Urssaf whether it already holds a declaration with
        this reference (an earlier answer lost to a time-out, a 5xx or a
        crash) before anything is sent.
        """
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
        self._urssaf_close_deadline_todos()
        self._urssaf_post_contributions()

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

    def _urssaf_prepare_pay(self):
        """Pay what remains due, exactly once (same rules as declaring: the
        row locked, the payment looked up at Urssaf before one is sent)."""
        if self.state in PAYMENT_STATES:
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
        today = fields.Date.context_today(self)

        def confirm(client, payment):
            """Urssaf's declaration once a debit due today was taken (None
            when the debit is later, or the look-up failed: the daily run
            asks again from the debit date on)."""
            if not payment.debit_date or payment.debit_date > today:
                return None
            try:
                return client.find_declaration_by_number(identifier, number, period_start)
            except UrssafError:
                # The payment is made: never fail it for the look-up after it.
                return None

        def call(client):
            """(how, Urssaf's answer) with how in found_paid, paid, already."""
            current = client.find_declaration_by_number(identifier, number, period_start)
            if current is not None and (current.is_paid or current.remaining_due == 0):
                return "found_paid", current
            amount = current.remaining_due if current is not None and current.remaining_due is not None else remaining
            try:
                payment = client.pay(number, amount, iban)
            except PaymentAlreadyExists as error:
                return "already", error.payment_reference
            return "paid", (payment, confirm(client, payment))

        def record(value, error):
            if error is not None:
                return self._urssaf_fail("pay", error)
            how, answer = value
            if how == "found_paid":
                self._record_payment(None, answer, mandate, self.env._("found paid at Urssaf"))
            elif how == "already":
                self._record_payment(None, None, mandate, self.env._("already paid at Urssaf"), reference=answer)
            else:
                payment, confirmed = answer
                self._record_payment(payment, None, mandate, self.env._("ordered"), confirmed=confirmed)
            return True

        return call, record

    def _record_payment(self, payment, declaration, mandate, how, reference=None, confirmed=None):
        """Record a payment Urssaf holds: ``payment`` the one just made (with
        ``confirmed``, Urssaf's declaration once its debit was taken, when it
        was due today), or ``declaration`` as Urssaf found it paid, or only
        the ``reference`` of a payment it already held."""
        values = {
            "state": "paid",  # or ordered until its debit is confirmed, below
            "sepa_mandate_id": mandate.id,
            "remaining_due": 0.0,
            "error_message": False,
            "error_step": False,
            "outcome_unknown": False,
            "debit_rejected": False,
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
        if (
            payment is not None
            and debit_date
            and (debit_date > fields.Date.context_today(self) or not self._urssaf_debit_taken(confirmed))
        ):
            # Urssaf debits the account on the debit date, and the bank may
            # reject the debit: paid once Urssaf confirms it from then on
            # (the scheduled action), or once the bank's debit is matched.
            values["state"] = "ordered"
        body = self.env._(
            "Payment %(how)s: %(amount)s debited from %(iban)s%(date)s, reference %(reference)s.%(note)s",
            how=how,
            amount=self._format_amount(values.get("payment_amount") or self.payment_amount or self.amount_total),
            iban=mandate.iban_masked,
            date=self.env._(" on %s", format_date(self.env, debit_date)) if debit_date else "",
            reference=values.get("payment_reference") or self.payment_reference or self.env._("unknown"),
            note=correlation_note(self.env, payment or declaration),
        )
        # Its debit was due today, and Urssaf says it was not taken: due
        # again at once (the contributions are not booked as paid).
        rejected = confirmed is not None and values["state"] == "ordered"
        if rejected:
            rejection, sentence = self._urssaf_debit_rejected_values(
                confirmed, values.get("payment_amount"), debit_date, values.get("payment_reference")
            )
            values.update(rejection)
            body = f"{body} {sentence}"
        self._urssaf_write_logged(values, body)
        self._urssaf_post_contributions()
        if rejected:
            self._urssaf_debit_rejected_todo()

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
