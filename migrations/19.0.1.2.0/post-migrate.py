# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""19.0.1.2.0: an existing database brought along.

- Every auto-entrepreneur needs a default category now (a period without
  receipts is declared at zero in it): an account without one gets the
  category Urssaf's account check gave, when it gave exactly one. The others
  are left for a declarant to set (the accounts list's "Without default
  category" filter finds them; preparing a declaration skips them, saying
  why).
- The companies that posted the contributions in their books did so when a
  declaration was paid: they keep that (cash basis); the others get the new
  default (accrual: when declared) if they turn the posting on.
- The declarations already declared get their register rows from the books
  as they are, flagged as rebuilt (the rows were not kept when they were
  declared).
- The companies get their default fee accounts (what intermediaries keep on
  the way counts as received).
"""

import logging

from odoo.tools import SQL
from odoo.tools.sql import column_exists

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    set_default_categories(cr)
    keep_cash_basis(cr)
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415 (Odoo's migration scripts are loaded by path)

    env = api.Environment(cr, SUPERUSER_ID, {})
    rebuild_register_rows(env)
    set_default_fee_accounts(env)


def set_default_categories(cr):
    """The accounts without default category get the one category Urssaf's
    account check gave them. Returns the ids of the accounts set."""
    cr.execute(
        SQL(
            """
            WITH single AS (
                SELECT rel.account_id, MIN(rel.category_id) AS category_id
                  FROM urssaf_account_activity_category_rel rel
                 GROUP BY rel.account_id
                HAVING COUNT(*) = 1
            )
            UPDATE urssaf_account account
               SET category_id = single.category_id
              FROM single
             WHERE single.account_id = account.id
               AND account.category_id IS NULL
            RETURNING account.id
            """
        )
    )
    updated = [row[0] for row in cr.fetchall()]
    cr.execute(
        "SELECT COUNT(*) FROM urssaf_account WHERE is_auto_entrepreneur AND category_id IS NULL",
    )
    (lacking,) = cr.fetchone()
    _logger.info("Urssaf: %s accounts got the default category their account check gave", len(updated))
    if lacking:
        _logger.warning(
            "Urssaf: %s auto-entrepreneur accounts have no default category (their account check gave none or "
            "several): a declarant must set it before their next declaration (Urssaf accounts, filter "
            '"Without default category")',
            lacking,
        )
    return updated


def keep_cash_basis(cr):
    """The companies that already posted their contributions did so at
    payment: they keep it."""
    if not column_exists(cr, "res_company", "urssaf_contribution_basis"):
        return
    cr.execute("UPDATE res_company SET urssaf_contribution_basis = 'cash' WHERE urssaf_post_contributions")
    _logger.info("Urssaf: %s companies keep posting the contributions when paid", cr.rowcount)


def rebuild_register_rows(env):
    """The declared declarations' register rows, from the books as they are,
    flagged as rebuilt (when this version keeps the rows)."""
    Declaration = env["urssaf.declaration"]
    if not hasattr(Declaration, "_urssaf_rebuild_register_rows"):
        return Declaration
    declarations = Declaration._urssaf_rebuild_register_rows()
    _logger.info("Urssaf: register rows rebuilt from the books for %s declared declarations", len(declarations or ()))
    return declarations


def set_default_fee_accounts(env):
    """Each company's fee accounts from its chart, when it has none."""
    Company = env["res.company"]
    if hasattr(Company, "_urssaf_set_default_fee_accounts"):
        Company._urssaf_set_default_fee_accounts()
