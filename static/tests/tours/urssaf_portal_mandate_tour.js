/**
 * An auto-entrepreneur, working in French, signs its tierce-déclaration
 * mandate and its SEPA mandate in the portal.
 *
 * Prepared by tests/test_portal_mandate_signature.py: the auto-entrepreneur
 * "Lucas BERNARD" (the embedded sandbox's quarterly_craftsman_moselle), its
 * Urssaf account with the declaring company, and its portal user.
 */
import { registry } from "@web/core/registry";
import { ADDON, screenshot } from "@l10n_fr_urssaf_tierce_declaration/../tests/tours/urssaf_tour_utils";

const AE = "Lucas BERNARD";
const SIGNER = "Lucas Bernard";
const IBAN = "FR14 2004 1010 0505 0001 3M02 606";
const IBAN_BAD_KEY = "FR14 2004 1010 0505 0001 3M02 607";

/** Sign the document shown with a typed signature, in French
 * (``shot``: the screenshot taken once signed, before sending). */
function signAs(name, content, shot = null) {
    return [
        {
            content: `${content}: the signature form speaks French`,
            trigger: ".o_web_sign_name_group label:contains(Nom complet)",
        },
        {
            content: `${content}: type the signer's name`,
            trigger: ".o_web_sign_name_and_signature input.o_web_sign_name_input",
            run: `edit ${name}`,
        },
        {
            content: `${content}: the typed signature is drawn`,
            trigger: "canvas.o_web_sign_signature",
            run: "canvasNotEmpty",
        },
        ...(shot ? screenshot(shot, ".o_portal_sign_submit:enabled") : []),
        {
            content: `${content}: sign`,
            trigger: ".o_portal_sign_submit:enabled",
            run: "click",
            expectUnloadPage: true,
        },
    ];
}

registry.category("web_tour.tours").add(`${ADDON}.portal_mandate_tour`, {
    url: "/my/urssaf/mandate",
    steps: () => [
        {
            content: "The page of the mandates given to the declaring company",
            trigger: ".o_urssaf_mandate_page",
        },
        {
            content: "Read the tierce-déclaration mandate",
            trigger: "a.o_urssaf_sign_mandate",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The mandate names the auto-entrepreneur",
            trigger: `.o_urssaf_mandate_text .o_urssaf_principal_name:contains(${AE})`,
        },
        ...signAs(SIGNER, "Tierce-déclaration mandate", "portal_mandate_sign"),
        {
            content: "The mandate is signed and waits for its registration",
            trigger: ".o_urssaf_signed",
        },
        {
            trigger: ".o_urssaf_mandate_state[data-state=draft]",
        },
        {
            content: "Give a SEPA mandate",
            trigger: "a.o_urssaf_sign_sepa",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Type an IBAN with a wrong key",
            trigger: "input[name=iban]",
            run: `edit ${IBAN_BAD_KEY}`,
        },
        {
            content: "Go on",
            trigger: ".o_urssaf_sepa_next",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The IBAN is refused, the field named",
            trigger: ".o_urssaf_sepa_error:contains(IBAN)",
        },
        {
            content: "Type the right IBAN",
            trigger: "input[name=iban]",
            run: `edit ${IBAN}`,
        },
        {
            content: "The holder's name",
            trigger: "input[name=holder]",
            run: `edit ${SIGNER}`,
        },
        {
            content: "Read the SEPA mandate",
            trigger: ".o_urssaf_sepa_next",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The SEPA mandate shows the IBAN masked",
            trigger: ".o_urssaf_sepa_mandate_text .o_urssaf_iban_masked:contains(****2606)",
        },
        ...signAs(SIGNER, "SEPA mandate"),
        {
            content: "The SEPA mandate is signed and waits for its registration",
            trigger: ".o_urssaf_sepa_signed",
        },
        {
            trigger: ".o_urssaf_sepa_table .o_urssaf_iban_masked:contains(****2606)",
        },
        {
            trigger: ".o_urssaf_sepa_state[data-state=draft]",
        },
    ],
});
