"""`shoplens data`: load files, show what a warehouse holds, generate the demo shop."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from assistant.cli.base import (
    console,
    data_app,
    fail,
    progress_bar,
)
from assistant.settings import Settings, parse_count

if TYPE_CHECKING:
    from assistant.warehouse.load import LoadReport

FormatOption = Annotated[
    str | None, typer.Option("--format", "-f", help="Skip detection: see `data formats`.")
]


@data_app.command("load")
def data_load(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="File or folder to load.")],
    format: FormatOption = None,
) -> None:
    """Load a file into the warehouse (format auto-detected). Re-loading a file replaces its rows."""
    from assistant.warehouse.load import LoadError, load_into
    from assistant.warehouse.loaders import UnknownFormat

    settings: Settings = ctx.obj
    try:
        with progress_bar() as report:  # a refused file leaves no new, empty warehouse behind
            result = load_into(settings, path, format=format, progress=report)
    except (LoadError, UnknownFormat) as exc:
        raise fail(str(exc)) from None
    _print_load(result)


def _print_load(result: LoadReport) -> None:
    console.print(
        f"[bold]{escape(result.source_dataset)}[/bold] ({result.format}): "
        f"{result.rows_read:,} read, [green]{result.rows_loaded:,} loaded[/green], "
        f"[{'yellow' if result.rows_rejected else 'green'}]{result.rows_rejected:,} rejected[/], "
        f"{result.products_loaded:,} products, {result.users_loaded:,} users, {result.seconds:.1f}s"
    )
    if result.first_event:
        console.print(f"events from {result.first_event} to {result.last_event}")
    if result.rejected_by_reason:
        console.print(_reasons_table(result.rejected_by_reason))
    if result.pii_masked:
        found = ", ".join(f"{k} ({v:,})" for k, v in result.pii_masked.items())
        console.print(f"[yellow]personal data masked:[/yellow] {found}")


def _reasons_table(by_reason: dict[str, int]) -> Table:
    table = Table("rejected because", "rows", title="rejected rows (see table rejected_rows)")
    for reason, count in by_reason.items():
        table.add_row(reason, f"{count:,}")
    return table


@data_app.command("watch")
def data_watch(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="Folder where export files land (subfolders too).")],
    format: FormatOption = None,
    every: Annotated[float, typer.Option(help="Seconds between looks at the folder.", min=0.1)] = 10.0,
    settle: Annotated[
        float, typer.Option(help="Seconds a file must be unchanged before it is loaded.", min=0)
    ] = 5.0,
    once: Annotated[bool, typer.Option("--once", help="Load what is there now, then stop.")] = False,
) -> None:
    """Load export files as they land in FOLDER, each once (a changed file replaces its rows).
    Runs until Ctrl-C. While the app runs on the same DuckDB dataset, use `launch.py --watch-folder`
    instead: the app's process then does the loads."""
    from assistant.warehouse.folder_watch import FolderWatch, WatchedFile, record_path
    from assistant.warehouse.load import load_into

    settings: Settings = ctx.obj
    try:
        watch = FolderWatch(
            folder,
            record_path(settings, folder),
            lambda path, name: load_into(settings, path, format=format, name=name),
            settle_seconds=settle,
        )
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None

    def show(entry: WatchedFile) -> None:
        if entry.report is not None:
            _print_load(entry.report)
        elif entry.skipped:
            console.print(f"[dim]{escape(entry.name)}: not loaded, {escape(entry.skipped)}[/dim]")
        else:
            console.print(f"[red]{escape(entry.name)}: {escape(entry.error or '')}[/red] (tried again later)")

    if once:
        tried = watch.scan()
        for entry in tried:
            show(entry)
        if not tried:
            console.print(f"nothing new in {watch.folder}")
        if any(entry.error for entry in tried):
            raise typer.Exit(1)
        return
    from assistant.cli import wait_for_interrupt

    console.print(
        f"watching {watch.folder} for dataset {settings.warehouse!r} every {every:g}s (Ctrl-C stops)"
    )
    watch.start(every, on_file=show)
    try:
        wait_for_interrupt()
    finally:
        watch.stop()


@data_app.command("info")
def data_info(ctx: typer.Context) -> None:
    """Tables, row counts, time span, funnel counts, rejected rows and loads."""
    from assistant.warehouse.db import Warehouse

    settings: Settings = ctx.obj
    with Warehouse(settings) as warehouse:
        if not warehouse.exists():
            raise fail(f"no warehouse at {warehouse.url}: run `shoplens data demo` or `shoplens data load`")
    # Read as the assistant reads it: the same read-only connection.
    with Warehouse(settings, read_only=True) as reader:
        info = reader.info()
    console.print(
        f"[bold]warehouse[/bold] {info.url} ({info.engine}; the assistant's queries are {info.access})"
    )
    tables = Table("table", "kind", "rows")
    for t in info.tables:
        tables.add_row(t.name, t.kind, f"{t.rows:,}")
    console.print(tables)
    console.print(
        f"events from {info.first_event} to {info.last_event}; "
        f"{info.users:,} users, {info.sessions:,} sessions"
    )
    funnel = Table("event type", "events", "users", "sessions", title="funnel")
    for step in info.funnel:
        funnel.add_row(step.event_type, f"{step.events:,}", f"{step.users:,}", f"{step.sessions:,}")
    console.print(funnel)
    if info.rejected_by_reason:
        console.print(_reasons_table(info.rejected_by_reason))
    loads = Table("source", "format", "loaded", "rejected", "products", "users", "seconds", title="loads")
    for load in info.loads:
        loads.add_row(
            load.source_dataset,
            load.format,
            f"{load.rows_loaded:,}",
            f"{load.rows_rejected:,}",
            f"{load.products_loaded:,}",
            f"{load.users_loaded:,}",
            f"{load.seconds or 0:.1f}",
        )
    console.print(loads)


@data_app.command("formats")
def data_formats() -> None:
    """The file formats `data load` understands."""
    from assistant.warehouse.loaders import loaders

    table = Table("format", "kind", "what it reads")
    for loader in loaders():
        table.add_row(loader.name, loader.kind, loader.title)
    console.print(table)


def _count(text: str) -> int:
    try:
        return parse_count(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@data_app.command("demo")
def data_demo(
    ctx: typer.Context,
    events: Annotated[str | None, typer.Option(help="About how many events: 10k … 100M.")] = None,
    seed: Annotated[int | None, typer.Option(help="Generator seed (same seed, same shop).")] = None,
) -> None:
    """Generate the demo shop into the warehouse (replacing an earlier demo), with its manifest."""
    from assistant.warehouse.db import Warehouse
    from assistant.warehouse.demo import generate

    settings: Settings = ctx.obj
    size = _count(events) if events else settings.demo_events
    if not 1_000 <= size <= 200_000_000:
        raise fail("--events must be between 1k and 200M")
    with Warehouse(settings) as warehouse:
        with progress_bar() as report:
            result = generate(
                warehouse, size, seed=settings.demo_seed if seed is None else seed, progress=report
            )
    console.print(
        f"demo shop: [green]{result.events:,} events[/green], {result.users:,} users, "
        f"{result.products:,} products, {result.sessions:,} sessions, {result.orders:,} orders "
        f"in {result.seconds:.1f}s\nplanted facts: {result.manifest_path}"
    )


@data_app.command("spark-server")
def data_spark_server(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (HiveServer2 protocol).")] = 10000,
    master: Annotated[
        str,
        typer.Option(help="Where Spark runs the queries: local[N] (N cores here) or a cluster's master URL."),
    ] = "local[2]",
) -> None:
    """Run a Spark Thrift Server on 127.0.0.1 (Spark in local mode, or on a cluster with --master)
    for ShopLens on Spark SQL: point `SHOPLENS_DATABASE_URL` at the URL it prints. Ctrl-C stops it."""
    import time
    from contextlib import ExitStack

    from assistant.warehouse import spark

    settings: Settings = ctx.obj
    work_dir = settings.data_dir.expanduser() / "spark-server"
    try:
        with ExitStack() as running:
            with console.status("starting Spark (about 10-40 s)"):
                url = running.enter_context(spark.thrift_server(work_dir, port, master))
            console.print(
                f"Spark SQL on [bold]{url}[/bold] (catalog and log in {work_dir})\n"
                f"  SHOPLENS_DATABASE_URL={url} shoplens data demo\n"
                f"  SHOPLENS_DATABASE_URL={url} python launch.py\nCtrl-C stops it."
            )
            while True:
                time.sleep(3600)
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        console.print("Spark stopped")
