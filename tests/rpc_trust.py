# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Trying the server's rules the way any client can: XML-RPC as each user.

A rule that lives only in a view (``readonly``, ``invisible``) is no rule:
anybody with a login can call ``execute_kw``. Each test case built on
:class:`RpcTrustCase` holds a table, ``ATTEMPTS``, one :class:`Attempt` a
row. Each row is sent over real XML-RPC, as the user it names, to the test
server; a refused attempt must fail with its message and leave the database
rows it names exactly as they were; an allowed one (a control) must go
through and change them.

Context defaults (``default_<field>`` keys) are tried on every model of
the legal record: wrap a row's call in :func:`with_context_defaults`.

To extend a table, add a row: what is tried (in words), who tries it, the
call (built from the case's records when the row runs), the part of the
message expected (``None`` for a control that must go through) and the
tables whose rows must not change (or must change, for a control).
"""

import xmlrpc.client
from dataclasses import dataclass, field

from odoo.tests import HttpCase, new_test_user
from odoo.tools import SQL

from .common import UrssafSandboxMixin

PASSWORD = "rpc-trust-Passw0rd!"
PREPARER = "l10n_fr_urssaf_tierce_declaration.group_urssaf_preparer"
DECLARANT = "l10n_fr_urssaf_tierce_declaration.group_urssaf_declarant"

# The users a row can name: login suffix -> groups.
USER_GROUPS = {
    "preparer": f"account.group_account_user,{PREPARER}",
    "declarant": f"account.group_account_manager,{DECLARANT}",
    # Declarant of the other company only (see RpcTrustCase.company_b).
    "declarant_b": f"account.group_account_manager,{DECLARANT}",
    # "Access rights" (Administration: Access Rights), not "Settings".
    "access_rights": f"base.group_erp_manager,account.group_account_manager,{DECLARANT}",
    "system": "base.group_system,account.group_account_manager",
    "internal": "base.group_user",
    "portal": "base.group_portal",
}


@dataclass(frozen=True)
class Attempt:
    """One row of a trust table.

    ``call(case)`` returns ``(model, method, args)`` or ``(model, method,
    args, kwargs)``, built from the case's records when the row runs.
    ``refused``: a part of the error message the user must get (in English,
    the test users' language); ``None`` for a control that must go through.
    ``tables``: the tables whose rows are compared before and after.
    """

    what: str
    user: str
    call: object
    refused: str | None
    tables: tuple = field(default=())


def with_context_defaults(call, **defaults):
    """``call`` (a row's call) sent with ``default_<field>`` keys in its
    context: Odoo fills them into ``create``'s values after the model's own
    ``create`` looked at them, so each model of the legal record must refuse
    them itself (``urssaf.protected.mixin``)."""

    def build(case):
        model, method, args, *rest = call(case)
        kwargs = dict(rest[0]) if rest else {}
        context = dict(kwargs.get("context") or {})
        context.update({f"default_{fname}": value for fname, value in defaults.items()})
        return model, method, args, {**kwargs, "context": context}

    return build


class RpcTrustCase(UrssafSandboxMixin, HttpCase):
    """Runs its ``ATTEMPTS`` table over XML-RPC; subclasses build the records."""

    ATTEMPTS = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Urssaf RPC company B"})
        cls.users = {}
        for role, groups in USER_GROUPS.items():
            company = cls.company_b if role == "declarant_b" else cls.company_a
            cls.users[role] = new_test_user(
                cls.env,
                login=f"rpc_trust_{role}",
                password=PASSWORD,
                groups=groups,
                company_id=company.id,
                company_ids=[(6, 0, company.ids)],
                lang="en_US",
            )

    # --- talking to the server ----------------------------------------------

    def rpc(self, role, model, method, args, kwargs=None):
        """``execute_kw`` over XML-RPC as the user of ``role``."""
        user = self.users[role]
        return self.xmlrpc_object.execute_kw(self.env.cr.dbname, user.id, PASSWORD, model, method, args, kwargs or {})

    def rows(self, tables):
        """Every row of ``tables``, as the database holds them now."""
        self.env.flush_all()
        snapshot = {}
        for table in tables:
            self.env.cr.execute(SQL("SELECT * FROM %s ORDER BY id", SQL.identifier(table)))
            snapshot[table] = self.env.cr.fetchall()
        return snapshot

    # --- the table ------------------------------------------------------------

    def test_attempts(self):
        self.assertTrue(self.ATTEMPTS or type(self) is RpcTrustCase, "an empty trust table")
        for attempt in self.ATTEMPTS:
            with self.subTest(attempt.what, user=attempt.user):
                self._run_attempt(attempt)
        self.env.invalidate_all()
        self.after_attempts()

    def after_attempts(self):
        """Check what the controls did, beyond changed rows (subclasses)."""

    def _run_attempt(self, attempt):
        call = attempt.call(self)
        model, method, args = call[:3]
        kwargs = call[3] if len(call) > 3 else None
        before = self.rows(attempt.tables)
        if attempt.refused is None:
            self.rpc(attempt.user, model, method, args, kwargs)
            self.env.invalidate_all()
            after = self.rows(attempt.tables)
            if attempt.tables:
                self.assertNotEqual(before, after, f"{attempt.what}: went through but changed nothing")
            return
        with self.assertRaises(xmlrpc.client.Fault, msg=f"{attempt.what}: not refused") as caught:
            self.rpc(attempt.user, model, method, args, kwargs)
        self.assertIn(attempt.refused, caught.exception.faultString, attempt.what)
        self.env.invalidate_all()
        self.assertEqual(before, self.rows(attempt.tables), f"{attempt.what}: refused, but rows changed")
