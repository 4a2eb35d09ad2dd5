# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Bad values through the wizard and the buttons: each gets its message, in
the user's language, and nothing changes in the database."""

import base64
from datetime import date, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from ..urssaf_api.sandbox import Sandbox
from .common import UrssafTransactionCase

DOCUMENT = base64.b64encode(b"%PDF-1.4 mandat")


@tagged("post_install", "-at_install")
class TestBadInput(UrssafTransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.env["ir.module.module"]._load_module_terms(["l10n_fr_urssaf_tierce_declaration"], ["fr_FR"])
        cls.company_b = cls.env["res.company"].create({"name": "Cabinet B"})
        cls.declarant = new_test_user(
            cls.env,
            login="bad_input_declarant",
            groups="account.group_account_manager,l10n_fr_urssaf_tierce_declaration.group_urssaf_declarant",
        )
        cls.other_company_user = new_test_user(
            cls.env,
            login="bad_input_other_company",
            groups="account.group_account_manager,l10n_fr_urssaf_tierce_declaration.group_urssaf_declarant",
            company_id=cls.company_b.id,
            company_ids=[fields.Command.set(cls.company_b.ids)],
        )
        cls.category = cls.env.ref("l10n_fr_urssaf_tierce_declaration.category_vente_marchandises")
        cls.ae = cls.env["res.partner"].create(
            {
                "name": "Camille Martin",
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_identifier_type": "nir",
                "urssaf_nir": "288047511102371",
                "urssaf_category_id": cls.category.id,
            }
        )
        cls.ae.action_urssaf_check_account()
        cls.bank = cls.env["res.partner.bank"].create(
            {"partner_id": cls.ae.id, "acc_number": "FR76 3000 6000 0112 3456 7890 189"}
        )
        cls.mandate = cls.env["urssaf.mandate"].create({"partner_id": cls.ae.id, "signature_date": date(2026, 1, 5)})
        cls.declaration = cls.env["urssaf.declaration"].create(
            {
                "partner_id": cls.ae.id,
                "period_start": date(2026, 10, 1),
                "period_end": date(2026, 10, 31),
                "periodicity": "monthly",
                "line_ids": [
                    fields.Command.create({"category_id": cls.category.id, "computed_amount": 10.0, "amount": 10.0})
                ],
            }
        )

    def _snapshot(self):
        """What must not change, read straight from the tables."""
        self.env.flush_all()
        tables = [
            "res_partner",
            "urssaf_mandate",
            "urssaf_sepa_mandate",
            "urssaf_declaration",
            "urssaf_declaration_line",
            "urssaf_declaration_contribution",
        ]
        snapshot = {}
        for table in tables:
            self.env.cr.execute(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608 (fixed names)
            snapshot[table] = self.env.cr.fetchall()
        return snapshot

    def _in_lang(self, records):
        """``records`` as the user sees them, in the language of the case."""
        return records.with_context(lang=self.lang)

    def _wizard(self, **values):
        return self._in_lang(self.env["urssaf.declaration.prepare"].with_user(self.declarant)).create(
            {"partner_ids": [fields.Command.set(self.ae.ids)], **values}
        )

    def test_table_of_bad_values(self):
        tomorrow = fields.Date.context_today(self.declaration) + timedelta(days=1)
        in_lang = self._in_lang
        cases = [
            # (what, the call, the error, English fragment, French fragment)
            (
                "wizard: empty period",
                lambda: self._wizard(period_mode="custom").action_prepare(),
                UserError, "give its first and last days", "premier et dernier jours",
            ),
            (
                "wizard: period in the future",
                lambda: self._wizard(
                    period_mode="custom", date_from=date(2026, 10, 1), date_to=tomorrow
                ).action_prepare(),
                UserError, "has not ended yet", "pas encore terminée",
            ),
            (
                "wizard: reversed period",
                lambda: self._wizard(
                    period_mode="custom", date_from=date(2026, 10, 31), date_to=date(2026, 10, 1)
                ).action_prepare(),
                UserError, "first day is after the last day", "premier jour est après le dernier",
            ),
            (
                "wizard: no auto-entrepreneur",
                lambda: self._wizard(partner_ids=[fields.Command.clear()]).action_prepare(),
                UserError, "choose at least one", "choisissez-en au moins un",
            ),
            (
                "NIR with a wrong key",
                lambda: in_lang(self.ae).write({"urssaf_nir": "288047511102372"}),
                ValidationError, "key does not match", "clé ne correspond pas",
            ),
            (
                "NIR too short",
                lambda: in_lang(self.ae).write({"urssaf_nir": "28804751110"}),
                ValidationError, "15 characters", "15 caractères",
            ),
            (
                "invalid SIRET",
                lambda: in_lang(self.ae).write({"company_registry": "81234567600018"}),
                ValidationError, "not a valid SIRET", "n'est pas un SIRET valide",
            ),
            (
                "invalid IBAN",
                lambda: self._sepa_mandate_on("FR76 3000 6000 0112 3456 7890 180"),
                ValidationError, "not a valid IBAN", "n'est pas un IBAN valide",
            ),
            (
                "mandate without its document",
                lambda: in_lang(self.mandate).with_user(self.declarant).action_register(),
                UserError, "Attach the signed mandate", "Joignez le mandat signé",
            ),
            (
                "negative amount",
                self._negative_then_estimate,
                UserError, "negative", "négatif",
            ),
            (
                "three decimals",
                lambda: in_lang(self.declaration.line_ids).with_user(self.declarant).write({"amount": 10.005}),
                ValidationError, "more than two decimals", "plus de deux décimales",
            ),
            (
                "declare without an active mandate",
                self._estimated_then_declare,
                UserError, "no active Urssaf mandate", "aucun mandat Urssaf actif",
            ),
            (
                "another company's declaration",
                lambda: self.declaration.with_user(self.other_company_user).read(["state"]),
                AccessError, "", "",
            ),
            (
                "another company's mandate",
                lambda: self.mandate.with_user(self.other_company_user).action_register(),
                AccessError, "", "",
            ),
        ]  # fmt: skip
        for lang in ("en_US", "fr_FR"):
            self.lang = lang
            for what, call, error, english, french in cases:
                with self.subTest(what=what, lang=lang):
                    before = self._snapshot()
                    with (
                        patch.object(Sandbox, "handle", side_effect=AssertionError("Urssaf must not be called")),
                        self.assertRaises(error) as caught,
                        mute_logger("odoo.sql_db"),
                        self.env.cr.savepoint(),
                    ):
                        call()
                    self.assertIn(english if lang == "en_US" else french, str(caught.exception))
                    self.assertEqual(self._snapshot(), before, "nothing changed")

    def _sepa_mandate_on(self, iban):
        bank = self.env["res.partner.bank"].create({"partner_id": self.ae.id, "acc_number": iban})
        return self._in_lang(self.env["urssaf.sepa.mandate"]).create(
            {"partner_id": self.ae.id, "holder": "C. Martin", "bank_account_id": bank.id}
        )

    def _negative_then_estimate(self):
        self._in_lang(self.declaration.line_ids).with_user(self.declarant).amount = -5.0
        self._in_lang(self.declaration).with_user(self.declarant).action_estimate()

    def _estimated_then_declare(self):
        self.declaration.write({"state": "estimated", "estimate_snapshot": self.declaration._amounts_snapshot()})
        self._in_lang(self.declaration).with_user(self.declarant).action_declare()
