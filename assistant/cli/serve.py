"""`shoplens api` (the HTTP API) and `shoplens mcp` (the tools over the Model Context Protocol)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from assistant.cli.base import app, console, fail, offered_tools, tool_context
from assistant.settings import Settings, is_loopback

log = logging.getLogger(__name__)


@app.command("api")
def api_serve(
    ctx: typer.Context,
    port: Annotated[int | None, typer.Option(help="Port (default: the api_port setting, 8000).")] = None,
) -> None:
    """Serve the HTTP API until Ctrl-C (OpenAPI docs at /docs); the model engine starts with it.
    Bound to the `host` setting; any other interface than the loopback needs SHOPLENS_API_KEY."""
    import uvicorn

    from assistant.api import create_app
    from assistant.llm.engines import EngineUnavailable
    from assistant.llm.server import EngineFailed, start_engine
    from assistant.workspace import Workspace, dataset_files

    settings: Settings = ctx.obj
    key = settings.api_key.get_secret_value() if settings.api_key else None
    if key is None and not is_loopback(settings.host):
        raise fail(f"serving the API on {settings.host} needs a key: set SHOPLENS_API_KEY")
    if settings.warehouse not in dataset_files(settings.data_dir):
        raise fail(
            f"no dataset {settings.warehouse!r} in {settings.data_dir}: run `shoplens data demo` or `shoplens data load FILE`"
        )
    port = port or settings.api_port
    try:
        with start_engine(settings) as running, Workspace(settings, running.endpoint) as workspace:
            workspace.warm_up()
            if running.server is not None:
                running.server.on_restart.append(workspace.engine_restarted)
            console.print(
                f"ShopLens API at http://{settings.host}:{port}/v1 (docs: /docs), "
                f"{'key required' if key else 'no key'}; model {running.endpoint.model} (Ctrl-C stops)"
            )
            uvicorn.run(create_app(workspace, key), host=settings.host, port=port, log_level="warning")
    except (EngineUnavailable, EngineFailed, RuntimeError) as exc:
        raise fail(str(exc)) from None


@app.command("mcp")
def mcp_serve(
    ctx: typer.Context,
    with_model: Annotated[
        bool, typer.Option("--with-model", help="Start the model to write prose (copy, explanations).")
    ] = False,
) -> None:
    """Serve the data tools over MCP on stdin/stdout (read-only), for agents and IDEs that
    launch it, e.g. {"command": "shoplens", "args": ["mcp"]}."""
    from assistant.mcp_server import serve_stdio

    settings: Settings = ctx.obj
    semantic, tools = offered_tools(settings)
    with tool_context(settings, with_model) as context:
        context.semantic = semantic
        log.info("MCP server on stdio: %d tools", len(tools))
        serve_stdio(context, tools)
