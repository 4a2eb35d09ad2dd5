/**
 * The declarant, working in French, registers with Urssaf the two mandates an
 * auto-entrepreneur signed in the portal, then declares and pays its last
 * ended period.
 *
 * Prepared by tests/test_portal_tour.py: the auto-entrepreneur "Lucas BERNARD"
 * (the embedded sandbox's quarterly_craftsman_moselle) who signed both
 * mandates in the portal (tour portal_mandate_tour), and a vendor bill from it
 * paid in the last ended quarter.
 */
import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";
import {
    ADDON,
    clickAndConfirm,
    inState,
    notEmpty,
    openMenu,
    prepareAndEstimate,
    statusButton,
    statusButtonOf,
} from "@l10n_fr_urssaf_tierce_declaration/../tests/tours/urssaf_tour_utils";

const AE = "Lucas BERNARD";
const URSSAF_MENU = `${ADDON}.menu_urssaf_root`;
// The button's French label (i18n/fr.po: "Register with Urssaf").
const REGISTER_FR = "Enregistrer auprès de";

/** Open the auto-entrepreneur's mandate signed in the portal and register it. */
function registerSigned(menu, content, reference) {
    return [
        ...openMenu(URSSAF_MENU, menu, `${content}: open the list`),
        {
            content: `${content}: open the auto-entrepreneur's mandate`,
            trigger: `.o_list_view .o_data_row td[name="partner_id"]:contains(${AE})`,
            run: "click",
        },
        {
            content: `${content}: signed in the portal, not registered yet`,
            trigger: inState("draft"),
        },
        {
            content: `${content}: register it with Urssaf`,
            trigger: `${statusButton("action_register")}:contains(${REGISTER_FR})`,
            run: "click",
        },
        {
            content: `${content}: active`,
            trigger: inState("active"),
        },
        {
            content: `${content}: Urssaf gave its reference`,
            trigger: notEmpty(reference),
        },
    ];
}

registry.category("web_tour.tours").add(`${ADDON}.portal_declarant_tour`, {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("account.menu_finance", "Open Invoicing"),
        ...registerSigned(`${ADDON}.menu_urssaf_mandates`, "Tierce-déclaration mandate", "urssaf_mandate_ref"),
        ...registerSigned(`${ADDON}.menu_urssaf_sepa_mandates`, "SEPA mandate", "rum"),
        // The declaration of the last ended period.
        ...prepareAndEstimate(AE),
        // The form's Declare and Pay open the list's confirmation, with its figures.
        ...clickAndConfirm(statusButtonOf("o_urssaf_declare"), "Declare"),
        {
            content: "Declared",
            trigger: inState("declared"),
        },
        {
            content: "The Urssaf declaration number is shown",
            trigger: notEmpty("urssaf_number"),
        },
        ...clickAndConfirm(statusButtonOf("o_urssaf_pay"), "Pay"),
        {
            content: "Payment ordered, debited on its debit date",
            trigger: inState("ordered"),
        },
    ],
});
