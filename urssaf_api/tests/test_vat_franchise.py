from decimal import Decimal

import pytest

from ..vat_franchise import THRESHOLDS, vat_state, vat_thresholds, vat_usage


@pytest.mark.parametrize(
    "year, expected",
    [
        (2023, (Decimal("91900"), Decimal("101000"), Decimal("36800"), Decimal("39100"))),
        (2024, (Decimal("91900"), Decimal("101000"), Decimal("36800"), Decimal("39100"))),
        # DOMAIN.md: 85,000 EUR sales / 37,500 EUR services, with the tolerance
        # thresholds of the law (93,500 / 41,250) since 2025.
        (2025, (Decimal("85000"), Decimal("93500"), Decimal("37500"), Decimal("41250"))),
        (2026, (Decimal("85000"), Decimal("93500"), Decimal("37500"), Decimal("41250"))),
    ],
)
def test_thresholds_by_year(year, expected):
    row = vat_thresholds(year)
    assert (row.sales, row.sales_tolerance, row.services, row.services_tolerance) == expected


def test_every_row_is_dated_and_sourced_and_in_order():
    assert [row.since for row in THRESHOLDS] == sorted(row.since for row in THRESHOLDS)
    for row in THRESHOLDS:
        assert row.since.month == 1 and row.since.day == 1
        assert "293 B" in row.source
        assert row.sales < row.sales_tolerance and row.services < row.services_tolerance


def test_no_threshold_before_the_first_row():
    with pytest.raises(ValueError):
        vat_thresholds(THRESHOLDS[0].since.year - 1)


@pytest.mark.parametrize(
    "turnover, state",
    [
        ({"PRESTATION_SERVICES_BNC": 29999.99}, "ok"),
        # 80 % of 37,500.
        ({"PRESTATION_SERVICES_BNC": 30000}, "approaching"),
        ({"PRESTATION_SERVICES_BIC": 37500}, "approaching"),
        ({"PRESTATION_SERVICES_BIC": 37500.01}, "over_threshold"),
        ({"PRESTATION_SERVICES_BNC": 41250}, "over_threshold"),
        ({"PRESTATION_SERVICES_BNC": 41250.01}, "over_tolerance"),
        ({"VENTE_MARCHANDISES": 67999}, "ok"),
        ({"VENTE_MARCHANDISES": 68000}, "approaching"),
        ({"VENTE_MARCHANDISES": 85000.01}, "over_threshold"),
        ({"VENTE_MARCHANDISES": 93500.01}, "over_tolerance"),
        # Mixed: 20,000 of services (53 %) but 90,000 in all, over the sales
        # threshold.
        ({"VENTE_MARCHANDISES": 70000, "PRESTATION_SERVICES_BIC": 20000}, "over_threshold"),
        # Mixed: the total is fine (60 %), the services alone are over theirs.
        ({"VENTE_MARCHANDISES": 10000, "PRESTATION_SERVICES_BIC": 41300}, "over_tolerance"),
        ({}, "ok"),
    ],
)
def test_state_in_2026(turnover, state):
    assert vat_state(turnover, 2026) == state


def test_usage_is_the_share_of_the_threshold_the_activity_uses_most():
    base, tolerance = vat_usage({"VENTE_MARCHANDISES": 42500, "PRESTATION_SERVICES_BIC": 7500}, 2026)
    # Services 20 % of 37,500; the total 50,000 is 58.8 % of 85,000.
    assert base == Decimal(50000) / Decimal(85000)
    assert tolerance == Decimal(50000) / Decimal(93500)
    assert vat_usage({"PRESTATION_SERVICES_BNC": 18750}, 2026)[0] == Decimal("0.5")
    # The thresholds of the turnover's year.
    assert vat_usage({"PRESTATION_SERVICES_BNC": 18400}, 2024)[0] == Decimal("0.5")
