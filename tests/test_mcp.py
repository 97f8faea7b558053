"""ShopLens's tools over MCP, as another agent uses them: listed with their schemas, called, their
errors readable; first in-process, then `shoplens mcp` launched by an MCP client over stdio."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from assistant.mcp_server import create_server
from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from tools import ToolContext, build_tools
from tools.metrics import SemanticModel

from .conftest import DemoShops
from .test_agent_units import reference, shop  # noqa: F401  (shop is a fixture)


def session(shop, work: Any) -> Any:  # noqa: F811
    """Run `work(client)` against an in-process server over the shop's tools."""
    settings, warehouse = shop
    semantic = SemanticModel.load(settings.metrics_file)
    context = ToolContext.open(settings, warehouse)
    context.semantic = semantic
    server = create_server(context, build_tools(semantic, settings.tools))

    async def run() -> Any:
        async with Client(server) as client:
            return await work(client)

    return anyio.run(run)


def test_the_tools_are_listed_read_only_with_their_schemas(shop) -> None:  # noqa: F811
    listed = session(shop, lambda client: client.list_tools())
    tools = {tool.name: tool for tool in listed.tools}
    assert {"query_metric", "funnel", "run_sql", "recommend", "search_products"} <= set(tools)
    metric = tools["query_metric"]
    assert "metric" in metric.input_schema["properties"] and metric.description
    assert all(t.annotations.read_only_hint and not t.annotations.destructive_hint for t in tools.values())


def test_a_call_returns_the_figures_as_text_and_structured_content(shop) -> None:  # noqa: F811
    result = session(
        shop, lambda c: c.call_tool("query_metric", {"metric": "orders", "group_by": ["category"]})
    )
    assert not result.is_error
    rows = result.structured_content["rows"]
    assert result.structured_content["columns"] == ["category", "orders"]
    assert sum(r[1] for r in rows) == reference(shop, "SELECT count(*) FROM orders")
    text = result.content[0].text
    assert text.startswith("Highest orders: ") and "Computed: Orders (orders: distinct orders)" in text
    assert "SQL:\nSELECT" in text and result.structured_content["interpretation"].endswith("by category.")


def test_errors_come_back_as_error_results_and_nothing_is_written(shop) -> None:  # noqa: F811
    events = reference(shop, "SELECT count(*) FROM events")

    async def calls(client: Client) -> list:
        return [
            await client.call_tool("query_metric", {"metric": "profit_margin"}),
            await client.call_tool("query_metric", {"metrik": "orders"}),
            await client.call_tool("run_sql", {"query": "DELETE FROM events"}),
            await client.call_tool("no_such_tool", {}),
        ]

    unknown_metric, misspelt, write, unknown_tool = session(shop, calls)
    assert all(r.is_error for r in (unknown_metric, misspelt, write, unknown_tool))
    assert "metric: Input should be 'events'" in unknown_metric.content[0].text
    assert "(got 'profit_margin')" in unknown_metric.content[0].text
    assert "metrik: Extra inputs are not permitted" in misspelt.content[0].text
    assert "SELECT" in write.content[0].text  # the guard's message: only a read runs
    assert "no tool 'no_such_tool'" in unknown_tool.content[0].text
    assert reference(shop, "SELECT count(*) FROM events") == events


@pytest.mark.slow  # a process that loads the tools (about 10 s here)
def test_an_mcp_client_launches_shoplens_mcp_and_calls_a_tool(tmp_path: Path, demo_shops: DemoShops) -> None:
    data = tmp_path / "data"
    demo_shops.copy(data, 5_000, seed=3)
    with Warehouse(Settings(data_dir=data), read_only=True) as reader:
        orders = reader.scalar("SELECT count(*) FROM orders")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPLENS_")} | {
        "SHOPLENS_DATA_DIR": str(data)
    }
    server = StdioServerParameters(command=sys.executable, args=["-m", "assistant.cli", "mcp"], env=env)

    async def run() -> Any:
        async with Client(server, read_timeout_seconds=120) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            return names, await client.call_tool("query_metric", {"metric": "orders"})

    names, result = anyio.run(run)
    assert "query_metric" in names and not result.is_error
    assert result.structured_content["rows"] == [[orders]]
    assert result.content[0].text.startswith(f"Orders: {orders:,}.")
