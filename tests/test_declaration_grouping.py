# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Sums of the declarations in grouped lists, pivots and graphs, asked by a
preparer the way the web client asks them: the pivot's
``formatted_read_grouping_sets``, the graph's ``formatted_read_group``, the
grouped list's ``web_read_group`` with the aggregates the list derives from
``fields_get``."""

import xmlrpc.client
from collections import defaultdict

from odoo.tests import tagged
from odoo.tools import SQL

from .accountant_day import AccountantDayCase

MEASURES = ("turnover_total", "estimated_total", "amount_total")


@tagged("post_install", "-at_install")
class TestDeclarationGrouping(AccountantDayCase):
    def _domain(self):
        return [("partner_id", "=", self.trader.id), ("company_id", "=", self.company_a.id)]

    def _expected_by_state(self):
        """Each measure's sum per state, added up here from the records."""
        records = self.call_kw(
            "preparer", "urssaf.declaration", "search_read", [self._domain()], {"fields": ["state", *MEASURES]}
        )
        sums = defaultdict(lambda: defaultdict(float))
        for record in records:
            for measure in MEASURES:
                sums[record["state"]][measure] += record[measure]
        self.assertGreater(len(sums), 2, "several states, some with amounts")
        self.assertTrue(any(sums[state]["amount_total"] for state in sums))
        return sums

    def test_monetary_fields_are_aggregated(self):
        """What the web client's views read before asking any sum (the
        pivot's "No aggregate function has been provided" came from here)."""
        described = self.call_kw(
            "preparer",
            "urssaf.declaration",
            "fields_get",
            [list(MEASURES)],
            {"attributes": ["aggregator", "currency_field"]},
        )
        for measure in MEASURES:
            self.assertEqual(described[measure], {"aggregator": "sum", "currency_field": "currency_id"}, measure)

    def test_pivot_sums_by_state(self):
        expected = self._expected_by_state()
        aggregates = ["__count", *(f"{measure}:sum" for measure in MEASURES)]
        by_state, total = self.call_kw(
            "preparer",
            "urssaf.declaration",
            "formatted_read_grouping_sets",
            [self._domain(), [["state"], []], aggregates],
        )
        self.assertEqual({group["state"] for group in by_state}, set(expected))
        for group in by_state:
            for measure in MEASURES:
                self.assertAlmostEqual(group[f"{measure}:sum"], expected[group["state"]][measure], 2, measure)
        for measure in MEASURES:
            self.assertAlmostEqual(total[0][f"{measure}:sum"], sum(s[measure] for s in expected.values()), 2)

    def test_graph_and_grouped_list_sums(self):
        expected = self._expected_by_state()
        groups = self.call_kw(
            "preparer",
            "urssaf.declaration",
            "formatted_read_group",
            [self._domain(), ["state"], ["amount_total:sum"]],
        )
        self.assertEqual(
            {g["state"]: g["amount_total:sum"] for g in groups}, {s: v["amount_total"] for s, v in expected.items()}
        )
        # The grouped list: a sum per measure, and in the currency of the declarations.
        aggregates = [
            *(f"{measure}:sum" for measure in MEASURES),
            "currency_id:array_agg_distinct",
            "turnover_total:sum_currency",
        ]
        result = self.call_kw(
            "preparer", "urssaf.declaration", "web_read_group", [self._domain(), ["state"], aggregates]
        )
        euro = self.env.ref("base.EUR").id
        for group in result["groups"]:
            self.assertEqual(group["currency_id:array_agg_distinct"], [euro])
            for measure in MEASURES:
                self.assertAlmostEqual(group[f"{measure}:sum"], expected[group["state"]][measure], 2)

    def test_currency_of_existing_declarations_on_upgrade(self):
        """Declarations made before the currency was stored get the euro when
        the addon is updated: Odoo computes a new stored column for every row."""
        declarations = self.env["urssaf.declaration"].search([])
        self.assertTrue(declarations)
        self.env.flush_all()
        self.env.cr.execute("ALTER TABLE urssaf_declaration DROP COLUMN currency_id")
        self.env.invalidate_all()
        # What the addon's update does for its models (odoo.modules.loading).
        self.registry.init_models(
            self.env.cr, ["urssaf.declaration"], {"module": "l10n_fr_urssaf_tierce_declaration"}, install=False
        )
        self.env.cr.execute(
            SQL(
                "SELECT count(*) FROM urssaf_declaration WHERE currency_id IS DISTINCT FROM %s",
                self.env.ref("base.EUR").id,
            )
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)

    def test_currency_is_the_euro_for_good(self):
        """The sums add euros: no user changes a declaration's currency."""
        usd = self.env.ref("base.USD")
        for role in ("preparer", "declarant"):
            with self.subTest(role), self.assertRaises(xmlrpc.client.Fault) as caught:
                self.rpc(role, "urssaf.declaration", "write", [self.october.ids, {"currency_id": usd.id}])
            self.assertIn("cannot be written", caught.exception.faultString)
        self.env.cr.execute(SQL("SELECT currency_id FROM urssaf_declaration WHERE id = %s", self.october.id))
        self.assertEqual(self.env.cr.fetchone()[0], self.env.ref("base.EUR").id)
