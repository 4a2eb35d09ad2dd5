/**
 * A preparer (Urssaf preparer group only) prepares and estimates the
 * declaration of an auto-entrepreneur, and is never offered to declare it.
 *
 * Prepared by tests/test_tours.py: "Lucas BERNARD" (the embedded sandbox's
 * quarterly_craftsman_moselle), checked at Urssaf with an active mandate by a
 * declarant, and a vendor bill from it paid in the last ended quarter.
 */
import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";
import {
    ADDON,
    field,
    inState,
    openMenu,
    prepareAndEstimate,
} from "@l10n_fr_urssaf_tierce_declaration/../tests/tours/urssaf_tour_utils";

const AE = "Lucas BERNARD";
const URSSAF_MENU = `${ADDON}.menu_urssaf_root`;

registry.category("web_tour.tours").add(`${ADDON}.preparer_tour`, {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("account.menu_finance", "Open Invoicing"),
        ...openMenu(
            URSSAF_MENU,
            `${ADDON}.menu_urssaf_auto_entrepreneurs`,
            "Open the auto-entrepreneurs"
        ),
        {
            content: "Open the auto-entrepreneur",
            trigger: `.o_list_view .o_data_row:contains(${AE}) .o_data_cell:first`,
            run: "click",
        },
        {
            content: "Open the Urssaf page",
            trigger: '.o_notebook_headers a[name="urssaf"]',
            run: "click",
        },
        {
            content: "Its account was checked by a declarant",
            trigger: `${field("urssaf_account_state")} .badge.text-bg-success`,
        },
        {
            content: "A preparer neither calls Urssaf from the partner nor sees a NIR",
            trigger:
                '.o_form_view:not(:has(button[name="action_urssaf_check_account"]))' +
                ':not(:has(div[name="urssaf_nir_formatted"]))',
        },

        ...openMenu(URSSAF_MENU, `${ADDON}.menu_urssaf_mandates`, "Open the Urssaf mandates"),
        {
            content: "Open the auto-entrepreneur's mandate",
            trigger: `.o_list_view .o_data_row td[name="partner_id"]:contains(${AE})`,
            run: "click",
        },
        {
            content: "The mandate is active",
            trigger: inState("active"),
        },
        {
            content: "A preparer cannot end it",
            trigger: '.o_form_view:not(:has(button[name="action_end"]))',
        },

        ...prepareAndEstimate(AE),
        {
            content: "A preparer is not offered to declare nor to pay",
            trigger:
                '.o_form_view:has(.o_form_statusbar button[name="action_estimate"])' +
                ':not(:has(button.o_urssaf_declare)):not(:has(button.o_urssaf_pay))',
        },
    ],
});
