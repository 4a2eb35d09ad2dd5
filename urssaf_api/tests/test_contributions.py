"""Contributions: figures of Urssaf's official engine, rates, rounding, validation."""

import dataclasses
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from .. import contributions
from ..contributions import (
    CATEGORIES,
    CHAMBERS,
    LABELS,
    TRADES,
    ContributionLine,
    acre_applies,
    acre_end,
    compute_contributions,
    social_contribution_rate,
    total,
)

TABLE_PATH = Path(__file__).parent / "data" / "official_engine_cases.json"
TABLE = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
# Kinds the engine leaves unrounded (kept to the cent per line).
UNROUNDED_KINDS = {"cfp", "versement_liberatoire"}


def _case_id(case):
    return f"{case['id']}-{case['trade']}-{case['chamber']}-{case['period_start']}"


def _compute(case):
    return compute_contributions(
        {category: Decimal(amount) for category, amount in case["turnover"].items()},
        date.fromisoformat(case["period_start"]),
        case["trade"],
        versement_liberatoire=case["versement_liberatoire"],
        chamber=case["chamber"],
        acre_start=date.fromisoformat(case["acre_start"]) if "acre_start" in case else None,
    )


@pytest.mark.parametrize("case", TABLE["cases"], ids=_case_id)
def test_lines_match_official_engine(case):
    expected = [
        (line["category"], LABELS[line["kind"]], Decimal(line["base"]), Decimal(line["rate"]), Decimal(line["amount"]))
        for line in case["lines"]
    ]
    got = [(line.category, line.label, line.base, line.rate, line.amount) for line in _compute(case)]
    assert got == expected


@pytest.mark.parametrize("case", TABLE["cases"], ids=_case_id)
def test_total_matches_official_engine(case):
    due = total(_compute(case))
    assert due == Decimal(case["total"])
    # The engine's own whole-declaration figure keeps CFP and VL unrounded:
    # per-line rounding moves the total by at most half a cent a line.
    unrounded_lines = sum(1 for line in case["lines"] if line["kind"] in UNROUNDED_KINDS)
    assert abs(due - Decimal(repr(case["engine_total"]))) <= Decimal("0.005") * unrounded_lines + Decimal("1e-9")


def test_table_comes_from_the_engine_and_covers_every_input():
    header, cases = TABLE["header"], TABLE["cases"]
    assert header["modele_social_version"] and header["publicodes_version"] and header["generated_at"]
    assert header["case_count"] == len(cases)
    assert {c for case in cases for c in case["turnover"]} == set(CATEGORIES)
    assert {case["trade"] for case in cases} == set(TRADES)
    assert {case["chamber"] for case in cases if case["trade"] == "artisan"} == set(CHAMBERS)
    assert {case["versement_liberatoire"] for case in cases} == {False, True}
    assert {line["kind"] for case in cases for line in case["lines"]} == set(LABELS)
    starts = {case["period_start"] for case in cases}
    for before, change in [
        ("2022-09-01", "2022-10-01"),
        ("2024-06-01", "2024-07-01"),
        ("2024-12-01", "2025-01-01"),
        ("2025-12-01", "2026-01-01"),
    ]:
        assert {before, change} <= starts


def test_table_covers_acre():
    acre_cases = [case for case in TABLE["cases"] if "acre_start" in case]
    assert TABLE["header"]["acre_cases"] == len(acre_cases)
    applied = [case for case in acre_cases if case["acre_applies"]]
    assert {c for case in applied for c in case["turnover"]} == set(CATEGORIES)
    assert {case["acre_share"] for case in applied} == {50, 75}
    assert {case["versement_liberatoire"] for case in applied} == {False, True}
    assert {case["trade"] for case in applied} == set(TRADES)
    starts = {case["period_start"] for case in applied}
    for before, change in [
        ("2022-09-01", "2022-10-01"),
        ("2024-06-01", "2024-07-01"),
        ("2024-12-01", "2025-01-01"),
        ("2025-12-01", "2026-01-01"),
    ]:
        assert {before, change} <= starts
    # the last day of the 50 % share and the first of the 75 % share
    assert {"2026-06-30", "2026-07-01"} <= {case["acre_start"] for case in applied}
    # ACRE's end, monthly and quarterly: the engine was not given ACRE after it
    ended = {(case["acre_start"], case["period_start"]) for case in acre_cases if not case["acre_applies"]}
    assert ended == {("2026-07-20", "2027-07-01"), ("2025-01-15", "2026-01-01")}


@pytest.mark.parametrize("case", [case for case in TABLE["cases"] if "acre_start" in case], ids=_case_id)
def test_acre_coverage_and_share_agree_with_the_table(case):
    acre_start, period_start = date.fromisoformat(case["acre_start"]), date.fromisoformat(case["period_start"])
    assert acre_applies(acre_start, period_start) is case["acre_applies"]
    if case["acre_applies"]:
        assert contributions.rate_in_force(contributions.ACRE_SHARES, acre_start) == case["acre_share"]


# DOMAIN.md: from the activity start to the end of the third calendar quarter
# after the start quarter.
@pytest.mark.parametrize(
    ("activity_start", "end"),
    [
        ("2026-07-06", "2027-06-30"),
        ("2026-07-01", "2027-06-30"),
        ("2026-09-30", "2027-06-30"),
        ("2026-06-30", "2027-03-31"),
        ("2026-01-01", "2026-12-31"),
        ("2025-01-15", "2025-12-31"),
        ("2025-10-01", "2026-09-30"),
        ("2025-12-31", "2026-09-30"),
        ("2024-02-29", "2024-12-31"),
    ],
)
def test_acre_end(activity_start, end):
    assert acre_end(date.fromisoformat(activity_start)) == date.fromisoformat(end)


def test_acre_covers_whole_periods_up_to_its_end():
    start = date(2026, 7, 20)
    assert acre_applies(start, start)
    assert acre_applies(start, date(2027, 6, 1))
    assert acre_applies(start, datetime(2027, 6, 1, 0, 0))
    assert not acre_applies(start, date(2027, 7, 1))
    assert not acre_applies(None, start)


# Reduced rates as modele-social 11.1.0 gives them (percent), by activity
# start and period start: the share of the normal rate, rounded to 0.1 point
# (BNC from 2026: 0.01), and CIPAV rates of their own.
@pytest.mark.parametrize(
    ("activity_start", "day", "sales", "bic", "bnc", "cipav"),
    [
        ("2022-03-01", "2022-09-01", "6.4", "11", "11", "12.1"),
        ("2022-03-01", "2022-10-01", "6.2", "10.6", "10.6", "12.1"),  # 6.15 and 10.55 rounded up
        ("2024-02-01", "2024-07-01", "6.2", "10.6", "11.6", "13.9"),  # 11.55 up
        ("2024-06-01", "2025-01-01", "6.2", "10.6", "12.3", "13.9"),
        ("2025-05-01", "2026-01-01", "6.2", "10.6", "12.8", "13.4"),
        ("2026-06-30", "2026-07-01", "6.2", "10.6", "12.8", "13.4"),  # 50 %
        ("2026-07-01", "2026-07-01", "9.2", "15.9", "19.2", "13.4"),  # 75 %; 9.225 down; CIPAV unchanged
        ("2026-07-20", "2027-06-01", "9.2", "15.9", "19.2", "13.4"),
        ("2026-07-20", "2027-07-01", "12.3", "21.2", "25.6", "23.2"),  # ACRE has ended
    ],
)
def test_acre_rates(activity_start, day, sales, bic, bnc, cipav):
    acre_start, day = date.fromisoformat(activity_start), date.fromisoformat(day)
    rates = [social_contribution_rate(category, day, acre_start) for category in CATEGORIES]
    assert rates == [Decimal(sales), Decimal(bic), Decimal(bnc), Decimal(cipav)]
    assert [str(rate) for rate in rates] == [sales, bic, bnc, cipav]  # no trailing zeros


def test_acre_lowers_the_social_contributions_only():
    turnover = {"VENTE_MARCHANDISES": Decimal("4321.09"), "PRESTATION_SERVICES_BIC": Decimal("6543.21")}
    day = date(2026, 10, 1)
    normal = compute_contributions(turnover, day, "artisan", True, "moselle")
    reduced = compute_contributions(turnover, day, "artisan", True, "moselle", acre_start=date(2026, 7, 6))
    changed = [(a.category, a.label) for a, b in zip(normal, reduced, strict=True) if a != b]
    assert changed == [
        ("VENTE_MARCHANDISES", LABELS["cotisations"]),
        ("PRESTATION_SERVICES_BIC", LABELS["cotisations"]),
    ]
    # 4321.09 x 9.2 % = 397.54 -> 398; 6543.21 x 15.9 % = 1040.37 -> 1040
    assert [line.amount for line in reduced if line.label == LABELS["cotisations"]] == [
        Decimal("398.00"),
        Decimal("1040.00"),
    ]
    later = compute_contributions(turnover, date(2027, 7, 1), "artisan", True, "moselle", acre_start=date(2026, 7, 6))
    assert later == compute_contributions(turnover, date(2027, 7, 1), "artisan", True, "moselle")


# Rates as DOMAIN.md states them, on the day before and the day of each change.
@pytest.mark.parametrize(
    ("category", "day", "rate"),
    [
        ("VENTE_MARCHANDISES", date(2022, 9, 30), "12.8"),
        ("VENTE_MARCHANDISES", date(2022, 10, 1), "12.3"),
        ("VENTE_MARCHANDISES", date(2026, 1, 1), "12.3"),
        ("PRESTATION_SERVICES_BIC", date(2022, 9, 30), "22"),
        ("PRESTATION_SERVICES_BIC", date(2022, 10, 1), "21.2"),
        ("PRESTATION_SERVICES_BIC", date(2026, 1, 1), "21.2"),
        # DOMAIN.md gives no BNC rate before 2022-10; 22 % is the engine's.
        ("PRESTATION_SERVICES_BNC", date(2022, 9, 30), "22"),
        ("PRESTATION_SERVICES_BNC", date(2022, 10, 1), "21.1"),
        ("PRESTATION_SERVICES_BNC", date(2024, 6, 30), "21.1"),
        ("PRESTATION_SERVICES_BNC", date(2024, 7, 1), "23.1"),
        ("PRESTATION_SERVICES_BNC", date(2024, 12, 31), "23.1"),
        ("PRESTATION_SERVICES_BNC", date(2025, 1, 1), "24.6"),
        ("PRESTATION_SERVICES_BNC", date(2025, 12, 31), "24.6"),
        ("PRESTATION_SERVICES_BNC", date(2026, 1, 1), "25.6"),
        ("PRESTATION_SERVICES_BNC_CIPAV", date(2022, 10, 1), "21.2"),
        ("PRESTATION_SERVICES_BNC_CIPAV", date(2024, 6, 30), "21.2"),
        ("PRESTATION_SERVICES_BNC_CIPAV", date(2024, 7, 1), "23.2"),
        ("PRESTATION_SERVICES_BNC_CIPAV", date(2026, 1, 1), "23.2"),
    ],
)
def test_social_rate_at_each_change(category, day, rate):
    assert social_contribution_rate(category, day) == Decimal(rate)


def test_rate_before_the_checked_range_is_refused():
    with pytest.raises(ValueError, match="2022-01-01"):
        social_contribution_rate("VENTE_MARCHANDISES", date(2021, 12, 31))
    with pytest.raises(ValueError, match="2022-01-01"):
        compute_contributions({"VENTE_MARCHANDISES": Decimal("10")}, date(2021, 12, 1), "commercant")


def _lines_by_label(turnover, trade, chamber="general", day=date(2025, 4, 1), versement_liberatoire=True):
    lines = compute_contributions(turnover, day, trade, versement_liberatoire=versement_liberatoire, chamber=chamber)
    return {(line.category, line.label): (line.rate, line.amount) for line in lines}


# CFP, TFC and VL rates of DOMAIN.md, on 1 000 € of each category.
@pytest.mark.parametrize(
    ("trade", "chamber", "category", "cfp", "tfc", "vl"),
    [
        ("commercant", "general", "VENTE_MARCHANDISES", "0.1", "0.015", "1"),
        ("commercant", "general", "PRESTATION_SERVICES_BIC", "0.1", "0.044", "1.7"),
        ("commercant", "moselle", "PRESTATION_SERVICES_BIC", "0.1", "0.044", "1.7"),
        ("artisan", "general", "VENTE_MARCHANDISES", "0.3", "0.22", "1"),
        ("artisan", "general", "PRESTATION_SERVICES_BIC", "0.3", "0.48", "1.7"),
        ("artisan", "alsace", "VENTE_MARCHANDISES", "0.3", "0.29", "1"),
        ("artisan", "alsace", "PRESTATION_SERVICES_BIC", "0.3", "0.65", "1.7"),
        ("artisan", "moselle", "VENTE_MARCHANDISES", "0.3", "0.37", "1"),
        ("artisan", "moselle", "PRESTATION_SERVICES_BIC", "0.3", "0.83", "1.7"),
        ("liberal", "general", "PRESTATION_SERVICES_BNC", "0.2", None, "2.2"),
        ("liberal", "alsace", "PRESTATION_SERVICES_BNC_CIPAV", "0.2", None, "2.2"),
        ("commercant", "general", "PRESTATION_SERVICES_BNC", "0.2", None, "2.2"),
    ],
)
def test_rates_of_cfp_tfc_and_versement_liberatoire(trade, chamber, category, cfp, tfc, vl):
    lines = _lines_by_label({category: Decimal("1000.00")}, trade, chamber)
    assert lines[category, LABELS["cfp"]][0] == Decimal(cfp)
    assert lines[category, LABELS["versement_liberatoire"]][0] == Decimal(vl)
    if tfc is None:
        assert (category, LABELS["tfc"]) not in lines
    else:
        assert lines[category, LABELS["tfc"]][0] == Decimal(tfc)


@pytest.mark.parametrize(
    ("category", "day", "turnover", "amount"),
    [
        ("VENTE_MARCHANDISES", date(2025, 1, 1), "1500.00", "185.00"),  # 184.5 up
        ("VENTE_MARCHANDISES", date(2025, 1, 1), "1499.99", "184.00"),  # 184.49877 down
        ("PRESTATION_SERVICES_BIC", date(2025, 1, 1), "1125.00", "239.00"),  # 238.5
        ("PRESTATION_SERVICES_BNC", date(2025, 1, 1), "1250.00", "308.00"),  # 307.5
        ("PRESTATION_SERVICES_BNC_CIPAV", date(2024, 7, 1), "1062.50", "247.00"),  # 246.5
        ("PRESTATION_SERVICES_BNC_CIPAV", date(2024, 7, 1), "1062.49", "246.00"),  # 246.49768
    ],
)
def test_social_contributions_rounded_half_up_to_the_euro(category, day, turnover, amount):
    lines = _lines_by_label({category: Decimal(turnover)}, "liberal", day=day, versement_liberatoire=False)
    assert lines[category, LABELS["cotisations"]][1] == Decimal(amount)


def test_chamber_fee_rounded_to_the_euro_cfp_and_vl_to_the_cent():
    lines = _lines_by_label({"PRESTATION_SERVICES_BIC": Decimal("1000.00")}, "artisan", "alsace")
    assert lines["PRESTATION_SERVICES_BIC", LABELS["tfc"]][1] == Decimal("7.00")  # 6.50
    lines = _lines_by_label({"PRESTATION_SERVICES_BIC": Decimal("999.99")}, "artisan", "alsace")
    assert lines["PRESTATION_SERVICES_BIC", LABELS["tfc"]][1] == Decimal("6.00")  # 6.4999
    lines = _lines_by_label({"PRESTATION_SERVICES_BNC": Decimal("1002.50")}, "liberal")
    assert lines["PRESTATION_SERVICES_BNC", LABELS["cfp"]][1] == Decimal("2.01")  # 2.005
    assert lines["PRESTATION_SERVICES_BNC", LABELS["versement_liberatoire"]][1] == Decimal("22.06")  # 22.055


def test_lines_come_category_by_category_with_labels_in_french():
    lines = compute_contributions(
        {"PRESTATION_SERVICES_BIC": Decimal("2000.00"), "VENTE_MARCHANDISES": Decimal("1000.00")},
        date(2025, 4, 1),
        "commercant",
        versement_liberatoire=True,
    )
    assert [(line.category, line.label) for line in lines] == [
        ("VENTE_MARCHANDISES", "Cotisations sociales"),
        ("VENTE_MARCHANDISES", "Contribution à la formation professionnelle"),
        ("VENTE_MARCHANDISES", "Taxe pour frais de chambre"),
        ("VENTE_MARCHANDISES", "Versement libératoire de l'impôt sur le revenu"),
        ("PRESTATION_SERVICES_BIC", "Cotisations sociales"),
        ("PRESTATION_SERVICES_BIC", "Contribution à la formation professionnelle"),
        ("PRESTATION_SERVICES_BIC", "Taxe pour frais de chambre"),
        ("PRESTATION_SERVICES_BIC", "Versement libératoire de l'impôt sur le revenu"),
    ]
    # 123 + 1.00 + 0 (0.15) + 10.00 + 424 + 2.00 + 1 (0.88) + 34.00
    assert total(lines) == Decimal("595.00")


def test_zero_turnover_gives_zero_lines_and_no_turnover_no_lines():
    lines = compute_contributions({"VENTE_MARCHANDISES": Decimal("0")}, date(2025, 1, 1), "artisan")
    assert [line.label for line in lines] == [LABELS["cotisations"], LABELS["cfp"], LABELS["tfc"]]
    assert all(line.amount == 0 and line.base == Decimal("0.00") for line in lines)
    assert compute_contributions({}, date(2025, 1, 1), "artisan") == []
    assert total([]) == Decimal("0.00")


def test_amounts_and_bases_have_two_decimals():
    lines = compute_contributions({"PRESTATION_SERVICES_BNC": 1234}, date(2026, 1, 1), "liberal", True)
    assert all(line.base.as_tuple().exponent == -2 and line.amount.as_tuple().exponent == -2 for line in lines)
    assert total(lines).as_tuple().exponent == -2


def test_chamber_only_changes_craftsmen_fees():
    turnover = {"VENTE_MARCHANDISES": Decimal("5000.00"), "PRESTATION_SERVICES_BIC": Decimal("5000.00")}
    day = date(2025, 1, 1)
    for trade in ("commercant", "liberal"):
        general = compute_contributions(turnover, day, trade)
        assert compute_contributions(turnover, day, trade, chamber="alsace") == general
        assert compute_contributions(turnover, day, trade, chamber="moselle") == general
    assert compute_contributions(turnover, day, "artisan", chamber="moselle") != compute_contributions(
        turnover, day, "artisan"
    )


def test_datetime_period_start_is_read_as_its_date():
    turnover = {"PRESTATION_SERVICES_BNC": Decimal("1000.00")}
    assert compute_contributions(turnover, datetime(2026, 1, 1, 0, 0), "liberal") == compute_contributions(
        turnover, date(2026, 1, 1), "liberal"
    )


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"turnover": {"PRESTATION_SERVICES": Decimal("1")}}, "PRESTATION_SERVICES"),
        ({"trade": "agriculteur"}, "agriculteur"),
        ({"chamber": "corse"}, "corse"),
        ({"turnover": {"VENTE_MARCHANDISES": Decimal("-0.01")}}, "negative"),
        ({"turnover": {"VENTE_MARCHANDISES": Decimal("10.005")}}, "fractions of a cent"),
        ({"turnover": {"VENTE_MARCHANDISES": "dix euros"}}, "not a number"),
        ({"turnover": {"VENTE_MARCHANDISES": Decimal("NaN")}}, "not a finite number"),
    ],
)
def test_invalid_input_is_refused_naming_it(kwargs, named):
    arguments = {"turnover": {"VENTE_MARCHANDISES": Decimal("100")}, "trade": "commercant", **kwargs}
    with pytest.raises(ValueError, match=named):
        compute_contributions(period_start=date(2025, 1, 1), **arguments)


def test_float_turnover_is_refused():
    with pytest.raises(TypeError, match="VENTE_MARCHANDISES"):
        compute_contributions({"VENTE_MARCHANDISES": 10.1}, date(2025, 1, 1), "commercant")


def test_unknown_category_for_rate_lookup_is_refused():
    with pytest.raises(ValueError, match="PRESTATION_SERVICES"):
        social_contribution_rate("PRESTATION_SERVICES", date(2025, 1, 1))


def test_contribution_line_is_immutable():
    line = ContributionLine("VENTE_MARCHANDISES", LABELS["cotisations"], Decimal("1"), Decimal("12.3"), Decimal("0"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        line.amount = Decimal("1")
    assert contributions.TRADES == ("commercant", "artisan", "liberal")
    assert contributions.CHAMBERS == ("general", "alsace", "moselle")
