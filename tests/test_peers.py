"""The peers on the real model, through the eval harness as a user runs them (`shoplens eval run
--systems plain-sql,langchain-sql,llamaindex,vanna`). LlamaIndex and Vanna need the peers extra
(`make install-peers`); without it their tests skip, except where SHOPLENS_REQUIRE_PEERS=1 (CI)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from assistant.llm.server import ManagedServer
from assistant.settings import Settings
from eval.harness import run_suite
from eval.suite import load_suite

from .conftest import REAL, DemoShops


def _require(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        if os.environ.get("SHOPLENS_REQUIRE_PEERS") == "1":
            pytest.fail(f"{module} is required here (SHOPLENS_REQUIRE_PEERS=1): make install-peers")
        pytest.skip(f"{module} is not installed: make install-peers")


def _demo_cases(
    system: str, ids: list[str], llama_server: ManagedServer, tmp_path: Path
) -> dict[str, dict[str, Any]]:
    """These demo cases run through the harness by `system` on the real model: result lines by case."""
    suite = load_suite("demo")
    suite.cases = [c for c in suite.cases if c.id in ids]
    lines = run_suite(
        suite,
        [system],
        Settings(data_dir=tmp_path / "data"),
        tmp_path / "run",
        real_data=REAL,
        use_judge=False,
        endpoint=llama_server.endpoint,
    )
    return {line["case"]: line for line in lines}


@pytest.mark.model
def test_the_plain_schema_prompt_runs_its_own_sql(llama_server: ManagedServer, tmp_path: Path) -> None:
    by_case = _demo_cases("plain-sql", ["aov", "revenue_7d"], llama_server, tmp_path)
    for case, line in by_case.items():
        outcome = line["outcome"]
        # One completion, its SQL run as written: a table, or the database's own refusal.
        assert outcome["sql"] and outcome["tokens"]["prompt"] > 500, (case, outcome)
        assert (outcome["kind"], bool(outcome["rows"])) in {("answer", True), ("error", False)}, outcome
        if outcome["kind"] == "error":
            assert "query failed" in outcome["error"] and not line["passed"]
    # The 1.5B averages daily revenue for "average order value": a table from its own SQL,
    # scored against the gold rows like any answer.
    aov = by_case["aov"]
    assert aov["outcome"]["kind"] == "answer" and aov["outcome"]["rows"], aov
    assert aov["passed"] or any("gold SQL" in reason for reason in aov["reasons"]), aov["reasons"]


@pytest.mark.model
def test_langchains_sql_agent_is_scored_on_what_it_ran(llama_server: ManagedServer, tmp_path: Path) -> None:
    """On llama.cpp it runs in ReAct mode (the server returns no automatic tool calls). The 1.5B
    lists the tables, then writes a final answer without querying ("Final Answer: 10"): an
    answer with no query behind it fails; its steps are kept for the reader."""
    by_case = _demo_cases("langchain-sql", ["aov", "revenue_7d"], llama_server, tmp_path)
    for line in by_case.values():
        outcome = line["outcome"]
        steps = [call["tool"] for call in outcome["tool_calls"]]
        assert steps and set(steps) <= {
            "sql_db_list_tables",
            "sql_db_schema",
            "sql_db_query",
            "sql_db_query_checker",
            "_Exception",
        }, steps
        if outcome["sql"] is None:  # no query ran: whatever it says, not a pass
            assert not line["passed"] and outcome["tool"] is None, line
        else:
            assert outcome["tool"] == "run_sql" and "sql_db_query" in steps, outcome


@pytest.mark.model
def test_llamaindex_answers_with_its_own_sql_and_its_failures_are_its_own(
    llama_server: ManagedServer, tmp_path: Path
) -> None:
    _require("llama_index.core")
    by_case = _demo_cases("llamaindex", ["aov", "revenue_7d"], llama_server, tmp_path)
    assert set(by_case) == {"aov", "revenue_7d"}
    aov = by_case["aov"]["outcome"]
    # Its SQL ran on the warehouse and its figure is the gold one (the 1.5B gets this one right).
    assert aov["kind"] == "answer" and "FROM orders" in aov["sql"] and aov["rows"], aov
    assert by_case["aov"]["passed"], by_case["aov"]["reasons"]
    # The model writes MySQL's CURDATE() for "the last 7 days": DuckDB refuses it, and LlamaIndex
    # answers in words about the error. That is a failed answer, not a figure.
    week = by_case["revenue_7d"]["outcome"]
    assert week["kind"] == "error" and not week["rows"] and week["sql"], week
    assert "query failed" in week["error"] and not by_case["revenue_7d"]["passed"]


@pytest.mark.model
def test_vanna_is_trained_on_what_shoplens_knows_and_its_failures_are_its_own(
    llama_server: ManagedServer, tmp_path: Path
) -> None:
    _require("vanna")
    by_case = _demo_cases("vanna", ["aov", "profit_margin"], llama_server, tmp_path)
    # It writes the metric's SQL from the trained pairs (ShopLens's examples compiled to SQL).
    aov = by_case["aov"]["outcome"]
    assert aov["kind"] == "answer" and "count(DISTINCT e.order_id)" in aov["sql"] and aov["rows"], aov
    assert by_case["aov"]["passed"], by_case["aov"]["reasons"]
    # The data has no costs: its prompt says to explain when the context cannot answer, but the
    # 1.5B writes a revenue query and calls it a margin. Its own miss, scored as one.
    margin = by_case["profit_margin"]
    assert margin["outcome"]["kind"] == "answer" and margin["outcome"]["sql"] and not margin["passed"], margin
    assert any("expected refusal" in reason for reason in margin["reasons"]), margin["reasons"]


def test_vanna_learns_shoplens_examples_as_sql_on_the_data_at_hand(
    tmp_path: Path, demo_shops: DemoShops
) -> None:
    """The question/SQL pairs Vanna is trained on: every run_sql example as written and each
    typed example compiled on this warehouse; the SQL runs there."""
    from assistant.warehouse.db import Warehouse
    from eval.peers import example_sql, metric_documentation, plain_blocks

    demo_shops.copy(tmp_path, 20_000, seed=2)
    settings = Settings(data_dir=tmp_path)
    with Warehouse(settings, read_only=True) as warehouse:
        pairs = example_sql(settings, warehouse)
        assert len(pairs) > 80 and len({q for q, _ in pairs}) == len(pairs)
        with warehouse.engine.connect() as conn:
            for _, sql in pairs[:: max(1, len(pairs) // 15)]:
                conn.exec_driver_sql(sql).fetchmany(1)
    assert any(q == "Which products were bought together most often?" for q, _ in pairs)
    assert len(plain_blocks()) == 6 and all(
        b.startswith("CREATE ") and b.endswith(");") for b in plain_blocks()
    )
    assert any(
        d.startswith("Metric aov ") and "count(DISTINCT e.order_id)" in d for d in metric_documentation()
    )
