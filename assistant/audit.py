"""The audit log: every question, tool call and SQL statement, with its session and time.

One JSON line per event, appended (a crash loses at most the line being written, never earlier
ones) to `<data dir>/audit.jsonl`; DuckDB reads the file as a table, so the log is queried with
SQL (`shoplens audit`, or `SELECT … FROM read_json_auto('audit.jsonl')`).

Personal data in what is recorded (a question with an e-mail, a card number in a tool argument)
is masked as it is in loaded data (`assistant.warehouse.privacy.mask_text`) before the line is
written, unless masking is off.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel, Field

from assistant.warehouse.privacy import mask_text


class AuditEvent(BaseModel):
    time: datetime = Field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))
    session: str
    dataset: str
    warehouse: str | None = None  # the database, its version and access: "DuckDB v1.4.1, read-only"
    kind: str  # question | tool (a tab ran a tool directly)
    question: str | None = None
    answer_kind: str | None = None
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    sql: str | None = None
    seconds: float | None = None
    error: str | None = None


class AuditLog:
    def __init__(self, path: Path, mask: bool = True) -> None:
        self.path = path
        self.mask = mask
        self._lock = threading.Lock()

    def record(self, event: AuditEvent) -> None:
        if self.mask:
            event = AuditEvent.model_validate(_masked(event.model_dump()))
        line = event.model_dump_json() + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as handle:
                handle.write(line)
                handle.flush()

    def query(
        self,
        session: str | None = None,
        since: datetime | None = None,
        text: str | None = None,
        limit: int = 100,
    ) -> tuple[list[str], list[tuple]]:
        """The newest events (optionally of one session, since a time, or whose question or SQL
        holds `text`) as (columns, rows)."""
        if not self.path.exists():
            return [], []
        where, params = ["true"], {"path": str(self.path)}
        if session:
            where.append("session = $session")
            params["session"] = session
        if since:
            where.append("time::TIMESTAMP >= $since")
            params["since"] = since
        if text:
            where.append("(contains(lower(question), lower($text)) OR contains(lower(sql), lower($text)))")
            params["text"] = text
        with duckdb.connect() as con:
            relation = con.sql(
                "SELECT time::TIMESTAMP AS time, session, dataset, kind, question, answer_kind, tool_calls, sql, seconds, error"
                f" FROM read_json_auto($path, format = 'newline_delimited') WHERE {' AND '.join(where)}"
                f" ORDER BY time DESC LIMIT {int(limit)}",
                params=params,
            )
            return relation.columns, relation.fetchall()


def _masked(value: Any) -> Any:
    """Every string in a (nested) value with its personal data masked."""
    if isinstance(value, str):
        return mask_text(value)[0]
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def tool_calls(calls: list[Any]) -> list[dict[str, Any]]:
    """Tool calls as plain dicts for the log."""
    return [json.loads(c.model_dump_json(include={"tool", "arguments", "error", "seconds"})) for c in calls]
