import calendar
from datetime import date, timedelta

import pytest

from ..periods import (
    MONTHLY,
    QUARTERLY,
    due_date,
    expected_period,
    first_period,
    is_period_ended,
    is_valid_period,
    is_working_day,
    last_ended_period,
    period_containing,
    periods_between,
    working_day_on_or_after,
)

D = date.fromisoformat


@pytest.mark.parametrize(
    "day, periodicity, start, end",
    [
        ("2026-01-01", MONTHLY, "2026-01-01", "2026-01-31"),
        ("2026-02-14", MONTHLY, "2026-02-01", "2026-02-28"),
        ("2024-02-29", MONTHLY, "2024-02-01", "2024-02-29"),
        ("2026-12-31", MONTHLY, "2026-12-01", "2026-12-31"),
        ("2026-01-01", QUARTERLY, "2026-01-01", "2026-03-31"),
        ("2026-05-17", QUARTERLY, "2026-04-01", "2026-06-30"),
        ("2026-09-30", QUARTERLY, "2026-07-01", "2026-09-30"),
        ("2026-10-01", QUARTERLY, "2026-10-01", "2026-12-31"),
    ],
)
def test_period_containing(day, periodicity, start, end):
    assert period_containing(D(day), periodicity) == (D(start), D(end))


@pytest.mark.parametrize(
    "activity_start, periodicity, end",
    [
        # monthly: to the end of the 3rd calendar month after the start month
        ("2026-09-15", MONTHLY, "2026-12-31"),
        ("2026-07-20", MONTHLY, "2026-10-31"),
        ("2026-10-01", MONTHLY, "2027-01-31"),
        ("2026-11-30", MONTHLY, "2027-02-28"),
        ("2027-11-05", MONTHLY, "2028-02-29"),
        ("2026-01-31", MONTHLY, "2026-04-30"),
        # quarterly: to the end of the quarter after the start quarter
        ("2026-09-15", QUARTERLY, "2026-12-31"),
        ("2026-07-01", QUARTERLY, "2026-12-31"),
        ("2026-11-02", QUARTERLY, "2027-03-31"),
        ("2026-01-01", QUARTERLY, "2026-06-30"),
    ],
)
def test_first_period(activity_start, periodicity, end):
    assert first_period(D(activity_start), periodicity) == (D(activity_start), D(end))


# Every deadline of 2024-2027, written out by hand from a calendar: the last
# day of the month after the period, moved past Saturdays, Sundays and the
# French public holidays (metropolitan France) to the next working day.
# Comments say why a deadline moved; 15 of the 48 do.
MONTHLY_DEADLINES_2024_2027 = [
    ("2023-12-31", "2024-01-31"),  # Wednesday
    ("2024-01-31", "2024-02-29"),  # Thursday
    ("2024-02-29", "2024-04-02"),  # 31 March Easter Sunday, 1 April Easter Monday
    ("2024-03-31", "2024-04-30"),  # Tuesday
    ("2024-04-30", "2024-05-31"),  # Friday
    ("2024-05-31", "2024-07-01"),  # 30 June Sunday (Urssaf's 2024 calendar)
    ("2024-06-30", "2024-07-31"),  # Wednesday
    ("2024-07-31", "2024-09-02"),  # 31 August Saturday (Urssaf's 2024 calendar)
    ("2024-08-31", "2024-09-30"),  # Monday
    ("2024-09-30", "2024-10-31"),  # Thursday
    ("2024-10-31", "2024-12-02"),  # 30 November Saturday (Urssaf's 2024 calendar)
    ("2024-11-30", "2024-12-31"),  # Tuesday
    ("2024-12-31", "2025-01-31"),  # Friday
    ("2025-01-31", "2025-02-28"),  # Friday
    ("2025-02-28", "2025-03-31"),  # Monday
    ("2025-03-31", "2025-04-30"),  # Wednesday
    ("2025-04-30", "2025-06-02"),  # 31 May Saturday
    ("2025-05-31", "2025-06-30"),  # Monday
    ("2025-06-30", "2025-07-31"),  # Thursday
    ("2025-07-31", "2025-09-01"),  # 31 August Sunday
    ("2025-08-31", "2025-09-30"),  # Tuesday
    ("2025-09-30", "2025-10-31"),  # Friday
    ("2025-10-31", "2025-12-01"),  # 30 November Sunday
    ("2025-11-30", "2025-12-31"),  # Wednesday
    ("2025-12-31", "2026-02-02"),  # 31 January Saturday
    ("2026-01-31", "2026-03-02"),  # 28 February Saturday
    ("2026-02-28", "2026-03-31"),  # Tuesday
    ("2026-03-31", "2026-04-30"),  # Thursday
    ("2026-04-30", "2026-06-01"),  # 31 May Sunday
    ("2026-05-31", "2026-06-30"),  # Tuesday
    ("2026-06-30", "2026-07-31"),  # Friday
    ("2026-07-31", "2026-08-31"),  # Monday
    ("2026-08-31", "2026-09-30"),  # Wednesday
    ("2026-09-30", "2026-11-02"),  # 31 October Saturday, 1 November Sunday (All Saints)
    ("2026-10-31", "2026-11-30"),  # Monday
    ("2026-11-30", "2026-12-31"),  # Thursday
    ("2026-12-31", "2027-02-01"),  # 31 January Sunday
    ("2027-01-31", "2027-03-01"),  # 28 February Sunday
    ("2027-02-28", "2027-03-31"),  # Wednesday
    ("2027-03-31", "2027-04-30"),  # Friday
    ("2027-04-30", "2027-05-31"),  # Monday
    ("2027-05-31", "2027-06-30"),  # Wednesday
    ("2027-06-30", "2027-08-02"),  # 31 July Saturday
    ("2027-07-31", "2027-08-31"),  # Tuesday
    ("2027-08-31", "2027-09-30"),  # Thursday
    ("2027-09-30", "2027-11-02"),  # 31 October Sunday, 1 November Monday (All Saints)
    ("2027-10-31", "2027-11-30"),  # Tuesday
    ("2027-11-30", "2027-12-31"),  # Friday
]
QUARTERLY_DEADLINES_2024_2027 = [
    ("2023-12-31", "2024-01-31"),  # Wednesday
    ("2024-03-31", "2024-04-30"),  # Tuesday
    ("2024-06-30", "2024-07-31"),  # Wednesday
    ("2024-09-30", "2024-10-31"),  # Thursday
    ("2024-12-31", "2025-01-31"),  # Friday
    ("2025-03-31", "2025-04-30"),  # Wednesday
    ("2025-06-30", "2025-07-31"),  # Thursday
    ("2025-09-30", "2025-10-31"),  # Friday
    ("2025-12-31", "2026-02-02"),  # 31 January Saturday
    ("2026-03-31", "2026-04-30"),  # Thursday
    ("2026-06-30", "2026-07-31"),  # Friday
    ("2026-09-30", "2026-11-02"),  # 31 October Saturday, 1 November Sunday (All Saints)
    ("2026-12-31", "2027-02-01"),  # 31 January Sunday
    ("2027-03-31", "2027-04-30"),  # Friday
    ("2027-06-30", "2027-08-02"),  # 31 July Saturday
    ("2027-09-30", "2027-11-02"),  # 31 October Sunday, 1 November Monday (All Saints)
]


@pytest.mark.parametrize("period_end, due", MONTHLY_DEADLINES_2024_2027)
def test_monthly_deadlines_2024_2027(period_end, due):
    assert due_date(D(period_end), MONTHLY) == D(due)


@pytest.mark.parametrize("period_end, due", QUARTERLY_DEADLINES_2024_2027)
def test_quarterly_deadlines_2024_2027(period_end, due):
    assert due_date(D(period_end), QUARTERLY) == D(due)


def test_the_tables_hold_every_deadline_of_2024_2027():
    months = [(year, month) for year in range(2024, 2028) for month in range(1, 13)]
    first_days = [date(year, month, 1) for year, month in months]
    # one row per deadline month, for the period that ended the month before
    assert [D(end) for end, _ in MONTHLY_DEADLINES_2024_2027] == [day - timedelta(days=1) for day in first_days]
    month_ends = [date(year, month, calendar.monthrange(year, month)[1]) for year, month in months]
    moved = [
        D(due)
        for (_, due), month_end in zip(MONTHLY_DEADLINES_2024_2027, month_ends, strict=True)
        if D(due) != month_end
    ]
    assert len(moved) == 15
    # quarters end with March, June, September and December, and share those months' deadlines
    assert QUARTERLY_DEADLINES_2024_2027 == [
        row for row in MONTHLY_DEADLINES_2024_2027 if row[0][5:7] in ("03", "06", "09", "12")
    ]


def test_urssaf_published_2024_calendar():
    # Urssaf's 2024 calendar: deadlines of 30 June, 31 August and 30 November
    # 2024 (a Sunday, a Saturday, a Saturday) fell on 1 July, 2 September and
    # 2 December.
    assert due_date(D("2024-05-31"), MONTHLY) == D("2024-07-01")
    assert due_date(D("2024-07-31"), MONTHLY) == D("2024-09-02")
    assert due_date(D("2024-10-31"), MONTHLY) == D("2024-12-02")


@pytest.mark.parametrize(
    "period_end, periodicity, due",
    [
        ("2028-01-31", MONTHLY, "2028-02-29"),  # leap year, Tuesday
        ("2028-09-30", QUARTERLY, "2028-10-31"),  # Tuesday
    ],
)
def test_due_date(period_end, periodicity, due):
    assert due_date(D(period_end), periodicity) == D(due)


@pytest.mark.parametrize(
    "day, working",
    [
        ("2026-11-27", True),  # Friday
        ("2026-11-28", False),  # Saturday
        ("2026-11-29", False),  # Sunday
        ("2027-11-01", False),  # All Saints, a Monday
        ("2025-06-09", False),  # Whit Monday
        ("2024-05-08", False),  # Victory Day, a Wednesday
        ("2024-05-09", False),  # Ascension, a Thursday
        ("2026-07-14", False),  # Bastille Day, a Tuesday
        # Days off in Alsace-Moselle only, or overseas only: Urssaf's
        # calendar is national, they move no deadline.
        ("2024-03-29", True),  # Good Friday
        ("2024-12-26", True),  # Saint Stephen's Day, a Thursday
        ("2024-05-27", True),  # abolition of slavery in Guadeloupe, a Monday
        ("2024-12-20", True),  # abolition of slavery in La Réunion, a Friday
    ],
)
def test_is_working_day(day, working):
    assert is_working_day(D(day)) is working


@pytest.mark.parametrize(
    "day, expected",
    [
        ("2026-11-30", "2026-11-30"),  # a working day stays
        ("2024-05-08", "2024-05-10"),  # Victory Day, then Ascension
        ("2027-12-24", "2027-12-24"),  # Friday, Christmas Eve is no holiday
        ("2027-12-25", "2027-12-27"),  # Christmas on a Saturday
        ("2027-12-31", "2027-12-31"),  # Friday
        ("2028-01-01", "2028-01-03"),  # New Year's Day on a Saturday, across the year end
        ("2026-12-26", "2026-12-28"),  # Saturday
    ],
)
def test_working_day_on_or_after(day, expected):
    assert working_day_on_or_after(D(day)) == D(expected)


@pytest.mark.parametrize(
    "activity_start, periodicity, start, end, valid",
    [
        # regular periods after the first one
        ("2019-03-01", MONTHLY, "2026-10-01", "2026-10-31", True),
        ("2019-03-01", MONTHLY, "2024-02-01", "2024-02-29", True),
        ("2019-03-01", MONTHLY, "2024-02-01", "2024-02-28", False),
        ("2019-03-01", MONTHLY, "2026-10-02", "2026-10-31", False),
        ("2019-03-01", MONTHLY, "2026-10-01", "2026-11-30", False),
        ("2019-03-01", MONTHLY, "2026-10-01", "2026-12-31", False),
        ("2017-06-15", QUARTERLY, "2026-07-01", "2026-09-30", True),
        ("2017-06-15", QUARTERLY, "2026-08-01", "2026-10-31", False),
        ("2017-06-15", QUARTERLY, "2026-07-01", "2026-07-31", False),
        # the long first period, and the regular periods it swallows
        ("2026-07-20", MONTHLY, "2026-07-20", "2026-10-31", True),
        ("2026-07-20", MONTHLY, "2026-07-20", "2026-07-31", False),
        ("2026-07-20", MONTHLY, "2026-08-01", "2026-08-31", False),
        ("2026-07-20", MONTHLY, "2026-10-01", "2026-10-31", False),
        ("2026-07-20", MONTHLY, "2026-11-01", "2026-11-30", True),
        ("2026-09-15", QUARTERLY, "2026-09-15", "2026-12-31", True),
        ("2026-09-15", QUARTERLY, "2026-10-01", "2026-12-31", False),
        ("2026-09-15", QUARTERLY, "2027-01-01", "2027-03-31", True),
        # before the activity start
        ("2026-07-20", MONTHLY, "2026-06-01", "2026-06-30", False),
        ("2026-07-20", MONTHLY, "2026-07-01", "2026-10-31", False),
    ],
)
def test_is_valid_period(activity_start, periodicity, start, end, valid):
    assert is_valid_period(D(activity_start), periodicity, D(start), D(end)) is valid


def test_expected_period_before_activity_start_is_none():
    assert expected_period(D("2026-07-20"), MONTHLY, D("2026-07-19")) is None
    assert expected_period(D("2026-07-20"), MONTHLY, D("2026-07-20")) == (D("2026-07-20"), D("2026-10-31"))


def test_a_period_ends_the_day_after_its_last_day():
    assert not is_period_ended(D("2026-10-31"), D("2026-10-31"))
    assert is_period_ended(D("2026-10-31"), D("2026-11-01"))


@pytest.mark.parametrize(
    "today, activity_start, periodicity, expected",
    [
        ("2026-11-27", "2019-03-01", MONTHLY, ("2026-10-01", "2026-10-31")),
        ("2026-11-01", "2019-03-01", MONTHLY, ("2026-10-01", "2026-10-31")),
        ("2026-10-31", "2019-03-01", MONTHLY, ("2026-09-01", "2026-09-30")),
        ("2027-01-01", "2019-03-01", MONTHLY, ("2026-12-01", "2026-12-31")),
        ("2026-11-27", "2017-06-15", QUARTERLY, ("2026-07-01", "2026-09-30")),
        ("2027-01-05", "2017-06-15", QUARTERLY, ("2026-10-01", "2026-12-31")),
        ("2026-11-27", "2026-07-20", MONTHLY, ("2026-07-20", "2026-10-31")),
        ("2026-12-01", "2026-07-20", MONTHLY, ("2026-11-01", "2026-11-30")),
        ("2026-11-27", "2026-09-15", QUARTERLY, None),
        ("2026-09-10", "2026-09-15", QUARTERLY, None),
    ],
)
def test_last_ended_period(today, activity_start, periodicity, expected):
    result = last_ended_period(D(today), D(activity_start), periodicity)
    assert result == (expected and (D(expected[0]), D(expected[1])))


def test_periods_between_starts_with_the_first_period():
    result = list(periods_between(D("2026-07-20"), MONTHLY, D("2026-01-01"), D("2027-01-15")))
    assert result == [
        (D("2026-07-20"), D("2026-10-31")),
        (D("2026-11-01"), D("2026-11-30")),
        (D("2026-12-01"), D("2026-12-31")),
        (D("2027-01-01"), D("2027-01-31")),
    ]


def test_periods_between_keeps_overlapping_quarters_across_a_year_end():
    result = list(periods_between(D("2015-09-01"), QUARTERLY, D("2026-11-15"), D("2027-02-01")))
    assert result == [(D("2026-10-01"), D("2026-12-31")), (D("2027-01-01"), D("2027-03-31"))]


def test_unknown_periodicity_is_refused():
    with pytest.raises(ValueError):
        period_containing(D("2026-01-01"), "ANNUELLE")
    with pytest.raises(ValueError):
        due_date(D("2026-01-31"), "ANNUELLE")
