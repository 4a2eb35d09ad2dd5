# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A declaration's turnover, read from the books: its lines refreshed from
the collected turnover, and the register rows behind an amount."""

from odoo import fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_date

from .urssaf_turnover import UNCATEGORISED


class UrssafDeclaration(models.Model):
    _inherit = "urssaf.declaration"

    def _refresh_turnover(self, turnover=None):
        """Compute the collected turnover of these drafts from the posted
        invoices, one batch per company and period; keep the amounts a
        declarant adjusted.

        :param turnover: None, or the turnover already computed for a run,
            ``{(company_id, start, end): (collected, converted)}`` as
            ``urssaf.turnover._collected_totals`` returns them, for all
            these declarations' auto-entrepreneurs
        """
        categories = {c.code: c for c in self.env["urssaf.activity.category"].search([])}
        turnover_model = self.env["urssaf.turnover"]
        groups = {}
        for declaration in self:
            if declaration.state not in ("draft", "estimated", "error") or declaration.urssaf_number:
                continue
            key = (declaration.company_id, declaration.period_start, declaration.period_end)
            groups.setdefault(key, self.browse())
            groups[key] |= declaration
        for (company, start, end), declarations in groups.items():
            known = (turnover or {}).get((company.id, start, end))
            if known and set(declarations.partner_id.ids) <= known[0].keys():
                collected, converted = known
            else:
                collected, converted = turnover_model._collected_totals(declarations.partner_id, start, end, company)
            new_lines = []
            for declaration in declarations:
                amounts = collected.get(declaration.partner_id.id, {})
                currencies = converted.get(declaration.partner_id.id, {})
                if declaration.line_ids or declaration.state != "draft" or currencies:
                    declaration._set_computed_turnover(amounts, categories, currencies)
                else:
                    # A new draft: its lines are created with the others'.
                    new_lines += [
                        {**command[2], "declaration_id": declaration.id}
                        for command in declaration._turnover_commands(amounts, categories)
                    ]
            if new_lines:
                declarations.check_access("write")
                self.env["urssaf.declaration.line"].sudo().create(new_lines)

    def _set_computed_turnover(self, amounts, categories, converted=None):
        """Write the computed amounts (euros) of the categories; ``converted``:
        ``{currency_id: amount}`` collected in another currency than the euro,
        shown beside them."""
        self.ensure_one()
        commands = self._turnover_commands(amounts, categories)
        values = {"line_ids": commands} if commands else {}
        # One currency of the books is shown; books in several (an
        # auto-entrepreneur's company and a platform's) have no single total.
        currency_id, amount_currency = (
            next(iter(converted.items())) if converted and len(converted) == 1 else (False, 0)
        )
        if (currency_id, amount_currency) != (self.collected_currency_id.id, self.collected_amount_currency):
            values.update(collected_currency_id=currency_id, collected_amount_currency=amount_currency)
        if values:
            self._urssaf_write(values)
        if self.state == "estimated" and self._amounts_snapshot() != self.estimate_snapshot:
            self._urssaf_write({"state": "draft"})

    def _turnover_commands(self, amounts, categories):
        """The commands that bring the turnover lines to the amounts
        collected (``{category code: amount}``), keeping a declarant's
        adjustments."""
        self.ensure_one()
        if UNCATEGORISED in amounts:
            # Declaring it under a guessed category would be wrong.
            raise UserError(
                self.env._(
                    "%(partner)s: part of the turnover has no Urssaf category. Set the auto-entrepreneur's "
                    "default activity category, or the category of its products.",
                    partner=self.partner_id.display_name,
                )
            )
        lines = {line.category_id.code: line for line in self.line_ids}
        codes = set(amounts) | set(lines)
        default_category = self._urssaf_account_partner().urssaf_category_id
        if not codes and default_category:
            # A period with no turnover is still declared, with zero.
            codes = {default_category.code}
        commands = []
        for code in sorted(codes, key=lambda c: categories[c].sequence if c in categories else 0):
            computed = amounts.get(code, 0.0)
            line = lines.get(code)
            if line:
                values = {"computed_amount": computed}
                if not line.is_adjusted:
                    values["amount"] = computed
                commands.append(fields.Command.update(line.id, values))
            elif code in categories:
                commands.append(
                    fields.Command.create(
                        {"category_id": categories[code].id, "computed_amount": computed, "amount": computed}
                    )
                )
        return commands

    def action_refresh_turnover(self):
        self._refresh_turnover()
        return True

    def action_open_collected(self):
        self.ensure_one()
        return self._urssaf_collected_action()

    def _urssaf_collected_action(self, category=None):
        """The rows of the register of receipts behind the turnover (or the
        amount of one ``category``): date, document, customer, amounts,
        category. Opened in the declaration's company and the companies
        whose books they come from that the user may work in, whatever
        companies are ticked in the switcher; the register's record rule
        and the books' owner's say (the register's query) still apply."""
        self.ensure_one()
        Register = self.env["urssaf.register.line"]
        domain = [
            ("register_type", "=", "receipts"),
            ("partner_id", "=", self.partner_id.id),
            ("company_id", "=", self.company_id.id),
            ("date", ">=", self.period_start),
            ("date", "<=", self.period_end),
        ]
        if category is not None:
            domain.append(("category_id", "=", category.id))
        companies = self.company_id
        rows = Register.with_context(allowed_company_ids=companies.ids).search(domain)
        books = (rows.move_id | rows.payment_move_id).sudo().company_id
        companies |= books & self.env.user.company_ids
        name = self.env._(
            "Collected by %(partner)s from %(start)s to %(end)s",
            partner=self.partner_id.display_name,
            start=format_date(self.env, self.period_start),
            end=format_date(self.env, self.period_end),
        )
        if category is not None:
            name = self.env._("%(collected)s, %(category)s", collected=name, category=category.display_name)
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": "urssaf.register.line",
            "views": [(self.env.ref("l10n_fr_urssaf_tierce_declaration.view_urssaf_register_line_list").id, "list")],
            "domain": domain,
            "context": {"allowed_company_ids": companies.ids, "create": False},
            "target": "current",
        }
