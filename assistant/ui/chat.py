"""The Chat tab: the question streams its tool calls, then the answer; the result panel beside
it shows the SQL or call, a sortable table with a CSV download, and the chart."""

from __future__ import annotations

import json
import logging
import random
import time
from typing import Any

import gradio as gr
import pandas as pd

from assistant.answer import Answer, Conversation, Table
from assistant.charts import figure
from assistant.export import write_csv
from assistant.followups import suggest
from assistant.ui.i18n import said, t
from assistant.ui.render import (
    answer_choices,
    answer_messages,
    arguments_text,
    close_pending,
    display,
    readable,
    step_message,
)
from assistant.ui.session import ChatSession
from tools.language import is_chinese

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
KEEP_ANSWERS = 30  # a session's answers kept for the result panel
MAX_EXPORTS = 200  # CSV downloads kept in <data dir>/exports


class ChatTab:
    """The chat and its result panel (a part of App)."""

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
        frame = display(pd.DataFrame(answer.table.rows, columns=answer.table.columns))
        fig = figure(answer.chart, answer.table.columns, answer.table.rows)
        return (
            gr.update(value=source, visible=True),
            gr.update(value=frame, visible=True),
            gr.update(value=self._csv(answer.table), visible=bool(answer.table.rows)),
            gr.update(value=fig, visible=fig is not None),
        )

    def respond(self, message: str, history: list[dict], session: ChatSession | None):
        """Stream one question: each tool call as it happens, then the answer and its evidence."""
        session = self._session(session)
        message = (message or "").strip()
        history = list(history or [])
        if not message:
            yield self._chat_update(history, session, None, keep_input=True)
            return
        history.append({"role": "user", "content": message})
        chinese = is_chinese(message)
        yield from self._wait_for_warm_up(history, session, chinese)
        history.append(step_message(said("reading", chinese), said("reading_body", chinese), "pending"))
        yield self._chat_update(history, session, None)
        try:
            assistant = self.ws.assistant(session.dataset)
            for item in assistant.stream(message, session.conversation, session=session.id):
                close_pending(history)
                if isinstance(item, Answer):
                    answer = item
                    break
                title = said(item.kind, chinese, tool=item.tool)
                body = arguments_text(item.arguments) if item.kind == "call" else item.text
                history.append(step_message(title, body, "pending" if item.kind != "failed" else "done"))
                yield self._chat_update(history, session, None)
        except Exception as exc:  # shown in the chat; the session goes on
            log.exception("question failed: %s", message)
            close_pending(history)
            text = f"Error: something went wrong ({readable(exc)}). Ask again, or rephrase."
            history.append({"role": "assistant", "content": text})
            yield self._chat_update(history, session, None)
            return
        session.answers = (session.answers + [answer])[-KEEP_ANSWERS:]
        history.extend(answer_messages(answer))
        yield self._chat_update(history, session, answer)

    def _wait_for_warm_up(self, history: list[dict], session: ChatSession, chinese: bool = False):
        """A question sent while the engine reads a system prompt would queue behind that read
        (minutes on a slow CPU) and could pass the answer timeout: it waits here instead, in view."""
        state = self.ws.warming_up()
        if state is None:
            return
        step = step_message(said("waiting", chinese), "", "pending")
        history.append(step)
        while True:
            step["content"] = said(
                "waiting_body", chinese, dataset=state.dataset, seconds=f"{state.elapsed:.0f}"
            )
            yield self._chat_update(history, session, None)
            if state.done.wait(2.0):
                break
        close_pending(history)

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
            choices = answer_choices(session)
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

    def _chat_tab(self) -> None:
        """The conversation, the question box, follow-ups and the result panel."""
        with gr.Tab(t("tab_chat"), id="chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    self.chatbot = gr.Chatbot(
                        label=t("conversation"),
                        height=560,
                        elem_id="chat",
                        buttons=["copy"],
                        feedback_options=None,
                    )
                    with gr.Row():
                        self.question = gr.Textbox(
                            placeholder=t("question_placeholder"),
                            show_label=False,
                            scale=5,
                            elem_id="question",
                            autofocus=True,
                        )
                        ask = gr.Button(t("ask"), variant="primary", scale=1, elem_id="ask")
                    with gr.Row():
                        self.follow_ups = [
                            gr.Button(visible=False, size="sm", elem_classes=["follow-up"])
                            for _ in range(MAX_FOLLOW_UPS)
                        ]
                    gr.Examples(EXAMPLES, inputs=self.question, label=t("try"))
                    clear = gr.Button(t("new_conversation"), size="sm")
                with gr.Column(scale=2, elem_id="evidence"):
                    gr.Markdown(t("result"))
                    self.picker = gr.Dropdown(label=t("answer"), choices=[], visible=False, type="index")
                    self.plot = gr.Plot(visible=False, elem_id="result-chart", show_label=False)
                    self.table = gr.Dataframe(
                        visible=False,
                        interactive=False,
                        elem_id="result-table",
                        max_height=320,
                        wrap=True,
                    )
                    self.csv = gr.DownloadButton(
                        t("download_csv"), visible=False, size="sm", elem_id="result-csv"
                    )
                    self.sql = gr.Code(
                        language="sql", label=t("sql_or_call"), visible=False, elem_id="result-sql"
                    )
        self._chat_events(ask, clear)

    def _chat_events(self, ask: gr.Button, clear: gr.Button) -> None:
        """Every way to ask (button, Enter, follow-ups), picking an earlier answer, starting over."""
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
        self.question.submit(self.respond, [self.question, self.chatbot, self.session], chat_outputs, **chat)
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
