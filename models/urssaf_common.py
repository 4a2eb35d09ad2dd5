# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the Odoo models share about talking to Urssaf."""

from odoo.exceptions import UserError

from ..exceptions import urssaf_error_text

PREPARER = "l10n_fr_urssaf_tierce_declaration.group_urssaf_preparer"
DECLARANT = "l10n_fr_urssaf_tierce_declaration.group_urssaf_declarant"

# Odoo selection keys <-> the API's Periodicite.
PERIODICITY_TO_API = {"monthly": "MENSUELLE", "quarterly": "TRIMESTRIELLE"}
PERIODICITY_FROM_API = {api: key for key, api in PERIODICITY_TO_API.items()}
PERIODICITY_SELECTION = [("monthly", "Monthly"), ("quarterly", "Quarterly")]


def euro(env):
    """The euro, in which Urssaf declares and collects every amount.

    By id, from Odoo's cache: ``env.ref()`` also checks that the record
    exists, a query for each record computed."""
    return env["res.currency"].browse(env["ir.model.data"]._xmlid_to_res_id("base.EUR"))


def field_label(record, fname):
    """The label of ``record``'s field ``fname`` in the user's language, to
    name it in a message."""
    return record._fields[fname].get_description(record.env)["string"]


def check_declarant(env):
    """Only declarants decide what is sent to Urssaf in their name."""
    if not env.su and not env.user.has_group(DECLARANT):
        raise UserError(env._("Only Urssaf declarants can do this."))


def urssaf_user_error(env, error, what):
    """A UserError telling what failed and why (see urssaf_error_text)."""
    return UserError(env._("%(what)s failed: %(error)s", what=what, error=urssaf_error_text(env, error)))


def correlation_note(env, result_or_error):
    """The correlation id sentence of a chatter message, or an empty string."""
    correlation_id = getattr(result_or_error, "correlation_id", None)
    if not correlation_id:
        return ""
    return env._(" Urssaf correlation id: %s.", correlation_id)
