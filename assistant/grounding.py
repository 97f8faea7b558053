"""The grounding check: every number in an answer must come from this turn's tool results.

A number in the text counts as grounded when a result value equals it after the rounding the
text shows (12.6 for 0.12553 as a percentage, 1.2M for 1,234,567), its absolute value (a
"drop of 4.4 points" from a change of -0.0445), or when the question itself holds it ("last 7
days"). Everything else is flagged: the UI shows the flag, the eval counts it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# Not after a letter, digit or point ("Q3", "v2.1"); after a Chinese character it is a number
# ("共有49个", "占比60.68%"), with the Chinese scales 万 and 亿.
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.])(-?[$¥]?\d(?:[\d,]*\d)?(?:\.\d+)?)\s*"
    r"(%|percent|k\b|m\b|bn\b|million\b|billion\b|thousand\b|万|亿)?",
    re.IGNORECASE,
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
# Dates are not figures: 2026-10-05, October 5, 2026, 5 October 2026, Oct 5; nor is a range of
# hours, which code writes from the request ("hour of day is 00:00-05:59"), not from the results.
_DATE = re.compile(
    r"\b\d{1,2}:\d{2}\s*(?:-|–|~|to|至|到)\s*\d{1,2}:\d{2}\b|"
    rf"\b\d{{4}}-\d{{2}}-\d{{2}}\b|\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\b\d{{1,2}}\s+{_MONTH}(?:\s+\d{{4}})?"
    r"|\d{4}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?)?|\d{1,2}\s*月\s*\d{1,2}\s*[日号]",
    re.IGNORECASE,
)
_SCALE = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "million": 1e6,
    "bn": 1e9,
    "billion": 1e9,
    "万": 1e4,
    "亿": 1e8,
}


def numbers_in(text: str) -> list[tuple[str, float, int, bool]]:
    """(as written, value, decimals shown, is a percentage) for each number in the text; dates skipped."""
    text = _DATE.sub(" ", text)
    found = []
    for match in _NUMBER.finditer(text):
        raw, unit = match.group(1), (match.group(2) or "").lower()
        digits = raw.replace("$", "").replace("¥", "").replace(",", "")
        try:
            value = float(digits)
        except ValueError:
            continue
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        scale = _SCALE.get(unit, 1.0)
        found.append(
            (
                match.group(0).strip(),
                value * scale,
                decimals if scale == 1.0 else -1,
                unit in ("%", "percent"),
            )
        )
    return found


def _numeric(value: Any) -> Iterable[float]:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float, Decimal)):
        number = float(value)
        if math.isfinite(number):
            yield number
    elif isinstance(value, (date, datetime)):
        yield float(value.year)
        yield float(value.day)
        if isinstance(value, datetime):  # "2017-11-25 13:00": an hour is stated too
            yield float(value.hour)
            yield float(value.minute)
    elif isinstance(value, str):
        for _, number, _, _ in numbers_in(value):
            yield number


def _matches(written: float, decimals: int, percent: bool, candidate: float) -> bool:
    targets = [candidate, abs(candidate)]
    if percent or abs(candidate) <= 1.5:  # shares are often written as percentages
        targets += [candidate * 100, abs(candidate) * 100]
    for target in targets:
        if decimals >= 0 and round(target, decimals) == round(written, decimals):
            return True
        if (
            decimals >= 0
            and decimals <= 2
            and math.isclose(round(target, decimals), written, abs_tol=10**-decimals)
        ):
            return True  # rounding half-way cases
        if decimals < 0 and math.isclose(target, written, rel_tol=0.05):  # 1.2M, 3k
            return True
        if target and abs(target - written) / abs(target) < 0.005:
            return True
    return False


def ungrounded_numbers(text: str, results: Iterable[Iterable[Any]], question: str = "") -> list[str]:
    """The numbers in `text` that no result value (nor the question) supports."""
    values = [number for row in results for value in row for number in _numeric(value)]
    allowed = [number for _, number, _, _ in numbers_in(question)]
    flagged = []
    for written, number, decimals, percent in numbers_in(text):
        if any(math.isclose(number, a) for a in allowed):
            continue
        if not any(_matches(number, decimals, percent, v) for v in values):
            flagged.append(written)
    return flagged


# Chinese has no spaces, so its words are matched without word boundaries.
_UP = re.compile(
    r"\b(rose|rise|rising|risen|increas\w*|grew|grow\w*|gain\w*|higher|up|climb\w*|jump\w*|improv\w*|more than before|went up|surg\w*)\b"
    r"|上升|增长|增加|提高|提升|上涨|升高|回升",
    re.IGNORECASE,
)
_DOWN = re.compile(
    r"\b(fell|fall\w*|drop\w*|decreas\w*|declin\w*|lower|down|shrank|shrink\w*|los[st]\w*|dipp?\w*|worse\w*|plung\w*|went down|reduc\w*)\b"
    r"|下降|下跌|下滑|减少|降低|回落|萎缩",
    re.IGNORECASE,
)


def _sign(value: Any) -> int:
    if (
        isinstance(value, (int, float, Decimal))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    ):
        return (float(value) > 0) - (float(value) < 0)
    return 0


def misstatements(text: str, columns: list[str], rows: list[list[Any]] | list[tuple]) -> list[str]:
    """What a sentence gets wrong about a result beyond its numbers: a direction word against
    the sign of a change, and a figure attributed to a row it does not belong to."""
    problems: list[str] = []
    sentences = [s for s in re.split(r"(?<=[.;!?])\s+|(?<=[。；！？])", text) if s.strip()]
    labels = {}
    for index, row in enumerate(rows):
        for value in row:
            if isinstance(value, str) and len(value) >= 2 and not numbers_in(value):
                labels.setdefault(value.lower(), index)
    change_at = columns.index("change") if "change" in columns else None
    for sentence in sentences:
        lower = sentence.lower()
        named = [
            # Not inside a longer English word; a Chinese character beside it is no part of it.
            (label, i)
            for label, i in labels.items()
            if re.search(rf"(?<![a-z0-9_]){re.escape(label)}(?![a-z0-9_])", lower)
        ]
        # Direction: the row the clause names (or the only row) decides the sign.
        if change_at is not None:
            about = [i for _, i in named] or ([0] if len(rows) == 1 else [])
            for i in about[:1]:
                sign = _sign(rows[i][change_at])
                up, down = bool(_UP.search(sentence)), bool(_DOWN.search(sentence))
                if sign < 0 and up and not down:
                    problems.append(f"says it went up, but it fell ({_row_name(rows[i], named, i)})")
                elif sign > 0 and down and not up:
                    problems.append(f"says it went down, but it rose ({_row_name(rows[i], named, i)})")
        # Swapped labels: one row named, and a figure that only other rows hold.
        if len(named) == 1 and len(rows) > 1:
            label, own = named[0]
            for written, number, decimals, percent in numbers_in(sentence):
                holders = {
                    i
                    for i, row in enumerate(rows)
                    for value in row
                    for candidate in _numeric(value)
                    if _matches(number, decimals, percent, candidate)
                }
                if holders and own not in holders:
                    problems.append(f"{written} belongs to another row, not to {label}")
    return problems


def _row_name(row: Any, named: list[tuple[str, int]], index: int) -> str:
    for label, i in named:
        if i == index:
            return label
    return "the result"
