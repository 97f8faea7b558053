"""`shoplens`: the command line. Global flags override `SHOPLENS_*` env vars, which override defaults."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
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

from assistant.plugins import manager as plugin_manager
from assistant.settings import Settings, parse_count

app = typer.Typer(help="ShopLens: ask your e-commerce behavior data questions.", no_args_is_help=True)
data_app = typer.Typer(help="Load, inspect and generate warehouse data.", no_args_is_help=True)
app.add_typer(data_app, name="data")
model_app = typer.Typer(help="Pull, serve and try the local model.", no_args_is_help=True)
app.add_typer(model_app, name="model")
tool_app = typer.Typer(help="Run the assistant's tools directly, without the model.", no_args_is_help=True)
app.add_typer(tool_app, name="tool")

console = Console()


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
        raise _fail(f"bad setting: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from None
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


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(message)}")  # a file name may hold '[…]'
    return typer.Exit(code=1)


@data_app.command("load")
def data_load(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="File or folder to load.")],
    format: Annotated[
        str | None, typer.Option("--format", "-f", help="Skip detection: see `data formats`.")
    ] = None,
) -> None:
    """Load a file into the warehouse (format auto-detected). Re-loading a file replaces its rows."""
    from assistant.warehouse.load import LoadError, load_into
    from assistant.warehouse.loaders import UnknownFormat

    settings: Settings = ctx.obj
    try:
        with progress_bar() as report:  # a refused file leaves no new, empty warehouse behind
            result = load_into(settings, path, format=format, progress=report)
    except (LoadError, UnknownFormat) as exc:
        raise _fail(str(exc)) from None
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


@data_app.command("info")
def data_info(ctx: typer.Context) -> None:
    """Tables, row counts, time span, funnel counts, rejected rows and loads."""
    from assistant.warehouse.db import Warehouse

    settings: Settings = ctx.obj
    with Warehouse(settings) as warehouse:
        if not warehouse.exists():
            raise _fail(f"no warehouse at {warehouse.url}: run `shoplens data demo` or `shoplens data load`")
        info = warehouse.info()
    console.print(f"[bold]warehouse[/bold] {info.url}")
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
        raise _fail("--events must be between 1k and 200M")
    with Warehouse(settings) as warehouse:
        if not warehouse.is_duckdb:
            raise _fail("the demo shop is generated into the embedded DuckDB warehouse")
        with progress_bar() as report:
            result = generate(
                warehouse, size, seed=settings.demo_seed if seed is None else seed, progress=report
            )
    console.print(
        f"demo shop: [green]{result.events:,} events[/green], {result.users:,} users, "
        f"{result.products:,} products, {result.sessions:,} sessions, {result.orders:,} orders "
        f"in {result.seconds:.1f}s\nplanted facts: {result.manifest_path}"
    )


@model_app.command("list")
def model_list(ctx: typer.Context) -> None:
    """The packaged models, whether each is pulled, and their licenses."""
    from assistant.llm.convert import is_converted
    from assistant.llm.models import DEFAULT_MODEL, MODELS
    from assistant.llm.pull import is_pulled

    settings: Settings = ctx.obj
    table = Table("model", "size", "pulled", "for vLLM", "license", "notes")
    table.columns[-1].overflow = "fold"
    for model in MODELS.values():
        name = model.name + (" (default)" if model.name == DEFAULT_MODEL else "")
        table.add_row(
            name,
            f"{model.size / 2**20:,.0f} MB",
            "yes" if is_pulled(settings, model) else "no",
            "converted" if is_converted(settings, model) else "-",
            model.license,
            model.notes,
        )
    console.print(table)


@model_app.command("pull")
def model_pull(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Model to pull (default: the configured one).")] = None,
    for_vllm: Annotated[bool, typer.Option("--for-vllm", help="Also convert it for vLLM.")] = False,
) -> None:
    """Install the model's packages, reassemble its GGUF and check its SHA-256. Safe to repeat."""
    from assistant.llm.convert import convert
    from assistant.llm.models import UnknownModel, get_model
    from assistant.llm.pull import ModelPullError, pull

    settings: Settings = ctx.obj
    try:
        model = get_model(name or settings.model)
        with progress_bar() as report:
            path = pull(settings, model, progress=report)
            if for_vllm:
                path = convert(settings, model, progress=report)
    except (UnknownModel, ModelPullError, RuntimeError) as exc:
        raise _fail(str(exc)) from None
    console.print(
        f"[green]{model.name}[/green] ready: {path}  (sha256 {model.sha256[:12]}…, {model.license})"
    )


@model_app.command("serve")
def model_serve(ctx: typer.Context) -> None:
    """Run the model engine in the foreground (OpenAI API on the LLM port) until Ctrl-C."""
    from assistant.llm.engines import EngineUnavailable
    from assistant.llm.server import EngineFailed, start_engine

    settings: Settings = ctx.obj
    try:
        with start_engine(settings) as running:
            console.print(
                f"{running.endpoint.engine} serving [bold]{running.endpoint.model}[/bold] at {running.endpoint.base_url} (Ctrl-C stops)"
            )
            wait_for_interrupt()
    except (EngineUnavailable, EngineFailed, RuntimeError) as exc:
        raise _fail(str(exc)) from None


@model_app.command("chat")
def model_chat(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Argument(help="What to ask.")],
    max_tokens: Annotated[int, typer.Option(help="Longest answer, in tokens.")] = 256,
) -> None:
    """Ask the model one question (starts the engine if none answers on the LLM port)."""
    import time

    from assistant.llm.client import chat_model
    from assistant.llm.engines import EngineUnavailable
    from assistant.llm.server import EngineFailed, start_engine

    settings: Settings = ctx.obj
    try:
        with start_engine(settings) as running:
            llm = chat_model(running.endpoint, settings, max_tokens=max_tokens)
            started = time.perf_counter()
            tokens = 0
            chunks = 0
            for chunk in llm.stream(prompt):
                console.print(chunk.content, end="")
                chunks += bool(chunk.content)
                if chunk.usage_metadata:
                    tokens = chunk.usage_metadata["output_tokens"]
            tokens = tokens or chunks  # llama.cpp streams no usage; it sends one token per chunk
            seconds = time.perf_counter() - started
            console.print(f"\n[dim]{running.endpoint.engine} · {tokens} tokens in {seconds:.1f}s[/dim]")
    except (EngineUnavailable, EngineFailed, RuntimeError) as exc:
        raise _fail(str(exc)) from None


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


@app.command("ask")
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="A question about the data, in plain language.")],
    follow_up: Annotated[
        bool, typer.Option("-c", "--continue", help="Continue the last conversation (a follow-up question).")
    ] = False,
    sql: Annotated[bool, typer.Option("--sql", help="Show the SQL that produced the numbers.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole answer as JSON.")] = False,
    csv: Annotated[Path | None, typer.Option(help="Also write the result table to this CSV file.")] = None,
    rows: Annotated[int, typer.Option(help="Rows of the result table to show.")] = 15,
) -> None:
    """Ask the assistant a question (starts the model engine if none is running); `-c` asks a
    follow-up in the last conversation, as `llm -c` does."""
    from assistant.agent import Conversation, open_assistant
    from assistant.llm.engines import EngineUnavailable
    from assistant.llm.pull import ModelPullError
    from assistant.llm.server import EngineFailed

    settings: Settings = ctx.obj
    conversation = _last_conversation(settings) if follow_up else Conversation()
    try:
        with open_assistant(settings) as assistant:
            answer = assistant.ask(question, conversation)
            engine = assistant.endpoint.engine
    except (FileNotFoundError, EngineUnavailable, EngineFailed, ModelPullError) as exc:
        raise _fail(str(exc)) from None
    _keep_conversation(settings, conversation)
    if csv is not None and answer.table is not None:
        from assistant.export import write_csv

        write_csv(answer.table.columns, answer.table.rows, csv)
    if as_json:
        console.print_json(answer.model_dump_json())
        return
    style = {"answer": "bold", "clarification": "yellow", "refusal": "yellow", "error": "red"}[answer.kind]
    console.print(f"[{style}]{answer.text}[/]")
    if answer.interpretation:
        console.print(f"[cyan]computed:[/cyan] {answer.interpretation}")
    for note in answer.notes:
        if note.startswith(("ignored ", "read ", "kept only ")):
            console.print(f"[dim]note: {note}[/dim]")
    if answer.table and answer.table.rows:
        _print_rows(answer.table.columns, answer.table.rows, rows, answer.table.truncated)
    for call in answer.tool_calls:
        if call.error:
            console.print(f"[dim]retried after {call.tool}: {call.error}[/dim]")
    if sql and answer.sql:
        console.print(f"[dim]{answer.sql}[/dim]")
    if answer.ungrounded_numbers:
        console.print(f"[red]numbers not found in the results: {', '.join(answer.ungrounded_numbers)}[/red]")
    tokens = answer.tokens
    console.print(
        f"[dim]{engine} · {answer.timings.get('total', 0):.1f}s · "
        f"{tokens['prompt']:,} prompt + {tokens['completion']:,} completion tokens[/dim]"
    )


def _conversation_file(settings: Settings) -> Path:
    return settings.data_dir / "conversations" / f"{settings.warehouse}.json"


def _last_conversation(settings: Settings) -> Any:
    """The conversation `shoplens ask` had last on this warehouse (empty when there is none)."""
    from assistant.agent import Conversation, Turn

    path = _conversation_file(settings)
    if not path.exists():
        return Conversation()
    try:
        return Conversation([Turn(**turn) for turn in json.loads(path.read_text())])
    except (ValueError, TypeError):
        console.print(
            f"[yellow]the last conversation ({path}) could not be read: starting a new one[/yellow]"
        )
        return Conversation()


def _keep_conversation(settings: Settings, conversation: Any) -> None:
    """Saved for `shoplens ask -c`: the last ten turns are all a follow-up needs."""
    from dataclasses import asdict

    path = _conversation_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(turn) for turn in conversation.turns[-10:]], default=str))


@app.command("audit")
def audit(
    ctx: typer.Context,
    session: Annotated[str | None, typer.Option(help="Only this session (the app's or 'local').")] = None,
    since: Annotated[datetime | None, typer.Option(help="Only events at or after this time (UTC).")] = None,
    text: Annotated[str | None, typer.Option(help="Only questions or SQL containing this text.")] = None,
    limit: Annotated[int, typer.Option(help="Most events to show, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Who asked what, which tools and SQL ran: the audit log (<data dir>/audit.jsonl)."""
    import json

    from assistant.audit import AuditLog

    settings: Settings = ctx.obj
    columns, rows = AuditLog(settings.data_dir / "audit.jsonl").query(session, since, text, limit)
    if as_json:
        for row in rows:
            print(json.dumps(dict(zip(columns, row, strict=True)), default=str))
        return
    table = Table("time", "session", "dataset", "question / tool", "calls", "answer", "sql")
    for record in (dict(zip(columns, row, strict=True)) for row in rows):
        calls = ", ".join(
            c["tool"] + (" (failed)" if c.get("error") else "") for c in record["tool_calls"] or []
        )
        table.add_row(
            f"{record['time']:%Y-%m-%d %H:%M:%S}",
            record["session"],
            record["dataset"],
            record["question"] or record["kind"],
            calls,
            record["answer_kind"] or ("error" if record["error"] else "ok"),
            (record["sql"] or "")[:80],
        )
    console.print(table)
    if not rows:
        console.print("[dim]no audit events match[/dim]")


def _print_rows(columns: list[str], rows: list, limit: int, truncated: bool) -> None:
    from tools.base import format_value

    table = Table(*columns)
    for row in rows[:limit]:
        table.add_row(*(format_value(v) for v in row))
    console.print(table)
    if len(rows) > limit or truncated:
        console.print(f"[dim]… {len(rows) - limit if len(rows) > limit else 'more'} rows not shown[/dim]")


@contextmanager
def _tool_context(settings: Settings, with_model: bool) -> Iterator[Any]:
    """The tools' context on the read-only warehouse; with a model engine when asked for."""
    from assistant.llm.client import Writer, chat_model
    from assistant.llm.server import start_engine
    from assistant.warehouse.db import Warehouse, refresh_views
    from tools.base import ToolContext

    refresh_views(settings)
    warehouse = Warehouse(settings, read_only=True)
    if not warehouse.exists():
        raise _fail(f"no warehouse at {warehouse.url}: run `shoplens data demo` or `shoplens data load FILE`")
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


@tool_app.command("list")
def tool_list(ctx: typer.Context) -> None:
    """The tools installed, their arguments, and whether the model is offered them (`tools` setting)."""
    from tools import ToolError, available_tools, build_tools
    from tools.metrics import SemanticModel

    settings: Settings = ctx.obj
    semantic = SemanticModel.load(settings.metrics_file)
    try:
        offered = build_tools(semantic, settings.tools)
    except ToolError as exc:
        raise _fail(str(exc)) from None
    table = Table("tool", "offered", "what it does", "arguments")
    for name, tool in available_tools(semantic).items():
        table.add_row(
            name,
            "yes" if name in offered else "no",
            tool.description,
            ", ".join(tool.args_model.model_fields),
        )
    console.print(table)


@app.command("plugins")
def plugins_list() -> None:
    """The plugins installed (the built-ins first) and the hooks each implements."""
    pm = plugin_manager()
    table = Table("plugin", "hooks")
    for name, plugin in pm.list_name_plugin():
        table.add_row(name, ", ".join(sorted(h.name for h in pm.get_hookcallers(plugin) or [])))
    console.print(table)


@tool_app.command("run")
def tool_run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Tool name (see `shoplens tool list`).")],
    arguments: Annotated[
        list[str] | None, typer.Argument(help="key=value pairs; lists and objects as JSON.")
    ] = None,
    with_model: Annotated[
        bool, typer.Option("--with-model", help="Start the model to write prose (copy, explanations).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole result as JSON.")] = False,
    rows: Annotated[int, typer.Option(help="Rows of the result table to show.")] = 20,
) -> None:
    """Run one tool, e.g. `shoplens tool run recommend user_id=42 k=5`."""
    from tools import ToolError, available_tools
    from tools.metrics import SemanticModel

    settings: Settings = ctx.obj
    semantic = SemanticModel.load(settings.metrics_file)
    tools = available_tools(semantic)  # any installed tool runs here, offered to the model or not
    if name not in tools:
        raise _fail(f"no tool {name!r}; tools: {', '.join(tools)}")
    values: dict[str, Any] = {}
    for pair in arguments or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise _fail(f"arguments are key=value pairs, got {pair!r}")
        values[key] = json.loads(value) if value[:1] in "[{" else value
    with _tool_context(settings, with_model) as context, progress_bar() as report:
        context.semantic = semantic
        context.progress = report
        try:
            result = tools[name](context, values)
        except (ToolError, ValidationError) as exc:
            raise _fail(str(exc)) from None
    if as_json:
        console.print_json(result.model_dump_json())
        return
    if result.answer or result.summary:
        console.print(f"[bold]{result.answer or result.summary}[/]")
    if result.interpretation:
        console.print(f"[cyan]computed:[/cyan] {result.interpretation}")
    if result.text:
        console.print(result.text)
    elif result.rows:
        _print_rows(result.columns, result.rows, rows, result.truncated)
    for note in result.notes:
        console.print(f"[dim]{note}[/dim]")


@tool_app.command("build")
def tool_build(ctx: typer.Context) -> None:
    """Build what the insight tools need ahead of time: product embeddings, behavior clusters,
    the recommender (otherwise each is built on first use)."""
    from tools.recommend import recommender
    from tools.search import product_index
    from tools.segments import behavior_clusters

    settings: Settings = ctx.obj
    with _tool_context(settings, False) as context, progress_bar() as report:
        context.progress = report
        products = product_index(context)
        _, clusters = behavior_clusters(context)
        model = recommender(context)
    console.print(
        f"{len(products.index):,} products embedded, {len(clusters)} behavior clusters, "
        f"recommender over {len(model.knn.items):,} products; kept in {context.artifacts_dir}"
    )


eval_app = typer.Typer(help="Measure the assistant offline: run suites, compare runs.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


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
            help="Comma-separated: shoplens, no-metrics, no-examples, langchain-sql, plain-sql, or a plugin's."
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
) -> None:
    """Run a suite through the assistant (and baselines), score it, write JSON/markdown/HTML reports."""
    import time

    from assistant.llm.engines import EngineUnavailable
    from assistant.llm.pull import ModelPullError
    from assistant.llm.server import EngineFailed
    from eval.harness import run_suite
    from eval.report import FIGURES, write_reports
    from eval.suite import SuiteError, load_suite
    from eval.systems import BASELINES

    settings: Settings = ctx.obj
    try:
        suite = load_suite(suite_name)
    except SuiteError as exc:
        raise _fail(str(exc)) from None
    if tag:
        suite.cases = [c for c in suite.cases if tag in c.tags]
    chosen = [s.strip() for s in systems.split(",") if s.strip()]
    if baseline:
        chosen += [s for s in BASELINES if s not in chosen]
    folder = run_dir or settings.data_dir / "eval-runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{suite.name}"
    try:
        with progress_bar() as report:
            run_suite(
                suite,
                chosen,
                settings,
                folder,
                real_data=real_data or settings.real_data,
                limit=limit,
                workers=workers,
                use_judge=not no_judge,
                progress=report,
            )
    except (FileNotFoundError, ValueError, EngineUnavailable, EngineFailed, ModelPullError) as exc:
        raise _fail(str(exc)) from None
    figures = write_reports(folder)
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
            raise _fail(f"{folder} is not an eval run folder (no results.jsonl)")
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
            raise _fail(f"{folder} is not an eval run folder (no results.jsonl)")
    console.print(Markdown(compare(run_a, run_b)))


# Commands from plugins (assistant/plugins.py), added as the command line loads.
plugin_manager().hook.register_commands(cli=app)
