# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue 28 end to end, in a real browser and in French: the auto-entrepreneur
signs both mandates in the portal, the declarant registers them, declares
and pays its last ended period in the backend, and the auto-entrepreneur
finds the declaration in its portal space with its debit date, and its
register of the year, whose PDF holds the bill paid."""

import base64
import json
import re
from datetime import timedelta
from unittest.mock import patch
from urllib.parse import quote

from markupsafe import Markup

from odoo import Command, fields
from odoo.tests import HttpCase, tagged
from odoo.tests import common as odoo_tests_common
from odoo.tools import html2plaintext

from ..urssaf_api import periods
from ..urssaf_api.seed import seed_account
from . import test_portal_mandate_signature
from .common import UrssafSandboxMixin
from .test_portal_mandate_signature import PortalMandateMixin, pdf_text
from .test_tours import (
    ASSET_BUNDLES,
    SCREENSHOT_SIZE,
    TIMEZONE,
    UrssafTourBrowser,
    load_french,
    screenshots_wanted,
)

ADDON = "l10n_fr_urssaf_tierce_declaration"
ALIAS = "quarterly_craftsman_moselle"
TURNOVER = 3600.0


def _plain(text):
    """Text as read on a page: every kind of space as one plain space."""
    return re.sub(r"\s+", " ", text).strip()


@tagged("post_install", "-at_install")
class TestPortalEndToEndTour(PortalMandateMixin, UrssafSandboxMixin, HttpCase):
    """Three tours, one story: ``portal_mandate_tour`` as the
    auto-entrepreneur, ``portal_declarant_tour`` as the declarant,
    ``portal_space_tour`` as the auto-entrepreneur again."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_portal()
        # Urssaf declares euros.
        euro = cls.env.ref("base.EUR")
        euro.active = True
        if cls.company.currency_id != euro:
            cls.company.currency_id = euro
        # A French firm's address on the mandate (the screenshots show it).
        cls.company.write(
            {"street": "12 rue de la Paix", "zip": "75002", "city": "Paris", "country_id": cls.env.ref("base.fr").id}
        )
        # Both work in French, with every module's French terms loaded.
        load_french(cls.env)
        cls.portal_user.write({"lang": "fr_FR", "tz": TIMEZONE})
        cls.accountant.write({"lang": "fr_FR", "tz": TIMEZONE})
        cls.today = fields.Date.context_today(cls.env["urssaf.declaration"])
        # Compiled once here: a request of a tour that compiles a bundle holds
        # the test's cursor long enough for the page's other requests to fail
        # (see tests/test_tours.py). The portal's bundles, then the web client's.
        for name in test_portal_mandate_signature.TestPortalMandateTour.ASSET_BUNDLES + ASSET_BUNDLES:
            bundle = cls.env["ir.qweb"]._get_asset_bundle(name)
            if bundle.javascripts:
                bundle.js()
            if bundle.stylesheets:
                bundle.css()

    # --- helpers -------------------------------------------------------------

    def _compiled_assets(self):
        return set(self.env["ir.attachment"].sudo().search([("url", "=like", "/web/assets/%")]).mapped("url"))

    def _tour(self, url, tour, login, cookies=None):
        """Run ``tour`` from ``url`` as ``login`` in a browser of Paris, and
        check that none of its requests compiled assets."""
        compiled = self._compiled_assets()
        size = self.browser_size
        if screenshots_wanted():
            # The README's screenshots of the portal (URSSAF_SCREENSHOTS=1).
            cookies = {**(cookies or {}), "urssaf_screenshots": "1"}
            size = SCREENSHOT_SIZE
        with (
            patch.object(odoo_tests_common, "ChromeBrowser", UrssafTourBrowser),
            patch.object(self, "browser_size", size),
        ):
            self.start_tour(url, f"{ADDON}.{tour}", login=login, timeout=180, cookies=cookies)
        self.env.invalidate_all()
        self.assertFalse(
            self._compiled_assets() - compiled, "a request of the tour compiled assets: compile them in setUpClass"
        )

    def _last_ended_period(self):
        seed = seed_account(ALIAS)
        return periods.last_ended_period(
            self.today, fields.Date.to_date(seed["dateDebutActivite"]), seed["periodicite"]
        )

    def _paid_bill(self, period, amount):
        """A vendor bill from the auto-entrepreneur paid in ``period``: the
        turnover it collected then, without VAT."""
        start, end = period
        bill = self.env["account.move"].create(
            {
                "move_type": "in_invoice",
                "partner_id": self.craftsman.id,
                "invoice_date": start,
                "date": start,
                "invoice_line_ids": [
                    Command.create({"name": "Travaux du trimestre", "price_unit": amount, "tax_ids": [Command.clear()]})
                ],
            }
        )
        bill.action_post()
        self.env["account.payment.register"].with_context(active_model="account.move", active_ids=bill.ids).create(
            {"payment_date": min(start + timedelta(days=14), end)}
        )._create_payments()
        return bill

    def _shown(self, widget, value, options=None):
        """``value`` as the portal's pages show it in French (QWeb's widget)."""
        html = self.env[f"ir.qweb.field.{widget}"].with_context(lang="fr_FR").value_to_html(value, options or {})
        return _plain(html2plaintext(Markup(html)))

    # --- the story -------------------------------------------------------------

    def test_portal_end_to_end_tour(self):
        self.craftsman.action_urssaf_check_account()
        period = self._last_ended_period()
        bill = self._paid_bill(period, TURNOVER)

        # 1. The auto-entrepreneur signs both mandates in the portal.
        self._tour("/my/urssaf/mandate", "portal_mandate_tour", self.portal_user.login)
        mandate = self.env["urssaf.mandate"].search([("partner_id", "=", self.craftsman.id)])
        sepa = self.env["urssaf.sepa.mandate"].search([("partner_id", "=", self.craftsman.id)])
        self.assertEqual((len(mandate), len(sepa)), (1, 1))
        self.assertEqual((mandate.state, sepa.state), ("draft", "draft"))
        self.assertTrue(mandate.signature and sepa.signature)

        # 2. The declarant registers them, then declares and pays the period.
        self._tour("/odoo", "portal_declarant_tour", self.accountant.login)
        self.assertEqual((mandate.state, sepa.state), ("active", "active"))
        self.assertTrue(mandate.urssaf_mandate_ref)
        self.assertTrue(sepa.rum)
        declaration = self.env["urssaf.declaration"].search([("partner_id", "=", self.craftsman.id)])
        self.assertEqual(len(declaration), 1)
        self.assertEqual((declaration.period_start, declaration.period_end), tuple(period))
        self.assertEqual(declaration.state, "ordered", declaration.error_message)
        self.assertAlmostEqual(declaration.turnover_total, TURNOVER)
        self.assertTrue(declaration.urssaf_number)
        self.assertEqual(declaration.sepa_mandate_id, sepa)
        self.assertGreater(declaration.amount_total, 0.0)
        self.assertAlmostEqual(declaration.payment_amount, declaration.amount_total)
        self.assertGreater(declaration.debit_date, self.today, "ordered: debited on a date to come")
        register_rows = self.env["urssaf.declaration.register.row"].search([("declaration_id", "=", declaration.id)])
        self.assertIn(bill.name, register_rows.mapped("document"))

        # 3. The auto-entrepreneur finds it in its space, as the pages show it in French.
        currency = {"display_currency": declaration.currency_id}
        year = declaration.period_end.year
        register_pdf = f"/my/urssaf/registers/{declaration.company_id.id}/{year}/pdf"
        period_shown = (self._shown("date", day) for day in (declaration.period_start, declaration.period_end))
        expect = {
            "id": declaration.id,
            "period": " – ".join(period_shown),
            "turnover": self._shown("monetary", declaration.turnover_total, currency),
            "contributions": self._shown("monetary", declaration.amount_total, currency),
            "debit": self._shown("monetary", declaration.payment_amount, currency),
            "debit_date": self._shown("date", declaration.debit_date),
            "register_pdf": register_pdf,
        }
        # French formats, not English ones.
        self.assertRegex(expect["debit_date"], r"^\d\d/\d\d/\d{4}$")
        self.assertRegex(expect["turnover"], r"^3 600,00 €$")
        cookie = quote(json.dumps(expect), safe="")
        self._tour("/my", "portal_space_tour", self.portal_user.login, cookies={"urssaf_portal_expect": cookie})

        # The register's PDF, downloaded through the link as the auto-entrepreneur.
        # Tests render the report's HTML unless told otherwise: its text first.
        self.authenticate(self.portal_user.login, self.portal_user.login)
        response = self.url_open(register_pdf, timeout=120)
        self.assertEqual(response.status_code, 200)
        text = html2plaintext(response.text)
        compact = "".join(text.split())
        for expected in (self.craftsman.name, bill.name, self._shown("monetary", TURNOVER, currency)):
            self.assertIn("".join(expected.split()), compact)
        # Then the PDF itself (wkhtmltopdf). Odoo's report fonts keep no text
        # map in it: what reads back is the ✓ (another font) of each row kept
        # with the declaration, and the footnote's (tests/test_declaration_register.py).
        with self._render_pdfs():
            response = self.url_open(register_pdf, timeout=120)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "application/pdf")
        self.assertEqual(text.count("✓"), len(register_rows) + 1)
        self.assertEqual(pdf_text(base64.b64encode(response.content)).count("✓"), text.count("✓"))
