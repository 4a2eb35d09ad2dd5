# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import AccessError


def refuse_portal_user(env, report_label):
    """The addon's reports print through the backend's report URL for the
    firm's own users only. A portal user (the auto-entrepreneur) gets its own
    through the portal's routes, which check its access and then render the
    report as the superuser; the report URL never renders as the superuser,
    and a context key would be the client's to forge."""
    if env.user.share and not env.su:
        raise AccessError(env._("%(report)s: printed from the portal's own pages only.", report=report_label))
