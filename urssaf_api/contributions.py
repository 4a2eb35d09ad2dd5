"""Contributions owed on an auto-entrepreneur's declared turnover for one period.

Rates and rounding follow Urssaf's official rules engine (the ``modele-social``
rules run by ``publicodes``); ``tests/data/official_engine_cases.json``, made by
``tools/official_engine``, holds the engine's figures the tests compare with.

Rounding, per line: social contributions and each chamber fee to the euro,
training contribution and versement libératoire to the cent, always half up.
A category declared with a zero turnover still gets its lines, with zero
amounts; a category absent from the turnover gets none.

ACRE (aid to business creators) lowers the social contributions rate, not
the CFP, the TFC nor the versement libératoire, from the activity start to
the end of the third calendar quarter after the start quarter: the AE pays
50 % of the normal rate for a business started before 2026-07-01, 75 % from
then on, and the engine rounds that reduced rate (see ``acre_rate``).
"""

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CATEGORIES = (
    "VENTE_MARCHANDISES",
    "PRESTATION_SERVICES_BIC",
    "PRESTATION_SERVICES_BNC",
    "PRESTATION_SERVICES_BNC_CIPAV",
)
BIC_CATEGORIES = ("VENTE_MARCHANDISES", "PRESTATION_SERVICES_BIC")
TRADES = ("commercant", "artisan", "liberal")  # drives CFP and TFC
CHAMBERS = ("general", "alsace", "moselle")  # craftsmen TFC variants

SOCIAL = "cotisations"
CFP = "cfp"
TFC = "tfc"
VERSEMENT_LIBERATOIRE = "versement_liberatoire"
LABELS = {
    SOCIAL: "Cotisations sociales",
    CFP: "Contribution à la formation professionnelle",
    TFC: "Taxe pour frais de chambre",
    VERSEMENT_LIBERATOIRE: "Versement libératoire de l'impôt sur le revenu",
}

EURO = Decimal("1")
CENT = Decimal("0.01")


def _schedule(*changes):
    """((effective ISO date, percent), ...) -> ((date, Decimal), ...), oldest first."""
    return tuple((date.fromisoformat(day), Decimal(rate)) for day, rate in changes)


# Rate tables, percent, each in force from its date on. The first date of
# each is the earliest the official engine was checked at: older periods are
# refused rather than guessed. A legal change is one more pair at the end.
RATES_KNOWN_FROM = date(2022, 1, 1)
_FROM = RATES_KNOWN_FROM.isoformat()

SOCIAL_RATES = {
    "VENTE_MARCHANDISES": _schedule((_FROM, "12.8"), ("2022-10-01", "12.3")),
    "PRESTATION_SERVICES_BIC": _schedule((_FROM, "22"), ("2022-10-01", "21.2")),
    "PRESTATION_SERVICES_BNC": _schedule(
        (_FROM, "22"),
        ("2022-10-01", "21.1"),
        ("2024-07-01", "23.1"),
        ("2025-01-01", "24.6"),
        ("2026-01-01", "25.6"),
    ),
    "PRESTATION_SERVICES_BNC_CIPAV": _schedule((_FROM, "21.2"), ("2024-07-01", "23.2")),
}

# Formation professionnelle: BIC turnover at the trade's rate, BNC (CIPAV
# included) at one rate whatever the trade.
CFP_RATES = {
    ("commercant", "BIC"): _schedule((_FROM, "0.1")),
    ("artisan", "BIC"): _schedule((_FROM, "0.3")),
    ("liberal", "BIC"): _schedule((_FROM, "0.1")),
    ("commercant", "BNC"): _schedule((_FROM, "0.2")),
    ("artisan", "BNC"): _schedule((_FROM, "0.2")),
    ("liberal", "BNC"): _schedule((_FROM, "0.2")),
}

# Chambre de commerce (traders, same rates everywhere) or chambre de métiers
# (craftsmen, with the Alsace and Moselle rates); BIC turnover only, none for
# liberal professions.
_TRADER_FEES = {
    "VENTE_MARCHANDISES": _schedule((_FROM, "0.015")),
    "PRESTATION_SERVICES_BIC": _schedule((_FROM, "0.044")),
}
TFC_RATES = {
    ("commercant", "general"): _TRADER_FEES,
    ("commercant", "alsace"): _TRADER_FEES,
    ("commercant", "moselle"): _TRADER_FEES,
    ("artisan", "general"): {
        "VENTE_MARCHANDISES": _schedule((_FROM, "0.22")),
        "PRESTATION_SERVICES_BIC": _schedule((_FROM, "0.48")),
    },
    ("artisan", "alsace"): {
        "VENTE_MARCHANDISES": _schedule((_FROM, "0.29")),
        "PRESTATION_SERVICES_BIC": _schedule((_FROM, "0.65")),
    },
    ("artisan", "moselle"): {
        "VENTE_MARCHANDISES": _schedule((_FROM, "0.37")),
        "PRESTATION_SERVICES_BIC": _schedule((_FROM, "0.83")),
    },
}

# ACRE: the share of the normal social contributions rate an AE under ACRE
# pays, by the date its activity started. 50 % since 2020 (the engine has it
# for any earlier start too, but a period from 2022 on is under ACRE only for
# an activity started from April 2021).
ACRE_SHARES = _schedule(("2020-01-01", "50"), ("2026-07-01", "75"))
# The engine rounds the reduced rate (percent) to this step, by period date.
ACRE_RATE_STEPS = {
    "VENTE_MARCHANDISES": _schedule((_FROM, "0.1")),
    "PRESTATION_SERVICES_BIC": _schedule((_FROM, "0.1")),
    "PRESTATION_SERVICES_BNC": _schedule((_FROM, "0.1"), ("2026-01-01", "0.01")),
}
# CIPAV: the engine has reduced rates of their own for businesses started
# from 2020-04-01 (every business still under ACRE since 2022), whatever the
# share: 13.4 % from 2026 under the 75 % share too.
ACRE_CIPAV_RATES = _schedule((_FROM, "12.1"), ("2024-07-01", "13.9"), ("2026-01-01", "13.4"))

VERSEMENT_LIBERATOIRE_RATES = {
    "VENTE_MARCHANDISES": _schedule((_FROM, "1")),
    "PRESTATION_SERVICES_BIC": _schedule((_FROM, "1.7")),
    "PRESTATION_SERVICES_BNC": _schedule((_FROM, "2.2")),
    "PRESTATION_SERVICES_BNC_CIPAV": _schedule((_FROM, "2.2")),
}


@dataclass(frozen=True)
class ContributionLine:
    category: str  # a contract Categorie, e.g. "VENTE_MARCHANDISES"
    label: str  # French label, one of LABELS' values
    base: Decimal  # turnover the rate applies to (2 decimals)
    rate: Decimal  # percent, e.g. Decimal("21.2")
    amount: Decimal  # rounded as the official engine does (2 decimals)


def rate_in_force(schedule, day):
    """The rate of ``schedule`` in force on ``day``."""
    if isinstance(day, datetime):
        day = day.date()
    current = None
    for effective, rate in schedule:
        if effective > day:
            break
        current = rate
    if current is None:
        raise ValueError(f"no contribution rate known before {schedule[0][0].isoformat()}: {day.isoformat()}")
    return current


def acre_end(activity_start: date) -> date:
    """Last day ACRE covers for an activity started on ``activity_start``:
    the end of the third calendar quarter after the start quarter."""
    quarter = activity_start.year * 4 + (activity_start.month - 1) // 3 + 3
    year, last_month = quarter // 4, quarter % 4 * 3 + 3
    return date(year, last_month, calendar.monthrange(year, last_month)[1])


def acre_applies(acre_start: date | None, period_start: date) -> bool:
    """Whether the period starting on ``period_start`` gets the ACRE rate, for
    an AE under ACRE whose activity started on ``acre_start`` (None: no ACRE)."""
    if acre_start is None:
        return False
    if isinstance(period_start, datetime):
        period_start = period_start.date()
    return period_start <= acre_end(acre_start)


def acre_rate(category, day, acre_start):
    """Reduced social contributions rate (percent) of ``category`` on ``day``
    for an AE under ACRE whose activity started on ``acre_start``: the share
    (``ACRE_SHARES``) of the normal rate, rounded half up as the engine does."""
    _check_choice("category", category, CATEGORIES)
    if category == "PRESTATION_SERVICES_BNC_CIPAV":
        return rate_in_force(ACRE_CIPAV_RATES, day)
    reduced = rate_in_force(SOCIAL_RATES[category], day) * rate_in_force(ACRE_SHARES, acre_start) / 100
    reduced = reduced.quantize(rate_in_force(ACRE_RATE_STEPS[category], day), rounding=ROUND_HALF_UP)
    return reduced.quantize(EURO) if reduced == reduced.to_integral_value() else reduced.normalize()


def social_contribution_rate(category, day, acre_start=None):
    """Social contributions rate (percent) of ``category`` on ``day``; the
    ACRE rate when ``acre_start`` (the activity start of an AE under ACRE)
    is given and ACRE still covers a period starting on ``day``."""
    _check_choice("category", category, CATEGORIES)
    if acre_applies(acre_start, day):
        return acre_rate(category, day, acre_start)
    return rate_in_force(SOCIAL_RATES[category], day)


def compute_contributions(
    turnover: Mapping[str, Decimal],
    period_start: date,
    trade: str,
    versement_liberatoire: bool = False,
    chamber: str = "general",
    acre_start: date | None = None,
) -> list[ContributionLine]:
    """Lines owed on ``turnover`` (category -> amount collected in the period).

    Rates are those in force on ``period_start``; lines come category by
    category (in ``CATEGORIES`` order): social contributions, CFP, TFC where
    the trade pays one on that category, versement libératoire if opted.
    ``acre_start``: the activity start of an AE under ACRE, None otherwise;
    the social contributions get the ACRE rate while ACRE covers the period.
    """
    _check_choice("trade", trade, TRADES)
    _check_choice("chamber", chamber, CHAMBERS)
    if isinstance(period_start, datetime):
        period_start = period_start.date()
    if isinstance(acre_start, datetime):
        acre_start = acre_start.date()
    bases = {}
    for category, amount in turnover.items():
        _check_choice("category", category, CATEGORIES)
        bases[category] = _base(category, amount)
    lines = []
    for category in CATEGORIES:
        if category not in bases:
            continue
        base = bases[category]
        group = "BIC" if category in BIC_CATEGORIES else "BNC"
        owed = [
            (SOCIAL, social_contribution_rate(category, period_start, acre_start), EURO),
            (CFP, rate_in_force(CFP_RATES[trade, group], period_start), CENT),
        ]
        chamber_fees = TFC_RATES.get((trade, chamber), {})
        if category in chamber_fees:
            owed.append((TFC, rate_in_force(chamber_fees[category], period_start), EURO))
        if versement_liberatoire:
            owed.append(
                (VERSEMENT_LIBERATOIRE, rate_in_force(VERSEMENT_LIBERATOIRE_RATES[category], period_start), CENT)
            )
        for kind, rate, step in owed:
            amount = (base * rate / 100).quantize(step, rounding=ROUND_HALF_UP).quantize(CENT)
            lines.append(ContributionLine(category, LABELS[kind], base, rate, amount))
    return lines


def total(lines) -> Decimal:
    """Amount due for ``lines``: the sum of their rounded amounts."""
    return sum((line.amount for line in lines), Decimal("0.00"))


def _check_choice(what, value, choices):
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(choices)}")


def _base(category, amount):
    # Binary floats cannot hold cents exactly: the caller must say what it means.
    if isinstance(amount, (float, bool)):
        raise TypeError(f"turnover of {category} must be a Decimal or an int, not {type(amount).__name__}")
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"turnover of {category} is not a number: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"turnover of {category} is not a finite number: {amount!r}")
    if value < 0:
        raise ValueError(f"turnover of {category} is negative: {value}")
    try:
        cents = value.quantize(CENT)
    except InvalidOperation:
        raise ValueError(f"turnover of {category} is too large: {value}") from None
    if cents != value:
        raise ValueError(f"turnover of {category} has fractions of a cent: {value}")
    return cents
