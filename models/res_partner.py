# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from datetime import timedelta

from stdnum import exceptions as stdnum_exceptions
from stdnum.fr import nir as stdnum_nir
from stdnum.fr import siret as stdnum_siret

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools.misc import format_date

from ..urssaf_api.ceilings import WARNING_RATIO, ceiling_usage
from ..urssaf_api.exceptions import UrssafError, UrssafNotFoundError, UrssafValidationError
from ..urssaf_api.models import Identifier
from ..urssaf_api.validation import validate_nir
from .urssaf_common import (
    DECLARANT,
    PERIODICITY_FROM_API,
    PERIODICITY_SELECTION,
    PREPARER,
    check_declarant,
    correlation_note,
    urssaf_user_error,
)

_logger = logging.getLogger(__name__)

# An account is checked again by the daily scheduled action after this delay.
RECHECK_AFTER = timedelta(days=7)


class ResPartner(models.Model):
    _inherit = "res.partner"

    urssaf_is_auto_entrepreneur = fields.Boolean(
        string="Auto-entrepreneur",
        groups=PREPARER,
        tracking=True,
        help="This partner is an auto-entrepreneur whose Urssaf declarations this company makes as tiers-déclarant.",
    )
    # Stored compact (15 characters); people read and type it formatted
    # through urssaf_nir_formatted. Declarants only: the NIR is regulated.
    urssaf_nir = fields.Char(string="NIR", groups=DECLARANT, copy=False)
    urssaf_nir_formatted = fields.Char(
        string="Social security number (NIR)",
        compute="_compute_urssaf_nir_formatted",
        inverse="_inverse_urssaf_nir_formatted",
        groups=DECLARANT,
        help="15 characters with the 2-digit key; 2A/2B for Corsica.",
    )
    urssaf_identifier_type = fields.Selection(
        [("siret", "SIRET"), ("nir", "NIR")],
        string="Identified at Urssaf by",
        default="siret",
        groups=PREPARER,
        help="Which identifier is sent to the Urssaf API: the SIRET (the partner's Company ID) or the NIR.",
    )
    urssaf_category_id = fields.Many2one(
        "urssaf.activity.category",
        string="Default activity category",
        groups=PREPARER,
        tracking=True,
        help="Category of the turnover whose product says nothing else.",
    )
    urssaf_trade = fields.Selection(
        [("commercant", "Trader"), ("artisan", "Craftsman"), ("liberal", "Liberal profession")],
        string="Trade",
        groups=PREPARER,
        help="Drives the training contribution (CFP) and the chamber fees (TFC).",
    )
    urssaf_turnover_source = fields.Selection(
        [
            ("customer_invoices", "Customer invoices of its own company"),
            ("vendor_bills", "Vendor bills from this partner"),
        ],
        string="Turnover source",
        default="vendor_bills",
        groups=PREPARER,
        help="Customer invoices: the auto-entrepreneur keeps its books in this "
        "database, as the company whose partner this is.\n"
        "Vendor bills: a platform pays the auto-entrepreneur for its work "
        "(self-billing or supplier bills).",
    )
    urssaf_account_state = fields.Selection(
        [
            ("unchecked", "Not checked"),
            ("eligible", "Eligible"),
            ("not_eligible", "Not eligible"),
            ("unknown", "Unknown to Urssaf"),
        ],
        string="Urssaf account",
        default="unchecked",
        readonly=True,
        copy=False,
        groups=PREPARER,
        help="What Urssaf answered to the last account check (Comptes).",
    )
    # What the account check (Comptes) found: it describes the account of the
    # identifier checked, so a copy of the partner does not inherit it.
    urssaf_eligible = fields.Boolean(
        string="Eligible to tierce déclaration", readonly=True, copy=False, groups=PREPARER
    )
    urssaf_ineligibility_reason = fields.Char(string="Urssaf's reason", readonly=True, copy=False, groups=PREPARER)
    urssaf_periodicity = fields.Selection(
        PERIODICITY_SELECTION, string="Declaration periodicity", readonly=True, copy=False, groups=PREPARER
    )
    urssaf_activity_start = fields.Date(string="Activity start", readonly=True, copy=False, groups=PREPARER)
    urssaf_category_ids = fields.Many2many(
        "urssaf.activity.category",
        string="Categories at Urssaf",
        readonly=True,
        copy=False,
        groups=PREPARER,
    )
    urssaf_versement_liberatoire = fields.Boolean(
        string="Versement libératoire",
        readonly=True,
        copy=False,
        groups=PREPARER,
        help="The auto-entrepreneur pays its income tax with its contributions.",
    )
    urssaf_checked_at = fields.Datetime(string="Urssaf account checked on", readonly=True, copy=False, groups=PREPARER)
    urssaf_mandate_ids = fields.One2many("urssaf.mandate", "partner_id", string="Urssaf mandates", groups=PREPARER)
    urssaf_mandate_count = fields.Integer(compute="_compute_urssaf_mandate_count", groups=PREPARER)
    urssaf_sepa_mandate_ids = fields.One2many(
        "urssaf.sepa.mandate", "partner_id", string="Urssaf SEPA mandates", groups=PREPARER
    )

    @api.depends("urssaf_nir")
    def _compute_urssaf_nir_formatted(self):
        for partner in self:
            partner.urssaf_nir_formatted = stdnum_nir.format(partner.urssaf_nir) if partner.urssaf_nir else False

    def _inverse_urssaf_nir_formatted(self):
        for partner in self:
            partner.urssaf_nir = partner.urssaf_nir_formatted or False

    @api.depends("urssaf_mandate_ids")
    def _compute_urssaf_mandate_count(self):
        counts = dict(
            self.env["urssaf.mandate"]._read_group([("partner_id", "in", self.ids)], ["partner_id"], ["__count"])
        )
        for partner in self:
            partner.urssaf_mandate_count = counts.get(partner, 0)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._urssaf_compact_nir(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._urssaf_compact_nir(vals)
        return super().write(vals)

    @staticmethod
    def _urssaf_compact_nir(vals):
        if vals.get("urssaf_nir"):
            vals["urssaf_nir"] = stdnum_nir.compact(vals["urssaf_nir"])

    @api.constrains("urssaf_nir")
    def _check_urssaf_nir(self):
        for partner in self.sudo():
            if partner.urssaf_nir:
                reason = _nir_error(self.env, partner.urssaf_nir)
                if reason:
                    # The value itself is never repeated: it is a NIR.
                    raise ValidationError(
                        self.env._(
                            "%(field)s of %(partner)s: %(reason)s",
                            field=partner._urssaf_field_label("urssaf_nir_formatted"),
                            partner=partner.display_name,
                            reason=reason,
                        )
                    )

    @api.constrains("company_registry", "urssaf_is_auto_entrepreneur", "urssaf_identifier_type")
    def _check_urssaf_siret(self):
        for partner in self.sudo():
            if not partner.urssaf_is_auto_entrepreneur or not partner.company_registry:
                continue
            if not stdnum_siret.is_valid(partner.company_registry):
                # A SIRET is public: it may be repeated, unlike a NIR.
                raise ValidationError(
                    self.env._(
                        "SIRET (%(field)s) of %(partner)s: “%(siret)s” is not a valid SIRET "
                        "(14 digits with a valid check digit).",
                        field=partner._urssaf_field_label("company_registry"),
                        partner=partner.display_name,
                        siret=partner.company_registry,
                    )
                )

    def _urssaf_field_label(self, fname):
        """The label of a field in the user's language, to name it in messages."""
        return self._fields[fname].get_description(self.env)["string"]

    def _urssaf_identifier(self):
        """How Urssaf knows this auto-entrepreneur; a UserError when it can't."""
        self.ensure_one()
        partner = self.sudo()
        if partner.urssaf_identifier_type == "nir":
            if not partner.urssaf_nir:
                raise UserError(
                    self.env._(
                        "%(partner)s is identified at Urssaf by NIR, but has no NIR.", partner=partner.display_name
                    )
                )
            values = {"nir": partner.urssaf_nir}
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
                    identifier=dict(partner._fields["urssaf_identifier_type"]._description_selection(self.env)).get(
                        partner.urssaf_identifier_type or "siret"
                    ),
                    partner=partner.display_name,
                )
            ) from None

    def _urssaf_company(self):
        """The company whose Urssaf settings serve this partner."""
        self.ensure_one()
        return self.company_id or self.env.company

    def action_urssaf_check_account(self):
        """Ask Urssaf (Comptes) for eligibility and periodicity of these partners."""
        check_declarant(self.env)
        # Every partner's identifier is checked before the first call.
        for partner in self:
            partner._urssaf_identifier()
        for partner in self:
            partner._urssaf_check_account()
        return True

    def _urssaf_check_account(self):
        self.ensure_one()
        identifier = self._urssaf_identifier()
        client = self._urssaf_company()._urssaf_client()
        now = fields.Datetime.now()
        try:
            account = client.get_account(identifier)
        except UrssafNotFoundError as error:
            # Nothing Urssaf said before about another identifier still holds.
            self.sudo().write(
                {
                    "urssaf_account_state": "unknown",
                    "urssaf_eligible": False,
                    "urssaf_ineligibility_reason": error.message,
                    "urssaf_periodicity": False,
                    "urssaf_activity_start": False,
                    "urssaf_category_ids": [fields.Command.clear()],
                    "urssaf_versement_liberatoire": False,
                    "urssaf_checked_at": now,
                }
            )
            self._message_log(body=self.env._("Urssaf account check: unknown account. %s", error))
            return False
        except UrssafError as error:
            raise urssaf_user_error(
                self.env, error, self.env._("Checking the Urssaf account of %s", self.display_name)
            ) from error
        categories = self.env["urssaf.activity.category"].search([("code", "in", list(account.categories))])
        self.sudo().write(
            {
                "urssaf_account_state": "eligible" if account.eligible else "not_eligible",
                "urssaf_eligible": account.eligible,
                "urssaf_ineligibility_reason": account.ineligibility_reason or False,
                "urssaf_periodicity": PERIODICITY_FROM_API.get(account.periodicity, False),
                "urssaf_activity_start": account.activity_start,
                "urssaf_category_ids": [fields.Command.set(categories.ids)],
                "urssaf_versement_liberatoire": bool(account.versement_liberatoire),
                "urssaf_checked_at": now,
            }
        )
        partner = self.sudo()
        if account.eligible:
            summary = self.env._(
                "eligible, declares %(periodicity)s, activity started on %(start)s",
                periodicity=dict(partner._fields["urssaf_periodicity"]._description_selection(self.env))
                .get(partner.urssaf_periodicity, account.periodicity)
                .lower(),
                start=format_date(self.env, account.activity_start) if account.activity_start else "?",
            )
        else:
            reason = (account.ineligibility_reason or "").rstrip(". ") or self.env._("no reason given")
            summary = self.env._("not eligible: %s", reason)
        self._message_log(
            body=self.env._(
                "Urssaf account checked: %(summary)s.%(note)s",
                summary=summary,
                note=correlation_note(self.env, account),
            )
        )
        return True

    @api.model
    def _cron_urssaf_check_accounts(self, batch_size=50):
        """Check the auto-entrepreneurs not checked for a week, committing as it goes."""
        limit = fields.Datetime.now() - RECHECK_AFTER
        domain = [
            ("urssaf_is_auto_entrepreneur", "=", True),
            "|",
            ("urssaf_checked_at", "=", False),
            ("urssaf_checked_at", "<", limit),
        ]
        partners = self.sudo().search(domain, order="urssaf_checked_at asc nulls first, id")
        cron = self.env["ir.cron"]
        cron._commit_progress(remaining=len(partners))
        for partner in partners:
            try:
                partner._urssaf_check_account()
            except UserError as error:
                # One partner's problem (no identifier, Urssaf unreachable)
                # must not stop the others; the next run tries it again.
                self.env.cr.rollback()
                _logger.warning("Urssaf account check skipped for partner %s: %s", partner.id, error)
            if not cron._commit_progress(1):
                break

    def action_urssaf_view_mandates(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "l10n_fr_urssaf_tierce_declaration.action_urssaf_mandate"
        )
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action

    def action_urssaf_sync_sepa_mandates(self):
        check_declarant(self.env)
        for partner in self:
            self.env["urssaf.sepa.mandate"]._sync_from_urssaf(partner)
        return True

    # ------------------------------------------------------------------
    # Declarations and the year's turnover against the micro ceilings
    # ------------------------------------------------------------------

    urssaf_declaration_count = fields.Integer(compute="_compute_urssaf_declaration_count", groups=PREPARER)
    urssaf_year_turnover = fields.Monetary(
        string="Turnover collected this year",
        compute="_compute_urssaf_ceiling",
        currency_field="urssaf_currency_id",
        groups=PREPARER,
    )
    urssaf_ceiling_usage = fields.Float(
        string="Share of the micro ceiling",
        compute="_compute_urssaf_ceiling",
        groups=PREPARER,
        help="The year's collected turnover against the micro-scheme ceiling of its activity "
        "(sales, services, or both for a mixed activity), prorated in the first year.",
    )
    urssaf_ceiling_state = fields.Selection(
        [("ok", "Under 80 %"), ("approaching", "Approaching"), ("exceeded", "Exceeded")],
        string="Micro ceiling",
        compute="_compute_urssaf_ceiling",
        groups=PREPARER,
    )
    urssaf_currency_id = fields.Many2one(
        "res.currency", compute="_compute_urssaf_ceiling", groups=PREPARER, string="Urssaf currency"
    )

    def _compute_urssaf_declaration_count(self):
        counts = dict(
            self.env["urssaf.declaration"]._read_group([("partner_id", "in", self.ids)], ["partner_id"], ["__count"])
        )
        for partner in self:
            partner.urssaf_declaration_count = counts.get(partner, 0)

    def _compute_urssaf_ceiling(self):
        """One SQL batch for all the partners shown, in the current company."""
        company = self.env.company
        today = fields.Date.context_today(self)
        auto_entrepreneurs = self.filtered(lambda p: p.urssaf_is_auto_entrepreneur and p.id)
        collected = {}
        if auto_entrepreneurs:
            collected = self.env["urssaf.turnover"]._compute_collected(
                auto_entrepreneurs, today.replace(month=1, day=1), today, company
            )
        for partner in self:
            partner.urssaf_currency_id = company.currency_id
            amounts = collected.get(partner.id, {})
            partner.urssaf_year_turnover = sum(amounts.values())
            if partner not in auto_entrepreneurs:
                partner.urssaf_ceiling_usage = 0.0
                partner.urssaf_ceiling_state = False
                continue
            usage = ceiling_usage(amounts, today.year, partner.sudo().urssaf_activity_start)
            partner.urssaf_ceiling_usage = float(usage) * 100
            partner.urssaf_ceiling_state = (
                "exceeded" if usage >= 1 else "approaching" if usage >= WARNING_RATIO else "ok"
            )

    def action_urssaf_view_declarations(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "l10n_fr_urssaf_tierce_declaration.action_urssaf_declaration"
        )
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action


def _nir_error(env, value):
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
