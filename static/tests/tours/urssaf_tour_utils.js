/**
 * Steps shared by the Urssaf tours.
 *
 * The tours run in French as well as in English: no step depends on a
 * translated label. Fields, buttons, pages and menus are found by their
 * technical names, statuses by their values.
 */

export const ADDON = "l10n_fr_urssaf_tierce_declaration";
const SCREENSHOT_PREFIX = "urssaf-screenshot:";

/** The test sets this cookie when it wants the screenshots of the README. */
function screenshotsWanted() {
    return document.cookie.split(";").some((cookie) => cookie.trim() === "urssaf_screenshots=1");
}

/** A field of the form (or of the dialog's form) by its technical name. */
export function field(name) {
    return `.o_form_view div.o_field_widget[name="${name}"]`;
}

/** A visible, enabled button of the form's status bar by its method name. */
export function statusButton(method) {
    return `.o_form_statusbar .o_statusbar_buttons button[name="${method}"]:enabled`;
}

/** A visible, enabled button of the form's status bar by its class (buttons opening an action). */
export function statusButtonOf(className) {
    return `.o_form_statusbar .o_statusbar_buttons button.${className}:enabled`;
}

/** The status bar shows the record in ``state``. */
export function inState(state) {
    return `.o_form_statusbar .o_statusbar_status button.o_arrow_button_current[data-value="${state}"]`;
}

/** A read-only field that shows a value. */
export function notEmpty(name) {
    return `${field(name)} span:not(:empty)`;
}

/**
 * Open a menu of the current app by the XML ids of its section and item.
 *
 * A section that does not fit in the navigation bar (longer labels in French)
 * is under the "More" menu: its items are found there.
 */
export function openMenu(section, item, content) {
    const toggle = `.o_menu_sections button[data-menu-xmlid="${section}"]`;
    return [
        {
            content: `${content}: open the menu`,
            // The app's sections are drawn once the app is open.
            trigger: `${toggle}, .o_menu_sections_more button`,
            async run({ click }) {
                await click(document.querySelector(toggle) || ".o_menu_sections_more button");
            },
        },
        {
            content,
            trigger: `.o-dropdown--menu .dropdown-item[data-menu-xmlid="${item}"]`,
            run: "click",
        },
    ];
}

/** Pick a choice of a selection field by its position (labels are translated). */
export function selectChoice(name, index, content) {
    return [
        {
            content: `${content}: open the choices`,
            trigger: `${field(name)} .o_select_menu_toggler`,
            run: "click",
        },
        {
            content,
            trigger: `.o_select_menu_menu .o_select_menu_item[data-choice-index="${index}"]`,
            run: "click",
        },
    ];
}

/**
 * Pick a record in a many2one field among the answers to ``search``; an empty
 * ``search`` lists the first records in their order.
 */
export function selectRecord(name, search, choice, content) {
    const input = `${field(name)} input`;
    const steps = search
        ? [{ content: `${content}: search`, trigger: input, run: `edit ${search}` }]
        : [
              { content: `${content}: focus`, trigger: input, run: "click" },
              // Opens the list if the click did not (or moves in it if it did).
              { content: `${content}: list`, trigger: input, run: "press ArrowDown" },
          ];
    return [
        ...steps,
        {
            content,
            // While the answers load, the list holds one placeholder item
            // ("Loading...") of the same class: clicking it selects nothing.
            // Wait for the real answers.
            trigger: `.o-autocomplete--dropdown-menu:not(:has(.o_loading)) .o-autocomplete--dropdown-item${choice} a`,
            run: "click",
        },
        {
            content: `${content}: chosen`,
            trigger: `${input}:value(/\\S/)`,
        },
    ];
}

/** Click a button that asks for a confirmation, then confirm. */
export function clickAndConfirm(trigger, content) {
    return [
        { content, trigger, run: "click" },
        {
            content: `${content}: confirm`,
            trigger: ".modal:not(.o_inactive_modal) .modal-footer button.btn-primary",
            run: "click",
        },
    ];
}

/**
 * Take a screenshot for the README when the test asks for them.
 *
 * The test's browser saves the page when it reads the console message, then
 * marks the body: the tour waits for that mark before it goes on.
 */
export function screenshot(name, trigger) {
    if (!screenshotsWanted()) {
        return [];
    }
    return [
        {
            content: `Screenshot ${name}`,
            trigger,
            async run({ waitUntil }) {
                // The page alone: no notification, no focus ring.
                for (const close of document.querySelectorAll(".o_notification_close")) {
                    close.click();
                }
                document.activeElement?.blur();
                await waitUntil(() => !document.querySelector(".o_notification"));
                await new Promise((resolve) => setTimeout(resolve, 500));
                console.log(`${SCREENSHOT_PREFIX}${name}`);
                await waitUntil(() => document.body.dataset.urssafScreenshot === name, {
                    timeout: 20000,
                });
            },
        },
    ];
}

/**
 * Prepare the declarations with the wizard (``whileProposed``: steps run while
 * the wizard proposes the auto-entrepreneur), open the auto-entrepreneur's
 * declaration and have Urssaf estimate it.
 */
export function prepareAndEstimate(autoEntrepreneur, whileProposed = []) {
    return [
        ...openMenu(`${ADDON}.menu_urssaf_root`, `${ADDON}.menu_urssaf_prepare`, "Prepare the declarations"),
        {
            content: "Every auto-entrepreneur of the company is proposed",
            trigger: `.modal ${field("scope")} input[data-value="all"]:checked`,
        },
        ...whileProposed,
        {
            content: "Prepare",
            trigger: '.modal button[name="action_prepare"]',
            run: "click",
        },
        {
            content: "Open the declarations prepared",
            trigger: '.modal button[name="action_open_declarations"]',
            run: "click",
        },
        {
            content: "Open the auto-entrepreneur's declaration",
            trigger: `.o_list_view .o_data_row td[name="partner_id"]:contains(${autoEntrepreneur})`,
            run: "click",
        },
        {
            content: "The turnover computed from the bill paid",
            trigger: `${field("line_ids")} .o_data_row`,
        },
        {
            content: "Estimate",
            trigger: statusButton("action_estimate"),
            run: "click",
        },
        {
            content: "Urssaf's estimate",
            trigger: inState("estimated"),
        },
    ];
}
