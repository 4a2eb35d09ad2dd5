# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The *Payment ordered* banner of a declaration's form, as the server
sends it to the web client in French and in English: the debit date is not
followed by the sentence's full stop (a French short date may end with one
of its own, "31 déc.", which made "le 31 déc..")."""

from lxml import etree

from odoo.tests import TransactionCase, tagged

ADDON = "l10n_fr_urssaf_tierce_declaration"


@tagged("post_install", "-at_install")
class TestPaymentOrderedBanner(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.env["ir.module.module"]._load_module_terms([ADDON], ["fr_FR"])

    def _banner(self, lang):
        views = self.env["urssaf.declaration"].with_context(lang=lang).get_views([(False, "form")])
        arch = etree.fromstring(views["views"]["form"]["arch"])
        (banner,) = arch.xpath("//div[@name='payment_ordered']")
        return banner

    def test_no_full_stop_right_after_the_debit_date(self):
        for lang in ("fr_FR", "en_US"):
            with self.subTest(lang=lang):
                banner = self._banner(lang)
                (date,) = banner.xpath("./field[@name='debit_date']")
                self.assertFalse((date.tail or "").strip().startswith("."), etree.tostring(banner, encoding=str))
                # The sentence still ends with a full stop, after the amount.
                last = banner.xpath("./field")[-1]
                self.assertEqual((last.get("name"), (last.tail or "").strip()), ("payment_amount", "."))
