from datetime import date

import pytest

from ..periods import (
    MONTHLY,
    QUARTERLY,
    due_date,
    expected_period,
    first_period,
    is_period_ended,
    is_valid_period,
    last_ended_period,
    period_containing,
    periods_between,
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


@pytest.mark.parametrize(
    "period_end, periodicity, due",
    [
        ("2026-01-31", MONTHLY, "2026-02-28"),
        ("2028-01-31", MONTHLY, "2028-02-29"),
        ("2026-02-28", MONTHLY, "2026-03-31"),
        ("2026-03-31", MONTHLY, "2026-04-30"),
        ("2026-12-31", MONTHLY, "2027-01-31"),
        ("2026-03-31", QUARTERLY, "2026-04-30"),
        ("2026-06-30", QUARTERLY, "2026-07-31"),
        ("2026-09-30", QUARTERLY, "2026-10-31"),
        ("2026-12-31", QUARTERLY, "2027-01-31"),
    ],
)
def test_due_date(period_end, periodicity, due):
    assert due_date(D(period_end), periodicity) == D(due)


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
