# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from pathlib import Path

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader

ADDON = "l10n_fr_urssaf_tierce_declaration"
I18N = Path(__file__).resolve().parent.parent / "i18n"


@tagged("post_install", "-at_install")
class TestFrenchTranslation(TransactionCase):
    def test_every_term_of_the_addon_has_a_french_translation(self):
        """Labels, selections, help texts, menus, buttons, views, error and
        chatter messages: every term Odoo exports for the addon is translated."""
        terms = {
            source
            for module, _type, _name, _res_id, source, _value, _comments in TranslationModuleReader(
                self.env.cr, modules=[ADDON]
            )
            if module == ADDON
        }
        self.assertGreater(len(terms), 100, "the addon's terms were read")
        french = polib.pofile(str(I18N / "fr.po"))
        translated = {entry.msgid for entry in french if entry.msgstr and not entry.fuzzy and not entry.obsolete}
        missing = sorted(terms - translated)
        self.assertFalse(missing, f"{len(missing)} terms without French translation, first ones: {missing[:10]}")

    def test_template_is_up_to_date(self):
        terms = {
            source
            for module, _type, _name, _res_id, source, _value, _comments in TranslationModuleReader(
                self.env.cr, modules=[ADDON]
            )
            if module == ADDON
        }
        template = {entry.msgid for entry in polib.pofile(str(I18N / f"{ADDON}.pot"))}
        self.assertEqual(terms - template, set(), "run tools/update_translations.py")
