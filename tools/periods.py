"""Periods: a typed choice the model makes from the question's words, resolved to dates by code.

The model never does date arithmetic. It picks a kind ("last_week", "last_n_days" with n 14,
"month" 10 of 2019, …) and `resolve` turns it into inclusive first and last days against the
data's span: the data's last day is "today", whatever the wall clock says.

Calendar periods follow one rule, stated in every answer's interpretation:
- `this_week` / `this_month` / … is the calendar period that holds the data's last day, up to
  that day (Monday-based weeks);
- `last_week` / `last_month` / … is the latest calendar period the data covers completely: the
  one that ends on the data's last day when that day ends it (data loaded up to a Sunday: last
  week is that week), else the one before the current period.
Rolling periods (`last_n_days`, `last_n_weeks`, `last_n_months`) end on the data's last day;
the last n months of data that ends on a month's last day are those n whole months.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PeriodKind = Literal[
    "all",
    "today",
    "yesterday",
    "this_week",
    "last_week",
    "this_month",
    "last_month",
    "this_quarter",
    "last_quarter",
    "this_year",
    "last_year",
    "last_n_days",
    "last_n_weeks",
    "last_n_months",
    "month",
    "year",
    "date",
    "range",
]
ROLLING = ("last_n_days", "last_n_weeks", "last_n_months")


class PeriodError(ValueError):
    """The period cannot be resolved against this data (no events, a range that ends before it starts)."""


class Period(BaseModel):
    """Which stretch of time a figure covers. `kind` is the choice; the other fields are its
    parameters (n for the rolling kinds; month and year for "month"; year for "year"; start and
    end for "date" and "range")."""

    model_config = ConfigDict(extra="forbid")
    kind: PeriodKind = Field(default="all", description="all = the whole data set.")
    n: int | None = Field(default=None, ge=1, le=3660, description="For last_n_days/weeks/months.")
    month: int | None = Field(default=None, ge=1, le=12, description="For kind month: 1..12.")
    year: int | None = Field(default=None, ge=1900, le=2200, description="For kind month or year.")
    start: date | None = Field(default=None, description="For kind date (the day) or range.")
    end: date | None = Field(
        default=None,
        description="For kind range: the last day, inclusive; for last_n_*: the day they end on.",
    )


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _calendar(kind: str, last: date) -> tuple[date, date]:
    """The calendar period of `kind` ("week", "month", "quarter", "year") that holds `last`."""
    if kind == "week":
        start = _monday(last)
        return start, start + timedelta(days=6)
    if kind == "month":
        return _month_start(last), _month_end(last)
    if kind == "quarter":
        start = _quarter_start(last)
        return start, add_months(start, 3) - timedelta(days=1)
    return date(last.year, 1, 1), date(last.year, 12, 31)


def resolve(period: Period, first_day: date | None, last_day: date | None) -> tuple[date | None, date | None]:
    """(first day, last day) of the period, inclusive; (None, None) for all data."""
    kind = period.kind
    if kind == "all":
        return None, None
    if kind == "range":
        if period.start and period.end and period.end < period.start:
            raise PeriodError(f"the range ends ({period.end}) before it starts ({period.start})")
        if not (period.start or period.end):
            raise PeriodError("a range needs a start or an end date")
        return period.start, period.end
    if kind == "date":
        if period.start is None:
            raise PeriodError("a single day needs its date (start)")
        return period.start, period.start
    if kind == "year":
        year = period.year or (last_day.year if last_day else None)
        if year is None:
            raise PeriodError("which year? the data has no events to take it from")
        return date(year, 1, 1), date(year, 12, 31)
    if last_day is None:
        raise PeriodError("the data has no events, so there is no period to look at")
    if kind == "month":
        if period.month is None:
            raise PeriodError("a month needs its number (1..12)")
        year = period.year
        if year is None:  # the latest such month that starts on or before the data's last day
            year = last_day.year if period.month <= last_day.month else last_day.year - 1
        start = date(year, period.month, 1)
        return start, _month_end(start)
    if kind == "today":
        return last_day, last_day
    if kind == "yesterday":
        day = last_day - timedelta(days=1)
        return day, day
    if kind in ROLLING:  # ending on the data's last day, or on `end` ("the week ending D")
        n, anchor = period.n or 1, period.end or last_day
        if kind == "last_n_days":
            return anchor - timedelta(days=n - 1), anchor
        if kind == "last_n_weeks":
            return anchor - timedelta(days=7 * n - 1), anchor
        if (anchor + timedelta(days=1)).day == 1:  # ends a month: the last n whole months
            return add_months(anchor.replace(day=1), -(n - 1)), anchor
        return add_months(anchor, -n) + timedelta(days=1), anchor
    unit = kind.split("_", 1)[1]  # week, month, quarter, year
    start, end = _calendar(unit, last_day)
    if kind.startswith("this_"):
        return start, last_day
    if end == last_day:  # the data covers the current period completely
        return start, end
    return _calendar(unit, start - timedelta(days=1))


def previous(start: date, end: date, period: Period) -> tuple[date, date]:
    """The period to compare with. A calendar period is compared with the calendar period before
    it (last month with the month before; this month so far with the same days of last month);
    anything else with the same number of days just before it."""
    unit = {"month": "month", "year": "year"}.get(period.kind) or period.kind.split("_", 1)[-1]
    months = {"month": 1, "quarter": 3, "year": 12}.get(unit)
    if (
        period.kind.startswith(("this_", "last_"))
        and period.kind not in ROLLING
        or period.kind in ("month", "year")
    ):
        if unit == "week":
            return start - timedelta(days=7), end - timedelta(days=7)
        if months:
            before = add_months(start, -months)
            if period.kind.startswith("this_"):
                return before, min(add_months(end, -months), start - timedelta(days=1))
            return before, start - timedelta(days=1)
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def describe(
    period: Period,
    start: date | None,
    end: date | None,
    span: tuple[datetime | None, datetime | None] = (None, None),
) -> str:
    """The period in words with its exact dates, for the interpretation line:
    "last week (Mon 2026-10-26 to Sun 2026-11-01)", "all data (2019-10-01 00:00 to 02:28)"."""
    if start is None and end is None:
        return f"all data ({_span(*span)})" if span[0] else "all data"
    label = {
        "today": "the data's last day",
        "yesterday": "the day before the data's last day",
        "this_week": "this week so far",
        "last_week": "the last full week",
        "this_month": "this month so far",
        "last_month": "the last full month",
        "this_quarter": "this quarter so far",
        "last_quarter": "the last full quarter",
        "this_year": "this year so far",
        "last_year": "the last full year",
        "last_n_days": f"the {period.n or 1} days ending {end}"
        if period.end
        else f"the last {period.n or 1} days",
        "last_n_weeks": f"the {period.n or 1} weeks ending {end}"
        if period.end
        else f"the last {period.n or 1} weeks",
        "last_n_months": f"the {period.n or 1} months ending {end}"
        if period.end
        else f"the last {period.n or 1} months",
        "month": calendar.month_name[start.month] + f" {start.year}" if start else "the month",
        "year": f"{start.year}" if start else "the year",
        "date": "",
        "range": "",
    }.get(period.kind, period.kind)
    dates = dates_text(start, end)
    return f"{label} ({dates})" if label else dates


def dates_text(
    start: date | None, end: date | None, words: tuple[str, str, str] = ("up to {}", "from {}", "{} to {}")
) -> str:
    """A window's dates: one day, an open end or both ends (`words` word each; Chinese has its own)."""
    if start == end and start is not None:
        return start.isoformat()
    up_to, since, both = words
    if start is None:
        return up_to.format(end.isoformat())  # type: ignore[union-attr]
    if end is None:
        return since.format(start.isoformat())
    return both.format(start.isoformat(), end.isoformat())


def _span(first: datetime | None, last: datetime | None) -> str:
    """The data's own span, to the minute: "2019-10-01 00:00 to 02:28" when it is one day."""
    if first is None or last is None:
        return "no events"
    start = first.strftime("%Y-%m-%d %H:%M")
    finish = last.strftime("%H:%M") if first.date() == last.date() else last.strftime("%Y-%m-%d %H:%M")
    return f"{start} to {finish}"


# A spine longer than this is not built (hours over years): the series is shown as grouped.
MAX_SPINE = 10_000
GRAIN_START = {
    "day": lambda d: d,
    "week": _monday,
    "month": _month_start,
    "quarter": lambda d: date(d.year, (d.month - 1) // 3 * 3 + 1, 1),
    "year": lambda d: date(d.year, 1, 1),
}
STEP = {
    "hour": "1 HOUR",
    "day": "1 DAY",
    "week": "1 WEEK",
    "month": "1 MONTH",
    "quarter": "3 MONTH",
    "year": "1 YEAR",
}


def spine_sql(grain: str, first: date, last: date) -> str | None:
    """SQL (DuckDB dialect) for every period start of `grain` ("hour", "day", "week", "month",
    "year") from the one holding `first` to the one holding `last`, as one column `period`.

    A series built with GROUP BY has no row for a period without events: an outage, a broken
    tracker or a failed import would vanish from the table and its chart. Joined to this, that
    period is there (zero, or empty for a rate). None when the spine would be longer than
    MAX_SPINE periods."""
    if grain == "hour":
        count = ((last - first).days + 1) * 24
        start, stop = f"TIMESTAMP '{first} 00:00:00'", f"TIMESTAMP '{last} 23:00:00'"
        cast = "p"
    else:
        begin = GRAIN_START[grain](first)
        count = {
            "day": (last - begin).days + 1,
            "week": (last - begin).days // 7 + 1,
            "month": (last.year - begin.year) * 12 + last.month - begin.month + 1,
            "quarter": ((last.year - begin.year) * 12 + last.month - begin.month) // 3 + 1,
            "year": last.year - begin.year + 1,
        }[grain]
        start, stop = f"TIMESTAMP '{begin} 00:00:00'", f"TIMESTAMP '{last} 00:00:00'"
        cast = "CAST(p AS DATE)"
    if count > MAX_SPINE:
        return None
    return f"SELECT {cast} AS period FROM generate_series({start}, {stop}, INTERVAL {STEP[grain]}) AS t(p)"
