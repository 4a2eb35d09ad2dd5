# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json

from odoo import api, models

from .res_partner import ACCOUNT_FIELDS

# Other models' fields that write a protected field of the legal record:
# {model: (the protected model, {its field: the protected model's field})}.
WRITTEN_THROUGH = {"res.partner": ("urssaf.account", ACCOUNT_FIELDS)}


class IrDefault(models.Model):
    """Saved defaults (the web client's "Set Defaults", ``ir.default.set``)
    never set a protected field of the legal record.

    Any internal user may save a default for themselves, and ``create``
    fills it into a new record's values after the model's own ``create``
    looked at them: a saved ``state = paid`` would make every declaration
    the user creates a paid one. A user's saved default on a field of a
    model's ``_urssaf_protected_fields`` (``urssaf.protected.mixin``) is
    refused with the mixin's own message, unless it is the value a new
    record starts with anyway; so is one on a field of another model that
    writes a protected one (the contact's ``urssaf_*`` fields). One saved some other way (before the addon
    was installed, or by the superuser) is refused by the mixin when a
    record would take it.
    """

    _inherit = "ir.default"

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            for vals in vals_list:
                self._urssaf_refuse_protected_default(vals.get("field_id"), vals.get("json_value"))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and {"field_id", "json_value"} & set(vals):
            for default in self:
                self._urssaf_refuse_protected_default(
                    vals.get("field_id", default.sudo().field_id.id), vals.get("json_value", default.json_value)
                )
        return super().write(vals)

    @api.model
    def _urssaf_refuse_protected_default(self, field_id, json_value):
        """Refuse a saved default of ``json_value`` on the field ``field_id``
        when it is a protected field of the legal record."""
        field = self.env["ir.model.fields"].sudo().browse(field_id).exists()
        if not field or field.model not in self.env:
            return
        model, fname = self.env[field.model], field.name
        if field.model in WRITTEN_THROUGH:
            protected_model, mapping = WRITTEN_THROUGH[field.model]
            if fname not in mapping:
                return
            model, fname = self.env[protected_model], mapping[fname]
        protected = getattr(model, "_urssaf_protected_fields", None)
        if not protected or fname not in protected:
            return
        try:
            value = json.loads(json_value)
        except (TypeError, ValueError):
            # Not JSON: base's own constraint refuses it.
            value = json_value
        if not model._urssaf_is_start_value(fname, value):
            model._urssaf_refuse_protected({fname})
