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


# Odoo imports the addon as odoo.addons.<name>. Under another name, this is
# a checkout whose pure-Python urssaf_api (the client, the sandbox and their
# tests: ``python -m pytest urssaf_api``) is reached through this package,
# with or without Odoo on the machine: the Odoo parts are left out.
if __name__.startswith("odoo.addons."):
    _restore_stdnum_resource_reader()

    from . import controllers
    from . import models
    from . import report
    from . import wizards
    from . import demo


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
    _forget_what_odoo_leaves(env)


def _forget_what_odoo_leaves(env):
    """Remove the metadata Odoo's uninstall leaves behind for an addon:

    - the external ids that other modules' mixins (mail, portal, sms...)
      record for this addon's models, for their selection values and
      inherits: those records go with the models, their external ids stay;
    - the foreign keys this addon's fields put on other modules' tables
      (res.partner, res.company...): their columns are dropped, their
      records in ir.model.constraint stay.
    """
    addon = "l10n_fr_urssaf_tierce_declaration"
    # The models this addon defines: no other module has them.
    Data = env["ir.model.data"]
    listed = Data.search([("model", "=", "ir.model"), ("res_id", "!=", False)])
    others = set(listed.filtered(lambda data: data.module != addon).mapped("res_id"))
    own_models = env["ir.model"].browse(
        {data.res_id for data in listed if data.module == addon and data.res_id not in others}
    )
    selections = env["ir.model.fields.selection"].search([("field_id.model_id", "in", own_models.ids)])
    inherits = env["ir.model.inherit"].search([("model_id", "in", own_models.ids)])
    Data.search(
        [
            ("module", "!=", addon),
            "|",
            "&",
            ("model", "=", "ir.model.fields.selection"),
            ("res_id", "in", selections.ids),
            "&",
            ("model", "=", "ir.model.inherit"),
            ("res_id", "in", inherits.ids),
        ]
    ).unlink()
    env["ir.model.constraint"].search(
        [("module.name", "=", addon), ("type", "=", "f"), ("model", "not in", own_models.ids)]
    ).unlink()
