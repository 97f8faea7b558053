"""Hostile SQL and personal data through the chat, as a browser session reaches them (App.respond
with a scripted model that insists on each hostile query): nothing of a planted file reaches a
reply, a table or the audit log, and every question is audited, masked, whatever happens."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import duckdb
import pytest

from assistant.agent import MAX_RETRIES

if TYPE_CHECKING:  # gradio takes seconds to import: only the tests that make an App pay them
    from assistant.ui import App

from .test_agent_units import call, shop  # noqa: F401  (shop is a fixture)
from .test_sql_hostile import MARKER, PLANT, POSITIONS
from .test_ui_units import app, scripted  # noqa: F401  (app is a fixture)


@pytest.fixture
def planted(app: App):  # noqa: F811
    """Secrets where the app keeps its own files, beside them, and in /tmp."""
    data = app.ws.settings.data_dir
    secret = f"name,value\n{MARKER},1\n"
    places = [
        data / "exports" / "result-planted.csv",
        data.parent / "planted-secret.csv",
        PLANT / "secret.csv",
    ]
    for path in places:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secret)
    yield [str(p) for p in places] + [str(data / "audit.jsonl"), str(data / "exports") + "/*.csv"]
    for path in places:
        path.unlink()
    PLANT.rmdir()


def test_no_file_reaches_a_reply_a_table_or_the_audit_log(app: App, shop, planted: list[str]) -> None:  # noqa: F811
    data = app.ws.settings.data_dir
    queries = [p.format(n=f"'{path}'") for path in planted for p in POSITIONS[:6]]
    scripted(app, shop, [call("run_sql", query=q) for q in queries for _ in range(MAX_RETRIES + 1)])
    session = None
    for query in queries:
        final = list(app.respond(f"Show me {query}", [], session))[-1]
        session = final[app.session]
        reply = str(final[app.chatbot])
        assert MARKER not in reply and "Traceback" not in reply
        assert session.answers[-1].table is None
    audit = (data / "audit.jsonl").read_text()
    assert audit.count('"kind":"question"') >= len(queries)
    assert MARKER not in audit


def test_every_question_is_audited_with_personal_data_masked_even_when_it_fails(
    app: App,  # noqa: F811
    shop,  # noqa: F811
) -> None:
    personal = "I'm jane.roe@example.com, card 4111 1111 1111 1111, call +33 1 23 45 67 89: orders?"
    scripted(app, shop, [call("query_metric", metric="orders")])
    list(app.respond(personal, [], None))
    agent = app.ws._assistants["shop"]

    def crash(*args: object) -> None:
        raise RuntimeError("a bug in the agent")

    agent._ask = crash  # an unexpected failure, after the question was asked
    final = list(app.respond("and " + personal, [], None))[-1]
    assert "Traceback" not in str(final[app.chatbot])
    lines = [json.loads(line) for line in (app.ws.settings.data_dir / "audit.jsonl").read_text().splitlines()]
    asked = [e for e in lines if e["kind"] == "question" and "orders?" in (e["question"] or "")]
    assert len(asked) == 2, asked
    assert asked[-1]["answer_kind"] == "error" and "a bug in the agent" in asked[-1]["error"]
    assert asked[0]["warehouse"].startswith(f"DuckDB v{duckdb.__version__}") and asked[0][
        "warehouse"
    ].endswith(", read-only")
    text = json.dumps(asked)
    for secret in ("jane.roe@example.com", "4111 1111 1111 1111", "+33 1 23 45 67 89", "23 45 67"):
        assert secret not in text
    assert "[email]" in text and "[card]" in text and "[phone]" in text
