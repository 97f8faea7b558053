"""ShopLens's data tools for other agents and IDEs, over the Model Context Protocol.

`shoplens mcp` serves them on stdin/stdout, the transport MCP clients launch a server with (Claude
Desktop, IDEs, `mcp.Client`). Each tool the assistant is offered (the `tools` setting) is listed
with its docstring and its arguments model's JSON schema; a call runs the tool itself, no model in
the loop, on the warehouse opened read-only: nothing an MCP client sends can change the data.
A result comes back as text (the code-written sentence, what was computed, the first rows) and as
structured content (columns, rows, SQL, notes); a tool's error comes back as an error result the
calling agent can read and correct.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from pydantic import ValidationError

from tools import Tool, ToolContext, ToolError, ToolResult
from tools.base import argument_problems

log = logging.getLogger(__name__)

PREVIEW_ROWS = 50


def create_server(context: ToolContext, tools: dict[str, Tool]) -> Server:
    """An MCP server offering `tools`, each run on `context`."""

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[_listed(name, tool) for name, tool in tools.items()])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        tool = tools.get(params.name)
        if tool is None:
            return _error(f"no tool {params.name!r}; tools: {', '.join(tools)}")
        try:
            # Queries and index builds block: off the event loop, one tool call per thread.
            result = await anyio.to_thread.run_sync(tool, context, params.arguments or {})
        except ValidationError as exc:
            return _error(f"{params.name}: {argument_problems(exc, with_input=True)}")
        except ToolError as exc:
            return _error(str(exc))
        return types.CallToolResult(
            content=[types.TextContent(text=result_text(result))],
            structured_content=result.model_dump(
                mode="json", include={"tool", "arguments", "sql", "columns", "rows", "truncated", "notes"}
            )
            | {"summary": result.answer or result.summary, "interpretation": result.interpretation},
        )

    return Server(
        "shoplens",
        version="0.1.0",
        instructions="Read-only tools over an e-commerce behavior warehouse (events, users, products):"
        " metrics, funnels, segments, recommendations, anomalies, product search and guarded SQL.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def _listed(name: str, tool: Tool) -> types.Tool:
    return types.Tool(
        name=name,
        description=tool.description,
        input_schema=tool.args_model.model_json_schema(),
        annotations=types.ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
        ),
    )


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


def result_text(result: ToolResult) -> str:
    """A result as a calling agent reads it: the sentence, what was computed, the rows, the notes."""
    parts = [text for text in (result.answer or result.summary,) if text]
    if result.interpretation:
        parts.append(f"Computed: {result.interpretation}")
    if result.text is not None:
        parts.append(result.text)
    elif result.rows or result.columns:
        parts.append(result.preview(max_rows=PREVIEW_ROWS))
    parts += [f"Note: {note}" for note in result.notes]
    if result.sql:
        parts.append(f"SQL:\n{result.sql}")
    return "\n\n".join(parts)


def serve_stdio(context: ToolContext, tools: dict[str, Tool]) -> None:
    """Serve on stdin/stdout until the client closes them."""
    server = create_server(context, tools)

    async def run() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(run)
