"""`explain_change`: why a metric changed. When it left its usual range, and which group drove it.

What analysts expect from SpotIQ, Amplitude's root-cause analysis or Power BI's key influencers:
1. **When**: the weeks where the metric (overall, or in any one group) left its seasonal
   baseline, scored as anomaly detection scores them (tools/anomalies.py), extended to the run
   of neighbouring weeks that moved the same way; or the period the user named.
2. **Where**: the change between the 4 weeks before and the changed weeks, decomposed in every
   dimension the data has (category, brand, device, channel, country, new vs returning). For a
   rate, each group's part is its rate effect (its own rate moved) plus its mix effect (its share
   of the traffic moved), the midpoint decomposition, which adds up to the total change exactly;
   for a count or a sum, its part is its own change.
3. **Driver or broad**: a group drove the change when its part is beyond sampling noise and the
   rest of the data, without it, did not change beyond noise. Otherwise the change is broad, and
   the answer says so instead of naming whichever group happens to be largest.
Code writes the sentence from these figures; nothing here is the model's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model

from tools import narrate
from tools.anomalies import Score, on_spine, scores
from tools.base import ChartSpec, Tool, ToolContext, ToolError, ToolResult
from tools.metrics import (
    DataLacks,
    SemanticModel,
    _source,
    _where,
    dimension_values,
    load_model,
    price_bands,
    window,
)
from tools.periods import Period, previous

ChangeMetric = Literal["conversion_rate", "revenue", "orders", "sessions", "events"]
# Per group and period: the value (a rate's numerator) and a rate's denominator, or for a sum
# the sum of squared amounts (its sampling noise: a compound Poisson variance).
MEASURES = {
    "conversion_rate": (
        "count(DISTINCT e.session_id) FILTER (WHERE e.event_type = 'purchase')",
        "count(DISTINCT e.session_id) FILTER (WHERE e.event_type = 'view')",
    ),
    "revenue": (
        "sum(e.price * coalesce(e.quantity, 1)) FILTER (WHERE e.event_type = 'purchase')",
        "sum(power(e.price * coalesce(e.quantity, 1), 2)) FILTER (WHERE e.event_type = 'purchase')",
    ),
    "orders": ("count(DISTINCT e.order_id) FILTER (WHERE e.event_type = 'purchase')", "NULL"),
    "sessions": ("count(DISTINCT e.session_id)", "NULL"),
    "events": ("count(*)", "NULL"),
}
DIMENSIONS = ("category", "brand", "device", "channel", "country")  # and price bands, when priced
MAX_GROUPS = 30  # per dimension, the largest; the rest pooled as "(other)"
BASELINE_WEEKS = 4
# Spreads from baseline for a week to count as the change: the question says something changed,
# so the total needs less than a scan of every group (many series, so more chance departures).
LOCATE_TOTAL = 3.0
LOCATE_GROUP = 4.0
DRIVER_Z = 3.0  # a group's part beyond this many standard errors is beyond noise
REST_Z = 2.0
MATERIAL = 0.10  # a group under this share of the total is not named alone when the total held


def explain_args_model(model: SemanticModel) -> type[BaseModel]:
    filter_model = model.request_model.model_fields["filters"].annotation
    return create_model(
        "ExplainChangeRequest",
        __config__=ConfigDict(extra="forbid"),
        metric=(ChangeMetric, Field(default="conversion_rate")),
        direction=(
            Literal["any", "down", "up"],
            Field(default="any", description="down for a drop, fall or dip; up for a rise or spike"),
        ),
        filters=(filter_model, Field(default_factory=list, max_length=5)),
        period=(
            Period,
            Field(default_factory=Period, description="the changed period, when the question names one"),
        ),
    )


@dataclass
class Part:
    """One group's figures in the baseline (scaled to the changed period's length) and after."""

    dimension: str
    group: str
    value0: float
    base0: float
    value1: float
    base1: float

    def figures(self, rate: bool) -> tuple[float | None, float | None]:
        """(before, after) as the answer states them: the rate, or the count or sum."""
        if rate:
            return _rate(self.value0, self.base0), _rate(self.value1, self.base1)
        return self.value0, self.value1


def explain_change(ctx: ToolContext, args: Any) -> ToolResult:
    """Why a metric changed: when it left its usual range (or the period named), and how the
    change splits over categories, brands, devices, channels, countries and new vs returning
    users, naming the group that drove it or saying the change is broad."""
    model = load_model(ctx)
    if ctx.facts.last_day is None:
        raise ToolError("the data has no events")
    rate = args.metric == "conversion_rate"
    weekly: Series = {}
    located = None
    if args.period.kind != "all":
        start, end = window(args.period, ctx.facts)
        if start is None or end is None:
            raise ToolError("name a period with a start and an end, or none to find the change")
        before = previous(start, end, args.period)
    else:
        weekly = _weekly(ctx, model, args)
        located = _locate(weekly, args, ctx.facts.last_day)
        if located is None:
            return _no_change(args)
        start, end = _days(ctx, model, args, located)
        before = (start - timedelta(weeks=BASELINE_WEEKS), start - timedelta(days=1))
    scale = ((end - start).days + 1) / ((before[1] - before[0]).days + 1)
    # The total is the one group of a dimension that does not split: '(all)'.
    total = next(
        iter(_parts(ctx, model, args, ("all", "'(all)'"), before, (start, end), scale)),
        Part("all", "(all)", 0.0, 0.0, 0.0, 0.0),
    )
    if not total.value0 and not total.value1:
        raise DataLacks(f"nothing in the data matches: no {args.metric.replace('_', ' ')} in either period")
    with_new = before[0] >= ctx.facts.first_day + timedelta(weeks=BASELINE_WEEKS)  # else everyone is new
    parts = [
        p
        for dim in _dimensions(ctx, model, with_new)
        for p in _parts(ctx, model, args, dim, before, (start, end), scale)
    ]
    if located:
        driver = _weekly_driver(weekly, args, located, ctx.facts.last_day)
        moved = _moved(weekly[("all", "(all)")], args, located, ctx.facts.last_day)
    else:
        driver = _driver(parts, total, rate)
        change, noise = _change_noise(total, rate)
        moved = abs(change) > REST_Z * noise
    rows = _rows(parts, total, rate)
    after_end = _recovered(weekly, args, located[1], ctx.facts.last_day) if located else None
    sentence = _sentence(
        args, total, rate, (start, end), before, located is not None, moved, driver, rows, after_end
    )
    return ToolResult(
        columns=[
            "dimension",
            "group",
            "before",
            "after",
            "contribution",
            "rate_effect",
            "mix_effect",
            "share_of_change",
            "beyond_noise",
        ],
        rows=rows,
        chart=_chart(ctx, model, args, weekly, driver, (start, end)),
        summary=sentence,
        notes=[
            f"changed period: {start} to {end}; compared with {before[0]} to {before[1]}"
            + (" (scaled to the same length)" if rate is False and scale != 1 else ""),
            "contribution: each group's part of the change; for a rate, its rate effect (its own rate"
            " moved) plus its mix effect (its share of traffic moved); the parts add up to the change",
            f"beyond noise: the part exceeds {DRIVER_Z:g} standard errors of sampling noise",
        ],
        interpretation=_interpretation(args, model, (start, end), before, located is not None),
    )


def _chart(
    ctx: ToolContext,
    model: SemanticModel,
    args: Any,
    weekly: Series,
    driver: Part | None,
    changed: tuple[date, date],
) -> ChartSpec:
    """The weekly series (overall, and the driver's group) with the changed period shaded, above
    the bars of each group's part of the change."""
    rate = args.metric == "conversion_rate"
    metric = args.metric.replace("_", " ")
    last_day = ctx.facts.last_day or changed[1]
    key = None if driver is None else (driver.dimension, driver.group)
    if ("all", "(all)") not in weekly or (key is not None and key not in weekly):
        # A period the user named: only the series drawn are scanned, not every group's.
        dims = dict(_dimensions(ctx, model))
        weekly = _weekly(ctx, model, args, [(key[0], dims[key[0]])] if key and key[0] in dims else [])
    lines = [(("all", "(all)"), "all")] + ([(key, _group_name(driver))] if key in weekly and driver else [])
    rows = [
        (period, name, _round(_rate(value, base or 0.0) if rate else value))
        for series_key, name in lines
        for period, value, base, *_ in weekly.get(series_key, [])
        if period + timedelta(days=6) <= last_day  # a partial last week would look like a drop
    ]
    return ChartSpec(
        kind="line",
        x="week",
        y=[metric],
        series="series",
        title=f"{narrate.capitalized(metric)}{_filters_text(args)} per week; the changed period shaded",
        marked=changed,
        columns=["week", "series", metric],
        rows=rows,
        below=ChartSpec(
            kind="bar", x="group", y=["contribution"], series="dimension", title=f"what moved {metric}"
        ),
    )


def _filters_text(args: Any) -> str:
    return "".join(f" {'outside' if f.exclude else 'in'} {'/'.join(f.values)}" for f in args.filters)


def _interpretation(
    args: Any, model: SemanticModel, changed: tuple[date, date], before: tuple[date, date], found: bool
) -> str:
    how = (
        "the weeks where it left its usual range (each week against the median of the 4 before it), found by code"
        if found
        else "the period asked for"
    )
    return (
        f"{args.metric.replace('_', ' ').capitalize()}{_filters_text(args)}: {how}, {changed[0]} to {changed[1]},"
        f" against {before[0]} to {before[1]}; the change split by {', '.join(DIMENSIONS)}, price band and new vs returning users."
    )


def _query(
    ctx: ToolContext,
    model: SemanticModel,
    args: Any,
    key: str,
    start: date,
    end: date,
    grain: Literal["week", "day"] | None = None,
) -> list[tuple]:
    value, base = MEASURES[args.metric]
    dims = [model.dimensions[f.dimension] for f in args.filters]
    needs_users = "u." in key or any(d.needs_users for d in dims)
    source = (
        "events e LEFT JOIN users u ON u.user_id = e.user_id"
        if needs_users
        else _source(model, [], args.filters)
    )
    if "fs.first_seen" in key:
        source += " LEFT JOIN (SELECT user_id, min(event_time) AS first_seen FROM events GROUP BY 1) AS fs ON fs.user_id = e.user_id"
    where = " AND ".join(_where(ctx, model, args.filters, start, end)) or "TRUE"
    week = f"CAST(date_trunc('{grain}', e.event_time) AS DATE) AS period, " if grain else ""
    positions = "1, 2" if grain else "1"
    return ctx.rows(
        f"SELECT {week}{key} AS grp, coalesce({value}, 0) AS value, {base} AS base FROM {source}"
        f" WHERE {where} GROUP BY {positions}"
    )


def _dimensions(ctx: ToolContext, model: SemanticModel, with_new: bool = False) -> list[tuple[str, str]]:
    """(name, SQL) of each dimension the data has values for, and new vs returning users."""
    present = [
        (d, model.dimensions[d].sql)
        for d in DIMENSIONS
        if d in model.dimensions and dimension_values(ctx, model, model.dimensions[d])
    ]
    bands = price_bands(ctx)
    if bands:
        present.append(("price_band", bands))
    if not with_new:
        return present
    return present + [
        (
            "new_or_returning",
            "CASE WHEN e.user_id IS NULL THEN NULL WHEN fs.first_seen < $start THEN 'returning' ELSE 'new' END",
        )
    ]


def _parts(
    ctx: ToolContext,
    model: SemanticModel,
    args: Any,
    dim: tuple[str, str],
    before: tuple[date, date],
    after: tuple[date, date],
    scale: float,
) -> list[Part]:
    name, sql = dim
    figures: dict[str, list[float]] = {}
    for index, (first, last) in enumerate((before, after)):
        key = sql.replace("$start", f"TIMESTAMP '{first} 00:00:00'")
        for group, value, base in _query(ctx, model, args, f"CAST({key} AS VARCHAR)", first, last):
            if group is None:
                continue
            cell = figures.setdefault(group, [0.0, 0.0, 0.0, 0.0])
            cell[2 * index] += float(value or 0)
            cell[2 * index + 1] += float(base or 0)
    ranked = sorted(figures.items(), key=lambda item: -(item[1][0] + item[1][2]))
    kept, other = ranked[:MAX_GROUPS], ranked[MAX_GROUPS:]
    if other:
        kept.append(("(other)", [sum(c[1][i] for c in other) for i in range(4)]))
    count_scale = 1.0 if args.metric == "conversion_rate" else scale
    return [Part(name, group, v0 * count_scale, b0 * count_scale, v1, b1) for group, (v0, b0, v1, b1) in kept]


def _rate(num: float, den: float) -> float | None:
    return num / den if den else None


def _effects(part: Part, total: Part, rate: bool) -> tuple[float, float, float, float]:
    """(rate effect, mix effect, contribution, its standard error) of one group."""
    if not rate:
        change = part.value1 - part.value0
        noise = (
            math.sqrt(max(part.base0 + part.base1, 0.0))
            if part.base0 or part.base1
            else math.sqrt(part.value0 + part.value1)
        )
        return change, 0.0, change, noise
    w0 = part.base0 / total.base0 if total.base0 else 0.0
    w1 = part.base1 / total.base1 if total.base1 else 0.0
    r0, r1 = part.figures(rate=True)
    big0, big1 = _rate(total.value0, total.base0) or 0.0, _rate(total.value1, total.base1) or 0.0
    if r0 is None or r1 is None:  # the group exists in one period only: all of it is mix
        mix = w1 * (r1 or 0.0) - w0 * (r0 or 0.0)
        return 0.0, mix, mix, 0.0
    w, r, big = (w0 + w1) / 2, (r0 + r1) / 2, (big0 + big1) / 2
    rate_effect, mix_effect = w * (r1 - r0), (r - big) * (w1 - w0)
    noise = (
        w * math.sqrt(r0 * (1 - r0) / part.base0 + r1 * (1 - r1) / part.base1)
        if part.base0 and part.base1
        else 0.0
    )
    return rate_effect, mix_effect, rate_effect + mix_effect, noise


def _change_noise(part: Part, rate: bool) -> tuple[float, float]:
    """(change, standard error) of a part's own figure: its rate, or its count or sum."""
    if rate:
        r0, r1 = part.figures(rate=True)
        if r0 is None or r1 is None:
            return 0.0, math.inf
        return r1 - r0, math.sqrt(r0 * (1 - r0) / part.base0 + r1 * (1 - r1) / part.base1) or 1e-9
    variance = part.base0 + part.base1 if (part.base0 or part.base1) else part.value0 + part.value1
    return part.value1 - part.value0, math.sqrt(max(variance, 1.0))


def _rows(parts: list[Part], total: Part, rate: bool) -> list[tuple]:
    change = _change_noise(total, rate)[0]
    rows = []
    for part in parts:
        rate_effect, mix_effect, contribution, noise = _effects(part, total, rate)
        before, after = part.figures(rate)
        share = contribution / change if change else None
        beyond = bool(noise and abs(contribution) > DRIVER_Z * noise)
        rows.append(
            (
                part.dimension,
                part.group,
                _round(before),
                _round(after),
                round(contribution, 6),
                round(rate_effect, 6),
                round(mix_effect, 6),
                None if share is None else round(share, 4),
                beyond,
            )
        )
    rows.sort(key=lambda r: -abs(r[4]))
    change, noise = _change_noise(total, rate)
    before, after = total.figures(rate)
    overall = (
        "all",
        "(all)",
        _round(before),
        _round(after),
        round(change, 6),
        None,
        None,
        1.0,
        abs(change) > DRIVER_Z * noise,
    )
    return [overall, *rows]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _driver(parts: list[Part], total: Part, rate: bool) -> Part | None:
    """The group whose own figure moved beyond noise while the rest, without it, did not."""
    change, noise = _change_noise(total, rate)
    if abs(change) <= REST_Z * noise:
        return None  # nothing to explain
    best = None
    for part in parts:
        own, own_noise = _change_noise(part, rate)
        if abs(own) <= DRIVER_Z * own_noise or (own > 0) != (change > 0):
            continue
        rest = Part(
            part.dimension,
            "rest",
            total.value0 - part.value0,
            total.base0 - part.base0,
            total.value1 - part.value1,
            total.base1 - part.base1,
        )
        rest_change, rest_noise = _change_noise(rest, rate)
        if abs(rest_change) > REST_Z * rest_noise and (rest_change > 0) == (change > 0):
            continue  # the rest moved the same way too: not this group alone
        # Had the rest shared the change (the same points, or the same share for a count), could
        # its noise have hidden it? Then its staying put says nothing.
        shared = change if rate else change * (rest.value0 / total.value0 if total.value0 else 0.0)
        if abs(shared) < DRIVER_Z * rest_noise:
            continue
        if (
            best is None
            or abs(own) / own_noise > abs(_change_noise(best, rate)[0]) / _change_noise(best, rate)[1]
        ):
            best = part
    return best


Series = dict[tuple[str, str], list[tuple]]  # (dimension, group) -> weekly (week, value, base)


def _weekly(
    ctx: ToolContext, model: SemanticModel, args: Any, dimensions: list[tuple[str, str]] | None = None
) -> Series:
    """The metric per week, overall and in each group of each dimension (or of those given), on
    a date spine."""
    rate = args.metric == "conversion_rate"
    out: Series = {}
    for name, sql in [("all", "'(all)'"), *(_dimensions(ctx, model) if dimensions is None else dimensions)]:
        rows = _query(
            ctx, model, args, f"CAST({sql} AS VARCHAR)", ctx.facts.first_day, ctx.facts.last_day, "week"
        )
        series: dict[str, list[tuple]] = {}
        for period, group, value, base in rows:
            if group is not None:
                variance = float(base or 0) if args.metric == "revenue" else None
                series.setdefault(group, []).append(
                    (period, float(value or 0), float(base or 0) if rate else None, variance)
                )
        for group, points in series.items():
            out[(name, group)] = on_spine(sorted(points), "week", ctx.facts.last_day)
    return out


def _wanted(args: Any, score: float) -> bool:
    return args.direction == "any" or (score < 0) == (args.direction == "down")


def _locate(weekly: Series, args: Any, last_day: date | None) -> tuple[date, date, tuple[str, str]] | None:
    """The run of weeks around the strongest weekly departure from baseline: overall when the
    total departs, else in the one group that departs most; None when no week does."""

    def flagged(key: tuple[str, str]) -> list[tuple[Score, tuple[str, str]]]:
        threshold = LOCATE_TOTAL if key[0] == "all" else LOCATE_GROUP
        return [
            (s, key)
            for s in scores(weekly[key], args.metric, "week", last_day)
            if abs(s.score) >= threshold and _wanted(args, s.score)
        ]

    candidates = flagged(("all", "(all)")) or [
        f for key in weekly if key[0] != "all" and _material(weekly, key) for f in flagged(key)
    ]
    if not candidates:
        return None
    # The week that moved the total most: a group's departure weighs by its share of the total.
    strongest, key = max(candidates, key=lambda f: abs(_impact(weekly, f[1], f[0])))
    down = strongest.score < 0
    moved = {
        s.period
        for s in scores(weekly[key], args.metric, "week", last_day)
        if abs(s.score) >= 2 and (s.score < 0) == down
    }
    first = last = strongest.period
    while first - timedelta(weeks=1) in moved:
        first -= timedelta(weeks=1)
    while last + timedelta(weeks=1) in moved:
        last += timedelta(weeks=1)
    return first, min(last + timedelta(days=6), last_day or last), key


def _days(
    ctx: ToolContext, model: SemanticModel, args: Any, located: tuple[date, date, tuple[str, str]]
) -> tuple[date, date]:
    """The located weeks trimmed to the days that changed, each day against its usual figure
    (the same weekday's median over the 4 weeks before the change). A one-day outage is that
    day; a change over whole weeks keeps them."""
    first, last, (name, group) = located
    dims = dict([("all", "'(all)'"), *_dimensions(ctx, model)])
    if name not in dims:
        return first, last
    baseline_start = first - timedelta(weeks=BASELINE_WEEKS)
    rows = _query(ctx, model, args, f"CAST({dims[name]} AS VARCHAR)", baseline_start, last, "day")
    by_day = {period: (float(value or 0), float(base or 0)) for period, g, value, base in rows if g == group}
    rate = args.metric == "conversion_rate"
    observed, expected = [], []
    day = first
    while day <= last:
        value, base = by_day.get(day, (0.0, 0.0))
        weeks_in = (day - first).days // 7  # the same weekday in the 4 weeks before the change
        history = [by_day.get(day - timedelta(weeks=weeks_in + k), (0.0, 0.0)) for k in range(1, 5)]
        if rate:  # successes expected at the usual rate over this day's tries
            usual = [v / b for v, b in history if b]
            expected.append((float(np.median(usual)) if usual else 0.0) * base)
        else:
            expected.append(float(np.median([v for v, _ in history])))
        observed.append(value)
        day += timedelta(days=1)
    # Trim an edge day while it looks more like the usual level than like the changed one (the
    # span's own level): a noisy day inside the change is kept, a normal one at its edge is not.
    i, j = 0, len(observed) - 1
    down = args.direction == "down" if args.direction != "any" else sum(observed) < sum(expected)
    while i < j:
        # The changed level: over the span's days that moved the change's way (a spike inside a
        # drop is not part of its level).
        moved = [
            (o, e) for o, e in zip(observed[i : j + 1], expected[i : j + 1], strict=True) if (o < e) == down
        ]
        level = sum(o for o, _ in moved) / max(sum(e for _, e in moved), 1e-9)
        if _usual_day(observed[i], expected[i], level, down):
            i += 1
        elif _usual_day(observed[j], expected[j], level, down):
            j -= 1
        else:
            break
    return first + timedelta(days=i), first + timedelta(days=j)


def _usual_day(observed: float, expected: float, level: float, down: bool) -> bool:
    """Whether a day's figure is likelier at its usual expectation than at `level` times it
    (Poisson likelihoods). A day that moved the other way (a promo day's spike at the edge of a
    drop) is no part of the change, and a day with nothing expected tells nothing."""
    if expected <= 0 or (observed >= expected if down else observed <= expected):
        return True
    changed = max(level * expected, 1e-9)
    return observed * math.log(expected / changed) - (expected - changed) > 0


def _impact(weekly: Series, key: tuple[str, str], score: Score) -> float:
    """How far a group's departure in one week moved the total: for a rate, weighted by the
    group's share of the total's denominator that week."""
    deviation = score.value - score.expected
    point = next((p for p in weekly[key] if p[0] == score.period), None)
    total = next((p for p in weekly[("all", "(all)")] if p[0] == score.period), None)
    if point is None or total is None or point[2] is None:
        return deviation
    return deviation * (point[2] / total[2] if total[2] else 0.0)


def _material(weekly: Series, key: tuple[str, str]) -> bool:
    """Whether a group can move on its own while the total holds: 10% of the total's traffic or
    value at least (smaller is noise), and under half (a majority would move the total too)."""
    column = 2 if weekly[key] and weekly[key][0][2] is not None else 1
    total = sum(p[column] or 0 for p in weekly[("all", "(all)")])
    share = sum(p[column] or 0 for p in weekly[key]) / total if total > 0 else 0.0
    return MATERIAL <= share < 0.5


def _inside(
    points: list[tuple], args: Any, located: tuple[date, date, Any], last_day: date | None
) -> list[Score]:
    """A series' scores over the located weeks."""
    return [s for s in scores(points, args.metric, "week", last_day) if located[0] <= s.period <= located[1]]


def _run_score(inside: list[Score]) -> tuple[float, float]:
    """(mean score, mean deviation) of a series' scores over the located weeks."""
    if not inside:
        return 0.0, 0.0
    return sum(s.score for s in inside) / len(inside), sum(s.value - s.expected for s in inside) / len(inside)


def _moved(points: list[tuple], args: Any, located: tuple[date, date, Any], last_day: date | None) -> bool:
    return abs(_run_score(_inside(points, args, located, last_day))[0]) >= REST_Z


def _minus(whole: list[tuple], part: list[tuple]) -> list[tuple]:
    by_period = {p[0]: p for p in part}
    out = []
    for period, value, base, variance in whole:
        _, v, b, var = by_period.get(period, (period, 0.0, None if base is None else 0.0, None))
        rest_variance = None if variance is None else max(variance - (var or 0.0), 0.0)
        out.append((period, value - v, None if base is None else base - (b or 0.0), rest_variance))
    return out


def _weekly_driver(
    weekly: Series, args: Any, located: tuple[date, date, Any], last_day: date | None
) -> Part | None:
    """The group that departed from its baseline in the located weeks while the rest of the data,
    without it, stayed in range, and could have shown the change had it shared it."""
    total = weekly[("all", "(all)")]
    totals = _inside(total, args, located, last_day)
    total_score, total_deviation = _run_score(totals)
    target = (
        total_score
        if abs(total_score) >= REST_Z
        else _run_score(_inside(weekly[located[2]], args, located, last_day))[0]
    )
    best, best_score = None, 0.0
    for key, points in weekly.items():
        if key[0] == "all" or (located[2][0] != "all" and key != located[2]):
            continue  # when the total stayed in range, the group that left it is the answer
        own, _ = _run_score(_inside(points, args, located, last_day))
        if abs(own) < DRIVER_Z or (own < 0) != (target < 0):
            continue
        if located[2][0] != "all":
            return _weekly_part(key, points, args, located)
        rest = _inside(_minus(total, points), args, located, last_day)
        rest_score, _ = _run_score(rest)
        if abs(rest_score) >= REST_Z and (rest_score < 0) == (target < 0):
            continue  # the rest moved the same way too: not this group alone
        shown = abs(total_deviation)
        if args.metric != "conversion_rate":  # had the rest shared the change, in proportion
            shown *= sum(r.expected for r in rest) / max(sum(t.expected for t in totals), 1e-9)
        if not rest or shown < DRIVER_Z * (sum(r.scale for r in rest) / len(rest)):
            continue  # the rest is too small to tell: no evidence this group alone moved
        if abs(own) > best_score:
            best, best_score = _weekly_part(key, points, args, located), abs(own)
    return best


def _weekly_part(
    key: tuple[str, str], points: list[tuple], args: Any, located: tuple[date, date, Any]
) -> Part:
    """A group's figures over the 4 weeks before (scaled, for a count) and the located weeks."""
    before = [p for p in points if located[0] - timedelta(weeks=BASELINE_WEEKS) <= p[0] < located[0]]
    after = [p for p in points if located[0] <= p[0] <= located[1]]
    scale = 1 if args.metric == "conversion_rate" else len(after) / BASELINE_WEEKS
    return Part(
        key[0],
        key[1],
        sum(p[1] for p in before) * scale,
        sum(p[2] or 0 for p in before),
        sum(p[1] for p in after),
        sum(p[2] or 0 for p in after),
    )


def _recovered(weekly: Series, args: Any, end: date, last_day: date | None) -> bool | None:
    """Whether the week after the change was back in range (None: the data ends first)."""
    if last_day is None or end + timedelta(days=7) > last_day:
        return None
    week = end + timedelta(days=1)
    after = [s for s in scores(weekly[("all", "(all)")], args.metric, "week", last_day) if s.period == week]
    return bool(after) and abs(after[0].score) < REST_Z


def _no_change(args: Any) -> ToolResult:
    measure = args.metric.replace("_", " ")
    return ToolResult(
        summary=f"No week stands out: {measure}{_filters_text(args)} stayed within its usual range"
        f" (no week {LOCATE_TOTAL:g} spreads from the median of the 4 before it, overall or in any group),"
        " so there is no change to explain beyond noise.",
        interpretation=f"{measure.capitalize()}{_filters_text(args)} per week, overall and in each group, each week"
        " against the median of the 4 before it.",
    )


def _group_name(part: Part) -> str:
    if part.dimension == "new_or_returning":
        return f"{part.group} users"
    return f"{part.dimension.replace('_', ' ')} {narrate.label(part.group)}"


def _sentence(
    args: Any,
    total: Part,
    rate: bool,
    changed: tuple[date, date],
    before: tuple[date, date],
    found: bool,
    moved: bool,
    driver: Part | None,
    rows: list[tuple],
    recovered: bool | None,
) -> str:
    """The answer in words, every figure from the parts: direction from the sign, units from the metric."""
    fmt = "ratio" if rate else ("money" if args.metric == "revenue" else "count")
    metric = args.metric.replace("_", " ")
    v0, v1 = total.figures(rate)
    base = "the 4 weeks before" if found else f"{before[0]} to {before[1]}"
    text = (
        f"{narrate.capitalized(metric)}{_filters_text(args)} {narrate.direction(v1, v0)} from {narrate.figure(v0, fmt)}"
        f" to {narrate.figure(v1, fmt)} from {changed[0]} to {changed[1]} ({narrate.change(v1, v0, fmt)}), against {base}"
    )
    if recovered is not None:
        text += (
            "; it was back in its usual range the week after"
            if recovered
            else "; it was still out of range the week after"
        )
    if driver is not None:
        own0, own1 = driver.figures(rate)
        own = f"its {metric} {narrate.direction(own1, own0)} from {narrate.figure(own0, fmt)} to {narrate.figure(own1, fmt)}"
        if not moved:  # the total stayed within its week-to-week range; one large group did not
            return text + (
                f". Overall that is within the usual week-to-week range, but {_group_name(driver)} left its own:"
                f" {own}, while the rest of the data stayed within its usual range."
            )
        return text + (
            f". {narrate.capitalized(_group_name(driver))} drove it: {own}, while the rest of the data stayed"
            " within its usual range."
        )
    if not moved:
        return text + ". That is within the usual range and sampling noise: there is no change to explain."
    dims = sorted(
        {"new-or-returning group" if r[0] == "new_or_returning" else r[0].replace("_", " ") for r in rows[1:]}
    )
    return text + (
        f". The change is broad: no single {' or '.join(dims)} drove it; without any one group, the rest of"
        " the data still moved the same way."
    )


def _follow_ups(arguments: dict[str, Any], first: Any) -> list[str]:
    group = first("group")
    return ["Were there unusual days in traffic?"] + (
        [f"Show {arguments.get('metric', 'conversion_rate').replace('_', ' ')} per week for {group}"]
        if group
        else []
    )


def tools(semantic: Any) -> list[Tool]:
    return [
        Tool(
            "explain_change",
            explain_change,
            explain_args_model(semantic),
            prompt="why a metric (conversion_rate, revenue, orders, sessions, events) dropped, rose or changed, and"
            " what drove it; period only when the question names one.",
            group="metrics",
            follow_ups=_follow_ups,
        )
    ]
