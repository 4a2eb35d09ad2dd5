# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import functools
import logging
from datetime import timedelta

from stdnum import exceptions as stdnum_exceptions
from stdnum.fr import nir as stdnum_nir
from stdnum.fr import siret as stdnum_siret

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.misc import format_date

from ..urssaf_api.contributions import acre_applies, acre_end
from ..urssaf_api.exceptions import UrssafError, UrssafNotFoundError, UrssafValidationError
from ..urssaf_api.models import Identifier
from ..urssaf_api.validation import validate_nir
from .urssaf_common import (
    DECLARANT,
    PERIODICITY_FROM_API,
    PERIODICITY_SELECTION,
    check_declarant,
    correlation_note,
    field_label,
    urssaf_error_text,
    urssaf_user_error,
)

_logger = logging.getLogger(__name__)

# An account is checked again by the daily scheduled action after this delay.
RECHECK_AFTER = timedelta(days=7)

IDENTIFIER_TYPE_SELECTION = [("siret", "SIRET"), ("nir", "NIR")]
TRADE_SELECTION = [("commercant", "Trader"), ("artisan", "Craftsman"), ("liberal", "Liberal profession")]
TURNOVER_SOURCE_SELECTION = [
    ("customer_invoices", "Customer invoices of its own company"),
    ("vendor_bills", "Vendor bills from this partner"),
]
ACCOUNT_STATE_SELECTION = [
    ("unchecked", "Not checked"),
    ("eligible", "Eligible"),
    ("not_eligible", "Not eligible"),
    ("unknown", "Unknown to Urssaf"),
]

# Passed in the context by the partner's fields while they write the
# account of the current company field by field: the default category is
# then checked once they are all written (``res.partner``'s own constraint).
# An object, not a flag: a context sent over RPC cannot hold it.
PARTNER_WRITE = object()


class UrssafAccount(models.Model):
    """What one company knows of an auto-entrepreneur's Urssaf account.

    Partners are shared between the companies of a database, but the
    tiers-déclarant's data is not: the NIR, how the auto-entrepreneur is
    identified and declared, and what Urssaf answered to the account check
    belong to the company that declares for it. Each company keeps its own
    record, which only its users see (record rule on the company); the
    partner's ``urssaf_*`` fields show and edit the record of the current
    company.
    """

    _name = "urssaf.account"
    _description = "Urssaf account of an auto-entrepreneur"
    _inherit = ["mail.thread", "urssaf.protected.mixin", "urssaf.batch.mixin", "urssaf.sandbox.ribbon.mixin"]
    _order = "partner_id, company_id"
    _check_company_auto = True
    # What the account check (Comptes) writes, and nobody else: a user who
    # could write them would make an ineligible auto-entrepreneur declarable.
    _urssaf_protected_fields = frozenset(
        {
            "state",
            "eligible",
            "ineligibility_reason",
            "periodicity",
            "activity_start",
            "category_ids",
            "versement_liberatoire",
            "checked_at",
            # The last period the auto-entrepreneur was e-mailed as late for
            # want of a mandate: written by the daily run only, so that no
            # period is told twice.
            "portal_late_period_end",
        }
    )
    _urssaf_protected_defaults = {"state": "unchecked"}

    partner_id = fields.Many2one(
        "res.partner",
        string="Auto-entrepreneur",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
        tracking=True,
    )
    company_id = fields.Many2one(
        "res.company",
        string="Declaring company",
        required=True,
        index=True,
        ondelete="cascade",
        default=lambda self: self.env.company,
    )
    is_auto_entrepreneur = fields.Boolean(
        string="Is an auto-entrepreneur",
        default=True,
        tracking=True,
        help="This partner is an auto-entrepreneur whose Urssaf declarations this company makes as tiers-déclarant.",
    )
    # Stored compact (15 characters); people read and type it formatted
    # through nir_formatted. Declarants only: the NIR is regulated. Never
    # tracked: it must not reach the chatter.
    nir = fields.Char(string="NIR", groups=DECLARANT, copy=False)
    nir_formatted = fields.Char(
        string="Social security number (NIR)",
        compute="_compute_nir_formatted",
        inverse="_inverse_nir_formatted",
        groups=DECLARANT,
        help="15 characters with the 2-digit key; 2A/2B for Corsica.",
    )
    # The partner's Company ID, so that an import of the accounts carries
    # it (validated as a SIRET by the partner's own constraint).
    siret = fields.Char(
        string="SIRET",
        related="partner_id.company_registry",
        readonly=False,
        help="The auto-entrepreneur's SIRET: the Company ID of its contact.",
    )
    identifier_type = fields.Selection(
        IDENTIFIER_TYPE_SELECTION,
        string="Identified at Urssaf by",
        default="siret",
        tracking=True,
        help="Which identifier is sent to the Urssaf API: the SIRET (the partner's Company ID) or the NIR.",
    )
    category_id = fields.Many2one(
        "urssaf.activity.category",
        string="Default activity category",
        tracking=True,
        help="Category of the turnover whose product says nothing else.",
    )
    trade = fields.Selection(
        TRADE_SELECTION,
        tracking=True,
        help="Drives the training contribution (CFP) and the chamber fees (TFC).",
    )
    turnover_source = fields.Selection(
        TURNOVER_SOURCE_SELECTION,
        string="Turnover source",
        default="vendor_bills",
        tracking=True,
        help="Customer invoices: the auto-entrepreneur keeps its books in this "
        "database, as the company whose partner this is.\n"
        "Vendor bills: a platform pays the auto-entrepreneur for its work "
        "(self-billing or supplier bills).",
    )
    # What the account check (Comptes) found: it describes the account of the
    # identifier checked, so a copy does not inherit it.
    state = fields.Selection(
        ACCOUNT_STATE_SELECTION,
        string="Urssaf account",
        default="unchecked",
        required=True,
        readonly=True,
        copy=False,
        help="What Urssaf answered to the last account check (Comptes).",
    )
    eligible = fields.Boolean(string="Eligible to tierce déclaration", readonly=True, copy=False)
    ineligibility_reason = fields.Char(string="Urssaf's reason", readonly=True, copy=False)
    periodicity = fields.Selection(PERIODICITY_SELECTION, string="Declaration periodicity", readonly=True, copy=False)
    activity_start = fields.Date(string="Activity start", readonly=True, copy=False)
    category_ids = fields.Many2many(
        "urssaf.activity.category",
        "urssaf_account_activity_category_rel",
        "account_id",
        "category_id",
        string="Categories at Urssaf",
        readonly=True,
        copy=False,
    )
    versement_liberatoire = fields.Boolean(
        string="Versement libératoire",
        readonly=True,
        copy=False,
        help="The auto-entrepreneur pays its income tax with its contributions.",
    )
    checked_at = fields.Datetime(string="Urssaf account checked on", readonly=True, copy=False)
    # The API's account answer (Comptes) does not say whether the
    # auto-entrepreneur benefits from ACRE: a declarant records it from the
    # ACRE certificate the auto-entrepreneur gave the accountant.
    acre = fields.Boolean(
        string="ACRE",
        tracking=True,
        copy=False,
        help="The auto-entrepreneur benefits from the ACRE (aid to business creators), as its certificate says: "
        "reduced social contributions from the activity start to the end of the third calendar quarter after "
        "the start quarter. Urssaf applies it; the account check does not tell it.",
    )
    acre_end = fields.Date(
        string="ACRE until",
        compute="_compute_acre",
        help="The last day the ACRE covers: the end of the third calendar quarter after the activity start's.",
    )
    acre_current = fields.Boolean(
        string="ACRE covers the current period",
        compute="_compute_acre",
        help="The declaration of the current period still gets the reduced ACRE rate.",
    )

    # Whether this company may declare and pay for the auto-entrepreneur:
    # searched in SQL against this account's own company (the cockpit's
    # counts and the lists' filters).
    has_active_mandate = fields.Boolean(
        string="Active mandate",
        compute="_compute_has_active_mandates",
        search="_search_has_active_mandate",
        help="Urssaf holds an active tierce-déclaration mandate of the auto-entrepreneur for this company.",
    )
    has_active_sepa_mandate = fields.Boolean(
        string="Active SEPA mandate",
        compute="_compute_has_active_mandates",
        search="_search_has_active_sepa_mandate",
        help="Urssaf holds an active SEPA direct-debit mandate of the auto-entrepreneur for this company.",
    )

    _partner_company_unique = models.Constraint(
        "UNIQUE(partner_id, company_id)",
        "An auto-entrepreneur has one Urssaf account per company.",
    )

    @api.model
    def get_import_templates(self):
        """The template of Odoo's import (Favorites > Import records)."""
        return [
            {
                "label": self.env._("Import template for auto-entrepreneurs' Urssaf accounts"),
                "template": "/l10n_fr_urssaf_tierce_declaration/static/csv/urssaf_account_import_template.csv",
            }
        ]

    @api.depends("partner_id", "company_id")
    def _compute_display_name(self):
        for account in self:
            account.display_name = self.env._(
                "%(partner)s (%(company)s)",
                partner=account.partner_id.display_name or "",
                company=account.company_id.name or "",
            )

    @api.depends("acre", "activity_start")
    @api.depends_context("date")
    def _compute_acre(self):
        today = fields.Date.context_today(self)
        for account in self:
            if account.acre and account.activity_start:
                account.acre_end = acre_end(account.activity_start)
                account.acre_current = acre_applies(account.activity_start, today)
            else:
                account.acre_end = False
                account.acre_current = False

    @api.depends("nir")
    def _compute_nir_formatted(self):
        for account in self:
            account.nir_formatted = stdnum_nir.format(account.nir) if account.nir else False

    def _inverse_nir_formatted(self):
        for account in self:
            account.nir = account.nir_formatted or False

    # ------------------------------------------------------------------
    # Writing: the NIR compact, the check's results by the check only
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._compact_nir(vals)
        # The ACRE checked is the one stored, whether sent or defaulted.
        for vals in self._urssaf_values_with_defaults(vals_list, ("acre", "partner_id", "activity_start")):
            if vals.get("acre"):
                self._check_acre_start_known(vals.get("partner_id"), vals.get("activity_start"))
        return super().create(vals_list)

    def write(self, vals):
        self._compact_nir(vals)
        if vals.get("acre"):
            for account in self:
                account._check_acre_start_known(
                    account.partner_id.id, vals.get("activity_start", account.activity_start)
                )
        return super().write(vals)

    def _check_acre_start_known(self, partner_id, activity_start):
        """ACRE runs from the activity start Urssaf knows: setting it needs
        the account checked first. Checked before writing, not as a
        constraint: a later check that finds no account must still be
        recorded."""
        if not activity_start:
            raise ValidationError(
                self.env._(
                    "%(field)s of %(partner)s: its activity start is not known yet; check its Urssaf account first.",
                    field=field_label(self, "acre"),
                    partner=self.env["res.partner"].browse(partner_id).display_name,
                )
            )

    @staticmethod
    def _compact_nir(vals):
        if vals.get("nir"):
            vals["nir"] = stdnum_nir.compact(vals["nir"])

    def _check_result_guard(self, vals, field_names):
        """Refuse a user's write of what only the account check sets,
        through another model's fields (the partner's ``urssaf_*`` fields).

        :param field_names: ``{name in vals: account field}``
        """
        if not self.env.su:
            self._urssaf_refuse_protected({field_names[fname] for fname in vals if fname in field_names})

    @api.constrains("nir")
    def _check_nir(self):
        for account in self.sudo():
            if account.nir:
                reason = nir_error(self.env, account.nir)
                if reason:
                    # The value itself is never repeated: it is a NIR.
                    raise ValidationError(
                        self.env._(
                            "%(field)s of %(partner)s: %(reason)s",
                            field=field_label(self, "nir_formatted"),
                            partner=account.partner_id.display_name,
                            reason=reason,
                        )
                    )

    @api.constrains("is_auto_entrepreneur", "category_id")
    def _check_default_category(self):
        if self.env.context.get("urssaf_partner_write") is PARTNER_WRITE:
            return
        self._urssaf_check_default_category()

    def _urssaf_check_default_category(self):
        """A period without receipts is still declared, at zero, in the
        auto-entrepreneur's default category: an auto-entrepreneur without
        one could not be declared."""
        lacking = self.sudo().filtered(lambda account: account.is_auto_entrepreneur and not account.category_id)
        if lacking:
            raise ValidationError(
                self.env._(
                    "%(field)s is required for an auto-entrepreneur: a period without receipts is declared at zero "
                    "in it. Set it on: %(accounts)s.",
                    field=field_label(self, "category_id"),
                    accounts=", ".join(lacking.mapped("display_name")),
                )
            )

    @api.constrains("is_auto_entrepreneur", "identifier_type", "partner_id")
    def _check_siret(self):
        for account in self.sudo():
            if account.is_auto_entrepreneur:
                account.partner_id._urssaf_check_siret_value()

    # ------------------------------------------------------------------
    # The account check (Comptes)
    # ------------------------------------------------------------------

    def _urssaf_identifier(self):
        """How Urssaf knows this auto-entrepreneur; a UserError when it can't."""
        self.ensure_one()
        account = self.sudo()
        partner = account.partner_id
        if account.identifier_type == "nir":
            if not account.nir:
                raise UserError(
                    self.env._(
                        "%(partner)s is identified at Urssaf by NIR, but has no NIR.", partner=partner.display_name
                    )
                )
            values = {"nir": account.nir}
        else:
            if not partner.company_registry:
                raise UserError(
                    self.env._(
                        "%(partner)s is identified at Urssaf by SIRET, but its Company ID (SIRET) is empty.",
                        partner=partner.display_name,
                    )
                )
            values = {"siret": stdnum_siret.compact(partner.company_registry)}
        try:
            return Identifier(**values)
        except UrssafValidationError:
            # The client's message would be French and about the API's field;
            # the value itself is never repeated (it may be a NIR).
            raise UserError(
                self.env._(
                    "The %(identifier)s of %(partner)s is not valid: correct it before asking Urssaf.",
                    identifier=dict(self._fields["identifier_type"]._description_selection(self.env)).get(
                        account.identifier_type or "siret"
                    ),
                    partner=partner.display_name,
                )
            ) from None

    @api.model
    def _urssaf_identifiers_of(self, records):
        """``record.partner_id._urssaf_identifier(record.company_id)`` of
        each of ``records`` (mandates, SEPA mandates), their accounts read in
        one search for all: ``{record id: callable}``, each callable returning
        the identifier or raising the UserError that says why there is none
        (so that the records are checked in their order)."""
        accounts = {
            (account.partner_id.id, account.company_id.id): account
            for account in self.search(
                [("partner_id", "in", records.partner_id.ids), ("company_id", "in", records.company_id.ids)]
            )
        }

        def identifier(record):
            account = accounts.get((record.partner_id.id, record.company_id.id))
            if account and account.is_auto_entrepreneur:
                return account._urssaf_identifier
            # The partner's own method says why there is none.
            return functools.partial(record.partner_id._urssaf_identifier, record.company_id)

        return {record.id: identifier(record) for record in records}

    def action_urssaf_check(self):
        """Ask Urssaf (Comptes) for eligibility and periodicity of these
        accounts, several calls in flight (the company's *Urssaf calls in
        parallel*); a summary notification once they are all answered."""
        check_declarant(self.env)
        # The check rewrites the account: only who may change it asks.
        self.check_access("write")
        # Every account's identifier is checked before the first call.
        checked = {account.id: account._urssaf_identifier() for account in self}
        return self._urssaf_batch_send("check", checked)

    def _urssaf_batch_label(self, step):
        return self.env._("Check accounts")

    def _urssaf_batch_done_since(self, step, since):
        # Only the eligible: the reason of a refusal is told again.
        return bool(self.state == "eligible" and self.checked_at and self.checked_at >= since)

    def _urssaf_batch_prepare(self, step, identifier=None):
        """The account check's call (plain values only: it runs in a pool
        thread) and what records its answer (in the run's thread)."""
        self.ensure_one()
        if identifier is None:
            identifier = self._urssaf_identifier()
        checked_at = fields.Datetime.now()
        # The categories the answer replaces, read now for the whole run in
        # one query (its prefetch), not one per answer when it is recorded.
        self.sudo().category_ids  # noqa: B018 pylint: disable=pointless-statement

        def call(client):
            return client.get_account(identifier)

        def record(result, error):
            return self._urssaf_check_record(result, error, checked_at)

        return call, record

    def _urssaf_check(self):
        """Check this account at Urssaf, with its company's credentials, and
        record the answer on it (the results are the check's alone: written
        as superuser) and in its chatter."""
        self.ensure_one()
        call, record = self._urssaf_batch_prepare("check")
        client = self.company_id._urssaf_client()
        try:
            result, error = call(client), None
        except UrssafError as failure:
            result, error = None, failure
        finally:
            client.close()
        record(result, error)
        # False when Urssaf does not know the account.
        return error is None

    def _urssaf_check_record(self, result, error, now):
        """Keep what the account check answered (``result``) or why it
        failed (``error``); ``(outcome, message)``: done when eligible,
        refused when not eligible or unknown to Urssaf."""
        if isinstance(error, UrssafNotFoundError):
            # Nothing Urssaf said before about another identifier still holds.
            self._urssaf_write(
                {
                    "state": "unknown",
                    "eligible": False,
                    "ineligibility_reason": urssaf_error_text(self.env, error),
                    "periodicity": False,
                    "activity_start": False,
                    "category_ids": [fields.Command.clear()],
                    "versement_liberatoire": False,
                    "checked_at": now,
                }
            )
            message = self.env._("Urssaf account check: unknown account. %s", urssaf_error_text(self.env, error))
            self._urssaf_batch_log(message)
            return "refused", message
        if error is not None:
            raise urssaf_user_error(
                self.env, error, self.env._("Checking the Urssaf account of %s", self.partner_id.display_name)
            ) from error
        categories = self._urssaf_categories(result.categories)
        self._urssaf_write(
            {
                "state": "eligible" if result.eligible else "not_eligible",
                "eligible": result.eligible,
                "ineligibility_reason": result.ineligibility_reason or False,
                "periodicity": PERIODICITY_FROM_API.get(result.periodicity, False),
                "activity_start": result.activity_start,
                "category_ids": [fields.Command.set(categories.ids)],
                "versement_liberatoire": bool(result.versement_liberatoire),
                "checked_at": now,
            }
        )
        if result.eligible:
            periodicity = PERIODICITY_FROM_API.get(result.periodicity)
            summary = self.env._(
                "eligible, declares %(periodicity)s, activity started on %(start)s",
                periodicity=dict(self._fields["periodicity"]._description_selection(self.env))
                .get(periodicity, result.periodicity)
                .lower(),
                start=format_date(self.env, result.activity_start) if result.activity_start else "?",
            )
        else:
            reason = (result.ineligibility_reason or "").rstrip(". ") or self.env._("no reason given")
            summary = self.env._("not eligible: %s", reason)
        message = self.env._(
            "Urssaf account checked: %(summary)s.%(note)s",
            summary=summary,
            note=correlation_note(self.env, result),
        )
        self._urssaf_batch_log(message)
        return ("done" if result.eligible else "refused"), message

    def _urssaf_categories(self, codes):
        """The activity categories of Urssaf's ``codes`` (read once for a
        whole run: there are a handful)."""
        Category = self.env["urssaf.activity.category"].sudo()
        run = self.env.context.get("urssaf_batch")
        if run is None:
            return Category.search([("code", "in", list(codes))])
        if "categories" not in run.memo:
            run.memo["categories"] = {category.code: category.id for category in Category.search([])}
        known = run.memo["categories"]
        return Category.browse(known[code] for code in codes if code in known)

    @api.model
    def _cron_urssaf_check_accounts(self):
        """Check the auto-entrepreneurs' accounts not checked for a week, each
        in its company, committing as it goes."""
        limit = fields.Datetime.now() - RECHECK_AFTER
        domain = [
            ("is_auto_entrepreneur", "=", True),
            "|",
            ("checked_at", "=", False),
            ("checked_at", "<", limit),
        ]
        accounts = self.sudo().search(domain, order="checked_at asc nulls first, id")
        cron = self.env["ir.cron"]
        cron._commit_progress(remaining=len(accounts))
        for account in accounts:
            company = account.company_id
            try:
                account.with_company(company).with_context(allowed_company_ids=company.ids)._urssaf_check()
            except UserError as error:
                # One account's problem (no identifier, Urssaf unreachable)
                # must not stop the others; the next run tries it again.
                self.env.cr.rollback()
                _logger.warning("Urssaf account check skipped for account %s: %s", account.id, error)
            if not cron._commit_progress(1):
                break

    def _active_mandate_sql(self, table):
        """Accounts of which ``table`` holds an active mandate for the
        account's own company (SQL, over the ids of ``urssaf_account``)."""
        return SQL(
            """(SELECT account.id FROM urssaf_account account
                 WHERE EXISTS (SELECT 1 FROM %(table)s mandate
                                WHERE mandate.partner_id = account.partner_id
                                  AND mandate.company_id = account.company_id
                                  AND mandate.state = 'active'))""",
            table=SQL.identifier(table),
        )

    def _search_has_active_mandate(self, operator, value):
        if operator != "in":
            return NotImplemented
        return [("id", "in", self._active_mandate_sql("urssaf_mandate"))]

    def _search_has_active_sepa_mandate(self, operator, value):
        if operator != "in":
            return NotImplemented
        return [("id", "in", self._active_mandate_sql("urssaf_sepa_mandate"))]

    @api.depends("partner_id", "company_id")
    def _compute_has_active_mandates(self):
        mandated = set(self.search([("id", "in", self.ids), ("has_active_mandate", "=", True)]).ids)
        debitable = set(self.search([("id", "in", self.ids), ("has_active_sepa_mandate", "=", True)]).ids)
        for account in self:
            account.has_active_mandate = account.id in mandated
            account.has_active_sepa_mandate = account.id in debitable

    def action_open_partner(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "res.partner",
            "res_id": self.partner_id.id,
            "view_mode": "form",
        }


def nir_error(env, value):
    """Why a NIR is invalid (a sentence in the user's language), or None."""
    compact = stdnum_nir.compact(value)
    if len(compact) != 15:
        return env._("it must have 15 characters: 13 for the number and 2 for the key.")
    try:
        stdnum_nir.validate(compact)
        # The API's own rules on top of the key: sex 1 or 2, a real month.
        validate_nir(compact)
    except stdnum_exceptions.InvalidChecksum:
        return env._("its key does not match the number.")
    except (stdnum_exceptions.ValidationError, UrssafValidationError):
        return env._("it is not a valid French social security number.")
    return None
