# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The confirmations of Declare and Pay name the figures, over XML-RPC as
the declarant: each declaration's period, turnover and estimated total, the
late ones with their days; for a payment the amount, the masked account and
the debit date, the one Urssaf then records."""

import re

from odoo.tests import tagged

from ..urssaf_api.masking import mask_iban
from .accountant_day import TODAY, AccountantDayCase
from .test_declaration_trust import IBAN_TRADER


def _money(amount):
    """An amount as the test users (en_US) read it, without its symbol."""
    return f"{amount:,.2f}"


def _plain(text):
    """``text`` without the euro symbol, wherever the language puts it: the
    amounts as ``_money`` writes them."""
    spaces = "[ \N{NO-BREAK SPACE}\N{NARROW NO-BREAK SPACE}]*"
    return re.sub(f"€{spaces}", "", re.sub(f"{spaces}€", "", text))


def _day(day):
    return day.strftime("%m/%d/%Y")


@tagged("post_install", "-at_install")
class TestSendConfirmation(AccountantDayCase):
    def _summary(self, step, declarations):
        context = {"active_model": "urssaf.declaration", "active_ids": declarations.ids, "default_step": step}
        wizard_id = self.rpc("declarant", "urssaf.declaration.send", "create", [{}], {"context": context})
        [values] = self.rpc("declarant", "urssaf.declaration.send", "read", [[wizard_id], ["summary"]])
        return wizard_id, _plain(values["summary"])

    def test_declare_names_periods_turnover_and_estimates(self):
        _wizard, summary = self._summary("declare", self.august | self.october)
        self.assertIn("2 declarations, 2,900.00", summary)
        lines = summary.splitlines()[1:]
        self.assertEqual(len(lines), 2, summary)
        august = next(line for line in lines if "08/01/2026 – 08/31/2026" in line)
        self.assertIn(self.trader.name, august)
        self.assertIn(f"turnover {_money(2500.0)}", august)
        self.assertTrue(self.august.estimated_total)
        self.assertIn(_money(self.august.estimated_total), august)
        # Due on 30 September, 58 days before the frozen today.
        self.assertEqual((TODAY - self.august.due_date).days, 58)
        self.assertIn(f"late: due on {_day(self.august.due_date)}, 58 days ago", august)
        october = next(line for line in lines if "10/01/2026 – 10/31/2026" in line)
        self.assertIn(f"turnover {_money(400.0)}, estimated contributions not estimated yet", october)
        self.assertNotIn("late", october)

    def test_one_declaration_is_singular(self):
        _wizard, summary = self._summary("declare", self.august)
        self.assertTrue(summary.startswith("1 declaration, "), summary)
        self.assertNotIn("declarations", summary.splitlines()[0])

    def test_pay_names_amount_masked_account_and_debit_date(self):
        wizard_id, summary = self._summary("pay", self.september)
        self.assertTrue(summary.startswith("Urssaf will debit"), summary)
        self.assertIn("for 1 declaration.", summary)
        [line] = summary.splitlines()[1:]
        self.assertTrue(self.september.remaining_due)
        self.assertIn(_money(self.september.remaining_due), line)
        self.assertIn(mask_iban(IBAN_TRADER.replace(" ", "")), line)
        self.assertNotIn(IBAN_TRADER.replace(" ", "")[4:], summary.replace(" ", ""))
        # Due on 2 November and not paid: Urssaf debits on the next working
        # day from today, the date the confirmation announces.
        self.assertIn(f"debited on {_day(TODAY)}", line)
        self.rpc("declarant", "urssaf.declaration.send", "action_confirm", [[wizard_id]])
        self.september.invalidate_recordset()
        self.assertEqual(self.september.state, "paid")
        self.assertEqual(self.september.debit_date, TODAY)

    def test_pay_says_when_there_is_no_account_to_debit(self):
        self.env["urssaf.sepa.mandate"].search([("partner_id", "=", self.trader.id)]).sudo().write({"state": "revoked"})
        _wizard, summary = self._summary("pay", self.september)
        [line] = summary.splitlines()[1:]
        self.assertIn(f"{_money(self.september.remaining_due)} cannot be paid:", line)
        self.assertIn("no active SEPA mandate", line)
        self.assertNotIn("debited on", line)
