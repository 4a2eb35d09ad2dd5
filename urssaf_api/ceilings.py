"""Turnover ceilings of the micro-social scheme (DOMAIN.md, "Ceilings").

The scheme holds while the year's collected turnover stays under the
ceiling of the activity: sales of goods (and accommodation) or services. A
mixed activity must keep its total under the sales ceiling and its services
under the services ceiling. In the year the activity starts, the ceilings
are prorated to the days of activity.
"""

import calendar
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

# (first year, sales ceiling, services ceiling); a new ceiling is one line.
CEILINGS = (
    (2023, Decimal("188700"), Decimal("77700")),
    (2026, Decimal("203100"), Decimal("83600")),
)
SALES_CATEGORY = "VENTE_MARCHANDISES"
WARNING_RATIO = Decimal("0.8")


def ceilings(year: int, activity_start: date | None = None) -> tuple[Decimal, Decimal]:
    """(sales, services) ceilings of ``year``, prorated when the activity
    started during that year."""
    known = [row for row in CEILINGS if row[0] <= year]
    if not known:
        raise ValueError(f"no micro-scheme ceiling known for {year}")
    _first_year, sales, services = known[-1]
    if activity_start and activity_start.year == year:
        days_in_year = 366 if calendar.isleap(year) else 365
        active_days = (date(year, 12, 31) - activity_start).days + 1
        factor = Decimal(active_days) / Decimal(days_in_year)
        sales, services = ((c * factor).quantize(Decimal("1"), ROUND_HALF_UP) for c in (sales, services))
    return sales, services


def ceiling_usage(turnover_by_category, year, activity_start=None) -> Decimal:
    """The share of its ceiling the year's turnover uses: 1 means reached.

    ``turnover_by_category`` maps API categories to amounts.
    """
    sales_ceiling, services_ceiling = ceilings(year, activity_start)
    sales = sum((Decimal(str(v)) for k, v in turnover_by_category.items() if k == SALES_CATEGORY), Decimal(0))
    services = sum((Decimal(str(v)) for k, v in turnover_by_category.items() if k != SALES_CATEGORY), Decimal(0))
    usages = [services / services_ceiling]
    if sales:
        usages.append((sales + services) / sales_ceiling)
    return max(usages)
