# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools.misc import format_date, format_datetime

from ..models.urssaf_common import euro
from ..models.urssaf_declaration_register_row import REGISTER_KEPT_STATES
from ..models.urssaf_turnover import PURCHASES, RECEIPTS
from .urssaf_report_access import refuse_portal_user


class UrssafRegisterReport(models.AbstractModel):
    """The printed registers of an auto-entrepreneur over a period (its
    calendar year unless told): its receipts and, when it has any or sells
    goods, its purchases, month by month with running totals.

    The receipts of a period declared to Urssaf are the rows kept with its
    declaration, as declared; those of the other days are read from the
    books as they are now."""

    _name = "report.l10n_fr_urssaf_tierce_declaration.report_urssaf_register"
    _description = "Urssaf registers of receipts and purchases"

    @api.model
    def _report_company(self, data):
        """The declaring company asked for: one of the user's."""
        company = self.env["res.company"].browse(data.get("company_id")) or self.env.company
        if company not in self.env.user.company_ids:
            raise AccessError(
                self.env._("Registers: the company “%(company)s” is not one of yours.", company=company.sudo().name)
            )
        return company

    @api.model
    def _get_report_values(self, docids, data=None):
        refuse_portal_user(self.env, self.env._("Registers"))
        data = data or {}
        today = fields.Date.context_today(self)
        date_from = fields.Date.to_date(data.get("date_from")) or date(today.year, 1, 1)
        date_to = fields.Date.to_date(data.get("date_to")) or date(date_from.year, 12, 31)
        company = self._report_company(data)
        # From a wizard or a button the web client sends the report's data
        # and no record ids (getReportUrl): the auto-entrepreneurs are in it.
        partners = self.env["res.partner"].browse(docids or data.get("partner_ids") or [])
        # The register's own rights and company rule decide what is printed.
        live = self.env["urssaf.register.line"].search(
            [
                ("partner_id", "in", partners.ids),
                ("company_id", "=", company.id),
                ("date", ">=", date_from),
                ("date", "<=", date_to),
            ],
            order="date, move_id, id",
        )
        declarations = self.env["urssaf.declaration"].search(
            [
                ("partner_id", "in", partners.ids),
                ("company_id", "=", company.id),
                ("state", "in", REGISTER_KEPT_STATES),
                ("period_start", "<=", date_to),
                ("period_end", ">=", date_from),
                ("register_row_ids", "!=", False),
            ],
            order="period_start",
        )
        kept = self.env["urssaf.declaration.register.row"].search(
            [("declaration_id", "in", declarations.ids), ("date", ">=", date_from), ("date", "<=", date_to)],
            order="date, move_id, id",
        )
        registers = []
        for partner in partners:
            declared = declarations.filtered(lambda d, p=partner: d.partner_id == p)
            receipts = self._merge_rows(
                kept.filtered(lambda row, p=partner: row.partner_id == p),
                live.filtered(
                    lambda line, p=partner, d=declared: (
                        line.partner_id == p
                        and line.register_type == RECEIPTS
                        and not any(dec.period_start <= line.date <= dec.period_end for dec in d)
                    )
                ),
            )
            registers.append(self._register_values(partner, RECEIPTS, receipts, declared))
            purchases = self._merge_rows(
                self.env["urssaf.declaration.register.row"],
                live.filtered(lambda line, p=partner: line.partner_id == p and line.register_type == PURCHASES),
            )
            # Every auto-entrepreneur keeps a register of receipts, even
            # empty; the register of purchases is for those who buy or sell
            # goods, food or accommodation (then even empty, saying so).
            if purchases or self._sells_goods(partner, company, receipts):
                registers.append(self._register_values(partner, PURCHASES, purchases, declared.browse()))
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
    def _sells_goods(self, partner, company, receipts):
        account = partner.sudo()._urssaf_account(company)
        return bool(account.category_id.is_goods) or any(row["is_goods"] for row in receipts)

    @api.model
    def _merge_rows(self, kept, live):
        """The rows of a register as dictionaries, kept rows and live lines
        alike, in date order."""
        rows = [
            {
                "date": row.date,
                "counterpart": row.counterpart_name or "",
                "document": row.document or "",
                "document_ref": row.document_ref or "",
                "payment_means": row.payment_means or "",
                "is_cash": row.is_cash,
                "category": row.sudo().category_id.name or "",
                "is_goods": row.sudo().category_id.is_goods,
                "amount": row.amount,
                "amount_total": row.amount_total,
                "declared": True,
            }
            for row in kept
        ]
        for line in live:
            # The names of the documents and parties the register shows, in
            # whatever company's books they are: the register's rules
            # already decided this line may be seen.
            sudo_line = line.sudo()
            rows.append(
                {
                    "date": line.date,
                    "counterpart": sudo_line.counterpart_partner_id.display_name or "",
                    "document": sudo_line.move_id.display_name or "",
                    "document_ref": sudo_line.move_id.ref or "",
                    "payment_means": line.payment_means or "",
                    "is_cash": line.is_cash,
                    "category": sudo_line.category_id.name or "",
                    "is_goods": sudo_line.category_id.is_goods,
                    "amount": line.amount,
                    "amount_total": line.amount_total,
                    "declared": False,
                }
            )
        rows.sort(key=lambda row: row["date"])
        return rows

    @api.model
    def _register_values(self, partner, register_type, rows, declarations):
        """One register: its months, each with its rows and totals (cash
        apart), the running total after each row, and the periods printed
        as declared."""
        months = []
        running = cash = total_incl = 0.0
        for row in rows:
            month = format_date(self.env, row["date"], date_format="MMMM y")
            if not months or months[-1]["label"] != month:
                months.append({"label": month, "rows": [], "total": 0.0, "cash": 0.0, "total_incl": 0.0})
            running = round(running + row["amount"], 2)
            total_incl = round(total_incl + row["amount_total"], 2)
            row_cash = row["amount"] if row["is_cash"] else 0.0
            cash = round(cash + row_cash, 2)
            months[-1]["total"] = round(months[-1]["total"] + row["amount"], 2)
            months[-1]["cash"] = round(months[-1]["cash"] + row_cash, 2)
            months[-1]["total_incl"] = round(months[-1]["total_incl"] + row["amount_total"], 2)
            months[-1]["rows"].append(
                dict(row, date=format_date(self.env, row["date"]), cash=row_cash, running=running)
            )
        return {
            "partner": partner,
            "register_type": register_type,
            "title": self.env._("Register of receipts")
            if register_type == RECEIPTS
            else self.env._("Register of purchases"),
            "months": months,
            "total": running,
            "cash_total": cash,
            "total_incl": total_incl,
            "empty_message": self.env._("Nothing collected in the period.")
            if register_type == RECEIPTS
            else self.env._("No purchase in the period."),
            "declared": [
                self.env._(
                    "%(start)s – %(end)s: as declared to Urssaf on %(declared)s%(rebuilt)s",
                    start=format_date(self.env, declaration.period_start),
                    end=format_date(self.env, declaration.period_end),
                    declared=format_datetime(self.env, declaration.declared_at, dt_format="short")
                    if declaration.declared_at
                    else "",
                    rebuilt=self.env._(" (kept from the books as they were when the addon was updated)")
                    if any(declaration.register_row_ids.mapped("rebuilt"))
                    else "",
                )
                for declaration in declarations
            ],
            "books_changed": [
                declaration.register_books_message for declaration in declarations if declaration.register_books_changed
            ],
        }
