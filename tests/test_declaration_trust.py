# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The legal record cannot be forged: the declarations' rules, tried over
XML-RPC as each user (issue 9), and the scheduled run that declares only
what it computed itself."""

import base64
from datetime import date
from unittest.mock import patch

from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import freeze_time, new_test_user, tagged

from ..urssaf_api.seed import seed_account
from . import rpc_trust
from .common import FROZEN_NOW, UrssafTransactionCase
from .rpc_trust import DECLARANT as DECLARANT_GROUP
from .rpc_trust import PREPARER as PREPARER_GROUP
from .rpc_trust import Attempt, with_context_defaults

DOCUMENT = base64.b64encode(b"%PDF-1.4 mandat signe")
IBAN_TRADER = "FR76 3000 6000 0112 3456 7890 189"
IBAN_CRAFTSMAN = "FR14 2004 1010 0505 0001 3M02 606"
DECLARATIONS = ("urssaf_declaration", "urssaf_declaration_line", "urssaf_declaration_contribution")


def _seeded_partner(env, alias, category_code=None, **values):
    """The contact of a seeded auto-entrepreneur of the embedded sandbox,
    identified as the seed says, in ``category_code`` (else the seed's first
    category), with ``values`` added."""
    seed = seed_account(alias)
    category = env["urssaf.activity.category"].search([("code", "=", category_code or seed["categories"][0])])
    if seed.get("nir"):
        identity = {"urssaf_identifier_type": "nir", "urssaf_nir": seed["nir"]}
    else:
        identity = {"urssaf_identifier_type": "siret", "company_registry": seed["siret"]}
    return env["res.partner"].create(
        {
            "name": f"{seed['prenoms']} {seed['nom']}",
            "urssaf_is_auto_entrepreneur": True,
            **identity,
            "urssaf_category_id": category.id,
            **values,
        }
    )


def _make_auto_entrepreneur(env, alias, category_code=None, mandate=True, **values):
    """A seeded auto-entrepreneur of the embedded sandbox (see
    ``_seeded_partner``), its account checked and, when ``mandate``, its
    tierce-déclaration mandate registered."""
    partner = _seeded_partner(env, alias, category_code, **values)
    partner.action_urssaf_check_account()
    if mandate:
        env["urssaf.mandate"].create(
            {"partner_id": partner.id, "signature_date": date(2026, 1, 5), "document": DOCUMENT}
        ).action_register()
    return partner


def _declaration(env, partner, start, end, amount, category_code="VENTE_MARCHANDISES"):
    category = env["urssaf.activity.category"].search([("code", "=", category_code)])
    return env["urssaf.declaration"].create(
        {
            "partner_id": partner.id,
            "period_start": start,
            "period_end": end,
            "line_ids": [Command.create({"category_id": category.id, "computed_amount": amount, "amount": amount})],
        }
    )


def _legal_record(case):
    """What the trust tables of the legal record try their rows on, set on
    the test class ``case``: two auto-entrepreneurs, the craftsman's SEPA
    mandate (a draft) and bank account, the trader's September declaration
    declared and its October one a draft."""
    env = case.env
    case.trader = _make_auto_entrepreneur(env, "monthly_trader", "VENTE_MARCHANDISES")
    case.craftsman = _make_auto_entrepreneur(env, "quarterly_craftsman_moselle", "PRESTATION_SERVICES_BIC")
    case.craftsman_bank = env["res.partner.bank"].create(
        {"partner_id": case.craftsman.id, "acc_number": IBAN_CRAFTSMAN}
    )
    case.craftsman_sepa = env["urssaf.sepa.mandate"].create(
        {"partner_id": case.craftsman.id, "bank_account_id": case.craftsman_bank.id, "holder": "Craftsman"}
    )
    case.declared = _declaration(env, case.trader, date(2026, 9, 1), date(2026, 9, 30), 1000.0)
    case.declared.with_user(case.users["preparer"]).action_estimate()
    case.declared.with_user(case.users["declarant"]).action_declare()
    assert case.declared.state == "declared" and case.declared.urssaf_number, case.declared.error_message
    case.draft = _declaration(env, case.trader, date(2026, 10, 1), date(2026, 10, 31), 2000.0)


def _write(name, values):
    """A call writing ``values`` on the declaration held by ``case.<name>``."""
    return lambda case: ("urssaf.declaration", "write", [[getattr(case, name).id], values])


def _line_write(name, values):
    return lambda case: ("urssaf.declaration.line", "write", [getattr(case, name).line_ids.ids, values])


def _call(name, method):
    return lambda case: ("urssaf.declaration", method, [[getattr(case, name).id]])


def _new_in_june(case):
    """A declaration of a period nobody declared yet (June 2026)."""
    return (
        "urssaf.declaration",
        "create",
        [{"partner_id": case.trader.id, "period_start": "2026-06-01", "period_end": "2026-06-30"}],
    )


def _new_line(case):
    """A line of another category on the draft."""
    return (
        "urssaf.declaration.line",
        "create",
        [{"declaration_id": case.draft.id, "category_id": case.craftsman.urssaf_category_id.id, "amount": 0.0}],
    )


WRITTEN_ONLY_BY_THE_ADDON = "cannot be written"
DECLARED = "can no longer be changed"


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestDeclarationTrustRpc(rpc_trust.RpcTrustCase):
    """Each attempt of the review, as the user who tried it, and the controls."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        _legal_record(cls)
        env["res.partner.bank"].create({"partner_id": cls.trader.id, "acc_number": IBAN_TRADER})
        cls.trader.action_urssaf_sync_sepa_mandates()
        cls.trader_sepa = env["urssaf.sepa.mandate"].search([("partner_id", "=", cls.trader.id)])
        # A declaration whose declare step failed after Urssaf gave a number.
        cls.numbered_error = _declaration(env, cls.trader, date(2026, 8, 1), date(2026, 8, 31), 500.0)
        cls.numbered_error.write({"state": "error", "error_step": "pay", "urssaf_number": "DEC-NUMBERED"})
        # A draft whose amount only a declarant adjusts (issue 27).
        cls.adjustable = _declaration(env, cls.trader, date(2026, 5, 1), date(2026, 5, 31), 300.0)

    def test_the_form_shows_the_amount_read_only_to_a_preparer(self):
        """The declaration form as the web client loads it (get_views, then
        the lines' values): the amount to declare is read-only for a
        preparer, editable for a declarant."""
        line = self.adjustable.line_ids
        for role, can_adjust in (("preparer", False), ("declarant", True)):
            with self.subTest(role):
                user = self.users[role]
                views = self.env["urssaf.declaration"].with_user(user).get_views([(False, "form")])
                arch = etree.fromstring(views["views"]["form"]["arch"])
                (amount,) = arch.xpath("//field[@name='line_ids']//list/field[@name='amount']")
                self.assertEqual(amount.get("readonly"), "not user_can_adjust")
                self.assertIn("user_can_adjust", views["models"]["urssaf.declaration.line"]["fields"])
                values = line.with_user(user).web_read({"amount": {}, "user_can_adjust": {}})
                self.assertEqual(values[0]["user_can_adjust"], can_adjust)

    def _new_forged(self):
        return (
            "urssaf.declaration",
            "create",
            [
                {
                    "partner_id": self.trader.id,
                    "period_start": "2026-07-01",
                    "period_end": "2026-07-31",
                    "state": "estimated",
                    "estimate_snapshot": '{"forged": true}',
                    "line_ids": [(0, 0, {"category_id": self.draft.line_ids.category_id.id, "amount": 1.0})],
                }
            ],
        )

    ATTEMPTS = (
        # 1. The fields Urssaf's answers fill, and the states.
        Attempt(
            "preparer writes the state of a draft",
            "preparer",
            _write("draft", {"state": "declared"}),
            WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "preparer writes the Urssaf number of a declared declaration",
            "preparer",
            _write("declared", {"urssaf_number": "FORGED"}),
            "Urssaf declaration number",
            DECLARATIONS,
        ),
        Attempt(
            "preparer writes the payment reference",
            "preparer",
            _write("declared", {"payment_reference": "PAY-FORGED"}),
            WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "preparer sets a declared declaration back to draft and blanks its number",
            "preparer",
            _write("declared", {"state": "draft", "urssaf_number": False}),
            WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "declarant blanks the number of a declared declaration",
            "declarant",
            _write("declared", {"urssaf_number": False}),
            WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "declarant deletes a declared declaration",
            "declarant",
            lambda case: ("urssaf.declaration", "unlink", [[case.declared.id]]),
            "can no longer be deleted",
            DECLARATIONS,
        ),
        Attempt(
            "declarant gives a numbered declaration in error a new number",
            "declarant",
            _write("numbered_error", {"urssaf_number": "DEC-OTHER"}),
            WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "declarant gives a numbered declaration in error another auto-entrepreneur",
            "declarant",
            lambda case: ("urssaf.declaration", "write", [[case.numbered_error.id], {"partner_id": case.craftsman.id}]),
            DECLARED,
            DECLARATIONS,
        ),
        Attempt(
            "declarant cancels a numbered declaration in error",
            "declarant",
            _call("numbered_error", "action_cancel"),
            "cannot be cancelled",
            DECLARATIONS,
        ),
        # 2. The books' amounts.
        Attempt(
            "preparer writes a line's computed amount and amount to the same value",
            "preparer",
            _line_write("draft", {"computed_amount": 5.0, "amount": 5.0}),
            "Collected (computed)",
            DECLARATIONS,
        ),
        Attempt(
            "preparer adjusts the amount to declare",
            "preparer",
            _line_write("draft", {"amount": 5.0}),
            "Only Urssaf declarants",
            DECLARATIONS,
        ),
        Attempt(
            "declarant moves a line to another category",
            "declarant",
            lambda case: (
                "urssaf.declaration.line",
                "write",
                [case.draft.line_ids.ids, {"category_id": case.craftsman.urssaf_category_id.id}],
            ),
            "Category",
            DECLARATIONS,
        ),
        Attempt(
            "declarant deletes a line the books filled",
            "declarant",
            lambda case: ("urssaf.declaration.line", "unlink", [case.draft.line_ids.ids]),
            "set the amount to declare instead",
            DECLARATIONS,
        ),
        # 3. A declaration created already estimated.
        Attempt(
            "preparer creates a declaration in state estimated with a made-up snapshot",
            "preparer",
            _new_forged,
            WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "preparer creates a declaration with a periodicity of its choosing",
            "preparer",
            lambda case: (
                "urssaf.declaration",
                "create",
                [
                    {
                        "partner_id": case.trader.id,
                        "period_start": "2026-04-01",
                        "period_end": "2026-06-30",
                        "periodicity": "quarterly",
                    }
                ],
            ),
            WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "preparer creates a declaration for a period that is not the auto-entrepreneur's",
            "preparer",
            lambda case: (
                "urssaf.declaration",
                "create",
                [{"partner_id": case.trader.id, "period_start": "2026-04-01", "period_end": "2026-06-30"}],
            ),
            "is not a declaration period",
            DECLARATIONS,
        ),
        # 4. Lines and contributions of a declared declaration.
        Attempt(
            "preparer adds a line to a declared declaration",
            "preparer",
            lambda case: (
                "urssaf.declaration.line",
                "create",
                [{"declaration_id": case.declared.id, "category_id": case.craftsman.urssaf_category_id.id}],
            ),
            DECLARED,
            DECLARATIONS,
        ),
        Attempt(
            "declarant changes the amount of a declared line",
            "declarant",
            _line_write("declared", {"amount": 1.0}),
            DECLARED,
            DECLARATIONS,
        ),
        Attempt(
            "preparer deletes the contribution lines of a declared declaration",
            "preparer",
            lambda case: ("urssaf.declaration.contribution", "unlink", [case.declared.contribution_ids.ids]),
            "not allowed",
            DECLARATIONS,
        ),
        Attempt(
            "declarant rewrites a contribution amount",
            "declarant",
            lambda case: (
                "urssaf.declaration.contribution",
                "write",
                [case.declared.contribution_ids.ids, {"amount": 1}],
            ),
            WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "declarant writes contribution lines through the declaration",
            "declarant",
            _write("draft", {"contribution_ids": [(0, 0, {"kind": "declared", "label": "X", "amount": 1})]}),
            WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        # 5. Another auto-entrepreneur's SEPA mandate.
        Attempt(
            "declarant points a declared declaration at another auto-entrepreneur's SEPA mandate",
            "declarant",
            lambda case: (
                "urssaf.declaration",
                "write",
                [[case.declared.id], {"sepa_mandate_id": case.craftsman_sepa.id}],
            ),
            "is not a mandate of",
            DECLARATIONS,
        ),
        # 14. The periodicity.
        Attempt(
            "preparer changes a declaration's periodicity",
            "preparer",
            _write("draft", {"periodicity": "quarterly"}),
            "Periodicity",
            DECLARATIONS,
        ),
        # Only declarants decide what is sent.
        Attempt(
            "preparer declares",
            "preparer",
            _call("draft", "action_declare"),
            "Only Urssaf declarants",
            DECLARATIONS,
        ),
        Attempt(
            "preparer pays",
            "preparer",
            _call("declared", "action_pay"),
            "Only Urssaf declarants",
            DECLARATIONS,
        ),
        Attempt(
            "declarant of the other company reads the declarations",
            "declarant_b",
            lambda case: ("urssaf.declaration", "read", [[case.declared.id], ["urssaf_number"]]),
            "doesn't have 'read' access",
            DECLARATIONS,
        ),
        # 6. Context defaults: Odoo fills ``default_<field>`` keys into
        # create's values after the model's own create looked at them (it
        # drops them itself for the lines created through a one2many).
        Attempt(
            "preparer creates a declaration of a free period, paid with a forged number, through context defaults",
            "preparer",
            with_context_defaults(
                _new_in_june, state="paid", urssaf_number="DEC-FORGED", payment_reference="PAY-FORGED"
            ),
            WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "declarant creates a declaration with its Urssaf number alone as a context default",
            "declarant",
            with_context_defaults(_new_in_june, urssaf_number="DEC-FORGED"),
            "“Urssaf declaration number” is filled only",
            DECLARATIONS,
        ),
        Attempt(
            "declarant creates a declaration whose periodicity and snapshot come from the context",
            "declarant",
            with_context_defaults(_new_in_june, periodicity="quarterly", estimate_snapshot='{"forged": true}'),
            WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "preparer adds a line whose computed amount comes from the context",
            "preparer",
            with_context_defaults(_new_line, computed_amount=5000.0),
            "“Collected (computed)” is filled only",
            DECLARATIONS,
        ),
        Attempt(
            "declarant creates a contribution line from context defaults",
            "declarant",
            with_context_defaults(
                lambda case: (
                    "urssaf.declaration.contribution",
                    "create",
                    [{"declaration_id": case.draft.id, "kind": "declared", "label": "X"}],
                ),
                amount=-1000.0,
            ),
            WRITTEN_ONLY_BY_THE_ADDON,
            DECLARATIONS,
        ),
        Attempt(
            "declarant creates a SEPA mandate already active, with a RUM of its choosing, through context defaults",
            "declarant",
            with_context_defaults(
                lambda case: (
                    "urssaf.sepa.mandate",
                    "create",
                    [
                        {
                            "partner_id": case.craftsman.id,
                            "bank_account_id": case.craftsman_sepa.bank_account_id.id,
                            "holder": "Craftsman",
                        }
                    ],
                ),
                state="active",
                rum="RUM-FORGED",
            ),
            WRITTEN_ONLY_BY_THE_ADDON,
            ("urssaf_sepa_mandate",),
        ),
        # Controls: what the rules let through does go through.
        Attempt(
            "declarant adjusts the amount to declare of a draft",
            "declarant",
            _line_write("draft", {"amount": 1900.0}),
            None,
            ("urssaf_declaration_line",),
        ),
        Attempt(
            "declarant chooses the auto-entrepreneur's own SEPA mandate",
            "declarant",
            lambda case: (
                "urssaf.declaration",
                "write",
                [[case.declared.id], {"sepa_mandate_id": case.trader_sepa.id}],
            ),
            None,
            ("urssaf_declaration",),
        ),
        Attempt(
            "preparer estimates a draft",
            "preparer",
            _call("draft", "action_estimate"),
            None,
            DECLARATIONS,
        ),
        Attempt(
            "declarant declares it",
            "declarant",
            _call("draft", "action_declare"),
            None,
            DECLARATIONS,
        ),
        Attempt(
            "declarant pays a declared declaration",
            "declarant",
            _call("declared", "action_pay"),
            None,
            ("urssaf_declaration",),
        ),
        Attempt(
            "preparer creates a declaration of a free period with the state a new one has anyway in the context",
            "preparer",
            with_context_defaults(_new_in_june, state="draft"),
            None,
            ("urssaf_declaration",),
        ),
        # Issue 27: what the form shows read-only to a preparer is still
        # refused by the server.
        Attempt(
            "preparer adjusts the amount to declare of a draft's line",
            "preparer",
            _line_write("adjustable", {"amount": 2500.0}),
            "Only Urssaf declarants can change the amount to declare.",
            DECLARATIONS,
        ),
        Attempt(
            "declarant adjusts the amount to declare of a draft's line",
            "declarant",
            _line_write("adjustable", {"amount": 2500.0}),
            None,
            DECLARATIONS,
        ),
    )

    def after_attempts(self):
        """The controls' effects are the real ones, not only changed rows."""
        self.assertEqual(self.declared.state, "paid")
        self.assertEqual(self.declared.sepa_mandate_id, self.trader_sepa)
        self.assertEqual(self.draft.state, "declared")
        self.assertEqual(self.draft.turnover_total, 1900.0)
        self.assertEqual(self.numbered_error.urssaf_number, "DEC-NUMBERED")
        june = self.env["urssaf.declaration"].search(
            [("partner_id", "=", self.trader.id), ("period_start", "=", date(2026, 6, 1))]
        )
        self.assertEqual((june.state, june.urssaf_number, june.payment_reference), ("draft", False, False))
        self.assertEqual(june.periodicity, "monthly")
        self.assertFalse(self.env["urssaf.sepa.mandate"].search([("rum", "=", "RUM-FORGED")]), "no forged SEPA mandate")


@freeze_time(FROZEN_NOW)
@tagged("post_install", "-at_install")
class TestDeclarationTrust(UrssafTransactionCase):
    """The same rules from Python, and the scheduled run."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.trader = _make_auto_entrepreneur(cls.env, "monthly_trader", "VENTE_MARCHANDISES")

    def test_periodicity_and_first_period_come_from_the_account(self):
        declaration = _declaration(self.env, self.trader, date(2026, 9, 1), date(2026, 9, 30), 10.0)
        self.assertEqual(declaration.periodicity, "monthly")
        self.assertFalse(declaration.is_first_period)
        self.assertEqual(declaration.state, "draft")

    def test_copy_is_a_draft_without_urssaf_data(self):
        declaration = _declaration(self.env, self.trader, date(2026, 5, 1), date(2026, 5, 31), 10.0)
        declaration.action_estimate()
        declaration.action_declare()
        self.assertEqual(declaration.state, "declared")
        copy = declaration.copy({"period_start": date(2026, 4, 1), "period_end": date(2026, 4, 30)})
        self.assertEqual(copy.state, "draft")
        self.assertFalse(copy.urssaf_number or copy.contribution_ids or copy.estimate_snapshot)
        self.assertNotEqual(copy.reference_tiers, declaration.reference_tiers)

    def test_sepa_mandate_of_another_company_refused(self):
        other_company = self.env["res.company"].create({"name": "Other tiers-déclarant"})
        bank = self.env["res.partner.bank"].create({"partner_id": self.trader.id, "acc_number": IBAN_TRADER})
        foreign = self.env["urssaf.sepa.mandate"].create(
            {"partner_id": self.trader.id, "bank_account_id": bank.id, "holder": "X", "company_id": other_company.id}
        )
        declaration = _declaration(self.env, self.trader, date(2026, 9, 1), date(2026, 9, 30), 10.0)
        with self.assertRaises(ValidationError):
            declaration.sepa_mandate_id = foreign

    def test_unknown_outcome_is_neither_cancelled_nor_reset(self):
        declaration = _declaration(self.env, self.trader, date(2026, 9, 1), date(2026, 9, 30), 10.0)
        declaration.write({"state": "error", "error_step": "declare", "outcome_unknown": True})
        for action in (declaration.action_cancel, declaration.action_reset_to_draft):
            with self.assertRaises(UserError):
                action()
        self.assertEqual(declaration.state, "error")

    def test_scheduled_run_declares_only_what_it_computed(self):
        """A forged estimate (amounts that are not the books', a snapshot
        that matches them) is never declared as it is: the run re-reads the
        books (no invoice: 0) and estimates again before declaring."""
        self.env.company.write(
            {"urssaf_auto_declare": True, "urssaf_auto_declare_days": 400, "urssaf_responsible_user_id": self.env.uid}
        )
        forged = _declaration(self.env, self.trader, date(2026, 9, 1), date(2026, 9, 30), 5000.0)
        forged.write({"state": "estimated", "estimate_snapshot": forged._amounts_snapshot(), "estimated_total": 1.0})
        with patch.object(type(self.env["ir.cron"]), "_commit_progress", lambda cron, processed=0, **kw: 1e9):
            run = self.env["urssaf.declaration"]._auto_declare(self.env.company, date(2026, 11, 30))
        # Nothing collected, nothing due: declared with zero, nothing to pay.
        self.assertEqual(forged.state, "paid", forged.error_message)
        self.assertTrue(forged.urssaf_number)
        self.assertEqual(forged.amount_total, 0.0)
        self.assertEqual(forged.line_ids.mapped("computed_amount"), [0.0])
        self.assertEqual(forged.turnover_total, 0.0)
        client = self.env.company._urssaf_client()
        sent = client.find_declarations(self.trader._urssaf_identifier(), period_start=date(2026, 9, 1))
        self.assertEqual([d.number for d in sent], [forged.urssaf_number])
        self.assertEqual(sum(sent[0].turnover_by_category.values()), 0)
        self.assertIn(forged, run.line_ids.declaration_id)

    def test_declare_and_pay_from_a_selection_ask_first(self):
        """The list's buttons and the Actions menu open a confirmation that
        names what is sent; only its confirmation sends it."""
        declarant = new_test_user(
            self.env, login="trust_send_declarant", groups="account.group_account_manager," + DECLARANT_GROUP
        )
        declaration = _declaration(self.env, self.trader, date(2026, 3, 1), date(2026, 3, 31), 1000.0)
        declaration.action_estimate()
        for xmlid, step in (
            ("action_urssaf_declaration_send_declare", "declare"),
            ("action_urssaf_declaration_send_pay", "pay"),
        ):
            action = self.env.ref(f"l10n_fr_urssaf_tierce_declaration.{xmlid}")
            self.assertEqual(action.binding_model_id.model, "urssaf.declaration")
            self.assertEqual(action.group_ids, self.env.ref(DECLARANT_GROUP))
            self.assertEqual(action.context, f"{{'default_step': '{step}'}}")
        Send = self.env["urssaf.declaration.send"].with_user(declarant)
        context = {"active_model": "urssaf.declaration", "active_ids": declaration.ids, "default_step": "declare"}
        wizard = Send.with_context(**context).create({})
        self.assertEqual(wizard.declaration_ids, declaration)
        self.assertIn(declaration.display_name, wizard.summary)
        self.assertIn("cannot be withdrawn", wizard.summary)
        self.assertEqual(declaration.state, "estimated", "opening the confirmation sends nothing")
        wizard.action_confirm()
        self.assertEqual(declaration.state, "declared")
        preparer = new_test_user(
            self.env, login="trust_send_preparer", groups="account.group_account_user," + PREPARER_GROUP
        )
        with self.assertRaises(AccessError):
            self.env["urssaf.declaration.send"].with_user(preparer).with_context(**context).create({})
