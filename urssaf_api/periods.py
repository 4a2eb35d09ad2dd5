"""Declaration periods of an auto-entrepreneur (pure date rules).

A period is a ``(start, end)`` pair of dates, both included. Periodicity is
the API's ``Periodicite``: ``"MENSUELLE"`` or ``"TRIMESTRIELLE"``.

- Regular periods are calendar months or calendar quarters.
- The first period runs from the activity start to the end of the third
  calendar month after the start month (monthly), or to the end of the
  calendar quarter after the start quarter (quarterly).
- A period can be declared once it has ended (from the day after its end).
- Due date: last day of the month after the period's end (monthly), which for
  quarters gives 30 April, 31 July, 31 October and 31 January; a deadline on a
  Saturday, a Sunday or a French public holiday moves to the next working day
  (Urssaf's published 2024 calendar: 1 July, 2 September, 2 December), and
  the SEPA debit happens on that day.

Public holidays are those of the ``holidays`` package for France without a
subdivision: the national ones of metropolitan France. Urssaf keeps one
calendar for the whole country; the days off of Alsace-Moselle (Good Friday,
26 December) and of the overseas departments move no deadline.
"""

import calendar
import functools
from collections.abc import Iterator
from datetime import date, timedelta

import holidays

__all__ = [
    "MONTHLY",
    "PERIODICITIES",
    "QUARTERLY",
    "due_date",
    "expected_period",
    "first_period",
    "is_period_ended",
    "is_valid_period",
    "is_working_day",
    "last_ended_period",
    "period_containing",
    "periods_between",
    "working_day_on_or_after",
]

MONTHLY = "MENSUELLE"
QUARTERLY = "TRIMESTRIELLE"
PERIODICITIES = (MONTHLY, QUARTERLY)

Period = tuple[date, date]

_ONE_DAY = timedelta(days=1)


def _months_per_period(periodicity: str) -> int:
    if periodicity == MONTHLY:
        return 1
    if periodicity == QUARTERLY:
        return 3
    raise ValueError(f"unknown periodicity {periodicity!r}")


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def period_containing(day: date, periodicity: str) -> Period:
    """The calendar month or quarter that contains ``day``."""
    months = _months_per_period(periodicity)
    first_month = (day.month - 1) // months * months + 1
    year, last_month = _add_months(day.year, first_month, months - 1)
    return date(day.year, first_month, 1), _month_end(year, last_month)


def first_period(activity_start: date, periodicity: str) -> Period:
    """The long first period that starts on the activity start date."""
    if periodicity == MONTHLY:
        year, month = _add_months(activity_start.year, activity_start.month, 3)
        return activity_start, _month_end(year, month)
    start_quarter_end = period_containing(activity_start, periodicity)[1]
    return activity_start, period_containing(start_quarter_end + _ONE_DAY, periodicity)[1]


def expected_period(activity_start: date, periodicity: str, day: date) -> Period | None:
    """The declaration period that contains ``day`` (the first period while
    ``day`` falls in it), or None before the activity start."""
    if day < activity_start:
        return None
    first = first_period(activity_start, periodicity)
    if day <= first[1]:
        return first
    return period_containing(day, periodicity)


def is_valid_period(activity_start: date, periodicity: str, start: date, end: date) -> bool:
    """Whether ``start..end`` is exactly one declaration period of this account."""
    return expected_period(activity_start, periodicity, start) == (start, end)


def is_period_ended(period_end: date, today: date) -> bool:
    """A period can be declared from the day after its last day."""
    return period_end < today


@functools.lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.France(years=year))


def load_calendar(*years: int) -> None:
    """Build the public holidays of ``years`` now. The first look-up of a year
    builds its calendar (about 0.1 s, several times that on a busy machine):
    a service answering requests loads it when it starts, not inside the
    first request that needs a deadline."""
    for year in years:
        _public_holidays(year)


def is_working_day(day: date) -> bool:
    """Monday to Friday, and not a French public holiday."""
    return day.weekday() < 5 and day not in _public_holidays(day.year)


def working_day_on_or_after(day: date) -> date:
    """``day`` if it is a working day, else the next working day."""
    while not is_working_day(day):
        day += _ONE_DAY
    return day


def due_date(period_end: date, periodicity: str) -> date:
    """Deadline of the declaration (and payment) of the period ending on
    ``period_end``: the last day of the following month, or the next working
    day when that day is not one."""
    _months_per_period(periodicity)
    return working_day_on_or_after(_month_end(*_add_months(period_end.year, period_end.month, 1)))


def last_ended_period(today: date, activity_start: date, periodicity: str) -> Period | None:
    """The most recent period that has ended on ``today``, or None when even
    the first period is still running."""
    current = expected_period(activity_start, periodicity, today - _ONE_DAY)
    if current is None or is_period_ended(current[1], today):
        return current
    return expected_period(activity_start, periodicity, current[0] - _ONE_DAY)


def periods_between(activity_start: date, periodicity: str, since: date, until: date) -> Iterator[Period]:
    """Declaration periods that overlap ``since..until``, oldest first."""
    day = max(since, activity_start)
    while day <= until:
        period = expected_period(activity_start, periodicity, day)
        yield period
        day = period[1] + _ONE_DAY
