"""ShopLens as a client of any OpenAI-compatible server (`--engine external --llm-url`).

What the server supports for constrained output is probed, not assumed: small HTTP servers that
answer as real ones do (the OpenAI json_schema form; only llama.cpp's json_object + schema, with
llama-cpp-python's HTTP 500 for json_schema; no constraint at all; a required API key) are each
probed and then asked a question through the agent; and the real llama-cpp-python server that
ShopLens ships is used as an external one, end to end, with the real model.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from assistant.agent import Assistant
from assistant.llm.engines import Capabilities, EngineUnavailable, ExternalEngine, probe
from assistant.llm.server import ManagedServer

from .conftest import free_port
from .test_agent_units import shop  # noqa: F401  (shop is a fixture)

CALL = {"tool": "query_metric", "arguments": {"metric": "orders"}}


def serve(modes: set[str], key: str | None = None) -> tuple[str, list[dict], ThreadingHTTPServer]:
    """A chat-completions server that accepts the response_format types in `modes` ("none": a
    request without one) and, when given, only requests with `key`. It answers the probe's
    question with its JSON, and anything else with a query_metric call. Records each request."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append({"auth": self.headers.get("Authorization"), **request})
            if key and self.headers.get("Authorization") != f"Bearer {key}":
                return self._reply(401, {"error": {"message": "invalid api key"}})
            kind = (request.get("response_format") or {}).get("type", "none")
            if kind not in modes:  # llama-cpp-python's server, asked for json_schema
                return self._reply(500, {"error": {"message": "Input should be 'text' or 'json_object'"}})
            asked = request["messages"][-1]["content"]
            content = json.dumps({"answer": 5} if "2 + 3" in asked else CALL)
            self._reply(
                200,
                {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": request["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                },
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/v1", seen, server


@pytest.mark.parametrize(
    ("modes", "expected"),
    [
        ({"json_schema", "json_object", "none"}, "json_schema"),  # vLLM, OpenAI
        ({"json_object", "none"}, "json_object"),  # llama-cpp-python's server
        ({"none"}, "none"),  # a server that constrains nothing
    ],
)
def test_the_probe_finds_what_the_server_supports_and_the_agent_uses_it(
    shop,  # noqa: F811
    modes: set[str],
    expected: str,
) -> None:
    url, seen, server = serve(modes)
    try:
        settings, warehouse = shop
        external = settings.with_overrides(engine="external", llm_url=url, llm_model="served")
        endpoint = ExternalEngine(external).endpoint()
        assert endpoint.capabilities.schema_format == expected
        assistant = Assistant.on_endpoint(external, warehouse, endpoint, encoder=None)
        answer = assistant.ask("How many orders were there?")
        assert answer.kind == "answer" and answer.text.startswith("Orders: "), answer.text
        asked = seen[-1].get("response_format")
        assert (asked or {}).get("type", "none") == expected  # the question went in the probed form
    finally:
        server.shutdown()


def test_a_key_is_sent_and_a_refusal_is_said_plainly(shop) -> None:  # noqa: F811
    url, seen, server = serve({"json_schema", "json_object", "none"}, key="s3cret")
    try:
        with pytest.raises(
            EngineUnavailable, match=r"refused the request \(HTTP 401\).*SHOPLENS_LLM_API_KEY"
        ):
            probe(url, "served", None)
        settings, warehouse = shop
        keyed = settings.with_overrides(engine="external", llm_url=url, llm_api_key="s3cret")
        endpoint = ExternalEngine(keyed).endpoint()
        assert "s3cret" not in repr(endpoint)  # a secret, never printed
        assistant = Assistant.on_endpoint(keyed, warehouse, endpoint, encoder=None)
        assert assistant.ask("How many orders?").kind == "answer"
        assert seen[-1]["auth"] == "Bearer s3cret"
    finally:
        server.shutdown()


def test_a_server_error_is_reported_as_a_refusal_not_as_silence(shop) -> None:  # noqa: F811
    url, _, server = serve({"json_object", "none"})
    try:
        settings, warehouse = shop
        external = settings.with_overrides(engine="external", llm_url=url)
        probed = ExternalEngine(external).endpoint()
        # As before probing: json_schema sent to a server that takes only json_object.
        endpoint = probed.model_copy(update={"capabilities": Capabilities(schema_format="json_schema")})
        answer = Assistant.on_endpoint(external, warehouse, endpoint, encoder=None).ask("How many orders?")
        assert answer.kind == "error"
        assert (
            answer.text.startswith("The model server refused the request (HTTP 500)")
            and "json_object" in answer.text
        )
    finally:
        server.shutdown()


def test_no_server_or_no_such_model_is_a_clear_error() -> None:
    with pytest.raises(EngineUnavailable, match="no OpenAI-compatible server answers at"):
        probe(f"http://127.0.0.1:{free_port()}/v1", "served", None, timeout=2)


@pytest.mark.model
def test_the_shipped_llama_server_as_an_external_one(shop, llama_server: ManagedServer) -> None:  # noqa: F811
    """The issue's case: --engine external pointed at a llama-cpp-python server failed on the
    first question (it sent json_schema). Probed, it gets json_object and answers right."""
    settings, warehouse = shop
    external = settings.with_overrides(
        engine="external",
        llm_url=llama_server.endpoint.base_url,
        llm_model=llama_server.endpoint.model,
    )
    endpoint = ExternalEngine(external).endpoint()
    assert endpoint.capabilities.schema_format == "json_object"
    answer = Assistant.on_endpoint(external, warehouse, endpoint, encoder=None).ask(
        "How many orders were there?"
    )
    with warehouse.engine.connect() as conn:
        orders = conn.exec_driver_sql("SELECT count(*) FROM orders").scalar()
    assert answer.kind == "answer" and f"{orders:,}" in answer.text, answer.text
