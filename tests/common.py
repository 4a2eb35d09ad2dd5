# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the addon's Odoo tests share."""

import ipaddress
from urllib.parse import urlsplit

import freezegun

from odoo import Command, sql_db
from odoo.tests import TransactionCase
from odoo.tests.common import _super_send

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

from ..models.res_company import EMBEDDED_TOKEN_CACHES
from ..models.urssaf_sandbox_storage import clear_sandbox
from ..urssaf_api.sandbox import EMBEDDED_BASE_URL, Sandbox
from ..urssaf_api.storage import MemoryStorage
from ..urssaf_api.testing import FaultServer

EMBEDDED_HOST = urlsplit(EMBEDDED_BASE_URL).hostname

# pytest times each test through ``_pytest.timing``, which freezegun would
# freeze with the rest (its own ignore list names only pytest's older
# modules): ``--durations`` then printed 1,795,702,597 s for a frozen test's
# set-up.
freezegun.configure(extend_ignore_list=["_pytest.timing"])


def _is_loopback(host):
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def reset_embedded_sandbox(dbname):
    """Forget everything the embedded sandbox of ``dbname`` was told.

    Its state is committed on a cursor of its own (it plays a remote
    service), so test transactions do not roll it back.
    """
    with sql_db.db_connect(dbname).cursor() as cr:
        clear_sandbox(cr)
    # The tokens it granted are gone with it.
    if dbname in EMBEDDED_TOKEN_CACHES:
        EMBEDDED_TOKEN_CACHES[dbname].clear()


def start_remote_urssaf(test):
    """Give ``test`` a remote Urssaf: a sandbox in memory (``test.remote``)
    behind a fault-injecting server on the loopback (``test.server``),
    stopped after the test."""
    test.remote = Sandbox(MemoryStorage())
    test.server = FaultServer(test.remote.handle)
    test.server.start()
    test.addCleanup(test.server.stop)


class UrssafSandboxMixin:
    """For Odoo test cases: the HTTP guard lets the embedded sandbox and
    loopback test servers through, and the embedded sandbox starts empty.

    Odoo's test guard blocks every request to a non-local host, and the
    embedded sandbox answers at a reserved ``.invalid`` host through a
    transport adapter: the request never leaves the process, so it is let
    through untouched (time-outs included), like requests to servers the
    tests start on the loopback.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        reset_embedded_sandbox(cls.env.cr.dbname)

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        host = urlsplit(r.url).hostname
        if host == EMBEDDED_HOST or _is_loopback(host):
            return _super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)


class UrssafTransactionCase(UrssafSandboxMixin, TransactionCase):
    """A TransactionCase talking to the embedded sandbox."""


class UrssafAccountingCase(UrssafSandboxMixin, AccountTestInvoicingCommon):
    """Odoo's accounting test data, in a company keeping its books in euros
    (Urssaf declares euros), talking to the embedded sandbox."""

    @classmethod
    def setup_independent_company(cls, **kwargs):
        return super().setup_independent_company(currency_id=cls._enable_currency("EUR").id, **kwargs)


# "Today" for the tests whose dates are fixed (October 2026 has ended, its
# declaration falls due on 30 November 2026): frozen with freezegun, for
# Odoo and the embedded sandbox alike, so that they pass on any day.
# 10:00 UTC is the same day in every European time zone.
FROZEN_NOW = "2026-11-27 10:00:00"


def paid_vendor_bill(env, partner, bill_date, amount, payment_date=None):
    """A vendor bill of ``amount`` from ``partner`` in ``env.company``,
    without VAT (an auto-entrepreneur charges none), posted, and paid in full
    on ``payment_date`` through the register-payment wizard (unpaid when
    None): turnover the auto-entrepreneur collected on that day."""
    bill = env["account.move"].create(
        {
            "move_type": "in_invoice",
            "partner_id": partner.id,
            "invoice_date": bill_date,
            "date": bill_date,
            "invoice_line_ids": [
                Command.create({"name": "Prestations", "price_unit": amount, "tax_ids": [Command.clear()]})
            ],
        }
    )
    bill.action_post()
    if payment_date:
        env["account.payment.register"].with_context(active_model="account.move", active_ids=bill.ids).create(
            {"payment_date": payment_date}
        )._create_payments()
    return bill
