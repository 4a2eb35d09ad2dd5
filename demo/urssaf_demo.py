# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The demo's books: French companies and paid invoices behind the declarations.

Called once by demo/urssaf_demo.xml, after its auto-entrepreneurs. Dates are
relative to the day the demo is installed, so that the periods ended before
that day have turnover, whatever the day:

- a platform company, "Plateforme Services Pro", paying its
  auto-entrepreneurs by vendor bills: bills and payments over the last four
  months for each demo auto-entrepreneur but one, with partial payments, a
  credit note, goods and services on one bill, VAT, a payment in US dollars;
- Chloé Moreau keeping her own books in a company of her own: customer
  invoices and their payments, read by the platform that declares for her.

The French chart of accounts comes from ``l10n_fr_account``; where it is not
installed (a database created without it), the books are left out and the
rest of the demo stays.
"""

import base64
import logging

from dateutil.relativedelta import relativedelta

from odoo import Command, api, fields, models
from odoo.tools import mute_logger
from odoo.tools.misc import file_open

_logger = logging.getLogger(__name__)

MODULE = "l10n_fr_urssaf_tierce_declaration"
PLATFORM = "demo_company_platform"
AE_COMPANY = "demo_company_moreau"
# The auto-entrepreneurs of demo/urssaf_demo.xml the platform pays by bills.
BILLED = ("martin", "bernard", "dubois", "roux", "petit")
# Those the platform holds a registered mandate (and a SEPA mandate) for:
# Prepare declarations picks them up.
MANDATED = ("martin", "bernard", "moreau")


class UrssafDemo(models.AbstractModel):
    _name = "urssaf.demo"
    _description = "Urssaf demo data"

    @api.model
    def _setup(self):
        """Create the demo companies, their books and the demo users' access;
        do nothing when done already or without the French chart."""
        if self.env.ref(f"{MODULE}.{PLATFORM}", raise_if_not_found=False):
            return False
        if self.env["ir.module.module"]._get("l10n_fr_account").state != "installed":
            _logger.info(
                "Urssaf demo: the French chart of accounts (l10n_fr_account) is not installed; "
                "the demo companies and their invoices are left out (tools/demo.py installs it first)."
            )
            return False
        self = self.sudo()  # noqa: PLW0642 (demo data is loaded as the superuser)
        today = fields.Date.context_today(self)
        platform = self._company(
            PLATFORM,
            {
                "name": "Plateforme Services Pro",
                "street": "12 rue de la Paix",
                "zip": "75002",
                "city": "Paris",
                "company_registry": "73282932000017",
                "vat": "FR44732829320",
                "email": "compta@plateforme-services.example.com",
            },
        )
        moreau = self._partner("moreau")
        moreau.write({"street": "3 quai de la Fosse", "zip": "44000", "email": "chloe.moreau@example.com"})
        ae_company = self._company(AE_COMPANY, {"name": moreau.name, "partner_id": moreau.id})
        # The auto-entrepreneur lets the platform read its books to declare from them.
        ae_company.urssaf_books_reader_ids = platform
        self._urssaf_accounts(platform)
        self._mandates(platform, today)
        self._users(platform | ae_company)
        for name in BILLED:
            self._bills(platform, name, today)
        self._sales(ae_company, today)
        return True

    # ------------------------------------------------------------------
    # Companies, auto-entrepreneurs, users
    # ------------------------------------------------------------------

    def _partner(self, name):
        return self.env.ref(f"{MODULE}.demo_partner_{name}")

    def _company(self, xmlid, values):
        eur = self.env.ref("base.EUR")
        eur.active = True
        company = self.env["res.company"].create(
            {"country_id": self.env.ref("base.fr").id, "currency_id": eur.id, **values}
        )
        # A French company writes in French (its documents, its e-mails).
        company.partner_id.lang = "fr_FR"
        self.env["ir.model.data"].create(
            {"module": MODULE, "name": xmlid, "model": "res.company", "res_id": company.id, "noupdate": True}
        )
        # The superuser loads the chart: its company list must hold it.
        self.env.user.company_ids |= company
        # Odoo warns that the registry is still loading (this runs while the
        # addon installs): the chart's module, l10n_fr_account, and all it
        # needs are loaded already, since it was installed before the addon.
        with mute_logger("odoo.addons.account.models.chart_template"):
            self.env["account.chart.template"].try_loading("fr", company, install_demo=False)
        return company

    def _urssaf_accounts(self, platform):
        """What the platform knows of each demo auto-entrepreneur: as the
        demo's main company, except Moreau's turnover, read from her books."""
        main = self.env.ref("base.main_company")
        for account in self.env["urssaf.account"].search([("company_id", "=", main.id)]):
            partner = account.partner_id.with_company(platform)
            values = {
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_identifier_type": account.identifier_type,
                "urssaf_category_id": account.category_id.id,
                "urssaf_trade": account.trade,
                "urssaf_turnover_source": account.turnover_source,
            }
            if account.nir:
                values["urssaf_nir"] = account.nir
            if partner == self._partner("moreau"):
                values["urssaf_turnover_source"] = "customer_invoices"
            partner.write(values)
        partners = self.env["urssaf.account"].search([("company_id", "=", platform.id)]).partner_id
        partners.with_company(platform).action_urssaf_check_account()

    def _mandates(self, platform, today):
        document = base64.b64encode(file_open(f"{MODULE}/demo/mandat_tierce_declaration_demo.pdf", "rb").read())
        env = self.with_company(platform).env
        for name in MANDATED:
            partner = self._partner(name)
            mandate = env["urssaf.mandate"].create(
                {
                    "partner_id": partner.id,
                    "company_id": platform.id,
                    "signature_date": today - relativedelta(months=2),
                    "document": document,
                    "document_name": f"mandat_tierce_declaration_{name}.pdf",
                }
            )
            mandate.action_register()
        # Urssaf knows Camille Martin's SEPA mandate already; the others'
        # are registered by the platform.
        self._partner("martin").with_company(platform).action_urssaf_sync_sepa_mandates()
        for name, iban in (("bernard", None), ("moreau", "FR76 3000 4000 0300 0123 4567 897")):
            partner = self._partner(name)
            bank = partner.bank_ids[:1] or env["res.partner.bank"].create(
                {"partner_id": partner.id, "acc_number": iban}
            )
            sepa = env["urssaf.sepa.mandate"].create(
                {
                    "partner_id": partner.id,
                    "company_id": platform.id,
                    "bank_account_id": bank.id,
                    "holder": partner.name,
                    "signature_date": today - relativedelta(months=2),
                }
            )
            sepa.action_register()

    def _users(self, companies):
        """The demo users (demo/urssaf_demo.xml) and admin work in the
        platform company."""
        platform = companies[0]
        users = self.env.ref("base.user_admin") | self.env.ref(f"{MODULE}.demo_user_preparer")
        users |= self.env.ref(f"{MODULE}.demo_user_declarant")
        for user in users:
            user.write({"company_ids": [Command.link(company.id) for company in companies], "company_id": platform.id})

    # ------------------------------------------------------------------
    # Books
    # ------------------------------------------------------------------

    def _products(self):
        """A service and a good, without Urssaf category: the auto-entrepreneur's
        default category applies to the service, sales of goods to the good."""
        Product = self.env["product.product"]
        service = Product.search([("default_code", "=", "URSSAF-DEMO-SERVICE")], limit=1) or Product.create(
            {"name": "Prestation de service", "default_code": "URSSAF-DEMO-SERVICE", "type": "service"}
        )
        good = Product.search([("default_code", "=", "URSSAF-DEMO-GOOD")], limit=1) or Product.create(
            {"name": "Fournitures", "default_code": "URSSAF-DEMO-GOOD", "type": "consu"}
        )
        return service, good

    def _move(self, company, move_type, partner, day, lines, currency=None):
        """A posted invoice, bill or credit note of ``company``; ``lines``:
        ``(product, price, taxed)``."""
        tax_field = "account_sale_tax_id" if move_type.startswith("out") else "account_purchase_tax_id"
        tax = company[tax_field]
        move = (
            self.env["account.move"]
            .with_company(company)
            .create(
                {
                    "move_type": move_type,
                    "company_id": company.id,
                    "partner_id": partner.id,
                    "invoice_date": day,
                    "date": day,
                    "currency_id": (currency or company.currency_id).id,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": product.id,
                                "name": product.name,
                                "quantity": 1,
                                "price_unit": price,
                                "tax_ids": [Command.set(tax.ids if taxed else [])],
                            }
                        )
                        for product, price, taxed in lines
                    ],
                }
            )
        )
        move.action_post()
        return move

    def _pay(self, move, day, amount=None, currency=None):
        """Register a payment of ``move`` on ``day``: in full, or ``amount``
        (in ``currency``, the move's by default)."""
        values = {"payment_date": day}
        if amount is not None:
            values["amount"] = amount
        if currency:
            values["currency_id"] = currency.id
        wizard = (
            self.env["account.payment.register"]
            .with_company(move.company_id)
            .with_context(active_model="account.move", active_ids=move.ids)
            .create(values)
        )
        if amount is not None:
            wizard.payment_difference_handling = "open"
        return wizard._create_payments()

    def _month_starts(self, today):
        """The first day of each of the four months before this one, oldest first."""
        this_month = today.replace(day=1)
        return [this_month - relativedelta(months=n) for n in (4, 3, 2, 1)]

    def _bills(self, platform, name, today):
        """Each month, a bill from ``partner`` paid ten days later; the second
        one paid in two halves a month apart; the third with goods and
        services and VAT; the last one paid in US dollars; a credit note on
        the first one."""
        partner = self._partner(name)
        service, good = self._products()
        base = 400 + 100 * BILLED.index(name)
        starts = self._month_starts(today)
        bills = []
        for index, start in enumerate(starts):
            if index == 2:
                lines = [(service, base + 150, True), (good, 120, True)]
            else:
                lines = [(service, base + 50 * index, False)]
            bills.append(self._move(platform, "in_invoice", partner, start + relativedelta(days=3), lines))
        refund = self._move(platform, "in_refund", partner, starts[0] + relativedelta(days=5), [(service, 50, False)])
        (refund | bills[0]).line_ids.filtered(lambda line: line.display_type == "payment_term").reconcile()
        self._pay(bills[0], starts[0] + relativedelta(days=10))
        half = round(bills[1].amount_total / 2, 2)
        self._pay(bills[1], starts[1] + relativedelta(days=10), amount=half)
        self._pay(bills[1], starts[2] + relativedelta(days=10))
        self._pay(bills[2], starts[2] + relativedelta(days=12))
        usd = self._usd(platform, starts[3] + relativedelta(days=10))
        self._pay(bills[3], starts[3] + relativedelta(days=10), currency=usd)

    def _usd(self, company, day):
        usd = self.env.ref("base.USD")
        usd.active = True
        Rate = self.env["res.currency.rate"]
        if not Rate.search([("currency_id", "=", usd.id), ("company_id", "=", company.id), ("name", "=", day)]):
            Rate.create({"currency_id": usd.id, "company_id": company.id, "name": day, "rate": 1.08})
        return usd.with_company(company)

    def _sales(self, company, today):
        """Chloé Moreau's own customer invoices: paid in full, in part, and a
        credit note paid back."""
        service, _good = self._products()
        customer = self.env["res.partner"].create(
            {"name": "Transports Atlantique SARL", "company_id": company.id, "city": "Nantes"}
        )
        starts = self._month_starts(today)
        invoices = [
            self._move(company, "out_invoice", customer, start + relativedelta(days=2), [(service, 900 + 80 * i, True)])
            for i, start in enumerate(starts)
        ]
        for invoice, start in zip(invoices, starts, strict=True):
            self._pay(invoice, start + relativedelta(days=12))
        refund = self._move(company, "out_refund", customer, starts[2] + relativedelta(days=20), [(service, 100, True)])
        self._pay(refund, starts[2] + relativedelta(days=25))
