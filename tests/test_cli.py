"""The `shoplens` command line and `launch.py`, run as a user runs them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import launch
from assistant.cli import app
from assistant.settings import Settings, parse_count
from assistant.warehouse.db import Warehouse, WarehouseInfo

from .conftest import FIXTURES, real
from .test_agent_units import shop  # noqa: F401  (shop is a fixture)

runner = CliRunner()


def shoplens(data_dir: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--data-dir", str(data_dir), *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


@pytest.mark.real_data
def test_load_then_info_shows_counts_rejects_and_funnel(tmp_path: Path) -> None:
    code, out = shoplens(tmp_path, "data", "load", str(real("taobao/UserBehavior_fattydelivery.csv")))
    assert code == 0, out
    assert "4,321 read, 4,320 loaded, 1 rejected" in out
    assert "timestamp outside the data set window" in out
    code, out = shoplens(tmp_path, "data", "info")
    assert code == 0, out
    assert "events from 2017-11-24 16:00:41 to 2017-12-03 15:59:13" in out
    assert f"(DuckDB v{duckdb.__version__};" in out and "the assistant's queries are read-only)" in " ".join(
        out.split()
    )
    for line in ("│ view       │ 3,925", "│ purchase   │ 77", "│ rejected_rows │ table │ 1"):
        assert line in out


def test_format_flag_and_folder_loads(tmp_path: Path) -> None:
    code, out = shoplens(tmp_path, "data", "load", str(FIXTURES / "retailrocket"), "--format", "retailrocket")
    assert code == 0, out
    assert "19 loaded, 4 rejected" in out


def test_errors_are_one_readable_line_not_a_traceback(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    code, out = shoplens(tmp_path, "data", "load", str(notes))
    assert code == 1
    assert "error: could not tell the format of notes.txt" in out
    assert "Traceback" not in out
    code, out = shoplens(tmp_path / "nothing", "data", "info")
    assert code == 1 and "no warehouse" in out
    assert not (tmp_path / "nothing" / "shop.duckdb").exists()  # looking did not create one


def test_demo_command_and_formats_listing(tmp_path: Path) -> None:
    code, out = shoplens(tmp_path, "data", "demo", "--events", "20k", "--seed", "1")
    assert code == 0, out
    assert "demo shop:" in out and (tmp_path / "shop.demo-manifest.json").exists()
    code, out = shoplens(tmp_path, "data", "formats")
    assert code == 0
    for name in (
        "rees46",
        "taobao",
        "retailrocket",
        "online_retail",
        "cdnow",
        "instacart",
        "diginetica",
        "yoochoose",
        "flipkart",
        "amazon",
    ):
        assert f"│ {name}" in out


@pytest.mark.parametrize(
    ("text", "count"), [("300k", 300_000), ("10M", 10_000_000), ("2.5m", 2_500_000), ("12,000", 12_000)]
)
def test_counts_read_like_people_write_them(text: str, count: int) -> None:
    assert parse_count(text) == count


def test_bad_counts_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a count: 'lots'"):
        parse_count("lots")
    code, out = shoplens(tmp_path, "data", "demo", "--events", "lots")
    assert code == 2 and "not a count: 'lots'" in out and "Traceback" not in out


def events_in(info: WarehouseInfo) -> int:
    return next(t.rows for t in info.tables if t.name == "events")


def test_launch_makes_the_demo_shop_once(settings: Settings) -> None:
    settings = settings.with_overrides(demo_events=5_000)
    first = events_in(launch.prepare_warehouse(settings))
    assert 4_000 < first < 6_000
    again = launch.prepare_warehouse(settings.with_overrides(demo_events=50_000))
    assert events_in(again) == first  # not regenerated
    assert again.loads[0].source_dataset == "demo"


def test_launch_only_reads_a_warehouse_another_process_has_open(settings: Settings) -> None:
    settings = settings.with_overrides(demo_events=5_000)
    launch.prepare_warehouse(settings)
    # A read-only reader elsewhere (here: this process) must not stop the app from starting.
    with Warehouse(settings, read_only=True) as reader:
        assert events_in(launch.prepare_warehouse(settings)) == reader.scalar("SELECT count(*) FROM events")


def test_the_audit_log_is_queried_by_session_time_and_text(tmp_path: Path) -> None:
    import json

    from assistant.audit import AuditEvent, AuditLog

    log = AuditLog(tmp_path / "audit.jsonl")
    log.record(AuditEvent(session="s1", dataset="shop", kind="question", question="Revenue?", sql="SELECT 1"))
    log.record(AuditEvent(session="s2", dataset="shop", kind="tool", error="no user 'x'"))
    code, out = shoplens(tmp_path, "audit")
    assert code == 0 and "Revenue?" in out and "s2" in out, out
    code, out = shoplens(tmp_path, "audit", "--session", "s1", "--json")
    assert [json.loads(line)["question"] for line in out.splitlines()] == ["Revenue?"]
    code, out = shoplens(tmp_path, "audit", "--text", "select 1", "--json")
    assert [json.loads(line)["session"] for line in out.splitlines()] == ["s1"]
    code, out = shoplens(tmp_path, "audit", "--since", "2999-01-01")
    assert "no audit events match" in out


def test_ask_continues_the_last_conversation_and_writes_csv(
    shop,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`shoplens ask -c` is a follow-up in the last conversation (it survives between commands);
    `--csv` writes the table, spreadsheet-safe. The model is scripted: the command line is tested."""
    from contextlib import contextmanager

    from .test_agent_units import assistant, call

    calls = [
        call("query_metric", metric="orders"),
        call("query_metric", metric="orders", group_by=["category"]),
        call("query_metric", metric="revenue"),
    ]
    agent, model = assistant(shop, calls)

    @contextmanager
    def scripted(settings: Settings, progress: object = None):
        yield agent

    monkeypatch.setattr("assistant.agent.open_assistant", scripted)
    data = shop[0].data_dir
    code, out = shoplens(data, "ask", "How many orders were there?")
    assert code == 0 and out.startswith("Orders: "), out
    target = tmp_path / "by-category.csv"
    code, out = shoplens(data, "ask", "-c", "and by category?", "--csv", str(target))
    assert code == 0, out
    sent = str(model.calls[-1][0][-1].content)
    assert "Previous question: How many orders were there?" in sent  # the follow-up saw its turn
    assert target.read_text().startswith("category,orders\n") and len(target.read_text().splitlines()) > 2
    code, out = shoplens(data, "ask", "What was revenue?")  # no -c: a new conversation
    assert code == 0 and "Previous question" not in str(model.calls[-1][0][-1].content)
