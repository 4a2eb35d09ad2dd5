from datetime import date
from decimal import Decimal

import pytest

from ..ceilings import ceiling_usage, ceilings


@pytest.mark.parametrize(
    "year, expected",
    [
        (2024, (Decimal("188700"), Decimal("77700"))),
        (2025, (Decimal("188700"), Decimal("77700"))),
        (2026, (Decimal("203100"), Decimal("83600"))),
        (2027, (Decimal("203100"), Decimal("83600"))),
    ],
)
def test_ceilings_by_year(year, expected):
    assert ceilings(year) == expected


def test_first_year_is_prorated_to_the_days_of_activity():
    # 2026-07-01 to 2026-12-31: 184 days of 365.
    assert ceilings(2026, date(2026, 7, 1)) == (
        (Decimal("203100") * 184 / 365).quantize(Decimal("1")),
        (Decimal("83600") * 184 / 365).quantize(Decimal("1")),
    )
    # An activity started in an earlier year is not prorated.
    assert ceilings(2026, date(2020, 7, 1)) == (Decimal("203100"), Decimal("83600"))


def test_usage_of_services_and_of_mixed_activities():
    assert ceiling_usage({"PRESTATION_SERVICES_BNC": 41800}, 2026) == Decimal("0.5")
    assert ceiling_usage({"VENTE_MARCHANDISES": 101550}, 2026) == Decimal("0.5")
    # Mixed: services stay under their ceiling (10 %) but the total counts
    # against the sales ceiling (203,100 * 0.9 = 182,790).
    usage = ceiling_usage({"VENTE_MARCHANDISES": 174430, "PRESTATION_SERVICES_BIC": 8360}, 2026)
    assert usage == Decimal(182790) / Decimal(203100)


def test_unknown_year():
    with pytest.raises(ValueError):
        ceilings(2010)
