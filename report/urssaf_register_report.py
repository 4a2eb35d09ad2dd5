# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date

from odoo import api, fields, models
from odoo.tools.misc import format_date

from ..models.urssaf_common import euro
from ..models.urssaf_turnover import PURCHASES, RECEIPTS


class UrssafRegisterReport(models.AbstractModel):
    """The printed registers of an auto-entrepreneur over a period (its
    calendar year unless told): its receipts and, when it has any, its
    purchases, month by month with running totals."""

    _name = "report.l10n_fr_urssaf_tierce_declaration.report_urssaf_register"
    _description = "Urssaf registers of receipts and purchases"

    @api.model
    def _get_report_values(self, docids, data=None):
        data = data or {}
        today = fields.Date.context_today(self)
        date_from = fields.Date.to_date(data.get("date_from")) or date(today.year, 1, 1)
        date_to = fields.Date.to_date(data.get("date_to")) or date(date_from.year, 12, 31)
        company = self.env["res.company"].browse(data.get("company_id")) or self.env.company
        partners = self.env["res.partner"].browse(docids)
        # The register's own rights and company rule decide what is printed.
        lines = self.env["urssaf.register.line"].search(
            [
                ("partner_id", "in", partners.ids),
                ("company_id", "=", company.id),
                ("date", ">=", date_from),
                ("date", "<=", date_to),
            ],
            order="date, move_id, id",
        )
        registers = []
        for partner in partners:
            for register_type in (RECEIPTS, PURCHASES):
                typed = lines.filtered(
                    lambda line, p=partner, t=register_type: line.partner_id == p and line.register_type == t
                )
                # Every auto-entrepreneur keeps a register of receipts, even
                # empty; the register of purchases is for those who buy.
                if register_type == PURCHASES and not typed:
                    continue
                registers.append(self._register_values(partner, register_type, typed))
        calendar_year = (date_from.month, date_from.day, date_to.month, date_to.day) == (1, 1, 12, 31) and (
            date_from.year == date_to.year
        )
        return {
            "doc_ids": partners.ids,
            "doc_model": "res.partner",
            "docs": partners,
            "company": company,
            "registers": registers,
            "currency": euro(self.env),
            "period": str(date_from.year)
            if calendar_year
            else self.env._(
                "%(start)s – %(end)s", start=format_date(self.env, date_from), end=format_date(self.env, date_to)
            ),
        }

    @api.model
    def _register_values(self, partner, register_type, lines):
        """One register: its months, each with its rows and total, and the
        running total after each row."""
        months = []
        running = 0.0
        for line in lines:
            month = format_date(self.env, line.date, date_format="MMMM y")
            if not months or months[-1]["label"] != month:
                months.append({"label": month, "rows": [], "total": 0.0})
            running = round(running + line.amount, 2)
            months[-1]["total"] = round(months[-1]["total"] + line.amount, 2)
            # The names of the documents and parties the register shows, in
            # whatever company's books they are: the register's rules
            # already decided this line may be seen.
            sudo_line = line.sudo()
            months[-1]["rows"].append(
                {
                    "date": format_date(self.env, line.date),
                    "counterpart": sudo_line.counterpart_partner_id.display_name or "",
                    "document": sudo_line.move_id.display_name or "",
                    "payment_means": line.payment_means or "",
                    "category": sudo_line.category_id.name or "",
                    "amount": line.amount,
                    "amount_total": line.amount_total,
                    "running": running,
                }
            )
        return {
            "partner": partner,
            "register_type": register_type,
            "title": self.env._("Register of receipts")
            if register_type == RECEIPTS
            else self.env._("Register of purchases"),
            "months": months,
            "total": running,
        }
