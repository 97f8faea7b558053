"""`shoplens model`: list, pull, serve and try the packaged models."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from assistant.cli.base import (
    console,
    fail,
    model_app,
    progress_bar,
    wait_for_interrupt,
)
from assistant.settings import Settings


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
        raise fail(str(exc)) from None
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
        raise fail(str(exc)) from None


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
        raise fail(str(exc)) from None
