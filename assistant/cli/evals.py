"""`shoplens eval`: run suites, pool and compare runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from assistant.cli.base import (
    console,
    eval_app,
    fail,
    progress_bar,
)
from assistant.settings import Settings


@eval_app.command("list")
def eval_list() -> None:
    """The suites that ship with ShopLens."""
    from eval.suite import SUITES_DIR, load_suite

    table = Table("suite", "cases", "dataset", "description")
    for path in sorted(SUITES_DIR.glob("*.yaml")):
        suite = load_suite(path)
        table.add_row(
            suite.name,
            str(len(suite.cases)),
            str(suite.dataset.model_dump(exclude_defaults=True)),
            suite.description,
        )
    console.print(table)


@eval_app.command("run")
def eval_run(
    ctx: typer.Context,
    suite_name: Annotated[
        str, typer.Option("--suite", help="A suite name (see `shoplens eval list`) or a YAML/JSONL file.")
    ],
    systems: Annotated[
        str,
        typer.Option(
            help="Comma-separated: shoplens, no-metrics, no-examples, langchain-sql, plain-sql, llamaindex, vanna (both need the peers extra), or a plugin's."
        ),
    ] = "shoplens",
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Add the baselines: langchain-sql, no-metrics, no-examples.")
    ] = False,
    limit: Annotated[int | None, typer.Option(help="Only the first N cases.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only cases with this tag.")] = None,
    workers: Annotated[int, typer.Option(help="Cases in flight at once (helps on vLLM).")] = 1,
    run_dir: Annotated[Path | None, typer.Option(help="Run folder; an existing one is resumed.")] = None,
    real_data: Annotated[
        Path | None, typer.Option(help="Where relative dataset files are (default: settings.real_data).")
    ] = None,
    no_judge: Annotated[bool, typer.Option("--no-judge", help="Skip the LLM judge for free text.")] = False,
    judge_model: Annotated[
        str | None,
        typer.Option(
            help="Model the LLM judge runs on (default: another packaged model than the one under test)."
        ),
    ] = None,
    repeats: Annotated[
        int,
        typer.Option(
            help="Ask each case N times: the report gives per-case stability and intervals over cases."
        ),
    ] = 1,
) -> None:
    """Run a suite through the assistant (and baselines), score it, write JSON/markdown/HTML reports."""
    from assistant.llm.engines import EngineUnavailable
    from assistant.llm.pull import ModelPullError
    from assistant.llm.server import EngineFailed
    from eval.evaluate import evaluate
    from eval.report import FIGURES
    from eval.suite import SuiteError
    from eval.systems import BASELINES

    settings: Settings = ctx.obj.with_overrides(judge_model=judge_model)
    chosen = [s.strip() for s in systems.split(",") if s.strip()]
    if baseline:
        chosen += [s for s in BASELINES if s not in chosen]
    try:
        with progress_bar() as report:
            run = evaluate(
                suite_name,
                chosen,
                settings,
                tag=tag,
                run_dir=run_dir,
                real_data=real_data,
                limit=limit,
                workers=workers,
                use_judge=not no_judge,
                progress=report,
                repeats=repeats,
            )
    except (
        SuiteError,
        FileNotFoundError,
        ValueError,
        EngineUnavailable,
        EngineFailed,
        ModelPullError,
    ) as exc:
        raise fail(str(exc)) from None
    figures, folder = run.figures, run.folder
    table = Table("", *figures)
    for key, label, pattern in FIGURES:
        table.add_row(
            label, *("–" if f.get(key) is None else pattern.format(f[key]) for f in figures.values())
        )
    console.print(table)
    console.print(f"reports: {folder / 'report.md'}, {folder / 'report.html'}")


@eval_app.command("pool")
def eval_pool(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run folders, e.g. one per blind suite.")],
) -> None:
    """Figures pooled over several runs: pass rate with its 95% interval, per wording, per data set
    and per question shape, systems side by side."""
    from rich.markdown import Markdown

    from eval.pool import markdown, pool

    for folder in run_dirs:
        if not (folder / "results.jsonl").exists():
            raise fail(f"{folder} is not an eval run folder (no results.jsonl)")
    console.print(Markdown(markdown(pool(run_dirs))))


@eval_app.command("compare")
def eval_compare(
    run_a: Annotated[Path, typer.Argument(help="The earlier run folder.")],
    run_b: Annotated[Path, typer.Argument(help="The later run folder.")],
) -> None:
    """What got better and worse between two runs, figure by figure and case by case."""
    from rich.markdown import Markdown

    from eval.report import compare

    for folder in (run_a, run_b):
        if not (folder / "results.jsonl").exists():
            raise fail(f"{folder} is not an eval run folder (no results.jsonl)")
    console.print(Markdown(compare(run_a, run_b)))
