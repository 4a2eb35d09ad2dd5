# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The cockpit, over XML-RPC as its users: each count is the number of
records of the list its tile opens, as the user sees them; the lists'
filters select the same records."""

import xmlrpc.client
from datetime import date

from dateutil.relativedelta import relativedelta
from lxml import etree

from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from .accountant_day import TODAY, AccountantDayCase

_AE = [("is_auto_entrepreneur", "=", True)]
# In the browser: click the cockpit's Late tile, count the rows of the list it opens.
LATE_TILE_JS = """
        (async () => {
            const wait = async (check, what) => {
                for (let i = 0; i < 400; i++) {
                    const found = check();
                    if (found) return found;
                    await new Promise((resolve) => setTimeout(resolve, 50));
                }
                throw new Error("not found: " + what);
            };
            const tile = await wait(
                () => [...document.querySelectorAll(".o_urssaf_cockpit a")].find(
                    (link) => link.textContent.trim().startsWith("Late")),
                "the Late tile",
            );
            tile.click();
            await wait(() => document.querySelector(".o_list_view .o_data_row"), "the late declarations");
            const rows = document.querySelectorAll(".o_list_view .o_data_row").length;
            const title = document.querySelector(".o_breadcrumb").textContent;
            if (rows === expected && title.includes("Late declarations")) {
                console.log("test successful");
            } else {
                console.error(`the Late tile opened ${rows} rows under "${title}", not ${expected}`);
            }
        })().catch((error) => console.error(error.message));
        """
COUNTS = [
    "due_soon_count",
    "late_count",
    "to_estimate_count",
    "to_declare_count",
    "to_pay_count",
    "error_count",
    "outcome_unknown_count",
    "books_changed_count",
    "no_mandate_count",
    "no_sepa_mandate_count",
    "ineligible_count",
    "near_ceiling_count",
]


@tagged("post_install", "-at_install")
class TestCockpit(AccountantDayCase):
    def _cockpit(self, role):
        """The cockpit the menu opens for ``role``, read as that user."""
        action = self.rpc(role, "urssaf.cockpit", "action_open_cockpit", [])
        self.assertEqual(action["res_model"], "urssaf.cockpit")
        [cockpit] = self.rpc(
            role, "urssaf.cockpit", "search_read", [action["domain"]], {"fields": [*COUNTS, "late_days", "company_id"]}
        )
        return cockpit

    def _tile(self, role, cockpit, tile):
        """The action of a tile, and the ids its list shows to ``role``."""
        action = self.rpc(
            role, "urssaf.cockpit", "action_open_tile", [[cockpit["id"]]], {"context": {"urssaf_tile": tile}}
        )
        ids = self.rpc(role, action["res_model"], "search", [action["domain"]])
        return action, ids

    def test_counts_are_the_lists_they_open(self):
        # September, declared: the daily comparison found its books changed.
        self.september._urssaf_write({"register_books_changed": True})
        cockpit = self._cockpit("preparer")
        self.assertEqual(cockpit["company_id"][0], self.company_a.id)
        tiles = {fname.removesuffix("_count") for fname in COUNTS}
        shown = {}
        for tile in sorted(tiles):
            action, ids = self._tile("preparer", cockpit, tile)
            self.assertEqual(cockpit[f"{tile}_count"], len(ids), tile)
            shown[tile] = (action["res_model"], set(ids))
        # What each tile holds of this test's records (the demo data may add
        # its own), from their story (accountant_day.py).
        mine = self.september | self.august | self.july | self.october
        accounts = {
            partner: self.env["urssaf.account"].search(
                [("partner_id", "=", partner.id), ("company_id", "=", self.company_a.id)]
            )
            for partner in (self.trader, self.craftsman, self.liberal, self.ineligible)
        }
        my_accounts = set().union(*(account.ids for account in accounts.values()))

        def held(tile):
            model, ids = shown[tile]
            return model, ids & (set(mine.ids) if model == "urssaf.declaration" else my_accounts)

        declarations = "urssaf.declaration"
        self.assertEqual(held("due_soon"), (declarations, set(self.october.ids)))
        self.assertEqual(held("late"), (declarations, set((self.september | self.august | self.july).ids)))
        self.assertEqual(held("to_estimate"), (declarations, set(self.october.ids)))
        self.assertEqual(held("to_declare"), (declarations, set(self.august.ids)))
        self.assertEqual(held("to_pay"), (declarations, set(self.september.ids)))
        self.assertEqual(held("error"), (declarations, set(self.july.ids)))
        self.assertEqual(held("outcome_unknown"), (declarations, set(self.july.ids)))
        self.assertEqual(held("books_changed"), (declarations, set(self.september.ids)))
        self.assertEqual(
            held("no_mandate"), ("urssaf.account", {accounts[self.liberal].id, accounts[self.ineligible].id})
        )
        self.assertEqual(
            held("no_sepa_mandate"),
            ("urssaf.account", {accounts[p].id for p in (self.craftsman, self.liberal, self.ineligible)}),
        )
        self.assertEqual(held("ineligible"), ("urssaf.account", {accounts[self.ineligible].id}))
        self.assertEqual(held("near_ceiling"), ("urssaf.account", {accounts[self.craftsman].id}))
        # The oldest late declaration, July's, fell due on 31 August.
        self.assertEqual(self.july.due_date, date(2026, 8, 31))
        self.assertGreaterEqual(cockpit["late_days"], (TODAY - date(2026, 8, 31)).days)

    def test_counts_follow_the_books_and_urssaf(self):
        """Counted when read: estimating October moves it from one tile to the other."""
        before = self._cockpit("preparer")
        self.october.with_user(self.users["preparer"]).action_estimate()
        after = self._cockpit("preparer")
        self.assertEqual(after["to_estimate_count"], before["to_estimate_count"] - 1)
        self.assertEqual(after["to_declare_count"], before["to_declare_count"] + 1)

    def test_another_company_counts_only_its_own(self):
        """Company B's declarant: its own cockpit counts its own draft, and
        company A's cockpit is out of reach."""
        cockpit_b = self._cockpit("declarant_b")
        self.assertEqual(cockpit_b["company_id"][0], self.company_b.id)
        self.assertEqual(cockpit_b["to_estimate_count"], 1)
        self.assertEqual(cockpit_b["late_count"], 0)
        self.assertEqual(cockpit_b["no_mandate_count"], 0)
        _action, ids = self._tile("declarant_b", cockpit_b, "to_estimate")
        self.assertEqual(ids, self.other_company_declaration.ids)
        cockpit_a = self._cockpit("preparer")
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self.rpc("declarant_b", "urssaf.cockpit", "read", [[cockpit_a["id"]], ["late_count"]])
        self.assertIn("doesn't have 'read' access", caught.exception.faultString)
        with self.assertRaises(xmlrpc.client.Fault):
            self.rpc(
                "declarant_b",
                "urssaf.cockpit",
                "action_open_tile",
                [[cockpit_a["id"]]],
                {"context": {"urssaf_tile": "late"}},
            )

    def _filter_domain(self, role, model, name):
        """The domain of the search view's filter ``name``, as the web client evaluates it today."""
        views = self.rpc(role, model, "get_views", [[[False, "search"]]])
        arch = etree.fromstring(views["views"]["search"]["arch"])
        [node] = arch.xpath(f"//filter[@name='{name}']")
        today = date.today()
        return safe_eval(node.get("domain"), {"context_today": lambda: today, "relativedelta": relativedelta})

    def test_list_filters_select_the_tiles_records(self):
        cockpit = self._cockpit("preparer")
        for model, name, tile in (
            ("urssaf.declaration", "late", "late"),
            ("urssaf.declaration", "due_soon", "due_soon"),
            ("urssaf.account", "no_mandate", "no_mandate"),
            ("urssaf.account", "no_sepa_mandate", "no_sepa_mandate"),
        ):
            with self.subTest(filter=name):
                domain = self._filter_domain("preparer", model, name)
                filtered = self.rpc("preparer", model, "search", [[*domain, ("company_id", "=", self.company_a.id)]])
                if model == "urssaf.account":
                    filtered = self.rpc("preparer", model, "search", [[("id", "in", filtered)] + _AE])
                _action, ids = self._tile("preparer", cockpit, tile)
                self.assertEqual(sorted(filtered), sorted(ids))
                self.assertTrue(ids, f"{name}: an empty filter proves nothing")
        # The contacts' filter: the same auto-entrepreneurs.
        domain = self._filter_domain("preparer", "res.partner", "urssaf_no_mandate")
        partners = self.rpc("preparer", "res.partner", "search", [domain])
        mine = self.trader | self.craftsman | self.liberal | self.ineligible
        self.assertEqual(set(partners) & set(mine.ids), {self.liberal.id, self.ineligible.id})

    def test_days_late_in_the_list(self):
        records = self.rpc(
            "preparer",
            "urssaf.declaration",
            "read",
            [(self.july | self.october | self.september).ids, ["days_late", "due_date"]],
        )
        late = {record["id"]: record["days_late"] for record in records}
        self.assertEqual(late[self.july.id], 88)
        self.assertEqual(late[self.october.id], 0)
        self.assertEqual(late[self.september.id], (TODAY - self.september.due_date).days)
        arch = self.rpc("preparer", "urssaf.declaration", "get_views", [[[False, "list"]]])["views"]["list"]["arch"]
        [due] = etree.fromstring(arch).xpath("//field[@name='due_date']")
        self.assertEqual(due.get("decoration-danger"), "days_late > 0")

    def test_menu_opens_the_cockpit_first(self):
        root = self.env.ref("l10n_fr_urssaf_tierce_declaration.menu_urssaf_root")
        menus = self.env["ir.ui.menu"].with_user(self.users["preparer"]).search([("parent_id", "=", root.id)])
        self.assertEqual(menus[:1], self.env.ref("l10n_fr_urssaf_tierce_declaration.menu_urssaf_cockpit"))
        action = self.env.ref("l10n_fr_urssaf_tierce_declaration.action_urssaf_cockpit")
        result = action.with_user(self.users["preparer"]).run()
        self.assertEqual(result["res_model"], "urssaf.cockpit")

    def test_browser_opens_the_late_list_from_the_cockpit(self):
        """In the web client: the menu's cockpit renders, and its Late tile
        opens the late declarations."""
        late = self._cockpit("preparer")["late_count"]
        self.assertTrue(late)
        code = f"const expected = {late};" + LATE_TILE_JS
        self.browser_js(
            "/odoo/action-l10n_fr_urssaf_tierce_declaration.action_urssaf_cockpit",
            code,
            login=self.users["preparer"].login,
        )
