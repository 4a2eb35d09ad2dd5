# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models
from odoo.exceptions import UserError

from .urssaf_common import field_label, first_in_order

DEFAULT_PREFIX = "default_"


class UrssafProtectedMixin(models.AbstractModel):
    """A record of the legal record: the fields only the addon's own steps
    write, from the books and from Urssaf's answers.

    One guard, the way OCA's ``queue_job`` guards its ``_protected_fields``:
    each model lists its own fields in ``_urssaf_protected_fields``, and no
    user (whatever the client, the group or the context) sets one of them:

    - in ``create``'s values, unless the value is the one a new record
      starts with anyway (``_urssaf_protected_defaults``, else empty);
    - in a default Odoo fills into ``create``'s values after the model's
      own ``create`` looked at them (``_prepare_create_values`` →
      ``default_get``): a ``default_<field>`` key of the context, or a
      saved default (``ir.default``, the web client's "Set Defaults") for
      a field the values leave out. Refused even for the superuser, since
      the addon's steps never rely on one, a sudo() keeps the caller's
      context and a saved default applies whoever creates; users cannot
      save one in the first place (``ir.default``'s own guard);
    - in ``write``, and so are the ``_urssaf_fixed_fields``, given when the
      record is created and never moved after;
    - by ``unlink``, when ``_urssaf_protected_unlink`` is set (a record
      that only the addon creates and removes).

    The addon's steps write them through ``_urssaf_write``: the caller's
    rights on the records are checked, then the values are written as the
    superuser, which no RPC call can be. A model that computes some of them
    when a record is created does it in ``_urssaf_create_values``, which
    runs after the check.

    What is not "who may write this field" (a declaration locked once
    declared, an amount adjustable by declarants only...) stays with each
    model.
    """

    _name = "urssaf.protected.mixin"
    _description = "Urssaf legal record: fields only the addon writes"

    # The fields of the model written only by the addon's steps.
    _urssaf_protected_fields = frozenset()
    # Given when a record is created, then written only by the addon's steps.
    _urssaf_fixed_fields = frozenset()
    # What a client may send for a protected field of a new record: the
    # value the record starts with anyway ({field: value}; else empty).
    _urssaf_protected_defaults = {}
    # Only the addon (as the superuser) removes these records.
    _urssaf_protected_unlink = False

    def _urssaf_is_start_value(self, fname, value):
        """``value`` is what a new record holds in ``fname`` anyway."""
        if fname in self._urssaf_protected_defaults:
            return value == self._urssaf_protected_defaults[fname] or not value
        return not value

    def _urssaf_refuse_protected(self, fnames, protected=None):
        """Refuse, naming the first field in the model's order, a write of
        protected fields (of ``protected``, by default the model's list)."""
        if protected is None:
            protected = self._urssaf_protected_fields
        fnames = set(fnames) & set(protected)
        if not fnames:
            return
        fname = first_in_order(self, fnames)
        raise UserError(
            self.env._(
                "%(record)s: the field “%(field)s” is filled only from the books and Urssaf's answers; "
                "it cannot be written.",
                record=self._description,
                field=field_label(self, fname),
            )
        )

    def _urssaf_protected_defaults_filled(self, vals_list, through=None):
        """The protected fields that a default would set, in new records of
        ``vals_list``, to something other than their start value: a
        ``default_<field>`` key of the context (whatever the values), or a
        saved default (``ir.default``, for this user and company) of a
        field some of the values leave out and no context key overrides
        (the order of ``default_get``).

        ``through``: ``(model, {its field: this model's field})`` when the
        new records are another model's, whose fields write this model's
        (the contact's ``urssaf_*`` fields its Urssaf account)."""
        model, mapping = through or (self, {fname: fname for fname in self._urssaf_protected_fields})
        mapping = {fname: own for fname, own in mapping.items() if own in self._urssaf_protected_fields}
        filled = {
            mapping[key[len(DEFAULT_PREFIX) :]]
            for key, value in self.env.context.items()
            if isinstance(key, str)
            and key.startswith(DEFAULT_PREFIX)
            and key[len(DEFAULT_PREFIX) :] in mapping
            and not self._urssaf_is_start_value(mapping[key[len(DEFAULT_PREFIX) :]], value)
        }
        saved = self.env["ir.default"]._get_model_defaults(model._name)
        filled.update(
            mapping[fname]
            for fname, value in saved.items()
            if fname in mapping
            and DEFAULT_PREFIX + fname not in self.env.context
            and not model._fields[fname].company_dependent
            and not self._urssaf_is_start_value(mapping[fname], value)
            and any(fname not in vals for vals in vals_list)
        )
        return filled

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            self._urssaf_refuse_protected(
                {
                    fname
                    for vals in vals_list
                    for fname, value in vals.items()
                    if fname in self._urssaf_protected_fields and not self._urssaf_is_start_value(fname, value)
                }
            )
        self._urssaf_refuse_protected(self._urssaf_protected_defaults_filled(vals_list))
        return super().create(self._urssaf_create_values(vals_list))

    @api.model
    def _urssaf_values_with_defaults(self, vals_list, fnames):
        """``vals_list`` with what ``create`` will fill in for those of
        ``fnames`` they leave out (``default_get``: context keys, saved
        defaults, the fields' own defaults): a model's rules on new values
        check what is stored, not only what was sent."""
        missing = {fname for vals in vals_list for fname in fnames if fname not in vals}
        if not missing:
            return vals_list
        defaults = self.default_get(sorted(missing))
        return [
            {**{fname: defaults[fname] for fname in fnames if fname in defaults and fname not in vals}, **vals}
            for vals in vals_list
        ]

    @api.model
    def _urssaf_create_values(self, vals_list):
        """The values of new records, with what the addon computes for them
        (protected fields included): called once the values are checked."""
        return vals_list

    def write(self, vals):
        if not self.env.su:
            self._urssaf_refuse_protected(vals, self._urssaf_protected_fields | self._urssaf_fixed_fields)
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_protected(self):
        if self._urssaf_protected_unlink and not self.env.su and self:
            raise UserError(
                self.env._(
                    "%(record)s is part of the legal record kept by the Urssaf addon: it cannot be deleted.",
                    record=self._description,
                )
            )

    def _urssaf_write(self, vals):
        """Write what the addon's own steps computed or Urssaf answered: the
        caller's rights on these records are checked, then the values are
        written as the superuser (the only way to write protected fields,
        and one that no RPC call can take)."""
        self.check_access("write")
        return self.sudo().write(vals)
