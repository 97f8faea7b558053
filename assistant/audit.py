"""The audit log: every question, tool call and SQL statement, with its session and time.

One JSON line per event, appended (a crash loses at most the line being written, never earlier
ones) to `<data dir>/audit.jsonl`; DuckDB reads the file as a table, so the log is queried with
SQL (`shoplens audit`, or `SELECT … FROM read_json_auto('audit.jsonl')`).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel, Field


class AuditEvent(BaseModel):
    time: datetime = Field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))
    session: str
    dataset: str
    kind: str  # question | tool (a tab ran a tool directly)
    question: str | None = None
    answer_kind: str | None = None
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    sql: str | None = None
    seconds: float | None = None
    error: str | None = None


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, event: AuditEvent) -> None:
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


def tool_calls(calls: list[Any]) -> list[dict[str, Any]]:
    """Tool calls as plain dicts for the log."""
    return [json.loads(c.model_dump_json(include={"tool", "arguments", "error", "seconds"})) for c in calls]
