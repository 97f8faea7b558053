"""`describe_data`: what is in the warehouse, read instead of guessed."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from assistant.warehouse import schema
from tools.base import GENERIC_FOLLOW_UPS, Tool, ToolContext, ToolResult, format_value


class DescribeArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


def describe_data(ctx: ToolContext, args: DescribeArgs) -> ToolResult:
    """Describe the data: tables and views with their columns and meanings, row counts, the time
    span, and the most common categories, countries and channels."""
    docs = schema.describe_columns()
    counts = {}
    with ctx.warehouse.engine.connect() as conn:
        for name in docs:
            counts[name] = conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar()
    facts = ctx.facts
    lines = [f"Data from {facts.first_day} to {facts.last_day} (the last day counts as today)."]
    for name in ("events", "products", "users", "orders", "sessions", "daily_metrics"):
        lines.append(
            f"{name} ({format_value(counts[name])} rows): "
            + "; ".join(f"{c}: {d}" for c, d in docs[name].items())
        )
    for label, values in (
        ("categories", facts.categories),
        ("countries", facts.countries),
        ("channels", facts.channels),
    ):
        if values:
            lines.append(f"{label}: {', '.join(values[:15])}")
    rows = [(name, counts[name], len(docs[name])) for name in docs if name not in ("rejected_rows", "loads")]
    return ToolResult(
        columns=["table", "rows", "columns"],
        rows=rows,
        text="\n".join(lines),
        interpretation="The warehouse's tables with their row and column counts, and what each column means.",
    )


def tools(semantic: Any) -> list[Tool]:
    return [
        Tool(
            "describe_data",
            describe_data,
            DescribeArgs,
            prompt="what data there is.",
            group="data",
            follow_ups=lambda arguments, first: GENERIC_FOLLOW_UPS,
        )
    ]
