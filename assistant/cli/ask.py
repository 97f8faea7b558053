"""`shoplens ask` (a conversation kept between calls) and `shoplens audit`."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from assistant.cli.base import (
    app,
    console,
    fail,
    print_rows,
)
from assistant.settings import Settings


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
        raise fail(str(exc)) from None
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
        print_rows(answer.table.columns, answer.table.rows, rows, answer.table.truncated)
    for call in answer.tool_calls:
        if call.error:
            console.print(f"[dim]retried after {call.tool}: {call.error}[/dim]")
    if sql and answer.sql:
        console.print(f"[dim]{answer.sql}[/dim]")
    if answer.left_out:
        console.print(
            f"[yellow]asked for but not in what was computed: {', '.join(answer.left_out)}[/yellow]"
        )
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
    from assistant.answer import Conversation, Turn

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
