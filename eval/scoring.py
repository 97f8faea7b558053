"""Scoring: one case's outcome against what its suite says is right, and a run's summary.

Execution accuracy is BIRD-style: the gold SQL's rows must be the answer's rows (extra answer
columns allowed, order-insensitive unless the case says `ordered`, numbers to 0.1%; a period the
answer's date spine adds with no figure or 0 is not an extra row).
"""

from __future__ import annotations

import itertools
import math
import statistics
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from assistant.explain import TRANSLATED_NOTE
from assistant.grounding import numbers_in
from eval.suite import Case
from tools.copy import DROPPED_NOTE, PLAIN_COPY_NOTE
from tools.language import is_chinese, written_in_chinese
from tools.narrate import is_tool_call


def _norm(value: Any) -> Any:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()[:10]
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        return value[:10]  # a date that came back through JSON
    return None if value is None else str(value).strip().lower()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-9)
    return a == b


def _key(value: Any) -> tuple:
    return (0, round(value, 6)) if isinstance(value, float) else (1, str(value))


def _with_percentages(rows: list[list[Any]]) -> list[list[Any]]:
    """Each column of fractions (every value within 0-1) also as percentages: a share the answer
    holds as 0.382 is the gold's 38.2 when the gold was written in percent, as `states` reads a
    text's "38.2%" against a gold 0.382."""
    if not rows:
        return rows
    fractions = [
        k
        for k in range(len(rows[0]))
        if all(isinstance(r[k], float) and 0 <= r[k] <= 1 for r in rows if r[k] is not None)
        and any(r[k] is not None for r in rows)
    ]
    return [[*r, *(None if r[k] is None else r[k] * 100 for k in fractions)] for r in rows]


def result_matches(rows: list[list[Any]] | list[tuple], gold: list[tuple], ordered: bool = False) -> bool:
    """Same number of rows; every gold column equals some column of the answer (extra columns
    allowed; a column of fractions also read as percentages); rows as a multiset unless
    `ordered`; numbers to 0.1%. A one-row gold is matched by the first row of a ranked answer."""
    pred = [[_norm(v) for v in r] for r in rows]
    own = len(pred[0]) if pred else 0  # the answer's own columns; after them, its fractions in percent
    pred = _with_percentages(pred)
    ref = [[_norm(v) for v in r] for r in gold]
    if len(ref) == 1 and len(pred) > 1:  # "which X has the most": right if the ranking leads with it
        pred = pred[:1]
    if len(pred) > len(ref):
        # A time series on a date spine shows a period without events (0, or empty for a rate);
        # a gold SQL written with GROUP BY has no row for it. The same answer either way.
        pred = [r for r in pred if any(isinstance(v, float) and v != 0 for v in r)] or pred
    if len(pred) != len(ref):
        return False
    if not ref:
        return True
    width = len(pred[0])
    candidates = []
    for j in range(len(ref[0])):
        gold_col = sorted((r[j] for r in ref), key=_key)
        # a whole-number gold is a count, not a percentage: 17 customers are not a share of 17%
        counts = all(isinstance(v, float) and v.is_integer() for v in gold_col)
        options = [
            k
            for k in range(own if counts else width)
            if all(_same(a, b) for a, b in zip(sorted((r[k] for r in pred), key=_key), gold_col, strict=True))
        ]
        if not options:
            return False
        candidates.append(options)
    for assignment in itertools.islice(itertools.product(*candidates), 200):
        projected = [[r[k] for k in assignment] for r in pred]
        expected = ref
        if not ordered:
            projected = sorted(projected, key=lambda r: [_key(v) for v in r])
            expected = sorted(ref, key=lambda r: [_key(v) for v in r])
        if all(
            all(_same(a, b) for a, b in zip(p, e, strict=True))
            for p, e in zip(projected, expected, strict=True)
        ):
            return True
    return False


def states(text: str, value: float) -> bool:
    """The text states `value`: as written, rounded, with separators, or as a percentage."""
    for _, number, decimals, _ in numbers_in(text):
        for candidate in (value, value * 100):
            places = max(decimals, 0)
            if round(candidate, places) == round(number, places) or (
                candidate and abs(number - candidate) / abs(candidate) < 0.005
            ):
                return True
    return False


class Outcome(BaseModel):
    """What a system did with one case."""

    case: str
    system: str
    question: str = ""  # as asked (filled in by the harness for every system)
    kind: str  # answer / clarification / refusal / error
    text: str
    tool: str | None = None  # the last call that ran without error
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    sql: str | None = None
    columns: list[str] = Field(default_factory=list)
    rows: list[list[Any]] = Field(default_factory=list)
    ungrounded: list[str] = Field(default_factory=list)
    interpretation: str | None = None
    read_as: str | None = None  # a Chinese question as the model put it into English
    # The interpretation shown is the one the call that ran gives when run again (None: not checked).
    interpretation_matches: bool | None = None
    numbers_stated: int = 0  # numbers in the text that the question does not hold
    left_out: list[str] = Field(default_factory=list)  # asked for but not computed (tools/coverage.py)
    seconds: float = 0.0
    tokens: dict[str, int] = Field(default_factory=dict)
    error: str | None = None
    notes: list[str] = Field(default_factory=list)  # the answer's notes (what code changed, fell back on)


class CaseResult(BaseModel):
    outcome: Outcome
    expected_kind: str = "answer"
    checks: dict[str, bool] = Field(default_factory=dict)
    reasons: list[str] = Field(default_factory=list)
    judge: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return all(self.checks.values())


def score(case: Case, outcome: Outcome, gold: list[tuple] | None) -> CaseResult:
    """Every check the case has, with a reason for each failure."""
    result = CaseResult(outcome=outcome, expected_kind=case.kind)
    checks, reasons = result.checks, result.reasons
    checks["kind"] = outcome.kind == case.kind
    if not checks["kind"]:
        reasons.append(
            f"expected {case.kind}, got {outcome.kind}: {(outcome.text or outcome.error or '')[:160]}"
        )
    if case.tools:
        checks["tool"] = outcome.tool in case.tools
        if not checks["tool"]:
            reasons.append(f"called {outcome.tool}, expected one of {', '.join(case.tools)}")
    if gold is not None:
        checks["execution"] = bool(outcome.rows or not gold) and result_matches(
            outcome.rows, gold, case.ordered
        )
        if not checks["execution"]:
            shown = outcome.rows[:2]
            reasons.append(
                f"rows do not match the gold SQL's {len(gold)} rows (first gold {gold[:1]}, got {shown})"
            )
    if case.numbers:
        missing = [n for n in case.numbers if not states(outcome.text, n)]
        checks["numbers"] = not missing
        if missing:
            reasons.append(f"the text does not state {', '.join(f'{n:g}' for n in missing)}")
    if case.contains:
        # Copy is read as the reader gets it: its facts table names the product and the brief's
        # code whether the copy does or not (an answer's table is part of the answer).
        shown = [] if outcome.tool == "write_marketing_copy" else [str(v) for r in outcome.rows for v in r]
        haystack = " ".join([outcome.text, *shown]).lower()
        absent = [s for s in case.contains if s.lower() not in haystack]
        checks["contains"] = not absent
        if absent:
            reasons.append(f"the answer lacks {', '.join(absent)}")
    if outcome.kind == "answer":
        checks["grounded"] = not outcome.ungrounded
        if outcome.ungrounded:
            reasons.append(f"numbers not in the results: {', '.join(outcome.ungrounded)}")
        # A model's JSON call shown as the answer once passed a case on its ids alone.
        checks["prose"] = not is_tool_call(outcome.text or "")
        if not checks["prose"]:
            reasons.append("the answer's text is a tool call, not prose")
    return result


DECLINES = ("clarification", "refusal")


def _share(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def summarize(results: list[CaseResult]) -> dict[str, Any]:
    """The suite-level figures: accuracy per check, latency percentiles, tokens/s."""

    def checked(name: str) -> list[bool]:
        return [r.checks[name] for r in results if name in r.checks]

    outcomes = [r.outcome for r in results]
    chinese = [o for o in outcomes if is_chinese(o.question) and o.kind != "error"]
    seconds = sorted(o.seconds for o in outcomes)
    stated = sum(o.numbers_stated for o in outcomes)
    ungrounded = sum(len(o.ungrounded) for o in outcomes)
    completion = sum(o.tokens.get("completion", 0) for o in outcomes)
    judged = [r.judge["pass"] for r in results if r.judge and "pass" in r.judge]
    return {
        "cases": len(results),
        "pass_rate": _share([r.passed for r in results]),
        "tool_choice_accuracy": _share(checked("tool")),
        "execution_accuracy": _share(checked("execution")),
        "answer_accuracy": _share(
            [
                r.checks.get("numbers", True) and r.checks.get("contains", True)
                for r in results
                if "numbers" in r.checks or "contains" in r.checks
            ]
        ),  # fmt: skip
        "groundedness": round(1 - ungrounded / stated, 4) if stated else None,
        # Over the cases where declining was expected or happened: was declining right?
        "refusal_correctness": _share(
            [r.checks["kind"] for r in results if r.expected_kind != "answer" or r.outcome.kind in DECLINES]
        ),
        "kind_accuracy": _share(checked("kind")),
        "interpretation_matches": _share(
            [o.interpretation_matches for o in outcomes if o.interpretation_matches is not None]
        ),
        # Answers shown with what the question asks and the computation leaves out, and how
        # often such a flag was right (the answer failed): the flag's share and its precision.
        "left_out_flagged": _share([bool(o.left_out) for o in outcomes if o.kind == "answer"]),
        "left_out_wrong": _share([not r.passed for r in results if r.outcome.left_out]),
        "free_text_checks": _share(checked("free_text")),
        "judge_pass_rate": _share(judged),
        # Where both graded a free text: how often the judge's verdict is the code checks'.
        "judge_agrees": _share(
            [
                r.checks["judge"] == r.checks["free_text"]
                for r in results
                if {"judge", "free_text"} <= r.checks.keys()
            ]
        ),
        # Copy: the share written by code because the model's drafts failed the check, and the
        # share kept after dropping unsupported sentences (tools/copy.py).
        "copy_fallback_rate": _share([_noted(o, PLAIN_COPY_NOTE) for o in outcomes if _is_copy(o)]),
        "copy_repaired_rate": _share([_noted(o, DROPPED_NOTE) for o in outcomes if _is_copy(o)]),
        # Questions asked in Chinese: the share answered in Chinese (code's or the model's), and
        # the share whose Chinese the model translated from code's English (the rest: code's own).
        "in_chinese_rate": _share([written_in_chinese(o.text) for o in chinese]),
        "translated_rate": _share([_noted(o, TRANSLATED_NOTE) for o in chinese]),
        "errors": sum(o.kind == "error" for o in outcomes),
        "p50_seconds": round(statistics.median(seconds), 2) if seconds else None,
        "p95_seconds": round(seconds[min(len(seconds) - 1, math.ceil(0.95 * len(seconds)) - 1)], 2)
        if seconds
        else None,
        # None when the system reports no token counts (LangChain's agent), rather than a false 0.
        "tokens_per_second": round(completion / sum(seconds), 2) if completion and sum(seconds) else None,
        "completion_tokens": completion,
        "prompt_tokens": sum(o.tokens.get("prompt", 0) for o in outcomes),
        **robustness(results),
    }


def _is_copy(outcome: Outcome) -> bool:
    return outcome.kind == "answer" and outcome.tool == "write_marketing_copy"


def _noted(outcome: Outcome, words: str) -> bool:
    return any(words in note for note in outcome.notes)


WORDINGS = ("terse", "chatty", "typo")


def robustness(results: list[CaseResult]) -> dict[str, float | None]:
    """For suites that ask each question in three wordings (case ids `<question>-terse`,
    `-chatty`, `-typo`): the pass rate per wording, and the share of questions right in all three."""
    by_question: dict[str, dict[str, bool]] = {}
    for result in results:
        stem, _, wording = result.outcome.case.rpartition("-")
        if wording in WORDINGS:
            by_question.setdefault(stem, {})[wording] = result.passed
    if not by_question:
        return {}
    out: dict[str, float | None] = {
        f"pass_rate_{w}": _share([q[w] for q in by_question.values() if w in q]) for w in WORDINGS
    }
    complete = [q for q in by_question.values() if len(q) == len(WORDINGS)]
    out["all_wordings_right"] = _share([all(q.values()) for q in complete])
    return out
