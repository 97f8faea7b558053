"""Check the blind suites: build each one's warehouse as the eval does and run every gold query.

    .venv/bin/python eval/suites/check_blind.py [DATA_DIR]      # default /tmp/blind-data
    .venv/bin/python eval/suites/check_blind.py --pattern 'blind2-*.yaml' /tmp/blind2-data

For every case of every `blind-*.yaml` suite (or those `--pattern` matches) it checks that
- the case is well formed: id `<question>-<style>`, tags `blind`, the style and one shape tag,
  refusals without gold SQL, answers with it;
- the three wordings of a question share one gold (SQL, numbers, ordering, kind);
- the gold SQL runs on the warehouse and returns at least one row;
- a single-value gold agrees with `numbers` (to 0.1%, as the scorer compares numbers).
- the scorer itself accepts the gold rows, and reads each `numbers` entry back from a sentence.
It ends with a summary table and exits non-zero when anything failed. Nothing here runs a model.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from assistant.settings import Settings  # noqa: E402
from assistant.warehouse.db import Warehouse  # noqa: E402
from eval.harness import gold_rows, prepare_warehouse  # noqa: E402
from eval.scoring import result_matches, states  # noqa: E402
from eval.suite import Case, Suite, load_suite  # noqa: E402

log = logging.getLogger("check_blind")

SUITES_DIR = Path(__file__).resolve().parent
REAL_DATA = ROOT.parent / "shared" / "data" / "real"
STYLES = ("terse", "chatty", "typo")
SHAPES = ("count", "share", "per_entity", "top", "time", "avg_column", "other", "refusal")


@dataclass
class SuiteReport:
    """What one suite's check found."""

    name: str
    questions: int = 0
    cases: int = 0
    refusal_questions: int = 0
    golds_run: int = 0
    failures: list[str] = field(default_factory=list)


def question_id(case: Case) -> tuple[str, str]:
    """(question id, wording style) of a case id like `cart-no-buy-terse`."""
    stem, _, style = case.id.rpartition("-")
    return stem, style


def check_form(case: Case) -> list[str]:
    """Problems with one case's id, tags and kind."""
    problems: list[str] = []
    stem, style = question_id(case)
    if not stem or style not in STYLES:
        problems.append(f"{case.id}: id does not end in one of -{', -'.join(STYLES)}")
    if "blind" not in case.tags:
        problems.append(f"{case.id}: no 'blind' tag")
    if style in STYLES and style not in case.tags:
        problems.append(f"{case.id}: no '{style}' tag")
    shapes = [t for t in case.tags if t in SHAPES]
    if len(shapes) != 1:
        problems.append(f"{case.id}: needs exactly one shape tag, has {shapes}")
    if case.tools:
        problems.append(f"{case.id}: tools should be empty in a blind suite")
    if case.kind == "refusal":
        if case.gold_sql or case.numbers:
            problems.append(f"{case.id}: a refusal has no gold_sql or numbers")
        if shapes and shapes[0] != "refusal":
            problems.append(f"{case.id}: a refusal is tagged {shapes[0]}")
    elif case.kind == "answer":
        if not case.gold_sql:
            problems.append(f"{case.id}: an answer case needs gold_sql")
        if shapes == ["refusal"]:
            problems.append(f"{case.id}: tagged refusal but kind is answer")
    else:
        problems.append(f"{case.id}: unexpected kind {case.kind}")
    return problems


def check_wordings(suite: Suite) -> tuple[dict[str, list[Case]], list[str]]:
    """Cases grouped by question; problems where a question lacks a wording or its golds differ."""
    groups: dict[str, list[Case]] = {}
    for case in suite.cases:
        groups.setdefault(question_id(case)[0], []).append(case)
    problems: list[str] = []
    for stem, cases in groups.items():
        styles = sorted(question_id(c)[1] for c in cases)
        if styles != sorted(STYLES):
            problems.append(f"{stem}: wordings {styles}, expected {list(STYLES)}")
        golds = {(c.kind, (c.gold_sql or "").strip(), tuple(c.numbers), c.ordered) for c in cases}
        if len(golds) != 1:
            problems.append(f"{stem}: the wordings do not share one gold")
        questions = [c.question.strip().lower() for c in cases]
        if len(set(questions)) != len(questions):
            problems.append(f"{stem}: two wordings are the same text")
    return groups, problems


def build(suite: Suite, data_dir: Path) -> Settings:
    """Settings for the suite's warehouse, built (once) exactly as the eval harness builds it."""
    settings = Settings().with_overrides(data_dir=data_dir)
    target = prepare_warehouse(suite.dataset, settings, REAL_DATA)
    log.info("%s: warehouse %s", suite.name, target.db_url)
    return target


def agrees(value: Any, expected: float) -> bool:
    """A gold value equals a `numbers` entry to 0.1% (the scorer's tolerance)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isclose(number, expected, rel_tol=1e-3, abs_tol=1e-9)


def check_gold(warehouse: Warehouse, case: Case) -> list[str]:
    """Problems running one case's gold SQL (as the harness runs it) or matching its numbers."""
    assert case.gold_sql is not None
    try:
        rows = gold_rows(warehouse, case.gold_sql)
    except Exception as exc:  # any driver error is a broken gold
        return [f"{case.id}: gold SQL failed: {str(exc).splitlines()[0]}"]
    log.debug("%s -> %s", case.id, rows[:5])
    if not rows:
        return [f"{case.id}: gold SQL returned no rows"]
    problems: list[str] = []
    single = len(rows) == 1 and len(rows[0]) == 1
    if case.numbers:
        if not single:
            problems.append(
                f"{case.id}: has numbers but the gold is {len(rows)}x{len(rows[0])}, not one value"
            )
        elif len(case.numbers) != 1 or not agrees(rows[0][0], case.numbers[0]):
            problems.append(f"{case.id}: gold value {rows[0][0]!r} but numbers {case.numbers}")
    elif single:  # a "which X" answer (an hour, a category id): checked by rows, not by the text
        log.debug("%s: single-value gold %r checked by rows only", case.id, rows[0][0])
    if not result_matches(rows, rows, case.ordered):  # the scorer must accept the gold itself
        problems.append(f"{case.id}: the scorer does not match the gold rows with themselves")
    for number in case.numbers:
        if not states(f"The answer is {number:,.6g}.", number):
            problems.append(f"{case.id}: the scorer does not read {number:g} back from a text")
    if len(rows) > 1 and not case.ordered:
        log.warning("%s: %d gold rows compared as a set (ordered: false)", case.id, len(rows))
    return problems


def check_suite(path: Path, data_dir: Path) -> SuiteReport:
    """Every check above for one suite file."""
    suite = load_suite(path)
    report = SuiteReport(name=suite.name, cases=len(suite.cases))
    groups, problems = check_wordings(suite)
    report.questions = len(groups)
    report.refusal_questions = sum(1 for cases in groups.values() if cases[0].kind == "refusal")
    report.failures.extend(problems)
    for case in suite.cases:
        report.failures.extend(check_form(case))
    with Warehouse(build(suite, data_dir), read_only=True) as warehouse:
        for case in suite.cases:
            if case.gold_sql:
                report.golds_run += 1
                report.failures.extend(check_gold(warehouse, case))
    for failure in report.failures:
        log.error("%s: %s", suite.name, failure)
    return report


def summary_table(reports: list[SuiteReport]) -> str:
    """The final table: one line per suite and a total."""
    header = f"{'suite':<22} {'questions':>9} {'cases':>6} {'refusals':>8} {'golds run':>9}  result"
    lines = [header, "-" * len(header)]
    for r in reports:
        result = "ok" if not r.failures else f"{len(r.failures)} FAILED"
        lines.append(
            f"{r.name:<22} {r.questions:>9} {r.cases:>6} {r.refusal_questions:>8} {r.golds_run:>9}  {result}"
        )
    failed = sum(len(r.failures) for r in reports)
    lines.append("-" * len(header))
    lines.append(
        f"{'total':<22} {sum(r.questions for r in reports):>9} {sum(r.cases for r in reports):>6}"
        f" {sum(r.refusal_questions for r in reports):>8} {sum(r.golds_run for r in reports):>9}"
        f"  {'ok' if not failed else f'{failed} FAILED'}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=Path("/tmp/blind-data"))
    parser.add_argument("-v", "--verbose", action="store_true", help="log every gold result")
    parser.add_argument(
        "--pattern", default="blind-*.yaml", help="which suites in eval/suites to check (a glob)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    paths = sorted(SUITES_DIR.glob(args.pattern))
    if not paths:
        log.error("no %s suites in %s", args.pattern, SUITES_DIR)
        return 1
    reports = [check_suite(path, args.data_dir.expanduser()) for path in paths]
    print(summary_table(reports))
    return 0 if all(not r.failures for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
