# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Bad values through the wizard and the buttons: each gets its own message,
in the user's language, and the refused call itself leaves nothing in the
database.

"Nothing changed" is read by SQL right after the refused call, with the
ORM's pending writes flushed first and without rolling anything back: a
call that wrote before it refused is caught (``test_the_check_sees_*``
prove it). Each case then runs in a savepoint of its own, rolled back after
the comparison so that the next case starts from the same data.

The values refused by an Odoo constraint (NIR, SIRET, IBAN) are the
exception Odoo makes: it checks a constraint once the value is written in
the transaction, and the request's rollback removes it. For those, the
refused value is the only change allowed, named in the case.
"""

import base64
import re
from datetime import date, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import freeze_time, new_test_user, tagged
from odoo.tools import mute_logger

from ..urssaf_api.sandbox import Sandbox
from .common import FROZEN_NOW, UrssafTransactionCase

DOCUMENT = base64.b64encode(b"%PDF-1.4 mandat")
# The message of the self-tests' refusals.
REFUSED = "refused"
# What must not change, read straight from the tables.
TABLES = (
    "res_partner",
    "urssaf_account",
    "res_partner_bank",
    "urssaf_mandate",
    "urssaf_sepa_mandate",
    "urssaf_declaration",
    "urssaf_declaration_line",
    "urssaf_declaration_contribution",
    "urssaf_declaration_prepare",
)


@freeze_time(FROZEN_NOW)
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

    # ------------------------------------------------------------------
    # The check
    # ------------------------------------------------------------------

    def _snapshot(self):
        """Every row of the tables that must not change, read by SQL once the
        ORM's pending writes are flushed (nothing is rolled back before):
        ``{table: {id: {column: value}}}``."""
        self.env.flush_all()
        snapshot = {}
        for table in TABLES:
            self.env.cr.execute(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608 (fixed names)
            snapshot[table] = {row["id"]: row for row in self.env.cr.dictfetchall()}
        self.assertIn(self.declaration.line_ids.id, snapshot["urssaf_declaration_line"], "it reads the test's rows")
        return snapshot

    @staticmethod
    def _changes(before, after):
        """``{table: {id: {column: new value}}}`` of the rows changed, and
        ``{table: {"new": {column: value}}}`` for a row added (``"new 2"``...)
        or ``{table: {id: "deleted"}}``."""
        changes = {}
        for table in TABLES:
            old, new = before[table], after[table]
            found = dict.fromkeys(old.keys() - new.keys(), "deleted")
            for index, row_id in enumerate(sorted(new.keys() - old.keys())):
                found["new" if not index else f"new {index + 1}"] = new[row_id]
            for row_id in old.keys() & new.keys():
                changed = {column: value for column, value in new[row_id].items() if old[row_id][column] != value}
                if changed:
                    found[row_id] = changed
            if found:
                changes[table] = found
        return changes

    def _assert_refused(self, call, error, message, setup=None, leaves=None):
        """After ``setup()``, ``call()`` raises exactly ``error`` with
        ``message`` and changes nothing in the tables; Urssaf is never called.

        ``leaves``: for a value refused by an Odoo constraint, which Odoo
        checks once the value is written in the transaction (the request's
        rollback removes it), the only change allowed, as ``_changes`` gives
        it (the columns listed of a new row).
        """
        savepoint = self.env.cr.savepoint()
        try:
            if setup:
                setup()
            before = self._snapshot()
            with patch.object(Sandbox, "handle", side_effect=AssertionError("Urssaf must not be called")):
                # Not Odoo's assertRaises: it rolls back a savepoint of its own.
                raised = None
                try:
                    with mute_logger("odoo.sql_db"):
                        call()
                except error as caught:
                    raised = caught
            self.assertIsNotNone(raised, f"{error.__name__} not raised")
            self.assertIs(type(raised), error)
            if isinstance(message, re.Pattern):
                self.assertRegex(str(raised), message)
            else:
                self.assertEqual(str(raised), message)
            changes = self._changes(before, self._snapshot())
            leaves = leaves() if callable(leaves) else leaves
            for table, rows in (leaves or {}).items():
                for key, columns in rows.items():
                    if key in changes.get(table, {}) and str(key).startswith("new"):
                        changes[table][key] = {column: changes[table][key][column] for column in columns}
            self.assertEqual(changes, leaves or {}, "nothing changed")
        finally:
            savepoint.close(rollback=True)

    def test_the_check_sees_a_write_before_the_refusal(self):
        """A call that writes in the cache, then refuses, fails the check."""

        def write_then_refuse():
            self.declaration.line_ids.amount = 11.0
            raise UserError(REFUSED)

        with self.assertRaisesRegex(AssertionError, "nothing changed"):
            self._assert_refused(write_then_refuse, UserError, "refused")
        self.assertEqual(self.declaration.line_ids.amount, 10.0, "the case's savepoint was rolled back")

    def test_the_check_sees_sql_a_new_row_and_a_wrong_message(self):
        def sql_write_then_refuse():
            self.env.cr.execute("UPDATE res_partner SET name = 'X' WHERE id = %s", [self.ae.id])
            raise UserError(REFUSED)

        def create_then_refuse():
            self.env["urssaf.mandate"].create({"partner_id": self.ae.id, "signature_date": date(2026, 2, 1)})
            raise UserError(REFUSED)

        with self.assertRaisesRegex(AssertionError, "nothing changed"):
            self._assert_refused(sql_write_then_refuse, UserError, "refused")
        with self.assertRaisesRegex(AssertionError, "nothing changed"):
            self._assert_refused(create_then_refuse, UserError, "refused")
        # A change other than the one allowed is caught too.
        with self.assertRaisesRegex(AssertionError, "nothing changed"):
            self._assert_refused(
                sql_write_then_refuse, UserError, "refused", leaves={"res_partner": {self.ae.id: {"name": "Y"}}}
            )
        with self.assertRaisesRegex(AssertionError, "refused"):
            self._assert_refused(self._raise(UserError(REFUSED)), UserError, "refused!")
        with self.assertRaisesRegex(AssertionError, "ValidationError"):
            self._assert_refused(self._raise(ValidationError(REFUSED)), UserError, "refused")
        with self.assertRaisesRegex(AssertionError, "UserError not raised"):
            self._assert_refused(lambda: None, UserError, "refused")

    @staticmethod
    def _raise(exception):
        def call():
            raise exception

        return call

    # ------------------------------------------------------------------
    # The cases
    # ------------------------------------------------------------------

    def _in_lang(self, records, lang):
        """``records`` as the user sees them, in ``lang``."""
        return records.with_context(lang=lang)

    def _wizard(self, lang, **values):
        """The wizard as the web client saves it before calling its button."""
        self.wizard = self._in_lang(self.env["urssaf.declaration.prepare"].with_user(self.declarant), lang).create(
            {"partner_ids": [fields.Command.set(self.ae.ids)], **values}
        )

    def _cases(self, lang):
        """(what, what is done first, the refused call, the error, the whole
        message in ``lang``, or a pattern for Odoo's own messages)."""
        tomorrow = fields.Date.context_today(self.declaration) + timedelta(days=1)
        french = lang == "fr_FR"
        # Its name is stored, in the language of the user who created it.
        declaration = "Camille Martin, 10/01/2026 – 10/31/2026"
        ae, mandate = self._in_lang(self.ae, lang), self._in_lang(self.mandate, lang)
        lines = self._in_lang(self.declaration.line_ids, lang).with_user(self.declarant)
        return [
            (
                "wizard: empty period",
                lambda: self._wizard(lang, period_mode="custom"),
                lambda: self.wizard.action_prepare(),
                UserError,
                "Période : indiquez ses premier et dernier jours."
                if french else "Period: give its first and last days.",
            ),
            (
                "wizard: period in the future",
                lambda: self._wizard(lang, period_mode="custom", date_from=date(2026, 10, 1), date_to=tomorrow),
                lambda: self.wizard.action_prepare(),
                UserError,
                "Période : elle n'est pas encore terminée ; une période ne peut être déclarée qu'une fois terminée."
                if french else "Period: it has not ended yet; a period can be declared once it has ended.",
            ),
            (
                "wizard: reversed period",
                lambda: self._wizard(
                    lang, period_mode="custom", date_from=date(2026, 10, 31), date_to=date(2026, 10, 1)
                ),
                lambda: self.wizard.action_prepare(),
                UserError,
                "Période : le premier jour est après le dernier."
                if french else "Period: the first day is after the last day.",
            ),
            (
                "wizard: no auto-entrepreneur",
                lambda: self._wizard(lang, partner_ids=[fields.Command.clear()]),
                lambda: self.wizard.action_prepare(),
                UserError,
                "Auto-entrepreneurs : choisissez-en au moins un."
                if french else "Auto-entrepreneurs: choose at least one.",
            ),
            (
                "NIR with a wrong key",
                None,
                lambda: ae.write({"urssaf_nir": "288047511102372"}),
                ValidationError,
                "Numéro de sécurité sociale (NIR) de Camille Martin : sa clé ne correspond pas au numéro."
                if french else "Social security number (NIR) of Camille Martin: its key does not match the number.",
                # Odoo checks a constraint once the value is written in the transaction.
                {"urssaf_account": {self.ae._urssaf_account(self.env.company).id: {"nir": "288047511102372"}}},
            ),
            (
                "NIR too short",
                None,
                lambda: ae.write({"urssaf_nir": "28804751110"}),
                ValidationError,
                "Numéro de sécurité sociale (NIR) de Camille Martin : il doit comporter 15 caractères : 13 pour le "
                "numéro et 2 pour la clé."
                if french else "Social security number (NIR) of Camille Martin: it must have 15 characters: 13 for the "
                "number and 2 for the key.",
                {"urssaf_account": {self.ae._urssaf_account(self.env.company).id: {"nir": "28804751110"}}},
            ),
            (
                "invalid SIRET",
                None,
                lambda: ae.write({"company_registry": "81234567600018"}),
                ValidationError,
                "SIRET (Company ID) de Camille Martin : “81234567600018” n'est pas un SIRET valide "
                "(14 chiffres avec une clé de contrôle valide)."
                if french else "SIRET (Company ID) of Camille Martin: “81234567600018” is not a valid SIRET "
                "(14 digits with a valid check digit).",
                {"res_partner": {self.ae.id: {"company_registry": "81234567600018"}}},
            ),
            (
                "invalid IBAN",
                # The bank account is the partner's business; the mandate on it is refused.
                lambda: self.env["res.partner.bank"].create(
                    {"partner_id": self.ae.id, "acc_number": "FR76 3000 6000 0112 3456 7890 180"}
                ),
                lambda: self._in_lang(self.env["urssaf.sepa.mandate"], lang).create(
                    {"partner_id": self.ae.id, "holder": "C. Martin", "bank_account_id": self.ae.bank_ids[-1:].id}
                ),
                ValidationError,
                "Compte bancaire : ****0180 n'est pas un IBAN valide "
                "(pays, clé de contrôle et longueur)."
                if french else "Bank account: ****0180 is not a valid IBAN "
                "(country, check digits and length).",
                lambda: {
                    "urssaf_sepa_mandate": {
                        "new": {"partner_id": self.ae.id, "bank_account_id": self.ae.bank_ids[-1:].id}
                    }
                },
            ),
            (
                "mandate without its document",
                None,
                lambda: mandate.with_user(self.declarant).action_register(),
                UserError,
                "Joignez le mandat signé avant d'enregistrer Mandat de Camille Martin (05/01/2026) : le "
                "tiers-déclarant doit le conserver."
                if french else "Attach the signed mandate before registering Mandate of Camille Martin (01/05/2026): "
                "the tiers-déclarant must keep it.",
            ),
            (
                "negative amount",
                lambda: setattr(lines, "amount", -5.0),
                lambda: self._in_lang(self.declaration, lang).with_user(self.declarant).action_estimate(),
                UserError,
                f"{declaration} : le montant à déclarer pour Ventes de marchandises (BIC) est négatif."
                if french else f"{declaration}: the amount to declare for Sales of goods (BIC) is negative.",
            ),
            (
                "three decimals",
                None,
                lambda: lines.write({"amount": 10.005}),
                ValidationError,
                "Montant à déclarer : 10.005 a plus de deux décimales ; l'Urssaf n'accepte que des euros et des "
                "centimes."
                if french else "Amount to declare: 10.005 has more than two decimals; Urssaf takes euros and cents.",
            ),
            (
                "declare without an active mandate",
                lambda: self.declaration.write(
                    {"state": "estimated", "estimate_snapshot": self.declaration._amounts_snapshot()}
                ),
                lambda: self._in_lang(self.declaration, lang).with_user(self.declarant).action_declare(),
                UserError,
                f"Camille Martin n'a aucun mandat Urssaf actif pour {self.env.company.name} : enregistrez "
                "d'abord le mandat signé."
                if french else f"Camille Martin has no active Urssaf mandate for {self.env.company.name}: "
                "register the signed mandate first.",
            ),
            (
                "another company's declaration",
                None,
                lambda: self._in_lang(self.declaration, lang).with_user(self.other_company_user).read(["state"]),
                AccessError,
                # Odoo's own message (base's terms are not loaded in French here).
                self._access_error("read", "Urssaf declaration (urssaf.declaration)"),
            ),
            (
                "another company's mandate",
                None,
                lambda: mandate.with_user(self.other_company_user).action_register(),
                AccessError,
                self._access_error("read", "Urssaf tierce-déclaration mandate (urssaf.mandate)"),
            ),
        ]  # fmt: skip

    def _access_error(self, operation, model):
        """Odoo's refusal of a record rule for ``other_company_user``, in a
        company it does not belong to."""
        return re.compile(
            re.escape(
                f"Sorry, {self.other_company_user.name} (id={self.other_company_user.id}) "
                f"doesn't have '{operation}' access to:\n- {model}\n"
            )
            + r".*"
            + re.escape("This seems to be a multi-company issue, but you do not have access to the proper company")
            + r"[^\n]*\Z",
            re.DOTALL,
        )

    def test_table_of_bad_values(self):
        checked = []
        for lang in ("en_US", "fr_FR"):
            cases = self._cases(lang)
            self.assertEqual(len(cases), 14)
            for what, setup, call, error, message, *leaves in cases:
                with self.subTest(what=what, lang=lang):
                    self._assert_refused(call, error, message, setup, *leaves)
                    checked.append((what, lang))
        self.assertEqual(len(checked), 28, "every case of both languages was checked")
