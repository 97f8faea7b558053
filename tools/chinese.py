"""Answers in Chinese, written by code: the same figures, directions, units and rows as the
English sentences of tools/metrics.py, from Chinese templates.

A question asked in Chinese is answered in Chinese. Where a template covers the call (one figure,
a ranking, a series over time, a comparison with the period before; plain metrics, entities that
did or never did something, shares of entities, per-entity statistics and ratios, with filters
and breakdowns), code writes the sentence, the line of what was computed and the chart's title,
as it does in English: no model call, nothing for a check to catch. Other shapes (shares of a
total, several metrics at once, distributions, conditions narrowed to some products) return
None, and the agent has the model translate the English sentence and checks the translation
(assistant/explain.py). Declines and the vague-question reply are here too.

Figures keep the English sentences' digits (1,234.56 · 31.4%) so the grounding check reads them
the same; dates stay ISO; data values (categories, brands) stay as the data spells them.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from tools import clock, narrate
from tools.language import is_chinese
from tools.metrics import (
    SemanticModel,
    _conditional,
    _many,
    _period_label,
    biggest_moves,
    counted_event,
    entity_of,
    filtering,
    holder,
    of_total,
    parse_bound,
    said_rows,
    series_listed,
    series_points,
    value_format,
    value_name,
    values_text,
    window,
    zeros_counted,
)
from tools.metrics import _row_label as metric_row_label
from tools.periods import Period, dates_text, previous

ENTITIES = {
    "user": "用户",
    "session": "会话",
    "order": "订单",
    "product": "商品",
    "category": "类目",
    "brand": "品牌",
}
GRAINS = {"hour": "小时", "day": "天", "week": "周", "month": "月", "quarter": "季度", "year": "年"}
UNITS = {"minutes": "分钟", "days": "天", "seconds": "秒", "hours": "小时"}
# Row labels of bare numbers and ids ("hour 2", "user 42" in English).
NAMED_VALUES = {
    "hour": "{} 点",
    "order_number": "第 {} 单",
    "user_id": "用户 {}",
    "session_id": "会话 {}",
    "order_id": "订单 {}",
    "product": "商品 {}",
}
BOUND_WORDS = {"<": "低于", "<=": "不高于", ">": "高于", ">=": "不低于", "=": "等于"}


def withheld(k: int) -> str:
    """tools/metrics.py's `_withheld` message."""
    return (
        f"已隐去：所问的每个数字描述的顾客都少于 {k} 人，隐私设置（SHOPLENS_MIN_GROUP_SIZE = {k}）"
        "不在回答中给出关于这么少顾客的数字。"
    )


def figure(value: Any, fmt: narrate.Format = "number") -> str:
    return "无数值" if value is None else narrate.figure(value, fmt)


def change(current: Any, before: Any, fmt: narrate.Format) -> str:
    """'+3.9 个百分点' for shares; else the absolute change and the relative one, as in English."""
    cur, prev = narrate.number(current), narrate.number(before)
    if cur is None or prev is None:
        return "无法比较（一方没有数值）"
    if fmt == "ratio":
        return f"{(cur - prev) * 100:+.1f} 个百分点"
    return narrate.change(current, before, fmt).replace(" (", "，").removesuffix(")")


def listing(items: list[str]) -> str:
    return "、".join(items)


def period_text(
    period: Period, start: date | None, end: date | None, span: tuple[Any, Any] = (None, None)
) -> str:
    """The period with its exact dates: '最近 7 天（2019-10-25 至 2019-10-31）'."""
    if start is None and end is None:
        first, last = span
        if first is None or last is None:
            return "全部数据"
        finish = last.strftime("%H:%M") if first.date() == last.date() else last.strftime("%Y-%m-%d %H:%M")
        return f"全部数据（{first.strftime('%Y-%m-%d %H:%M')} 至 {finish}）"
    n = period.n or 1
    label = {
        "today": "数据的最后一天",
        "yesterday": "数据最后一天的前一天",
        "this_week": "本周至今",
        "last_week": "上一个完整周",
        "this_month": "本月至今",
        "last_month": "上一个完整月",
        "this_quarter": "本季度至今",
        "last_quarter": "上一个完整季度",
        "this_year": "今年至今",
        "last_year": "上一个完整年度",
        "last_n_days": f"截至 {end} 的 {n} 天" if period.end else f"最近 {n} 天",
        "last_n_weeks": f"截至 {end} 的 {n} 周" if period.end else f"最近 {n} 周",
        "last_n_months": f"截至 {end} 的 {n} 个月" if period.end else f"最近 {n} 个月",
        "month": f"{start.year}年{start.month}月" if start else "该月",
        "year": f"{start.year}年" if start else "该年",
    }.get(period.kind, "")
    dates = dates_text(start, end, ("截至 {}", "自 {} 起", "{} 至 {}"))
    return f"{label}（{dates}）" if label else dates


def dimension_label(model: SemanticModel, name: str) -> str | None:
    """A dimension's Chinese name (类目 for category), when the metrics layer gives one."""
    zh = model.dimensions[name].zh if name in model.dimensions else None
    return zh.label if zh else None


def _bound(value: str) -> str:
    bound = parse_bound(value)
    if bound is None:
        return value
    if isinstance(bound[0], str):
        return f"{BOUND_WORDS[bound[0]]} {bound[1]:g}"
    return f"{bound[0]:g} 至 {bound[1]:g}"


def filters_text(model: SemanticModel, filters: list[Any]) -> str | None:
    """'类目为 electronics 或 books，国家不为 United Kingdom'; None if a dimension has no Chinese name."""
    parts = []
    for item in filters:
        if getattr(item, "against_rest", False):  # a breakdown, named with the grouping
            continue
        name = dimension_label(model, item.dimension)
        if name is None:
            return None
        dimension = model.dimensions[item.dimension]
        verb = "不为" if item.exclude else "为"
        if dimension.match == "contains":
            words = " 或 ".join(f"“{v}”" for v in item.values)
            parts.append(f"商品名称或类目路径{'不包含' if item.exclude else '包含'} {words}")
        elif dimension.match == "range":
            parts.append(f"{name}{verb}{' 或 '.join(_bound(v) for v in item.values)}")
        else:
            span = values_text(item.dimension, item.values)
            if item.dimension == "hour" and ":" in span:  # a span of hours, as the English reads it
                parts.append(f"时段{verb} {span}")
            else:
                values = [VALUE_NAMES.get(item.dimension, {}).get(v, v) for v in item.values]
                parts.append(f"{name}{verb} {' 或 '.join(values)}")
    return "，".join(parts)


# Values code writes itself (not the data's own), in Chinese.
VALUE_NAMES = {"reorder": {"reorder": "复购", "first time": "首次购买"}}


VERBS = {
    "view": "浏览",
    "cart": "加购",
    "remove_from_cart": "移出购物车",
    "purchase": "购买",
    "fav": "收藏",
    "search": "搜索",
}
PASSIVE = {"product", "category", "brand"}  # done to, not doers: 被浏览过的商品


def _times_text(args: Any, unit: str) -> str:
    low, high = args.min_times, args.max_times
    if low and high is not None and low == high:
        return f"恰好 {low} {unit}"
    if low and high is not None:
        return f"{low} 至 {high} {unit}"
    if low:
        return f"至少 {low} {unit}"
    return f"至多 {high} {unit}"


def conditions_text(args: Any, entity: str) -> str:
    """'加购过但从未购买过', '购买至少 2 单', '被浏览过但从未被购买过' (tools/metrics.py's
    `_conditions_text` in Chinese)."""
    passive = "被" if entity in PASSIVE else ""
    first = counted_event(args)
    unit = "单" if first == "purchase" and entity != "order" else "次"
    times = bool(args.min_times or args.max_times is not None)
    parts = []
    for i, event in enumerate(args.did):
        counted = i == 0 and times
        parts.append(f"{passive}{VERBS[event]}" + (_times_text(args, unit) if counted else "过"))
    if not args.did and times:
        if first:
            parts.append(f"{passive}{VERBS[first]}{_times_text(args, unit)}")
        else:
            parts.append(f"有{_times_text(args, '个事件')}")
    text = "并".join(parts)
    if args.did_not:
        never = "从未" + "或".join(f"{passive}{VERBS[e]}" for e in args.did_not) + "过"
        text = f"{text}但{never}" if text else never
    return text


# The entity a breakdown's key column holds ("user_id" rows are users).
ENTITY_OF_KEY = {"user_id": "user", "session_id": "session", "order_id": "order", "product": "product"}


def _value_bound(low: Any, high: Any, fmt: narrate.Format) -> str:
    """'至少 11', '1 至 3', '恰好 1' for per-entity bounds (tools/metrics.py's `bounds_text`)."""
    if low is not None and high is not None:
        return f"恰好 {figure(low, fmt)}" if low == high else f"{figure(low, fmt)} 至 {figure(high, fmt)}"
    if low is not None:
        return f"至少 {figure(low, fmt)}"
    return f"至多 {figure(high, fmt)}" if high is not None else ""


def measure_text(model: SemanticModel, args: Any) -> str | None:
    """The measure in Chinese, for the shapes with a template; None for the others."""
    metric = model.metrics[args.metric]
    if metric.zh is None or args.also:
        return None
    if getattr(args, "did_where", []) or getattr(args, "did_not_where", []):
        return None
    if getattr(args, "together", False):
        rows = ENTITIES.get(ENTITY_OF_KEY.get(args.group_by[0], ""), None) or dimension_label(
            model, args.group_by[0]
        )
        if rows is None:
            return None
        which = "最高" if args.sort == "highest" else "最低"
        return f"{metric.zh.label}{which}的前 {args.top_n} 个{rows}合计占全部{metric.zh.label}的比例"
    if of_total(model, args):
        return _share_of_total_text(model, args)
    label = metric.zh.label
    entity = ENTITIES.get(entity_of(model, args))
    conditions = conditions_text(args, entity_of(model, args)) if _conditional(args) else ""
    if conditions and entity is None:
        return None
    if args.share:
        base = "、".join(VERBS[e] for e in args.among)
        population = f"有{base}的{entity}" if base else f"所有{entity}"
        return f"{population}中{'也' if args.among and args.did else ''}{conditions}的比例"
    if args.divided_by:
        other = model.metrics[args.divided_by].zh
        return f"{label}与{other.label}之比" if other and not (args.per or conditions) else None
    if args.per:
        if entity is None:
            return None
        only = f"（仅{conditions}的{entity}）" if conditions else ""
        if args.stat == "count":
            bound = _value_bound(args.min_value, args.max_value, metric.format)
            return f"{label}{bound}的{entity}数{only}" if bound else f"有{label}的{entity}数{only}"
        if args.stat == "distribution":
            return f"每个{entity}的{label}分布（各取值的{entity}数）{only}"
        bound = _value_bound(args.min_value, args.max_value, metric.format)
        if bound and conditions:
            return None
        conditions = conditions or (f"{label}{bound}" if bound else "")  # "销售额至少 100 的用户中"
        statistic = {
            "total": f"各{entity}{label}的总和",
            "average": f"每个{entity}的平均{label}",
            "median": f"每个{entity}{label}的中位数",
            "max": f"单个{entity}的最大{label}",
            "min": f"单个{entity}的最小{label}",
        }.get(args.stat)
        if statistic and zeros_counted(metric, args) and args.stat in ("average", "median"):
            statistic += f"（含没有{label}的{entity}）"
        return f"{conditions}的{entity}中，{statistic}" if statistic and conditions else statistic
    if conditions:
        return (
            f"{conditions}的{entity}数"
            if metric.counts == entity_of(model, args)
            else f"{conditions}的{entity}的{label}"
        )
    return label


def _share_of_total_text(model: SemanticModel, args: Any) -> str | None:
    """'类目为 electronics 的销售额占全部销售额的比例', '各类目的销售额占比'."""
    label = model.metrics[args.metric].zh.label  # type: ignore[union-attr]
    entity = entity_of(model, args)
    conditions = conditions_text(args, entity) if _conditional(args) else ""
    parts = [f"{conditions}的{ENTITIES.get(entity, '')}"] if conditions and entity in ENTITIES else []
    if conditions and not parts:
        return None
    if filtering(args.filters) and not args.group_by:
        filters = filters_text(model, args.filters)
        if filters is None:
            return None
        parts.append(filters)
    whole = f"占全部{label}的比例"
    return f"{'、'.join(parts)}的{label}{whole}" if parts else f"{label}{whole}"


def interpret(model: SemanticModel, args: Any, facts: Any, compare: bool = False) -> str | None:
    """The line of what was computed, as tools/metrics.py's `interpret` writes it in English."""
    measure = measure_text(model, args)
    if measure is None:
        return None
    metric = model.metrics[args.metric]
    definition = metric.zh.description if metric.zh and metric.zh.description else None
    label = metric.zh.label  # type: ignore[union-attr]
    if args.share or _conditional(args) and metric.counts:  # the measure says what is counted
        definition = None
    if definition:
        parts = [f"{measure}（{definition}）" if measure == label else f"{measure}（{label}：{definition}）"]
    else:
        parts = [measure]
    if filtering(args.filters) and not (
        of_total(model, args) and not args.group_by
    ):  # the measure names them
        filters = filters_text(model, args.filters)
        if filters is None:
            return None
        parts.append(f"条件：{filters}")
    start, end = window(args.period, facts)
    period = period_text(args.period, start, end, (facts.first_event, facts.last_event))
    if compare and start is not None and end is not None:
        before = previous(start, end, args.period)
        period += f"，对比 {before[0].isoformat()} 至 {before[1].isoformat()}"
    parts.append(period)
    grain = getattr(args, "grain", "none")
    if grain != "none":
        parts.append(f"按{GRAINS[grain]}")
    if args.group_by:
        names = [dimension_label(model, d) for d in args.group_by]
        if None in names:
            return None
        parts.append("按" + "和".join(names))  # type: ignore[arg-type]
        for item in args.filters:
            if getattr(item, "against_rest", False):
                parts[-1] += f"（{' 或 '.join(item.values)}与其他）"
    if args.top_n:
        parts.append(f"{'前' if args.sort == 'highest' else '后'} {args.top_n} 名")
    elif args.sort == "lowest" and (args.group_by or grain != "none"):
        parts.append("从低到高")
    if args.time_zone:
        parts.append(f"小时和星期按 {clock.label(args.time_zone)} 时间计（日期为 UTC）")
    return "；".join(parts) + "。"


def chart_title(model: SemanticModel, args: Any) -> str | None:
    """'销售额（按类目）', as the English title names the figure and its breakdown."""
    measure = measure_text(model, args)
    if measure is None:
        return None
    names = [dimension_label(model, d) for d in args.group_by[:1]]
    return f"{measure}（按{names[0]}）" if names and names[0] else measure


def _row_label(columns: list[str], row: tuple, keys: list[str], grain: str = "none") -> str:
    return metric_row_label(columns, row, keys, grain, named=NAMED_VALUES, titled="{title}（{id}）")


def summarize(model: SemanticModel, args: Any, columns: list[str], rows: list[tuple]) -> str | None:
    """The sentence about a metric's rows, as tools/metrics.py's `summarize` writes it in English."""
    measure = measure_text(model, args)
    if measure is None:
        return None
    if not rows:
        return f"没有结果：数据中没有符合条件的记录（{measure}）。"
    fmt = value_format(model, args)
    metric = model.metrics[args.metric]
    unit = (
        f" {UNITS.get(metric.unit, metric.unit)}"
        if metric.unit and fmt != "ratio" and not args.divided_by
        else ""
    )
    name = value_name(model, args)
    at = columns.index(name) if name in columns else 0
    grain = getattr(args, "grain", "none")
    keys = [c for c in columns if c in ("period", *args.group_by)]
    if args.per and args.stat == "distribution":
        return _distribution(model, args, columns, rows, fmt)
    if args.per and args.stat == "count":
        unit = ""  # a number of entities
    if not keys:
        return _one_figure(model, args, columns, rows[0], figure(rows[0][at], fmt) + unit, measure)
    if grain != "none" and not args.top_n and len(rows) > 1 and not args.group_by:
        return _series(rows, at, grain, f"按{GRAINS[grain]}的{measure}", fmt, unit)
    shown = [
        f"{_row_label(columns, r, keys, grain)}（{figure(r[at], fmt)}{unit}）"
        for r in said_rows(args, rows, at, grain)
    ]
    text = f"{measure}{'最高' if args.sort == 'highest' else '最低'}的是 {shown[0]}"
    if len(shown) > 1:
        text += f"，其次是 {listing(shown[1:])}"
    return text + (f"；共 {len(rows):,} 行。" if len(rows) > len(shown) else "。")


def _distribution(
    model: SemanticModel, args: Any, columns: list[str], rows: list[tuple], fmt: narrate.Format
) -> str:
    """Its range and its most common value (or bin), as tools/metrics.py's English says it."""
    label, entity = model.metrics[args.metric].zh.label, entity_of(model, args)  # type: ignore[union-attr]
    count_at = columns.index(_many(entity))
    top = max(rows, key=lambda r: r[count_at] or 0)
    values = [r[0] for r in rows]
    start = "最常见的区间起点是" if columns[0].endswith("_from") else "最常见的取值是"
    return (
        f"每个{ENTITIES[entity]}的{label}从 {figure(min(values), fmt)} 到 {figure(max(values), fmt)}；"
        f"{start} {figure(top[0], fmt)}（{figure(top[count_at], 'count')} 个{ENTITIES[entity]}）。"
    )


def _one_figure(
    model: SemanticModel, args: Any, columns: list[str], row: tuple, shown: str, measure: str
) -> str:
    metric = model.metrics[args.metric]
    if of_total(model, args):
        part, whole = row[columns.index(metric.name)], row[columns.index(f"total_{metric.name}")]
        return f"{measure}：{shown}（{figure(part, metric.format)} / {figure(whole, metric.format)}）。"
    if args.per and args.stat == "count":
        entity = entity_of(model, args)
        many = _many(entity)
        share = figure(row[columns.index(f"share_of_{many}")], "ratio")
        return (
            f"{measure}：{shown}（在 {figure(row[columns.index(many)], 'count')} 个有{metric.zh.label}的"  # type: ignore[union-attr]
            f"{ENTITIES[entity]}中占 {figure(row[columns.index('matching')], 'count')} 个，{share}）。"
        )
    if args.per and args.stat in ("max", "min"):
        entity = entity_of(model, args)
        who, owner = holder(columns, row, entity)
        if who is None:
            return f"{measure}：{shown}。"
        placed = f"，用户 {narrate.label(owner)}" if owner is not None else ""
        return f"{measure}：{shown}（{ENTITIES[entity]} {narrate.label(who)}{placed}）。"
    if args.share:
        entity = _many(entity_of(model, args))
        return (
            f"{measure}：{shown}（{figure(row[columns.index('matching')], 'count')}"
            f" / {figure(row[columns.index(entity)], 'count')}）。"
        )
    if args.divided_by:
        other = model.metrics[args.divided_by]
        return (
            f"{measure}：{shown}（{metric.zh.label} {figure(row[columns.index(metric.name)], 'count')}"  # type: ignore[union-attr]
            f" / {other.zh.label} {figure(row[columns.index(args.divided_by)], 'count')}）。"  # type: ignore[union-attr]
        )
    return f"{measure}：{shown}。"


def _moved(current: Any, before: Any) -> str:
    return {"rose": "上升", "fell": "下降", "did not change": "没有变化"}.get(
        narrate.direction(current, before), ""
    )


def _series(rows: list[tuple], at: int, grain: str, what: str, fmt: narrate.Format, unit: str) -> str:
    """Where a series started and ended, and its highest and lowest periods."""
    first, last, high, low = series_points(rows, at)
    moved = _moved(last[at], first[at])
    start = f"{_period_label(first[0], grain)} 的 {figure(first[at], fmt)}{unit}"
    finish = f"{_period_label(last[0], grain)} 的 {figure(last[at], fmt)}{unit}"
    trend = f"从 {start} {moved}到 {finish}" if moved in ("上升", "下降") else f"：{start}，{finish}"
    return (
        f"{what}{trend}；最高 {figure(high[at], fmt)}（{_period_label(high[0], grain)}），"
        f"最低 {figure(low[at], fmt)}（{_period_label(low[0], grain)}）。"
        + _each_period(rows, at, grain, fmt, unit)
    )


def _each_period(rows: list[tuple], at: int, grain: str, fmt: narrate.Format, unit: str) -> str:
    listed = [f"{figure(r[at], fmt)}{unit}（{_period_label(r[0], grain)}）" for r in series_listed(rows, at)]
    return f"各{GRAINS[grain]}：{'，'.join(listed)}。" if listed else ""


def summarize_change(model: SemanticModel, args: Any, columns: list[str], rows: list[tuple]) -> str | None:
    """A comparison with the period before: the direction from the sign, the unit from the metric."""
    measure = measure_text(model, args)
    if measure is None:
        return None
    if not rows:
        return f"没有结果：数据中没有符合条件的记录（{measure}）。"
    fmt = value_format(model, args)
    at, before_at = columns.index(value_name(model, args)), columns.index("previous")
    keys = [c for c in columns if c in args.group_by]
    if not keys:
        row = rows[0]
        moved = _moved(row[at], row[before_at])
        if moved in ("上升", "下降"):
            return (
                f"{measure}从 {figure(row[before_at], fmt)} {moved}到 {figure(row[at], fmt)}"
                f"（{change(row[at], row[before_at], fmt)}）。"
            )
        if moved == "没有变化":
            return f"{measure}没有变化：两个时段都是 {figure(row[at], fmt)}。"
        return (
            f"{measure}：本期 {figure(row[at], fmt)}，上期 {figure(row[before_at], fmt)}；其中一期没有数值。"
        )
    group = dimension_label(model, args.group_by[0]) or args.group_by[0]
    moves = biggest_moves(rows, columns.index("change"))
    if moves is None:
        return f"{measure}：没有哪个{group}在两个时段都有数值。"
    fall, rise = moves
    parts = []
    if fall is not None:
        parts.append(
            f"{measure}降幅最大的是 {_row_label(columns, fall, keys)}，从 {figure(fall[before_at], fmt)}"
            f" 降到 {figure(fall[at], fmt)}（{change(fall[at], fall[before_at], fmt)}）"
        )
    if rise is not None:
        parts.append(
            f"{'升幅' if parts else measure + '升幅'}最大的是 {_row_label(columns, rise, keys)}，从"
            f" {figure(rise[before_at], fmt)} 升到 {figure(rise[at], fmt)}（{change(rise[at], rise[before_at], fmt)}）"
        )
    if not parts:
        return f"{measure}在各个{group}都没有变化。"
    return "；".join(parts) + "。"


def interpret_funnel(model: SemanticModel, args: Any, facts: Any) -> str | None:
    """tools/metrics.py's `interpret_funnel` in Chinese."""
    parts = [
        "到达各步骤的会话数："
        + " → ".join(VERBS.get(s, s) for s in args.steps)
        + "（会话只要有该事件就算到达该步骤，不论顺序）"
    ]
    if args.filters:
        filters = filters_text(model, args.filters)
        if filters is None:
            return None
        parts.append(f"条件：{filters}")
    start, end = window(args.period, facts)
    parts.append(period_text(args.period, start, end, (facts.first_event, facts.last_event)))
    if args.group_by:
        name = dimension_label(model, args.group_by)
        if name is None:
            return None
        parts.append(f"按{name}")
    return "；".join(parts) + "。"


def summarize_funnel(steps: list[str], rows: list[tuple], dim: str | None) -> str:
    """'在 1,898 个有浏览的会话中，35 个（1.8%）到达加购，50 个（2.6%）到达购买。'; by a
    dimension, which value converts best and worst from the first step to the last."""
    if not rows:
        return "该时段没有会话。"
    if dim is None:
        later = [
            f"{figure(r[1], 'count')} 个（{figure(r[3], 'ratio')}）到达{VERBS.get(r[0], r[0])}"
            for r in rows[1:]
            if r[3] is not None
        ]
        text = f"在 {figure(rows[0][1] or 0, 'count')} 个有{VERBS.get(steps[0], steps[0])}的会话中"
        return text + ("，" + "，".join(later) if later else "") + "。"
    last = [r for r in rows if r[1] == steps[-1] and r[4] is not None]
    if not last:
        return "没有哪个取值在第一步有会话。"
    best = max(last, key=lambda r: r[4])
    worst = min(last, key=lambda r: r[4])
    return (
        f"从{VERBS.get(steps[0], steps[0])}到{VERBS.get(steps[-1], steps[-1])}，{narrate.label(best[0])} 转化最好"
        f"（{figure(best[4], 'ratio')}），{narrate.label(worst[0])} 最差（{figure(worst[4], 'ratio')}）。"
    )


# --- declines and clarifications ----------------------------------------------------------

# tools/evidence.py's sentences on what the data lacks (a test keeps the two lists together).
LACKS = {
    "The data has no calendar dates: Instacart publishes only the days between a customer's orders, so"
    " months, weekdays and dates cannot be told.": (
        "数据中没有真实的日历日期：Instacart 只公布顾客相邻两单之间的天数，所以无法区分月份、星期和日期。"
    ),
    "The data has no retailers, sellers or store locations: it records shoppers' actions in one shop.": (
        "数据中没有零售商、卖家或门店位置：它记录的是顾客在一家店铺里的行为。"
    ),
    "The data has prices paid but no costs of goods, so profit and margins cannot be computed.": (
        "数据有成交价格但没有商品成本，所以算不出利润和毛利。"
    ),
    "The data has no marketing spend: it records what shoppers did, not what was paid to bring them.": (
        "数据中没有营销花费：它记录顾客做了什么，而不是为吸引他们花了多少钱。"
    ),
    "The data has no marketing campaigns: it records what shoppers did, not which campaign reached them.": (
        "数据中没有营销活动：它记录顾客做了什么，而不是哪个活动触达了他们。"
    ),
    "The data has no demographics (age, gender, income) of its users.": "数据中没有用户的人口属性（年龄、性别、收入）。",
    "The data has no shipping or delivery information.": "数据中没有运输或配送信息。",
    "The data has no ratings, reviews or satisfaction scores.": "数据中没有评分、评价或满意度。",
    "The data has no stock levels.": "数据中没有库存水平。",
    "The data has no e-mail or ad campaign results.": "数据中没有邮件或广告活动的效果数据。",
    "The data has no payment methods.": "数据中没有支付方式。",
    "The data has no discounts or coupons: it records the prices paid, not the promotions behind them.": (
        "数据中没有折扣或优惠券：它记录成交价格，而不是背后的促销活动。"
    ),
    "The data has no customer service records.": "数据中没有客服记录。",
    "The data has no cities, states or addresses (at most a country per user).": (
        "数据中没有城市、省份或地址（每个用户至多有一个国家）。"
    ),
    "The data has no names or contact details of its users: they are ids.": "数据中没有用户的姓名或联系方式：用户只是 ID。",
    "The data has no artists, authors or genres: products are ids, with a title and a category where the data has"
    " them.": "数据中没有艺术家、作者或流派：商品只是 ID，有的数据带有名称和类目。",
    "The data has no browser, operating system or app details.": "数据中没有浏览器、操作系统或应用的信息。",
    "The data has timed events, not what happened on a page or how the site performed.": (
        "数据只有带时间的事件，没有页面上发生了什么或网站性能的信息。"
    ),
    "The data has no loyalty program, membership or subscription records.": "数据中没有会员、积分或订阅记录。",
    "The data has no staff or store locations: it records shoppers' online behavior.": (
        "数据中没有员工或门店位置：它记录的是顾客的线上行为。"
    ),
    "The data has no taxes: prices are as the shop recorded them.": "数据中没有税费：价格就是店铺记录的价格。",
    "That is not in the shop's behavior data.": "店铺的行为数据里没有这项内容。",
    "The data covers only the past; it cannot tell what will happen.": "数据只覆盖过去，无法预测将来会发生什么。",
    "The data records no returns or refunds.": "数据中没有退货或退款记录。",
    "The data has no search events, so no search words.": "数据中没有搜索事件，所以没有搜索词。",
    "The data has no product names or titles: its products are ids.": "数据中没有商品名称或标题：商品只是 ID。",
    # tools/metrics.py's, for hours on data with dates only
    "The data records dates only, not times of day, so nothing can be broken down or filtered by hour.": (
        "数据只记录日期，没有具体时间，所以无法按小时细分或筛选。"
    ),
}
EVENT_NAMES = {
    "view": "浏览",
    "cart": "加购",
    "remove_from_cart": "移出购物车",
    "purchase": "购买",
    "fav": "收藏",
    "search": "搜索",
}
DIMENSION_NAMES = {"country": "国家", "channel": "渠道", "device": "设备"}
COULD_NOT = "出错了，无法回答："
VAGUE = "您想看哪些数字：比如销售额、订单数、转化率或热销商品，看哪个时间段？"


def data_has(event_types: list[str], dimensions: list[str], prices: bool, first: Any, last: Any) -> str:
    """assistant/screen.py's sentence on what the data holds, in Chinese."""
    kinds = "、".join(EVENT_NAMES.get(e, e) for e in event_types) or "没有"
    extra = "".join(f"、{ENTITIES.get(d) or DIMENSION_NAMES.get(d, d)}" for d in dimensions)
    held = "价格和数量" if prices else "数量（没有价格）"
    return f"数据包含{kinds}事件，以及时间、用户、会话、商品{extra}、{held}，时间从 {first} 到 {last}。"


def declined(text: str, has_english: str, has_chinese: str, model: SemanticModel) -> str:
    """A decline in Chinese: the sentences code wrote, translated (a dimension by `model`'s
    Chinese name); the model's own reason, if any, kept as it wrote it after '无法回答：'."""
    said = text.replace(has_english, has_chinese)
    for english, chinese in LACKS.items():
        said = said.replace(english, chinese)
    for name, chinese in DIMENSION_NAMES.items():
        said = said.replace(
            f"The data has no {name} information, so it cannot say anything by {name}.",
            f"数据中没有{chinese}信息，所以无法按{chinese}回答。",
        )

    def lacking_value(m: re.Match[str]) -> str:  # tools/metrics.py's UnknownValue, a value the question named
        name = dimension_label(model, m[1]) or ENTITIES.get(m[1]) or DIMENSION_NAMES.get(m[1], m[1])
        return f"数据中没有{name} {m[2]}；{'最常见的是' if m[3].startswith('the') else '编号形如'} {m[4]}。"

    said = re.sub(
        r"The data has no (\w+) ('.*?'); (the most common are|its ids look like) (.*?)\.(?= |$)",
        lacking_value,
        said,
    )
    said = re.sub(
        r"No product's name or category path in the data contains ('.*?'); for example: (.*?)\.(?= |$)",
        r"数据中没有名称或类目路径包含 \1 的商品；例如：\2。",
        said,
    )
    for event, chinese in {**EVENT_NAMES, "favorite": EVENT_NAMES["fav"]}.items():  # evidence.missing_event
        said = said.replace(
            f"The data records no {event} events, so it cannot count them.",
            f"数据中没有{chinese}事件，所以无法统计。",
        )
    return said if is_chinese(said[:1]) else f"无法回答：{said}"
