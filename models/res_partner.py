# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from stdnum.fr import siret as stdnum_siret

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools.misc import format_amount

from ..report.urssaf_yearly_summary_report import SUMMARY_YEAR_KEY
from ..urssaf_api.ceilings import WARNING_RATIO, ceiling_usage
from ..urssaf_api.vat_franchise import vat_state, vat_thresholds, vat_usage
from .urssaf_account import (
    ACCOUNT_STATE_SELECTION,
    IDENTIFIER_TYPE_SELECTION,
    PARTNER_WRITE,
    TRADE_SELECTION,
    TURNOVER_SOURCE_SELECTION,
)
from .urssaf_common import (
    DECLARANT,
    PERIODICITY_SELECTION,
    PREPARER,
    check_declarant,
    field_label,
)
from .urssaf_common import euro as urssaf_euro

# The partner's fields that show and edit its Urssaf account in the current
# company (partner field -> urssaf.account field).
ACCOUNT_FIELDS = {
    "urssaf_is_auto_entrepreneur": "is_auto_entrepreneur",
    "urssaf_nir": "nir",
    "urssaf_nir_formatted": "nir_formatted",
    "urssaf_identifier_type": "identifier_type",
    "urssaf_category_id": "category_id",
    "urssaf_trade": "trade",
    "urssaf_turnover_source": "turnover_source",
    "urssaf_account_state": "state",
    "urssaf_eligible": "eligible",
    "urssaf_ineligibility_reason": "ineligibility_reason",
    "urssaf_periodicity": "periodicity",
    "urssaf_activity_start": "activity_start",
    "urssaf_category_ids": "category_ids",
    "urssaf_versement_liberatoire": "versement_liberatoire",
    "urssaf_checked_at": "checked_at",
    "urssaf_acre": "acre",
}
PARTNER_FIELDS = {account_fname: fname for fname, account_fname in ACCOUNT_FIELDS.items()}
# What a partner shows when the current company has no Urssaf account for
# it (else False): an account created from these values holds nothing.
NO_ACCOUNT_VALUES = {
    "urssaf_identifier_type": "siret",
    "urssaf_turnover_source": "vendor_bills",
    "urssaf_account_state": "unchecked",
}


def _account_field(field_type, account_fname, *args, **kwargs):
    """A partner field showing, searching and editing the field
    ``account_fname`` of the partner's Urssaf account in the current company.

    Each field has functions of its own: the ORM groups the fields written
    together by their compute and inverse functions, and a field of a group
    that is not written would be protected (so read as empty) while the
    others are inversed.
    """
    return field_type(
        *args,
        compute=lambda partners: partners._urssaf_compute_account_field(account_fname),
        inverse=lambda partners: partners._urssaf_inverse_account_field(account_fname),
        search=lambda partners, operator, value: partners._urssaf_search_account_field(account_fname, operator, value),
        depends=[f"urssaf_account_ids.{account_fname}", "urssaf_account_ids.company_id"],
        depends_context=("company",),
        **kwargs,
    )


class ResPartner(models.Model):
    _inherit = "res.partner"

    urssaf_account_ids = fields.One2many(
        "urssaf.account", "partner_id", string="Urssaf accounts", groups=PREPARER, copy=False
    )
    urssaf_account_count = fields.Integer(
        string="Number of Urssaf accounts", compute="_compute_urssaf_account_count", groups=PREPARER
    )
    # The Urssaf account of the current company, field by field.
    urssaf_is_auto_entrepreneur = _account_field(
        fields.Boolean,
        "is_auto_entrepreneur",
        string="Auto-entrepreneur",
        groups=PREPARER,
        help="This partner is an auto-entrepreneur whose Urssaf declarations this company makes as tiers-déclarant.",
    )
    # Declarants only: the NIR is regulated.
    urssaf_nir = _account_field(fields.Char, "nir", string="NIR", groups=DECLARANT)
    urssaf_nir_formatted = _account_field(
        fields.Char,
        "nir_formatted",
        string="Social security number (NIR)",
        groups=DECLARANT,
        help="15 characters with the 2-digit key; 2A/2B for Corsica.",
    )
    urssaf_identifier_type = _account_field(
        fields.Selection,
        "identifier_type",
        IDENTIFIER_TYPE_SELECTION,
        string="Identified at Urssaf by",
        groups=PREPARER,
        help="Which identifier is sent to the Urssaf API: the SIRET (the partner's Company ID) or the NIR.",
    )
    urssaf_category_id = _account_field(
        fields.Many2one,
        "category_id",
        "urssaf.activity.category",
        string="Default activity category",
        groups=PREPARER,
        help="Category of the turnover whose product says nothing else.",
    )
    urssaf_trade = _account_field(
        fields.Selection,
        "trade",
        TRADE_SELECTION,
        string="Trade",
        groups=PREPARER,
        help="Drives the training contribution (CFP) and the chamber fees (TFC).",
    )
    urssaf_turnover_source = _account_field(
        fields.Selection,
        "turnover_source",
        TURNOVER_SOURCE_SELECTION,
        string="Turnover source",
        groups=PREPARER,
        help="Customer invoices: the auto-entrepreneur keeps its books in this "
        "database, as the company whose partner this is.\n"
        "Vendor bills: a platform pays the auto-entrepreneur for its work "
        "(self-billing or supplier bills).",
    )
    # What the account check (Comptes) found; written by the check only.
    urssaf_account_state = _account_field(
        fields.Selection,
        "state",
        ACCOUNT_STATE_SELECTION,
        string="Urssaf account",
        readonly=True,
        groups=PREPARER,
        help="What Urssaf answered to the last account check (Comptes).",
    )
    urssaf_eligible = _account_field(
        fields.Boolean, "eligible", string="Eligible to tierce déclaration", readonly=True, groups=PREPARER
    )
    urssaf_ineligibility_reason = _account_field(
        fields.Char, "ineligibility_reason", string="Urssaf's reason", readonly=True, groups=PREPARER
    )
    urssaf_periodicity = _account_field(
        fields.Selection,
        "periodicity",
        PERIODICITY_SELECTION,
        string="Declaration periodicity",
        readonly=True,
        groups=PREPARER,
    )
    urssaf_activity_start = _account_field(
        fields.Date, "activity_start", string="Activity start", readonly=True, groups=PREPARER
    )
    urssaf_category_ids = _account_field(
        fields.Many2many,
        "category_ids",
        "urssaf.activity.category",
        string="Categories at Urssaf",
        readonly=True,
        groups=PREPARER,
    )
    urssaf_versement_liberatoire = _account_field(
        fields.Boolean,
        "versement_liberatoire",
        string="Versement libératoire",
        readonly=True,
        groups=PREPARER,
        help="The auto-entrepreneur pays its income tax with its contributions.",
    )
    urssaf_checked_at = _account_field(
        fields.Datetime, "checked_at", string="Urssaf account checked on", readonly=True, groups=PREPARER
    )
    urssaf_acre = _account_field(
        fields.Boolean,
        "acre",
        string="ACRE",
        groups=PREPARER,
        help="The auto-entrepreneur benefits from the ACRE (aid to business creators), as its certificate says. "
        "Set by a declarant once the activity start is known.",
    )
    # Computed on the account from the date: shown, not searched.
    urssaf_acre_end = fields.Date(
        string="ACRE until",
        compute="_compute_urssaf_acre",
        groups=PREPARER,
        help="The last day the ACRE covers: the end of the third calendar quarter after the activity start's.",
    )
    urssaf_acre_current = fields.Boolean(
        string="ACRE covers the current period",
        compute="_compute_urssaf_acre",
        groups=PREPARER,
    )
    urssaf_mandate_ids = fields.One2many("urssaf.mandate", "partner_id", string="Urssaf mandates", groups=PREPARER)
    urssaf_mandate_count = fields.Integer(compute="_compute_urssaf_mandate_count", groups=PREPARER)
    urssaf_sepa_mandate_ids = fields.One2many(
        "urssaf.sepa.mandate", "partner_id", string="Urssaf SEPA mandates", groups=PREPARER
    )

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
    # The VAT exemption (franchise en base), beside the micro ceilings: the
    # same year's turnover against other thresholds (urssaf_api.vat_franchise).
    urssaf_vat_usage = fields.Float(
        string="Share of the VAT exemption threshold",
        compute="_compute_urssaf_ceiling",
        groups=PREPARER,
        help="The year's collected turnover against the VAT exemption threshold of its activity (franchise en base, "
        "CGI art. 293 B: sales of goods, food and accommodation, or services; both for a mixed activity).",
    )
    urssaf_vat_state = fields.Selection(
        [
            ("ok", "Under 80 %"),
            ("approaching", "Approaching"),
            ("over_threshold", "Over the threshold"),
            ("over_tolerance", "Over the tolerance threshold"),
        ],
        string="VAT exemption",
        compute="_compute_urssaf_ceiling",
        groups=PREPARER,
    )
    urssaf_vat_thresholds = fields.Char(
        string="VAT exemption thresholds",
        compute="_compute_urssaf_ceiling",
        groups=PREPARER,
        help="The thresholds of the current year and the law they come from.",
    )
    urssaf_summary_year = fields.Char(
        string="Year of the Urssaf summary",
        compute="_compute_urssaf_summary_year",
        groups=PREPARER,
        help="The year the yearly summary being printed or sent is about (its e-mail and file name show it).",
    )

    # ------------------------------------------------------------------
    # The Urssaf account of the current company, through the partner
    # ------------------------------------------------------------------

    def _urssaf_current_accounts(self):
        """``{partner id: its Urssaf account in the current company}``, among
        the accounts the user may read (none for who may read none)."""
        Account = self.env["urssaf.account"]
        partner_ids = [pid for pid in self._origin.ids if pid]
        if not partner_ids or not Account.has_access("read"):
            return {}
        accounts = Account.search([("partner_id", "in", partner_ids), ("company_id", "=", self.env.company.id)])
        return {account.partner_id.id: account for account in accounts}

    def _urssaf_compute_account_field(self, account_fname):
        fname = PARTNER_FIELDS[account_fname]
        Account = self.env["urssaf.account"]
        # A user who may not read the field (the NIR) gets nothing of it.
        accounts = {}
        if Account._has_field_access(Account._fields[account_fname], "read"):
            accounts = self._urssaf_current_accounts()
        for partner in self:
            account = accounts.get(partner._origin.id)
            partner[fname] = account[account_fname] if account else NO_ACCOUNT_VALUES.get(fname, False)

    @api.depends("urssaf_account_ids.acre", "urssaf_account_ids.activity_start", "urssaf_account_ids.company_id")
    @api.depends_context("company", "date")
    def _compute_urssaf_acre(self):
        accounts = self._urssaf_current_accounts()
        for partner in self:
            account = accounts.get(partner._origin.id)
            partner.urssaf_acre_end = account.acre_end if account else False
            partner.urssaf_acre_current = account.acre_current if account else False

    def _urssaf_inverse_account_field(self, account_fname):
        """Write the partner's value on its account in the current company,
        creating the account when the value is not what a partner without
        account shows."""
        fname = PARTNER_FIELDS[account_fname]
        field = self._fields[fname]
        accounts = self._urssaf_current_accounts()
        to_create = []
        for partner in self:
            value = partner[fname]
            account = accounts.get(partner.id)
            if account:
                if account[account_fname] != value:
                    account.with_context(urssaf_partner_write=PARTNER_WRITE).write(
                        {account_fname: field.convert_to_write(value, partner)}
                    )
            elif value and value != NO_ACCOUNT_VALUES.get(fname):
                to_create.append(
                    {
                        "partner_id": partner.id,
                        "company_id": self.env.company.id,
                        # Not an auto-entrepreneur until it is flagged.
                        "is_auto_entrepreneur": False,
                        account_fname: field.convert_to_write(value, partner),
                    }
                )
        if to_create:
            self.env["urssaf.account"].with_context(urssaf_partner_write=PARTNER_WRITE).create(to_create)

    @api.constrains("urssaf_is_auto_entrepreneur", "urssaf_category_id")
    def _check_urssaf_default_category(self):
        """The accounts' own constraint, once the partner's fields have all
        written the account (the flag and the category may come in any
        order)."""
        accounts = self.env["urssaf.account"]
        for account in self._urssaf_current_accounts().values():
            accounts |= account
        accounts._urssaf_check_default_category()

    def _urssaf_search_account_field(self, account_fname, operator, value):
        """The partners whose account in the current company matches; with
        those without account when the value they show matches. The ORM
        negates the positive operators for the negative ones."""
        if operator in Domain.NEGATIVE_OPERATORS:
            return NotImplemented
        in_company = Domain("company_id", "=", self.env.company.id)
        domain = Domain("urssaf_account_ids", "any", in_company & Domain(account_fname, operator, value))
        if _matches(NO_ACCOUNT_VALUES.get(PARTNER_FIELDS[account_fname], False), operator, value):
            domain |= Domain("urssaf_account_ids", "not any", in_company)
        return domain

    @api.model_create_multi
    def create(self, vals_list):
        Account = self.env["urssaf.account"]
        for vals in vals_list:
            Account._check_result_guard(vals, ACCOUNT_FIELDS)
        # A default of the fields the check sets, even as the superuser
        # (urssaf.protected.mixin: the account's own defaults check).
        Account._urssaf_refuse_protected(Account._urssaf_protected_defaults_filled(vals_list, (self, ACCOUNT_FIELDS)))
        partners = super().create(vals_list)
        # What the accounts hold now (a NIR compact), not what was typed.
        partners.invalidate_recordset(list(ACCOUNT_FIELDS))
        return partners

    def write(self, vals):
        self.env["urssaf.account"]._check_result_guard(vals, ACCOUNT_FIELDS)
        result = super().write(vals)
        if not ACCOUNT_FIELDS.keys().isdisjoint(vals):
            self.invalidate_recordset(list(ACCOUNT_FIELDS))
        return result

    @api.depends("urssaf_account_ids")
    def _compute_urssaf_account_count(self):
        counts = dict(
            self.env["urssaf.account"]._read_group([("partner_id", "in", self.ids)], ["partner_id"], ["__count"])
        )
        for partner in self:
            partner.urssaf_account_count = counts.get(partner, 0)

    @api.depends("urssaf_mandate_ids")
    def _compute_urssaf_mandate_count(self):
        counts = dict(
            self.env["urssaf.mandate"]._read_group([("partner_id", "in", self.ids)], ["partner_id"], ["__count"])
        )
        for partner in self:
            partner.urssaf_mandate_count = counts.get(partner, 0)

    @api.constrains("company_registry")
    def _check_urssaf_siret(self):
        # The Company ID of a partner some company declares for must stay a
        # SIRET, whichever company's user changes it.
        flagged = (
            self.env["urssaf.account"]
            .sudo()
            .search([("partner_id", "in", self.ids), ("is_auto_entrepreneur", "=", True)])
        )
        for partner in flagged.partner_id:
            partner._urssaf_check_siret_value()

    def _urssaf_check_siret_value(self):
        """A ValidationError when the Company ID is set but is not a SIRET."""
        for partner in self.sudo():
            if partner.company_registry and not stdnum_siret.is_valid(partner.company_registry):
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
        return field_label(self, fname)

    def _urssaf_company(self):
        """The company whose Urssaf account and settings serve this partner:
        the current one."""
        self.ensure_one()
        return self.env.company

    def _urssaf_account(self, company=None):
        """This partner's Urssaf account in ``company`` (the current company
        by default), if the user may read it; empty otherwise."""
        self.ensure_one()
        company = company or self.env.company
        return self.env["urssaf.account"].search(
            [("partner_id", "=", self.id), ("company_id", "=", company.id)], limit=1
        )

    def _urssaf_flagged_account(self, company=None):
        """The account of ``_urssaf_account``; a UserError when ``company``
        does not declare for this partner."""
        account = self._urssaf_account(company)
        if not account.is_auto_entrepreneur:
            raise UserError(
                self.env._(
                    "%(partner)s is not an auto-entrepreneur of %(company)s: flag it as auto-entrepreneur first.",
                    partner=self.display_name,
                    company=(company or self.env.company).name,
                )
            )
        return account

    def _urssaf_identifier(self, company=None):
        """How Urssaf knows this auto-entrepreneur, from its account in
        ``company`` (the current company by default); a UserError when it
        can't."""
        return self._urssaf_flagged_account(company)._urssaf_identifier()

    def action_urssaf_check_account(self):
        """Ask Urssaf (Comptes) for eligibility and periodicity of these
        partners' accounts in the current company."""
        check_declarant(self.env)
        accounts = self.env["urssaf.account"]
        for partner in self:
            accounts |= partner._urssaf_flagged_account()
        return accounts.action_urssaf_check()

    @api.model
    def _cron_urssaf_check_accounts(self):
        """The scheduled action's entry point: every company's accounts."""
        return self.env["urssaf.account"]._cron_urssaf_check_accounts()

    def action_urssaf_view_accounts(self):
        """The partner's Urssaf accounts the user may see (its companies')."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "l10n_fr_urssaf_tierce_declaration.action_urssaf_account"
        )
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action

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

    def _compute_urssaf_declaration_count(self):
        counts = dict(
            self.env["urssaf.declaration"]._read_group([("partner_id", "in", self.ids)], ["partner_id"], ["__count"])
        )
        for partner in self:
            partner.urssaf_declaration_count = counts.get(partner, 0)

    def _compute_urssaf_ceiling(self):
        """One SQL batch for all the partners shown, in the current company."""
        company = self.env.company
        euro = urssaf_euro(self.env)
        today = fields.Date.context_today(self)
        auto_entrepreneurs = self.filtered(lambda p: p.urssaf_is_auto_entrepreneur and p.id)
        collected = {}
        if auto_entrepreneurs:
            collected = self.env["urssaf.turnover"]._compute_collected(
                auto_entrepreneurs, today.replace(month=1, day=1), today, company
            )
        thresholds = vat_thresholds(today.year)
        thresholds_text = self.env._(
            "Sales, food and accommodation: %(sales)s (tolerance %(sales_tolerance)s); services: %(services)s "
            "(tolerance %(services_tolerance)s). %(law)s",
            sales=format_amount(self.env, float(thresholds.sales), euro),
            sales_tolerance=format_amount(self.env, float(thresholds.sales_tolerance), euro),
            services=format_amount(self.env, float(thresholds.services), euro),
            services_tolerance=format_amount(self.env, float(thresholds.services_tolerance), euro),
            law=thresholds.source,
        )
        for partner in self:
            # The turnover is in euros, whatever the company's currency.
            partner.urssaf_currency_id = euro
            amounts = collected.get(partner.id, {})
            partner.urssaf_year_turnover = sum(amounts.values())
            if partner not in auto_entrepreneurs:
                partner.urssaf_ceiling_usage = 0.0
                partner.urssaf_ceiling_state = False
                partner.urssaf_vat_usage = 0.0
                partner.urssaf_vat_state = False
                partner.urssaf_vat_thresholds = False
                continue
            usage = ceiling_usage(amounts, today.year, partner.sudo().urssaf_activity_start)
            partner.urssaf_ceiling_usage = float(usage) * 100
            partner.urssaf_ceiling_state = (
                "exceeded" if usage >= 1 else "approaching" if usage >= WARNING_RATIO else "ok"
            )
            partner.urssaf_vat_usage = float(vat_usage(amounts, today.year)[0]) * 100
            partner.urssaf_vat_state = vat_state(amounts, today.year)
            partner.urssaf_vat_thresholds = thresholds_text

    # ------------------------------------------------------------------
    # The yearly summary for the income tax return
    # ------------------------------------------------------------------

    @api.depends_context(SUMMARY_YEAR_KEY)
    def _compute_urssaf_summary_year(self):
        year = self.env["report.l10n_fr_urssaf_tierce_declaration.report_yearly_summary"]._summary_year()
        for partner in self:
            partner.urssaf_summary_year = str(year)

    def action_urssaf_yearly_summary(self):
        """Choose the year, then print or e-mail the yearly summary."""
        self.ensure_one()
        self.env["urssaf.declaration"].check_access("read")
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "l10n_fr_urssaf_tierce_declaration.action_urssaf_yearly_summary_send"
        )
        action["context"] = {"default_partner_id": self.id}
        return action

    def action_urssaf_view_register(self):
        """The auto-entrepreneur's registers of receipts and purchases, month by month."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "l10n_fr_urssaf_tierce_declaration.action_urssaf_receipt_register"
        )
        action.update(
            name=self.env._("Registers of %(partner)s", partner=self.display_name),
            domain=[("partner_id", "=", self.id)],
            context={"search_default_receipts": 1, "search_default_group_by_month": 1},
        )
        return action

    def action_urssaf_view_declarations(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "l10n_fr_urssaf_tierce_declaration.action_urssaf_declaration"
        )
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action


def _matches(empty, operator, value):
    """Whether ``empty``, what a partner without account shows, satisfies
    the positive condition ``operator value``."""
    if operator == "in":
        return empty in value or (not empty and any(v is None or v is False for v in value))
    if operator == "=":
        return empty == value or (not empty and value in (None, False))
    if operator in ("like", "ilike") and isinstance(empty, str) and isinstance(value, str):
        return (value.lower() in empty.lower()) if operator == "ilike" else value in empty
    return False
