# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from .urssaf_report_access import refuse_portal_user

# The context key carrying the year of the summary: the mail composer renders
# the template's report in the context it was opened with.
SUMMARY_YEAR_KEY = "urssaf_summary_year"


def last_complete_year(today):
    """The last calendar year that has ended on ``today``."""
    return today.year - 1


class ReportUrssafYearlySummary(models.AbstractModel):
    """The yearly summary of an auto-entrepreneur, for its income tax return."""

    _name = "report.l10n_fr_urssaf_tierce_declaration.report_yearly_summary"
    _description = "Urssaf yearly summary report"

    @api.model
    def _summary_year(self, data=None):
        """The year asked for (report data, then context), else the last
        complete one."""
        year = (data or {}).get("year") or self.env.context.get(SUMMARY_YEAR_KEY)
        if not year:
            return last_complete_year(fields.Date.context_today(self))
        try:
            return int(year)
        except (TypeError, ValueError):
            raise UserError(self.env._("Yearly summary: “%s” is not a year.", year)) from None

    @api.model
    def _summary_company(self, data=None):
        """The declaring company asked for (report data, else the current
        one): one of the user's."""
        company = self.env["res.company"].browse((data or {}).get("company_id")) or self.env.company
        if company not in self.env.user.company_ids:
            raise AccessError(
                self.env._(
                    "Yearly summary: the company “%(company)s” is not one of yours.", company=company.sudo().name
                )
            )
        return company

    @api.model
    def _get_report_values(self, docids, data=None):
        refuse_portal_user(self.env, self.env._("Yearly summary"))
        # From the wizard the web client sends the report's data and no
        # record ids (getReportUrl): the auto-entrepreneurs are in it.
        partners = self.env["res.partner"].browse(docids or (data or {}).get("partner_ids") or [])
        # Who may print it may read the declarations it sums up.
        self.env["urssaf.declaration"].check_access("read")
        year = self._summary_year(data)
        company = self._summary_company(data)
        Summary = self.env["urssaf.yearly.summary"]
        return {
            "doc_ids": partners.ids,
            "doc_model": "res.partner",
            "docs": partners,
            "year": year,
            # The layout's company (else it would take the data's company_id, an id).
            "company": company,
            "summaries": {partner.id: Summary._summary_values(partner, year, company) for partner in partners},
        }
