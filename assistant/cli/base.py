"""What every command shares: the command groups, the global options (which become the
settings), the console, progress bars and failures."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from assistant.settings import Settings

app = typer.Typer(help="ShopLens: ask your e-commerce behavior data questions.", no_args_is_help=True)
data_app = typer.Typer(help="Load, inspect and generate warehouse data.", no_args_is_help=True)
app.add_typer(data_app, name="data")
model_app = typer.Typer(help="Pull, serve and try the local model.", no_args_is_help=True)
app.add_typer(model_app, name="model")
tool_app = typer.Typer(help="Run the assistant's tools directly, without the model.", no_args_is_help=True)
app.add_typer(tool_app, name="tool")

console = Console()

collect_app = typer.Typer(
    help="Collect behavior events as they happen; replay a dataset's.", no_args_is_help=True
)
app.add_typer(collect_app, name="collect")
eval_app = typer.Typer(help="Measure the assistant offline: run suites, compare runs.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Annotated[Path | None, typer.Option(help="Data dir (default ~/.shoplens).")] = None,
    warehouse: Annotated[str | None, typer.Option(help="Warehouse name in the data dir.")] = None,
    database_url: Annotated[str | None, typer.Option(help="SQLAlchemy URL of the warehouse.")] = None,
    model: Annotated[str | None, typer.Option(help="Packaged model: see `model list`.")] = None,
    engine: Annotated[str | None, typer.Option(help="auto, llama.cpp, vllm or external.")] = None,
    llm_url: Annotated[str | None, typer.Option(help="An external OpenAI-compatible server (…/v1).")] = None,
    llm_model: Annotated[str | None, typer.Option(help="Model name on the external server.")] = None,
    log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING…")] = None,
) -> None:
    try:
        settings = Settings().with_overrides(
            data_dir=data_dir,
            warehouse=warehouse,
            database_url=database_url,
            model=model,
            engine=engine,
            llm_url=llm_url,
            llm_model=llm_model,
            log_level=log_level,
        )
    except ValidationError as exc:
        raise fail(f"bad setting: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from None
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False)],
    )
    ctx.obj = settings


@contextmanager
def progress_bar() -> Iterator:
    """A rich progress bar driven by the (stage, fraction) callbacks of long work."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        tasks: dict[str, int] = {}

        def report(stage: str, fraction: float | None) -> None:
            if stage not in tasks:
                for task_id in tasks.values():  # a new stage means the earlier ones are done
                    progress.update(task_id, completed=progress.tasks[task_id].total or 1, total=1)
                tasks[stage] = progress.add_task(stage, total=1 if fraction is not None else None)
            if fraction is not None:
                progress.update(tasks[stage], completed=fraction, total=1)

        yield report
        for task_id in tasks.values():
            progress.update(task_id, completed=1, total=1)


def fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(message)}")  # a file name may hold '[…]'
    return typer.Exit(code=1)


def wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM (the engine and app then stop with their context managers)."""
    import signal
    import threading

    stop = threading.Event()
    # Both signals just set the event: a library's own SIGINT handling (or a KeyboardInterrupt
    # raised in some other frame) must not keep Ctrl-C from stopping the app.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass


def print_rows(columns: list[str], rows: list, limit: int, truncated: bool) -> None:
    from tools.base import format_value

    table = Table(*columns)
    for row in rows[:limit]:
        table.add_row(*(format_value(v) for v in row))
    console.print(table)
    if len(rows) > limit or truncated:
        console.print(f"[dim]… {len(rows) - limit if len(rows) > limit else 'more'} rows not shown[/dim]")


def offered_tools(settings: Settings) -> tuple[Any, dict[str, Any]]:
    """The metrics layer and the tools the model is offered (the `tools` setting); an unknown
    tool name fails the command, naming the tools installed."""
    from tools import ToolError, build_tools
    from tools.metrics import SemanticModel

    semantic = SemanticModel.load(settings.metrics_file)
    try:
        return semantic, build_tools(semantic, settings.tools)
    except ToolError as exc:
        raise fail(str(exc)) from None


@contextmanager
def tool_context(settings: Settings, with_model: bool) -> Iterator[Any]:
    """The tools' context on the read-only warehouse; with a model engine when asked for."""
    from assistant.llm.client import Writer, chat_model
    from assistant.llm.server import start_engine
    from assistant.warehouse.db import Warehouse, refresh_views
    from tools.base import ToolContext

    refresh_views(settings)
    warehouse = Warehouse(settings, read_only=True)
    if not warehouse.exists():
        raise fail(f"no warehouse at {warehouse.url}: run `shoplens data demo` or `shoplens data load FILE`")
    try:
        context = ToolContext.open(settings, warehouse)  # the encoder loads when a tool needs it
        if not with_model:
            yield context
            return
        with start_engine(settings) as running:
            context.llm = Writer(chat_model(running.endpoint, settings, max_tokens=300), running.endpoint)
            yield context
    finally:
        warehouse.close()
