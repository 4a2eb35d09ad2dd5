/**
 * The auto-entrepreneur, working in French, finds in its portal space the
 * declaration made and paid in its name: its period, turnover, contributions,
 * debit amount and date, then its register of the year.
 *
 * Prepared by tests/test_portal_tour.py, which gives in the cookie
 * ``urssaf_portal_expect`` what the pages must show, formatted as they show
 * it in French (JSON, URI-encoded): the declaration's id, its period, amounts
 * and debit date, and the register's PDF link.
 */
import { registry } from "@web/core/registry";
import { ADDON, screenshot } from "@l10n_fr_urssaf_tierce_declaration/../tests/tours/urssaf_tour_utils";

const COOKIE = "urssaf_portal_expect";

function expected() {
    const cookie = document.cookie
        .split(";")
        .map((part) => part.trim())
        .find((part) => part.startsWith(`${COOKIE}=`));
    if (!cookie) {
        throw new Error(`The test gave no ${COOKIE} cookie`);
    }
    return JSON.parse(decodeURIComponent(cookie.slice(COOKIE.length + 1)));
}

/** The text as read, its spaces (no-break, narrow) as plain spaces. */
function plain(text) {
    return text.replace(/\s+/g, " ").trim();
}

/** A step that checks that ``trigger`` shows each of ``texts``. */
function shows(trigger, texts, content) {
    return {
        content,
        trigger,
        run() {
            const shown = plain(this.anchor.textContent);
            const missing = texts.filter((text) => !shown.includes(plain(text)));
            if (missing.length) {
                throw new Error(`${content}: ${JSON.stringify(missing)} not in ${JSON.stringify(shown)}`);
            }
        },
    };
}

registry.category("web_tour.tours").add(`${ADDON}.portal_space_tour`, {
    url: "/my",
    steps: () => {
        const expect = expected();
        const row = `tr[data-declaration-id="${expect.id}"]`;
        const figures = [expect.period, expect.turnover, expect.contributions, expect.debit, expect.debit_date];
        return [
            {
                content: "The Urssaf entry of the portal home, once its count is known",
                trigger: '.o_portal_index_card:not(.d-none) a[href="/my/urssaf/declarations"]',
                run: "click",
                expectUnloadPage: true,
            },
            shows(row, figures, "The declaration is listed with its figures and its debit date"),
            {
                trigger: `${row} .badge.text-bg-primary`,
            },
            {
                content: "Open the declaration",
                trigger: `${row} a[href="/my/urssaf/declarations/${expect.id}"]`,
                run: "click",
                expectUnloadPage: true,
            },
            {
                content: "Its contributions, line by line",
                trigger: "#urssaf_portal_declaration .urssaf_portal_contribution",
            },
            {
                content: "Its turnover by category",
                trigger: "#urssaf_portal_declaration .urssaf_portal_turnover_line",
            },
            shows("#urssaf_portal_declaration", figures, "The declaration shows its figures and its debit date"),
            ...screenshot("portal_declaration", "#urssaf_portal_declaration .urssaf_portal_contribution"),
            {
                content: "Open the registers",
                trigger: '#urssaf_portal_nav a[href="/my/urssaf/registers"]',
                run: "click",
                expectUnloadPage: true,
            },
            {
                content: "The register of the year, to download as a PDF",
                trigger: `#urssaf_portal_nav a.active[href="/my/urssaf/registers"]`,
            },
            {
                trigger: `a[href="${expect.register_pdf}"]`,
            },
        ];
    },
});
