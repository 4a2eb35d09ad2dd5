from importlib.machinery import SourceFileLoader


def _restore_stdnum_resource_reader():
    """Let python-stdnum read its data files (the IBAN registry) inside Odoo.

    Odoo 19's import hook for stdnum (odoo/_monkeypatches) replaces the
    package's loader with a namespace that importlib.resources cannot read,
    so ``stdnum.iban`` fails with "Can't open orphan path". The module has
    been executed (and patched) already: only its loader's resource reader
    is given back.
    """
    import stdnum  # noqa: PLC0415 (must run before the models import stdnum.iban)

    if not hasattr(stdnum.__spec__.loader, "get_resource_reader"):
        stdnum.__spec__.loader = SourceFileLoader(stdnum.__name__, stdnum.__file__)


_restore_stdnum_resource_reader()

from . import models  # noqa: E402
from . import wizards  # noqa: E402


def uninstall_hook(env):
    """Remove the addon's records before Odoo removes its data and models.

    Mandates and declarations point to partners that demo data or users
    created; removing them first lets those partners go with the addon's
    data. The embedded sandbox's state, kept outside the ORM, goes too.
    """
    from odoo.addons.base.models.ir_model import MODULE_UNINSTALL_FLAG  # noqa: PLC0415

    from .models.urssaf_sandbox_storage import drop_sandbox_table  # noqa: PLC0415

    for model in ("urssaf.declaration", "urssaf.sepa.mandate", "urssaf.mandate", "urssaf.account"):
        env[model].with_context(**{MODULE_UNINSTALL_FLAG: True}).sudo().search([]).unlink()
    drop_sandbox_table(env.cr)
