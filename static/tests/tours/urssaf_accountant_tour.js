/**
 * An accountant (Urssaf declarant), working in French, takes an
 * auto-entrepreneur from a plain vendor to a paid declaration.
 *
 * Prepared by tests/test_tours.py: the vendor "Camille MARTIN" (the embedded
 * sandbox's monthly_trader), its bank account, and a vendor bill from it paid
 * in the last ended month.
 */
import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";
import {
    ADDON,
    clickAndConfirm,
    field,
    inState,
    notEmpty,
    openMenu,
    prepareAndEstimate,
    screenshot,
    selectChoice,
    selectRecord,
    statusButton,
    statusButtonOf,
} from "@l10n_fr_urssaf_tierce_declaration/../tests/tours/urssaf_tour_utils";

const AE = "Camille MARTIN";
const NIR = "2 88 04 75 111 023 71";
const URSSAF_MENU = `${ADDON}.menu_urssaf_root`;
// A minimal PDF: the document only has to be kept, not read.
const SIGNED_MANDATE = "%PDF-1.4\n% Mandat de tierce déclaration signé par Camille MARTIN\n%%EOF\n";

registry.category("web_tour.tours").add(`${ADDON}.accountant_tour`, {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("account.menu_finance", "Open Invoicing"),
        ...openMenu("account.menu_finance_payables", "account.menu_account_supplier", "Open the vendors"),
        {
            content: "The vendors are listed",
            trigger: `.o_list_view .o_data_row:contains(${AE})`,
        },
        {
            content: "Search the auto-entrepreneur",
            trigger: ".o_searchview_input",
            run: `edit ${AE}`,
        },
        {
            content: "Search it by name",
            trigger: ".o_searchview_autocomplete .o-dropdown-item.focus",
        },
        {
            trigger: ".o_searchview_input",
            run: "press Enter",
        },
        {
            trigger: `.o_searchview_facet:contains(${AE})`,
        },
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
            content: "Flag the partner as auto-entrepreneur",
            trigger: `${field("urssaf_is_auto_entrepreneur")} input`,
            run: "check",
        },
        // The choices in the order of the selection: SIRET, NIR.
        ...selectChoice("urssaf_identifier_type", 1, "Identified at Urssaf by its NIR"),
        {
            content: "Type the NIR (declarants only)",
            trigger: `${field("urssaf_nir_formatted")} input`,
            run: `edit ${NIR}`,
        },
        // The categories in their order: sales of goods first.
        ...selectRecord("urssaf_category_id", "", ":first", "Default category: sales of goods"),
        // The trades in the order of the selection: trader first.
        ...selectChoice("urssaf_trade", 0, "Trade: trader"),
        ...stepUtils.saveForm(),
        {
            content: "Check the Urssaf account",
            trigger: 'button[name="action_urssaf_check_account"]:enabled',
            run: "click",
        },
        {
            content: "Urssaf says it is eligible",
            trigger: `${field("urssaf_account_state")} .badge.text-bg-success`,
        },
        {
            content: "Urssaf gave its periodicity",
            trigger: notEmpty("urssaf_periodicity"),
        },
        ...screenshot("partner", notEmpty("urssaf_periodicity")),

        // The tierce-déclaration mandate, with the document it signed.
        ...openMenu(URSSAF_MENU, `${ADDON}.menu_urssaf_mandates`, "Open the Urssaf mandates"),
        {
            content: "New mandate",
            trigger: ".o_control_panel_main_buttons button.o_list_button_add",
            run: "click",
        },
        ...selectRecord("partner_id", "Camille", `:contains(${AE})`, "Mandate of the auto-entrepreneur"),
        {
            content: "Attach the signed mandate",
            trigger: `${field("document")} .o_select_file_button`,
            async run() {
                const input = document.querySelector(`${field("document")} input.o_input_file`);
                const transfer = new DataTransfer();
                transfer.items.add(
                    new File([SIGNED_MANDATE], "mandat_signe.pdf", { type: "application/pdf" })
                );
                input.files = transfer.files;
                input.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        {
            content: "The signed mandate is attached",
            trigger: `${field("document")} .o_clear_file_button`,
        },
        ...stepUtils.saveForm(),
        {
            content: "Register the mandate with Urssaf",
            trigger: statusButton("action_register"),
            run: "click",
        },
        {
            content: "The mandate is active",
            trigger: inState("active"),
        },
        {
            content: "Urssaf gave its mandate id",
            trigger: notEmpty("urssaf_mandate_ref"),
        },
        ...screenshot("mandate", notEmpty("urssaf_mandate_ref")),

        // The SEPA mandate on the auto-entrepreneur's IBAN.
        ...openMenu(URSSAF_MENU, `${ADDON}.menu_urssaf_sepa_mandates`, "Open the SEPA mandates"),
        {
            content: "New SEPA mandate",
            trigger: ".o_control_panel_main_buttons button.o_list_button_add",
            run: "click",
        },
        ...selectRecord("partner_id", "Camille", `:contains(${AE})`, "SEPA mandate of the auto-entrepreneur"),
        {
            content: "Its bank account is proposed",
            trigger: `${field("bank_account_id")} input:value(7890 143)`,
        },
        {
            content: "Its name as the holder",
            trigger: `${field("holder")} input:value(${AE})`,
        },
        ...stepUtils.saveForm(),
        {
            content: "Register the SEPA mandate with Urssaf",
            trigger: statusButton("action_register"),
            run: "click",
        },
        {
            content: "The SEPA mandate is active",
            trigger: inState("active"),
        },
        {
            content: "Urssaf gave its reference (RUM)",
            trigger: notEmpty("rum"),
        },

        // The declarations of the last ended period.
        ...prepareAndEstimate(AE, screenshot("prepare_wizard", `.modal ${field("company_partner_count_label")}`)),
        {
            content: "Open the estimate page",
            trigger: '.o_notebook_headers a[name="estimate"]',
            run: "click",
        },
        {
            content: "The contributions Urssaf estimated",
            trigger: `${field("estimated_contribution_ids")} .o_data_row`,
        },
        ...screenshot("declaration_estimated", `${field("estimated_contribution_ids")} .o_data_row`),
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
            // Paid on its debit date: ordered until then.
            content: "Payment ordered",
            trigger: `${inState("ordered")}, ${inState("paid")}`,
        },
        {
            content: "Open the payment page",
            trigger: '.o_notebook_headers a[name="payment"]',
            run: "click",
        },
        {
            content: "The payment reference is shown",
            trigger: notEmpty("payment_reference"),
        },
        ...screenshot("declaration_paid", notEmpty("payment_reference")),
        ...openMenu(URSSAF_MENU, `${ADDON}.menu_urssaf_declarations`, "Back to the declarations"),
        {
            content: "The declaration is listed, payment ordered or paid",
            trigger: [".text-bg-info", ".text-bg-success"]
                .map(
                    (badge) =>
                        `.o_list_view .o_data_row:has(td[name="partner_id"]:contains(${AE})) td[name="state"] .badge${badge}`
                )
                .join(", "),
        },
    ],
});
