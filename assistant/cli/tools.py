"""`shoplens tool`: list, run and build the assistant's tools without the model; `shoplens plugins`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from assistant.cli.base import (
    app,
    console,
    fail,
    offered_tools,
    print_rows,
    progress_bar,
    tool_app,
    tool_context,
)
from assistant.plugins import manager as plugin_manager
from assistant.settings import Settings


@tool_app.command("list")
def tool_list(ctx: typer.Context) -> None:
    """The tools installed, their arguments, and whether the model is offered them (`tools` setting)."""
    from tools import available_tools

    semantic, offered = offered_tools(ctx.obj)
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
        raise fail(f"no tool {name!r}; tools: {', '.join(tools)}")
    values: dict[str, Any] = {}
    for pair in arguments or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise fail(f"arguments are key=value pairs, got {pair!r}")
        values[key] = json.loads(value) if value[:1] in "[{" else value
    with tool_context(settings, with_model) as context, progress_bar() as report:
        context.semantic = semantic
        context.progress = report
        try:
            result = tools[name](context, values)
        except (ToolError, ValidationError) as exc:
            raise fail(str(exc)) from None
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
        print_rows(result.columns, result.rows, rows, result.truncated)
    for note in result.notes:
        console.print(f"[dim]{note}[/dim]")


@tool_app.command("build")
def tool_build(ctx: typer.Context) -> None:
    """Build what the insight tools need ahead of time: product embeddings, behavior clusters,
    the recommenders (ItemKNN and the sequence model; otherwise each is built on first use)."""
    from tools.recommend import recommender
    from tools.search import product_index
    from tools.segments import behavior_clusters
    from tools.sequences import shop_sequences

    settings: Settings = ctx.obj
    with tool_context(settings, False) as context, progress_bar() as report:
        context.progress = report
        products = product_index(context)
        _, clusters = behavior_clusters(context)
        model = recommender(context)
        shop = shop_sequences(context, model.interactions)
    console.print(
        f"{len(products.index):,} products embedded, {len(clusters)} behavior clusters, "
        f"recommender over {len(model.knn.items):,} products, sequence model of {len(shop.sequences):,} "
        f"shoppers ({shop.model.epochs} epochs, {shop.model.train_seconds:.0f}s on {shop.model.device}); "
        f"kept in {context.artifacts_dir}"
    )
