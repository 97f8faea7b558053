"""Sentences about figures, written by code: units, directions and which row a figure belongs to.

A small model reverses directions and mixes up rows; code does not. Every figure a sentence
states is formatted from a value in the result's rows, the way the grounding check reads it
back (a share 0.3141 as "31.4%", a change of shares in points, money with two decimals), so a
code-written sentence always passes that check.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from tools.base import drop_instructions, format_value

Format = Literal["count", "money", "ratio", "number"]


def number(value: Any) -> float | None:
    """A cell as a float, or None when it is not a finite number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def figure(value: Any, fmt: Format = "number") -> str:
    """A value as a sentence states it: 1,747 · 1,234.56 · 31.4% · 0.42; "no value" for NULL."""
    x = number(value)
    if x is None:
        return "no value" if value is None else label(value)
    if fmt == "ratio":
        return f"{x * 100:.1f}%" if abs(x * 100) >= 0.1 or x == 0 else f"{_small(x * 100)}%"
    if fmt == "money":
        return f"{x:,.2f}"
    if fmt == "count" and x == int(x):
        return f"{int(x):,}"
    if abs(x) >= 100:
        return f"{x:,.1f}".removesuffix(".0")
    if abs(x) >= 1:
        return f"{x:,.2f}".rstrip("0").rstrip(".")
    return _small(x)


def _small(x: float) -> str:
    """Three significant digits, never in scientific notation (the grounding check reads digits)."""
    if x == 0:
        return "0"
    places = max(2, 2 - math.floor(math.log10(abs(x))))
    return f"{x:.{places}f}".rstrip("0").rstrip(".")


def change(current: Any, before: Any, fmt: Format) -> str:
    """The change from `before` to `current` with its unit: points for shares, else the absolute
    change and, where it means something, the relative one: "+3.9 points", "-120 (-12.5%)"."""
    cur, prev = number(current), number(before)
    if cur is None or prev is None:
        return "no comparison (a side has no value)"
    delta = cur - prev
    if fmt == "ratio":
        return f"{delta * 100:+.1f} points"
    shown = figure(abs(delta), fmt)
    sign = "+" if delta > 0 else ("-" if delta < 0 else "±")
    if prev:
        return f"{sign}{shown} ({delta / abs(prev) * 100:+.1f}%)"
    return f"{sign}{shown}"


def direction(current: Any, before: Any) -> Literal["rose", "fell", "did not change", "cannot be compared"]:
    cur, prev = number(current), number(before)
    if cur is None or prev is None:
        return "cannot be compared"
    if cur > prev:
        return "rose"
    if cur < prev:
        return "fell"
    return "did not change"


def label(value: Any) -> str:
    """A row's label (a category, a date, a product id) as a sentence names it."""
    if value is None:
        return "(none)"
    if isinstance(value, date):  # datetimes too
        return format_value(value)
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def plural(n: int, noun: str) -> str:
    """'1 search', '2 searches', '3 days'."""
    if n == 1:
        return f"{n:,} {noun}"
    return f"{n:,} {noun}{'es' if noun.endswith(('s', 'sh', 'ch', 'x', 'z')) else 's'}"


def listing(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def quoted(text: Any, limit: int = 60) -> str:
    """Text from the shop's data (a title, a query) as a sentence may quote it: without sentences
    that read as instructions (planted injection), cut to `limit` characters."""
    clean = " ".join((drop_instructions(str(text)) or "").split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def is_tool_call(text: str) -> bool:
    """A model reply that is a tool call (JSON, a code fence) where prose was asked for: the
    system prompt that every call shares asks for calls, and the model sometimes gives one."""
    return text.lstrip().startswith(("{", "[", "```")) or '"tool"' in text


def table_sentence(
    columns: list[str], rows: list[tuple], truncated: bool = False, language: str = "en"
) -> str:
    """A plain sentence about any table (free SQL): its one value, or its size and first row;
    in English or Chinese (`language` "zh"; the columns keep the names the query gave them)."""
    zh = language == "zh"
    if not rows:
        return "查询没有返回任何行。" if zh else "The query returned no rows."
    names = [c.replace("_", " ") for c in columns]

    def cell(name: str, value: Any, joined: str) -> str:
        return f"{name}{joined}{quoted(label(value)) if number(value) is None else figure(value)}"

    if len(rows) == 1:
        if zh:
            return (
                "查询结果：" + "；".join(cell(n, v, " ") for n, v in zip(names, rows[0], strict=False)) + "。"
            )
        return capitalized("; ".join(cell(n, v, ": ") for n, v in zip(names, rows[0], strict=False))) + "."

    def row_text(row: tuple) -> str:
        return ("、" if zh else ", ").join(cell(n, v, " ") for n, v in zip(names, row, strict=False))

    short = len(rows) <= 5 and len(columns) <= 4 and not truncated  # a short table is said in full
    if zh:
        if short:
            return f"共 {len(rows)} 行：" + "；".join(row_text(r) for r in rows) + "。"
        return f"共 {len(rows):,} 行{'（未全部显示）' if truncated else ''}；第一行：{row_text(rows[0])}。"
    more = " (more not shown)" if truncated else ""
    if short:
        return f"{len(rows)} rows: " + "; ".join(row_text(r) for r in rows) + "."
    return f"{len(rows):,} rows{more}; the first: {row_text(rows[0])}."
