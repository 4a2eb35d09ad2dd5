#!/usr/bin/env python3
"""Benchmark the collected turnover of many auto-entrepreneurs at once.

Usage: python3 tools/bench_turnover.py [--db NAME] [--keep] [--partners 500] [--invoices 40]
       [--naive-sample N] [--no-send] [--before REV [--rounds 3]]

1. creates a throwaway database with the addon (or reuses ``--db``);
2. generates, unless already there, a platform's vendor bills from
   ``--partners`` auto-entrepreneurs, ``--invoices`` each, posted and paid
   (one in four in two instalments), through the ORM in batches;
3. times ``urssaf.turnover._compute_collected`` for one quarter over all of
   them and counts its queries, and the register of receipts grouped by
   auto-entrepreneur and category (the same totals, checked); before and
   after the three runs, times a fixed query that reads no table, the
   machine's own speed at the time;
4. times a naive per-invoice ORM loop over the same data, checks that both
   find the same amounts, and prints the ratio;
5. prepares (a batch of 1,000 auto-entrepreneurs at a time; its queries
   and the peak memory printed), then, unless ``--no-send``, estimates and
   declares the quarter of every auto-entrepreneur through the embedded
   sandbox (one call at a time: ``tools/bench_declare.py`` measures sending
   many);
6. with ``--before REV``, times the same quarter again with the addon as
   it was at git revision ``REV`` and as it is now, on the same database,
   each in its own process, alternating (``--rounds`` times), and prints
   both side by side with the machine's speed, and whether both found the
   same total;
7. drops the database it created, unless ``--keep``.

No speed is printed for work that is wrong: the amounts must equal the naive
loop's for every auto-entrepreneur, and every quarter must be declared
exactly once at Urssaf with the amounts of the books; otherwise the failures
are printed and the script exits 1.

Targets (reported, not asserted): one quarter of 10,000 auto-entrepreneurs
in under 5 s, a constant number of queries, at least 20 times faster than
the naive loop; their declarations prepared in under 30 s.
"""

# A command-line tool talks on stdout and stderr.
# pylint: disable=print-used

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from odoo_env import ADDON, REPO, addon_folder, addons_path, check_postgres, find_odoo, install_addon, link_addon

from odoo import api
from odoo.modules.registry import Registry
from odoo.sql_db import close_db
from odoo.tools import SQL, config

PARTNER_PREFIX = "Bench AE"
YEAR_START = date(2025, 1, 1)
QUARTER = (date(2025, 4, 1), date(2025, 6, 30))
BATCH = 1000
INVOICE_TYPES = ("out_invoice", "out_refund", "out_receipt", "in_invoice", "in_refund", "in_receipt")


@contextmanager
def timed(label, figures):
    start = time.perf_counter()
    yield
    figures[label] = time.perf_counter() - start
    print(f"  {label}: {figures[label]:.1f} s", flush=True)


# ----------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------


def setup_accounting(env):
    """The main company in euros with the generic chart, a 20 % purchase VAT
    and two products: a service and goods."""
    company = env.company
    if not env["account.account"].search_count([("company_ids", "in", company.ids)], limit=1):
        env["account.chart.template"].try_loading("generic_coa", company, install_demo=False)
    eur = env.ref("base.EUR")
    if company.currency_id != eur:
        # Written only when it changes: on a database reused with --db, the
        # write alone recomputes fields of every payment.
        eur.active = True
        company.currency_id = eur
    vat = env["account.tax"].search([("company_id", "=", company.id), ("name", "=", "Bench VAT 20 %")], limit=1) or env[
        "account.tax"
    ].create({"name": "Bench VAT 20 %", "amount": 20.0, "type_tax_use": "purchase", "company_id": company.id})
    products = env["product.product"].search([("default_code", "in", ("BENCH-SERVICE", "BENCH-GOODS"))])
    if len(products) < 2:
        products = env["product.product"].create(
            [
                {"name": "Bench service", "default_code": "BENCH-SERVICE", "type": "service"},
                {"name": "Bench goods", "default_code": "BENCH-GOODS", "type": "consu"},
            ]
        )
    service = products.filtered(lambda p: p.type == "service")
    return company, vat, service, products - service


def bill_values(partner, index, journal, vat, service, goods):
    """The ``index``-th bill of an auto-entrepreneur: a service and goods,
    with VAT one time in two, every nine days of the year."""
    day = YEAR_START + timedelta(days=9 * index)
    taxes = [(6, 0, vat.ids if index % 2 else [])]
    return {
        "move_type": "in_invoice",
        "partner_id": partner.id,
        "invoice_date": day,
        "date": day,
        "journal_id": journal.id,
        "invoice_line_ids": [
            (0, 0, {"product_id": service.id, "price_unit": 100.0 + index + partner.id % 50, "tax_ids": taxes}),
            (0, 0, {"product_id": goods.id, "price_unit": 40.0 + index % 7, "tax_ids": taxes}),
        ],
    }


def generate(env, n_partners, n_invoices, n_seed, figures):
    """The auto-entrepreneurs and their paid bills: ``n_seed`` of them through
    the ORM, the others cloned from those in SQL."""
    company, vat, service, goods = setup_accounting(env)
    partners = env["res.partner"].search([("name", "=like", f"{PARTNER_PREFIX} %")], order="name")
    if partners:
        print(f"Reusing the {len(partners)} auto-entrepreneurs of {env.cr.dbname}.")
        return company, partners
    n_seed = min(n_seed, n_partners)
    print(
        f"Generating {n_partners} auto-entrepreneurs x {n_invoices} paid vendor bills "
        f"({n_seed} through the ORM, the others cloned in SQL):",
        flush=True,
    )
    bic = env.ref(f"{ADDON}.category_prestation_services_bic")
    steps = {}
    with timed("partners", steps):
        partners = env["res.partner"].create(
            [
                {
                    "name": f"{PARTNER_PREFIX} {i:04d}",
                    "urssaf_is_auto_entrepreneur": True,
                    "urssaf_turnover_source": "vendor_bills",
                    "urssaf_category_id": bic.id,
                }
                for i in range(n_partners)
            ]
        )
        flush_and_forget(env)
    seed, others = partners[:n_seed], partners[n_seed:]
    journal = env["account.journal"].search([("company_id", "=", company.id), ("type", "=", "purchase")], limit=1)
    values = [bill_values(p, i, journal, vat, service, goods) for p in seed for i in range(n_invoices)]
    bill_ids = []
    with timed(f"{len(values)} bills created and posted (ORM)", steps):
        for start in range(0, len(values), BATCH):
            bills = env["account.move"].create(values[start : start + BATCH])
            bills.action_post()
            bill_ids += bills.ids
            flush_and_forget(env)
    with timed(f"{len(values)} bills paid (ORM)", steps):
        pay(env, env["account.move"].browse(bill_ids), company)
    with timed(f"{len(others) * n_invoices} bills and payments cloned (SQL)", steps):
        clones = [(k // n_seed, seed[k % n_seed].id, partner.id) for k, partner in enumerate(others)]
        clone_accounting(env.cr, clones)
        env.cr.execute("ANALYZE res_partner, account_move, account_move_line, account_partial_reconcile")
        env.cr.commit()
    figures["generation"] = sum(steps.values())
    print(f"  generation: {figures['generation']:.1f} s for {n_partners * n_invoices} bills", flush=True)
    return company, partners


def pay(env, bills, company):
    """Pay each bill 20 days after its date; one in four in two halves, 10
    and 40 days after. Payments are created and posted in batches, then
    matched in batches (what the register payment wizard does one payment
    at a time)."""
    bank = env["account.journal"].search([("company_id", "=", company.id), ("type", "=", "bank")], limit=1)
    for start in range(0, len(bills), BATCH):
        batch = bills[start : start + BATCH]
        values, targets = [], []
        for index, bill in enumerate(batch, start):
            if index % 4:
                instalments = [(bill.amount_total, 20)]
            else:
                half = bill.currency_id.round(bill.amount_total / 2)
                instalments = [(half, 10), (bill.amount_total - half, 40)]
            for amount, delay in instalments:
                values.append(
                    {
                        "payment_type": "outbound",
                        "partner_type": "supplier",
                        "partner_id": bill.commercial_partner_id.id,
                        "amount": amount,
                        "date": bill.invoice_date + timedelta(days=delay),
                        "journal_id": bank.id,
                        "memo": bill.name,
                    }
                )
                targets.append(bill)
        payments = env["account.payment"].create(values)
        payments.action_post()
        plan = [
            (payment.move_id.line_ids + bill.line_ids).filtered(
                lambda line: line.account_id.account_type == "liability_payable" and not line.reconciled
            )
            for payment, bill in zip(payments, targets, strict=True)
        ]
        env["account.move.line"]._reconcile_plan(plan)
        flush_and_forget(env)


# ----------------------------------------------------------------------
# Cloning in SQL
# ----------------------------------------------------------------------

# Inserted in this order; a reference to a table inserted later is set
# afterwards (the foreign keys are not deferrable).
CLONED = (
    "account_full_reconcile",
    "account_move",
    "account_payment",
    "account_move_line",
    "account_partial_reconcile",
)
MAPPED = (*CLONED, "res_partner")
# Which rows of each table a clone copies, from the maps already built (in
# this order).
CLONED_ROWS = {
    "account_move": SQL(
        "SELECT p.k, m.id FROM map_res_partner p JOIN account_move m ON m.commercial_partner_id = p.old_id"
    ),
    "account_move_line": SQL(
        "SELECT m.k, l.id FROM map_account_move m JOIN account_move_line l ON l.move_id = m.old_id"
    ),
    "account_payment": SQL("SELECT m.k, p.id FROM map_account_move m JOIN account_payment p ON p.move_id = m.old_id"),
    "account_full_reconcile": SQL(
        "SELECT DISTINCT m.k, l.full_reconcile_id FROM map_account_move_line m "
        "JOIN account_move_line l ON l.id = m.old_id WHERE l.full_reconcile_id IS NOT NULL"
    ),
    "account_partial_reconcile": SQL(
        "SELECT m.k, r.id FROM map_account_move_line m JOIN account_partial_reconcile r ON r.debit_move_id = m.old_id"
    ),
}
# Unique by journal once posted: each clone gets a suffix.
SUFFIXED = {"account_move": "name", "account_payment": "name", "account_move_line": "move_name"}


def _map(table):
    """The temporary table of a cloned table's ``(k, old_id, new_id)``."""
    return SQL.identifier(f"map_{table}")


def clone_accounting(cr, clones):
    """Copy the moves, payments and reconciliations of seed partners onto
    other partners, with new ids. ``clones``: ``(k, seed_id, new_id)``, the
    ``k``-th copy of a seed partner's books."""
    cr.execute("CREATE TEMP TABLE map_res_partner (k int, old_id int, new_id int) ON COMMIT DROP")
    cr.execute(
        "INSERT INTO map_res_partner SELECT * FROM unnest(%s::int[], %s::int[], %s::int[])",
        [list(column) for column in zip(*clones, strict=True)],
    )
    # Looked up for every cloned row that names a partner: without an index,
    # each look-up read the whole map (hours at 10,000 partners).
    cr.execute("CREATE INDEX ON map_res_partner (old_id, k); ANALYZE map_res_partner")
    for table, rows in CLONED_ROWS.items():
        cr.execute(
            SQL(
                """
                CREATE TEMP TABLE %(map)s ON COMMIT DROP AS
                SELECT rows.k, rows.id AS old_id, nextval(%(sequence)s)::int AS new_id
                  FROM (%(rows)s) AS rows (k, id);
                CREATE INDEX ON %(map)s (old_id, k);
                ANALYZE %(map)s;
                """,
                map=_map(table),
                sequence=f"{table}_id_seq",
                rows=rows,
            )
        )
    deferred = []
    for table in CLONED:
        deferred += _insert_clones(cr, table)
    for table, column, target in deferred:
        cr.execute(
            SQL(
                """
                UPDATE %(table)s AS new SET %(column)s = target.new_id
                  FROM %(map)s m
                  JOIN %(table)s old ON old.id = m.old_id
                  JOIN %(target)s target ON target.k = m.k AND target.old_id = %(old_column)s
                 WHERE new.id = m.new_id
                """,
                table=SQL.identifier(table),
                column=SQL.identifier(column),
                map=_map(table),
                target=_map(target),
                old_column=SQL.identifier("old", column),
            )
        )
    for table in _relation_tables(cr):
        _insert_relation_clones(cr, table)


def _foreign_keys(cr, table):
    """{column: referenced table} of ``table``'s single-column foreign keys."""
    cr.execute(
        """
        SELECT attribute.attname, target.relname
          FROM pg_constraint constraint_
          JOIN pg_class source ON source.oid = constraint_.conrelid
          JOIN pg_class target ON target.oid = constraint_.confrelid
          JOIN pg_attribute attribute
            ON attribute.attrelid = constraint_.conrelid AND attribute.attnum = constraint_.conkey[1]
         WHERE constraint_.contype = 'f' AND source.relname = %s
        """,
        [table],
    )
    return dict(cr.fetchall())


def _columns(cr, table):
    cr.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = %s ORDER BY ordinal_position",
        [table],
    )
    return [row[0] for row in cr.fetchall()]


def _clone_value(table, column, target, inserted):
    """The expression of a cloned row's ``column``, and whether it must be
    set later (it points to a table not filled yet)."""
    value = SQL.identifier("t", column)
    if column == "id":
        return SQL("m.new_id"), False
    if column == SUFFIXED.get(table):
        return SQL("CASE WHEN %(v)s IN ('/', '') THEN %(v)s ELSE %(v)s || '/' || m.k END", v=value), False
    if column == "matching_number":
        return SQL(
            "COALESCE((SELECT f.new_id FROM map_account_full_reconcile f "
            "WHERE f.k = m.k AND f.old_id = t.full_reconcile_id)::varchar, t.matching_number)"
        ), False
    if target not in MAPPED:
        return value, False
    if target in inserted or target == "res_partner":
        return SQL(
            "COALESCE((SELECT x.new_id FROM %s x WHERE x.k = m.k AND x.old_id = %s), %s)", _map(target), value, value
        ), False
    return SQL("NULL"), True


def _insert_clones(cr, table):
    """Insert the clones of ``table``'s rows; return the references to set
    once the tables they point to are filled."""
    keys = _foreign_keys(cr, table)
    inserted = CLONED[: CLONED.index(table) + 1]
    columns, values, deferred = _columns(cr, table), [], []
    for column in columns:
        value, later = _clone_value(table, column, keys.get(column), inserted)
        values.append(value)
        if later:
            deferred.append((table, column, keys[column]))
    cr.execute(
        SQL(
            "INSERT INTO %s (%s) SELECT %s FROM %s m JOIN %s t ON t.id = m.old_id",
            SQL.identifier(table),
            SQL(", ").join(map(SQL.identifier, columns)),
            SQL(", ").join(values),
            _map(table),
            SQL.identifier(table),
        )
    )
    return deferred


def _relation_tables(cr):
    """The many2many tables that hold a cloned table's rows."""
    cr.execute(
        """
        SELECT DISTINCT source.relname
          FROM pg_constraint constraint_
          JOIN pg_class source ON source.oid = constraint_.conrelid
          JOIN pg_class target ON target.oid = constraint_.confrelid
         WHERE constraint_.contype = 'f' AND target.relname = ANY(%s)
           AND NOT EXISTS (
               SELECT 1 FROM pg_attribute a WHERE a.attrelid = source.oid AND a.attname = 'id'
           )
        """,
        [list(CLONED)],
    )
    return [row[0] for row in cr.fetchall()]


def _insert_relation_clones(cr, table):
    """Copy the rows of a many2many table for the cloned rows it links."""
    keys = {column: target for column, target in _foreign_keys(cr, table).items() if target in CLONED}
    aliases = {column: f"m{i}" for i, column in enumerate(keys)}
    first, *others = keys
    joins = [SQL("JOIN %s m0 ON m0.old_id = %s", _map(keys[first]), SQL.identifier("t", first))]
    joins += [
        SQL(
            "JOIN %s %s ON %s = m0.k AND %s = %s",
            _map(keys[column]),
            SQL.identifier(aliases[column]),
            SQL.identifier(aliases[column], "k"),
            SQL.identifier(aliases[column], "old_id"),
            SQL.identifier("t", column),
        )
        for column in others
    ]
    columns = _columns(cr, table)
    values = [
        SQL.identifier(aliases[column], "new_id") if column in keys else SQL.identifier("t", column)
        for column in columns
    ]
    cr.execute(
        SQL(
            "INSERT INTO %s (%s) SELECT %s FROM %s t %s",
            SQL.identifier(table),
            SQL(", ").join(map(SQL.identifier, columns)),
            SQL(", ").join(values),
            SQL.identifier(table),
            SQL(" ").join(joins),
        )
    )


def flush_and_forget(env):
    env.flush_all()
    env.cr.commit()
    env.invalidate_all()


# ----------------------------------------------------------------------
# The two computations
# ----------------------------------------------------------------------


def compute(env, partners, company):
    env.invalidate_all()
    count = env.cr.sql_log_count
    start = time.perf_counter()
    result = env["urssaf.turnover"]._compute_collected(partners, *QUARTER, company)
    return time.perf_counter() - start, env.cr.sql_log_count - count, result


def naive(env, partners, company):
    """The same figures, invoice by invoice and reconciliation by
    reconciliation through the ORM (vendor bills only: the data, in euros):
    the share received of what settled it, each reconciliation's amount per
    category rounded to the cent as the register's rows are."""
    env.invalidate_all()
    start = time.perf_counter()
    date_from, date_to = QUARTER
    goods = env["urssaf.activity.category"].search([("is_goods", "=", True)], limit=1)
    amounts = defaultdict(lambda: defaultdict(float))
    bills = env["account.move"].search(
        [
            ("company_id", "child_of", company.id),
            ("move_type", "in", ("in_invoice", "in_refund", "in_receipt")),
            ("state", "=", "posted"),
            ("commercial_partner_id", "in", partners.ids),
        ]
    )
    for bill in bills:
        ae = bill.commercial_partner_id
        ratio = bill.amount_untaxed / bill.amount_total if bill.amount_total else 1.0
        lines = bill.invoice_line_ids.filtered(lambda line: line.display_type == "product")
        untaxed = sum(lines.mapped("balance"))
        for term in bill.line_ids.filtered(lambda line: line.display_type == "payment_term"):
            for partial in term.matched_debit_ids | term.matched_credit_ids:
                if partial.debit_move_id == term:
                    counterpart, matched = partial.credit_move_id, partial.credit_amount_currency
                else:
                    counterpart, matched = partial.debit_move_id, partial.debit_amount_currency
                other = counterpart.move_id
                if not date_from <= counterpart.date <= date_to or other.state != "posted":
                    continue
                if other.move_type in INVOICE_TYPES or other.exchange_diff_partial_ids:
                    continue
                if counterpart.amount_currency:
                    amount = counterpart.balance * matched / abs(counterpart.amount_currency)
                else:
                    amount = partial.amount if counterpart.balance > 0 else -partial.amount
                amount *= received_share(counterpart)
                row = defaultdict(float)
                for line in lines:
                    template = line.product_id.product_tmpl_id
                    category = template.urssaf_category_id or (
                        goods if template.type == "consu" else ae.urssaf_category_id
                    )
                    row[category.code] += amount * ratio * line.balance / untaxed
                for code, value in row.items():
                    amounts[ae.id][code] += round(value, 2)
    result = {p.id: {c: round(a, 2) for c, a in amounts[p.id].items() if round(a, 2)} for p in partners}
    return time.perf_counter() - start, result


def received_share(counterpart):
    """The share received of what settled ``counterpart`` (a payment, bank
    or offset line): of the lines its entry booked on the other side (its
    bank line's unmatched rest included), the money, the fees an intermediary
    kept (the books' fee accounts) and the offsets, for what they settled
    of another debt. A discount or another write-off was not received."""
    move = counterpart.move_id
    outstanding = move.origin_payment_id.outstanding_account_id
    company = move.company_id.sudo()
    fees = company.parent_ids.urssaf_fee_account_ids
    settling = received = 0.0
    for line in move.line_ids:
        if line.balance * counterpart.balance >= 0:
            continue
        settling += line.balance
        account_type = line.account_id.account_type
        if account_type in ("asset_cash", "liability_credit_card") or line.account_id in outstanding | fees:
            received += line.balance
        elif account_type in ("asset_receivable", "liability_payable"):
            received += line.balance - line.amount_residual
    return received / settling if settling else 0.0


def register_totals(env, partners, company):
    """The quarter's register of receipts, grouped as a pivot view does."""
    env.invalidate_all()
    start = time.perf_counter()
    groups = env["urssaf.register.line"]._read_group(
        [
            ("register_type", "=", "receipts"),
            ("company_id", "=", company.id),
            ("partner_id", "in", partners.ids),
            ("date", ">=", QUARTER[0]),
            ("date", "<=", QUARTER[1]),
        ],
        ["partner_id", "category_id"],
        ["amount:sum"],
    )
    elapsed = time.perf_counter() - start
    totals = defaultdict(dict)
    for partner, category, amount in groups:
        if round(amount, 2):
            totals[partner.id][category.code] = round(amount, 2)
    return elapsed, dict(totals)


def compare(fast, slow):
    """The partners whose amounts differ by more than a cent (a row's share
    computed in floating point may round the other way)."""
    return [
        pid
        for pid in fast
        if set(fast[pid]) != set(slow[pid]) or any(abs(fast[pid][code] - slow[pid][code]) > 0.011 for code in fast[pid])
    ]


def machine_speed(cr):
    """The best of three runs of a fixed query that reads no table: what
    the machine's processor gives PostgreSQL at the time. The same query
    takes 30 % longer at some hours than at others on a shared 2-core
    machine; printed beside the turnover's time, it tells a slower query
    from a slower machine."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        cr.execute("SELECT SUM(hashint4(i)) FROM generate_series(1, 5000000) AS i")
        cr.fetchall()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(env, partners, company, figures, naive_sample=0):
    """Time the collected turnover of the quarter; return its amounts, or
    None when they differ from the naive loop's (no speed is printed then).

    ``naive_sample``: the naive loop runs over that many auto-entrepreneurs
    spread over all of them (0: all), and the ratio compares both
    computations on them."""
    print(f"Collected turnover from {QUARTER[0]} to {QUARTER[1]} of {len(partners)} auto-entrepreneurs:", flush=True)
    speed_before = machine_speed(env.cr)
    runs = [compute(env, partners, company) for _ in range(3)]
    speed_after = machine_speed(env.cr)
    figures["compute"] = min(run[0] for run in runs)
    queries = {run[1] for run in runs}
    fast = runs[0][2]
    one = compute(env, partners[:1], company)
    checked = partners
    if naive_sample and naive_sample < len(partners):
        checked = partners[:: len(partners) // naive_sample][:naive_sample]
    figures["naive"], slow = naive(env, checked, company)
    figures["compute_checked"] = compute(env, checked, company)[0] if checked != partners else figures["compute"]
    # The work first: the same amounts as the naive loop, every time, for
    # every auto-entrepreneur checked, and something collected at all.
    failures = [
        f"partner {pid}: {fast[pid]} != naive {slow.get(pid)}"
        for pid in compare({pid: fast[pid] for pid in checked.ids}, slow)
    ]
    failures += [f"run {i + 1} found other amounts than the first" for i, run in enumerate(runs) if run[2] != fast]
    if set(fast) != set(partners.ids):
        failures.append(f"amounts for {len(fast)} auto-entrepreneurs, {len(partners)} asked")
    # The register of receipts is the same query's rows: grouped, its totals
    # are the declared amounts, to the cent.
    figures["register"], register = register_totals(env, partners, company)
    failures += [
        f"register of partner {pid}: {register.get(pid)} != {fast[pid]}"
        for pid in fast
        if register.get(pid, {}) != fast[pid]
    ]
    total = sum(sum(amounts.values()) for amounts in fast.values())
    if not total:
        failures.append("nothing collected: the generated bills are not paid in the quarter")
    if failures:
        print("  the amounts are wrong, no speed reported:", file=sys.stderr)
        for failure in failures[:10]:
            print(f"    {failure}", file=sys.stderr)
        return None
    print(
        f"  checked: the same amounts as the naive loop for each of the {len(checked)}"
        f"{'' if checked == partners else ' spread over them'}; the register's totals for all of them; "
        f"total collected {total:,.2f} over {sum(1 for a in fast.values() if a)} auto-entrepreneurs"
    )
    print(
        f"  _compute_collected: {figures['compute']:.3f} s (best of 3; first {runs[0][0]:.3f} s), "
        f"{'/'.join(map(str, sorted(queries)))} queries for all of them, {one[1]} for one"
    )
    print(
        f"  the machine's speed: a fixed query (5 million hashes summed, no table read) in {speed_before:.3f} s "
        f"before and {speed_after:.3f} s after (best of 3 each), to compare runs made at other times"
    )
    print(f"  register of receipts grouped by auto-entrepreneur and category: {figures['register']:.3f} s, same totals")
    print(f"  naive ORM loop over {len(checked)}: {figures['naive']:.1f} s")
    print(
        f"  ratio: {figures['naive'] / figures['compute_checked']:.0f}x faster "
        f"(_compute_collected over the same {len(checked)}: {figures['compute_checked']:.3f} s)"
    )
    verdict = [
        ("under 5 s", figures["compute"] < 5),
        ("constant queries", queries == {one[1]}),
        ("20x faster", figures["naive"] >= 20 * figures["compute_checked"]),
    ]
    print("  targets: " + ", ".join(f"{label} {'OK' if ok else 'MISSED'}" for label, ok in verdict))
    return fast


def declare_all(env, partners, company, collected, figures, send=True):
    """Prepare, estimate and declare the quarter of every auto-entrepreneur
    through the embedded sandbox, as the screens and the scheduled action do;
    check each is declared once, with the amounts of the books, before
    printing how fast."""
    from odoo.addons.l10n_fr_urssaf_tierce_declaration.models.urssaf_declaration_preparation import (  # noqa: PLC0415
        PREPARE_BATCH,
    )
    from odoo.addons.l10n_fr_urssaf_tierce_declaration.models.urssaf_sandbox_storage import (  # noqa: PLC0415
        PostgresSandboxStorage,
    )
    from odoo.addons.l10n_fr_urssaf_tierce_declaration.urssaf_api.sandbox import Sandbox  # noqa: PLC0415
    from odoo.addons.l10n_fr_urssaf_tierce_declaration.urssaf_api.seed import synthetic_siret  # noqa: PLC0415

    print(f"Declaring the quarter of {len(partners)} auto-entrepreneurs through the embedded sandbox:", flush=True)
    company.urssaf_environment = "embedded"
    storage = PostgresSandboxStorage(env.cr.dbname)
    sandbox = Sandbox(storage)
    with timed("auto-entrepreneurs registered at the sandbox, accounts and mandates", figures):
        for index, partner in enumerate(partners):
            siret = synthetic_siret(900000 + index)
            partner.write({"company_registry": siret, "urssaf_identifier_type": "siret"})
            if not send:
                continue
            sandbox.add_account(
                siret=siret,
                nom=f"AE{index}",
                prenoms="Bench",
                dateNaissance="1990-01-01",
                periodicite="TRIMESTRIELLE",
                dateDebutActivite="2019-01-01",
                categories=["PRESTATION_SERVICES_BIC", "VENTE_MARCHANDISES"],
                trade="commercant",
                mandate_holder="demo-tiers",
            )
        partners.write(
            {
                "urssaf_eligible": True,
                "urssaf_periodicity": "quarterly",
                "urssaf_activity_start": date(2019, 1, 1),
                "urssaf_checked_at": "2026-01-01 00:00:00",
            }
        )
        active = env["urssaf.mandate"].search([("partner_id", "in", partners.ids), ("state", "=", "active")])
        mandates = env["urssaf.mandate"].create(
            [
                {"partner_id": p.id, "company_id": company.id, "signature_date": date(2025, 1, 2)}
                for p in partners - active.partner_id
            ]
        )
        mandates.write({"state": "active", "urssaf_mandate_ref": "bench"})
    preparation = env["urssaf.declaration.preparation"].with_company(company)
    env.invalidate_all()
    queries = env.cr.sql_log_count
    start = time.perf_counter()
    result = preparation._prepare(partners, company, date.today(), period=QUARTER)
    steps = {"prepare": (len(result["created"] | result["refreshed"]), [], time.perf_counter() - start)}
    queries = env.cr.sql_log_count - queries
    batches = -(-len(partners) // PREPARE_BATCH)
    print(
        f"  prepare: {queries} queries in {batches} batches of at most {PREPARE_BATCH} "
        f"(about {queries // max(batches, 1)} per batch); peak memory of this process "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
        flush=True,
    )
    declarations = result["created"] | result["refreshed"]
    for step in ("estimate", "declare") if send else ():
        start = time.perf_counter()
        outcome = declarations._urssaf_process(step)
        steps[step] = (len(outcome.done), outcome.failed, time.perf_counter() - start)
    figures["prepare"] = steps["prepare"][2]

    # The work first: every auto-entrepreneur's quarter declared, once, with
    # the amounts the books collected.
    failures = [
        f"{step}: {declaration.display_name}: {message}" for step in steps for declaration, message in steps[step][1]
    ]
    quarter = env["urssaf.declaration"].search(
        [("partner_id", "in", partners.ids), ("company_id", "=", company.id), ("period_start", "=", QUARTER[0])]
    )
    if sorted(quarter.partner_id.ids) != sorted(partners.ids) or len(quarter) != len(partners):
        failures.append(f"{len(quarter)} declarations of the quarter for {len(partners)} auto-entrepreneurs")
    with storage.transaction() as transaction:
        held = [d for d in transaction.find("declaration") if d["periode"]["dateDebut"] == QUARTER[0].isoformat()]
    sent = Counter(d["referenceTiers"] for d in held)
    held_turnover = {
        d["referenceTiers"]: {line["categorie"]: float(line["montant"]) for line in d["chiffresAffaires"]} for d in held
    }
    for declaration in quarter:
        books = collected[declaration.partner_id.id]
        lines = {line.category_id.code: line.amount for line in declaration.line_ids if line.amount}
        if lines != books:
            failures.append(f"{declaration.display_name}: declares {lines}, the books collected {books}")
        if not send:
            continue
        if declaration.state not in ("declared", "ordered", "paid") or not declaration.urssaf_number:
            failures.append(f"{declaration.display_name}: {declaration.state}, not declared")
        if sent[declaration.reference_tiers] != 1:
            failures.append(f"{declaration.display_name}: {sent[declaration.reference_tiers]} times at Urssaf")
        elif {c: a for c, a in held_turnover[declaration.reference_tiers].items() if a} != books:
            failures.append(f"{declaration.display_name}: Urssaf holds {held_turnover[declaration.reference_tiers]}")
    if failures:
        print("  the declarations are wrong, no speed reported:", file=sys.stderr)
        for failure in failures[:10]:
            print(f"    {failure}", file=sys.stderr)
        return False
    if send:
        print(f"  checked: {len(quarter)} declarations, each declared once at Urssaf with the amounts of the books")
    else:
        print(f"  checked: {len(quarter)} declarations prepared with the amounts of the books (not sent: --no-send)")
    for step, (done, _failed, elapsed) in steps.items():
        rate = f" = {done / elapsed:.0f} declarations/s" if done and elapsed else ""
        print(f"  {step}: {done} done in {elapsed:.2f} s{rate}")
    return True


# ----------------------------------------------------------------------
# Database
# ----------------------------------------------------------------------


# ----------------------------------------------------------------------
# Before and after: the same quarter with the addon of another revision
# ----------------------------------------------------------------------


def time_only(env, runs):
    """The quarter's computation of every bench auto-entrepreneur, ``runs``
    times, by the addon this process loaded: its figures as one JSON line
    (what ``--before`` reads from each process)."""
    company = env.company
    partners = env["res.partner"].search([("name", "=like", f"{PARTNER_PREFIX} %")], order="name")
    times, queries, total = [], set(), None
    for _ in range(runs):
        elapsed, count, result = compute(env, partners, company)
        times.append(elapsed)
        queries.add(count)
        total = round(sum(sum(amounts.values()) for amounts in result.values()), 2)
    module = sys.modules[type(env["urssaf.turnover"])._compute_collected.__module__]
    print(
        json.dumps(
            {
                "best": min(times),
                "runs": times,
                "queries": sorted(queries),
                "total": total,
                "partners": len(partners),
                "machine": machine_speed(env.cr),
                "source": module.__file__,
            }
        )
    )


def addon_at(revision, folder):
    """``folder/<technical name>``: the addon's files at git ``revision``
    (``git archive``), for another process to load; ``folder``."""
    target = Path(folder) / ADDON
    target.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return Path(folder)


def timed_in_process(db, link_dir, odoo_dir, runs):
    """Run ``--time-only`` in a new process loading the addon of
    ``link_dir``; its figures."""
    command = [
        sys.executable,
        __file__,
        "--db",
        db,
        "--time-only",
        "--runs",
        str(runs),
        "--addons",
        str(addons_path(odoo_dir, link_dir)),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    if not figures["source"].startswith(str(link_dir)):
        raise RuntimeError(f"the process loaded {figures['source']}, not the addon of {link_dir}")
    return figures


def compare_revisions(db, revision, odoo_dir, work, rounds, figures):
    """The quarter with the addon at ``revision`` and now, alternating,
    printed side by side; False when they found different totals."""
    before_dir = addon_at(revision, work / "before")
    now_dir = link_addon(work / "now")
    label = subprocess.run(
        ["git", "-C", str(REPO), "log", "-1", "--format=%h %ad", "--date=short", revision],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"Before and after: the same quarter, the addon at {label} and now, {rounds} rounds alternating:", flush=True)
    results = {"before": [], "now": []}
    for round_index in range(rounds):
        order = (("before", before_dir), ("now", now_dir))
        for name, folder in order if round_index % 2 == 0 else reversed(order):
            run = timed_in_process(db, folder, odoo_dir, 3)
            results[name].append(run)
            print(
                f"  round {round_index + 1}, {name:6}: best {run['best']:.3f} s of "
                f"{', '.join(f'{t:.3f}' for t in run['runs'])}; {'/'.join(map(str, run['queries']))} queries; "
                f"machine {run['machine']:.3f} s; total {run['total']:,.2f}",
                flush=True,
            )
    before = min(run["best"] for run in results["before"])
    now = min(run["best"] for run in results["now"])
    figures["before"], figures["now"] = before, now
    totals = {run["total"] for runs in results.values() for run in runs}
    print(
        f"  before ({label}): {before:.3f} s | now: {now:.3f} s ({(now - before) / before:+.0%}); "
        f"target under 5 s: {'met' if now < 5 else 'MISSED'}; "
        + ("the same total both ways" if len(totals) == 1 else f"DIFFERENT totals {sorted(totals)}"),
        flush=True,
    )
    return len(totals) == 1


def database_exists(name):
    import psycopg2  # noqa: PLC0415 (installed with Odoo's requirements)

    with psycopg2.connect(dbname="postgres") as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return cursor.fetchone() is not None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="use this database, created with the addon when it does not exist, and keep it")
    parser.add_argument("--keep", action="store_true", help="keep the database created")
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument("--invoices", type=int, default=40, help="bills per auto-entrepreneur")
    parser.add_argument(
        "--seed",
        type=int,
        default=25,
        help="auto-entrepreneurs whose bills are created through the ORM, the others being cloned "
        "from them in SQL (--seed 500: all through the ORM, about 40 minutes)",
    )
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=0,
        help="check against the naive loop this many auto-entrepreneurs spread over all of them (default: all; "
        "the loop takes about 30 minutes at 10,000)",
    )
    parser.add_argument(
        "--before",
        metavar="REV",
        help="also time the quarter with the addon at this git revision and now, alternating on the same "
        "database, side by side (e.g. 66c3738, the addon before gross receipts)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --before, each timing both (best of 3)")
    parser.add_argument("--time-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=3, help=argparse.SUPPRESS)
    parser.add_argument("--addons", help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-send",
        action="store_true",
        help="prepare the declarations but do not estimate nor declare them (the embedded sandbox answers one "
        "call at a time: tools/bench_declare.py measures the sending)",
    )
    args = parser.parse_args()

    odoo_dir = find_odoo()
    if args.time_only:
        # One process of --before: the addons path names the revision's addon.
        config.parse_config([f"--addons-path={args.addons}", "--log-level=warn"])
        with Registry(args.db).cursor() as cr:
            time_only(api.Environment(cr, api.SUPERUSER_ID, {}), args.runs)
        return 0
    check_postgres()
    work = Path(tempfile.mkdtemp(prefix="urssaf-bench-"))
    path = addons_path(odoo_dir, addon_folder(work / "addons"))
    db = args.db or f"urssaf_bench_{uuid.uuid4().hex[:8]}"
    figures = {}
    ok = False
    try:
        if not args.db or not database_exists(db):
            with timed("database and addon installed", figures):
                # A database named with --db is kept; a throwaway one is not.
                print(f"Creating database {db} with {ADDON}...", flush=True)
                if install_addon(db, path, work / "data"):
                    print(f"bench_turnover: installing {ADDON} in {db} failed.", file=sys.stderr)
                    return 1
        config.parse_config([f"--addons-path={path}", f"--data-dir={work / 'data'}", "--log-level=warn"])
        registry = Registry(db)
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            company, partners = generate(env, args.partners, args.invoices, args.seed, figures)
            collected = measure(env, partners, company, figures, args.naive_sample)
            if collected is not None and args.before:
                # The other processes read the database: nothing held open here.
                flush_and_forget(env)
                if not compare_revisions(db, args.before, odoo_dir, work, args.rounds, figures):
                    collected = None
            ok = collected is not None and declare_all(env, partners, company, collected, figures, not args.no_send)
        return 0 if ok else 1
    finally:
        if not args.db and not args.keep:
            Registry.delete(db)
            close_db(db)
            subprocess.run(["dropdb", "--if-exists", db], check=False)
        elif not args.db:
            print(f"Database {db} kept: python3 tools/bench_turnover.py --db {db}")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
