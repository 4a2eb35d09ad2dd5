# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import ipaddress
from urllib.parse import urlsplit

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..urssaf_api.client import TokenCache, UrssafClient
from ..urssaf_api.exceptions import UrssafError

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
)
EMBEDDED_TOKEN_CACHES = {}
URSSAF_HOSTS = {
    "sandbox": "https://api-edi.urssaf.fr",
    "production": "https://api.urssaf.fr",
}


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
    )
    urssaf_client_id = fields.Char(
        string="Urssaf client ID",
        copy=False,
        help="OAuth2 client ID given by Urssaf with the API licence.",
    )
    urssaf_client_secret = fields.Char(
        string="Urssaf client secret",
        copy=False,
        groups="base.group_system",
    )
    urssaf_scope = fields.Char(
        string="Urssaf scope",
        default="tiersdecl.ae",
        required=True,
    )
    urssaf_base_url = fields.Char(
        string="Urssaf base URL",
        help="Replaces the host of the Urssaf sandbox or production "
        "environment, e.g. for a test server on this machine. Must use https, "
        "except on a loopback address. Not used by the embedded sandbox.",
    )
    urssaf_api_base_path = fields.Char(
        string="Urssaf API base path",
        default="/tiersdecl/v1/ae",
        required=True,
    )
    urssaf_connect_timeout = fields.Float(
        string="Urssaf connection time-out (s)",
        default=5.0,
    )
    urssaf_timeout = fields.Float(
        string="Urssaf time-out (s)",
        default=30.0,
        help="How long to wait for Urssaf's answer before giving up.",
    )

    urssaf_auto_declare = fields.Boolean(
        string="Declare automatically",
        help="The daily scheduled action estimates and declares the declarations "
        "of ended periods from the chosen number of days before their deadline.",
    )
    urssaf_auto_declare_days = fields.Integer(
        string="Declare automatically from (days before the deadline)",
        default=10,
    )
    urssaf_reminder_days = fields.Integer(
        string="Remind the accountant (days before the deadline)",
        default=7,
    )
    urssaf_responsible_user_id = fields.Many2one(
        "res.users",
        string="Responsible accountant",
        help="Reminded of the deadlines of declarations not yet declared.",
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
    )
    def _check_urssaf_settings(self):
        for company in self:
            company._urssaf_settings_errors_raise()

    def _urssaf_field_label(self, fname):
        """The field's label in the user's language, to name it in errors."""
        return self._fields[fname].get_description(self.env)["string"]

    def _urssaf_settings_errors_raise(self):
        self.ensure_one()
        url = (self.urssaf_base_url or "").strip()
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise ValidationError(
                    self.env._(
                        "%(field)s: “%(url)s” is not a valid URL.",
                        field=self._urssaf_field_label("urssaf_base_url"),
                        url=url,
                    )
                )
            if parts.scheme == "http" and not is_loopback_host(parts.hostname):
                raise ValidationError(
                    self.env._(
                        "%(field)s: “%(url)s” must use https. Plain http is only "
                        "accepted on a loopback address such as 127.0.0.1 or localhost.",
                        field=self._urssaf_field_label("urssaf_base_url"),
                        url=url,
                    )
                )
        if self.urssaf_environment != "embedded" and not (self.urssaf_client_id or "").strip():
            raise ValidationError(
                self.env._(
                    "%(field)s is required for the environment “%(environment)s”.",
                    field=self._urssaf_field_label("urssaf_client_id"),
                    environment=dict(self._fields["urssaf_environment"]._description_selection(self.env))[
                        self.urssaf_environment
                    ],
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
        if self.urssaf_environment == "embedded":
            from ..urssaf_api.sandbox import EMBEDDED_BASE_URL  # noqa: PLC0415 (loaded only when used)

            return EMBEDDED_BASE_URL
        if self.urssaf_base_url:
            return self.urssaf_base_url.strip().rstrip("/")
        return URSSAF_HOSTS[self.urssaf_environment]

    def _urssaf_client(self):
        """An API client configured from this company's settings.

        The embedded sandbox is reached through a transport adapter: the
        client runs exactly the code it runs against Urssaf, only the socket
        is replaced by the in-process sandbox, whose state lives in this
        database (shared by all workers, kept across restarts).
        """
        self.ensure_one()
        company = self.sudo()
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

    def _urssaf_test_connection(self):
        """Get a token with the saved settings; return a message saying so."""
        self.ensure_one()
        self._urssaf_settings_errors_raise()
        environment = dict(self._fields["urssaf_environment"]._description_selection(self.env))[self.urssaf_environment]
        try:
            self._urssaf_client().fetch_token()
        except UrssafError as error:
            raise UserError(
                self.env._(
                    "The connection to Urssaf (%(environment)s, %(url)s) failed: %(error)s",
                    environment=environment,
                    url=self._urssaf_api_url(),
                    error=error,
                )
            ) from error
        return self.env._(
            "Connected to Urssaf (%(environment)s, %(url)s): an access token was granted.",
            environment=environment,
            url=self._urssaf_api_url(),
        )
