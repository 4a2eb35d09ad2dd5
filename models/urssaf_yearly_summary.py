# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.tools import SQL

from .urssaf_declaration_contribution import VERSEMENT_LIBERATOIRE_LABEL

# What Urssaf holds: a declaration declared, then paid.
SUMMARY_STATES = ("declared", "ordered", "paid")  # ordered: a payment not debited yet


class UrssafYearlySummary(models.Model):
    """Per auto-entrepreneur, declaring company, calendar year and category:
    the collected turnover computed from the books and declared, the
    contributions declared and paid, and the versement libératoire paid.

    Read from the declarations Urssaf holds (declared or paid), never
    computed again: the summary is what was declared, what goes on the
    auto-entrepreneur's income tax return (form 2042-C-PRO). A declaration
    counts in the year its period starts.
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

    @property
    def _table_query(self):
        return self._summary_query()

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
            amount AS (
                SELECT declaration.partner_id, declaration.company_id, declaration.currency_id,
                       declaration.year_date, line.category_id, declaration.id AS declaration_id,
                       line.computed_amount, line.amount AS declared_amount,
                       0.0 AS contributions_declared, 0.0 AS contributions_paid,
                       0.0 AS vl_declared, 0.0 AS vl_paid
                  FROM urssaf_declaration_line line
                  JOIN declaration ON declaration.id = line.declaration_id
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
            )
            SELECT ROW_NUMBER() OVER (
                       ORDER BY amount.year_date, amount.partner_id, amount.company_id, amount.category_id
                   ) AS id,
                   amount.partner_id, amount.company_id, amount.currency_id, amount.year_date,
                   to_char(amount.year_date, 'YYYY') AS year, amount.category_id,
                   SUM(amount.computed_amount) AS computed_amount,
                   SUM(amount.declared_amount) AS declared_amount,
                   SUM(amount.declared_amount) - SUM(amount.computed_amount) AS difference,
                   SUM(amount.contributions_declared) AS contributions_declared,
                   SUM(amount.contributions_paid) AS contributions_paid,
                   SUM(amount.vl_declared) AS versement_liberatoire_declared,
                   SUM(amount.vl_paid) AS versement_liberatoire_paid,
                   COUNT(DISTINCT amount.declaration_id) AS declaration_count
              FROM amount
             GROUP BY amount.partner_id, amount.company_id, amount.currency_id, amount.year_date, amount.category_id
            """,
            states=SUMMARY_STATES,
            vl_label=VERSEMENT_LIBERATOIRE_LABEL,
        )

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
        declarations = self.env["urssaf.declaration"].search(
            [
                ("partner_id", "=", partner.id),
                ("company_id", "=", company.id),
                ("state", "in", SUMMARY_STATES),
                ("period_start", ">=", f"{year}-01-01"),
                ("period_start", "<=", f"{year}-12-31"),
            ],
            order="period_start",
        )
        return {
            "partner": partner,
            "company": company,
            "year": year,
            "currency": company.currency_id,
            "lines": lines,
            "totals": totals,
            "declarations": declarations,
            "versement_liberatoire": partner.sudo()._urssaf_account(company).versement_liberatoire,
        }
