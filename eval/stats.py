"""How sure a pass rate is: intervals over cases, per-case stability across repeats, and whether a
difference between two systems or two runs is more than noise.

A case asked N times (`--repeats N`, or the same suite run in several folders) counts once, with
the share of its repeats that passed: the repeats of one case are not independent draws, the cases
are. With one answer per case the interval is Wilson's; with repeats, a bootstrap over cases.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel

BOOTSTRAP_SAMPLES = 2000
_SEED = 20261202  # the intervals of a report are the same every time it is written


def wilson(passed: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a pass rate: honest for small suites and rates near 0 or 1."""
    if not total:
        return (0.0, 0.0)
    p = passed / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _percentiles(values: list[float]) -> tuple[float, float]:
    values.sort()
    low = values[int(0.025 * (len(values) - 1))]
    high = values[math.ceil(0.975 * (len(values) - 1))]
    return (low, high)


def rate_interval(shares: Sequence[float]) -> tuple[float, float]:
    """The 95% interval of a pass rate from each case's share of passing repeats."""
    if not shares:
        return (0.0, 0.0)
    if all(s in (0.0, 1.0) for s in shares):
        return wilson(int(sum(shares)), len(shares))
    draw = random.Random(_SEED)
    n = len(shares)
    means = [sum(shares[draw.randrange(n)] for _ in range(n)) / n for _ in range(BOOTSTRAP_SAMPLES)]
    return _percentiles(means)


def ratio_interval(a: Sequence[float], b: Sequence[float]) -> tuple[float, float] | None:
    """The 95% interval of pass rate A / pass rate B over the same cases (a[i] and b[i] are case
    i's shares): a bootstrap that resamples cases, keeping each case's pair together. None when B
    passes nothing (the ratio has no upper bound)."""
    if len(a) != len(b) or not a or not sum(b):
        return None
    draw = random.Random(_SEED)
    n = len(a)
    ratios: list[float] = []
    for _ in range(BOOTSTRAP_SAMPLES):
        picks = [draw.randrange(n) for _ in range(n)]
        below = sum(b[i] for i in picks)
        ratios.append(sum(a[i] for i in picks) / below if below else math.inf)
    return _percentiles(ratios)


def ratio_text(value: float, interval: tuple[float, float] | None) -> str:
    """'2.10x (1.40–3.30)'; an interval without an upper bound (the other system passes so few
    cases that some resamples have none) reads 'at least'."""
    if interval is None:
        return f"{value:.2f}x"
    if math.isinf(interval[1]):
        return f"{value:.2f}x (at least {interval[0]:.2f})"
    return f"{value:.2f}x ({interval[0]:.2f}–{interval[1]:.2f})"


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


class CaseStability(BaseModel):
    """One case of one system over its repeats."""

    case: str
    passed: int
    runs: int

    @property
    def share(self) -> float:
        return self.passed / self.runs


def per_case(lines: Iterable[dict[str, Any]], system: str) -> dict[str, CaseStability]:
    """Each case of `system` with how many of its answers passed. Lines carry `suite` when they
    come from several suites (pooled), so that two suites' case ids never merge."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        if line["system"] != system:
            continue
        key = f"{line['suite']}/{line['case']}" if line.get("suite") else line["case"]
        counts[key][0] += bool(line["passed"])
        counts[key][1] += 1
    return {case: CaseStability(case=case, passed=p, runs=n) for case, (p, n) in counts.items()}


def stability(cases: dict[str, CaseStability]) -> dict[str, Any]:
    """The figures a reader of repeated runs wants: the pass rate over cases with its interval, how
    many answers per case, and how many cases passed every time, never, or only sometimes."""
    shares = [c.share for c in cases.values()]
    runs = sorted({c.runs for c in cases.values()})
    return {
        "pass_rate": sum(shares) / len(shares) if shares else None,
        "interval": rate_interval(shares),
        "repeats": runs[0] if len(runs) == 1 else runs,
        "always": sum(c.passed == c.runs for c in cases.values()),
        "never": sum(c.passed == 0 for c in cases.values()),
        "sometimes": sorted((c.case, c.passed, c.runs) for c in cases.values() if 0 < c.passed < c.runs),
    }


def paired_shares(
    a: dict[str, CaseStability], b: dict[str, CaseStability]
) -> tuple[list[float], list[float]]:
    """The two systems' shares on the cases both answered, in one order."""
    common = sorted(a.keys() & b.keys())
    return [a[c].share for c in common], [b[c].share for c in common]


def ratio(
    a: dict[str, CaseStability], b: dict[str, CaseStability]
) -> tuple[float, tuple[float, float] | None] | None:
    """A's pass rate over B's on the cases both answered, with its 95% interval; None when B
    passes none of them."""
    mine, theirs = paired_shares(a, b)
    if not sum(theirs):
        return None
    return sum(mine) / sum(theirs), ratio_interval(mine, theirs)


def verdict(a: tuple[float, float], b: tuple[float, float]) -> str:
    """How a difference between two pass rates reads: significant only when their 95% intervals
    do not overlap (conservative: a difference the intervals cannot tell apart is called noise)."""
    return "within noise" if overlap(a, b) else "significant"
