"""What a question gets back: the Answer (its text, table, chart, SQL, what was computed), the
steps shown while it is worked out, and the conversation follow-ups read. The CLI, the app, the
HTTP API, notebooks and the eval harness all read these."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.base import ChartSpec


class ToolCall(BaseModel):
    tool: str
    arguments: dict[str, Any]
    error: str | None = None
    seconds: float = 0.0


class Table(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = False


class Step(BaseModel):
    """Progress within one answer, for a UI that shows it as it happens."""

    kind: Literal["call", "failed", "writing"]
    text: str
    tool: str | None = None
    arguments: dict[str, Any] | None = None


StepFn = Callable[[Step], None]


class Answer(BaseModel):
    """What `Assistant.ask` returns: the CLI, the UI and the eval harness all read this."""

    question: str
    text: str
    kind: Literal["answer", "clarification", "refusal", "error"]
    tool_calls: list[ToolCall] = Field(default_factory=list)
    sql: str | None = None
    table: Table | None = None
    chart: ChartSpec | None = None
    # What was computed, in words written by code from the call that ran (measure, population,
    # filters, exact period, grouping): a misread question shows here at a glance.
    interpretation: str | None = None
    # A question asked in Chinese as the model put it into English, the words the call was
    # chosen from (settings.chinese_questions): a misreading shows here.
    read_as: str | None = None
    notes: list[str] = Field(default_factory=list)
    # What the question asks that the computation does not use (tools/coverage.py): shown, so a
    # figure near the question is not taken for its answer.
    left_out: list[str] = Field(default_factory=list)
    ungrounded_numbers: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    tokens: dict[str, int] = Field(default_factory=lambda: {"prompt": 0, "completion": 0})

    @property
    def reading(self) -> str:
        """The question as the call was chosen from: in English when it was put into English."""
        return self.read_as or self.question

    @property
    def grounded(self) -> bool:
        return not self.ungrounded_numbers

    @property
    def df(self) -> Any:
        """The result table as a pandas DataFrame (None when the answer has no table)."""
        import pandas as pd

        return pd.DataFrame(self.table.rows, columns=self.table.columns) if self.table else None

    def figure(self) -> Any:
        """The answer's chart as a plotly Figure (None when it has none); a notebook draws it."""
        from assistant.charts import figure

        return figure(self.chart, self.table.columns, self.table.rows) if self.table and self.chart else None

    def _repr_html_(self) -> str:
        """How a notebook shows the answer: the sentence, what was computed, the table, the SQL."""
        parts = [f"<p><b>{html.escape(self.text)}</b></p>"]
        if self.interpretation:
            parts.append(f"<p><i>Computed: {html.escape(self.interpretation)}</i></p>")
        if self.table is not None:
            parts.append(self.df.head(50).to_html(index=False, max_cols=20))  # escapes cells
        if self.sql:
            parts.append(f"<details><summary>SQL</summary><pre>{html.escape(self.sql)}</pre></details>")
        return "\n".join(parts)


@dataclass
class Turn:
    question: str
    call: dict[str, Any] | None
    answer: str


@dataclass
class Conversation:
    """Memory for follow-ups: the previous turns of one user's chat."""

    turns: list[Turn] = field(default_factory=list)
