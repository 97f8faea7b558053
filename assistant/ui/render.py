"""Pure rendering: an answer as chat messages, a result as a shown table, an error as one line.
No state and no events: testable without a running app."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import gradio as gr
import pandas as pd

from assistant.answer import Answer
from assistant.charts import figure
from assistant.ui.i18n import said
from assistant.ui.session import ChatSession
from assistant.warehouse.load import LoadError, first_line
from assistant.warehouse.loaders import UnknownFormat
from tools.base import ToolError, ToolResult, format_value
from tools.coverage import ZH_LABELS
from tools.language import is_chinese

CHAT_PREVIEW_ROWS = 8


def step_message(title: str, body: str, status: str) -> dict:
    return {"role": "assistant", "content": body, "metadata": {"title": title, "status": status}}


def close_pending(history: list[dict]) -> None:
    for message in history:
        metadata = message.get("metadata") or {}
        if metadata.get("status") == "pending":
            metadata["status"] = "done"


def arguments_text(arguments: dict[str, Any] | None) -> str:
    shown = {k: v for k, v in (arguments or {}).items() if v not in (None, [], "", {})}
    if "query" in shown and isinstance(shown["query"], str) and "\n" in shown["query"]:
        return f"```sql\n{shown.pop('query')}\n```" + (
            f"\n`{json.dumps(shown, default=str)}`" if shown else ""
        )
    return f"`{json.dumps(shown, default=str)}`"


def answer_messages(answer: Answer) -> list[dict]:
    """The answer as chat messages: the text, a collapsed 'details' with the SQL and the first
    rows, and the chart."""
    chinese = is_chinese(answer.question)
    text = (said("error", chinese) if answer.kind == "error" else "") + answer.text
    if answer.read_as:  # the English the call was chosen from: a misreading shows here
        text += "\n\n*" + said("read_as", chinese) + answer.read_as.replace("*", "×") + "*"
    if answer.interpretation:
        text += "\n\n*" + said("computed", chinese) + answer.interpretation.replace("*", "×") + "*"
    if answer.left_out:  # a figure near the question is not its answer: say what it leaves out
        labels = [ZH_LABELS.get(m, m) for m in answer.left_out] if chinese else answer.left_out
        text += "\n\n*" + said("left_out", chinese) + ("、" if chinese else ", ").join(labels) + "*"
    if answer.ungrounded_numbers:
        text += "\n\n*" + said("ungrounded", chinese) + ", ".join(answer.ungrounded_numbers) + "*"
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
                count = f"{len(table.rows):,}{'+' if table.truncated else ''}"
                lines.append("\n" + said("more_rows", chinese, n=count))
        for note in answer.notes:
            lines.append(f"- {note}")
        title = (
            said("one_row", chinese)
            if len(table.rows) == 1
            else said("rows", chinese, n=f"{len(table.rows):,}")
        )
        out.append(
            {"role": "assistant", "content": "\n".join(lines), "metadata": {"title": title, "status": "done"}}
        )
        fig = figure(answer.chart, table.columns, table.rows)
        if fig is not None:
            out.append({"role": "assistant", "content": gr.Plot(fig)})
    return out


def answer_choices(session: ChatSession) -> list[str]:
    return [f"{i + 1}. {a.question[:70]}" for i, a in enumerate(session.answers)]


HIDDEN = gr.update(value=None, visible=False)


def shown(frame: pd.DataFrame) -> dict:
    return gr.update(value=frame, visible=True)


def result_frame(result: ToolResult) -> pd.DataFrame:
    return display(pd.DataFrame([list(r) for r in result.rows], columns=result.columns))


def display(frame: pd.DataFrame) -> pd.DataFrame:
    """Rounded for reading (the CSV keeps full precision); still numbers, so columns sort."""
    for column in frame.columns:
        if frame[column].map(lambda v: isinstance(v, Decimal)).any():
            frame[column] = frame[column].astype(float)
    return frame.round(4)


def readable(exc: BaseException) -> str:
    """An exception as one line a user can act on (no trace)."""
    if isinstance(exc, ToolError | LoadError | LookupError | UnknownFormat):
        return str(exc.args[0]) if exc.args else str(exc)
    text = first_line(exc)
    return text if text == type(exc).__name__ else f"{type(exc).__name__}: {text}"
