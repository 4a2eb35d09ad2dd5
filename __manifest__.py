# Copyright 2026 The l10n_fr_urssaf_tierce_declaration authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "France - Urssaf tierce déclaration auto-entrepreneur",
    "summary": "Declare and pay the Urssaf contributions of auto-entrepreneurs from the invoices posted in Odoo",
    "version": "19.0.1.1.0",
    "category": "Accounting/Localizations",
    "license": "LGPL-3",
    "author": "l10n_fr_urssaf_tierce_declaration authors",
    "website": "https://github.com/l10n-fr-urssaf/l10n_fr_urssaf_tierce_declaration",
    "depends": ["account", "mail"],
    "external_dependencies": {
        "python": ["requests", "requests-oauthlib", "python-stdnum", "holidays"],
    },
    "data": [
        "security/urssaf_security.xml",
        "security/ir.model.access.csv",
        "data/urssaf_activity_category_data.xml",
        "data/ir_cron_data.xml",
        "data/ir_cron_declaration_data.xml",
        "views/urssaf_account_views.xml",
        "views/res_partner_views.xml",
        "views/urssaf_mandate_views.xml",
        "views/urssaf_sepa_mandate_views.xml",
        "views/product_template_views.xml",
        "wizards/urssaf_declaration_send_views.xml",
        "views/urssaf_declaration_views.xml",
        "views/urssaf_declaration_environment_views.xml",
        "wizards/urssaf_declaration_prepare_views.xml",
        "data/urssaf_declaration_actions.xml",
        "views/urssaf_register_line_views.xml",
        "report/urssaf_register_report.xml",
        "views/urssaf_menus.xml",
        "views/urssaf_run_views.xml",
        "views/res_config_settings_views.xml",
        "wizards/urssaf_environment_change_views.xml",
    ],
    "demo": [
        "demo/urssaf_demo.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "l10n_fr_urssaf_tierce_declaration/static/tests/tours/*.js",
        ],
    },
    "uninstall_hook": "uninstall_hook",
}
