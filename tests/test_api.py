"""The HTTP API: questions, follow-ups, kept conversations, server-sent steps and the API key; first
over a scripted model (FastAPI's test client), then as a program uses it: `shoplens api` running as
its own process over the real embedded model, called over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant.api import Conversations, create_app
from assistant.embeddings import Encoder
from assistant.llm.server import ManagedServer
from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from assistant.workspace import Workspace

from .conftest import DemoShops, free_port
from .test_agent_units import ENDPOINT, assistant, call, reference, shop  # noqa: F401  (shop: a fixture)


def api(shop, encoder: Encoder, replies: list[Any], key: str | None = None) -> TestClient:  # noqa: F811
    """The API over the shop, its assistant answering with the scripted model."""
    settings, _ = shop
    workspace = Workspace(settings.with_overrides(warehouse="shop"), ENDPOINT, encoder)
    workspace._assistants["shop"] = assistant(shop, replies)[0]
    return TestClient(create_app(workspace, key))


def events(response: httpx.Response) -> list[tuple[str, Any]]:
    """The server-sent events of a response, as (event, data) pairs."""
    found, name = [], None
    for line in response.text.splitlines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            found.append((name, json.loads(line.removeprefix("data: "))))
    return found


def test_a_question_and_its_follow_up_share_a_conversation(shop, encoder: Encoder) -> None:  # noqa: F811
    client = api(
        shop,
        encoder,
        [call("query_metric", metric="orders"), call("query_metric", metric="orders", group_by=["category"])],
    )
    orders = reference(shop, "SELECT count(*) FROM orders")
    first = client.post("/v1/ask", json={"question": "How many orders?"})
    assert first.status_code == 200
    body = first.json()
    assert body["dataset"] == "shop" and body["answer"]["kind"] == "answer"
    assert body["answer"]["text"] == f"Orders: {orders:,}."
    assert body["answer"]["table"]["rows"] == [[orders]] and "FROM" in body["answer"]["sql"]
    assert body["answer"]["interpretation"].startswith("Orders (orders: distinct orders)")
    key = body["conversation_id"]
    second = client.post("/v1/ask", json={"question": "and by category?", "conversation_id": key}).json()
    assert second["conversation_id"] == key and second["answer"]["table"]["columns"][0] == "category"
    kept = client.get(f"/v1/conversations/{key}").json()
    assert [t["question"] for t in kept["turns"]] == ["How many orders?", "and by category?"]
    assert kept["turns"][1]["call"]["arguments"]["group_by"] == ["category"]
    assert client.delete(f"/v1/conversations/{key}").status_code == 204
    gone = client.post("/v1/ask", json={"question": "and by country?", "conversation_id": key})
    assert gone.status_code == 404 and "no conversation" in gone.json()["detail"]


def test_the_stream_sends_each_step_before_the_answer(shop, encoder: Encoder) -> None:  # noqa: F811
    client = api(shop, encoder, [call("query_metric", metric="revenue", group_by=["category"])])
    response = client.post("/v1/ask/stream", json={"question": "Revenue by category?"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    found = events(response)
    assert [name for name, _ in found] == ["step", "answer"]
    assert found[0][1]["kind"] == "call" and found[0][1]["tool"] == "query_metric"
    assert found[0][1]["arguments"]["group_by"] == ["category"]
    answer = found[1][1]["answer"]
    assert answer["kind"] == "answer" and answer["text"].startswith("Highest revenue: ")
    assert found[1][1]["conversation_id"]


def test_a_key_is_asked_of_every_caller_but_the_health_check(shop, encoder: Encoder) -> None:  # noqa: F811
    client = api(shop, encoder, [call("query_metric", metric="orders")] * 2, key="s3cret-key")
    question = {"question": "How many orders?"}
    assert client.get("/v1/health").json()["status"] == "ok"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "s3cret-ke"}):
        refused = client.post("/v1/ask", json=question, headers=headers)
        assert refused.status_code == 401 and refused.json()["detail"] == "a valid API key is needed"
    assert client.get("/v1/datasets").status_code == 401
    assert (
        client.post("/v1/ask", json=question, headers={"Authorization": "Bearer s3cret-key"}).status_code
        == 200
    )
    assert client.post("/v1/ask", json=question, headers={"X-API-Key": "s3cret-key"}).status_code == 200
    schema = client.get("/openapi.json").json()  # the docs say how to authenticate
    assert {"/v1/ask", "/v1/ask/stream", "/v1/conversations/{conversation_id}"} <= set(schema["paths"])
    assert {"HTTPBearer", "APIKeyHeader"} <= set(schema["components"]["securitySchemes"])


def test_bad_requests_get_clear_errors(shop, encoder: Encoder) -> None:  # noqa: F811
    client = api(shop, encoder, [call("query_metric", metric="orders")])
    unknown = client.post("/v1/ask", json={"question": "Orders?", "dataset": "nope"})
    assert unknown.status_code == 404 and "there is no dataset 'nope'" in unknown.json()["detail"]
    assert client.post("/v1/ask", json={"question": ""}).status_code == 422
    assert client.post("/v1/ask", json={"question": "x" * 2001}).status_code == 422
    missing = client.get("/v1/conversations/abc")
    assert missing.status_code == 404 and "no conversation 'abc'" in missing.json()["detail"]
    key = client.post("/v1/ask", json={"question": "Orders?"}).json()["conversation_id"]
    moved = client.post("/v1/ask", json={"question": "and?", "conversation_id": key, "dataset": "other"})
    assert moved.status_code == 409 and "is on dataset 'shop'" in moved.json()["detail"]


def test_only_the_latest_conversations_are_kept() -> None:
    kept = Conversations(limit=2)
    first, _ = kept.start("shop")
    second, _ = kept.start("shop")
    kept.get(first)  # used again: now the newest
    kept.start("shop")
    assert kept.get(first)[0] == "shop"
    with pytest.raises(Exception, match="no conversation"):
        kept.get(second)


@pytest.mark.model  # the real engine with the default model
def test_the_api_server_answers_over_http(
    llama_server: ManagedServer, tmp_path: Path, demo_shops: DemoShops
) -> None:
    data = tmp_path / "data"
    demo_shops.copy(data, 20_000, seed=5)
    with Warehouse(Settings(data_dir=data)) as reader, reader.engine.connect() as conn:
        orders = conn.exec_driver_sql("SELECT count(*) FROM orders").scalar()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPLENS_")}
    env |= {
        "SHOPLENS_DATA_DIR": str(data),
        "SHOPLENS_LLM_PORT": str(llama_server.engine.port),
        "SHOPLENS_API_PORT": str(port),
        "SHOPLENS_API_KEY": "k-123",
        "SHOPLENS_MIN_GROUP_SIZE": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "api"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base, headers = f"http://127.0.0.1:{port}/v1", {"Authorization": "Bearer k-123"}
    try:
        deadline = time.monotonic() + 300
        while True:
            assert server.poll() is None, server.stdout.read().decode()
            try:
                if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the API did not come up"
            time.sleep(1)
        assert httpx.post(f"{base}/ask", json={"question": "How many orders?"}).status_code == 401
        first = httpx.post(
            f"{base}/ask", json={"question": "How many orders were there?"}, headers=headers, timeout=600
        ).json()
        assert first["answer"]["kind"] == "answer" and f"Orders: {orders:,}" in first["answer"]["text"]
        follow = {"question": "and by category?", "conversation_id": first["conversation_id"]}
        with httpx.stream(
            "POST", f"{base}/ask/stream", json=follow, headers=headers, timeout=600
        ) as response:
            lines = [line for line in response.iter_lines() if line.startswith("event: ")]
            assert response.headers["content-type"].startswith("text/event-stream")
        assert lines[0] == "event: step" and lines[-1] == "event: answer"
        kept = httpx.get(f"{base}/conversations/{first['conversation_id']}", headers=headers).json()
        assert len(kept["turns"]) == 2 and "category" in json.dumps(kept["turns"][1]["call"])
    finally:
        server.terminate()
        server.wait(timeout=30)
