# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The accountant's and the preparer's flows in a real browser (Odoo tours,
static/tests/tours/), against the embedded sandbox.

``URSSAF_SCREENSHOTS=1`` makes the accountant's tour save the screenshots of
the README and of the app's description in ``static/description/``::

    URSSAF_SCREENSHOTS=1 python3 tools/run_tests.py tests/test_tours.py
"""

import base64
import json
import logging
import os
import re
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests import common as odoo_tests_common

from ..urssaf_api import periods
from ..urssaf_api.seed import seed_account
from .accountant_day import TODAY, AccountantDayCase
from .common import UrssafTransactionCase, reset_embedded_sandbox
from .rpc_trust import PASSWORD, USER_GROUPS

_logger = logging.getLogger(__name__)

MODULE = "l10n_fr_urssaf_tierce_declaration"
SCREENSHOTS_DIR = Path(__file__).resolve().parent.parent / "static" / "description"
SCREENSHOT_PREFIX = "urssaf-screenshot:"
# Large enough for the chatter to stand beside the form.
SCREENSHOT_SIZE = "1600x1000"
TIMEZONE = "Europe/Paris"
# An IBAN of the auto-entrepreneur that Urssaf does not know yet.
IBAN = "FR76 3000 4000 0312 3456 7890 143"
DOCUMENT = base64.b64encode(b"%PDF-1.4\n% mandat signe\n%%EOF\n")


# The bundles the web client loads for a tour.
ASSET_BUNDLES = (
    "web.assets_web",
    "web.assets_web_print",
    "web.assets_tests",
    "web.__assets_tests_call__",
    "web.assets_emoji",
    "bus.websocket_worker_assets",
    # The e-mails to the auto-entrepreneur the declaring and paying send
    # (their layout's style sheet).
    "mail.assets_message_email",
)


def screenshots_wanted():
    return os.environ.get("URSSAF_SCREENSHOTS", "").strip().lower() in ("1", "true", "yes")


def load_french(env):
    """French active, with the French terms of every installed module (Odoo's
    and the addon's i18n/fr.po), as an accountant working in French has."""
    env["res.lang"]._activate_lang("fr_FR")
    installed = env["ir.module.module"].search([("state", "=", "installed")])
    env["ir.module.module"]._load_module_terms(installed.mapped("name"), ["fr_FR"])


def compile_web_client_assets(env):
    """Compile the web client's asset bundles once, before the tours.

    In a test, every request of the browser runs on the test's one
    cursor, taken in turn under a lock that a request waits for 20 s at
    most; and the bundles compiled during a test go with its rollback.
    Left to the browser, the first page of each tour compiles them (tens
    of seconds on a loaded machine) while holding that cursor, and the
    page's other requests give up waiting for it: the tour then fails on
    their error pages. Compiled here, no request of a tour compiles any.
    """
    for name in ASSET_BUNDLES:
        bundle = env["ir.qweb"]._get_asset_bundle(name)
        if bundle.javascripts:
            bundle.js()
        if bundle.stylesheets:
            bundle.css()


class UrssafTourBrowser(odoo_tests_common.ChromeBrowser):
    """Odoo's test browser, in the time zone of a French accountant, saving a
    screenshot when a tour step asks for it.

    The step logs ``urssaf-screenshot:<name>`` and waits: the page is saved
    as ``static/description/screenshot_<name>.png``, then the body is marked
    ``data-urssaf-screenshot="<name>"`` and the tour goes on.
    """

    def __init__(self, test_case, *args, **kwargs):
        super().__init__(test_case, *args, **kwargs)
        # Odoo's web client shows date-times in the browser's time zone.
        self._websocket_request("Emulation.setTimezoneOverride", params={"timezoneId": TIMEZONE})

    def _handle_console(self, type, args=None, stackTrace=None, **kw):  # pylint: disable=redefined-builtin
        first = args[0].get("value") if args else None
        if type == "log" and isinstance(first, str) and first.startswith(SCREENSHOT_PREFIX):
            self._urssaf_screenshot(first[len(SCREENSHOT_PREFIX) :])
        return super()._handle_console(type, args=args, stackTrace=stackTrace, **kw)

    def _urssaf_screenshot(self, name):
        if not re.fullmatch(r"[a-z_]+", name):
            _logger.error("Invalid screenshot name %r", name)
            return
        capture = self._websocket_send("Page.captureScreenshot", params={"format": "png"}, with_future=True)

        def save(future):
            try:
                path = SCREENSHOTS_DIR / f"screenshot_{name}.png"
                path.write_bytes(base64.b64decode(future.result()["data"]))
                _logger.info("Screenshot saved: %s", path)
            finally:
                # This runs on the thread that receives the browser's
                # messages: it may send, never wait for an answer.
                self._websocket_send(
                    "Runtime.evaluate",
                    params={"expression": f"document.body.dataset.urssafScreenshot = {json.dumps(name)}"},
                )

        capture.add_done_callback(save)


class UrssafTourMixin:
    """Runs a tour of static/tests/tours/ in the browser of a French
    accountant, saving its screenshots when asked (URSSAF_SCREENSHOTS=1)."""

    def _compiled_assets(self):
        return set(self.env["ir.attachment"].sudo().search([("url", "=like", "/web/assets/%")]).mapped("url"))

    def _start_tour(self, tour, login, screenshots=False):
        """Run ``tour`` as ``login``; with ``screenshots``, save those it
        takes when the environment asks for them (URSSAF_SCREENSHOTS=1)."""
        kwargs = {"login": login, "timeout": 180}
        size = self.browser_size
        if screenshots and screenshots_wanted():
            kwargs["cookies"] = {"urssaf_screenshots": "1"}
            size = SCREENSHOT_SIZE
        compiled = self._compiled_assets()
        with (
            patch.object(odoo_tests_common, "ChromeBrowser", UrssafTourBrowser),
            patch.object(self, "browser_size", size),
        ):
            self.start_tour("/odoo", f"{MODULE}.{tour}", **kwargs)
        self.env.invalidate_all()
        self.assertFalse(
            self._compiled_assets() - compiled, "a request of the tour compiled assets: compile them in setUpClass"
        )


@tagged("post_install", "-at_install")
class TestUrssafTours(UrssafTourMixin, UrssafTransactionCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.name = "Cabinet Exemple Expertise"
        # Urssaf declares euros.
        euro = cls.env.ref("base.EUR")
        euro.active = True
        if cls.company.currency_id != euro:
            cls.company.currency_id = euro
        cls.categories = {c.code: c for c in cls.env["urssaf.activity.category"].search([])}
        # The accountant works in French, with Odoo's French terms loaded.
        load_french(cls.env)
        cls.accountant = new_test_user(
            cls.env,
            login="urssaf_tour_accountant",
            name="Claire Comptable",
            lang="fr_FR",
            tz=TIMEZONE,
            groups=f"base.group_user,account.group_account_manager,{MODULE}.group_urssaf_declarant",
        )
        cls.preparer = new_test_user(
            cls.env,
            login="urssaf_tour_preparer",
            name="Paul Preparer",
            tz=TIMEZONE,
            groups=f"base.group_user,{MODULE}.group_urssaf_preparer",
        )
        cls.today = fields.Date.context_today(cls.env["urssaf.declaration"])
        compile_web_client_assets(cls.env)

    def setUp(self):
        super().setUp()
        # Both tours register mandates: each starts from the sandbox's seed.
        reset_embedded_sandbox(self.env.cr.dbname)

    def _last_ended_period(self, alias):
        seed = seed_account(alias)
        return periods.last_ended_period(
            self.today, fields.Date.to_date(seed["dateDebutActivite"]), seed["periodicite"]
        )

    def _paid_bill(self, partner, period, amount):
        """A vendor bill from ``partner`` paid in ``period``: turnover it
        collected then, without VAT (an auto-entrepreneur charges none)."""
        start, end = period
        bill = self.env["account.move"].create(
            {
                "move_type": "in_invoice",
                "partner_id": partner.id,
                "invoice_date": start,
                "date": start,
                "invoice_line_ids": [
                    Command.create({"name": "Prestations du mois", "price_unit": amount, "tax_ids": [Command.clear()]})
                ],
            }
        )
        bill.action_post()
        self.env["account.payment.register"].with_context(active_model="account.move", active_ids=bill.ids).create(
            {"payment_date": min(start + timedelta(days=14), end)}
        )._create_payments()
        collected = self.env["urssaf.turnover"]._compute_collected(partner, start, end, self.company)
        self.assertEqual(sum(collected[partner.id].values()), amount, "the bill paid is the period's turnover")
        return bill

    def test_accountant_tour(self):
        """From a plain vendor to a paid declaration, in French."""
        seed = seed_account("monthly_trader")
        partner = self.env["res.partner"].create(
            {
                "name": f"{seed['prenoms']} {seed['nom']}",
                "email": "camille.martin@example.com",
                "street": "12 rue des Lilas",
                "zip": "75011",
                "city": "Paris",
                "country_id": self.env.ref("base.fr").id,
                "lang": "fr_FR",
            }
        )
        bank_account = self.env["res.partner.bank"].create({"partner_id": partner.id, "acc_number": IBAN})
        period = self._last_ended_period("monthly_trader")
        self._paid_bill(partner, period, 1250.0)

        self._start_tour("accountant_tour", self.accountant.login, screenshots=True)

        self.env.invalidate_all()
        self.assertTrue(partner.urssaf_is_auto_entrepreneur)
        self.assertEqual(partner.urssaf_identifier_type, "nir")
        self.assertEqual(partner.urssaf_nir, seed["nir"])
        self.assertEqual(partner.urssaf_category_id, self.categories["VENTE_MARCHANDISES"])
        self.assertEqual(partner.urssaf_trade, "commercant")
        self.assertEqual(partner.urssaf_account_state, "eligible")
        self.assertEqual(partner.urssaf_periodicity, "monthly")

        mandate = self.env["urssaf.mandate"].search([("partner_id", "=", partner.id)])
        self.assertEqual(mandate.state, "active")
        self.assertTrue(mandate.document)
        self.assertEqual(mandate.document_name, "mandat_signe.pdf")
        self.assertTrue(mandate.urssaf_mandate_ref)

        sepa_mandate = self.env["urssaf.sepa.mandate"].search([("partner_id", "=", partner.id)])
        self.assertEqual(sepa_mandate.state, "active")
        self.assertEqual(sepa_mandate.bank_account_id, bank_account)
        self.assertTrue(sepa_mandate.rum)

        declaration = self.env["urssaf.declaration"].search([("partner_id", "=", partner.id)])
        self.assertEqual(len(declaration), 1)
        self.assertEqual((declaration.period_start, declaration.period_end), tuple(period))
        # Paid on its debit date, ordered until then (issue 27).
        today = fields.Date.context_today(declaration)
        self.assertEqual(declaration.state, "ordered" if declaration.debit_date > today else "paid")
        self.assertAlmostEqual(declaration.turnover_total, 1250.0)
        self.assertTrue(declaration.urssaf_number)
        self.assertTrue(declaration.payment_reference)
        self.assertGreater(declaration.amount_total, 0.0)
        self.assertAlmostEqual(declaration.payment_amount, declaration.amount_total)
        self.assertEqual(declaration.sepa_mandate_id, sepa_mandate)
        # What Urssaf (the embedded sandbox) holds.
        found = self.company._urssaf_client().find_declarations(
            partner._urssaf_identifier(), period_start=declaration.period_start
        )
        self.assertEqual([(d.number, d.status) for d in found], [(declaration.urssaf_number, "PAYEE")])

    def test_preparer_tour(self):
        """A preparer estimates, and is never offered to declare."""
        seed = seed_account("quarterly_craftsman_moselle")
        partner = self.env["res.partner"].create(
            {
                "name": f"{seed['prenoms']} {seed['nom']}",
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_identifier_type": "siret",
                "company_registry": seed["siret"],
                "urssaf_category_id": self.categories["PRESTATION_SERVICES_BIC"].id,
                "urssaf_trade": "artisan",
            }
        )
        # What a declarant did before: the account checked, the mandate registered.
        partner.action_urssaf_check_account()
        mandate = self.env["urssaf.mandate"].create(
            {"partner_id": partner.id, "document": DOCUMENT, "document_name": "mandat.pdf"}
        )
        mandate.action_register()
        self.assertEqual(mandate.state, "active")
        period = self._last_ended_period("quarterly_craftsman_moselle")
        self._paid_bill(partner, period, 3600.0)

        self._start_tour("preparer_tour", self.preparer.login)

        self.env.invalidate_all()
        declaration = self.env["urssaf.declaration"].search([("partner_id", "=", partner.id)])
        self.assertEqual(len(declaration), 1)
        self.assertEqual((declaration.period_start, declaration.period_end), tuple(period))
        self.assertEqual(declaration.state, "estimated")
        self.assertAlmostEqual(declaration.turnover_total, 3600.0)
        self.assertGreater(declaration.estimated_total, 0.0)
        self.assertFalse(declaration.urssaf_number)
        self.assertFalse(declaration.declared_at)
        # Nothing was declared to Urssaf.
        found = self.company._urssaf_client().find_declarations(
            partner._urssaf_identifier(), period_start=declaration.period_start
        )
        self.assertEqual(found, [])


@tagged("post_install", "-at_install")
class TestMorningTour(UrssafTourMixin, AccountantDayCase):
    """The accountant's morning, in French (issue 27), on the records of
    tests/accountant_day.py: the cockpit, its late declarations, one of them
    declared from the list after the confirmation's figures, its deadline
    to-do closed."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a.name = "Cabinet Exemple Expertise"
        load_french(cls.env)
        cls.accountant = new_test_user(
            cls.env,
            login="urssaf_morning_declarant",
            password=PASSWORD,
            name="Claire Comptable",
            lang="fr_FR",
            tz=TIMEZONE,
            groups=USER_GROUPS["declarant"],
            company_id=cls.company_a.id,
            company_ids=[Command.set(cls.company_a.ids)],
        )
        # Named as by a French accountant: the stored name formats the
        # period in the language of whoever created the declaration.
        declarations = cls.env["urssaf.declaration"].search([("company_id", "=", cls.company_a.id)])
        declarations.with_context(lang="fr_FR")._compute_name()
        declarations.flush_recordset(["name"])
        # The deadline to-dos of the declarations not declared go to her.
        cls.company_a.urssaf_responsible_user_id = cls.accountant
        # In her language, as the declarations' names above.
        cls.env["urssaf.declaration"].with_context(lang="fr_FR")._plan_deadline_activities(cls.company_a, TODAY)
        compile_web_client_assets(cls.env)

    def test_morning_tour(self):
        """Late since 30 September, the estimated August declaration is
        declared from the cockpit's late list; its to-do is done, the other
        late declarations keep theirs."""
        self.assertEqual(self.august.state, "estimated")
        self.assertGreater(self.august.days_late, 0)
        self.assertTrue(self.august._urssaf_deadline_todos())
        self.assertTrue(self.july._urssaf_deadline_todos())

        self._start_tour("morning_tour", self.accountant.login, screenshots=True)

        self.env.invalidate_all()
        self.assertEqual(self.august.state, "declared")
        self.assertTrue(self.august.urssaf_number)
        self.assertFalse(self.august._urssaf_deadline_todos(), "the to-do is closed once declared")
        todo_type = self.env.ref("mail.mail_activity_data_todo")
        done = self.august.message_ids.filtered(lambda message: message.mail_activity_type_id == todo_type)
        self.assertEqual(len(done), 1, "the to-do is marked done, not deleted")
        # The others were not touched.
        self.assertEqual((self.july.state, self.september.state), ("error", "declared"))
        self.assertTrue(self.july._urssaf_deadline_todos())
