# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Saved defaults (``ir.default``, the web client's "Set Defaults") cannot
set what only the addon writes (issue 26).

Any internal user may save a default for themselves over RPC, and Odoo
fills it into ``create``'s values after the model's own ``create`` looked
at them, like a ``default_<field>`` key of the context. Tried over XML-RPC
on each model of the legal record: saving one is refused (nothing written
in ``ir_default``), and one saved by the superuser is refused when a
user's create would take it (nothing written in the legal record)."""

from datetime import date

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import freeze_time, tagged

from . import rpc_trust
from .common import FROZEN_NOW, UrssafTransactionCase
from .rpc_trust import Attempt, with_context_defaults
from .test_declaration_trust import DOCUMENT, _declaration, _legal_record, _make_auto_entrepreneur

MODULE = "l10n_fr_urssaf_tierce_declaration"
WRITTEN_ONLY_BY_THE_ADDON = "is filled only from the books and Urssaf's answers; it cannot be written"
DECLARATIONS = ("urssaf_declaration", "urssaf_declaration_line", "urssaf_declaration_contribution")
LEGAL_RECORD = (
    "urssaf.declaration",
    "urssaf.declaration.line",
    "urssaf.declaration.contribution",
    "urssaf.account",
    "urssaf.mandate",
    "urssaf.sepa.mandate",
    "urssaf.declaration.register.row",
)


def _set_default(model, fname, value):
    """``ir.default.set`` of the user's own default, as the web client's
    "Set Defaults" does."""
    return lambda case: ("ir.default", "set", [model, fname, value, True])


def with_saved_default(call, role, model, fname, value):
    """``call`` (a row's call) made once the superuser saved a default of
    ``value`` on ``model``'s ``fname`` for the user of ``role`` (as one
    saved before the addon was installed would be); ``value`` may be a
    function of the case."""

    def build(case):
        saved = value(case) if callable(value) else value
        case.env["ir.default"].set(model, fname, saved, user_id=case.users[role].id)
        return call(case)

    return build


def _new_declaration(month, **values):
    """A declaration of the trader's month ``month`` of 2026, nobody's yet."""
    end = date(2026, month + 1, 1).toordinal() - 1

    def build(case):
        period = {"period_start": f"2026-{month:02d}-01", "period_end": date.fromordinal(end).isoformat()}
        return ("urssaf.declaration", "create", [{"partner_id": case.trader.id, **period, **values}])

    return build


def _new_line(case):
    return (
        "urssaf.declaration.line",
        "create",
        [{"declaration_id": case.draft.id, "category_id": case.craftsman.urssaf_category_id.id, "amount": 0.0}],
    )


def _new_line_without_amount(case):
    return (
        "urssaf.declaration.line",
        "create",
        [{"declaration_id": case.draft.id, "category_id": case.craftsman.urssaf_category_id.id}],
    )


def _new_account(case):
    return ("urssaf.account", "create", [{"partner_id": case.newcomer.id, "is_auto_entrepreneur": True}])


def _new_mandate(case):
    return (
        "urssaf.mandate",
        "create",
        [{"partner_id": case.craftsman.id, "signature_date": "2026-02-01", "document": DOCUMENT.decode()}],
    )


def _new_sepa_mandate(case):
    return (
        "urssaf.sepa.mandate",
        "create",
        [{"partner_id": case.craftsman.id, "bank_account_id": case.craftsman_bank.id, "holder": "Craftsman"}],
    )


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestSavedDefaultsTrustRpc(rpc_trust.RpcTrustCase):
    """Saving a default on a protected field, and creating with one saved."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _legal_record(cls)
        cls.newcomer = cls.env["res.partner"].create({"name": "Newcomer without Urssaf account"})

    def _run_attempt(self, attempt):
        """Each row starts without saved defaults on the legal record."""
        try:
            return super()._run_attempt(attempt)
        finally:
            self.env["ir.default"].search([("field_id.model", "in", LEGAL_RECORD)]).unlink()

    ATTEMPTS = (
        # Saving a default: refused on each model of the legal record.
        Attempt(
            "preparer saves 'paid' as their default state of a declaration",
            "preparer",
            _set_default("urssaf.declaration", "state", "paid"),
            "Urssaf declaration: the field “State” " + WRITTEN_ONLY_BY_THE_ADDON,
            ("ir_default",),
        ),
        Attempt(
            "declarant saves a default Urssaf declaration number",
            "declarant",
            _set_default("urssaf.declaration", "urssaf_number", "DEC-FORGED"),
            "“Urssaf declaration number” " + WRITTEN_ONLY_BY_THE_ADDON,
            ("ir_default",),
        ),
        Attempt(
            "preparer saves a default computed amount of a declaration line",
            "preparer",
            _set_default("urssaf.declaration.line", "computed_amount", 5000.0),
            "“Collected (computed)” " + WRITTEN_ONLY_BY_THE_ADDON,
            ("ir_default",),
        ),
        Attempt(
            "declarant saves a default amount of a contribution line",
            "declarant",
            _set_default("urssaf.declaration.contribution", "amount", -1000.0),
            WRITTEN_ONLY_BY_THE_ADDON,
            ("ir_default",),
        ),
        Attempt(
            "declarant saves 'eligible' as their default of an Urssaf account",
            "declarant",
            _set_default("urssaf.account", "eligible", True),
            "“Eligible to tierce déclaration” " + WRITTEN_ONLY_BY_THE_ADDON,
            ("ir_default",),
        ),
        Attempt(
            "declarant saves 'active' as their default state of a mandate",
            "declarant",
            _set_default("urssaf.mandate", "state", "active"),
            "Urssaf tierce-déclaration mandate: the field",
            ("ir_default",),
        ),
        Attempt(
            "declarant saves a default RUM of a SEPA mandate",
            "declarant",
            _set_default("urssaf.sepa.mandate", "rum", "RUM-FORGED"),
            "“Mandate reference (RUM)” " + WRITTEN_ONLY_BY_THE_ADDON,
            ("ir_default",),
        ),
        Attempt(
            "preparer saves a default amount of a register row",
            "preparer",
            _set_default("urssaf.declaration.register.row", "amount", 1000000.0),
            "“Amount excluding VAT” " + WRITTEN_ONLY_BY_THE_ADDON,
            ("ir_default",),
        ),
        Attempt(
            "preparer creates the saved default record itself (ir.default create)",
            "preparer",
            lambda case: (
                "ir.default",
                "create",
                [
                    {
                        "field_id": case.env["ir.model.fields"]._get("urssaf.declaration", "state").id,
                        "user_id": case.users["preparer"].id,
                        "json_value": '"paid"',
                    }
                ],
            ),
            WRITTEN_ONLY_BY_THE_ADDON,
            ("ir_default",),
        ),
        Attempt(
            "preparer turns their saved default state 'draft' into 'paid'",
            "preparer",
            with_saved_default(
                _set_default("urssaf.declaration", "state", "paid"), "preparer", "urssaf.declaration", "state", "draft"
            ),
            WRITTEN_ONLY_BY_THE_ADDON,
            ("ir_default",),
        ),
        # A default saved by the superuser (or before the addon was
        # installed): refused when a user's create would take it.
        Attempt(
            "preparer creates a declaration with 'paid' saved as their default state",
            "preparer",
            with_saved_default(_new_declaration(6), "preparer", "urssaf.declaration", "state", "paid"),
            "“State” " + WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "preparer creates a declaration with a saved default payment reference",
            "preparer",
            with_saved_default(_new_declaration(6), "preparer", "urssaf.declaration", "payment_reference", "PAY-F"),
            WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "preparer adds a line with a saved default computed amount",
            "preparer",
            with_saved_default(_new_line, "preparer", "urssaf.declaration.line", "computed_amount", 5000.0),
            "“Collected (computed)” " + WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "declarant creates an Urssaf account with 'eligible' saved as their default",
            "declarant",
            with_saved_default(_new_account, "declarant", "urssaf.account", "eligible", True),
            "“Eligible to tierce déclaration” " + WRITTEN_ONLY_BY_THE_ADDON,
            ("urssaf_account",),
        ),
        Attempt(
            "declarant creates a mandate with 'active' saved as their default state",
            "declarant",
            with_saved_default(_new_mandate, "declarant", "urssaf.mandate", "state", "active"),
            WRITTEN_ONLY_BY_THE_ADDON,
            ("urssaf_mandate",),
        ),
        Attempt(
            "declarant creates a SEPA mandate with a saved default RUM",
            "declarant",
            with_saved_default(_new_sepa_mandate, "declarant", "urssaf.sepa.mandate", "rum", "RUM-FORGED"),
            "“Mandate reference (RUM)” " + WRITTEN_ONLY_BY_THE_ADDON,
            ("urssaf_sepa_mandate",),
        ),
        # The model's own rules on new values see the defaults too: a line
        # whose declaration or amount comes from a default.
        Attempt(
            "preparer adds a line to a declared declaration given as a context default",
            "preparer",
            lambda case: (
                "urssaf.declaration.line",
                "create",
                [{"category_id": case.craftsman.urssaf_category_id.id}],
                {"context": {"default_declaration_id": case.declared.id}},
            ),
            "can no longer be changed",
            DECLARATIONS,
        ),
        Attempt(
            "preparer adds a line whose amount to declare comes from a context default",
            "preparer",
            with_context_defaults(_new_line_without_amount, amount=5000.0),
            "Only Urssaf declarants can change the amount to declare.",
            DECLARATIONS,
        ),
        Attempt(
            "preparer adds a line whose amount to declare comes from a saved default",
            "preparer",
            with_saved_default(_new_line_without_amount, "preparer", "urssaf.declaration.line", "amount", 5000.0),
            "Only Urssaf declarants can change the amount to declare.",
            DECLARATIONS,
        ),
        Attempt(
            "preparer creates a declaration whose period, not the auto-entrepreneur's, comes from context defaults",
            "preparer",
            with_context_defaults(
                lambda case: ("urssaf.declaration", "create", [{"partner_id": case.trader.id}]),
                period_start="2026-04-01",
                period_end="2026-06-30",
            ),
            "is not a declaration period",
            DECLARATIONS,
        ),
        # The other ways a client creates or writes: copy() with a default
        # dict, name_create, web_save (the form's save), a contact's fields
        # that write its Urssaf account.
        Attempt(
            "preparer copies a draft as a paid declaration with a number",
            "preparer",
            lambda case: (
                "urssaf.declaration",
                "copy",
                [[case.draft.id]],
                {"default": {"period_start": "2026-03-01", "period_end": "2026-03-31", "state": "paid"}},
            ),
            "“State” " + WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "preparer copies a line with a computed amount of their choosing",
            "preparer",
            lambda case: (
                "urssaf.declaration.line",
                "copy",
                [case.draft.line_ids.ids],
                {"default": {"category_id": case.craftsman.urssaf_category_id.id, "computed_amount": 5000.0}},
            ),
            "“Collected (computed)” " + WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "declarant copies a SEPA mandate as an active one with a RUM of their choosing",
            "declarant",
            lambda case: (
                "urssaf.sepa.mandate",
                "copy",
                [[case.craftsman_sepa.id]],
                {"default": {"state": "active", "rum": "RUM-FORGED"}},
            ),
            WRITTEN_ONLY_BY_THE_ADDON,
            ("urssaf_sepa_mandate",),
        ),
        Attempt(
            "declarant creates a SEPA mandate by its RUM (name_create)",
            "declarant",
            lambda case: ("urssaf.sepa.mandate", "name_create", ["RUM-FORGED"]),
            "“Mandate reference (RUM)” " + WRITTEN_ONLY_BY_THE_ADDON,
            ("urssaf_sepa_mandate",),
        ),
        Attempt(
            "preparer saves a new declaration as paid from the form (web_save)",
            "preparer",
            lambda case: (
                "urssaf.declaration",
                "web_save",
                [[], {"partner_id": case.trader.id, "period_start": "2026-03-01", "period_end": "2026-03-31"}],
                {"specification": {"state": {}}, "context": {"default_state": "paid"}},
            ),
            "“State” " + WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "preparer saves a draft with an Urssaf number from the form (web_save)",
            "preparer",
            lambda case: (
                "urssaf.declaration",
                "web_save",
                [[case.draft.id], {"urssaf_number": "DEC-FORGED"}],
                {"specification": {"urssaf_number": {}}},
            ),
            "“Urssaf declaration number” " + WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "declarant creates a contact eligible at Urssaf through a context default",
            "declarant",
            with_context_defaults(
                lambda case: ("res.partner", "create", [{"name": "Forged eligible"}]), urssaf_eligible=True
            ),
            "“Eligible to tierce déclaration” " + WRITTEN_ONLY_BY_THE_ADDON,
            ("res_partner", "urssaf_account"),
        ),
        Attempt(
            "declarant saves 'eligible' as their default of a contact",
            "declarant",
            _set_default("res.partner", "urssaf_eligible", True),
            "“Eligible to tierce déclaration” " + WRITTEN_ONLY_BY_THE_ADDON,
            ("ir_default",),
        ),
        Attempt(
            "declarant creates a contact with a checked Urssaf account saved as their default",
            "declarant",
            with_saved_default(
                lambda case: ("res.partner", "create", [{"name": "Forged checked"}]),
                "declarant",
                "res.partner",
                "urssaf_account_state",
                "eligible",
            ),
            WRITTEN_ONLY_BY_THE_ADDON,
            ("res_partner", "urssaf_account"),
        ),
        Attempt(
            "declarant creates an Urssaf account with the ACRE from a context default, its activity start unknown",
            "declarant",
            with_context_defaults(_new_account, acre=True),
            "its activity start is not known yet",
            ("urssaf_account",),
        ),
        Attempt(
            "preparer rewrites a line's computed amount through the declaration",
            "preparer",
            lambda case: (
                "urssaf.declaration",
                "write",
                [[case.draft.id], {"line_ids": [(1, case.draft.line_ids.id, {"computed_amount": 5000.0})]}],
            ),
            "“Collected (computed)” " + WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "declarant makes an Urssaf account eligible through the contact's accounts",
            "declarant",
            lambda case: (
                "res.partner",
                "write",
                [
                    [case.craftsman.id],
                    {"urssaf_account_ids": [(1, case.craftsman.urssaf_account_ids.id, {"eligible": False})]},
                ],
            ),
            "“Eligible to tierce déclaration” " + WRITTEN_ONLY_BY_THE_ADDON,
            ("urssaf_account",),
        ),
        Attempt(
            "declarant makes a contact's Urssaf account not eligible through the contact's field",
            "declarant",
            lambda case: ("res.partner", "write", [[case.craftsman.id], {"urssaf_eligible": False}]),
            "“Eligible to tierce déclaration” " + WRITTEN_ONLY_BY_THE_ADDON,
            ("urssaf_account",),
        ),
        # Controls.
        Attempt(
            "preparer copies a draft to another period",
            "preparer",
            lambda case: (
                "urssaf.declaration",
                "copy",
                [[case.draft.id]],
                {"default": {"period_start": "2026-03-01", "period_end": "2026-03-31"}},
            ),
            None,
            ("urssaf_declaration",),
        ),
        Attempt(
            "declarant saves 'unchecked', what a contact shows without account, as their default",
            "declarant",
            _set_default("res.partner", "urssaf_account_state", "unchecked"),
            None,
            ("ir_default",),
        ),
        Attempt(
            "preparer saves 'draft', the state a new declaration has anyway, as their default",
            "preparer",
            _set_default("urssaf.declaration", "state", "draft"),
            None,
            ("ir_default",),
        ),
        Attempt(
            "preparer saves the auto-entrepreneur as their default of a declaration",
            "preparer",
            lambda case: ("ir.default", "set", ["urssaf.declaration", "partner_id", case.trader.id, True]),
            None,
            ("ir_default",),
        ),
        Attempt(
            "preparer creates a declaration with the auto-entrepreneur saved as their default",
            "preparer",
            with_saved_default(
                lambda case: (
                    "urssaf.declaration",
                    "create",
                    [{"period_start": "2026-07-01", "period_end": "2026-07-31"}],
                ),
                "preparer",
                "urssaf.declaration",
                "partner_id",
                lambda case: case.trader.id,
            ),
            None,
            ("urssaf_declaration",),
        ),
        Attempt(
            "preparer creates a declaration whose values give the state a saved default would set",
            "preparer",
            with_saved_default(_new_declaration(8, state="draft"), "preparer", "urssaf.declaration", "state", "paid"),
            None,
            ("urssaf_declaration",),
        ),
    )

    def test_import_sets_no_protected_field(self):
        """An import (``load``, the web client's Import) creates and writes
        through the same guard: each record refused, its message in the
        import's messages, nothing written."""
        for what, fields, rows in (
            (
                "a new declaration imported as paid",
                ["partner_id/.id", "period_start", "period_end", "state"],
                [[str(self.trader.id), "2026-02-01", "2026-02-28", "paid"]],
            ),
            ("a draft's Urssaf number imported", [".id", "urssaf_number"], [[str(self.draft.id), "DEC-FORGED"]]),
        ):
            with self.subTest(what):
                before = self.rows(DECLARATIONS)
                result = self.rpc("preparer", "urssaf.declaration", "load", [fields, rows])
                self.assertFalse(result["ids"], what)
                self.assertIn(WRITTEN_ONLY_BY_THE_ADDON, " ".join(m["message"] for m in result["messages"]))
                self.env.invalidate_all()
                self.assertEqual(before, self.rows(DECLARATIONS), f"{what}: rows changed")

    def test_the_form_onchange_writes_nothing(self):
        """The form's onchange with protected values sent: an answer to
        show, nothing stored."""
        before = self.rows(DECLARATIONS)
        self.rpc(
            "preparer",
            "urssaf.declaration",
            "onchange",
            [[self.draft.id], {"state": "paid", "urssaf_number": "DEC-FORGED"}, ["state"], {"state": {}}],
        )
        self.env.invalidate_all()
        self.assertEqual(before, self.rows(DECLARATIONS))

    def after_attempts(self):
        self.assertFalse(
            self.env["urssaf.declaration"].search(
                [("partner_id", "=", self.trader.id), ("state", "!=", "draft"), ("id", "!=", self.declared.id)]
            ),
            "no declaration created otherwise than as a draft",
        )
        created = self.env["urssaf.declaration"].search(
            [("partner_id", "=", self.trader.id), ("period_start", "in", (date(2026, 7, 1), date(2026, 8, 1)))]
        )
        self.assertEqual(len(created), 2)
        self.assertEqual(set(created.mapped("state")), {"draft"})
        # The auto-entrepreneur saved as default is the one whose account
        # gives the periodicity.
        self.assertEqual(set(created.mapped("periodicity")), {"monthly"})
        self.assertFalse(created.filtered("payment_reference"))
        self.assertFalse(self.env["urssaf.sepa.mandate"].search([("rum", "=", "RUM-FORGED")]))
        self.assertFalse(self.env["res.partner"].search([("name", "like", "Forged")]))
        march = self.env["urssaf.declaration"].search(
            [("partner_id", "=", self.trader.id), ("period_start", "=", date(2026, 3, 1))]
        )
        self.assertEqual((march.state, march.urssaf_number), ("draft", False), "the copy is a draft")
        self.assertFalse(self.env["urssaf.account"].search([("partner_id", "=", self.newcomer.id)]))
        self.assertEqual(len(self.declared.line_ids), 1, "no line added to the declared declaration")
        self.assertEqual(self.draft.line_ids.mapped("amount"), [2000.0], "no line added to the draft")


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestSavedDefaults(UrssafTransactionCase):
    """The addon's own steps (as the superuser) and saved defaults."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.trader = _make_auto_entrepreneur(cls.env, "monthly_trader", "VENTE_MARCHANDISES")

    def test_a_saved_default_is_refused_even_as_the_superuser(self):
        """A saved default that would fill a protected field of a record the
        addon creates (here a contribution line without a rate) is refused,
        and nothing is created."""
        declaration = _declaration(self.env, self.trader, date(2026, 9, 1), date(2026, 9, 30), 10.0)
        self.env["ir.default"].set("urssaf.declaration.contribution", "rate", 99.0)
        Contribution = self.env["urssaf.declaration.contribution"].sudo()
        values = {"declaration_id": declaration.id, "kind": "declared", "label": "X", "amount": 1.0}
        with self.assertRaisesRegex(UserError, "“Rate \\(%\\)” is filled only"):
            Contribution.create(values)
        self.assertFalse(declaration.contribution_ids)
        # The addon's step that gives every value is not stopped by it.
        contribution = Contribution.create({**values, "rate": 1.0})
        self.assertEqual(contribution.rate, 1.0)

    def test_a_saved_default_on_the_line_of_a_new_declaration(self):
        """Lines created through a declaration's one2many take saved
        defaults too (unlike context defaults, which Odoo drops for them)."""
        self.env["ir.default"].set("urssaf.declaration.line", "computed_amount", 5000.0)
        category = self.trader.urssaf_category_id
        with self.assertRaisesRegex(UserError, "“Collected \\(computed\\)” is filled only"):
            self.env["urssaf.declaration"].create(
                {
                    "partner_id": self.trader.id,
                    "period_start": date(2026, 9, 1),
                    "period_end": date(2026, 9, 30),
                    "line_ids": [Command.create({"category_id": category.id, "amount": 0.0})],
                }
            )

    def test_a_contact_created_as_the_superuser_takes_no_check_result_from_a_default(self):
        """A contact created by the system (a sudo() keeps the caller's
        context; a saved default applies to every user) gets no Urssaf
        account the check did not make eligible."""
        Partner = self.env["res.partner"].sudo()
        accounts_before = self.env["urssaf.account"].search_count([])
        with self.assertRaisesRegex(UserError, "“Eligible to tierce déclaration” is filled only"):
            Partner.with_context(default_urssaf_eligible=True).create({"name": "Eligible by context"})
        self.env["ir.default"].set("res.partner", "urssaf_eligible", True)
        with self.assertRaisesRegex(UserError, "“Eligible to tierce déclaration” is filled only"):
            Partner.create({"name": "Eligible by saved default"})
        self.assertEqual(self.env["urssaf.account"].search_count([]), accounts_before)
        self.assertFalse(Partner.search([("name", "like", "Eligible by")]))
