"""The peers from other projects (eval/peers.py) on the real model, through the eval harness as
a user runs them (`shoplens eval run --systems llamaindex`). They need the peers extra
(`make install-peers`); without it the test skips, except where SHOPLENS_REQUIRE_PEERS=1 (CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.llm.server import ManagedServer
from assistant.settings import Settings
from eval.harness import run_suite
from eval.suite import load_suite

from .conftest import REAL


def _require(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        if os.environ.get("SHOPLENS_REQUIRE_PEERS") == "1":
            pytest.fail(f"{module} is required here (SHOPLENS_REQUIRE_PEERS=1): make install-peers")
        pytest.skip(f"{module} is not installed: make install-peers")


@pytest.mark.model
def test_llamaindex_answers_with_its_own_sql_and_its_failures_are_its_own(
    llama_server: ManagedServer, tmp_path: Path
) -> None:
    _require("llama_index.core")
    suite = load_suite("demo")
    suite.cases = [c for c in suite.cases if c.id in ("aov", "revenue_7d")]
    settings = Settings(data_dir=tmp_path / "data")
    lines = run_suite(
        suite,
        ["llamaindex"],
        settings,
        tmp_path / "run",
        real_data=REAL,
        use_judge=False,
        endpoint=llama_server.endpoint,
    )
    by_case = {line["case"]: line for line in lines}
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
