"""Checks on the last hours of behavior, for data that arrives live: outages and conversion drops.

- **Outage**: a stretch of at least `OUTAGE_MINUTES` with no event at all (between two events, or
  from the last event to now), when the same clock stretch of the week before held enough events
  that silence by chance is all but impossible (Poisson: at least `MIN_EXPECTED` expected, a
  chance under e^-10).
- **Conversion drop**: the share of recent visits that bought against the same hours of the 7
  days before, flagged when it is down by at least a third and a binomial test puts the chance of
  so few purchases under 1 in 1,000. "Recent" is the shortest of the last 1, 2, 3, 6 or 12 hours
  in which at least `MIN_EXPECTED` buyers were to be expected: a total stop of that size has odds
  under e^-10, so a busy shop is judged on its last hour and a small one on its last half day.
  When the shop as a whole held, each device, channel, country and category is judged the same
  way on its own (the chance multiplied by the number of groups judged), so a checkout broken on
  desktop only is not hidden by the other devices (a category: the visits that viewed it, and
  those of them that bought in it).

Both compare with the shop's own recent past at the same time of day, so nights and quiet hours
are not alarms. Code decides what is an alert and writes its sentence.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel
from scipy import stats

from tools.base import ToolContext
from tools.chinese import dimension_label
from tools.metrics import load_model

OUTAGE_MINUTES = 30
MIN_EXPECTED = 10.0
BASELINE_DAYS = 7
DROP_SHARE = 1 / 3
DROP_CHANCE = 0.001
WINDOW_HOURS = (1, 2, 3, 6, 12)  # the conversion check takes the first with enough expected buyers


# Where a drop can hide (a checkout broken on desktop only, product pages broken in one
# category): the metrics layer's dimensions of these names, each group checked on its own when the
# shop as a whole held. Device, channel and country are the visitor's; a category's conversion is
# of the visits that viewed it and bought in it.
GROUP_DIMENSIONS = ("device", "channel", "country", "category")


class Alert(BaseModel):
    kind: Literal["outage", "conversion_drop"]
    start: datetime
    end: datetime
    observed: float
    expected: float
    chance: float  # of what was seen, if nothing were wrong
    message: str
    message_zh: str = ""  # the same, in Chinese (a question asked in Chinese is answered with it)
    group: str | None = None  # "device = desktop": a drop in one group of visitors only


def _baseline_counts(ctx: ToolContext, start: datetime, end: datetime) -> list[int]:
    """Events in the same clock stretch on each of the BASELINE_DAYS days before."""
    return [
        int(
            ctx.rows(
                "SELECT count(*) FROM events WHERE event_time >= $a AND event_time < $b",
                a=start - timedelta(days=d),
                b=end - timedelta(days=d),
            )[0][0]
        )
        for d in range(1, BASELINE_DAYS + 1)
    ]


def outages(ctx: ToolContext, now: datetime, hours: float = 3.0) -> list[Alert]:
    """Silent stretches in the `hours` up to `now` that the week before says should not be."""
    since = now - timedelta(hours=hours)
    times = [
        r[0]
        for r in ctx.rows(
            "SELECT DISTINCT event_time FROM events WHERE event_time >= $a AND event_time <= $b ORDER BY 1",
            a=since,
            b=now,
        )
    ]
    edges = [since, *times, now]
    alerts = []
    for start, end in zip(edges, edges[1:], strict=False):
        if end - start < timedelta(minutes=OUTAGE_MINUTES):
            continue
        counts = _baseline_counts(ctx, start, end)
        expected = sum(counts) / len(counts)
        if expected < MIN_EXPECTED:
            continue
        minutes = int((end - start).total_seconds() // 60)
        alerts.append(
            Alert(
                kind="outage",
                start=start,
                end=end,
                observed=0,
                expected=round(expected, 1),
                chance=float(stats.poisson.pmf(0, expected)),
                message=f"No events from {start:%Y-%m-%d %H:%M} to {end:%H:%M} ({minutes} minutes); the same"
                f" stretch of the {BASELINE_DAYS} days before had {expected:,.0f} on average.",
                message_zh=f"{start:%Y-%m-%d %H:%M} 至 {end:%H:%M} 没有任何事件（{minutes} 分钟）；此前"
                f" {BASELINE_DAYS} 天的同一时段平均有 {expected:,.0f} 个。",
            )
        )
    return alerts


CONVERSION_SQL = """
SELECT count(DISTINCT CASE WHEN event_type = 'view' THEN session_id END) AS visits,
       count(DISTINCT CASE WHEN event_type = 'purchase' THEN session_id END) AS buying
FROM events WHERE event_time >= $a AND event_time < $b"""


def _conversion(ctx: ToolContext, start: datetime, end: datetime) -> tuple[int, int, float, int]:
    """(visits, visits that bought, the usual share that buys, baseline visits) in [start, end)
    and the same clock stretch of the BASELINE_DAYS days before."""
    visits, buying = ctx.rows(CONVERSION_SQL, a=start, b=end)[0]
    before = [
        ctx.rows(CONVERSION_SQL, a=start - timedelta(days=d), b=end - timedelta(days=d))[0]
        for d in range(1, BASELINE_DAYS + 1)
    ]
    base_visits = sum(v for v, _ in before)
    return visits, buying, (sum(b for _, b in before) / base_visits if base_visits else 0.0), base_visits


def conversion_drops(ctx: ToolContext, now: datetime) -> list[Alert]:
    """The shop's conversion drop, else the drops of single groups of visits (a device, a
    channel, a country, a category) that the shop's total hid."""
    return shop_conversion_drop(ctx, now) or group_conversion_drops(ctx, now)


def shop_conversion_drop(ctx: ToolContext, now: datetime) -> list[Alert]:
    """The conversion (visits with a view that bought) of the shortest recent stretch long enough
    to tell a drop from chance (usually at least MIN_EXPECTED buyers: an hour of a busy shop, half
    a day of a small one) against the same clock stretch of the BASELINE_DAYS days before."""
    for hours in WINDOW_HOURS:
        start = now - timedelta(hours=hours)
        visits, buying, usual, base_visits = _conversion(ctx, start, now)
        if usual * visits >= MIN_EXPECTED:
            break
    if not visits or not base_visits or usual == 0:
        return []
    drop = _drop(start, now, visits, buying, usual)
    return [drop] if drop else []


def _drop(
    start: datetime,
    now: datetime,
    visits: int,
    buying: int,
    usual: float,
    judged: int = 1,
    group: tuple[str, str] | None = None,
    label_zh: str | None = None,
) -> Alert | None:
    """The alert when `buying` of `visits` is down a third or more on `usual` and its binomial
    chance is under DROP_CHANCE shared among the `judged` groups; None otherwise."""
    rate = buying / visits
    chance = float(stats.binom.cdf(buying, visits, usual))
    if rate > usual * (1 - DROP_SHARE) or chance * judged >= DROP_CHANCE:
        return None
    where = f" on {group[0]} {group[1]}" if group else ""
    return Alert(
        kind="conversion_drop",
        start=start,
        end=now,
        observed=round(rate, 4),
        expected=round(usual, 4),
        chance=chance,
        group=f"{group[0]} = {group[1]}" if group else None,
        message=f"Conversion{where} from {start:%Y-%m-%d %H:%M} to {now:%H:%M} was {rate:.1%} ({buying:,} of"
        f" {visits:,} visits bought); the same hours of the {BASELINE_DAYS} days before: {usual:.1%}."
        + (" The shop as a whole did not drop as much." if group else ""),
        message_zh=(f"{label_zh or group[0]} {group[1]} 的" if group else "")
        + f"转化率在 {start:%Y-%m-%d %H:%M} 至 {now:%H:%M} 为 {rate:.1%}（{visits:,} 次访问中 {buying:,} 次购买）；"
        f"此前 {BASELINE_DAYS} 天同一时段为 {usual:.1%}。" + ("全店整体没有下跌这么多。" if group else ""),
    )


def _group_conversion(
    ctx: ToolContext, dimension_sql: str, start: datetime, end: datetime
) -> dict[str, tuple[int, int, int, int]]:
    """Per group: (visits, visits that bought) in [start, end) and in the same clock stretch of
    the BASELINE_DAYS days before, summed; one scan for the window and its baseline."""
    periods = {f"a{d}": start - timedelta(days=d) for d in range(BASELINE_DAYS + 1)}
    periods |= {f"b{d}": end - timedelta(days=d) for d in range(BASELINE_DAYS + 1)}
    which = " ".join(
        f"WHEN e.event_time >= $a{d} AND e.event_time < $b{d} THEN {d}" for d in range(BASELINE_DAYS + 1)
    )
    rows = ctx.rows(
        f"""SELECT g, p = 0 AS now, count(DISTINCT CASE WHEN event_type = 'view' THEN session_id END),
                   count(DISTINCT CASE WHEN event_type = 'purchase' THEN session_id END)
            FROM (SELECT {dimension_sql} AS g, CASE {which} END AS p, e.event_type, e.session_id
                  FROM events e LEFT JOIN users u USING (user_id)
                  WHERE e.event_time >= $a{BASELINE_DAYS} AND e.event_time < $b0)
            WHERE p IS NOT NULL AND g IS NOT NULL GROUP BY 1, 2""",
        **periods,
    )
    found: dict[str, list[int]] = {}
    for group, current, visits, buying in rows:
        counts = found.setdefault(str(group), [0, 0, 0, 0])
        offset = 0 if current else 2
        counts[offset] += int(visits)
        counts[offset + 1] += int(buying)
    return {group: (v, b, bv, bb) for group, (v, b, bv, bb) in found.items()}


def group_conversion_drops(ctx: ToolContext, now: datetime) -> list[Alert]:
    """Each group of each GROUP_DIMENSIONS judged like the shop (its shortest recent stretch with
    MIN_EXPECTED expected buyers, down a third), its binomial chance under DROP_CHANCE divided
    by the number of groups judged (Bonferroni): many groups, one false alarm at most as often
    as for the shop alone."""
    model = load_model(ctx)
    dimensions = model.dimensions
    judged: list[tuple[str, str, datetime, int, int, float]] = []
    for name in GROUP_DIMENSIONS:
        if name not in dimensions:
            continue
        decided: set[str] = set()
        for hours in WINDOW_HOURS:  # each group on its shortest stretch with enough expected buyers
            start = now - timedelta(hours=hours)
            counts = _group_conversion(ctx, dimensions[name].sql, start, now)
            for group, (visits, buying, base_visits, base_buying) in counts.items():
                usual = base_buying / base_visits if base_visits else 0.0
                if group not in decided and usual * visits >= MIN_EXPECTED:
                    decided.add(group)
                    judged.append((name, group, start, visits, buying, usual))
    drops = (
        _drop(start, now, visits, buying, usual, len(judged), (name, group), dimension_label(model, name))
        for name, group, start, visits, buying, usual in judged
    )
    return [drop for drop in drops if drop]


def live_alerts(ctx: ToolContext, now: datetime, hours: float = 3.0) -> list[Alert]:
    """Outages in the last `hours` and a conversion drop in the recent past, as of `now`."""
    return outages(ctx, now, hours) + conversion_drops(ctx, now)
