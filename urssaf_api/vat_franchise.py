"""VAT exemption thresholds (franchise en base de TVA, CGI art. 293 B).

Separate from the micro-social ceilings (``ceilings``): an auto-entrepreneur
exempt from VAT stays so while its yearly turnover stays under the threshold
of its activity. Two thresholds each:

- the base threshold (seuil de droit commun): turnover over it in year N
  ends the exemption on 1 January of N+1;
- the tolerance threshold (seuil majoré): turnover over it ends the
  exemption at once, from the day it is crossed.

Sales of goods, food to eat on the premises and accommodation have their
own threshold; the other services theirs. A mixed activity keeps its total
under the sales threshold and its services under the services threshold.
The thresholds for the specific activities of lawyers, authors and
performers (CGI art. 293 B, III) are not handled.

Thresholds change with finance laws: one dated row each, with its source
(the legal references, shown as they are).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

SALES_CATEGORY = "VENTE_MARCHANDISES"
WARNING_RATIO = Decimal("0.8")


@dataclass(frozen=True)
class VatThresholds:
    """The thresholds in force from ``since`` (a turnover year's first day)."""

    since: date
    sales: Decimal
    sales_tolerance: Decimal
    services: Decimal
    services_tolerance: Decimal
    source: str


THRESHOLDS = (
    VatThresholds(
        date(2023, 1, 1),
        Decimal("91900"),
        Decimal("101000"),
        Decimal("36800"),
        Decimal("39100"),
        "CGI art. 293 B; BOI-TVA-DECLA-40-10-10",
    ),
    # The single threshold of 25,000 EUR that the loi n° 2025-127 du 14 février
    # 2025 de finances pour 2025 (art. 32) set from 1 March 2025 never applied:
    # suspended in 2025, then repealed by the loi n° 2025-1044 du 3 novembre
    # 2025, which kept these. The projet de loi de finances pour 2026 (art. 25)
    # proposed 37,500 EUR for every activity (25,000 EUR for building works):
    # not in force as far as its sources tell; a new row when a law changes them.
    VatThresholds(
        date(2025, 1, 1),
        Decimal("85000"),
        Decimal("93500"),
        Decimal("37500"),
        Decimal("41250"),
        # Set by the finance law for 2024 (transposing directive (UE) 2020/285),
        # kept by the law of 3 November 2025.
        "CGI art. 293 B; loi n° 2023-1322 du 29 décembre 2023; loi n° 2025-1044 du 3 novembre 2025",
    ),
)


def vat_thresholds(year: int) -> VatThresholds:
    """The thresholds a turnover of ``year`` is measured against."""
    known = [row for row in THRESHOLDS if row.since.year <= year]
    if not known:
        raise ValueError(f"no VAT exemption threshold known for {year}")
    return known[-1]


def _split(turnover_by_category):
    sales = sum((Decimal(str(v)) for k, v in turnover_by_category.items() if k == SALES_CATEGORY), Decimal(0))
    services = sum((Decimal(str(v)) for k, v in turnover_by_category.items() if k != SALES_CATEGORY), Decimal(0))
    return sales, services


def vat_usage(turnover_by_category, year) -> tuple[Decimal, Decimal]:
    """(share of the base threshold, share of the tolerance threshold) the
    year's turnover uses: 1 means reached. ``turnover_by_category`` maps API
    categories to amounts."""
    thresholds = vat_thresholds(year)
    sales, services = _split(turnover_by_category)
    base = [services / thresholds.services]
    tolerance = [services / thresholds.services_tolerance]
    if sales:
        base.append((sales + services) / thresholds.sales)
        tolerance.append((sales + services) / thresholds.sales_tolerance)
    return max(base), max(tolerance)


def vat_state(turnover_by_category, year) -> str:
    """Where the year's turnover stands: ``ok`` (under 80 % of the base
    threshold), ``approaching`` (from 80 %), ``over_threshold`` (over the
    base threshold: VAT from next 1 January) or ``over_tolerance`` (over the
    tolerance threshold: VAT from the day it was crossed)."""
    base, tolerance = vat_usage(turnover_by_category, year)
    if tolerance > 1:
        return "over_tolerance"
    if base > 1:
        return "over_threshold"
    if base >= WARNING_RATIO:
        return "approaching"
    return "ok"
