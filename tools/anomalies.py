"""Anomalies: days and weeks where a metric left its usual range, and users who act like bots.

Metric anomalies compare each period with a robust seasonal baseline: a day with the median of
the same weekday over the four weeks before, a week with the median of the four weeks before.
The spread is the larger of the series' own robust spread (1.4826 x MAD of its deviations) and
the sampling noise the period's size implies (binomial for rates, Poisson for counts), so a
small category's noisy days are not flagged. A week catches a sustained shift that is too
small to see on any one day. A period with no events at all (an outage, a failed import) is
in the series as 0, not missing; a zero (a count, or a rate where several successes were
expected) is a break, judged by the exact chance of nothing rather than the series' swings.

Suspicious users are found by rules an analyst can check: inhuman speed (a median of seconds
between events), view-only bursts (hundreds of views in a visit, no cart), and repeated carts
(many adds and removes, no purchase).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from tools import narrate
from tools.base import ChartSpec, Tool, ToolContext, ToolError, ToolResult, person, withheld_notes

# Per period and category: numerator and denominator (rates) or value (counts).
SERIES_SQL = {
    "conversion_rate": """count(DISTINCT CASE WHEN event_type = 'purchase' THEN session_id END) AS num,
                          count(DISTINCT CASE WHEN event_type = 'view' THEN session_id END) AS den""",
    "revenue": "sum(CASE WHEN event_type = 'purchase' THEN price * coalesce(quantity, 1) ELSE 0 END) AS num, NULL AS den",
    "orders": "count(DISTINCT CASE WHEN event_type = 'purchase' THEN order_id END) AS num, NULL AS den",
    "sessions": "count(DISTINCT session_id) AS num, NULL AS den",
    "events": "count(*) AS num, NULL AS den",
}
MAD_SCALE = 1.4826
# A rate of 0 is a break, not noise, when at least this many successes were expected.
ZERO_RATE_EXPECTED = 5
# Whose figure a period's value is, for withholding periods about fewer than k people.
PEOPLE_FILTER = {
    "revenue": " FILTER (WHERE event_type = 'purchase')",
    "orders": " FILTER (WHERE event_type = 'purchase')",
}


class DetectAnomaliesArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: Literal["conversion_rate", "revenue", "orders", "sessions", "events"] = Field(
        default="sessions", description="events/sessions for traffic, conversion_rate, revenue, orders"
    )
    by_category: bool = Field(default=True, description="Look at each top-level category, not only the total")
    grain: Literal["day", "week", "both"] = Field(
        default="both", description="Days catch spikes, weeks sustained shifts"
    )
    start_date: date | None = None
    end_date: date | None = None
    threshold: float = Field(
        default=4.0, ge=2.0, le=10.0, description="How many spreads away counts as anomalous"
    )
    limit: int = Field(default=20, ge=1, le=200)


def detect_anomalies(ctx: ToolContext, args: DetectAnomaliesArgs) -> ToolResult:
    """Days or weeks when a metric (traffic, conversion, revenue, orders) was far from its usual
    level, overall and per category, strongest first, with the expected value and the change."""
    grains = ["day", "week"] if args.grain == "both" else [args.grain]
    found = []
    for grain in grains:
        found += _anomalies(ctx, args, grain)
    found.sort(key=lambda a: -abs(a[7]))
    rows = found[: args.limit]
    return ToolResult(
        columns=[
            "period_start",
            "grain",
            "category",
            "metric",
            "value",
            "expected",
            "change",
            "score",
            "direction",
        ],
        rows=rows,
        truncated=len(found) > args.limit,
        chart=ChartSpec(
            kind="bar", x="period_start", y=["score"], series="category", title=f"{args.metric} anomalies"
        )
        if rows
        else None,
        notes=[
            f"{len(found)} anomalies at |score| >= {args.threshold:g}; baseline: median of the same weekday "
            "(days) or of the previous 4 weeks (weeks)"
        ]
        + withheld_notes(ctx.settings.min_group_size),
        summary=_anomaly_sentence(args.metric, rows, len(found)),
        interpretation=f"{args.metric.replace('_', ' ').capitalize()} per {' and per '.join(grains)}"
        f"{', overall and per category' if args.by_category else ''}, each against its seasonal baseline;"
        f" flagged at {args.threshold:g} spreads or more.",
    )


def _anomaly_sentence(metric: str, rows: list[tuple], found: int) -> str:
    """rows: period_start, grain, category, metric, value, expected, change, score, direction."""
    if not rows:
        return (
            f"No unusual days or weeks in {metric.replace('_', ' ')}: every period stayed in its usual range."
        )
    start, grain, category, _, value, expected, _, _, moved = rows[0][:9]
    where = f" in {category}" if category and category != "all" else ""
    return (
        f"{narrate.plural(found, 'unusual period')}; the strongest is the {grain} of {narrate.label(start)}{where}:"
        f" {metric.replace('_', ' ')} was {narrate.figure(value, 'ratio' if metric == 'conversion_rate' else 'number')}"
        f" against an expected {narrate.figure(expected, 'ratio' if metric == 'conversion_rate' else 'number')}"
        f" ({moved})."
    )


def _anomalies(ctx: ToolContext, args: DetectAnomaliesArgs, grain: str) -> list[tuple]:
    period = "event_time::DATE" if grain == "day" else "date_trunc('week', event_time)::DATE"
    group = "coalesce(category, '(none)')" if args.by_category else "'(all)'"
    values = (
        f"{SERIES_SQL[args.metric]}, count(DISTINCT {person()}){PEOPLE_FILTER.get(args.metric, '')} AS people"
    )
    rows = ctx.rows(
        f"""SELECT {period} AS period, {group} AS category, {values}
            FROM events GROUP BY ALL ORDER BY 2, 1"""
    )
    if args.by_category:  # the total too: a site-wide spike is the first thing to see
        rows += ctx.rows(
            f"SELECT {period} AS period, '(all)' AS category, {values} FROM events GROUP BY ALL ORDER BY 1"
        )
    if not rows:
        raise ToolError("the data has no events")
    series: dict[str, list[tuple]] = {}
    few_people = set()  # periods whose figure would describe fewer than k people: never reported
    for period_start, category, num, den, people in rows:
        series.setdefault(category, []).append(
            (period_start, float(num or 0), None if den is None else float(den))
        )
        if 0 < people < ctx.settings.min_group_size:
            few_people.add((period_start, category))
    last_day = ctx.facts.last_day
    found = []
    for category, points in series.items():
        if category == "(none)":
            continue
        found += score_series(category, on_spine(points, grain, last_day), args, grain, last_day)
    return [row for row in found if (row[0], row[2]) not in few_people]


def on_spine(points: list[tuple], grain: str, last_day: date | None) -> list[tuple]:
    """Every period from the series' first to the data's last, a period without events as 0.

    GROUP BY makes no row for a day with no events at all, and an outage, a broken tracker or
    a failed import is exactly that day: without this it would never be flagged."""
    if last_day is None or not points:
        return points
    step = timedelta(days=1 if grain == "day" else 7)
    end = last_day if grain == "day" else last_day - timedelta(days=last_day.weekday())
    have = {p[0]: p for p in points}
    empty_den = None if points[0][2] is None else 0.0  # a rate over nothing has no value
    filled, period = [], points[0][0]
    while period <= end:
        filled.append(have.get(period, (period, 0.0, empty_den, *([0.0] if len(points[0]) > 3 else []))))
        period += step
    return filled


@dataclass(frozen=True)
class Score:
    """One period of a series against its seasonal baseline: `score` spreads away."""

    period: date
    value: float
    expected: float
    scale: float

    @property
    def score(self) -> float:
        return (self.value - self.expected) / self.scale


def scores(points: list[tuple], metric: str, grain: str, last_day: date | None) -> list[Score]:
    """Every period of a series (period, value or numerator, denominator for a rate, and
    optionally a sum's sampling variance) that has
    enough history, scored against the median of the same weekday (days) or of the 4 weeks
    before (weeks); the spread is the larger of the series' robust spread and sampling noise."""
    by_period = {p[0]: p for p in points}
    rate = bool(points) and points[0][2] is not None
    step = timedelta(days=7)  # same weekday for days; the previous weeks for weeks
    values, expected, noise, kept = [], [], [], []
    for period_start, num, den, *variance in points:
        if grain == "week" and last_day is not None and period_start + timedelta(days=6) > last_day:
            continue  # a partial last week would look like a drop
        if rate and not den:
            continue
        history = [by_period.get(period_start - step * i) for i in range(1, 5)]
        history = [h for h in history if h is not None and (not rate or h[2])]
        if len(history) < 3:
            continue
        if rate:
            base = float(np.median([h[1] / h[2] for h in history]))
            value = num / den
            # Laplace's rule: 0 of 5 sessions is no proof of a rate of 0, nor 2 of 5 of 40%.
            p = (base * den + 1) / (den + 2)
            sampling = np.sqrt(p * (1 - p) / den)
        else:
            base = float(np.median([h[1] for h in history]))
            value = num
            sampling = np.sqrt(max(base, 1.0)) if metric != "revenue" else 0.0
            if variance and variance[0] is not None:
                # A sum's own noise (its sum of squares): one large order is not a shift in level.
                usual = float(np.median([h[3] for h in history if len(h) > 3 and h[3] is not None] or [0.0]))
                sampling = np.sqrt(max(usual, variance[0]))
        values.append(value)
        expected.append(base)
        noise.append(float(sampling))
        kept.append(period_start)
    if not kept:
        return []
    deviations = np.array(values) - np.array(expected)
    spread = MAD_SCALE * float(np.median(np.abs(deviations - np.median(deviations))))
    out = []
    for period_start, value, base, sampling in zip(kept, values, expected, noise, strict=True):
        scale = max(spread, sampling, 1e-9)
        if value == 0 and base > 0 and not rate and metric != "revenue":
            # Nothing at all is not a swing in level but a break (an outage, a failed import):
            # judged by the exact chance of none, zero against an expected 2,900 is the strongest
            # signal of all.
            scale = _break_scale(base, stats.poisson.pmf(0, base))
        elif value == 0 and rate and base > 0 and by_period[period_start][2] * base >= ZERO_RATE_EXPECTED:
            # Likewise a rate of nothing where several successes were expected (a checkout that
            # takes no orders), judged by the exact chance of none in that many tries.
            scale = _break_scale(base, stats.binom.pmf(0, int(by_period[period_start][2]), base))
        out.append(Score(period_start, float(value), base, scale))
    return out


def _break_scale(deviation: float, chance: float) -> float:
    """The spread that puts a drop to zero as many spreads out as its chance says (a normal
    quantile), so a break is not judged by the series' swings in level."""
    return deviation / max(float(stats.norm.isf(max(chance, 1e-300))), 1e-9)


def score_series(
    category: str, points: list[tuple], args: DetectAnomaliesArgs, grain: str, last_day: date | None
) -> list[tuple]:
    """The periods of one series at least `args.threshold` spreads from their baseline, as rows."""
    found = []
    for s in scores(points, args.metric, grain, last_day):
        if (args.start_date and s.period < args.start_date) or (args.end_date and s.period > args.end_date):
            continue
        if abs(s.score) >= args.threshold:
            change = (s.value - s.expected) / s.expected if s.expected else None
            found.append(
                (
                    s.period,
                    grain,
                    category,
                    args.metric,
                    round(s.value, 4),
                    round(s.expected, 4),
                    None if change is None else round(change, 4),
                    round(float(s.score), 2),
                    "up" if s.score > 0 else "down",
                )
            )
    return found


class SuspiciousUsersArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=20, ge=1, le=500)


SUSPICIOUS_SQL = """
WITH gaps AS (
  SELECT user_id, session_id, event_type,
         epoch(event_time - lag(event_time) OVER (PARTITION BY session_id ORDER BY event_time)) AS gap
  FROM events WHERE user_id IS NOT NULL
), per_session AS (
  SELECT user_id, session_id,
         sum(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
         sum(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts
  FROM gaps GROUP BY ALL
), per_user AS (
  SELECT g.user_id, count(*) AS events, median(g.gap) AS median_gap_seconds,
         sum(CASE WHEN g.event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
         sum(CASE WHEN g.event_type = 'remove_from_cart' THEN 1 ELSE 0 END) AS removes,
         sum(CASE WHEN g.event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases
  FROM gaps g GROUP BY 1
), bursts AS (
  SELECT user_id, max(views) AS max_views_in_a_visit, max(carts) AS max_carts_in_a_visit
  FROM per_session GROUP BY 1
), flagged AS (
SELECT u.user_id, u.events, u.median_gap_seconds, b.max_views_in_a_visit, u.carts, u.removes, u.purchases,
       concat_ws('; ',
         CASE WHEN u.events >= 50 AND u.median_gap_seconds < 3 THEN 'inhuman speed: median '
              || round(u.median_gap_seconds, 1) || ' s between events' END,
         CASE WHEN b.max_views_in_a_visit >= 100 AND u.carts = 0 THEN 'view-only burst: '
              || b.max_views_in_a_visit || ' views in one visit, no cart' END,
         CASE WHEN u.carts >= 20 AND u.removes >= 0.8 * u.carts AND u.purchases = 0 THEN 'repeated carts: '
              || u.carts || ' adds, ' || u.removes || ' removes, no purchase' END) AS reasons
FROM per_user u JOIN bursts b USING (user_id)
)
SELECT * FROM flagged WHERE reasons <> '' ORDER BY events DESC, user_id
"""


def find_suspicious_users(ctx: ToolContext, args: SuspiciousUsersArgs) -> ToolResult:
    """Users who behave like bots or fraud: inhuman event rates, view-only bursts of hundreds of
    views, or carts filled and emptied without buying; with the evidence for each."""
    rows = ctx.rows(SUSPICIOUS_SQL)
    return ToolResult(
        columns=[
            "user_id",
            "events",
            "median_gap_seconds",
            "max_views_in_a_visit",
            "carts",
            "removes",
            "purchases",
            "reasons",
        ],
        rows=rows[: args.limit],
        truncated=len(rows) > args.limit,
        notes=[f"{len(rows)} users match at least one bot-like rule"],
        summary=(
            f"{narrate.plural(len(rows), 'user')} look like bots or fraud; the most active, user {rows[0][0]},"
            f" has {narrate.plural(rows[0][1], 'event')}: {rows[0][7]}."
            if rows
            else "No user breaks a bot-like rule."
        ),
        interpretation="Users breaking a bot-like rule: a median under a few seconds between events, hundreds"
        " of views in one visit without a cart, or carts filled and emptied without buying.",
    )


def _anomaly_follow_ups(arguments: dict[str, Any], first: Any) -> list[str]:
    day = first("period_start")
    return ["Are there any suspicious users or bots?"] + (
        [f"Show sessions per day around {day}"] if day is not None else []
    )


def tools(semantic: Any) -> list[Tool]:
    return [
        Tool(
            "detect_anomalies",
            detect_anomalies,
            DetectAnomaliesArgs,
            prompt="unusual days or weeks of a metric (sessions or events for traffic, conversion_rate, "
            "revenue, orders), per category.",
            follow_ups=_anomaly_follow_ups,
        ),
        Tool(
            "find_suspicious_users",
            find_suspicious_users,
            SuspiciousUsersArgs,
            prompt="bots and fraud-like users.",
            follow_ups=lambda arguments, first: ["Any unusual spikes in traffic?"],
        ),
    ]
