"""The app's parts without a browser: charts, follow-up suggestions, the shared workspace (datasets,
loads) and the chat handler's stream, driven by a scripted model."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pydantic import ValidationError

from assistant.agent import MAX_RETRIES, PromptRead
from assistant.answer import Answer, Table, ToolCall
from assistant.charts import figure, infer_chart
from assistant.embeddings import Encoder
from assistant.followups import suggest
from assistant.settings import Settings
from assistant.ui.session import ChatSession
from assistant.warehouse import schema
from assistant.warehouse.load import LoadError
from assistant.workspace import Workspace, dataset_name
from tools import build_tools
from tools.base import ChartSpec, ToolError
from tools.metrics import SemanticModel

if TYPE_CHECKING:  # gradio takes seconds to import: only the tests that make an App pay them
    from assistant.ui import App

from .conftest import real
from .test_agent_units import ENDPOINT, assistant, call, shop  # noqa: F401  (shop is a fixture)
from .test_sql_guard import HOSTILE

# ---------------------------------------------------------------- charts


def test_a_chart_is_chosen_from_the_shape_of_a_table() -> None:
    days = [[date(2026, 10, d), 10.0 * d, 3] for d in (3, 1, 2)]
    spec = infer_chart(["day", "revenue", "orders"], days)
    assert spec.kind == "line" and spec.x == "day" and spec.y == ["revenue", "orders"]
    assert infer_chart(["category", "revenue"], [["books", 5.0], ["toys", 7.0]]).kind == "bar"
    assert infer_chart(["revenue"], [[5.0]]) is None  # one number: nothing to draw
    assert infer_chart(["category", "revenue"], [["books", 5.0]]) is None
    assert infer_chart(["user", "name"], [["1", "a"], ["2", "b"]]) is None  # no numbers
    many = [[f"c{i}", float(i)] for i in range(100)]
    assert infer_chart(["category", "revenue"], many) is None  # a table reads better


def test_a_line_chart_follows_time_whatever_the_row_order() -> None:
    rows = [[date(2026, 10, d), float(d)] for d in (3, 1, 2)]
    fig = figure(ChartSpec(kind="line", x="day", y=["revenue"]), ["day", "revenue"], rows)
    assert list(fig.data[0].x) == [date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)]
    assert list(fig.data[0].y) == [1.0, 2.0, 3.0]


def test_series_become_traces_and_funnels_draw_as_funnels() -> None:
    rows = [["view", "mobile", 100], ["cart", "mobile", 20], ["view", "desktop", 80], ["cart", "desktop", 30]]
    fig = figure(
        ChartSpec(kind="funnel", x="step", y=["sessions"], series="device"),
        ["step", "device", "sessions"],
        rows,
    )
    assert [t.type for t in fig.data] == ["funnel", "funnel"] and {t.name for t in fig.data} == {
        "mobile",
        "desktop",
    }
    assert (
        figure(ChartSpec(kind="bar", x="missing", y=["sessions"]), ["step", "sessions"], [["a", 1]]) is None
    )
    assert figure(None, ["revenue"], [[1.0]]) is None


def test_a_chart_with_its_own_series_a_marked_period_and_a_panel_below() -> None:
    """explain_change's chart: the weekly series from the spec's own figures with the changed
    weeks shaded, above the bars of the result's table."""
    weeks = [(date(2026, 10, 5) + timedelta(weeks=i), "all", (10 + i) / 100) for i in range(4)]
    spec = ChartSpec(
        kind="line",
        x="week",
        y=["conversion rate"],
        series="series",
        title="per week",
        marked=(date(2026, 10, 19), date(2026, 10, 25)),
        columns=["week", "series", "conversion rate"],
        rows=weeks,
        below=ChartSpec(kind="bar", x="group", y=["contribution"], title="what moved it"),
    )
    fig = figure(spec, ["group", "contribution"], [["desktop", -0.04], ["mobile", -0.01]])
    assert [t.type for t in fig.data] == ["scatter", "bar"]
    assert list(fig.data[0].y) == [0.1, 0.11, 0.12, 0.13] and list(fig.data[1].x) == ["desktop", "mobile"]
    [shade] = fig.layout.shapes
    assert (shade.x0, shade.x1) == (date(2026, 10, 19), date(2026, 10, 26))  # the last day shaded whole
    assert fig.data[1].yaxis == "y2"  # the bars in their own panel
    # Without the table's columns the panel below is left out, not an error.
    assert [t.type for t in figure(spec, ["other"], [["x"]]).data] == ["scatter"]


# ---------------------------------------------------------------- follow-ups


def answer_from(tool: str, arguments: dict, columns: list[str], rows: list[list]) -> Answer:
    return Answer(
        question="q",
        text="t",
        kind="answer",
        tool_calls=[ToolCall(tool=tool, arguments=arguments)],
        table=Table(columns=columns, rows=rows),
    )


def test_follow_ups_go_one_step_further_than_the_answer() -> None:
    tools = build_tools(SemanticModel.load())
    total = answer_from(
        "query_metric", {"metric": "revenue", "group_by": [], "grain": "none"}, ["revenue"], [[5.0]]
    )
    assert suggest(total, tools)[0] == "Break the revenue down by category"
    recs = answer_from("recommend", {"user_id": "42"}, ["product_id", "title"], [["151", "Case"]])
    assert "Why is product 151 recommended to user 42?" in suggest(recs, tools)
    assert all(len(suggest(a, tools)) <= 3 for a in (total, recs))
    refused = Answer(question="q", text="no", kind="refusal")
    assert suggest(refused, tools) == []
    # Every tool offers next questions, written from its own call (none when it has nothing to go on).
    for name, tool in tools.items():
        assert tool.follow_ups is not None, name
        assert isinstance(suggest(answer_from(name, {"metric": "revenue"}, ["x"], [[1]]), tools), list)


# ---------------------------------------------------------------- workspace

REES46 = "rees46/rees46_2019-Oct_phamhoa2416_sample.csv"
TAOBAO = "taobao/UserBehavior_betashepherd_HotItems.csv"


def test_dataset_names_come_from_file_names() -> None:
    assert dataset_name("online_retail (1).csv") == "online_retail_1"
    assert dataset_name("2019-Oct.csv") == "2019-Oct"
    assert dataset_name("???.csv") == "data"


@pytest.fixture
def workspace(tmp_path: Path, encoder: Encoder) -> Workspace:
    settings = Settings(data_dir=tmp_path, duckdb_memory_limit="1GB")
    with Workspace(settings, ENDPOINT, encoder) as ws:
        yield ws


@pytest.mark.real_data
def test_a_malformed_file_loads_nothing_and_says_why(workspace: Workspace, tmp_path: Path) -> None:
    workspace.load(real(REES46), "mine")
    before = workspace.info("mine")
    bad = tmp_path / "garbage.csv"
    bad.write_text("this is,not\x00a known,format\n1,2\n")
    with pytest.raises(LoadError, match="could not tell the format"):
        workspace.load(bad, "mine")
    after = workspace.info("mine")
    assert [t.rows for t in after.tables] == [t.rows for t in before.tables]
    assert workspace.datasets() == ["mine"]


@pytest.mark.real_data
def test_loading_into_an_open_dataset_reopens_it_with_the_new_rows(workspace: Workspace) -> None:
    workspace.load(real(REES46), "mine")
    first = workspace.assistant("mine")
    events = first.ctx.rows("SELECT count(*) FROM events")[0][0]
    workspace.load(real(TAOBAO), "mine")  # a second source beside the first
    second = workspace.assistant("mine")
    assert second is not first
    assert second.ctx.rows("SELECT count(*) FROM events")[0][0] > events
    with pytest.raises(LookupError, match="no dataset 'nope'"):
        workspace.assistant("nope")


# ---------------------------------------------------------------- the chat handler


@pytest.fixture
def app(shop, encoder: Encoder) -> App:  # noqa: F811
    from assistant.ui import App

    settings, _ = shop
    ws = Workspace(settings, ENDPOINT, encoder)
    yield App(ws)
    ws.close()


def scripted(app: App, shop, replies: list) -> None:  # noqa: F811
    """The app's assistant on the shop answers with the scripted model (no server), audited."""
    agent, _ = assistant(shop, replies)
    agent.audit = app.ws.audit
    app.ws._assistants["shop"] = agent
    app.build()


ORDERS_THEN_REVENUE = [call("query_metric", metric="orders"), call("query_metric", metric="revenue")]


def two_sessions(app: App) -> tuple:
    """Two fresh browser sessions, one asking about orders, the other about revenue."""
    first = list(app.respond("Orders?", [], None))[-1][app.session]
    second = list(app.respond("Revenue?", [], None))[-1][app.session]
    return first, second


def test_the_chat_streams_the_call_before_the_answer(app: App, shop) -> None:  # noqa: F811
    scripted(app, shop, [call("query_metric", metric="orders", group_by=["category"])])
    titles, updates = [], []
    for update in app.respond("Orders by category?", [], None):  # as the browser sees each one
        titles.append([m["metadata"]["title"] for m in update[app.chatbot] if m.get("metadata")])
        updates.append(update)
    assert titles[0] == ["Reading the question"]
    assert any("Calling query_metric" in t for t in titles[1])  # shown before the answer exists
    final = updates[-1]
    texts = [m["content"] for m in final[app.chatbot] if isinstance(m["content"], str)]
    answer = next(t for t in texts if t.startswith("Highest orders: "))  # written by code from the rows
    assert "*Computed: Orders (orders: distinct orders); all data (" in answer and answer.endswith(
        "by category.*"
    )
    assert final[app.table]["visible"] and final[app.plot]["visible"]  # bar chart of orders by category
    assert final[app.csv]["value"].endswith(".csv") and Path(final[app.csv]["value"]).read_text().startswith(
        "category,orders"
    )
    session = final[app.session]
    assert len(session.answers) == 1 and len(session.conversation.turns) == 1
    assert "Last answer" in final[app.status_line]


def test_a_model_failure_is_a_message_and_the_session_goes_on(app: App, shop) -> None:  # noqa: F811
    scripted(
        app,
        shop,
        [ConnectionError("connection refused"), call("query_metric", metric="orders")],
    )
    final = list(app.respond("Orders?", [], None))[-1]
    history = final[app.chatbot]
    assert history[-1]["content"].startswith("Error: The model server is not answering")
    assert "Traceback" not in str(history)
    again = list(app.respond("Orders?", history, final[app.session]))[-1]
    assert any(str(m["content"]).startswith("Orders: ") for m in again[app.chatbot])


def test_sessions_keep_their_own_conversations(app: App, shop) -> None:  # noqa: F811
    scripted(app, shop, ORDERS_THEN_REVENUE)
    first, second = two_sessions(app)
    assert first is not second
    assert [t.question for t in first.conversation.turns] == ["Orders?"]
    assert [t.question for t in second.conversation.turns] == ["Revenue?"]


def test_every_question_tool_call_and_sql_is_audited_by_session(app: App, shop) -> None:  # noqa: F811
    scripted(app, shop, ORDERS_THEN_REVENUE)
    first, second = two_sessions(app)
    with pytest.raises(ToolError):
        app._tool(second, "recommend", {"user_id": "no-such-user"})
    columns, rows = app.ws.audit.query(session=first.id)
    events = [dict(zip(columns, row, strict=True)) for row in rows]
    assert [e["question"] for e in events] == ["Orders?"]
    assert events[0]["tool_calls"][0]["tool"] == "query_metric" and "count(DISTINCT" in events[0]["sql"]
    columns, rows = app.ws.audit.query(session=second.id)
    events = [dict(zip(columns, row, strict=True)) for row in rows]
    assert [e["kind"] for e in events] == ["tool", "question"]  # newest first
    assert "no-such-user" in events[0]["error"] and events[1]["question"] == "Revenue?"
    assert app.ws.audit.query(text="revenue")[1]  # searchable by question or SQL text


def test_a_damaged_dataset_file_gives_a_clear_error(workspace: Workspace) -> None:
    (workspace.settings.data_dir / "broken.duckdb").write_bytes(b"not a database" * 100)
    assert "broken" in workspace.datasets()
    with pytest.raises(LookupError, match="dataset 'broken' cannot be opened"):
        workspace.assistant("broken")


@pytest.mark.real_data
def test_a_dataset_another_program_holds_is_not_loaded_into(workspace: Workspace) -> None:
    workspace.load(real(REES46), "mine")
    before = [t.rows for t in workspace.info("mine").tables]
    workspace.close()  # the app lets go of it; another program takes it
    path = workspace.settings.data_dir / "mine.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('open', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(LoadError, match="another program has it open"):
            workspace.load(real(TAOBAO), "mine")
    finally:
        holder.kill()
        holder.wait()
    assert [t.rows for t in workspace.info("mine").tables] == before


def test_the_load_test_checks_answers_in_gradios_message_format() -> None:
    from eval.bench.app_load import check_history

    def text(role: str, value: str, title: str | None = None) -> dict:
        return {"role": role, "metadata": {"title": title} if title else None,
                "content": [{"type": "text", "text": value}]}  # fmt: skip

    chat = [text("user", "Q1"), text("assistant", "step", "Calling query_metric"), text("assistant", "A1")]
    assert check_history(chat, ["Q1"]) == (False, None)
    assert check_history(chat, ["Q0"]) == (True, None)  # another session's question: mixed
    assert check_history(chat[:2], ["Q1"]) == (True, None)  # only a step, no answer: lost
    failed = [text("user", "Q1"), text("assistant", "Error: The model server is not answering")]
    assert check_history(failed, ["Q1"]) == (False, "Error: The model server is not answering")


# ---------------------------------------------------------------- nothing writes


WRITE_ATTEMPT = "x'); DROP TABLE events; DELETE FROM users; --"
FILTER_ATTEMPT = [{"dimension": "category", "values": [WRITE_ATTEMPT]}]
# Every tool, each string argument carrying a write: the test fails when a tool is added and not here.
TOOL_CALLS = [
    ("query_metric", {"metric": "revenue", "filters": FILTER_ATTEMPT}),
    ("compare_periods", {"metric": "revenue", "filters": FILTER_ATTEMPT}),
    ("explain_change", {"metric": "revenue", "filters": FILTER_ATTEMPT}),
    ("funnel", {"filters": FILTER_ATTEMPT}),
    ("cohort_retention", {}),
    ("list_segments", {"kind": "rfm"}),
    ("lookup_segment", {"segment": WRITE_ATTEMPT}),
    ("lookup_segment", {"user_id": WRITE_ATTEMPT}),
    ("recommend", {"user_id": WRITE_ATTEMPT}),
    ("recommend", {"product_id": WRITE_ATTEMPT, "category": WRITE_ATTEMPT}),
    ("explain_recommendation", {"user_id": WRITE_ATTEMPT, "product_id": WRITE_ATTEMPT}),
    ("predict_intent", {"category": WRITE_ATTEMPT}),
    ("predict_intent", {"outcome": "churn", "segment": WRITE_ATTEMPT}),
    ("detect_anomalies", {}),
    ("find_suspicious_users", {}),
    ("demand_gaps", {}),
    ("recent_activity", {"hours": 48}),
    ("search_products", {"query": WRITE_ATTEMPT, "category": WRITE_ATTEMPT, "brand": WRITE_ATTEMPT}),
    ("search_queries", {"text": WRITE_ATTEMPT}),
    ("similar_users", {"user_id": WRITE_ATTEMPT}),
    ("write_marketing_copy", {"product_id": WRITE_ATTEMPT}),
    ("write_marketing_copy", {"segment": WRITE_ATTEMPT}),
    (
        "write_marketing_copy",
        {
            "segment": "champions",
            "brief": {"offer": WRITE_ATTEMPT, "shop_name": WRITE_ATTEMPT[:80], "avoid": [WRITE_ATTEMPT]},
        },
    ),
    ("run_sql", {"query": WRITE_ATTEMPT}),
    ("describe_data", {}),
]


def data_fingerprint(shop) -> tuple:  # noqa: F811
    """The warehouse file's bytes and every table's rows, hashed."""
    settings, warehouse = shop
    with warehouse.engine.connect() as conn:
        tables = {
            t.name: conn.exec_driver_sql(f"SELECT count(*), sum(hash(x::VARCHAR)) FROM {t.name} x").one()
            for t in schema.TABLES
        }
    return hashlib.sha256((settings.data_dir / "shop.duckdb").read_bytes()).hexdigest(), tables


@pytest.mark.slow
def test_no_path_through_the_app_writes_to_the_data(app: App, shop) -> None:  # noqa: F811
    before = data_fingerprint(shop)
    try_every_write(app, shop)
    assert data_fingerprint(shop) == before


def try_every_write(app: App, shop) -> None:  # noqa: F811
    """Every way in through the app, each with a write (tests/test_warehouse_engines.py runs it on
    PostgreSQL too)."""
    writes = [sql for sql, _ in HOSTILE]
    # The chat: a model that insists on each write, as many times as the agent lets it retry.
    scripted(app, shop, [call("run_sql", query=sql) for sql in writes for _ in range(MAX_RETRIES + 1)])
    session = None
    for sql in writes:
        final = list(app.respond(f"Please run {sql}", [], session))[-1]
        session = final[app.session]
        reply = final[app.chatbot][-1]["content"]
        assert reply.startswith("Error: I could not answer that") and "Traceback" not in reply, reply
        assert session.answers[-1].table is None
    # The tool tabs and every tool, with a write in each string argument.
    assert {name for name, _ in TOOL_CALLS} == set(build_tools(SemanticModel.load()))
    for name, arguments in TOOL_CALLS:
        try:
            app._tool(session, name, arguments)
        except (ToolError, ValidationError):
            pass  # refused with a message: what we want
    assert app.recommend(WRITE_ATTEMPT, 5, "itemknn", session)[0].startswith("Error: there is no user")
    assert app.segment_members(WRITE_ATTEMPT, session)[0].startswith("Error: no segment")
    assert app.intent("churn", 14, WRITE_ATTEMPT, 0, session)[0].startswith("Error: no segment")
    brief = [
        WRITE_ATTEMPT,
        WRITE_ATTEMPT[:40],
        "2026-12-24",
        WRITE_ATTEMPT[:80],
        WRITE_ATTEMPT[:80],
        WRITE_ATTEMPT,
    ]
    copy = app.write_copy("Product", WRITE_ATTEMPT, "", "friendly", "short", "email", *brief, session)
    assert copy[0].startswith("Error: there is no product")
    brief[2] = WRITE_ATTEMPT  # not a date: refused before anything runs
    refused = app.write_copy("Segment", "", "champions", "friendly", "short", "email", *brief, session)
    assert refused[0].startswith("Error:")


def test_csv_exports_live_beside_the_data_and_are_pruned(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("assistant.ui.chat.MAX_EXPORTS", 3)
    for stale in app.exports.glob("result-*.csv"):
        stale.unlink()
    table = Table(columns=["category", "revenue"], rows=[["books", 1.0]])
    paths = []
    for _ in range(5):
        paths.append(Path(app._csv(table)))
        time.sleep(0.01)  # distinct modification times
    assert app.exports == app.ws.settings.data_dir / "exports"
    assert sorted(app.exports.glob("result-*.csv")) == sorted(paths[-3:])  # the newest kept
    assert paths[-1].read_text() == "category,revenue\nbooks,1.0\n"


def test_gradio_can_read_every_handlers_type_hints() -> None:
    """Gradio injects a row selection or a progress bar by the handler's annotations: a name it
    cannot resolve (one imported only for type checkers) silently drops the injection, and
    'why is this recommended?' never answers."""
    import typing

    import gradio as gr

    from assistant.ui import App

    assert typing.get_type_hints(App.explain)["evt"] is gr.SelectData
    for handler in (App.load, App.run_eval):
        assert typing.get_type_hints(handler)["progress"] is gr.Progress
    for name in ("respond", "clear", "segments", "recommend", "write_copy", "switch_dataset"):
        typing.get_type_hints(getattr(App, name))  # raises NameError on an unresolvable name


def test_the_copy_tab_takes_a_campaign_brief(app: App) -> None:
    """The brief is the one source of offers: given, the copy carries it and the facts list it."""
    brief = ["15% off this week", "HELLO15", "", "", "", ""]
    text, facts = app.write_copy("Segment", "", "champions", "friendly", "short", "email", *brief, None)
    assert "15% off this week with code HELLO15" in text, text
    rows = dict(facts["value"].values.tolist())
    assert rows["offer"] == "15% off this week" and rows["discount code"] == "HELLO15"
    text, _ = app.write_copy("Segment", "", "champions", "friendly", "short", "email", *[""] * 6, None)
    assert "off" not in text and "code" not in text  # no brief: no offer


def test_switching_dataset_warms_the_engine_up_for_it(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine reads the new dataset's system prompt in the background, as soon as it is picked."""
    app.build()
    warmed: list[str] = []
    monkeypatch.setattr(app.ws, "warm_up", lambda dataset=None: warmed.append(dataset))
    monkeypatch.setattr(app, "dataset_summary", lambda session: ("", None))
    update = app.switch_dataset("other", None)
    session = update[app.session]
    assert session.dataset == "other" and warmed == ["other"]
    app.switch_dataset("other", session)  # the same one again: nothing to read
    assert warmed == ["other"]


def test_a_question_asked_during_the_warm_up_waits_for_it_in_view(
    app: App,
    shop,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At start (and after an engine restart) the engine reads the system prompt for minutes on a
    slow CPU; a question sent meanwhile would queue behind it and could time out. It waits, shown
    as a step, and the status shows the read's progress, then its time."""
    scripted(app, shop, [call("query_metric", metric="orders")])
    read = threading.Event()
    monkeypatch.setattr(
        app.ws._assistants["shop"],
        "warm_up",
        lambda: read.wait(10) and PromptRead(seconds=42.0, loaded=False),
    )
    app.ws.warm_up()
    assert app.engine_state().startswith("**Model** reading the *shop* data description: 0 s so far")
    updates = app.respond("Orders?", [], None)
    first = next(updates)
    titles = [m["metadata"]["title"] for m in first[app.chatbot] if m.get("metadata")]
    assert titles == ["Waiting for the model"] and first[app.chatbot][-1]["metadata"]["status"] == "pending"
    read.set()
    final = list(updates)[-1]
    steps = [m["metadata"] for m in final[app.chatbot] if m.get("metadata")]
    assert steps[0] == {"title": "Waiting for the model", "status": "done"}
    assert any(str(m["content"]).startswith("Orders: ") for m in final[app.chatbot])
    assert app.engine_state() == "**Model** ready: read the *shop* data description in 42 s"
    before = app.ws.last_warm_up
    # A new engine: the same dataset is read again, or its saved read loaded.
    monkeypatch.setattr(app.ws._assistants["shop"], "warm_up", lambda: PromptRead(seconds=0.8, loaded=True))
    app.ws.engine_restarted()
    again = app.ws.last_warm_up
    assert again is not before and again.dataset == "shop"
    assert again.done.wait(5) and again.seconds == 0.8 and again.loaded
    assert (
        app.engine_state() == "**Model** ready: loaded its saved read of the *shop* data description in 0.8 s"
    )
    # A page opened now shows this state at once, not the one when the app was built.
    blocks = app.build()
    shown = next(c for c in blocks.blocks.values() if getattr(c, "elem_id", None) == "engine-state")
    load_state, _, _ = shown.load_event_to_attach
    assert load_state() == app.engine_state()


def test_the_chat_speaks_the_language_of_the_question(app: App, shop) -> None:  # noqa: F811
    """A question in Chinese: its steps, the answer (code's Chinese), what was computed and the
    details are in Chinese; the next question, in English, is answered in English."""
    scripted(app, shop, [call("query_metric", metric="revenue", group_by=["category"])] * 2)
    updates = list(app.respond("每个类目的销售额是多少？", [], None))
    final = updates[-1][app.chatbot]
    titles = [m["metadata"]["title"] for m in final if m.get("metadata")]
    assert titles[:2] == ["正在理解问题", "调用 query_metric"] and titles[-1].endswith(" 行 · SQL 和表格")
    text = next(str(m["content"]) for m in final if str(m["content"]).startswith("销售额最高的是 "))
    assert "\n\n*计算内容：销售额（" in text and text.endswith("按类目。*")
    session = updates[-1][app.session]
    english = list(app.respond("Revenue by category?", [], session))[-1][app.chatbot]
    titles = [m["metadata"]["title"] for m in english if m.get("metadata")]
    assert "Calling query_metric" in titles and titles[-1].endswith(" rows · SQL and table")
    assert any(str(m["content"]).startswith("Highest revenue: ") for m in english)


def test_the_english_a_chinese_question_was_read_as_shows_above_what_was_computed() -> None:
    from assistant.ui.render import answer_messages

    answer = Answer(
        question="每个类目的销售额是多少？",
        text="销售额最高的是 A。",
        kind="answer",
        read_as="What is the revenue of each category?",
        interpretation="销售额，按类目。",
    )
    text = str(answer_messages(answer)[0]["content"])
    assert text.endswith(
        "\n\n*按英文理解为：What is the revenue of each category?*\n\n*计算内容：销售额，按类目。*"
    )


def test_what_the_question_asks_and_the_computation_leaves_out_is_shown_in_the_askers_language() -> None:
    from assistant.ui.render import answer_messages

    answer = Answer(question="Busiest minute?", text="Purchases: 54.", kind="answer", left_out=["by minute"])
    text = str(answer_messages(answer)[0]["content"])
    assert text.endswith("\n\n*Asked for but not in what was computed: by minute*")
    chinese = answer.model_copy(
        update={"question": "哪一分钟购买最多？", "left_out": ["by minute", "the highest"]}
    )
    assert str(answer_messages(chinese)[0]["content"]).endswith("\n\n*问题问到但计算中未包含：按分钟、最高*")


def test_versions_of_copy_are_shown_side_by_side() -> None:
    from assistant.ui.tool_tabs import side_by_side

    assert side_by_side("Meet the kettle.") == "Meet the kettle."
    table = side_by_side(
        "Version 1:\nSubject: Hi\nPreheader: Yo\n\nMeet <b>it</b>.\n\nVersion 2:\nAnother one."
    )
    assert table.splitlines() == [
        "| Version 1 | Version 2 |",
        "|---|---|",
        "| Subject: Hi<br>Preheader: Yo<br><br>Meet &lt;b&gt;it&lt;/b&gt;. | Another one. |",
    ]
    # With the facts: under each version, the ones it draws on (traced in code).
    facts = [
        ("product", "Steel Kettle 1.7L"),
        ("brand", "Bosch"),
        ("price", Decimal("39.90")),
        ("orders so far", 12),
        ("what they buy most", "kitchen, garden and books"),
        ("description", "Boils a full jug in three minutes flat."),
    ]
    table = side_by_side(
        "Version 1:\nThe Bosch Steel Kettle 1.7L, $39.90.\n\nVersion 2:\nBoils a full jug in three minutes."
        " Loved by garden fans.",
        facts,
    )
    assert table.splitlines()[-1] == (
        "| *Draws on: product, brand, price* | *Draws on: what they buy most, description* |"
    )
    assert side_by_side("Nothing from the facts.", facts) == "Nothing from the facts.\n\n*Draws on: -*"
    assert side_by_side("博世水壶，仅售 39.9。", facts).endswith("*依据: price*")


def test_the_segments_tab_predicts_who_leaves_and_finds_demand_gaps(app: App) -> None:
    note, table = app.demand(None)
    assert note.startswith("Demand gaps in site search: searched for but not sold: "), note
    frame = table["value"]
    unsold = set(frame[frame["gap"] == "not sold"]["intent"])
    assert {"drone with 4k camera", "electric scooter", "aquarium fish tank"} <= unsold
    note, table = app.intent("churn", 14, "all active users", 0, None)
    assert note.startswith("Of ") and "- backtest on the data's last 14 days" in note, note
    probabilities = list(table["value"]["probability"])
    assert probabilities and probabilities == sorted(probabilities, reverse=True)
    note, table = app.intent("churn", 14, "all active users", 0.5, None)
    assert "have a chance of at least 50% to " in note, note
    assert all(p >= 0.5 for p in table["value"]["probability"])


def test_a_raised_alert_shows_in_the_banner_and_the_alerts_tab(app: App) -> None:
    from datetime import UTC, datetime, timedelta

    from assistant.watch import alerts_file
    from tools.live_checks import Alert

    assert app.alerts_banner(None) == "" and app.alerts_table(None)[0] == "No alerts on this dataset."
    now = datetime.now(UTC).replace(tzinfo=None)
    alert = Alert(
        kind="outage",
        start=now - timedelta(minutes=40),
        end=now,
        observed=0,
        expected=31.5,
        chance=2e-14,
        message="No events from … (40 minutes); the same stretch of the 7 days before had 32 on average.",
    )
    path = alerts_file(app.ws.settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(alert.model_dump_json() + "\n")
    try:
        assert app.alerts_banner(None) == f"⚠️ **outage**: {alert.message}"
        note, table = app.alerts_table(None)
        assert note == "1 alert, newest first." and list(table["value"]["alert"]) == ["outage"]
        # A browser in Chinese: an alert without a Chinese sentence keeps its English one.
        chinese = ChatSession("shop", chinese=True)
        assert app.alerts_banner(chinese) == f"⚠️ **中断**: {alert.message}"
        alert.message_zh = "… 没有任何事件（40 分钟）；此前 7 天的同一时段平均有 32 个。"
        path.write_text(alert.model_dump_json() + "\n")
        assert app.alerts_banner(chinese) == f"⚠️ **中断**: {alert.message_zh}"
        note, table = app.alerts_table(chinese)
        assert note == "共 1 条告警，最新的在前。" and list(table["value"]["告警"]) == ["中断"]
        assert list(table["value"]["发生了什么"]) == [alert.message_zh]
    finally:
        path.unlink()


def test_a_browser_in_chinese_gets_the_apps_own_sentences_in_chinese(app: App) -> None:
    """The session takes the browser's first language; the status line, the model's state and the
    Data tab's summary follow it; English for every other browser."""
    import gradio as gr

    chinese = app.new_session(gr.Request(headers={"accept-language": "zh-CN,zh;q=0.9,en;q=0.8"}))
    english = app.new_session(gr.Request(headers={"accept-language": "en-GB,en;q=0.9,zh;q=0.5"}))
    assert chinese.chinese and not english.chinese and chinese.dataset == english.dataset == "shop"
    status = app.status(chinese)
    assert status.startswith("**模型** ") and "**数据集** shop：" in status and " 个事件，" in status, status
    assert "，只读" in status and "read-only" not in status, status  # the dataset's access too
    assert app.status(english).startswith("**Model** ") and " events, " in app.status(english)
    assert ", read-only" in app.status(english)
    assert app.engine_state(chinese).startswith("**模型**") and app.engine_state(english).startswith(
        "**Model**"
    )
    summary, counts = app.dataset_summary(chinese)
    assert summary.startswith("**shop** · ") and " 位用户 · " in summary and " 个会话 · " in summary, summary
    assert (
        "\n\n导入记录：\n- demo（demo）：导入 " in summary
        and " 行，拒绝 0 行，" in summary
        and counts is not None
    )
    assert " users · " in app.dataset_summary(english)[0]
