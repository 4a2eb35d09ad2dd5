# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from .res_company import URSSAF_ENVIRONMENTS, URSSAF_SETTINGS_FIELDS, URSSAF_SETTINGS_GROUP


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # Not related fields: a related field writes the company field by field,
    # and the company validates the settings as a whole (an environment
    # needs its client ID). get_values() reads them from the company and
    # set_values() writes them back in one write.
    urssaf_environment = fields.Selection(
        URSSAF_ENVIRONMENTS, string="Urssaf environment", groups=URSSAF_SETTINGS_GROUP
    )
    urssaf_auto_declare = fields.Boolean(string="Declare automatically", groups=URSSAF_SETTINGS_GROUP)
    urssaf_auto_declare_days = fields.Integer(
        string="Declare automatically from (days before the deadline)", groups=URSSAF_SETTINGS_GROUP
    )
    urssaf_reminder_days = fields.Integer(
        string="Remind the accountant (days before the deadline)", groups=URSSAF_SETTINGS_GROUP
    )
    urssaf_responsible_user_id = fields.Many2one(
        "res.users", string="Responsible accountant", groups=URSSAF_SETTINGS_GROUP
    )
    urssaf_auto_register_mandates = fields.Boolean(
        string="Register the mandates signed online automatically", groups=URSSAF_SETTINGS_GROUP
    )
    urssaf_client_id = fields.Char(string="Urssaf client ID", groups=URSSAF_SETTINGS_GROUP)
    urssaf_scope = fields.Char(string="Urssaf scope", groups=URSSAF_SETTINGS_GROUP)
    urssaf_base_url = fields.Char(string="Urssaf base URL", groups=URSSAF_SETTINGS_GROUP)
    urssaf_api_base_path = fields.Char(string="Urssaf API base path", groups=URSSAF_SETTINGS_GROUP)
    urssaf_connect_timeout = fields.Float(string="Urssaf connection time-out (s)", groups=URSSAF_SETTINGS_GROUP)
    urssaf_timeout = fields.Float(string="Urssaf time-out (s)", groups=URSSAF_SETTINGS_GROUP)
    urssaf_post_contributions = fields.Boolean(string="Post the Urssaf contributions", groups=URSSAF_SETTINGS_GROUP)
    urssaf_contribution_basis = fields.Selection(
        [("accrual", "When declared (accrual)"), ("cash", "When paid (cash basis)")],
        string="Contributions booked",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_contribution_journal_id = fields.Many2one(
        "account.journal",
        string="Urssaf contributions journal",
        domain="[('type', '=', 'general'), ('company_id', '=', company_id)]",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_contribution_account_id = fields.Many2one(
        "account.account",
        string="Urssaf contributions expense account",
        domain="[('company_ids', 'in', company_id)]",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_income_tax_account_id = fields.Many2one(
        "account.account",
        string="Versement libératoire account",
        domain="[('company_ids', 'in', company_id)]",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_payable_account_id = fields.Many2one(
        "account.account",
        string="Urssaf payable account",
        domain="[('company_ids', 'in', company_id), ('reconcile', '=', True)]",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_parallel_calls = fields.Integer(string="Urssaf calls in parallel", groups=URSSAF_SETTINGS_GROUP)
    urssaf_job_queue = fields.Boolean(
        string="Share the scheduled run through the job queue", groups=URSSAF_SETTINGS_GROUP
    )
    urssaf_queue_job_installed = fields.Boolean(compute="_compute_urssaf_queue_job_installed")
    urssaf_books_reader_ids = fields.Many2many(
        "res.company",
        "urssaf_settings_books_reader_rel",
        "settings_id",
        "reader_company_id",
        string="Companies declaring from these books",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_fee_account_ids = fields.Many2many(
        "account.account",
        "urssaf_settings_fee_account_rel",
        "settings_id",
        "account_id",
        string="Fees kept by intermediaries",
        domain="[('company_ids', 'parent_of', company_id), ('account_type', 'not in', ('asset_receivable', "
        "'liability_payable', 'asset_cash', 'liability_credit_card', 'off_balance'))]",
        groups=URSSAF_SETTINGS_GROUP,
    )
    # The saved secret is never sent back to the browser: this field is
    # write-only (always empty when the page loads), never stored in the
    # settings table, and only an administrator's non-empty input replaces
    # the company's secret.
    urssaf_client_secret_input = fields.Char(
        string="New Urssaf client secret",
        compute="_compute_urssaf_client_secret_input",
        inverse="_inverse_urssaf_client_secret_input",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_client_secret_is_set = fields.Boolean(
        string="Urssaf client secret saved",
        compute="_compute_urssaf_client_secret_is_set",
        groups=URSSAF_SETTINGS_GROUP,
    )

    @api.model
    def get_values(self):
        values = super().get_values()
        company = self.env.company
        values.update(
            {
                fname: company._fields[fname].convert_to_write(company[fname], company)
                for fname in URSSAF_SETTINGS_FIELDS
            }
        )
        return values

    @api.onchange("urssaf_post_contributions")
    def _onchange_urssaf_post_contributions(self):
        """Turned on: propose the company's chart defaults for what is empty."""
        if self.urssaf_post_contributions:
            for fname, record in self.company_id._urssaf_books_defaults().items():
                if not self[fname]:
                    self[fname] = record

    def _compute_urssaf_queue_job_installed(self):
        self.urssaf_queue_job_installed = "queue.job" in self.env

    def _compute_urssaf_client_secret_input(self):
        self.urssaf_client_secret_input = False

    def _inverse_urssaf_client_secret_input(self):
        for settings in self:
            if settings.urssaf_client_secret_input:
                settings.company_id.sudo().urssaf_client_secret = settings.urssaf_client_secret_input.strip()

    @api.depends("company_id")
    def _compute_urssaf_client_secret_is_set(self):
        for settings in self:
            settings.urssaf_client_secret_is_set = bool(settings.company_id.sudo().urssaf_client_secret)

    def _urssaf_company_changes(self):
        """The company's Urssaf settings these settings change."""
        self.ensure_one()
        return {
            fname: self._fields[fname].convert_to_write(self[fname], self)
            for fname in URSSAF_SETTINGS_FIELDS
            if self[fname] != self.company_id[fname]
        }

    def set_values(self):
        result = super().set_values()
        for settings in self:
            changes = settings._urssaf_company_changes()
            if changes:
                settings.company_id.write(changes)
        return result

    def execute(self):
        """Saving a new environment while declarations are declared but not
        paid asks for confirmation first (the company refuses the change
        otherwise): the confirmation wizard saves the settings."""
        self.ensure_one()
        company = self.company_id
        if (
            self.urssaf_environment
            and self.urssaf_environment != company.urssaf_environment
            and company._urssaf_declared_unpaid(self.urssaf_environment)
        ):
            wizard = self.env["urssaf.environment.change"].create(
                {"company_id": company.id, "environment": self.urssaf_environment, "settings_id": self.id}
            )
            return wizard._action_open()
        return super().execute()

    def action_urssaf_test_connection(self):
        """Save the settings, then ask Urssaf for a token with them."""
        self.ensure_one()
        saved = self.execute()
        if isinstance(saved, dict) and saved.get("res_model") == "urssaf.environment.change":
            # Nothing saved yet: the change of environment is confirmed first.
            return saved
        message = self.company_id._urssaf_test_connection()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Urssaf connection"),
                "message": message,
                "type": "success",
                "sticky": False,
            },
        }
