"""The event collector (assistant/collector.py, assistant/warehouse/live.py): Segment track calls
become canonical rows with the loaders' checks, acknowledged events are visible to every kind of
query, retries are kept once, a collector killed with SIGKILL or out of disk loses nothing it
acknowledged, and bad requests get clear 4xx answers."""

from __future__ import annotations

import base64
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant.collector import CollectorLimits, CollectorRefused, create_app, live_ingest
from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from assistant.warehouse.fold import fold, into_warehouse
from assistant.warehouse.ingest import Ingest, StoreBusy
from assistant.warehouse.live import LiveStore, message_ids
from assistant.warehouse.tracking import Rejected, Sessions, event_rows
from tools.sql import run_isolated

from .conftest import DemoShops, free_port

NOW = datetime(2026, 12, 3, 12, 0, 0)


def view(message: str, user: str = "u1", **properties: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Product Viewed",
        "userId": user,
        "messageId": message,
        "timestamp": "2026-12-03T11:59:00Z",
        "properties": {"product_id": "p1", "price": 19.5, "category": "electronics", **properties},
    }


def order_completed(message: str, user: str, at: datetime, product: dict[str, Any]) -> dict[str, Any]:
    """A Segment "Order Completed" call of one product, its order id the message id."""
    return {
        "type": "track",
        "event": "Order Completed",
        "userId": user,
        "messageId": message,
        "timestamp": at.isoformat() + "Z",
        "properties": {"order_id": message, "products": [product]},
    }


def collected(settings: Settings, events: list[dict[str, Any]]) -> None:
    """`events` acknowledged and committed by a collector that then stops."""
    ingest = Ingest(LiveStore.of(settings))
    try:
        ingest.append(events)
        ingest.commit()
    finally:
        ingest.close()


def test_segment_calls_become_canonical_rows() -> None:
    sessions = Sessions()
    (row,) = event_rows(view("m1", brand="ACME"), NOW, sessions)
    assert row["event_type"] == "view" and row["product_id"] == "p1" and row["price"] == 19.5
    assert row["brand"] == "acme" and row["event_time"] == datetime(2026, 12, 3, 11, 59)
    assert row["source_dataset"] == "live" and row["quantity"] == 1
    order = {
        "event": "Order Completed",
        "userId": "u1",
        "timestamp": "2026-12-03T12:10:00+00:00",
        "properties": {
            "order_id": "o1",
            "products": [{"product_id": "p1", "price": 10}, {"sku": "p2", "quantity": 3}],
        },
    }
    lines = event_rows(order, NOW, sessions)
    assert [(r["event_type"], r["product_id"], r["quantity"], r["order_id"]) for r in lines] == [
        ("purchase", "p1", 1, "o1"),
        ("purchase", "p2", 3, "o1"),
    ]
    assert lines[0]["session_id"] == row["session_id"]  # 11 minutes later: the same visit
    later = event_rows(
        {**view("m2"), "timestamp": "2026-12-03T13:00:00Z"}, NOW + timedelta(hours=1), sessions
    )
    assert later[0]["session_id"] != row["session_id"]  # 50 minutes of quiet: a new visit
    search = event_rows(
        {"event": "Products Searched", "anonymousId": "a1", "properties": {"query": "red shoes"}},
        NOW,
        sessions,
    )
    assert search[0]["query_text"] == "red shoes" and search[0]["event_time"] == NOW  # no timestamp: receipt
    given = event_rows(view("m3", session_id="s-42"), NOW, sessions)
    assert given[0]["session_id"] == "s-42"
    # A late event (logged after a later one) does not move the visit's latest time back.
    remembered = Sessions()
    remembered.saw("u9", "s-1", NOW)
    remembered.saw("u9", "s-1", NOW - timedelta(minutes=20))
    assert remembered.last["u9"] == ("s-1", NOW) and remembered.of("u9", NOW + timedelta(minutes=25)) == "s-1"
    for event, reason in (
        ({**view("x"), "event": "Teleported"}, "unknown event_type 'Teleported'"),
        ({**view("x"), "userId": None}, "no userId or anonymousId"),
        (view("x", price=-3), "negative price"),
        (view("x", price="cheap"), "price is not a number: 'cheap'"),
        (view("x", price="nan"), "price is not a finite number"),
        ({**view("x"), "timestamp": "yesterday"}, "missing or unparseable event_time"),
        ({**view("x"), "timestamp": "2031-01-01T00:00:00Z"}, "event_time out of range"),
        (view("x", product_id=None), "no product_id for a view event"),
        ({**view("x"), "type": "identify"}, "only track calls are collected"),
        ("not an object", "an event must be a JSON object"),
    ):
        with pytest.raises(Rejected, match=reason):
            event_rows(event, NOW, Sessions())


@pytest.fixture
def shop(tmp_path: Path, demo_shops: DemoShops) -> Iterator[Settings]:
    settings = Settings(data_dir=tmp_path / "data", duckdb_memory_limit="1GB")
    demo_shops.copy(settings.data_dir, 20_000, seed=2)
    yield settings


def test_acknowledged_events_reach_every_query_once(shop: Settings) -> None:
    reader = Warehouse(shop, read_only=True)
    before = reader.scalar("SELECT count(*) FROM events")
    ingest = Ingest(LiveStore.of(shop))
    try:
        receipt = ingest.append([view("m1"), view("m2", user="u2"), {**view("m3"), "event": "Teleported"}])
        assert (receipt.accepted, receipt.rejected, receipt.duplicates) == (2, 1, 0)
        assert receipt.reasons == ["unknown event_type 'Teleported'"]
        again = ingest.append([view("m1"), view("m2", user="u2"), view("m4", user="u3")])
        assert (again.accepted, again.duplicates) == (1, 2)  # retries are acknowledged, kept once
        assert reader.scalar("SELECT count(*) FROM events") == before  # not committed yet
        assert ingest.commit() == 4
    finally:
        ingest.close()
    assert reader.scalar("SELECT count(*) FROM events") == before + 3
    assert reader.scalar("SELECT count(*) FROM sessions WHERE user_id IN ('u1', 'u2', 'u3')") == 3
    assert reader.scalar("SELECT reason FROM rejected_rows WHERE source_dataset = 'live'") == (
        "unknown event_type 'Teleported'"
    )
    # The model's free SQL runs in its own locked-down process: it sees them too, and no other file.
    reply = run_isolated(
        reader.duckdb_file, shop, "SELECT count(*) FROM events WHERE source_dataset = 'live'", 5
    )
    assert reply.rows == [(3,)]
    refused = run_isolated(reader.duckdb_file, shop, "SELECT * FROM read_csv('/etc/passwd')", 5)
    assert refused.error == "database" and "disabled by configuration" in refused.message
    # A restarted collector remembers what it kept: the same ids stay duplicates.
    restarted = Ingest(LiveStore.of(shop))
    try:
        assert restarted.append([view("m1"), view("m4", user="u3")]).duplicates == 2
    finally:
        restarted.close()
    reader.close()


def test_small_batches_are_merged_without_losing_or_doubling(shop: Settings) -> None:
    reader = Warehouse(shop, read_only=True)
    before = reader.scalar("SELECT count(*) FROM events")
    ingest = Ingest(LiveStore.of(shop))
    try:
        for n in range(40):
            ingest.append([view(f"m{n}-{i}", user=f"u{i}") for i in range(5)])
            ingest.commit()
            assert reader.scalar("SELECT count(*) FROM events") == before + 5 * (n + 1)
        assert len(ingest.manifest.batches) < 16
    finally:
        ingest.close()
    reader.close()


def test_bad_requests_get_clear_answers(shop: Settings) -> None:
    ingest = Ingest(LiveStore.of(shop))
    limits = CollectorLimits(max_request_bytes=20_000, events_per_second=100)
    client = TestClient(create_app(ingest, ["secret-key"], limits))
    basic = {"Authorization": "Basic " + base64.b64encode(b"secret-key:").decode()}
    try:
        assert client.post("/v1/batch", json={"batch": [view("m1")]}).status_code == 401
        wrong = client.post("/v1/batch", json={"batch": [view("m1")]}, headers={"X-Write-Key": "guess"})
        assert wrong.status_code == 401 and "write key" in wrong.json()["error"]
        ok = client.post("/v1/batch", json={"batch": [view("m1")]}, headers=basic)
        assert ok.status_code == 200 and ok.json()["accepted"] == 1
        bearer = client.post("/v1/track", json=view("m2"), headers={"Authorization": "Bearer secret-key"})
        assert bearer.status_code == 200 and bearer.json()["accepted"] == 1
        broken = client.post("/v1/batch", content=b'{"batch": [', headers=basic)
        assert broken.status_code == 400 and "not JSON" in broken.json()["error"]
        shapeless = client.post("/v1/batch", json=[view("m3")], headers=basic)
        assert shapeless.status_code == 400 and '{"batch"' in shapeless.json()["error"]
        huge = client.post("/v1/batch", json={"batch": [view(f"h{i}") for i in range(200)]}, headers=basic)
        assert huge.status_code == 413 and "larger than 19 KB" in huge.json()["error"]
        flood = [
            client.post("/v1/batch", json={"batch": [view(f"f{n}-{i}") for i in range(40)]}, headers=basic)
            for n in range(4)
        ]
        limited = [r for r in flood if r.status_code == 429]
        assert (
            limited
            and "events per second" in limited[0].json()["error"]
            and limited[0].headers["retry-after"]
        )
        assert client.get("/v1/health").json()["status"] == "ok"
    finally:
        ingest.close()


def _collector(settings: Settings, port: int, *, file_limit: int | None = None) -> subprocess.Popen:
    env = dict(os.environ, SHOPLENS_DATA_DIR=str(settings.data_dir), SHOPLENS_COLLECTOR_COMMIT_SECONDS="0.2")

    def limit_files() -> None:  # the OS refuses writes past this size: a disk that is full
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    process = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "collect", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=limit_files if file_limit else None,
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"collector did not start: {process.stderr.read().decode()[-2000:]}")


def _send(port: int, batches: list[list[dict]], acknowledged: set[str], stop: threading.Event) -> list[int]:
    codes = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        for events in batches:
            if stop.is_set():
                break
            try:
                reply = client.post("/v1/batch", json={"batch": events})
            except httpx.TransportError:
                break
            codes.append(reply.status_code)
            if reply.status_code == 200:
                acknowledged.update(e["messageId"] for e in events)
    return codes


def _until_committed(port: int, seconds: float) -> None:
    """Wait (up to `seconds`) until the collector has committed all it acknowledged."""
    deadline = time.monotonic() + seconds
    while httpx.get(f"http://127.0.0.1:{port}/v1/health").json()["pending"] and time.monotonic() < deadline:
        time.sleep(0.1)


def _kept(settings: Settings) -> list[str]:
    return message_ids(LiveStore.of(settings))


@pytest.mark.slow
def test_a_killed_collector_loses_and_doubles_nothing_it_acknowledged(shop: Settings) -> None:
    batches = [[view(f"k{n}-{i}", user=f"u{i % 50}") for i in range(200)] for n in range(150)]
    port = free_port()
    collector = _collector(shop, port)
    acknowledged: set[str] = set()
    stop = threading.Event()
    sender = threading.Thread(target=_send, args=(port, batches, acknowledged, stop))
    sender.start()
    while len(acknowledged) < 8_000:  # mid-stream: batches in flight, commits under way
        time.sleep(0.01)
    collector.send_signal(signal.SIGKILL)
    collector.wait()
    stop.set()
    sender.join()
    assert 8_000 <= len(acknowledged) < 30_000
    collector = _collector(shop, port)  # restarted: it replays its log past the last commit
    try:
        everything: set[str] = set()
        codes = _send(port, batches, everything, threading.Event())  # the sender retries all of it
        assert set(codes) == {200}
        _until_committed(port, seconds=30)
    finally:
        collector.send_signal(signal.SIGTERM)
        collector.wait(timeout=30)
    kept = _kept(shop)
    assert len(kept) == len(set(kept)) == 30_000  # every event once, none twice
    assert acknowledged <= set(kept)
    with Warehouse(shop, read_only=True) as reader:
        assert reader.scalar("SELECT count(*) FROM events WHERE source_dataset = 'live'") == 30_000


@pytest.mark.slow
def test_a_full_disk_refuses_new_events_and_keeps_the_acknowledged(shop: Settings) -> None:
    batches = [[view(f"d{n}-{i}") for i in range(100)] for n in range(200)]
    port = free_port()
    collector = _collector(shop, port, file_limit=400_000)
    acknowledged: set[str] = set()
    try:
        codes = _send(port, batches, acknowledged, threading.Event())
        assert 200 in codes and 507 in codes
        late = [view(f"late-{i}") for i in range(100)]
        refusal = httpx.post(f"http://127.0.0.1:{port}/v1/batch", json={"batch": late})
        assert refusal.status_code == 507
        assert "nothing in this request was kept" in refusal.json()["error"], refusal.text
    finally:
        collector.send_signal(signal.SIGKILL)
        collector.wait()
    collector = _collector(shop, port)  # room again: what was acknowledged is all there
    collector.send_signal(signal.SIGTERM)
    collector.wait(timeout=30)
    kept = _kept(shop)
    assert set(kept) == acknowledged and len(kept) == len(acknowledged)


def test_replay_sends_a_dataset_to_the_collector_once(shop: Settings) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    port = free_port()
    collector = _collector(shop, port)
    runner = CliRunner()
    try:
        args = ["--data-dir", str(shop.data_dir), "collect", "replay", "--url", f"http://127.0.0.1:{port}"]
        result = runner.invoke(app, [*args, "--limit", "3000", "--speedup", "1e9"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert (
            "sent 3,000 events" in result.output
            and "3,000 accepted, 0 rejected, 0 duplicates" in result.output
        )
        _until_committed(port, seconds=10)
    finally:
        collector.send_signal(signal.SIGTERM)
        collector.wait(timeout=30)
    with Warehouse(shop, read_only=True) as reader:
        first = reader.scalar(
            "SELECT count(*) FROM (SELECT * FROM events WHERE source_dataset != 'live' ORDER BY event_time LIMIT 3000)"
        )
        assert reader.scalar("SELECT count(*) FROM events WHERE source_dataset = 'live'") == first == 3000
        # The same behavior, moved to now: as many purchases and sessions as the original first 3,000.
        original = reader.scalar(
            "SELECT count(*) FILTER (event_type = 'purchase') FROM (SELECT * FROM events WHERE source_dataset != 'live'"
            " ORDER BY event_time LIMIT 3000)"
        )
        assert (
            reader.scalar(
                "SELECT count(*) FROM events WHERE source_dataset = 'live' AND event_type = 'purchase'"
            )
            == original
        )
    refused = runner.invoke(
        app, ["--data-dir", str(shop.data_dir), "collect", "serve"], env={"SHOPLENS_HOST": "0.0.0.0"}
    )
    assert refused.exit_code == 1 and "needs write keys: set SHOPLENS_COLLECTOR_KEYS" in refused.output


def test_the_assistant_answers_about_events_collected_after_it_started(shop: Settings) -> None:
    from assistant.agent import Assistant

    from .test_agent_units import ENDPOINT, ScriptedModel, call

    reader = Warehouse(shop, read_only=True)
    model = ScriptedModel(replies=[call("query_metric", metric="views", period={"kind": "today"})] * 2)
    agent = Assistant(shop, reader, model, ENDPOINT, encoder=None)
    before = agent.ask("How many views today?")
    last_day = agent.ctx.facts.last_day
    assert f"the data's last day ({last_day})" in before.interpretation, before.interpretation
    next_day = last_day + timedelta(days=1)
    stamp = f"{next_day}T10:00:00Z"
    collected(shop, [{**view(f"n{i}", user=f"u{i % 7}"), "timestamp": stamp} for i in range(40)])
    after = agent.ask("How many views today?")  # the same assistant: the day moved with the data
    assert f"the data's last day ({next_day})" in after.interpretation, after.interpretation
    assert after.table.rows[0][0] == 40 and str(next_day) in agent.system_prompt
    reader.close()


def test_the_apps_dataset_counts_follow_live_events(shop: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The status line's counts (Workspace.info) were read once and kept: a collector's events
    never showed. They are read again once live events were committed, at most every 30 s."""
    from assistant import workspace as workspace_module
    from assistant.workspace import Workspace

    from .test_agent_units import ENDPOINT

    with Workspace(shop, ENDPOINT, encoder=None) as ws:
        dataset = ws.default_dataset
        events = next(t.rows for t in ws.info(dataset).tables if t.name == "events")
        collected(ws.settings_for(dataset), [{**view(f"w{i}", user="u1")} for i in range(25)])
        # Within the 30 s: the counts kept (a busy collector commits twice a second).
        assert next(t.rows for t in ws.info(dataset).tables if t.name == "events") == events
        monkeypatch.setattr(workspace_module, "LIVE_INFO_SECONDS", 0.0)
        assert next(t.rows for t in ws.info(dataset).tables if t.name == "events") == events + 25


def test_a_shopper_on_the_site_now_is_scored_for_buying_in_this_visit(shop: Settings) -> None:
    from tools.base import ToolContext
    from tools.intent import PredictIntentArgs, predict_intent

    reader = Warehouse(shop, read_only=True)
    newest = reader.scalar("SELECT max(event_time) FROM events")
    buyer = reader.scalar(
        "SELECT user_id FROM events WHERE event_type = 'purchase' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    )
    steps = [
        ("Product Viewed", "p1"),
        ("Product Viewed", "p2"),
        ("Product Added", "p2"),
        ("Product Viewed", "p3"),
    ]
    collected(
        shop,
        [
            {
                **view(f"v{i}", user=buyer, session_id="live-visit-1"),
                "event": name,
                "timestamp": (newest + timedelta(minutes=5 + i)).isoformat() + "Z",
                "properties": {"product_id": product, "price": 30.0, "session_id": "live-visit-1"},
            }
            for i, (name, product) in enumerate(steps)
        ],
    )
    ctx = ToolContext.open(shop, reader)  # the data's newest event is now the live visit's
    result = predict_intent(ctx, PredictIntentArgs(outcome="buy_this_visit", k=100))
    row = next(r for r in result.rows if r[0] == "live-visit-1")
    columns = dict(zip(result.columns, row, strict=True))
    assert columns["user_id"] == buyer and columns["events_so_far"] == 4 and columns["carts"] == 1
    assert columns["earlier_orders"] >= 1 and 0 < columns["probability"] < 1
    reader.close()


def test_live_checks_raise_an_outage_and_a_conversion_drop(tmp_path: Path, demo_shops: DemoShops) -> None:
    from tools.base import ToolContext
    from tools.live_checks import live_alerts

    settings = Settings(data_dir=tmp_path / "data", duckdb_memory_limit="1GB")
    demo_shops.copy(settings.data_dir, 300_000, seed=7)
    reader = Warehouse(settings, read_only=True)
    ctx = ToolContext.open(settings, reader)
    last = ctx.facts.last_event
    evening = last.replace(hour=20, minute=0, second=0, microsecond=0)
    assert live_alerts(ctx, evening) == []  # an ordinary evening: nothing to say
    # The collector hears nothing for 45 minutes after midnight, when about 30 events are usual.
    (outage,) = live_alerts(ctx, last + timedelta(minutes=45))
    assert outage.kind == "outage" and outage.expected >= 10 and outage.chance < 1e-4
    assert outage.message.startswith(f"No events from {last:%Y-%m-%d %H:%M} to ")
    # Three hours of 200 live visits the next evening that view and never buy: conversion is down.
    start = evening + timedelta(days=1)
    collected(
        settings,
        [
            {
                **view(f"c{i}", user=f"live{i}"),
                "timestamp": (start + timedelta(seconds=17 * i)).isoformat() + "Z",
            }
            for i in range(200)
        ],
    )
    ctx = ToolContext.open(settings, reader)
    drops = [a for a in live_alerts(ctx, start + timedelta(hours=3)) if a.kind == "conversion_drop"]
    assert len(drops) == 1 and drops[0].observed == 0 and drops[0].expected > 0.05
    assert "(0 of 200 visits bought)" in drops[0].message
    reader.close()
    from typer.testing import CliRunner

    from assistant.cli import app

    base = ["--data-dir", str(settings.data_dir), "collect", "alerts", "--at"]
    quiet = CliRunner().invoke(app, [*base, evening.isoformat()], env={"COLUMNS": "200"})
    assert quiet.exit_code == 0 and "no alerts as of" in quiet.output
    alarmed = CliRunner().invoke(
        app, [*base, (start + timedelta(hours=1)).isoformat()], env={"COLUMNS": "200"}
    )
    assert alarmed.exit_code == 2 and "conversion_drop: Conversion from" in alarmed.output


def test_a_drop_on_one_device_is_an_alert_when_the_shop_as_a_whole_held(
    tmp_path: Path, demo_shops: DemoShops
) -> None:
    """Three hours of live visits the evening after the demo: mobile visitors view and never buy
    (a checkout broken on mobile), desktop visitors buy more than usual (the demo's own desktop
    checkout failed its last week, so desktop's usual is 0). The shop's total holds; the mobile
    drop is raised, on mobile alone, and once by the watcher."""
    from assistant.watch import Watcher
    from tools.base import ToolContext
    from tools.live_checks import conversion_drops

    settings = Settings(data_dir=tmp_path / "data", duckdb_memory_limit="1GB")
    demo_shops.copy(settings.data_dir, 300_000, seed=7)
    reader = Warehouse(settings, read_only=True)
    ctx = ToolContext.open(settings, reader)

    def users(device: str, n: int) -> list[str]:
        sql = "SELECT user_id FROM users WHERE attributes->>'device' = $d ORDER BY user_id LIMIT $n"
        return [r[0] for r in ctx.rows(sql, d=device, n=n)]

    start = ctx.facts.last_event.replace(hour=18, minute=0, second=0, microsecond=0) + timedelta(days=1)
    events = []
    for i, user in enumerate(users("mobile", 150) + users("desktop", 200)):
        at = start + timedelta(seconds=30 * i)
        stamp = at.isoformat() + "Z"
        events.append({**view(f"v{i}", user=user), "timestamp": stamp, "properties": {"product_id": "p1"}})
        if i >= 150 and i % 5 == 0:  # a fifth of the desktop visits buy
            events.append(
                order_completed(f"o{i}", user, at + timedelta(seconds=20), {"product_id": "p1", "price": 10})
            )
    collected(settings, events)
    now = start + timedelta(hours=3)
    ctx = ToolContext.open(settings, reader)
    (drop,) = conversion_drops(ctx, now)
    assert drop.group == "device = mobile" and drop.observed == 0 and drop.expected > 0.05
    assert drop.message.startswith("Conversion on device mobile from ") and "(0 of " in drop.message
    assert drop.chance < 1e-4
    reader.close()
    watcher = Watcher(settings.model_copy(update={"audit_log": False}))
    assert [a.group for a in watcher.check(now)] == ["device = mobile"]
    assert watcher.check(now + timedelta(minutes=5)) == []  # the same drop, not raised again


def test_a_drop_in_one_category_is_an_alert_when_the_shop_as_a_whole_held(
    tmp_path: Path, demo_shops: DemoShops
) -> None:
    """Three hours of live visits the evening after the demo: visits to electronics view and never
    buy there (its product pages broken), visits to books buy more than usual. The shop's total
    holds; the drop is raised for electronics alone."""
    from tools.base import ToolContext
    from tools.live_checks import conversion_drops

    settings = Settings(data_dir=tmp_path / "data", duckdb_memory_limit="1GB")
    demo_shops.copy(settings.data_dir, 300_000, seed=7)
    reader = Warehouse(settings, read_only=True)
    ctx = ToolContext.open(settings, reader)
    users = [r[0] for r in ctx.rows("SELECT user_id FROM users ORDER BY user_id LIMIT 350")]
    start = ctx.facts.last_event.replace(hour=18, minute=0, second=0, microsecond=0) + timedelta(days=1)
    events = []
    for i, user in enumerate(users):
        at = start + timedelta(seconds=30 * i)
        category = "electronics" if i % 7 < 3 else "books"  # the two mixed through the evening
        events.append(
            {
                **view(f"v{i}", user=user, product_id=f"p-{category}", category=category),
                "timestamp": at.isoformat() + "Z",
            }
        )
        if category == "books" and i % 5 == 0:
            book = {"product_id": "p-books", "category": "books", "price": 10}
            events.append(order_completed(f"o{i}", user, at + timedelta(seconds=20), book))
    collected(settings, events)
    ctx = ToolContext.open(settings, reader)
    (drop,) = conversion_drops(ctx, start + timedelta(hours=3))
    assert drop.group == "category = electronics" and drop.observed == 0 and drop.expected > 0.05
    assert drop.message.startswith("Conversion on category electronics from ")
    assert drop.message_zh.startswith("类目 electronics 的转化率在 ") and "（" in drop.message_zh
    reader.close()


def test_the_watcher_raises_each_alert_once_everywhere(tmp_path: Path, demo_shops: DemoShops) -> None:
    import json
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from assistant.watch import Watcher, raised_alerts

    posted: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
            posted.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    hook = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    settings = Settings(
        data_dir=tmp_path / "data",
        duckdb_memory_limit="1GB",
        alert_webhook=f"http://127.0.0.1:{hook.server_port}/alerts",
    )
    demo_shops.copy(settings.data_dir, 300_000, seed=7)
    with Warehouse(settings, read_only=True) as reader:
        last = reader.scalar("SELECT max(event_time) FROM events")
    watcher = Watcher(settings)
    (alert,) = watcher.check(last + timedelta(minutes=45))
    assert alert.kind == "outage" and watcher.check(last + timedelta(minutes=50)) == []  # raised once
    assert [a.start for a in raised_alerts(settings)] == [alert.start]
    assert posted and posted[0]["kind"] == "outage" and posted[0]["message"] == alert.message
    audit = (settings.data_dir / "audit.jsonl").read_text()
    assert '"kind":"alert"' in audit and "No events from" in audit
    assert Watcher(settings).check(last + timedelta(minutes=55)) == []  # a restarted watcher remembers
    # A conversion drop is measured afresh each time: while its stretch overlaps one raised, it is that one.
    from tools.live_checks import Alert

    def drop(start: datetime, end: datetime) -> Alert:
        return Alert(
            kind="conversion_drop", start=start, end=end, observed=0, expected=0.1, chance=1e-6, message="…"
        )

    first = drop(last, last + timedelta(hours=2))
    assert not watcher._seen(first)
    watcher._raise(first)
    assert watcher._seen(drop(last + timedelta(minutes=5), last + timedelta(hours=2, minutes=5)))
    assert not watcher._seen(drop(last + timedelta(hours=3), last + timedelta(hours=5)))
    hook.shutdown()


@pytest.mark.slow
def test_a_replay_with_a_planted_outage_and_conversion_drop_raises_both(
    tmp_path: Path, demo_shops: DemoShops
) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    settings = Settings(data_dir=tmp_path / "data", duckdb_memory_limit="1GB")
    demo_shops.copy(settings.data_dir, 300_000, seed=7)
    port = free_port()
    collector = _collector(settings, port)
    # The last 8 days, spaced as they were and ending yesterday evening (busy hours, well past).
    end = (datetime.now() - timedelta(days=1)).replace(hour=21, minute=30, second=0, microsecond=0)
    runner = CliRunner()
    base = ["--data-dir", str(settings.data_dir), "collect"]
    try:
        replayed = runner.invoke(
            app,
            [
                *base,
                "replay",
                "--url",
                f"http://127.0.0.1:{port}",
                "--keep-times",
                "--last-days",
                "8",
                "--plant-outage",
                "45",
                "--plant-conversion-drop",
                "--speedup",
                "1e9",
                "--end-at",
                end.isoformat(),
            ],
            env={"COLUMNS": "200"},
        )
        assert replayed.exit_code == 0 and ", 0 rejected, 0 duplicates" in replayed.output, replayed.output
        _until_committed(port, seconds=30)
    finally:
        collector.send_signal(signal.SIGTERM)
        collector.wait(timeout=30)
    checked = runner.invoke(app, [*base, "alerts", "--at", end.isoformat()], env={"COLUMNS": "250"})
    assert checked.exit_code == 2, checked.output
    # The silence runs from the last event before the planted 45 minutes to the first after them.
    quiet_end = end - timedelta(minutes=90)
    assert f"outage: No events from {quiet_end:%Y-%m-%d} " in checked.output
    assert f" to {quiet_end:%H:%M} (45 minutes)" in checked.output.replace("\n", " ")
    assert "conversion_drop: Conversion from" in checked.output


def _counts(settings: Settings) -> tuple[int, int]:
    """Live events as the app's queries and the model's isolated free SQL see them."""
    with Warehouse(settings, read_only=True) as reader:
        seen = reader.scalar("SELECT count(*) FROM events WHERE source_dataset = 'live'")
        isolated = run_isolated(
            reader.duckdb_file, settings, "SELECT count(*) FROM events WHERE source_dataset = 'live'", 5
        )
    return seen, isolated.rows[0][0]


def test_folding_moves_live_events_into_the_tables_once(shop: Settings) -> None:
    before = _counts(shop)
    ingest = Ingest(LiveStore.of(shop), fold=into_warehouse(shop))
    try:
        ingest.append([view(f"f{i}", user=f"fresh{i % 3}", product_id="p-new", price=7.5) for i in range(30)])
        ingest.append([{**view("bad"), "event": "Teleported"}])
        ingest.commit()
        assert _counts(shop) == (before[0] + 30, before[1] + 30)
        report = ingest.fold_now()
        assert report is not None
        assert (report.batches, report.events, report.rejected, report.products, report.users) == (
            2,
            30,
            1,
            1,
            3,
        )
        assert [b.kind for b in ingest.manifest.batches] == ["ids"]  # nothing left to read beside the tables
        assert ingest.health().folded == 30
        assert ingest.fold_now() is None
        # Retries of folded events are still duplicates, in this collector and a restarted one.
        assert ingest.append([view("f1", user="fresh1")]).duplicates == 1
    finally:
        ingest.close()
    assert _counts(shop) == (before[0] + 30, before[1] + 30)
    assert not LiveStore.of(shop).intent_path.exists()
    restarted = Ingest(LiveStore.of(shop))
    try:
        assert restarted.append([view("f2", user="fresh2")]).duplicates == 1
    finally:
        restarted.close()
    with Warehouse(shop, read_only=True) as reader:
        # A product and users first seen live got catalog rows, so joins and segments see them.
        assert (
            reader.scalar("SELECT category || ' ' || price FROM products WHERE product_id = 'p-new'")
            == "electronics 7.5"
        )
        assert reader.scalar("SELECT count(*) FROM users WHERE user_id LIKE 'fresh%'") == 3
        assert reader.scalar("SELECT rows_loaded FROM loads WHERE source_dataset = 'live'") == 30
        (load,) = [load for load in reader.info().loads if load.source_dataset == "live"]  # data info
        assert (load.format, load.rows_rejected, load.products_loaded, load.users_loaded) == (
            "collector",
            1,
            1,
            3,
        )
        assert reader.scalar("SELECT count(*) FROM rejected_rows WHERE source_dataset = 'live'") == 1


def test_a_fold_stopped_after_the_warehouse_commit_doubles_nothing(shop: Settings) -> None:
    """A crash between the warehouse's commit and the manifest's: the batches are in both places
    until the next fold; queries count them once, merges leave them alone, the next fold ends it."""
    ingest = Ingest(LiveStore.of(shop))
    for n in range(3):
        ingest.append([view(f"c{n}-{i}", user=f"u{i}") for i in range(10)])
        ingest.commit()
    ingest.close()
    store = LiveStore.of(shop)
    manifest = store.manifest()
    with Warehouse(shop) as writer:  # the fold's transaction commits; the collector dies here
        fold(writer, store, manifest.store_id, manifest.batches)
    assert store.intent_path.exists() and len(store.manifest().files("events")) == 3
    assert _counts(shop) == (30, 30)
    restarted = Ingest(LiveStore.of(shop), fold=into_warehouse(shop))
    try:
        for n in range(20):  # enough small batches to merge: the three folded ones stay out of it
            restarted.append([view(f"m{n}", user="u1")])
            restarted.commit()
        assert {b.name for b in manifest.batches} <= {b.name for b in restarted.manifest.batches}
        assert _counts(shop) == (50, 50)
        report = restarted.fold_now()
        assert report is not None and report.events == 20  # the three were folded already
    finally:
        restarted.close()
    assert not store.intent_path.exists()
    assert _counts(shop) == (50, 50)


def test_one_collector_per_dataset(shop: Settings) -> None:
    first = Ingest(LiveStore.of(shop))
    try:
        with pytest.raises(StoreBusy, match="another collector is running"):
            Ingest(LiveStore.of(shop))
    finally:
        first.close()
    Ingest(LiveStore.of(shop)).close()  # free again once the first has stopped


def test_the_collector_folds_by_itself_while_no_one_has_the_file_open(shop: Settings) -> None:
    settings = shop.model_copy(update={"collector_fold_minutes": 0.001})
    ingest = live_ingest(settings).start()
    try:
        ingest.append([view(f"a{i}") for i in range(5)])
        deadline = time.monotonic() + 20
        while ingest.health().folded < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ingest.health().folded == 5
    finally:
        ingest.close()
    assert _counts(settings) == (5, 5)


def test_collect_fold_on_the_command_line(shop: Settings) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    collected(shop, [view(f"cli{i}") for i in range(4)])  # 4 events in a batch
    env = {"SHOPLENS_DATA_DIR": str(shop.data_dir)}
    with Warehouse(shop, read_only=True) as reader:
        reader.scalar("SELECT 1")  # another program has the file open: the fold says so
        busy = CliRunner().invoke(app, ["collect", "fold"], env=env)
    assert busy.exit_code == 1 and "could not fold the live events" in busy.output, busy.output
    done = CliRunner().invoke(app, ["collect", "fold"], env=env)
    assert done.exit_code == 0 and "folded 4 events" in done.output, done.output
    assert _counts(shop) == (4, 4)
    assert "no live events waiting" in CliRunner().invoke(app, ["collect", "fold"], env=env).output


def test_a_collector_on_spark_is_refused_with_the_reason(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="hive://127.0.0.1:1/default")
    with pytest.raises(CollectorRefused, match="cannot be collected into Spark SQL"):
        live_ingest(settings)


def test_the_app_folds_the_collectors_batches_while_it_has_the_dataset_open(shop: Settings) -> None:
    """`launch.py --collect`: the app's process holds the DuckDB file, so its workspace folds (its
    own connections closed for the write); questions after it see the same events, once."""
    from assistant.workspace import Workspace
    from tools.base import ToolContext

    from .test_agent_units import ENDPOINT

    with Workspace(shop, ENDPOINT, encoder=None) as ws:
        live = "SELECT count(*) FROM events WHERE source_dataset = 'live'"
        assert ws.assistant(ws.default_dataset).ctx.warehouse.scalar(live) == 0
        ingest = Ingest(LiveStore.of(shop), fold=into_warehouse(shop))
        try:
            ingest.append([view(f"app{i}", user=f"u{i}") for i in range(12)])
            ingest.commit()
            assert ws.assistant(ws.default_dataset).ctx.warehouse.scalar(live) == 12
            with pytest.raises(Exception, match="(?i)lock|configuration"):
                ingest.fold_now()  # a writer of its own cannot open the file the app holds
            assert not LiveStore.of(shop).intent_path.exists()  # refused before it began
            ingest.fold = ws.fold_live
            assert ingest.fold_now().events == 12
        finally:
            ingest.close()
        ctx: ToolContext = ws.assistant(ws.default_dataset).ctx
        assert ctx.warehouse.scalar(live) == 12
        assert ctx.warehouse.scalar("SELECT count(*) FROM live_folds") == 1
