"""The period resolver: every typed choice against the data's last day, in calendar terms."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tools.periods import Period, PeriodError, describe, previous, resolve

SUNDAY = date(2026, 11, 1)  # the demo shop's last day ends a week
WEDNESDAY = date(2026, 11, 4)  # a data set that ends mid-week
MONTH_END = date(2026, 10, 31)
FIRST = date(2026, 8, 1)


def window(last: date, **period: object) -> tuple[date | None, date | None]:
    return resolve(Period.model_validate(period), FIRST, last)


@pytest.mark.parametrize(
    ("last", "period", "expected"),
    [
        (WEDNESDAY, {"kind": "all"}, (None, None)),
        (WEDNESDAY, {"kind": "today"}, (WEDNESDAY, WEDNESDAY)),
        (WEDNESDAY, {"kind": "yesterday"}, (date(2026, 11, 3), date(2026, 11, 3))),
        # this week: Monday up to the last day; last week: the latest complete Monday-Sunday week
        (WEDNESDAY, {"kind": "this_week"}, (date(2026, 11, 2), WEDNESDAY)),
        (WEDNESDAY, {"kind": "last_week"}, (date(2026, 10, 26), date(2026, 11, 1))),
        (SUNDAY, {"kind": "this_week"}, (date(2026, 10, 26), SUNDAY)),
        (SUNDAY, {"kind": "last_week"}, (date(2026, 10, 26), SUNDAY)),  # data up to a Sunday: that week
        (WEDNESDAY, {"kind": "this_month"}, (date(2026, 11, 1), WEDNESDAY)),
        (WEDNESDAY, {"kind": "last_month"}, (date(2026, 10, 1), MONTH_END)),
        (MONTH_END, {"kind": "last_month"}, (date(2026, 10, 1), MONTH_END)),  # October is complete
        (WEDNESDAY, {"kind": "this_quarter"}, (date(2026, 10, 1), WEDNESDAY)),
        (WEDNESDAY, {"kind": "last_quarter"}, (date(2026, 7, 1), date(2026, 9, 30))),
        (date(2026, 12, 31), {"kind": "last_quarter"}, (date(2026, 10, 1), date(2026, 12, 31))),
        (WEDNESDAY, {"kind": "this_year"}, (date(2026, 1, 1), WEDNESDAY)),
        (WEDNESDAY, {"kind": "last_year"}, (date(2025, 1, 1), date(2025, 12, 31))),
        (WEDNESDAY, {"kind": "last_n_days", "n": 7}, (date(2026, 10, 29), WEDNESDAY)),
        (WEDNESDAY, {"kind": "last_n_weeks", "n": 4}, (date(2026, 10, 8), WEDNESDAY)),
        (WEDNESDAY, {"kind": "last_n_months", "n": 3}, (date(2026, 8, 5), WEDNESDAY)),
        (date(2026, 3, 31), {"kind": "last_n_months", "n": 1}, (date(2026, 3, 1), date(2026, 3, 31))),
        # data that ends on a month's last day: the last 3 months are 3 whole months
        (date(1998, 6, 30), {"kind": "last_n_months", "n": 3}, (date(1998, 4, 1), date(1998, 6, 30))),
        # "the week ending 2026-10-11": seven days ending on a given day, no arithmetic by the model
        (
            WEDNESDAY,
            {"kind": "last_n_days", "n": 7, "end": "2026-10-11"},
            (date(2026, 10, 5), date(2026, 10, 11)),
        ),
        (WEDNESDAY, {"kind": "month", "month": 9}, (date(2026, 9, 1), date(2026, 9, 30))),
        (
            WEDNESDAY,
            {"kind": "month", "month": 12},
            (date(2025, 12, 1), date(2025, 12, 31)),
        ),  # latest December
        (WEDNESDAY, {"kind": "month", "month": 2, "year": 2024}, (date(2024, 2, 1), date(2024, 2, 29))),
        (WEDNESDAY, {"kind": "year", "year": 2025}, (date(2025, 1, 1), date(2025, 12, 31))),
        (WEDNESDAY, {"kind": "date", "start": "2026-10-22"}, (date(2026, 10, 22), date(2026, 10, 22))),
        (
            WEDNESDAY,
            {"kind": "range", "start": "2026-10-01", "end": "2026-10-15"},
            (date(2026, 10, 1), date(2026, 10, 15)),
        ),
        (WEDNESDAY, {"kind": "range", "start": "2026-10-20"}, (date(2026, 10, 20), None)),
    ],
)
def test_each_kind_resolves_against_the_datas_last_day(last: date, period: dict, expected: tuple) -> None:
    assert window(last, **period) == expected


def test_impossible_periods_are_clear_errors() -> None:
    with pytest.raises(PeriodError, match="ends .* before it starts"):
        window(WEDNESDAY, kind="range", start="2026-10-20", end="2026-10-01")
    with pytest.raises(PeriodError, match="no events"):
        resolve(Period(kind="last_week"), None, None)
    with pytest.raises(PeriodError, match="needs its date"):
        window(WEDNESDAY, kind="date")


@pytest.mark.parametrize(
    ("period", "start", "end", "expected"),
    [
        (
            {"kind": "last_week"},
            date(2026, 10, 26),
            date(2026, 11, 1),
            (date(2026, 10, 19), date(2026, 10, 25)),
        ),
        ({"kind": "this_week"}, date(2026, 11, 2), WEDNESDAY, (date(2026, 10, 26), date(2026, 10, 28))),
        ({"kind": "last_month"}, date(2026, 10, 1), MONTH_END, (date(2026, 9, 1), date(2026, 9, 30))),
        ({"kind": "this_month"}, date(2026, 11, 1), WEDNESDAY, (date(2026, 10, 1), date(2026, 10, 4))),
        (
            {"kind": "month", "month": 3},
            date(2026, 3, 1),
            date(2026, 3, 31),
            (date(2026, 2, 1), date(2026, 2, 28)),
        ),
        (
            {"kind": "last_n_days", "n": 7},
            date(2026, 10, 29),
            WEDNESDAY,
            (date(2026, 10, 22), date(2026, 10, 28)),
        ),
        (
            {"kind": "last_quarter"},
            date(2026, 7, 1),
            date(2026, 9, 30),
            (date(2026, 4, 1), date(2026, 6, 30)),
        ),
    ],
)
def test_the_period_before_is_the_calendar_one_or_the_same_length(
    period: dict, start: date, end: date, expected: tuple
) -> None:
    assert previous(start, end, Period.model_validate(period)) == expected


def test_descriptions_state_the_exact_dates() -> None:
    span = (datetime(2019, 10, 1, 0, 0), datetime(2019, 10, 1, 2, 28))
    assert describe(Period(), None, None, span) == "all data (2019-10-01 00:00 to 02:28)"
    last_week = Period(kind="last_week")
    assert (
        describe(last_week, *window(WEDNESDAY, kind="last_week"))
        == "the last full week (2026-10-26 to 2026-11-01)"
    )
    month = Period(kind="month", month=9)
    assert (
        describe(month, *window(WEDNESDAY, kind="month", month=9))
        == "September 2026 (2026-09-01 to 2026-09-30)"
    )
