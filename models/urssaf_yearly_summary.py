# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.tools import SQL, float_round

from ..report.urssaf_yearly_summary_report import last_complete_year
from .urssaf_declaration_contribution import VERSEMENT_LIBERATOIRE_LABEL

# What Urssaf holds: a declaration declared, then paid.
SUMMARY_STATES = ("declared", "ordered", "paid")  # ordered: a payment not debited yet

# The boxes of the form 2042-C-PRO (declarant 1) where each category's
# turnover of the year goes: (without, with) the versement libératoire.
# impots.gouv.fr, "Comment déclarer les revenus de mon activité
# d'auto-entrepreneur"; OpenFisca france, non_salarie.py.
TAX_BOXES = {
    "VENTE_MARCHANDISES": ("5KO", "5TA"),
    "PRESTATION_SERVICES_BIC": ("5KP", "5TB"),
    "PRESTATION_SERVICES_BNC": ("5HQ", "5TE"),
    "PRESTATION_SERVICES_BNC_CIPAV": ("5HQ", "5TE"),
}


class UrssafYearlySummary(models.Model):
    """Per auto-entrepreneur, declaring company, calendar year, category and
    versement libératoire: the collected turnover computed from the books
    and declared, the contributions declared and paid, the versement
    libératoire paid, and the box of the form 2042-C-PRO it goes in.

    Read from the declarations Urssaf holds (declared or paid), never
    computed again: the summary is what was declared, what goes on the
    auto-entrepreneur's income tax return. The turnover counts in the
    calendar year it was collected: the dates of the register rows kept
    with each declaration, so that a first period spanning 31 December is
    split between the two years; what the rows do not hold (an adjustment
    of the amount to declare, a declaration without rows kept) counts in
    the year its period starts, and so do the contributions. Whether the
    versement libératoire applied is the declaration's own fact (it
    declared a versement libératoire line for the category), not today's
    option.
    """

    _name = "urssaf.yearly.summary"
    _description = "Urssaf yearly summary"
    _auto = False
    _order = "year desc, partner_id, company_id, category_id"
    _rec_name = "partner_id"

    partner_id = fields.Many2one("res.partner", string="Auto-entrepreneur", readonly=True)
    company_id = fields.Many2one("res.company", string="Declaring company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    year = fields.Char(readonly=True)
    year_date = fields.Date(string="Year start", readonly=True)
    category_id = fields.Many2one("urssaf.activity.category", readonly=True)
    computed_amount = fields.Monetary(string="Collected (computed)", readonly=True)
    declared_amount = fields.Monetary(string="Declared", readonly=True)
    difference = fields.Monetary(readonly=True, help="Declared minus computed: the adjustments made.")
    contributions_declared = fields.Monetary(
        readonly=True, help="Social contributions, training contribution and chamber fees declared."
    )
    contributions_paid = fields.Monetary(
        readonly=True, help="The part of the contributions declared whose declaration is paid."
    )
    versement_liberatoire_declared = fields.Monetary(string="Versement libératoire declared", readonly=True)
    versement_liberatoire_paid = fields.Monetary(string="Versement libératoire paid", readonly=True)
    declaration_count = fields.Integer(string="Declarations", readonly=True, aggregator="max")
    versement_liberatoire = fields.Boolean(
        readonly=True, help="The declarations of these amounts declared the versement libératoire of income tax."
    )
    tax_box = fields.Char(
        string="Form 2042-C-PRO box", readonly=True, help="The box of the income tax return (declarant 1)."
    )
    tax_amount = fields.Integer(
        string="Amount for the tax return",
        readonly=True,
        aggregator="sum",
        help="The turnover declared collected in the year, in whole euros.",
    )

    # What the view reads: pending writes of these fields are flushed before
    # it is searched.
    _depends = {
        "urssaf.declaration": ["state", "partner_id", "company_id", "period_start"],
        "urssaf.declaration.line": ["declaration_id", "category_id", "computed_amount", "amount"],
        "urssaf.declaration.contribution": ["declaration_id", "category_id", "kind", "label", "amount"],
        "urssaf.declaration.register.row": ["declaration_id", "category_id", "date", "amount"],
        "urssaf.activity.category": ["code"],
        "res.company": ["currency_id"],
    }

    @property
    def _table_query(self):
        return self._summary_query()

    @api.model
    def _tax_box_sql(self, category_code, versement_liberatoire):
        """The box of ``category_code`` (SQL) with or without the versement
        libératoire (SQL boolean)."""
        return SQL(
            "CASE %s %s END",
            category_code,
            SQL(" ").join(
                SQL("WHEN %s THEN CASE WHEN %s THEN %s ELSE %s END", code, versement_liberatoire, with_vl, without)
                for code, (without, with_vl) in TAX_BOXES.items()
            ),
        )

    @api.model
    def _summary_query(self):
        return SQL(
            """
            WITH declaration AS (
                SELECT declaration.id, declaration.partner_id, declaration.company_id, declaration.state,
                       company.currency_id,
                       date_trunc('year', declaration.period_start)::date AS year_date
                  FROM urssaf_declaration declaration
                  JOIN res_company company ON company.id = declaration.company_id
                 WHERE declaration.state IN %(states)s
            ),
            vl AS (
                -- The categories for which a declaration declared the versement libératoire.
                SELECT DISTINCT contribution.declaration_id, contribution.category_id
                  FROM urssaf_declaration_contribution contribution
                  JOIN declaration ON declaration.id = contribution.declaration_id
                 WHERE contribution.kind = 'declared' AND contribution.label = %(vl_label)s
            ),
            kept AS (
                -- The register rows kept with each declaration, by year collected.
                SELECT row.declaration_id, row.category_id,
                       date_trunc('year', row.date)::date AS year_date, SUM(row.amount) AS amount
                  FROM urssaf_declaration_register_row row
                  JOIN declaration ON declaration.id = row.declaration_id
                 GROUP BY row.declaration_id, row.category_id, date_trunc('year', row.date)
            ),
            kept_total AS (
                SELECT kept.declaration_id, kept.category_id, SUM(kept.amount) AS amount
                  FROM kept
                 GROUP BY kept.declaration_id, kept.category_id
            ),
            amount AS (
                -- Each line's turnover in the years its rows were collected...
                SELECT declaration.partner_id, declaration.company_id, declaration.currency_id,
                       kept.year_date, line.category_id, declaration.id AS declaration_id,
                       kept.amount AS computed_amount, kept.amount AS declared_amount,
                       0.0 AS contributions_declared, 0.0 AS contributions_paid,
                       0.0 AS vl_declared, 0.0 AS vl_paid
                  FROM urssaf_declaration_line line
                  JOIN declaration ON declaration.id = line.declaration_id
                  JOIN kept ON kept.declaration_id = line.declaration_id AND kept.category_id = line.category_id
                 UNION ALL
                -- ... and what its rows do not hold, in the year its period starts.
                SELECT declaration.partner_id, declaration.company_id, declaration.currency_id,
                       declaration.year_date, line.category_id, declaration.id,
                       line.computed_amount - COALESCE(kept_total.amount, 0.0),
                       line.amount - COALESCE(kept_total.amount, 0.0),
                       0.0, 0.0, 0.0, 0.0
                  FROM urssaf_declaration_line line
                  JOIN declaration ON declaration.id = line.declaration_id
                  LEFT JOIN kept_total ON kept_total.declaration_id = line.declaration_id
                                      AND kept_total.category_id = line.category_id
                 UNION ALL
                SELECT declaration.partner_id, declaration.company_id, declaration.currency_id,
                       declaration.year_date, contribution.category_id, declaration.id,
                       0.0, 0.0,
                       CASE WHEN contribution.label = %(vl_label)s THEN 0.0 ELSE contribution.amount END,
                       CASE WHEN contribution.label = %(vl_label)s OR declaration.state != 'paid' THEN 0.0
                            ELSE contribution.amount END,
                       CASE WHEN contribution.label = %(vl_label)s THEN contribution.amount ELSE 0.0 END,
                       CASE WHEN contribution.label = %(vl_label)s AND declaration.state = 'paid'
                            THEN contribution.amount ELSE 0.0 END
                  FROM urssaf_declaration_contribution contribution
                  JOIN declaration ON declaration.id = contribution.declaration_id
                 WHERE contribution.kind = 'declared'
            ),
            flagged AS (
                SELECT amount.*, vl.declaration_id IS NOT NULL AS versement_liberatoire
                  FROM amount
                  LEFT JOIN vl ON vl.declaration_id = amount.declaration_id AND vl.category_id = amount.category_id
            )
            SELECT ROW_NUMBER() OVER (
                       ORDER BY flagged.year_date, flagged.partner_id, flagged.company_id, flagged.category_id,
                                flagged.versement_liberatoire
                   ) AS id,
                   flagged.partner_id, flagged.company_id, flagged.currency_id, flagged.year_date,
                   to_char(flagged.year_date, 'YYYY') AS year, flagged.category_id,
                   flagged.versement_liberatoire,
                   %(tax_box)s AS tax_box,
                   ROUND(SUM(flagged.declared_amount))::integer AS tax_amount,
                   SUM(flagged.computed_amount) AS computed_amount,
                   SUM(flagged.declared_amount) AS declared_amount,
                   SUM(flagged.declared_amount) - SUM(flagged.computed_amount) AS difference,
                   SUM(flagged.contributions_declared) AS contributions_declared,
                   SUM(flagged.contributions_paid) AS contributions_paid,
                   SUM(flagged.vl_declared) AS versement_liberatoire_declared,
                   SUM(flagged.vl_paid) AS versement_liberatoire_paid,
                   COUNT(DISTINCT flagged.declaration_id) AS declaration_count
              FROM flagged
              LEFT JOIN urssaf_activity_category category ON category.id = flagged.category_id
             GROUP BY flagged.partner_id, flagged.company_id, flagged.currency_id, flagged.year_date,
                      flagged.category_id, flagged.versement_liberatoire, category.code
            """,
            states=SUMMARY_STATES,
            vl_label=VERSEMENT_LIBERATOIRE_LABEL,
            tax_box=self._tax_box_sql(SQL("category.code"), SQL("flagged.versement_liberatoire")),
        )

    @api.model
    def _default_year(self, domain=()):
        """The year a summary opens on, among the rows of ``domain`` the user
        may read: the last complete year (the one of the income tax return)
        when it has declarations, else the last year that has some (a demo,
        or a first year of business, declared this year only), else the
        last complete year."""
        last_complete = last_complete_year(fields.Date.context_today(self))
        years = {int(year) for (year,) in self._read_group(list(domain), ["year"]) if year}
        if not years or last_complete in years:
            return last_complete
        return max(years)

    @api.model
    def action_open_summary(self):
        """The yearly summary list, opened on the last year with declarations
        in the user's current companies (``_default_year``)."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "l10n_fr_urssaf_tierce_declaration.action_urssaf_yearly_summary"
        )
        year = self._default_year([("company_id", "in", self.env.companies.ids)])
        action["context"] = {"search_default_year": str(year), "search_default_group_partner": 1}
        return action

    @api.model
    def _summary_values(self, partner, year, company):
        """What the yearly summary report and e-mail show for ``partner``'s
        declarations by ``company`` in ``year``: the lines per category and
        their totals, from this view."""
        lines = self.search(
            [("partner_id", "=", partner.id), ("company_id", "=", company.id), ("year", "=", str(year))],
            order="category_id",
        )
        totals = {
            fname: sum(lines.mapped(fname))
            for fname in (
                "computed_amount",
                "declared_amount",
                "difference",
                "contributions_declared",
                "contributions_paid",
                "versement_liberatoire_declared",
                "versement_liberatoire_paid",
            )
        }
        # The declarations whose turnover or contributions count in the year.
        declarations = self.env["urssaf.declaration"].search(
            [
                ("partner_id", "=", partner.id),
                ("company_id", "=", company.id),
                ("state", "in", SUMMARY_STATES),
                ("period_start", "<=", f"{year}-12-31"),
                ("period_end", ">=", f"{year}-01-01"),
            ],
            order="period_start",
        )
        # The boxes of the tax return: the sum of the amounts of each box,
        # in whole euros (two categories share the liberal professions'
        # boxes).
        boxes = {}
        for line in lines.filtered("tax_box"):
            box = boxes.setdefault(line.tax_box, {"box": line.tax_box, "categories": [], "amount": 0.0})
            box["categories"].append(line.category_id.name)
            box["amount"] += line.declared_amount
        for box in boxes.values():
            # Rounded to the nearest euro, 0.50 counting for one.
            box["amount"] = int(float_round(box["amount"], precision_digits=0, rounding_method="HALF-UP"))
        return {
            "partner": partner,
            "company": company,
            "year": year,
            "currency": company.currency_id,
            "lines": lines,
            "totals": totals,
            "declarations": declarations,
            "tax_boxes": sorted(boxes.values(), key=lambda box: box["box"]),
            # That year's fact: the versement libératoire declared for it.
            "versement_liberatoire": any(lines.mapped("versement_liberatoire")),
        }
