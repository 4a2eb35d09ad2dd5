# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The auto-entrepreneur's own space in Odoo's portal (``/my/urssaf/...``).

Each route reads as the portal user first, so that the access rights and
the record rules of ``security/urssaf_portal_security.xml`` decide what it
may see (``_document_check_access`` for one record, a search as the user
for a list); only then are the records read as the superuser, and only
what the template shows, as Odoo's sale portal does. Anything the user may
not read answers 404, whether it exists or not.
"""

import re
from datetime import date

from odoo import http
from odoo.exceptions import AccessError, MissingError
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

from ..models.urssaf_common import euro
from ..models.urssaf_declaration_register import REGISTER_REPORT
from ..urssaf_api.masking import mask_nir

DECLARATION = "urssaf.declaration"
# What Urssaf holds: the declarations the portal shows (the record rule
# shows no other to portal users; internal users visiting /my see the same).
PORTAL_DECLARATION_STATES = ("declared", "ordered", "paid")
SUMMARY_REPORT = "l10n_fr_urssaf_tierce_declaration.action_report_urssaf_yearly_summary"


class UrssafPortal(CustomerPortal):
    _items_per_page = 20

    # ------------------------------------------------------------------
    # Who is who
    # ------------------------------------------------------------------

    @staticmethod
    def _urssaf_partner():
        """The auto-entrepreneur the user is: its contact's commercial partner."""
        return request.env.user.partner_id.commercial_partner_id

    def _urssaf_declaration_domain(self):
        return [
            ("partner_id", "=", self._urssaf_partner().id),
            ("state", "in", PORTAL_DECLARATION_STATES),
        ]

    def _urssaf_own_domain(self):
        return [("partner_id", "=", self._urssaf_partner().id)]

    @staticmethod
    def _urssaf_has_access(model):
        return request.env[model].has_access("read")

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "urssaf_declaration_count" in counters:
            values["urssaf_declaration_count"] = (
                request.env[DECLARATION].search_count(self._urssaf_declaration_domain())
                if self._urssaf_has_access(DECLARATION)
                else 0
            )
        if "urssaf_mandate_count" in counters:
            count = 0
            for model in ("urssaf.mandate", "urssaf.sepa.mandate"):
                if self._urssaf_has_access(model):
                    count += request.env[model].search_count(self._urssaf_own_domain())
            values["urssaf_mandate_count"] = count
        return values

    def _urssaf_values(self, page_name, **values):
        """The layout's values for a page of the space; the auto-entrepreneur's
        identifier is shown masked, as everywhere outside the declarants'."""
        result = self._prepare_portal_layout_values()
        partner = self._urssaf_partner()
        accounts = (
            request.env["urssaf.account"].search(self._urssaf_own_domain())
            if self._urssaf_has_access("urssaf.account")
            else request.env["urssaf.account"]
        )
        result.update(
            {
                "page_name": page_name,
                "urssaf_partner": partner.sudo(),
                # Urssaf declares and debits euros, whatever the company's currency.
                "urssaf_currency": euro(request.env),
                "urssaf_identifiers": [
                    {
                        "company": account.company_id.name,
                        "siret": account.siret or "",
                        "nir": mask_nir(account.nir) if account.nir else "",
                    }
                    for account in accounts.sudo()
                ],
            }
        )
        result.update(values)
        return result

    # ------------------------------------------------------------------
    # Declarations
    # ------------------------------------------------------------------

    @http.route(
        ["/my/urssaf/declarations", "/my/urssaf/declarations/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
    )
    def portal_my_urssaf_declarations(self, page=1, **kw):
        Declaration = request.env[DECLARATION]
        if not Declaration.has_access("read"):
            return request.redirect("/my")
        domain = self._urssaf_declaration_domain()
        count = Declaration.search_count(domain)
        pager = portal_pager(url="/my/urssaf/declarations", total=count, page=page, step=self._items_per_page)
        declarations = Declaration.search(domain, limit=self._items_per_page, offset=pager["offset"])
        request.session["my_urssaf_declarations_history"] = declarations.ids[:100]
        values = self._urssaf_values(
            "urssaf_declarations",
            declarations=declarations.sudo(),
            pager=pager,
            default_url="/my/urssaf/declarations",
        )
        return request.render("l10n_fr_urssaf_tierce_declaration.portal_my_urssaf_declarations", values)

    @http.route(["/my/urssaf/declarations/<int:declaration_id>"], type="http", auth="user", website=True)
    def portal_my_urssaf_declaration(self, declaration_id, **kw):
        try:
            declaration = self._document_check_access(DECLARATION, declaration_id)
        except (AccessError, MissingError):
            raise request.not_found() from None
        values = self._urssaf_values(
            "urssaf_declaration",
            declaration=declaration,
            contributions=declaration.contribution_ids.filtered(lambda c: c.kind == "declared"),
        )
        values = self._get_page_view_values(declaration, None, values, "my_urssaf_declarations_history", False)
        return request.render("l10n_fr_urssaf_tierce_declaration.portal_my_urssaf_declaration", values)

    # ------------------------------------------------------------------
    # Registers
    # ------------------------------------------------------------------

    def _urssaf_register_years(self):
        """(company, year) of the registers kept with the user's declarations,
        newest first, read as the user (the record rules decide)."""
        Row = request.env["urssaf.declaration.register.row"]
        if not Row.has_access("read"):
            return []
        groups = Row._read_group(self._urssaf_own_domain(), ["company_id", "date:year"], ["amount:sum", "__count"])
        return sorted(
            (
                {"company": company.sudo(), "year": year.year, "amount": amount, "count": count}
                for company, year, amount, count in groups
                if year
            ),
            key=lambda entry: (-entry["year"], entry["company"].name),
        )

    @http.route(["/my/urssaf/registers"], type="http", auth="user", website=True)
    def portal_my_urssaf_registers(self, **kw):
        values = self._urssaf_values("urssaf_registers", registers=self._urssaf_register_years())
        return request.render("l10n_fr_urssaf_tierce_declaration.portal_my_urssaf_registers", values)

    @http.route(["/my/urssaf/registers/<int:company_id>/<int:year>/pdf"], type="http", auth="user", website=True)
    def portal_my_urssaf_register_pdf(self, company_id, year, **kw):
        if not any(
            entry["company"].id == company_id and entry["year"] == year for entry in self._urssaf_register_years()
        ):
            raise request.not_found()
        company = request.env["res.company"].sudo().browse(company_id)
        data = {
            "company_id": company.id,
            "date_from": date(year, 1, 1).isoformat(),
            "date_to": date(year, 12, 31).isoformat(),
        }
        return self._urssaf_pdf(REGISTER_REPORT, company, data, f"Registers {year} {self._urssaf_partner().name}")

    def _urssaf_pdf(self, report_ref, company, data, filename):
        """The report of the user's own auto-entrepreneur for ``company``,
        rendered as the superuser once the route has checked the user's
        access (the reports print the records of the companies of the
        user: the portal user's declaring companies)."""
        if company not in request.env.user.company_ids:
            raise request.not_found()
        partner = self._urssaf_partner()
        report = request.env["ir.actions.report"].sudo().with_company(company)
        pdf = report._render_qweb_pdf(report_ref, partner.ids, data=dict(data, partner_ids=partner.ids))[0]
        filename = "{}.pdf".format(re.sub(r"\W+", "_", filename))
        return request.make_response(
            pdf,
            headers=[
                ("Content-Type", "application/pdf"),
                ("Content-Length", len(pdf)),
                ("Content-Disposition", http.content_disposition(filename)),
            ],
        )

    # ------------------------------------------------------------------
    # Yearly summary
    # ------------------------------------------------------------------

    def _urssaf_summary_years(self):
        """(company, year) of the user's yearly summaries, newest first."""
        Summary = request.env["urssaf.yearly.summary"]
        if not Summary.has_access("read"):
            return []
        groups = Summary._read_group(self._urssaf_own_domain(), ["company_id", "year"], ["__count"])
        return sorted(
            ((company.sudo(), int(year)) for company, year, _count in groups if year),
            key=lambda entry: (-entry[1], entry[0].name),
        )

    @http.route(["/my/urssaf/summary"], type="http", auth="user", website=True)
    def portal_my_urssaf_summary(self, **kw):
        partner = self._urssaf_partner().sudo()
        Summary = request.env["urssaf.yearly.summary"].sudo()
        summaries = [Summary._summary_values(partner, year, company) for company, year in self._urssaf_summary_years()]
        values = self._urssaf_values("urssaf_summary", summaries=summaries)
        return request.render("l10n_fr_urssaf_tierce_declaration.portal_my_urssaf_summary", values)

    @http.route(["/my/urssaf/summary/<int:company_id>/<int:year>/pdf"], type="http", auth="user", website=True)
    def portal_my_urssaf_summary_pdf(self, company_id, year, **kw):
        if not any(company.id == company_id and y == year for company, y in self._urssaf_summary_years()):
            raise request.not_found()
        company = request.env["res.company"].sudo().browse(company_id)
        return self._urssaf_pdf(
            SUMMARY_REPORT,
            company,
            {"company_id": company.id, "year": year},
            f"Urssaf summary {year} {self._urssaf_partner().name}",
        )

    # ------------------------------------------------------------------
    # Mandates
    # ------------------------------------------------------------------

    @http.route(["/my/urssaf/mandates"], type="http", auth="user", website=True)
    def portal_my_urssaf_mandates(self, **kw):
        records = {}
        for key, model in (("mandates", "urssaf.mandate"), ("sepa_mandates", "urssaf.sepa.mandate")):
            Model = request.env[model]
            records[key] = (Model.search(self._urssaf_own_domain()) if Model.has_access("read") else Model).sudo()
        values = self._urssaf_values("urssaf_mandates", **records)
        return request.render("l10n_fr_urssaf_tierce_declaration.portal_my_urssaf_mandates", values)
