"""`recent_activity`: what happened in the last hours, against the same hours of the days before,
with the live checks; anchored to the clock when the data is live, else to its newest event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.explain import result_facts
from assistant.grounding import ungrounded_numbers
from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from assistant.warehouse.load import load_into
from tools import ToolContext, build_tools
from tools.metrics import SemanticModel

HEADER = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n"


def line(at: datetime, kind: str, session: str, price: float = 10.0) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S} UTC,{kind},1001,1,electronics.audio,sony,{price},u{session},{session}\n"


def recent(settings: Settings, rows: list[str], tmp_path: Path, **arguments: int) -> object:
    path = tmp_path / "events.csv"
    path.write_text(HEADER + "".join(rows))
    load_into(settings, path)
    with Warehouse(settings, read_only=True) as warehouse:
        ctx = ToolContext.open(settings.with_overrides(min_group_size=1), warehouse)
        return build_tools(SemanticModel.load())["recent_activity"](ctx, arguments)


def test_the_last_hour_against_the_same_hour_of_the_days_before(settings: Settings, tmp_path: Path) -> None:
    base = datetime(2026, 6, 1, 12, 0)
    rows = [line(base - timedelta(minutes=50 - 10 * i), "view", "s0") for i in range(5)]
    rows.append(line(base, "purchase", "s0", price=20.0))
    for day in range(1, 8):
        at = base - timedelta(days=day, minutes=30)
        rows += [line(at, "view", f"s{day}"), line(at + timedelta(minutes=1), "view", f"s{day}")]
    rows.append(line(base - timedelta(days=3, minutes=20), "purchase", "s3", price=10.0))
    rows.append(line(base - timedelta(days=8), "view", "s8"))  # the data begins before the 7 days
    rows.append(line(base - timedelta(hours=3), "view", "s9"))  # today, outside the hour
    result = recent(settings, rows, tmp_path, hours=1)

    by_measure = {row[0]: row[1:] for row in result.rows}
    assert by_measure["events"] == (6, pytest.approx(15 / 7, abs=1e-4))
    assert by_measure["sessions"] == (1, 1)
    assert by_measure["revenue"] == (20, pytest.approx(10 / 7, abs=1e-4))
    assert by_measure["conversion rate"] == (1.0, pytest.approx(1 / 7, abs=1e-4))
    assert result.summary.startswith("In the last hour (2026-06-01 11:00 to 12:00): events 6, ")
    assert "The same hours on the 7 days before averaged events 2.14," in result.summary
    assert "conversion rate 14.3%" in result.summary
    assert "the data is not live" in result.notes[0]
    assert ungrounded_numbers(result.summary, result_facts(result)) == []
    assert result.zh is not None and result.zh.summary.startswith(
        "最近 1 小时（2026-06-01 11:00 至 12:00）：事件数 6"
    )


def test_days_before_the_data_began_are_not_counted_as_usual(settings: Settings, tmp_path: Path) -> None:
    base = datetime(2026, 6, 1, 12, 0)
    rows = [
        line(base - timedelta(minutes=5), "view", "s0"),
        line(base - timedelta(days=2, minutes=5), "view", "s2"),
    ]
    rows.append(line(base - timedelta(days=2, hours=2), "view", "s3"))  # the data's first event
    result = recent(settings, rows, tmp_path, hours=1)
    assert "The same hours on the 2 days before averaged events 0.5," in result.summary  # a silent day counts


def test_live_data_is_read_up_to_now_and_a_silence_is_an_outage(settings: Settings, tmp_path: Path) -> None:
    """Events every 2 minutes for 8 days, then 50 silent minutes up to now: the last hour holds
    the few events before the silence, and the live checks' outage is in the answer."""
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    at, rows = now - timedelta(days=8), []
    while at < now - timedelta(minutes=50):
        rows.append(line(at, "view", f"s{at:%d%H}"))
        at += timedelta(minutes=2)
    result = recent(settings, rows, tmp_path, hours=1)
    events_now, usual = result.rows[0][1:]
    assert 4 <= events_now <= 6 and usual == pytest.approx(30, abs=1)
    assert "ending now: events are arriving live" in result.notes[0]
    assert any(note.startswith("alert: ") and "No events from" in note for note in result.notes), result.notes
    assert "The live checks found no outage" not in result.summary
    assert ungrounded_numbers(result.summary, result_facts(result)) == []
    # Asked in Chinese, the alert is said in Chinese too, with the same figures.
    assert "没有任何事件（" in result.zh.summary and "No events" not in result.zh.summary, result.zh.summary
    assert ungrounded_numbers(result.zh.summary, result_facts(result)) == []
