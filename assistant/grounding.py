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

_NUMBER = re.compile(
    r"(?<![\w.])(-?\$?\d[\d,]*(?:\.\d+)?)\s*(%|percent|k\b|m\b|bn\b|million\b|billion\b|thousand\b)?",
    re.IGNORECASE,
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
# Dates are not figures: 2026-10-05, October 5, 2026, 5 October 2026, Oct 5.
_DATE = re.compile(
    rf"\b\d{{4}}-\d{{2}}-\d{{2}}\b|\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\b\d{{1,2}}\s+{_MONTH}(?:\s+\d{{4}})?",
    re.IGNORECASE,
)
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}


def numbers_in(text: str) -> list[tuple[str, float, int, bool]]:
    """(as written, value, decimals shown, is a percentage) for each number in the text; dates skipped."""
    text = _DATE.sub(" ", text)
    found = []
    for match in _NUMBER.finditer(text):
        raw, unit = match.group(1), (match.group(2) or "").lower()
        digits = raw.replace("$", "").replace(",", "")
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
