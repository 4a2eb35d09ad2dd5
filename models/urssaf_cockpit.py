# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..urssaf_api.ceilings import WARNING_RATIO, ceiling_usage
from .urssaf_declaration import UNSETTLED_STATES

# A declaration is due soon when its due date falls within this many days,
# today included: on a Friday, Monday's deadlines show.
DUE_SOON_DAYS = 7

DECLARATION = "urssaf.declaration"
ACCOUNT = "urssaf.account"


class UrssafCockpit(models.Model):
    """What an accountant has to do today in one declaring company, each
    count opening the list it counts.

    One record per company, created when a user of the company first opens
    the cockpit; the counts are computed when read, as the user reading
    them: record rules apply, nothing is counted as the superuser. Each tile
    is one domain (``_tile_domains``), used both to count and to open the list.
    """

    _name = "urssaf.cockpit"
    _description = "Urssaf cockpit"
    _order = "company_id"

    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True, ondelete="cascade")
    due_soon_count = fields.Integer(string="Due in the next 7 days", compute="_compute_counts")
    late_count = fields.Integer(string="Late", compute="_compute_counts")
    late_days = fields.Integer(
        string="Days late", compute="_compute_counts", help="Days since the oldest due date passed."
    )
    late_summary = fields.Char(compute="_compute_counts")
    to_estimate_count = fields.Integer(string="To estimate", compute="_compute_counts")
    to_declare_count = fields.Integer(string="To declare", compute="_compute_counts")
    to_pay_count = fields.Integer(string="To pay", compute="_compute_counts")
    error_count = fields.Integer(string="In error", compute="_compute_counts")
    outcome_unknown_count = fields.Integer(string="Outcome unknown", compute="_compute_counts")
    books_changed_count = fields.Integer(string="Books changed since declared", compute="_compute_counts")
    no_mandate_count = fields.Integer(string="Without an active mandate", compute="_compute_counts")
    no_sepa_mandate_count = fields.Integer(string="Without an active SEPA mandate", compute="_compute_counts")
    ineligible_count = fields.Integer(string="Not eligible", compute="_compute_counts")
    near_ceiling_count = fields.Integer(string="Near a micro ceiling", compute="_compute_counts")

    _company_unique = models.UniqueIndex("(company_id)", "A company has one Urssaf cockpit.")

    # ------------------------------------------------------------------
    # The tiles: one domain each, to count and to open
    # ------------------------------------------------------------------

    def _tile_titles(self):
        return {
            "due_soon": self.env._("Due in the next 7 days"),
            "late": self.env._("Late declarations"),
            "to_estimate": self.env._("Declarations to estimate"),
            "to_declare": self.env._("Declarations to declare"),
            "to_pay": self.env._("Declarations to pay"),
            "error": self.env._("Declarations in error or whose debit was rejected"),
            "outcome_unknown": self.env._("Declarations whose outcome is unknown"),
            "books_changed": self.env._("Books changed since declared"),
            "no_mandate": self.env._("Auto-entrepreneurs without an active mandate"),
            "no_sepa_mandate": self.env._("Auto-entrepreneurs without an active SEPA mandate"),
            "ineligible": self.env._("Auto-entrepreneurs not eligible"),
            "near_ceiling": self.env._("Auto-entrepreneurs near a micro ceiling"),
        }

    def _tile_domains(self):
        """``{tile: (model, domain)}`` of this cockpit's company, today."""
        self.ensure_one()
        today = fields.Date.context_today(self)
        company = [("company_id", "=", self.company_id.id)]
        unsettled = [*company, ("state", "in", UNSETTLED_STATES)]
        tiles = {
            "due_soon": (
                DECLARATION,
                [
                    *unsettled,
                    ("due_date", ">=", fields.Date.to_string(today)),
                    ("due_date", "<", fields.Date.to_string(today + timedelta(days=DUE_SOON_DAYS))),
                ],
            ),
            "late": (DECLARATION, [*unsettled, ("due_date", "<", fields.Date.to_string(today))]),
            "to_estimate": (DECLARATION, [*company, ("state", "=", "draft")]),
            "to_declare": (DECLARATION, [*company, ("state", "=", "estimated")]),
            "to_pay": (DECLARATION, [*company, ("state", "=", "declared")]),
            # A rejected SEPA debit is an error to settle: pay again.
            "error": (DECLARATION, [*company, "|", ("state", "=", "error"), ("debit_rejected", "=", True)]),
            "outcome_unknown": (DECLARATION, [*company, ("outcome_unknown", "=", True)]),
        }
        # The books no longer say what the register kept with the
        # declaration says (the daily comparison's flag).
        tiles["books_changed"] = (DECLARATION, [*company, ("register_books_changed", "=", True)])
        auto_entrepreneurs = [*company, ("is_auto_entrepreneur", "=", True)]
        tiles.update(
            {
                "no_mandate": (ACCOUNT, [*auto_entrepreneurs, ("has_active_mandate", "=", False)]),
                "no_sepa_mandate": (ACCOUNT, [*auto_entrepreneurs, ("has_active_sepa_mandate", "=", False)]),
                "ineligible": (ACCOUNT, [*auto_entrepreneurs, ("state", "in", ("not_eligible", "unknown"))]),
                "near_ceiling": (ACCOUNT, [("id", "in", self._near_ceiling_account_ids(auto_entrepreneurs, today))]),
            }
        )
        return tiles

    def _near_ceiling_account_ids(self, domain, today):
        """The accounts of ``domain`` whose turnover of the year reaches the
        warning share of their micro ceiling (not searchable by a domain).

        The turnover is the one of the year's declarations (their lines,
        stored; the user's record rules apply), not the books': the books'
        query over thousands of auto-entrepreneurs takes seconds, too long
        for a page opened every morning. The period not prepared yet is
        therefore left out: the contact's form shows the books' figure.
        """
        accounts = self.env[ACCOUNT].search(domain)
        if not accounts:
            return []
        lines = self.env["urssaf.declaration.line"]._search(
            [
                ("declaration_id.company_id", "=", self.company_id.id),
                ("declaration_id.partner_id", "in", accounts.partner_id.ids),
                ("declaration_id.period_start", ">=", fields.Date.to_string(today.replace(month=1, day=1))),
                ("declaration_id.state", "!=", "cancelled"),
            ]
        )
        rows = self.env.execute_query(
            SQL(
                """SELECT declaration.partner_id, category.code, SUM(line.amount)
                     FROM urssaf_declaration_line line
                     JOIN urssaf_declaration declaration ON declaration.id = line.declaration_id
                     JOIN urssaf_activity_category category ON category.id = line.category_id
                    WHERE line.id IN %s
                 GROUP BY declaration.partner_id, category.code""",
                lines.subselect(),
            )
        )
        turnover = defaultdict(dict)
        for partner_id, code, amount in rows:
            turnover[partner_id][code] = amount
        return [
            account.id
            for account in accounts
            if account.partner_id.id in turnover
            and ceiling_usage(turnover[account.partner_id.id], today.year, account.activity_start) >= WARNING_RATIO
        ]

    @api.depends("company_id")
    @api.depends_context("uid", "allowed_company_ids", "date")
    def _compute_counts(self):
        today = fields.Date.context_today(self)
        for cockpit in self:
            tiles = cockpit._tile_domains()
            for tile in self._tile_titles():
                model, domain = tiles.get(tile, (None, None))
                cockpit[f"{tile}_count"] = self.env[model].search_count(domain) if model else 0
            oldest = self.env[DECLARATION]._read_group(tiles["late"][1], aggregates=["due_date:min"])[0][0]
            cockpit.late_days = (today - oldest).days if oldest else 0
            cockpit.late_summary = cockpit._late_summary()

    def _late_summary(self):
        if not self.late_count:
            return False
        if self.late_days == 1:
            return self.env._("1 day late")
        return self.env._("up to %(days)s days late", days=self.late_days)

    # ------------------------------------------------------------------
    # Opening
    # ------------------------------------------------------------------

    @api.model
    def action_open_cockpit(self):
        """The cockpits of the user's current companies, created on first use."""
        companies = self.env.companies
        missing = companies - self.sudo().search([("company_id", "in", companies.ids)]).company_id
        if missing:
            self.sudo().create([{"company_id": company.id} for company in missing])
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "l10n_fr_urssaf_tierce_declaration.action_urssaf_cockpit_kanban"
        )
        action["domain"] = [("company_id", "in", companies.ids)]
        return action

    def action_open_tile(self):
        """The list a tile counts, from the tile named in the context
        (``urssaf_tile``), with the domain it was counted with."""
        self.ensure_one()
        tile = self.env.context.get("urssaf_tile")
        tiles = self._tile_domains()
        if tile not in tiles:
            raise UserError(self.env._("Unknown cockpit tile: %(tile)s", tile=tile))
        model, domain = tiles[tile]
        xmlid = "action_urssaf_declaration" if model == DECLARATION else "action_urssaf_account"
        action = self.env["ir.actions.act_window"]._for_xml_id(f"l10n_fr_urssaf_tierce_declaration.{xmlid}")
        title = self._tile_titles()[tile]
        action.update(name=title, display_name=title, domain=domain)
        return action
