/**
 * The accountant's morning, in French (issue 27): the cockpit, the late
 * declarations it counts, one of them declared from the list after the
 * confirmation's figures, its deadline to-do closed.
 *
 * Prepared by tests/test_tours.py (TestMorningTour) on the records of
 * tests/accountant_day.py: the trader's August declaration, estimated and
 * late since 30 September, with a deadline to-do; July in error, September
 * declared and unpaid, both late too.
 *
 * The steps look for French labels where they target text: they pass only
 * if the web client speaks French (Odoo's terms and the addon's i18n/fr.po).
 */
import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";
import {
    ADDON,
    field,
    inState,
    openMenu,
    screenshot,
} from "@l10n_fr_urssaf_tierce_declaration/../tests/tours/urssaf_tour_utils";

// The August declaration: its period's start in the French format, as the
// list shows it (the day and month of the current year) and in its name.
const AUGUST = "01/08/2026";
const LATE_ROW = '.o_list_view .o_data_row:has(td[name="period_start"]:text(1 août))';
const LATE_TILE = ".o_urssaf_cockpit a:has(span:contains(En retard))";
const CONFIRMATION = `.modal:not(.o_inactive_modal) ${field("summary")}`;

/** Throw (failing the tour) unless ``condition``. */
function check(condition, message) {
    if (!condition) {
        throw new Error(message);
    }
}

let lateCount = 0;

registry.category("web_tour.tours").add(`${ADDON}.morning_tour`, {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("account.menu_finance", "Ouvrir la facturation"),
        ...openMenu(`${ADDON}.menu_urssaf_root`, `${ADDON}.menu_urssaf_cockpit`, "Open the cockpit"),
        {
            content: "The cockpit, in French",
            trigger: ".o_urssaf_cockpit:contains(Échéance dans les 7 prochains jours) a:has(span:contains(En retard))",
        },
        ...screenshot("cockpit", LATE_TILE),
        {
            content: "Follow the late declarations",
            trigger: LATE_TILE,
            run({ anchor }) {
                // The count, after the label (late_count, in bold).
                lateCount = parseInt(anchor.lastElementChild.textContent, 10);
                check(lateCount > 0, `the late tile counts ${lateCount}`);
                anchor.click();
            },
        },
        {
            content: "The late declarations, as many as counted",
            trigger: ".o_breadcrumb:contains(Déclarations en retard)",
        },
        {
            content: "The list holds the declarations the tile counted, August's due date in red",
            trigger: `${LATE_ROW} td[name="due_date"].text-danger`,
            run() {
                const rows = document.querySelectorAll(".o_list_view .o_data_row").length;
                check(rows === lateCount, `the late list shows ${rows} rows, the tile said ${lateCount}`);
            },
        },
        {
            content: "Select August's declaration",
            trigger: `${LATE_ROW} .o_list_record_selector input`,
            run: "click",
        },
        {
            content: "Déclarer",
            trigger: ".o_control_panel button:text(Déclarer)",
            run: "click",
        },
        {
            content: "The confirmation names the period, the turnover, the estimate, the delay",
            trigger: `${CONFIRMATION}:contains(cotisations estimées)`,
            run({ anchor }) {
                const text = anchor.textContent;
                for (const expected of [
                    "1 déclaration",
                    "Camille MARTIN",
                    AUGUST,
                    "chiffre d'affaires",
                    "en retard : échéance le",
                ]) {
                    check(text.includes(expected), `the confirmation does not say "${expected}": ${text}`);
                }
                // 2 500,00 €, with the narrow no-break space of French amounts.
                check(/2\s?500,00\s?€/.test(text), `the confirmation does not give the turnover: ${text}`);
            },
        },
        ...screenshot("declare_confirmation", CONFIRMATION),
        {
            content: "Confirm: declare",
            trigger: ".modal:not(.o_inactive_modal) .modal-footer button.btn-primary:text(Déclarer)",
            run: "click",
        },
        {
            content: "Declared",
            trigger: `body:not(:has(.modal)) ${LATE_ROW} td[name="state"]:contains(Déclarée)`,
        },
        {
            content: "Open the declaration",
            trigger: `${LATE_ROW} td[name="partner_id"]`,
            run: "click",
        },
        {
            content: "The declaration is declared",
            trigger: inState("declared"),
        },
        {
            content: "Its deadline to-do is done: no planned activity left, the feedback in the chatter",
            trigger: ".o-mail-Chatter:not(:has(.o-mail-ActivityList)) .o-mail-Message:contains(Déclarée.)",
        },
    ],
});
