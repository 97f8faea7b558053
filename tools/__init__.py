"""The agent's tools. Each tool module declares its tools (`tools(semantic)`: a typed function
with a docstring, its arguments model, its line in the system prompt, its group and follow-ups);
`build_tools` gathers them, the built-ins first (registered here as a plugin, like any other:
assistant/plugins.py). A tool is added in one module, or in one plugin package."""

from __future__ import annotations

from assistant.plugins import hookimpl, in_order, manager
from tools.base import Tool, ToolContext, ToolError, ToolResult

__all__ = ["Tool", "ToolContext", "ToolError", "ToolResult", "available_tools", "build_tools", "groups"]


@hookimpl
def register_tools(semantic: object) -> list[Tool]:
    """The built-in tools, in the order the model sees them (most useful first)."""
    from tools import (
        anomalies,
        changes,
        copy,
        demand,
        describe,
        intent,
        metrics,
        recent,
        recommend,
        search,
        segments,
        sql,
    )

    modules = (
        metrics,
        segments,
        recommend,
        intent,
        anomalies,
        recent,
        changes,
        search,
        demand,
        copy,
        sql,
        describe,
    )
    return [tool for module in modules for tool in module.tools(semantic)]


def available_tools(semantic: object) -> dict[str, Tool]:
    """Every tool installed: the built-ins, then each plugin's."""
    return {tool.name: tool for batch in _batches(semantic) for tool in batch}


def build_tools(semantic: object, enabled: list[str] | None = None) -> dict[str, Tool]:
    """The tools to offer: `enabled` (the `tools` setting) names them in order; empty or None,
    the built-ins. An unknown name is an error that lists the tools installed."""
    batches = _batches(semantic)
    every = {tool.name: tool for batch in batches for tool in batch}
    names = enabled or [tool.name for tool in batches[0]]  # the built-ins register first
    unknown = [name for name in names if name not in every]
    if unknown:
        raise ToolError(
            f"unknown tool {unknown[0]!r} in the tools setting (SHOPLENS_TOOLS); installed: {', '.join(every)}"
        )
    return {name: every[name] for name in names}


def _batches(semantic: object) -> list[list[Tool]]:
    return in_order(manager().hook.register_tools(semantic=semantic))


def groups(tools: dict[str, Tool], *names: str) -> frozenset[str]:
    """The names of the tools in these groups ("metrics", "sql", "data", "insight")."""
    return frozenset(name for name, tool in tools.items() if tool.group in names)
