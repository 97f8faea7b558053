"""One eval run, from a suite's name to its reports: what `shoplens eval run` and the app's Eval tab
both call, so the two cannot drift apart."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.settings import Settings
from eval.harness import Progress, run_suite
from eval.report import write_reports
from eval.suite import SuiteError, load_suite


@dataclass
class Evaluation:
    folder: Path  # the run folder: results.jsonl, report.md, report.html
    figures: dict[str, dict[str, Any]]  # by system (eval.report.FIGURES names them)
    lines: list[dict[str, Any]]  # one result per case, system and repeat
    cases: int


def evaluate(
    suite_name: str,
    systems: list[str],
    settings: Settings,
    *,
    tag: str | None = None,
    run_dir: Path | None = None,
    real_data: Path | None = None,
    limit: int | None = None,
    workers: int = 1,
    use_judge: bool = True,
    progress: Progress | None = None,
    endpoint: Any = None,
    repeats: int = 1,
) -> Evaluation:
    """Run a suite (only its cases tagged `tag`, the first `limit`) through `systems` into
    `run_dir` (default: a new folder under <data dir>/eval-runs; an existing one resumes) and
    write its reports; each case is asked `repeats` times. A suite that does not exist, or has
    no case with the tag, is a SuiteError."""
    if not systems:
        raise SuiteError("pick at least one system")
    if repeats < 1:
        raise SuiteError("--repeats must be 1 or more")
    suite = load_suite(suite_name)
    if tag:
        suite.cases = [c for c in suite.cases if tag in c.tags]
        if not suite.cases:
            raise SuiteError(f"no case in {suite.name} has the tag {tag!r}")
    folder = run_dir or settings.data_dir / "eval-runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{suite.name}"
    lines = run_suite(
        suite,
        systems,
        settings,
        folder,
        real_data=real_data or settings.real_data,
        limit=limit,
        workers=workers,
        use_judge=use_judge,
        progress=progress,
        endpoint=endpoint,
        repeats=repeats,
    )
    cases = len(suite.cases[:limit] if limit else suite.cases)
    return Evaluation(folder, write_reports(folder), lines, cases)
