"""The Gradio app: chat with the data, see the evidence, act on it.

Tabs: Chat (streams the tool calls, then the answer; the result panel shows the SQL, a sortable
table with a CSV download and a chart), Data (load a file, switch datasets), Segments,
Recommendations, Marketing copy, Eval. Every session has its own conversation and dataset; the
heavy things (model endpoint, encoder, one assistant per dataset) are shared via `Workspace`.
Errors become readable messages; no handler lets an exception reach the browser as a trace.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
from gradio.utils import get_upload_folder

from assistant.answer import Answer, Conversation, Table
from assistant.charts import figure
from assistant.export import write_csv
from assistant.followups import suggest
from assistant.warehouse.imports import allowed_source, import_folders
from assistant.warehouse.load import LoadError, first_line
from assistant.warehouse.loaders import UnknownFormat, loaders
from assistant.workspace import Workspace, dataset_name
from tools.base import ToolError, ToolResult, format_value
from tools.segments import RFM_NAMES

log = logging.getLogger(__name__)

EXAMPLES = [
    "What was revenue in the last 7 days?",
    "Show revenue per week for the last 8 weeks",
    "Why did conversion drop in electronics in the week of 2026-10-05?",
    "Which categories bring the most revenue?",
    "How many shoppers added to cart but never bought?",
    "What share of sessions with a cart ended in a purchase?",
    "Show the funnel from view to purchase by device",
    "Who are our at-risk customers?",
    "What should we recommend to user 42?",
    "Any unusual spikes in traffic?",
    "Write a short promo email for the champions segment",
]
MAX_FOLLOW_UPS = 3
CHAT_PREVIEW_ROWS = 8
KEEP_ANSWERS = 30  # a session's answers kept for the result panel


@dataclass
class ChatSession:
    """One browser session: its dataset, conversation memory and answers (never shared)."""

    dataset: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])  # the audit log's session
    conversation: Conversation = field(default_factory=Conversation)
    answers: list[Answer] = field(default_factory=list)


MAX_EXPORTS = 200  # CSV downloads kept in <data dir>/exports


class App:
    """Builds the Blocks over a workspace; `launch` serves it."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
        # Beside the data, not in a new temp folder per run: pruned to MAX_EXPORTS, so neither a
        # long-running app nor many restarts fill the disk.
        self.exports = workspace.settings.data_dir / "exports"
        self.exports.mkdir(parents=True, exist_ok=True)
        # Where a path typed in the Data tab may lead (the default one is made here, to be found).
        self.import_folders = import_folders(workspace.settings)

    # ---------- helpers ----------
    def _session(self, session: ChatSession | None) -> ChatSession:
        return session if session is not None else ChatSession(self.ws.default_dataset)

    def status(self, session: ChatSession | None, answer: Answer | None = None) -> str:
        end = self.ws.endpoint
        parts = [f"**Model** {end.model} · {end.engine} on {end.device.upper()}"]
        session = self._session(session)
        try:
            info = self.ws.info(session.dataset)
            events = next(t.rows for t in info.tables if t.name == "events")
            span = (
                f"{info.first_event:%Y-%m-%d} → {info.last_event:%Y-%m-%d}"
                if info.first_event
                else "no events"
            )
            parts.append(f"**Dataset** {session.dataset}: {events:,} events, {span}")
        except Exception as exc:  # a broken dataset must not take the status line with it
            parts.append(f"**Dataset** {session.dataset}: unavailable ({exc})")
        if answer is not None:
            seconds = answer.timings.get("total", 0.0)
            model_seconds = answer.timings.get("decide", 0.0) + answer.timings.get("explain", 0.0)
            rate = answer.tokens["completion"] / model_seconds if model_seconds else 0.0
            parts.append(f"**Last answer** {seconds:.1f} s · {rate:.1f} tokens/s")
        return " · ".join(parts)

    def _csv(self, table: Table) -> str:
        """The result as a CSV download; no cell can run as a spreadsheet formula (`spreadsheet_safe`)."""
        path = self.exports / f"result-{int(time.time() * 1000)}-{random.randrange(10**6)}.csv"
        write_csv(table.columns, table.rows, path)
        # Gradio serves a copy from its own cache, so an old file can go once newer ones exist.
        for old in sorted(self.exports.glob("result-*.csv"), key=lambda p: p.stat().st_mtime)[:-MAX_EXPORTS]:
            old.unlink(missing_ok=True)
        return str(path)

    def evidence(self, answer: Answer | None) -> tuple[Any, ...]:
        """The result panel for one answer: call/SQL, table, CSV, chart."""
        if answer is None or answer.table is None:
            return (
                gr.update(value="", visible=False),
                gr.update(value=None, visible=False),
                gr.update(value=None, visible=False),
                gr.update(value=None, visible=False),
            )
        call = answer.tool_calls[-1] if answer.tool_calls else None
        source = answer.sql or ""
        if call is not None and call.tool != "run_sql":
            shown = {k: v for k, v in call.arguments.items() if v not in (None, [], "", {})}
            request = "".join(f"--   {k} = {json.dumps(v, default=str)}\n" for k, v in shown.items())
            source = f"-- {call.tool}\n{request}{source}"
        frame = _display(pd.DataFrame(answer.table.rows, columns=answer.table.columns))
        fig = figure(answer.chart, answer.table.columns, answer.table.rows)
        return (
            gr.update(value=source, visible=True),
            gr.update(value=frame, visible=True),
            gr.update(value=self._csv(answer.table), visible=bool(answer.table.rows)),
            gr.update(value=fig, visible=fig is not None),
        )

    # ---------- chat ----------
    def respond(self, message: str, history: list[dict], session: ChatSession | None):
        """Stream one question: each tool call as it happens, then the answer and its evidence."""
        session = self._session(session)
        message = (message or "").strip()
        history = list(history or [])
        if not message:
            yield self._chat_update(history, session, None, keep_input=True)
            return
        history.append({"role": "user", "content": message})
        history.append(
            _step_message("Reading the question", "finding the closest solved questions", "pending")
        )
        yield self._chat_update(history, session, None)
        try:
            assistant = self.ws.assistant(session.dataset)
            for item in assistant.stream(message, session.conversation, session=session.id):
                _close_pending(history)
                if isinstance(item, Answer):
                    answer = item
                    break
                title = {
                    "call": f"Calling {item.tool}",
                    "failed": f"{item.tool} failed; correcting the call",
                    "writing": "Writing the answer",
                }[item.kind]
                body = _arguments(item.arguments) if item.kind == "call" else item.text
                history.append(_step_message(title, body, "pending" if item.kind != "failed" else "done"))
                yield self._chat_update(history, session, None)
        except Exception as exc:  # shown in the chat; the session goes on
            log.exception("question failed: %s", message)
            _close_pending(history)
            text = f"Error: something went wrong ({_readable(exc)}). Ask again, or rephrase."
            history.append({"role": "assistant", "content": text})
            yield self._chat_update(history, session, None)
            return
        session.answers = (session.answers + [answer])[-KEEP_ANSWERS:]
        history.extend(_answer_messages(answer))
        yield self._chat_update(history, session, answer)

    def _chat_update(
        self, history: list[dict], session: ChatSession, answer: Answer | None, keep_input: bool = False
    ) -> dict:
        update: dict[Any, Any] = {self.chatbot: history, self.session: session}
        if not keep_input:
            update[self.question] = ""
        if answer is not None:
            sql, table, csv, plot = self.evidence(answer)
            update |= {self.sql: sql, self.table: table, self.csv: csv, self.plot: plot}
            update[self.status_line] = self.status(session, answer)
            choices = _answer_choices(session)
            update[self.picker] = gr.update(choices=choices, value=choices[-1], visible=True)
            follow = suggest(answer, self.ws.assistant(session.dataset).tools)
            for i, button in enumerate(self.follow_ups):
                update[button] = gr.update(
                    value=follow[i] if i < len(follow) else "", visible=i < len(follow)
                )
        return update

    def pick_answer(self, index: int | None, session: ChatSession | None) -> tuple[Any, ...]:
        session = self._session(session)
        answer = session.answers[index] if index is not None and 0 <= index < len(session.answers) else None
        return self.evidence(answer)

    def clear(self, session: ChatSession | None) -> tuple[Any, ...]:
        session = self._session(session)
        session.conversation, session.answers = Conversation(), []
        return (
            [],
            session,
            gr.update(choices=[], value=None, visible=False),
            *self.evidence(None),
            *(gr.update(visible=False) for _ in self.follow_ups),
        )

    # ---------- data ----------
    def dataset_summary(self, session: ChatSession | None) -> tuple[str, Any]:
        session = self._session(session)
        try:
            info = self.ws.info(session.dataset)
        except Exception as exc:
            return f"Error: {session.dataset}: {_readable(exc)}", HIDDEN
        frame = pd.DataFrame(
            [(t.name, t.kind, t.rows) for t in info.tables], columns=["table", "kind", "rows"]
        )
        span = f"{info.first_event} → {info.last_event}" if info.first_event else "no events"
        loads = "\n".join(
            f"- {load.source_dataset} ({load.format}): {load.rows_loaded:,} rows loaded, "
            f"{load.rows_rejected:,} rejected, {load.loaded_at:%Y-%m-%d %H:%M}"
            for load in info.loads
        )
        text = f"**{session.dataset}** · {info.users:,} users · {info.sessions:,} sessions · {span}\n\n" + (
            f"Loads:\n{loads}" if loads else "No file loads recorded (a generated demo shop)."
        )
        return text, frame

    def switch_dataset(self, dataset: str, session: ChatSession | None) -> dict:
        """Answer from another dataset: a new conversation, the result panel cleared."""
        session = self._session(session)
        if dataset and dataset != session.dataset:
            session.dataset = dataset
        session.conversation, session.answers = Conversation(), []
        text, frame = self.dataset_summary(session)
        note = f"Now answering from the dataset **{session.dataset}** (a new conversation)."
        sql, table, csv, plot = self.evidence(None)
        return {
            self.session: session,
            self.summary: text,
            self.counts: frame,
            self.status_line: self.status(session),
            self.chatbot: [{"role": "assistant", "content": note}],
            self.picker: gr.update(choices=[], value=None, visible=False),
            self.sql: sql,
            self.table: table,
            self.csv: csv,
            self.plot: plot,
            **{button: gr.update(visible=False) for button in self.follow_ups},
        }

    def load(
        self,
        upload: str | None,
        path: str,
        fmt: str,
        name: str,
        session: ChatSession | None,
        progress: gr.Progress = gr.Progress(),
    ):
        session = self._session(session)
        given = upload or (path or "").strip()
        if not given:
            raise gr.Error("Choose a file to upload, or type a path.", print_exception=False)
        target = dataset_name(name.strip() or Path(given).name)

        def report(stage: str, fraction: float | None) -> None:
            progress(fraction if fraction is not None else 0.0, desc=stage)

        try:
            # A browser names files on this machine only inside the import folders (an upload:
            # inside Gradio's upload folder), never in the data dir (assistant/warehouse/imports.py).
            roots = [Path(get_upload_folder())] if upload else None
            source = allowed_source(given, self.ws.settings, roots)
            result = self.ws.load(source, target, None if fmt == "auto-detect" else fmt, report)
        except (LoadError, ValueError, OSError) as exc:
            # An error (not a message) so the chain stops: the session keeps its dataset.
            raise gr.Error(f"Nothing was loaded: {_readable(exc)}", print_exception=False) from None
        except Exception as exc:  # whatever else a hostile file provokes: a line, never a trace
            log.warning("load of %s failed: %s", target, type(exc).__name__)
            raise gr.Error(
                f"Nothing was loaded: the file could not be read ({type(exc).__name__})",
                print_exception=False,
            ) from None
        session.dataset, session.conversation, session.answers = target, Conversation(), []
        span = f"{result.first_event} → {result.last_event}" if result.first_event else "no events"
        text = (
            f"Loaded **{Path(result.path).name}** as {result.format} into dataset **{target}** "
            f"in {result.seconds:.1f} s\n\n"
            f"| rows read | rows loaded | rows rejected | products | users | time span |\n|---|---|---|---|---|---|\n"
            f"| {result.rows_read:,} | {result.rows_loaded:,} | {result.rows_rejected:,} | "
            f"{result.products_loaded:,} | {result.users_loaded:,} | {span} |\n\n"
            + (
                "Personal data masked before storing: "
                + ", ".join(f"{k} ({v:,})" for k, v in result.pii_masked.items())
                + "\n\n"
                if result.pii_masked
                else ""
            )
            + f"The chat now answers from **{target}**."
        )
        rejects = pd.DataFrame(
            sorted(result.rejected_by_reason.items(), key=lambda kv: -kv[1]), columns=["reason", "rows"]
        )
        return (
            session,
            text,
            gr.update(choices=self.ws.datasets(), value=target),
            gr.update(value=rejects, visible=bool(result.rejected_by_reason)),
        )

    # ---------- tool tabs ----------
    def _tool(self, session: ChatSession | None, name: str, arguments: dict[str, Any]) -> ToolResult:
        session = self._session(session)
        return self.ws.assistant(session.dataset).run_tool(name, arguments, session=session.id)

    def segments(self, kind: str, session: ChatSession | None) -> tuple[Any, ...]:
        try:
            result = self._tool(
                session, "list_segments", {"kind": "behavior" if kind.startswith("Behavior") else "rfm"}
            )
        except Exception as exc:
            return f"Error: {_readable(exc)}", HIDDEN, HIDDEN, gr.update()
        frame = _shown(_frame(result))
        names = [str(r[0]) for r in result.rows]
        return (
            " · ".join(result.notes),
            frame,
            gr.update(
                value=figure(result.chart, result.columns, [list(r) for r in result.rows]), visible=True
            ),
            gr.update(choices=names, value=names[0] if names else None),
        )

    def segment_members(self, segment: str | None, session: ChatSession | None) -> tuple[str, Any]:
        if not segment:
            return "Pick a segment.", HIDDEN
        try:
            result = self._tool(session, "lookup_segment", {"segment": segment, "limit": 50})
        except Exception as exc:
            return f"Error: {_readable(exc)}", HIDDEN
        return " · ".join(result.notes) or f"{len(result.rows)} members shown", _shown(_frame(result))

    def random_user(self, session: ChatSession | None) -> str:
        for segment in ("champions", "loyal", "potential_loyalists"):
            try:
                rows = self._tool(session, "lookup_segment", {"segment": segment, "limit": 30}).rows
            except Exception:
                continue
            if rows:
                return str(random.choice(rows)[0])
        return ""

    def recommend(self, user_id: str, k: float, session: ChatSession | None) -> tuple[Any, ...]:
        user_id = (user_id or "").strip()
        if not user_id:
            return "Type a user id, or pick one.", HIDDEN, "", HIDDEN
        try:
            result = self._tool(session, "recommend", {"user_id": user_id, "k": int(k)})
        except Exception as exc:
            return f"Error: {_readable(exc)}", HIDDEN, "", HIDDEN
        note = " · ".join(result.notes) + " · select a row to see why it is recommended"
        return note, _shown(_frame(result)), "", HIDDEN

    def explain(
        self, user_id: str, table: pd.DataFrame, session: ChatSession | None, evt: gr.SelectData
    ) -> tuple[str, Any]:
        try:
            row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
            product_id = str(table.iloc[row]["product_id"])
            result = self._tool(
                session, "explain_recommendation", {"user_id": user_id.strip(), "product_id": product_id}
            )
        except Exception as exc:
            return f"Error: {_readable(exc)}", HIDDEN
        text = result.answer or result.text or ""
        return f"**Why product {product_id} for user {user_id.strip()}?** {text}", _shown(_frame(result))

    def write_copy(
        self,
        target: str,
        product_id: str,
        segment: str,
        tone: str,
        length: str,
        channel: str,
        session: ChatSession | None,
    ) -> tuple[str, Any]:
        arguments: dict[str, Any] = {"tone": tone, "length": length, "channel": channel}
        if target == "Product":
            if not (product_id or "").strip():
                return "Type a product id.", HIDDEN
            arguments["product_id"] = product_id.strip()
        else:
            arguments["segment"] = segment
        try:
            result = self._tool(session, "write_marketing_copy", arguments)
        except Exception as exc:
            return f"Error: {_readable(exc)}", HIDDEN
        notes = "\n".join(f"- {n}" for n in result.notes)
        return f"{result.answer or result.text or ''}\n\n{notes}".strip(), _shown(_frame(result))

    # ---------- eval ----------
    def run_eval(
        self,
        suite_name: str,
        tag: str,
        limit: float | None,
        systems: list[str],
        judge: bool,
        progress: gr.Progress = gr.Progress(),
    ):
        from eval.harness import run_suite
        from eval.report import FIGURES, write_reports
        from eval.suite import SuiteError, load_suite

        if not systems:
            return "Pick at least one system.", HIDDEN, HIDDEN, HIDDEN
        try:
            suite = load_suite(suite_name)
        except SuiteError as exc:
            return f"Error: {exc}", HIDDEN, HIDDEN, HIDDEN
        if tag.strip():
            suite.cases = [c for c in suite.cases if tag.strip() in c.tags]
            if not suite.cases:
                return (
                    f"No case in {suite.name} has the tag {tag.strip()!r}",
                    HIDDEN,
                    HIDDEN,
                    HIDDEN,
                )
        folder = self.ws.settings.data_dir / "eval-runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{suite.name}"
        try:
            lines = run_suite(
                suite,
                systems,
                self.ws.settings,
                folder,
                real_data=self.ws.settings.real_data,
                limit=int(limit) if limit else None,
                use_judge=judge,
                progress=lambda stage, fraction: progress(fraction or 0.0, desc=stage),
                endpoint=self.ws.endpoint,
            )
        except Exception as exc:
            log.exception("eval run failed")
            return f"The eval run stopped: {_readable(exc)}", HIDDEN, HIDDEN, HIDDEN
        figures = write_reports(folder)
        summary = pd.DataFrame(
            [
                [label, *("–" if f.get(key) is None else pattern.format(f[key]) for f in figures.values())]
                for key, label, pattern in FIGURES
            ],
            columns=["", *figures],
        )
        failing = pd.DataFrame(
            [
                [
                    line["system"],
                    line["case"],
                    "; ".join(line.get("reasons", [])),
                    line["outcome"].get("text", "")[:200],
                ]
                for line in lines
                if not line["passed"]
            ],
            columns=["system", "case", "why it failed", "answer"],
        )
        report = self.exports / f"{folder.name}-report.html"
        shutil.copyfile(folder / "report.html", report)
        cases = len(suite.cases[: int(limit) if limit else None])
        verdict = f"{len(failing)} failing" if len(failing) else "every case passed"
        note = f"{cases} cases · {verdict} · run folder `{folder}`"
        shown_failing = _shown(failing) if len(failing) else HIDDEN
        return note, _shown(summary), shown_failing, gr.update(value=str(report), visible=True)

    # ---------- layout ----------
    def build(self) -> gr.Blocks:
        # Gradio keeps its copies of results and uploads for a day, checked hourly.
        with gr.Blocks(title="ShopLens", delete_cache=(3600, 86400)) as blocks:
            self.session = gr.State(None)
            gr.Markdown("## ShopLens — ask your shop's data")
            self.status_line = gr.Markdown(self.status(None), elem_id="status-line")
            with gr.Tab("Chat", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        self.chatbot = gr.Chatbot(
                            label="Conversation",
                            height=560,
                            elem_id="chat",
                            buttons=["copy"],
                            feedback_options=None,
                        )
                        with gr.Row():
                            self.question = gr.Textbox(
                                placeholder="Ask about your data, e.g. why did conversion drop last week?",
                                show_label=False,
                                scale=5,
                                elem_id="question",
                                autofocus=True,
                            )
                            ask = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                        with gr.Row():
                            self.follow_ups = [
                                gr.Button(visible=False, size="sm", elem_classes=["follow-up"])
                                for _ in range(MAX_FOLLOW_UPS)
                            ]
                        gr.Examples(EXAMPLES, inputs=self.question, label="Try")
                        clear = gr.Button("New conversation", size="sm")
                    with gr.Column(scale=2, elem_id="evidence"):
                        gr.Markdown("### Result")
                        self.picker = gr.Dropdown(label="Answer", choices=[], visible=False, type="index")
                        self.plot = gr.Plot(visible=False, elem_id="result-chart", show_label=False)
                        self.table = gr.Dataframe(
                            visible=False,
                            interactive=False,
                            elem_id="result-table",
                            max_height=320,
                            wrap=True,
                        )
                        self.csv = gr.DownloadButton(
                            "Download CSV", visible=False, size="sm", elem_id="result-csv"
                        )
                        self.sql = gr.Code(
                            language="sql", label="SQL / tool call", visible=False, elem_id="result-sql"
                        )
            with gr.Tab("Data", id="data"):
                with gr.Row():
                    dataset = gr.Dropdown(
                        choices=self.ws.datasets(),
                        value=self.ws.default_dataset,
                        label="Dataset the chat and tabs use",
                        elem_id="dataset",
                    )
                self.summary = summary = gr.Markdown(elem_id="dataset-summary")
                self.counts = counts = gr.Dataframe(interactive=False, label="Tables", max_height=300)
                gr.Markdown("### Load a file")
                with gr.Row():
                    upload = gr.File(label="Upload a file", type="filepath", elem_id="upload")
                    with gr.Column():
                        path = gr.Textbox(
                            label="…or a file or folder on this machine, in "
                            + ", ".join(str(f) for f in self.import_folders),
                            elem_id="load-path",
                        )
                        fmt = gr.Dropdown(
                            ["auto-detect", *(loader.name for loader in loaders())],
                            value="auto-detect",
                            label="Format",
                        )
                        target = gr.Textbox(
                            label="Into dataset (new or existing)",
                            placeholder="from the file name",
                            elem_id="load-target",
                        )
                        load = gr.Button("Load", variant="primary", elem_id="load")
                loaded = gr.Markdown(elem_id="load-result")
                rejects = gr.Dataframe(visible=False, interactive=False, label="Rejected rows by reason")
            with gr.Tab("Segments", id="segments"):
                kind = gr.Radio(
                    ["RFM (recency, frequency, money)", "Behavior clusters"],
                    value="RFM (recency, frequency, money)",
                    label="Segmentation",
                )
                show = gr.Button("Show segments", variant="primary")
                seg_note = gr.Markdown(elem_id="segments-note")
                seg_plot = gr.Plot(show_label=False, elem_id="segments-chart")
                seg_table = gr.Dataframe(
                    interactive=False, wrap=True, max_height=420, visible=False, elem_id="segments-table"
                )
                members_of = gr.Dropdown(label="Members of", choices=[])
                members_note = gr.Markdown(elem_id="members-note")
                members = gr.Dataframe(
                    interactive=False, max_height=360, visible=False, elem_id="members-table"
                )
            with gr.Tab("Recommendations", id="recommendations"):
                with gr.Row():
                    user = gr.Textbox(label="User id", scale=3, elem_id="rec-user")
                    pick = gr.Button("A good customer", scale=1)
                    k = gr.Slider(3, 30, value=10, step=1, label="How many", scale=2)
                go = gr.Button("Recommend", variant="primary")
                rec_note = gr.Markdown(elem_id="rec-note")
                rec_table = gr.Dataframe(
                    interactive=False, wrap=True, max_height=380, visible=False, elem_id="rec-table"
                )
                why = gr.Markdown(elem_id="why")
                why_table = gr.Dataframe(
                    interactive=False,
                    wrap=True,
                    label="Evidence",
                    max_height=300,
                    visible=False,
                    elem_id="why-table",
                )
            with gr.Tab("Marketing copy", id="copy"):
                with gr.Row():
                    copy_target = gr.Radio(["Product", "Segment"], value="Segment", label="Write for")
                    product = gr.Textbox(label="Product id")
                    segment = gr.Dropdown(list(RFM_NAMES), value="champions", label="Segment")
                with gr.Row():
                    tone = gr.Radio(
                        ["friendly", "professional", "playful", "urgent", "luxury"],
                        value="friendly",
                        label="Tone",
                    )
                    length = gr.Radio(["short", "medium", "long"], value="short", label="Length")
                    channel = gr.Radio(
                        ["email", "social", "banner", "product page"], value="email", label="Channel"
                    )
                write = gr.Button("Write copy", variant="primary")
                copy_text = gr.Markdown(elem_id="copy-text")
                facts = gr.Dataframe(
                    interactive=False, wrap=True, label="Facts it used", visible=False, elem_id="copy-facts"
                )
            with gr.Tab("Eval", id="eval"):
                from eval.suite import SUITES_DIR
                from eval.systems import systems as installed_systems

                suites = sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))
                with gr.Row():
                    suite = gr.Dropdown(
                        suites, value="demo" if "demo" in suites else suites[0], label="Suite"
                    )
                    tag = gr.Textbox(value="smoke", label="Only cases tagged (empty: all)")
                    limit = gr.Number(value=None, precision=0, label="First N cases (empty: all)")
                with gr.Row():
                    systems = gr.CheckboxGroup(
                        list(installed_systems()),
                        value=["shoplens"],
                        label="Systems",
                    )
                    judge = gr.Checkbox(value=True, label="LLM judge for free text")
                run = gr.Button("Run", variant="primary")
                eval_note = gr.Markdown(elem_id="eval-note")
                eval_summary = gr.Dataframe(
                    interactive=False, label="Scores", visible=False, elem_id="eval-summary"
                )
                eval_failing = gr.Dataframe(
                    interactive=False, wrap=True, label="Failing cases", visible=False, elem_id="eval-failing"
                )
                eval_report = gr.DownloadButton("Download the HTML report", visible=False, size="sm")

            chat_outputs = [
                self.chatbot,
                self.question,
                self.session,
                self.sql,
                self.table,
                self.csv,
                self.plot,
                self.status_line,
                self.picker,
                *self.follow_ups,
            ]
            # One limit for all the ways to ask (button, Enter, follow-ups): SHOPLENS_UI_CONCURRENCY.
            chat = {"concurrency_id": "chat"}
            ask.click(
                self.respond,
                [self.question, self.chatbot, self.session],
                chat_outputs,
                api_name="ask",
                **chat,
            )
            self.question.submit(
                self.respond, [self.question, self.chatbot, self.session], chat_outputs, **chat
            )
            for button in self.follow_ups:
                button.click(self.respond, [button, self.chatbot, self.session], chat_outputs, **chat)
            self.picker.input(
                self.pick_answer, [self.picker, self.session], [self.sql, self.table, self.csv, self.plot]
            )
            clear.click(
                self.clear,
                [self.session],
                [
                    self.chatbot,
                    self.session,
                    self.picker,
                    self.sql,
                    self.table,
                    self.csv,
                    self.plot,
                    *self.follow_ups,
                ],
            )
            switched = [self.session, self.summary, self.counts, self.status_line, self.chatbot, self.picker,
                        self.sql, self.table, self.csv, self.plot, *self.follow_ups]  # fmt: skip
            dataset.input(self.switch_dataset, [dataset, self.session], switched)
            upload.upload(lambda f: dataset_name(Path(f).name) if f else "", upload, target)
            load.click(
                self.load,
                [upload, path, fmt, target, self.session],
                [self.session, loaded, dataset, rejects],
                concurrency_limit=1,
            ).success(self.switch_dataset, [dataset, self.session], switched)
            show.click(
                self.segments, [kind, self.session], [seg_note, seg_table, seg_plot, members_of]
            ).success(self.segment_members, [members_of, self.session], [members_note, members])
            members_of.input(self.segment_members, [members_of, self.session], [members_note, members])
            pick.click(self.random_user, [self.session], [user])
            go.click(self.recommend, [user, k, self.session], [rec_note, rec_table, why, why_table])
            user.submit(self.recommend, [user, k, self.session], [rec_note, rec_table, why, why_table])
            rec_table.select(self.explain, [user, rec_table, self.session], [why, why_table])
            write.click(
                self.write_copy,
                [copy_target, product, segment, tone, length, channel, self.session],
                [copy_text, facts],
            )
            run.click(
                self.run_eval,
                [suite, tag, limit, systems, judge],
                [eval_note, eval_summary, eval_failing, eval_report],
                concurrency_limit=1,
            )
            # Each browser session starts its own state (its id is the audit log's session).
            blocks.load(lambda: ChatSession(self.ws.default_dataset), None, [self.session]).then(
                self.dataset_summary, [self.session], [summary, counts]
            )
        return blocks


def _step_message(title: str, body: str, status: str) -> dict:
    return {"role": "assistant", "content": body, "metadata": {"title": title, "status": status}}


def _close_pending(history: list[dict]) -> None:
    for message in history:
        metadata = message.get("metadata") or {}
        if metadata.get("status") == "pending":
            metadata["status"] = "done"


def _arguments(arguments: dict[str, Any] | None) -> str:
    shown = {k: v for k, v in (arguments or {}).items() if v not in (None, [], "", {})}
    if "query" in shown and isinstance(shown["query"], str) and "\n" in shown["query"]:
        return f"```sql\n{shown.pop('query')}\n```" + (
            f"\n`{json.dumps(shown, default=str)}`" if shown else ""
        )
    return f"`{json.dumps(shown, default=str)}`"


def _answer_messages(answer: Answer) -> list[dict]:
    """The answer as chat messages: the text, a collapsed 'details' with the SQL and the first
    rows, and the chart."""
    prefix = {"answer": "", "clarification": "", "refusal": "", "error": "Error: "}[answer.kind]
    text = prefix + answer.text
    if answer.interpretation:
        text += "\n\n*Computed: " + answer.interpretation.replace("*", "×") + "*"
    if answer.ungrounded_numbers:
        text += f"\n\n*Numbers not found in the results: {', '.join(answer.ungrounded_numbers)}*"
    out = [{"role": "assistant", "content": text}]
    table = answer.table
    if table is not None and table.columns:
        lines = []
        if answer.sql:
            lines.append(f"```sql\n{answer.sql}\n```")
        if table.rows:
            lines.append("| " + " | ".join(table.columns) + " |")
            lines.append("|" + "---|" * len(table.columns))
            for row in table.rows[:CHAT_PREVIEW_ROWS]:
                lines.append("| " + " | ".join(format_value(v).replace("|", "\\|") for v in row) + " |")
            if len(table.rows) > CHAT_PREVIEW_ROWS or table.truncated:
                lines.append(
                    f"\n… all rows in the Result panel ({len(table.rows):,}{'+' if table.truncated else ''})"
                )
        for note in answer.notes:
            lines.append(f"- {note}")
        title = f"{len(table.rows):,} row{'s' if len(table.rows) != 1 else ''} · SQL and table"
        out.append(
            {"role": "assistant", "content": "\n".join(lines), "metadata": {"title": title, "status": "done"}}
        )
        fig = figure(answer.chart, table.columns, table.rows)
        if fig is not None:
            out.append({"role": "assistant", "content": gr.Plot(fig)})
    return out


def _answer_choices(session: ChatSession) -> list[str]:
    return [f"{i + 1}. {a.question[:70]}" for i, a in enumerate(session.answers)]


HIDDEN = gr.update(value=None, visible=False)


def _shown(frame: pd.DataFrame) -> dict:
    return gr.update(value=frame, visible=True)


def _frame(result: ToolResult) -> pd.DataFrame:
    return _display(pd.DataFrame([list(r) for r in result.rows], columns=result.columns))


def _display(frame: pd.DataFrame) -> pd.DataFrame:
    """Rounded for reading (the CSV keeps full precision); still numbers, so columns sort."""
    for column in frame.columns:
        if frame[column].map(lambda v: isinstance(v, Decimal)).any():
            frame[column] = frame[column].astype(float)
    return frame.round(4)


def _readable(exc: BaseException) -> str:
    """An exception as one line a user can act on (no trace)."""
    if isinstance(exc, ToolError | LoadError | LookupError | UnknownFormat):
        return str(exc.args[0]) if exc.args else str(exc)
    text = first_line(exc)
    return text if text == type(exc).__name__ else f"{type(exc).__name__}: {text}"


def launch(workspace: Workspace, *, block: bool = True) -> tuple[gr.Blocks, str]:
    """Serve the app on the configured host and port; returns (blocks, local URL)."""
    settings = workspace.settings
    app = App(workspace)
    blocks = app.build()
    blocks.queue(default_concurrency_limit=settings.ui_concurrency)
    _, url, _ = blocks.launch(
        server_name=settings.host,
        server_port=settings.ui_port,
        prevent_thread_lock=not block,
        quiet=True,
        show_error=False,
        allowed_paths=[str(app.exports)],
        max_file_size=f"{settings.upload_limit_mb}mb",
        footer_links=[],
        theme=gr.themes.Soft(),
    )
    return blocks, url
