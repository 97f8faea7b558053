"""The agent's tools. Each tool module declares its tools (`tools(semantic)`: a typed function
with a docstring, its arguments model, its line in the system prompt, its group and follow-ups);
`build_tools` gathers them in the order the model sees them. A tool is added in one module."""

from __future__ import annotations

from tools.base import Tool, ToolContext, ToolError, ToolResult

__all__ = ["Tool", "ToolContext", "ToolError", "ToolResult", "build_tools", "groups"]


def build_tools(semantic: object) -> dict[str, Tool]:
    """The tools, in the order the model sees them (most useful first)."""
    from tools import anomalies, copy, describe, metrics, recommend, search, segments, sql

    modules = (metrics, segments, recommend, anomalies, search, copy, sql, describe)
    return {tool.name: tool for module in modules for tool in module.tools(semantic)}


def groups(tools: dict[str, Tool], *names: str) -> frozenset[str]:
    """The names of the tools in these groups ("metrics", "sql", "data", "insight")."""
    return frozenset(name for name, tool in tools.items() if tool.group in names)
