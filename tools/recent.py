"""What happened in the last hours: the shop's headline figures over the last N hours against the
same hours of the days before, and the live checks' alerts (outages, conversion drops).

Periods (tools/periods.py) are whole days; this tool is the one for hours. Its clock is the wall
clock when the data is live (its newest event within the last day, as with a running collector
or folder watch), else the data's newest event, and the answer says which. Code computes the
figures (the metrics layer's own definitions) and writes the sentence.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tools import narrate
from tools.base import InChinese, Tool, ToolContext, ToolError, ToolResult
from tools.live_checks import BASELINE_DAYS, live_alerts
from tools.metrics import load_model

# The headline figures, as the metrics layer defines them.
MEASURES = ("events", "users", "sessions", "orders", "revenue", "conversion_rate")
LIVE_WITHIN = timedelta(days=1)  # newest event this close to the clock: the data is live


class RecentActivityArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hours: int = Field(
        default=1,
        ge=1,
        le=48,
        description="How many hours back: 1 for 'the last hour', 24 for 'the last day'",
    )


def recent_activity(ctx: ToolContext, args: RecentActivityArgs) -> ToolResult:
    """What happened in the last hours: events, visitors, visits, orders, revenue and conversion
    against the same hours of the 7 days before, and any outage or conversion drop."""
    first, newest = ctx.rows("SELECT min(event_time), max(event_time) FROM events")[0]
    if newest is None:
        raise ToolError("the data has no events yet")
    clock = datetime.now(UTC).replace(tzinfo=None)
    live = timedelta(0) <= clock - newest <= LIVE_WITHIN
    end = clock if live else newest
    start = end - timedelta(hours=args.hours)
    metrics = load_model(ctx).metrics
    measures = [metrics[name] for name in MEASURES if name in metrics]
    bounds = {f"a{d}": start - timedelta(days=d) for d in range(BASELINE_DAYS + 1)}
    bounds |= {f"b{d}": end - timedelta(days=d) for d in range(BASELINE_DAYS + 1)}
    which = " ".join(
        f"WHEN event_time > $a{d} AND event_time <= $b{d} THEN {d}" for d in range(BASELINE_DAYS + 1)
    )
    # One scan: the window (day 0) and the same clock hours of each day before, each measure as
    # the metrics layer defines it.
    sql = (
        f"SELECT p, {', '.join(f'{m.sql} AS {m.name}' for m in measures)}"
        f" FROM (SELECT *, CASE {which} END AS p FROM events"
        f" WHERE event_time > $a{BASELINE_DAYS} AND event_time <= $b0) AS e"
        " WHERE p IS NOT NULL GROUP BY p ORDER BY p"
    )
    found = {int(row[0]): row[1:] for row in ctx.rows(sql, **bounds)}
    # Days before that the data covers in those hours count even when they were silent (a quiet
    # night is part of the usual); days before the data began do not.
    covered = [d for d in range(1, BASELINE_DAYS + 1) if start - timedelta(days=d) >= first]

    def value(day: int, i: int) -> float | None:
        row = found.get(day)
        cell = row[i] if row is not None else None
        return 0.0 if cell is None and measures[i].zero_when_empty else narrate.number(cell)

    rows = []
    for i, measure in enumerate(measures):
        past = [v for v in (value(d, i) for d in covered) if v is not None]
        usual = round(sum(past) / len(past), 4) if past else None
        rows.append((measure.label, value(0, i), usual))
    hour_words = "the last hour" if args.hours == 1 else f"the last {args.hours} hours"
    until = f"{end:%H:%M}" if start.date() == end.date() else f"{end:%Y-%m-%d %H:%M}"
    span, span_zh = f"{start:%Y-%m-%d %H:%M} to {until}", f"{start:%Y-%m-%d %H:%M} 至 {until}"
    anchor = (
        "ending now: events are arriving live"
        if live
        else f"ending at the data's newest event, {newest:%Y-%m-%d %H:%M}: the data is not live"
    )
    alerts = live_alerts(ctx, end, hours=max(3.0, float(args.hours)))

    def figures(column: int, zh: bool = False) -> str:
        return ("，" if zh else ", ").join(
            f"{measure.zh.label if zh and measure.zh else measure.label}"
            f" {narrate.figure(row[column], measure.format)}"
            for row, measure in zip(rows, measures, strict=True)
            if row[column] is not None
        )

    summary = f"In {hour_words} ({span}): " + (figures(1) if 0 in found else "no events at all") + "."
    if covered:
        summary += f" The same hours on the {len(covered)} days before averaged {figures(2)}."
    else:
        summary += " The data holds no earlier days to compare these hours with."
    summary += (
        " " + " ".join(alert.message for alert in alerts)
        if alerts
        else " The live checks found no outage and no conversion drop."
    )

    hours_zh = f"最近 {args.hours} 小时"
    summary_zh = f"{hours_zh}（{span_zh}）：" + (figures(1, zh=True) if 0 in found else "没有任何事件") + "。"
    summary_zh += (
        f"此前 {len(covered)} 天的同一时段平均：{figures(2, zh=True)}。"
        if covered
        else "数据中没有更早的日子可供比较。"
    )
    summary_zh += (
        "".join(alert.message_zh or alert.message for alert in alerts)
        if alerts
        else "实时检查未发现中断或转化率下跌。"
    )
    return ToolResult(
        sql=sql,
        columns=["measure", hour_words, f"usual (same hours, {BASELINE_DAYS} days before)"],
        rows=rows,
        notes=[f"{hour_words}: {span}, {anchor}"] + [f"alert: {alert.message}" for alert in alerts],
        summary=summary,
        zh=InChinese(
            summary=summary_zh,
            interpretation=f"{hours_zh}（{span_zh}，"
            + (
                "截至现在，数据实时到达"
                if live
                else f"截至数据中最新的事件 {newest:%Y-%m-%d %H:%M}，数据并非实时"
            )
            + f"）的主要指标，与此前 {BASELINE_DAYS} 天同一时段的平均值比较，并做实时检查（中断、转化率下跌）。",
        ),
        interpretation=f"The shop's headline figures over {hour_words} ({span}, {anchor}) against the same clock"
        f" hours of each of the {BASELINE_DAYS} days before (their average), and the live checks (outages,"
        " conversion drops) as of then.",
    )


def tools(semantic: Any) -> list[Tool]:
    return [
        Tool(
            "recent_activity",
            recent_activity,
            RecentActivityArgs,
            prompt="what happened in the last hour(s): headline figures against the same hours of the days before,"
            " and any outage or conversion drop.",
            follow_ups=lambda arguments, first: [
                "What happened in the last 24 hours?"
                if arguments.get("hours", 1) < 24
                else "What happened in the last hour?",
                "Which visitors browsing right now will probably check out before they leave?",
            ],
        )
    ]
