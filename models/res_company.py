# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL

from ..urssaf_api.client import TokenCache, UrssafClient
from ..urssaf_api.exceptions import UrssafError
from .urssaf_common import field_label, urssaf_error_text

URSSAF_ENVIRONMENTS = [
    ("embedded", "Embedded sandbox"),
    ("sandbox", "Urssaf sandbox"),
    ("production", "Production"),
]
# The company fields the settings page edits, written in one go so that the
# settings are validated together.
URSSAF_SETTINGS_FIELDS = (
    "urssaf_auto_declare",
    "urssaf_auto_declare_days",
    "urssaf_reminder_days",
    "urssaf_responsible_user_id",
    "urssaf_environment",
    "urssaf_client_id",
    "urssaf_scope",
    "urssaf_base_url",
    "urssaf_api_base_path",
    "urssaf_connect_timeout",
    "urssaf_timeout",
    "urssaf_post_contributions",
    "urssaf_contribution_basis",
    "urssaf_contribution_journal_id",
    "urssaf_contribution_account_id",
    "urssaf_income_tax_account_id",
    "urssaf_payable_account_id",
    "urssaf_parallel_calls",
    "urssaf_job_queue",
    "urssaf_books_reader_ids",
    "urssaf_fee_account_ids",
    "urssaf_auto_register_mandates",
)
# The write-off accounts that are fees or commissions an intermediary kept on
# its way (a payment processor, a bank, a platform) in the French chart: 622
# commissions and fees, 627 bank services. What they take is the
# auto-entrepreneur's cost, not less turnover: it was received.
FRENCH_FEE_ACCOUNT_PREFIXES = ("622", "627")
# Most calls a run keeps in flight to Urssaf at once, whatever the setting:
# more would look like an attack to Urssaf's gateway.
MAX_PARALLEL_CALLS = 64
# A scheduled run commits its work every CHUNK_PER_CALL declarations per call
# in flight (MIN_CHUNK at least).
CHUNK_PER_CALL = 5
MIN_CHUNK = 10
# Who reads and writes the Urssaf settings of a company: where the
# declarations and payments go (and with which credentials) is the system
# administrators' decision alone. The addon reads them with sudo() where it
# needs them (API client, scheduled actions, declarations).
URSSAF_SETTINGS_GROUP = "base.group_system"
EMBEDDED_TOKEN_CACHES = {}
URSSAF_HOSTS = {
    "sandbox": "https://api-edi.urssaf.fr",
    "production": "https://api.urssaf.fr",
}
# Urssaf's own domain: a base URL override on https under it is accepted.
URSSAF_DOMAIN = "urssaf.fr"
# Other https hosts a system administrator allows for the base URL override
# (a proxy, a licensee test platform): comma-separated host names.
ALLOWED_HOSTS_PARAM = "l10n_fr_urssaf_tierce_declaration.allowed_hosts"
# scheme://host[:port] only: no user info ("user@host"), no backslash, no
# blank, which parsers read differently.
_NETLOC = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
# The context key of a confirmed environment change (see
# EnvironmentChangeConfirmation).
ENVIRONMENT_CHANGE_CONFIRMED = "urssaf_environment_change_confirmed"


@dataclass(frozen=True)
class EnvironmentChangeConfirmation:
    """Put in the context by the confirmation wizard, as a Python object: no
    RPC client can send one (a context sent over RPC holds plain values), so
    only the wizard's confirmation lets a company change its environment
    while declarations are declared but unpaid."""

    company_ids: frozenset
    environment: str

    def covers(self, company, environment):
        return company.id in self.company_ids and environment == self.environment


def is_loopback_host(host):
    """True for localhost and the loopback addresses (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ResCompany(models.Model):
    _inherit = "res.company"

    urssaf_environment = fields.Selection(
        URSSAF_ENVIRONMENTS,
        string="Urssaf environment",
        default="embedded",
        required=True,
        help="Embedded sandbox: a simulation of the Urssaf API kept in this "
        "database, for demonstrations and training; nothing reaches Urssaf.\n"
        "Urssaf sandbox: Urssaf's test platform (api-edi.urssaf.fr).\n"
        "Production: real declarations and payments (api.urssaf.fr).",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_client_id = fields.Char(
        string="Urssaf client ID",
        copy=False,
        help="OAuth2 client ID given by Urssaf with the API licence.",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_client_secret = fields.Char(
        string="Urssaf client secret",
        copy=False,
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_scope = fields.Char(
        string="Urssaf scope",
        default="tiersdecl.ae",
        required=True,
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_base_url = fields.Char(
        string="Urssaf base URL",
        help="Replaces the host of the Urssaf sandbox or production "
        "environment, e.g. for a test server on this machine. Accepted: https "
        "on urssaf.fr or one of its subdomains, a loopback address (http "
        "allowed there), or an https host a system administrator lists in the "
        "system parameter l10n_fr_urssaf_tierce_declaration.allowed_hosts. "
        "Not used by the embedded sandbox.",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_api_base_path = fields.Char(
        string="Urssaf API base path",
        default="/tiersdecl/v1/ae",
        required=True,
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_connect_timeout = fields.Float(
        string="Urssaf connection time-out (s)",
        default=5.0,
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_timeout = fields.Float(
        string="Urssaf time-out (s)",
        default=30.0,
        help="How long to wait for Urssaf's answer before giving up.",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_parallel_calls = fields.Integer(
        string="Urssaf calls in parallel",
        default=8,
        help="How many calls a run over many declarations (the scheduled action, the buttons on a selection) "
        "keeps in flight to Urssaf at once. Each call waits for the network: several at once declare a "
        "platform's auto-entrepreneurs in a fraction of the time. 1 sends them one after the other.",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_job_queue = fields.Boolean(
        string="Share the scheduled run through the job queue",
        default=True,
        help="When OCA's Job Queue (queue_job) is installed, the scheduled run splits its work into jobs of a "
        "chunk of auto-entrepreneurs on the channel root.urssaf, which every worker of every server shares. "
        "The job runner must be started (see the README). Without queue_job, this setting has no effect.",
        groups=URSSAF_SETTINGS_GROUP,
    )

    urssaf_auto_declare = fields.Boolean(
        string="Declare automatically",
        help="The daily scheduled action estimates and declares the declarations "
        "of ended periods from the chosen number of days before their deadline.",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_auto_declare_days = fields.Integer(
        string="Declare automatically from (days before the deadline)",
        default=10,
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_reminder_days = fields.Integer(
        string="Remind the accountant (days before the deadline)",
        default=7,
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_responsible_user_id = fields.Many2one(
        "res.users",
        string="Responsible accountant",
        help="Reminded of the deadlines of declarations not yet declared.",
        groups=URSSAF_SETTINGS_GROUP,
    )

    urssaf_auto_register_mandates = fields.Boolean(
        string="Register the mandates signed online automatically",
        help="A mandate (tierce déclaration or SEPA) the auto-entrepreneur signs in the portal is registered "
        "with Urssaf at once. Otherwise, or when Urssaf does not register it, it waits for a declarant, with a "
        "to-do for the responsible accountant.",
        groups=URSSAF_SETTINGS_GROUP,
    )

    urssaf_books_reader_ids = fields.Many2many(
        "res.company",
        "urssaf_books_reader_rel",
        "books_company_id",
        "reader_company_id",
        string="Companies declaring from these books",
        help="For an auto-entrepreneur keeping its books in this company: the other companies of the database "
        "(an accounting firm, a platform) allowed to read its invoices, bank and point of sale to declare its "
        "turnover, and to post its Urssaf contributions here. The company itself, its branches and its parent "
        "companies need no authorisation.",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_fee_account_ids = fields.Many2many(
        "account.account",
        "urssaf_fee_account_rel",
        "company_id",
        "account_id",
        string="Fees kept by intermediaries",
        check_company=True,
        help="The accounts a payment's difference is written off to when a payment processor, a bank or a platform "
        "kept a fee or a commission on its way: the debt was settled in full, and the turnover collected is the "
        "gross amount. A difference written off to any other account (a discount, a bad debt) was not received. "
        "French chart: 622 commissions and fees, 627 bank services.",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_post_contributions = fields.Boolean(
        string="Post the Urssaf contributions",
        help="For an auto-entrepreneur keeping its books in this company: an entry books the contributions of "
        "each of its declarations against Urssaf (when declared, or when paid on a cash basis), and the bank "
        "statement line of the SEPA debit is reconciled with it.",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_contribution_basis = fields.Selection(
        [("accrual", "When declared (accrual)"), ("cash", "When paid (cash basis)")],
        string="Contributions booked",
        default="accrual",
        required=True,
        help="When declared: the contributions are a charge from the declaration, dated the declaration day; the "
        "SEPA debit then settles what is owed to Urssaf. When paid: the entry is posted when the payment is "
        "ordered, dated the debit day.",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_contribution_journal_id = fields.Many2one(
        "account.journal",
        string="Urssaf contributions journal",
        check_company=True,
        domain="[('type', '=', 'general')]",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_contribution_account_id = fields.Many2one(
        "account.account",
        string="Urssaf contributions expense account",
        check_company=True,
        help="Social contributions, training contribution and chamber fees (646000 in the French chart).",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_income_tax_account_id = fields.Many2one(
        "account.account",
        string="Versement libératoire account",
        check_company=True,
        help="The income tax paid with the contributions is the owner's, not an expense of the business "
        "(108000, drawings account, in the French chart).",
        groups=URSSAF_SETTINGS_GROUP,
    )
    urssaf_payable_account_id = fields.Many2one(
        "account.account",
        string="Urssaf payable account",
        check_company=True,
        help="What is owed to Urssaf until its SEPA debit (431000 in the French chart); reconcilable.",
        groups=URSSAF_SETTINGS_GROUP,
    )

    @api.model_create_multi
    def create(self, vals_list):
        self._urssaf_check_branch_creation(vals_list)
        companies = super().create(vals_list)
        # Base links a new company to its creator: checked after, for a
        # creator the new company would not be given to.
        if any("urssaf_books_reader_ids" in vals for vals in vals_list):
            companies._urssaf_check_books_sharer()
        return companies

    def write(self, vals):
        if "urssaf_books_reader_ids" in vals:
            # Who may write the field at all first, then whose books.
            self._check_field_access(self._fields["urssaf_books_reader_ids"], "write")
            self._urssaf_check_books_sharer()
        if "urssaf_environment" in vals:
            # Who may change it at all first: the refusal below names declarations.
            self._check_field_access(self._fields["urssaf_environment"], "write")
            self._urssaf_check_environment_change(vals["urssaf_environment"])
        if vals.get("urssaf_post_contributions"):
            # Turned on: what is left empty gets the chart's defaults (each
            # company its own) before the settings are checked.
            self._check_field_access(self._fields["urssaf_post_contributions"], "write")
            if len(self) > 1:
                return all(company.write(vals) for company in self)
            defaults = self._urssaf_books_defaults() if self else {}
            vals = {
                **{fname: record.id for fname, record in defaults.items() if record and not self.sudo()[fname]},
                **vals,
            }
        return super().write(vals)

    # ------------------------------------------------------------------
    # Changing the environment
    # ------------------------------------------------------------------

    def _urssaf_declared_unpaid(self, environment=None):
        """The declarations of these companies declared to Urssaf and not
        paid yet: they can only be paid in the environment they went to.
        With ``environment``, those a switch to it would leave behind (the
        ones declared to it are not)."""
        Declaration = self.env["urssaf.declaration"].sudo()
        domain = [("company_id", "in", self.ids), ("state", "=", "declared")]
        if environment and "urssaf_environment" in Declaration._fields:
            # Declarations stamped by urssaf.environment.mixin; an unstamped one
            # (declared before the stamp existed) counts as left behind.
            domain.append(("urssaf_environment", "!=", environment))
        return Declaration.search(domain, order="due_date, id")

    def _urssaf_environment_change_warning(self, environment, declarations):
        """What changing this company's environment to ``environment`` leaves
        behind: the declarations declared but unpaid, by name."""
        self.ensure_one()
        shown = 20
        names = ", ".join(declarations[:shown].mapped("display_name"))
        if len(declarations) > shown:
            names += self.env._(" and %s more", len(declarations) - shown)
        return self.env._(
            "%(company)s: switching the Urssaf environment from “%(current)s” to “%(new)s” leaves "
            "declarations declared to Urssaf but not paid yet: %(declarations)s. "
            "They can only be paid in the environment they were declared to.",
            company=self.name,
            current=self._urssaf_environment_label(self.sudo().urssaf_environment),
            new=self._urssaf_environment_label(environment),
            declarations=names,
        )

    def _urssaf_check_environment_change(self, environment):
        """Refuse an environment change that strands declared but unpaid
        declarations, unless the confirmation wizard confirmed it."""
        confirmation = self.env.context.get(ENVIRONMENT_CHANGE_CONFIRMED)
        for company in self:
            if company.sudo().urssaf_environment == environment:
                continue
            if isinstance(confirmation, EnvironmentChangeConfirmation) and confirmation.covers(company, environment):
                continue
            declarations = company._urssaf_declared_unpaid(environment)
            if declarations:
                raise UserError(
                    company._urssaf_environment_change_warning(environment, declarations)
                    + " "
                    + self.env._(
                        "Change it from the settings (Accounting > Configuration > Settings, section Urssaf) "
                        "and confirm the change there."
                    )
                )

    @api.constrains(
        "urssaf_environment",
        "urssaf_client_id",
        "urssaf_base_url",
        "urssaf_api_base_path",
        "urssaf_scope",
        "urssaf_timeout",
        "urssaf_connect_timeout",
        "urssaf_auto_declare_days",
        "urssaf_reminder_days",
        "urssaf_parallel_calls",
    )
    def _check_urssaf_settings(self):
        # Read as the system: a user who may not see the Urssaf settings (an
        # "Access rights" administrator creating a company) still gets them
        # checked.
        for company in self.sudo():
            company._urssaf_settings_errors_raise()

    # Issue 27, someone responsible: an unattended run needs a person to
    # own its declarations and to-dos (never OdooBot).
    @api.constrains("urssaf_auto_declare", "urssaf_responsible_user_id")
    def _check_urssaf_responsible(self):
        for company in self.sudo():
            if company.urssaf_auto_declare and not company.urssaf_responsible_user_id:
                raise ValidationError(
                    self.env._(
                        "%(field)s is required to turn on %(auto)s: the declarations of the scheduled runs "
                        "and their deadline to-dos go to that person.",
                        field=company._urssaf_field_label("urssaf_responsible_user_id"),
                        auto=company._urssaf_field_label("urssaf_auto_declare"),
                    )
                )

    def _urssaf_field_label(self, fname):
        """The field's label in the user's language, to name it in errors."""
        return field_label(self, fname)

    def _urssaf_environment_label(self, environment):
        """The name of an environment key in the user's language."""
        return dict(self._fields["urssaf_environment"]._description_selection(self.env))[environment]

    @api.model
    def _urssaf_allowed_hosts(self):
        """The hosts a system administrator allows besides urssaf.fr (system parameter)."""
        value = self.env["ir.config_parameter"].sudo().get_param(ALLOWED_HOSTS_PARAM) or ""
        return {host.strip().lower().rstrip(".") for host in value.split(",") if host.strip()}

    def _urssaf_base_url_error(self):
        """Why the saved base URL override may not be used, as a translated
        message naming the field; None when there is none or it is allowed.

        Allowed: https on urssaf.fr or one of its subdomains, a loopback
        address (http too: a test server on this machine), or https on a host
        listed in the system parameter ``ALLOWED_HOSTS_PARAM``.
        """
        self.ensure_one()
        url = (self.sudo().urssaf_base_url or "").strip()
        if not url:
            return None
        field = self._urssaf_field_label("urssaf_base_url")
        try:
            parts = urlsplit(url)
            port_ok = parts.port is None or parts.port > 0  # .port raises ValueError when out of range
        except ValueError:
            parts, port_ok = None, False
        if (
            not port_ok
            or parts.scheme not in ("https", "http")
            or not parts.hostname
            or not _NETLOC.match(parts.netloc)
            or parts.query
            or parts.fragment
        ):
            return self.env._("%(field)s: “%(url)s” is not a valid URL.", field=field, url=url)
        host = parts.hostname
        if is_loopback_host(host):
            return None
        if parts.scheme != "https":
            return self.env._(
                "%(field)s: “%(url)s” must use https. Plain http is only "
                "accepted on a loopback address such as 127.0.0.1 or localhost.",
                field=field,
                url=url,
            )
        if host == URSSAF_DOMAIN or host.endswith("." + URSSAF_DOMAIN) or host in self._urssaf_allowed_hosts():
            return None
        return self.env._(
            "%(field)s: the host “%(host)s” is not allowed. Use an https address on urssaf.fr "
            "(such as https://api-edi.urssaf.fr), a loopback address for a test server, or ask a "
            "system administrator to add the host to the system parameter %(parameter)s.",
            field=field,
            host=host,
            parameter=ALLOWED_HOSTS_PARAM,
        )

    def _urssaf_settings_errors_raise(self):
        self.ensure_one()
        error = self._urssaf_base_url_error()
        if error:
            raise ValidationError(error)
        if self.urssaf_environment != "embedded" and not (self.urssaf_client_id or "").strip():
            raise ValidationError(
                self.env._(
                    "%(field)s is required for the environment “%(environment)s”.",
                    field=self._urssaf_field_label("urssaf_client_id"),
                    environment=self._urssaf_environment_label(self.urssaf_environment),
                )
            )
        if not (self.urssaf_api_base_path or "").startswith("/"):
            raise ValidationError(
                self.env._(
                    "%(field)s must start with “/”, e.g. /tiersdecl/v1/ae.",
                    field=self._urssaf_field_label("urssaf_api_base_path"),
                )
            )
        if not (self.urssaf_scope or "").strip():
            raise ValidationError(
                self.env._(
                    "%(field)s is required.",
                    field=self._urssaf_field_label("urssaf_scope"),
                )
            )
        for fname in ("urssaf_auto_declare_days", "urssaf_reminder_days"):
            if self[fname] < 0:
                raise ValidationError(
                    self.env._("%(field)s cannot be negative.", field=self._urssaf_field_label(fname))
                )
        if not 1 <= self.urssaf_parallel_calls <= MAX_PARALLEL_CALLS:
            raise ValidationError(
                self.env._(
                    "%(field)s must be between 1 and %(max)s.",
                    field=self._urssaf_field_label("urssaf_parallel_calls"),
                    max=MAX_PARALLEL_CALLS,
                )
            )
        for fname in ("urssaf_timeout", "urssaf_connect_timeout"):
            if self[fname] <= 0:
                raise ValidationError(
                    self.env._(
                        "%(field)s must be greater than zero.",
                        field=self._urssaf_field_label(fname),
                    )
                )

    def _urssaf_api_url(self):
        """Scheme and host the client talks to for this company."""
        self.ensure_one()
        company = self.sudo()
        if company.urssaf_environment == "embedded":
            from ..urssaf_api.sandbox import EMBEDDED_BASE_URL  # noqa: PLC0415 (loaded only when used)

            return EMBEDDED_BASE_URL
        if company.urssaf_base_url:
            return company.urssaf_base_url.strip().rstrip("/")
        return URSSAF_HOSTS[company.urssaf_environment]

    def _urssaf_client(self):
        """An API client configured from this company's settings.

        The embedded sandbox is reached through a transport adapter: the
        client runs exactly the code it runs against Urssaf, only the socket
        is replaced by the in-process sandbox, whose state lives in this
        database (shared by all workers, kept across restarts).
        """
        self.ensure_one()
        company = self.sudo()
        if company.urssaf_environment != "embedded":
            # Checked again before every call: the saved URL may no longer
            # be allowed (the allowed hosts changed since it was saved).
            error = company._urssaf_base_url_error()
            if error:
                raise UserError(
                    self.env._(
                        "%(company)s cannot reach Urssaf: %(error)s A system administrator corrects it in "
                        "Accounting > Configuration > Settings, section Urssaf.",
                        company=self.name,
                        error=error,
                    )
                )
        client_id = (company.urssaf_client_id or "").strip()
        secret = company.urssaf_client_secret or ""
        adapter = token_cache = None
        if company.urssaf_environment == "embedded":
            # The embedded sandbox (a simulation of the whole API) is loaded
            # only by the databases that use it, never in production.
            from ..urssaf_api.sandbox import Sandbox, SandboxAdapter  # noqa: PLC0415
            from ..urssaf_api.seed import PLATFORM_CLIENT_ID, SEED_CLIENTS  # noqa: PLC0415
            from .urssaf_sandbox_storage import PostgresSandboxStorage  # noqa: PLC0415

            dbname = self.env.cr.dbname
            adapter = SandboxAdapter(Sandbox(PostgresSandboxStorage(dbname), base_path=company.urssaf_api_base_path))
            # Each database's sandbox grants its own tokens, at the same
            # address: a token cache per database keeps them apart.
            token_cache = EMBEDDED_TOKEN_CACHES.setdefault(dbname, TokenCache())
            if not client_id:
                client_id = PLATFORM_CLIENT_ID
                secret = SEED_CLIENTS[PLATFORM_CLIENT_ID]
        if not secret:
            raise UserError(
                self.env._(
                    "The Urssaf client secret of %(company)s is not set: a system administrator saves it in "
                    "Accounting > Configuration > Settings, section Urssaf.",
                    company=self.name,
                )
            )
        return UrssafClient(
            company._urssaf_api_url(),
            client_id,
            secret,
            scope=company.urssaf_scope,
            base_path=company.urssaf_api_base_path,
            connect_timeout=company.urssaf_connect_timeout,
            read_timeout=company.urssaf_timeout,
            adapter=adapter,
            token_cache=token_cache,
        )

    def _urssaf_parallel_calls(self):
        """How many calls to Urssaf a run keeps in flight at once. The
        embedded sandbox answers from this database one call at a time (its
        state is serialised), so its calls are made one after the other, in
        the thread that prepares them."""
        self.ensure_one()
        company = self.sudo()
        if company.urssaf_environment == "embedded":
            return 1
        return min(max(company.urssaf_parallel_calls, 1), MAX_PARALLEL_CALLS)

    def _urssaf_chunk_size(self):
        """How many declarations a scheduled run handles per transaction:
        enough to keep every call of the pool busy, few enough that a crash
        loses little bookkeeping (the next run settles it by look-up)."""
        self.ensure_one()
        parallel = self._urssaf_parallel_calls()
        # One call at a time: one auto-entrepreneur per transaction, as
        # nothing is gained by waiting longer before committing.
        return max(CHUNK_PER_CALL * parallel, MIN_CHUNK) if parallel > 1 else 1

    def _urssaf_uses_job_queue(self):
        """The scheduled run goes through OCA's queue_job (installed, and
        not turned off for this company)."""
        self.ensure_one()
        return self.sudo().urssaf_job_queue and "queue.job" in self.env

    def _urssaf_test_connection(self):
        """Get a token with the saved settings; return a message saying so."""
        self.ensure_one()
        self.sudo()._urssaf_settings_errors_raise()
        environment = self._urssaf_environment_label(self.sudo().urssaf_environment)
        try:
            self._urssaf_client().fetch_token()
        except UrssafError as error:
            raise UserError(
                self.env._(
                    "The connection to Urssaf (%(environment)s, %(url)s) failed: %(error)s",
                    environment=environment,
                    url=self._urssaf_api_url(),
                    # Worded for people, in their language, by the one
                    # renderer: the client's own text is English data.
                    error=urssaf_error_text(self.env, error),
                )
            ) from error
        return self.env._(
            "Connected to Urssaf (%(environment)s, %(url)s): an access token was granted.",
            environment=environment,
            url=self._urssaf_api_url(),
        )

    # ------------------------------------------------------------------
    # Who may read this company's books: an auto-entrepreneur's own company
    # ------------------------------------------------------------------

    def _urssaf_books_readable_by(self, declaring_company):
        """Whether ``declaring_company`` may read these books (and post the
        contributions in them): the same company, a branch or a parent of
        it, or a company these books' owner authorised."""
        self.ensure_one()
        books, declaring = self.sudo(), declaring_company.sudo()
        if books.parent_path.startswith(declaring.parent_path) or declaring.parent_path.startswith(books.parent_path):
            return True
        return declaring in books.urssaf_books_reader_ids

    def _urssaf_check_books_sharer(self):
        """Refuse a user who is not one of these companies' users the
        writing of whom they let read their books: base lets an "Access
        rights" administrator write every company, and sharing the books is
        their owner's say. The superuser (install, migrations) passes."""
        if self.env.su:
            return
        others = self - self.env.user.company_ids
        if others:
            raise AccessError(
                self.env._(
                    "%(field)s: only a user of %(companies)s may choose who reads its books.",
                    field=self._urssaf_field_label("urssaf_books_reader_ids"),
                    companies=", ".join(others.sudo().mapped("name")),
                )
            )

    @api.model
    def _urssaf_check_branch_creation(self, vals_list):
        """Refuse a user the creation of a branch of a company he is not a
        user of: a branch reads its parent's books (the same legal person)
        and the parent's, so creating one would let its creator's companies
        in without the books' owner's say."""
        if self.env.su:
            return
        parents = self.browse({vals["parent_id"] for vals in vals_list if vals.get("parent_id")})
        others = parents - self.env.user.company_ids
        if others:
            raise AccessError(
                self.env._(
                    "%(field)s: only a user of %(companies)s may create a branch of it; a branch reads its books.",
                    field=self._urssaf_field_label("parent_id"),
                    companies=", ".join(others.sudo().mapped("name")),
                )
            )

    @api.model
    def _urssaf_books_readable_sql(self, books_company, declaring_company):
        """SQL: ``books_company`` (an alias of ``res_company``) may be read by
        ``declaring_company`` (another alias), as ``_urssaf_books_readable_by``
        says."""
        return SQL(
            """(STARTS_WITH(%(books)s.parent_path, %(declaring)s.parent_path)
                OR STARTS_WITH(%(declaring)s.parent_path, %(books)s.parent_path)
                OR EXISTS (SELECT 1 FROM urssaf_books_reader_rel shared
                            WHERE shared.books_company_id = %(books)s.id
                              AND shared.reader_company_id = %(declaring)s.id))""",
            books=books_company,
            declaring=declaring_company,
        )

    # ------------------------------------------------------------------
    # Received through an intermediary: the fee accounts
    # ------------------------------------------------------------------

    def _urssaf_default_fee_accounts(self):
        """The fee accounts of the company's chart: the 622 and 627 accounts
        of the French chart (those the chart made and those added since);
        none for another chart."""
        self.ensure_one()
        company = self.sudo()
        if not (company.root_id.chart_template or "").startswith("fr"):
            return self.env["account.account"]
        Account = self.env["account.account"].sudo().with_company(company)
        return Account.search(
            Domain(Account._check_company_domain(company))
            & Domain.OR(Domain("code", "=like", f"{prefix}%") for prefix in FRENCH_FEE_ACCOUNT_PREFIXES)
        )

    @api.model
    def _urssaf_set_default_fee_accounts(self, companies=None):
        """Fill the fee accounts of ``companies`` (all of them when None) that
        have none yet from their chart (see ``_urssaf_default_fee_accounts``).
        Called at install, by the migration bringing an existing database
        along, and when a chart of accounts is loaded; a company whose list
        was set is left as it is."""
        if companies is None:
            companies = self.sudo().search([("urssaf_fee_account_ids", "=", False)])
        for company in companies.sudo().filtered(lambda company: not company.urssaf_fee_account_ids):
            defaults = company._urssaf_default_fee_accounts()
            if defaults:
                company.urssaf_fee_account_ids = defaults

    # ------------------------------------------------------------------
    # Contributions in the books of an auto-entrepreneur's own company
    # ------------------------------------------------------------------

    def _urssaf_books_defaults(self):
        """Journal and accounts for the contributions: the company's
        miscellaneous journal, and the French chart's 646000, 108000 and
        431000 when the company uses it."""
        self.ensure_one()
        chart = self.env["account.chart.template"].with_company(self)
        Journal = self.env["account.journal"].sudo()

        def account(xmlid):
            return chart.ref(xmlid, raise_if_not_found=False) or self.env["account.account"]

        return {
            "urssaf_contribution_journal_id": Journal.search(
                [*Journal._check_company_domain(self), ("type", "=", "general")], limit=1
            ),
            "urssaf_contribution_account_id": account("pcg_646"),
            "urssaf_income_tax_account_id": account("pcg_108"),
            "urssaf_payable_account_id": account("pcg_431"),
        }

    @api.constrains(
        "urssaf_post_contributions",
        "urssaf_contribution_journal_id",
        "urssaf_contribution_account_id",
        "urssaf_income_tax_account_id",
        "urssaf_payable_account_id",
    )
    def _check_urssaf_books(self):
        for company in self.sudo():
            if not company.urssaf_post_contributions:
                continue
            for fname in (
                "urssaf_contribution_journal_id",
                "urssaf_contribution_account_id",
                "urssaf_income_tax_account_id",
                "urssaf_payable_account_id",
            ):
                if not company[fname]:
                    raise ValidationError(
                        self.env._(
                            "%(company)s posts the Urssaf contributions: set the field “%(field)s”.",
                            company=company.name,
                            field=company._urssaf_field_label(fname),
                        )
                    )
            if not company.urssaf_payable_account_id.reconcile:
                raise ValidationError(
                    self.env._(
                        "%(field)s: the account %(account)s must allow reconciliation, so that the bank's SEPA "
                        "debit settles it.",
                        field=company._urssaf_field_label("urssaf_payable_account_id"),
                        account=company.urssaf_payable_account_id.display_name,
                    )
                )
