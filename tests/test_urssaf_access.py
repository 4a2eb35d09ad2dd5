# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Who sees what of the auto-entrepreneurs and their mandates (issue 4).

Preparers see the auto-entrepreneurs, mandates and SEPA mandates but never
the NIR; declarants see and edit everything; other users see nothing of the
addon; a company's mandates stay in that company.
"""

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .test_partner_mandates import DECLARANT, IBAN_BERNARD, IBAN_MARTIN, PREPARER, UrssafAeCase

NIR = "288047511102371"
NIR_FIELDS = ("urssaf_nir", "urssaf_nir_formatted")
AE_FIELDS = [
    "urssaf_is_auto_entrepreneur",
    "urssaf_identifier_type",
    "urssaf_category_id",
    "urssaf_trade",
    "urssaf_turnover_source",
    "urssaf_account_state",
    "urssaf_eligible",
    "urssaf_periodicity",
    "urssaf_activity_start",
    "urssaf_category_ids",
    "urssaf_versement_liberatoire",
    "urssaf_checked_at",
    "urssaf_mandate_ids",
    "urssaf_sepa_mandate_ids",
]


@tagged("post_install", "-at_install")
class TestGroupAccess(UrssafAeCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.preparer = new_test_user(cls.env, login="i4_preparer", groups=f"{PREPARER},base.group_allow_export")
        cls.exporting_declarant = new_test_user(
            cls.env, login="i4_declarant_export", groups=f"{DECLARANT},base.group_allow_export"
        )
        cls.accountant = new_test_user(
            cls.env, login="i4_accountant", groups="account.group_account_invoice,base.group_allow_export"
        )
        cls.partner = cls.env["res.partner"].create(
            {
                "name": "Camille Martin",
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_identifier_type": "nir",
                "urssaf_nir": NIR,
                "urssaf_trade": "commercant",
                "urssaf_category_id": cls.env.ref("l10n_fr_urssaf_tierce_declaration.category_vente_marchandises").id,
            }
        )
        cls.bank = cls.env["res.partner.bank"].create({"partner_id": cls.partner.id, "acc_number": IBAN_MARTIN})
        cls.mandate = cls.env["urssaf.mandate"].create({"partner_id": cls.partner.id})
        cls.sepa = cls.env["urssaf.sepa.mandate"].create(
            {"partner_id": cls.partner.id, "bank_account_id": cls.bank.id, "holder": "Camille Martin"}
        )

    @staticmethod
    def _readable_fields(partner):
        """The stored fields of the partner the user may read (what an export
        of "all fields" or a form would load)."""
        return [
            fname
            for fname, description in partner.fields_get(attributes=["store", "type"]).items()
            if description["store"] and description["type"] not in ("one2many", "many2many")
        ]

    # --- preparers -----------------------------------------------------------

    def test_preparer_reads_auto_entrepreneurs_and_mandates(self):
        partner = self.partner.with_user(self.preparer)
        values = partner.read(AE_FIELDS)[0]
        self.assertTrue(values["urssaf_is_auto_entrepreneur"])
        self.assertEqual(values["urssaf_mandate_ids"], self.mandate.ids)
        self.assertEqual(values["urssaf_sepa_mandate_ids"], self.sepa.ids)
        Partner = self.env["res.partner"].with_user(self.preparer)
        self.assertIn(partner, Partner.search([("urssaf_is_auto_entrepreneur", "=", True)]))
        mandate = self.mandate.with_user(self.preparer)
        self.assertEqual(mandate.read(["partner_id", "state"])[0]["state"], "draft")
        self.assertEqual(self.env["urssaf.mandate"].with_user(self.preparer).search([]), self.mandate)
        sepa = self.sepa.with_user(self.preparer)
        self.assertEqual(sepa.read(["iban_masked", "state"])[0]["iban_masked"], "****0189")
        self.assertEqual(partner.urssaf_mandate_count, 1)

    def test_preparer_never_gets_the_nir(self):
        partner = self.partner.with_user(self.preparer)
        Partner = self.env["res.partner"].with_user(self.preparer)
        for fname in NIR_FIELDS:
            with self.subTest(field=fname):
                with self.assertRaises(AccessError):
                    partner.read([fname])
                with self.assertRaises(AccessError):
                    partner.web_read({fname: {}})
                with self.assertRaises(AccessError):
                    Partner.search([(fname, "=", NIR)])
                with self.assertRaises(AccessError):
                    Partner.search_read([("id", "=", partner.id)], [fname])
                with self.assertRaises(AccessError):
                    partner.export_data([fname])
                with self.assertRaises(AccessError):
                    Partner.formatted_read_group([("id", "=", partner.id)], [fname], ["__count"])
                self.assertNotIn(fname, Partner.fields_get())
        # Reading or exporting the partner without naming the field does not leak it.
        values = partner.read(self._readable_fields(partner))[0]
        self.assertFalse(set(NIR_FIELDS) & set(values))
        self.assertNotIn(NIR, str(values))
        exported = partner.export_data(["name", "urssaf_is_auto_entrepreneur", "urssaf_identifier_type"])
        self.assertNotIn(NIR, str(exported))
        arch = Partner.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn("urssaf_is_auto_entrepreneur", arch)
        self.assertNotIn("urssaf_nir", arch)

    def test_preparer_cannot_change_mandates_nor_call_urssaf(self):
        with self.assertRaises(AccessError):
            self.mandate.with_user(self.preparer).write({"signature_date": "2026-01-01"})
        with self.assertRaises(AccessError):
            self.env["urssaf.mandate"].with_user(self.preparer).create({"partner_id": self.partner.id})
        with self.assertRaises(AccessError):
            self.sepa.with_user(self.preparer).write({"holder": "X"})
        buttons = [
            (self.partner, "action_urssaf_check_account"),
            (self.partner, "action_urssaf_sync_sepa_mandates"),
            (self.mandate, "action_register"),
            (self.mandate, "action_end"),
            (self.sepa, "action_register"),
            (self.sepa, "action_revoke"),
        ]
        for record, method in buttons:
            with self.subTest(button=f"{record._name}.{method}"), self.assertNoUrssafCall():
                with self.assertRaises(UserError):
                    getattr(record.with_user(self.preparer), method)()

    # --- declarants --------------------------------------------------------------

    def test_declarant_reads_and_writes_everything(self):
        partner = self.partner.with_user(self.declarant)
        self.assertEqual(partner.read(["urssaf_nir", "urssaf_nir_formatted"])[0]["urssaf_nir"], NIR)
        self.assertEqual(partner.urssaf_nir_formatted, "2 88 04 75 111 023 71")
        Partner = self.env["res.partner"].with_user(self.declarant)
        self.assertEqual(Partner.search([("urssaf_nir", "=", NIR)]), partner)
        exported = partner.with_user(self.exporting_declarant).export_data(["urssaf_nir"])
        self.assertEqual(exported["datas"], [[NIR]])
        partner.write({"urssaf_nir_formatted": "1 85 09 33 063 210 19", "urssaf_trade": "artisan"})
        self.assertEqual(self.partner.urssaf_nir, "185093306321019")
        created = Partner.create(
            {
                "name": "Lucas Bernard",
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_category_id": self.env.ref("l10n_fr_urssaf_tierce_declaration.category_vente_marchandises").id,
                "company_registry": "81234567600017",
            }
        )
        bank = (
            self.env["res.partner.bank"]
            .with_user(self.declarant)
            .create({"partner_id": created.id, "acc_number": IBAN_BERNARD})
        )
        mandate = self.env["urssaf.mandate"].with_user(self.declarant).create({"partner_id": created.id})
        mandate.write({"document_name": "mandat.pdf"})
        sepa = (
            self.env["urssaf.sepa.mandate"]
            .with_user(self.declarant)
            .create({"partner_id": created.id, "bank_account_id": bank.id, "holder": "Lucas Bernard"})
        )
        sepa.write({"holder": "L. Bernard"})
        self.assertEqual(created.urssaf_mandate_ids, mandate)
        self.assertEqual(created.urssaf_sepa_mandate_ids, sepa)
        mandate.unlink()
        sepa.unlink()

    # --- everybody else -----------------------------------------------------------

    def test_other_users_see_nothing_of_the_addon(self):
        user = self.accountant
        for model in ("urssaf.mandate", "urssaf.sepa.mandate"):
            with self.subTest(model=model):
                with self.assertRaises(AccessError):
                    self.env[model].with_user(user).search([])
                record = self.mandate if model == "urssaf.mandate" else self.sepa
                with self.assertRaises(AccessError):
                    record.with_user(user).read(["state"])
        partner = self.partner.with_user(user)
        Partner = self.env["res.partner"].with_user(user)
        urssaf_fields = [fname for fname in self.env["res.partner"]._fields if fname.startswith("urssaf_")]
        self.assertIn("urssaf_mandate_count", urssaf_fields)
        for fname in urssaf_fields:
            with self.subTest(field=fname):
                with self.assertRaises(AccessError):
                    partner.read([fname])
        with self.assertRaises(AccessError):
            Partner.search([("urssaf_is_auto_entrepreneur", "=", True)])
        with self.assertRaises(AccessError):
            partner.export_data(["urssaf_nir"])
        self.assertFalse([fname for fname in Partner.fields_get() if fname.startswith("urssaf_")])
        values = partner.read(self._readable_fields(partner))[0]
        self.assertTrue(values)
        self.assertNotIn(NIR, str(values))
        arch = Partner.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertNotIn("urssaf", arch)
        with self.assertNoUrssafCall(), self.assertRaises(UserError):
            partner.action_urssaf_check_account()


@tagged("post_install", "-at_install")
class TestMultiCompany(UrssafAeCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Cabinet B"})
        cls.user_a = new_test_user(
            cls.env,
            login="i4_declarant_a",
            groups=DECLARANT,
            company_id=cls.company_a.id,
            company_ids=[(6, 0, cls.company_a.ids)],
        )
        cls.user_b = new_test_user(
            cls.env,
            login="i4_declarant_b",
            groups=DECLARANT,
            company_id=cls.company_b.id,
            company_ids=[(6, 0, cls.company_b.ids)],
        )
        cls.preparer_b = new_test_user(
            cls.env,
            login="i4_preparer_b",
            groups=PREPARER,
            company_id=cls.company_b.id,
            company_ids=[(6, 0, cls.company_b.ids)],
        )
        cls.both = new_test_user(
            cls.env,
            login="i4_declarant_ab",
            groups=DECLARANT,
            company_id=cls.company_a.id,
            company_ids=[(6, 0, (cls.company_a | cls.company_b).ids)],
        )
        # A partner shared by both companies, each with its own mandates.
        cls.partner = cls.env["res.partner"].create(
            {
                "name": "Camille Martin",
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_category_id": cls.env.ref("l10n_fr_urssaf_tierce_declaration.category_vente_marchandises").id,
                "urssaf_identifier_type": "nir",
                "urssaf_nir": NIR,
            }
        )
        cls.bank = cls.env["res.partner.bank"].create({"partner_id": cls.partner.id, "acc_number": IBAN_MARTIN})
        cls.mandate_a = cls.env["urssaf.mandate"].create({"partner_id": cls.partner.id, "company_id": cls.company_a.id})
        cls.sepa_a = cls.env["urssaf.sepa.mandate"].create(
            {
                "partner_id": cls.partner.id,
                "bank_account_id": cls.bank.id,
                "holder": "Camille Martin",
                "company_id": cls.company_a.id,
            }
        )

    def test_company_a_mandates_are_invisible_to_company_b(self):
        for user in (self.user_b, self.preparer_b):
            with self.subTest(user=user.login):
                env = self.env(user=user)
                self.assertFalse(env["urssaf.mandate"].search([]))
                self.assertFalse(env["urssaf.sepa.mandate"].search([]))
                with self.assertRaises(AccessError):
                    self.mandate_a.with_user(user).read(["state"])
                with self.assertRaises(AccessError):
                    self.sepa_a.with_user(user).read(["state"])
                partner = self.partner.with_user(user)
                self.assertFalse(partner.urssaf_mandate_ids)
                self.assertFalse(partner.urssaf_sepa_mandate_ids)
                self.assertEqual(partner.urssaf_mandate_count, 0)

    def test_company_a_sees_its_own_and_b_keeps_its_own(self):
        env_a = self.env(user=self.user_a)
        self.assertEqual(env_a["urssaf.mandate"].search([]), self.mandate_a)
        self.assertEqual(env_a["urssaf.sepa.mandate"].search([]), self.sepa_a)
        mandate_b = self.env["urssaf.mandate"].with_user(self.user_b).create({"partner_id": self.partner.id})
        self.assertEqual(mandate_b.company_id, self.company_b)
        self.assertEqual(env_a["urssaf.mandate"].search([]), self.mandate_a)
        self.assertEqual(self.env(user=self.user_b)["urssaf.mandate"].search([]), mandate_b)
        with self.assertRaises(AccessError):
            mandate_b.with_user(self.user_a).read(["state"])
        env_both = self.env(user=self.both, context={"allowed_company_ids": (self.company_a | self.company_b).ids})
        self.assertEqual(env_both["urssaf.mandate"].search([]), self.mandate_a | mandate_b)


@tagged("post_install", "-at_install")
class TestMultiCompanyDeclarationRecords(UrssafAeCase):
    """A declaration's lines, its contributions and the reports of the
    scheduled runs stay in their company, like the declaration."""

    MODELS = ("urssaf.declaration", "urssaf.declaration.line", "urssaf.declaration.contribution")
    RUN_MODELS = ("urssaf.run", "urssaf.run.line")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Cabinet B"})
        cls.users = {
            login: new_test_user(
                cls.env,
                login=f"i4_records_{login}",
                groups=groups,
                company_id=company.id,
                company_ids=[(6, 0, companies.ids)],
            )
            for login, groups, company, companies in (
                ("declarant_a", DECLARANT, cls.company_a, cls.company_a),
                ("declarant_b", DECLARANT, cls.company_b, cls.company_b),
                ("preparer_b", PREPARER, cls.company_b, cls.company_b),
                ("declarant_ab", DECLARANT, cls.company_b, cls.company_a | cls.company_b),
            )
        }
        partner = cls._ae_of_seed("monthly_trader")
        declaration = cls.env["urssaf.declaration"].create(
            {
                "partner_id": partner.id,
                "company_id": cls.company_a.id,
                "period_start": "2026-10-01",
                "period_end": "2026-10-31",
                "line_ids": [(0, 0, {"category_id": cls.category_goods.id, "computed_amount": 10, "amount": 10})],
            }
        )
        cls.env["urssaf.declaration.contribution"].create(
            {
                "declaration_id": declaration.id,
                "kind": "estimate",
                "category_id": cls.category_goods.id,
                "label": "Cotisations sociales",
                "base": 10,
                "rate": 12.3,
                "amount": 1,
            }
        )
        run = cls.env["urssaf.run"].create({"company_id": cls.company_a.id})
        run._add_lines(declaration, "done")
        cls.records = {
            "urssaf.declaration": declaration,
            "urssaf.declaration.line": declaration.line_ids,
            "urssaf.declaration.contribution": declaration.contribution_ids,
            "urssaf.run": run,
            "urssaf.run.line": run.line_ids,
        }

    @classmethod
    def _ae_of_seed(cls, alias):
        partner = cls.env["res.partner"].create(
            {
                "name": "Camille Martin",
                "urssaf_is_auto_entrepreneur": True,
                "urssaf_identifier_type": "nir",
                "urssaf_nir": NIR,
                "urssaf_category_id": cls.category_goods.id,
            }
        )
        partner.action_urssaf_check_account()
        return partner

    def _readable(self, user, models, companies=None):
        context = {"allowed_company_ids": companies.ids} if companies else {}
        env = self.env(user=user, context=context)
        return {model: env[model].search([("id", "in", self.records[model].ids)]) for model in models}

    def test_company_a_reads_its_records(self):
        self.assertEqual(
            {model: len(records) for model, records in self.records.items()}, dict.fromkeys(self.records, 1)
        )
        readable = self._readable(self.users["declarant_a"], self.MODELS + self.RUN_MODELS)
        self.assertEqual(
            {model: records.ids for model, records in readable.items()},
            {model: records.ids for model, records in self.records.items()},
        )

    def test_another_company_reads_nothing(self):
        for login, models in (
            ("declarant_b", self.MODELS + self.RUN_MODELS),
            ("preparer_b", self.MODELS),
        ):
            user = self.users[login]
            with self.subTest(user=login):
                readable = self._readable(user, models)
                self.assertEqual({model: records.ids for model, records in readable.items()}, dict.fromkeys(models, []))
                for model in models:
                    with self.assertRaises(AccessError, msg=model):
                        self.records[model].with_user(user).read(["id", "display_name"])
        # A user of both companies, working in B only, does not read A's either.
        models = self.MODELS + self.RUN_MODELS
        both = self.users["declarant_ab"]
        readable = self._readable(both, models, companies=self.company_b)
        self.assertEqual({model: records.ids for model, records in readable.items()}, dict.fromkeys(models, []))
        readable = self._readable(both, models, companies=self.company_a | self.company_b)
        self.assertEqual(
            {model: records.ids for model, records in readable.items()},
            {model: self.records[model].ids for model in models},
        )
