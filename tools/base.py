"""What every tool shares: the context it runs in, its result, and its error."""

from __future__ import annotations

import inspect
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import sqlalchemy as sa
from pydantic import BaseModel, Field, ValidationError

from assistant.settings import Settings
from assistant.warehouse import schema, spark
from assistant.warehouse.db import Warehouse


class ToolError(Exception):
    """A tool could not do what was asked; the message is written for the model to fix its call."""


class UnknownValue(ToolError):
    """The call filters on a value the data does not have (a category, a brand, words in product
    names). `lack` says so to the user: when the question itself names the value and no try
    found it, the data lacks what the question asks about ("business (B2B)" accounts)."""

    def __init__(self, message: str, value: str, lack: str) -> None:
        super().__init__(message)
        self.value = value
        self.lack = lack


class UnknownEntity(UnknownValue):
    """The call names a user or product the data does not have. When the question itself names
    that id, no retry can help: the user hears it plainly."""

    def __init__(self, message: str, value: str, lack: str = "") -> None:
        super().__init__(message, value, lack)


BATCH_ROWS = 100_000  # rows per Arrow batch streamed from the warehouse (a few MB)
# After a lookup that leads nowhere in particular: two questions most shops ask.
GENERIC_FOLLOW_UPS = ["What was revenue in the last 7 days?", "Show the funnel from view to purchase"]
FollowUps = Callable[[dict[str, Any], Callable[[str], Any]], list[str]]


@dataclass(frozen=True)
class Tool:
    """Everything about one tool, in one place: what it runs, what it takes, its entry in the
    system prompt, its group and the questions to offer after its answer. The agent's prompt,
    hints and follow-ups, the CLI's tool list and the eval's ablations are derived from these.

    `group`: "metrics" (the metrics layer: the no-metrics ablation drops these), "sql", "data"
    (what the data is) or "insight" (segments, recommendations, search …: an example of one
    close to a question is named to the model as a hint). `follow_ups(arguments, first)` writes
    up to three next questions from the call's arguments and `first(column)`, the first row's
    value of a column (None when absent)."""

    name: str
    function: Callable[[ToolContext, Any], ToolResult]
    args_model: type[BaseModel]
    prompt: str
    group: Literal["metrics", "sql", "data", "insight"] = "insight"
    writes_prose: bool = False  # its answer is prose (copy): not declined for words like "free"
    follow_ups: FollowUps | None = None

    @property
    def description(self) -> str:
        """The function's docstring, first paragraph, on one line (`shoplens tools`)."""
        return " ".join((inspect.getdoc(self.function) or "").split("\n\n")[0].split())

    def __call__(self, ctx: ToolContext, arguments: dict[str, Any]) -> ToolResult:
        args = self.args_model.model_validate(arguments)
        result = self.function(ctx, args)
        result.tool = self.name
        result.arguments = args.model_dump(mode="json", exclude_none=True)
        return result


class ChartSpec(BaseModel):
    """How to draw a result: the UI renders it with plotly; `None` fields mean 'not applicable'."""

    kind: Literal["line", "bar", "funnel", "heatmap", "table"]
    x: str | None = None
    y: list[str] = Field(default_factory=list)
    series: str | None = None
    title: str = ""
    # A period shaded on a line chart (the weeks explain_change found changed), first to last day.
    marked: tuple[date, date] | None = None
    # The chart's own figures when it draws something other than the result's table (a series
    # beside a table of contributions); None: the table.
    columns: list[str] | None = None
    rows: list[tuple[Any, ...]] | None = None
    # A second panel drawn under this one, from the result's table.
    below: ChartSpec | None = None


class InChinese(BaseModel):
    """What code wrote about a result, in Chinese (tools/chinese.py); None where no template fits."""

    summary: str | None = None
    interpretation: str | None = None
    chart_title: str | None = None


class ToolResult(BaseModel):
    tool: str = ""  # both filled by Tool.__call__
    arguments: dict[str, Any] = Field(default_factory=dict)
    sql: str | None = None
    columns: list[str] = Field(default_factory=list)
    rows: list[tuple[Any, ...]] = Field(default_factory=list)
    truncated: bool = False
    seconds: float = 0.0
    chart: ChartSpec | None = None
    notes: list[str] = Field(default_factory=list)
    text: str | None = None  # for tools whose result is prose (describe_data)
    # Prose the tool wrote for the user and already checked against its rows (marketing copy,
    # a recommendation's explanation): the agent shows it as the answer, no second model pass.
    answer: str | None = None
    # Written by code from the call and the rows: the sentence about the figures (direction,
    # units, which row), and what was computed (measure, population, filters, exact period).
    summary: str | None = None
    interpretation: str | None = None
    # The same in Chinese, for a question asked in Chinese, where a template covers the call.
    zh: InChinese | None = None

    def preview(self, max_rows: int = 12) -> str:
        """The result as compact text for the model: header and the first rows, numbers rounded.

        Bounded whatever the data holds: long texts (descriptions, queries) are cut to
        MAX_CELL_CHARS and the whole to MAX_PREVIEW_CHARS, so a huge cell can neither blow the
        context nor smuggle in a long instruction."""
        if self.text is not None:
            return self.text[:MAX_PREVIEW_CHARS]
        if not self.rows:
            return "(no rows)"
        lines = [" | ".join(cell_text(c) for c in self.columns)]
        size = len(lines[0])
        shown = 0
        for row in self.rows[:max_rows]:
            line = " | ".join(cell_text(v) for v in row)
            if size + len(line) > MAX_PREVIEW_CHARS:
                break
            lines.append(line)
            size += len(line) + 1
            shown += 1
        if len(self.rows) > shown or self.truncated:
            more = "more" if self.truncated else f"{len(self.rows) - shown} more"
            lines.append(f"… ({more} rows)")
        return "\n".join(lines)


MAX_CELL_CHARS = 100
MAX_PREVIEW_CHARS = 3000


def cell_text(value: Any) -> str:
    """A value as the model sees it in a result: formatted, on one line, cut to MAX_CELL_CHARS."""
    text = " ".join(format_value(value).split())
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


# Sentences in the shop's data that read as orders to a model (planted prompt injection). The
# model sees results fenced as data anyway; prose written *from* data (copy, explanations) also
# leaves these sentences out, so a poisoned title cannot end up in a customer e-mail.
INSTRUCTION_LIKE = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|prompts?|rules|guidelines)\b"
    r"|\b(system|developer|hidden)\s+prompt\b|\byou are now\b|\badmin mode\b|^\s*(system|assistant)\s*:"
    r"|\b(drop|truncate|alter)\s+table\b|\bdelete\s+from\b|\binsert\s+into\b|\brun_sql\b",
    re.IGNORECASE,
)


def argument_problems(exc: ValidationError, with_input: bool = False) -> str:
    """A call's invalid arguments on one line: `field: what is wrong` for each, and the value
    given when asked (an MCP client reads it to correct its call)."""
    return "; ".join(
        f"{'.'.join(map(str, e['loc']))}: {e['msg']}" + (f" (got {e['input']!r})" if with_input else "")
        for e in exc.errors()
    )


def drop_instructions(text: str | None) -> str | None:
    """`text` without its sentences that read as instructions to a model (see INSTRUCTION_LIKE)."""
    if not text:
        return text
    text = re.sub(
        r"\s*[(\[][^()\[\]]*[)\]]", lambda m: "" if INSTRUCTION_LIKE.search(m.group(0)) else m.group(0), text
    )
    sentences = re.split(r"(?<=[.!?;])\s+|\n+", text)
    return " ".join(s for s in sentences if not INSTRUCTION_LIKE.search(s)).strip()


def render(template: str, **values: object) -> str:
    """Fill `{name}` placeholders of a prompt file; other braces (JSON in the prompt) are left alone."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", str(value))
    return template


def format_value(value: Any) -> str:
    """How a value is shown to the model and the user: floats rounded, dates as dates."""
    if value is None:
        return "NULL"
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return "NaN"
        if abs(value) >= 100:
            return f"{value:,.2f}".rstrip("0").rstrip(".")
        return f"{value:.4g}" if abs(value) < 1 else f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        return (
            value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
        )
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass
class DataFacts:
    """What the model is told about the data: its span ("today" is its last day) and vocabulary."""

    first_day: date | None
    last_day: date | None
    categories: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    # The exact span (for "all data: 2019-10-01 00:00 to 02:28") and the event types present.
    first_event: datetime | None = None
    last_event: datetime | None = None
    event_types: list[str] = field(default_factory=list)
    # Why the data's calendar dates are made up (every load's format makes them up), or None.
    nominal_dates: str | None = None


@dataclass
class ToolContext:
    """Created once per assistant: the read-only warehouse, settings, and facts about the data."""

    settings: Settings
    warehouse: Warehouse
    facts: DataFacts
    # Loaded once per context: the metrics layer, and each dimension's values as the data
    # spells them (the warehouse is read-only while a context lives).
    semantic: Any = None
    dimension_values: dict[str, dict[str, str]] = field(default_factory=dict)
    allowed_tables: set[str] = field(
        default_factory=lambda: {t.name for t in schema.TABLES} | {v.name for v in schema.VIEWS}
    )
    # For the insight tools: sentence embeddings (search), a chat model for the prose they write
    # (segment names, explanations, copy; without one they write it from templates), and what
    # they have built from the data (indexes, models), kept for the context's life.
    encoder: Any = None
    llm: Any = None
    built: dict[str, Any] = field(default_factory=dict)
    progress: Callable[[str, float | None], None] = lambda stage, fraction: None
    # One build at a time: the app's sessions share a context, and two first searches must not
    # both build the index. Re-entrant: building user vectors builds the product index.
    _build_lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def cached(self, key: str, build: Callable[[], Any]) -> Any:
        """What `build` makes from the data, made once per context (concurrent callers wait)."""
        with self._build_lock:
            if key not in self.built:
                self.built[key] = build()
            return self.built[key]

    def forget(self, key: str) -> None:
        """Drop what was built under `key` (the data it came from changed); the next use builds it."""
        with self._build_lock:
            self.built.pop(key, None)

    @property
    def artifacts_dir(self) -> Path:
        """Where derived data (embedding index, recommender, segments) is kept, beside the warehouse."""
        return self.settings.data_dir / f"{self.settings.warehouse}.artifacts"

    def fingerprint(self) -> str:
        """Changes whenever a load changes the warehouse: derived data built on another is stale."""
        with self.warehouse.engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT count(*), max(loaded_at), sum(rows_loaded), sum(products_loaded) FROM loads"
            ).one()
        return "|".join(str(v) for v in row)

    def table(self, sql: str, **params: Any) -> pa.Table:
        """Rows of trusted SQL written by a tool (DuckDB dialect, `$name` parameters) as Arrow."""
        if self.warehouse.is_duckdb:
            with self.warehouse.engine.connect() as conn:
                raw = conn.connection.driver_connection
                return raw.sql(sql, params=params or None).to_arrow_table()
        # Joined by position (two columns a database names alike both stay), a column all NULL (or
        # integer) in one batch and typed (or decimal) in another promoted, as one pa.array would.
        parts = [pa.Table.from_batches([batch]) for batch in self.batches(sql, **params)]
        names = parts[0].column_names
        by_position = [f"c{i}" for i in range(len(names))]
        joined = pa.concat_tables(
            [p.rename_columns(by_position) for p in parts], promote_options="permissive"
        )
        return joined.rename_columns(names)

    def batches(self, sql: str, batch_rows: int = BATCH_ROWS, **params: Any) -> Iterator[pa.RecordBatch]:
        """The rows of `table`'s SQL as Arrow batches of at most `batch_rows`, streamed from the
        warehouse: work over a whole table (the recommender's interactions) never holds all of its
        rows at once. At least one batch, empty when there are no rows."""
        if self.warehouse.is_duckdb:
            with self.warehouse.engine.connect() as conn:
                raw = conn.connection.driver_connection
                reader = raw.sql(sql, params=params or None).to_arrow_reader(batch_rows)
                yield from _at_least_one(reader, lambda: pa.RecordBatch.from_pylist([], schema=reader.schema))
            return
        # sqlglot writes `$name` as the driver's `%(name)s`; SQLAlchemy's text() binds `:name` and
        # escapes the `%` of LIKE patterns for the driver.
        text = re.sub(r"%\((\w+)\)s", r":\1", self.warehouse.sql(sql))
        with self.warehouse.engine.connect().execution_options(stream_results=True) as conn:
            result = conn.execute(sa.text(text), params)
            columns, description = list(result.keys()), result.cursor.description
            yield from _at_least_one(
                (self._batch(rows, columns, description) for rows in result.partitions(batch_rows)),
                lambda: self._batch([], columns, description),
            )

    def _batch(self, rows: Any, columns: list[str], description: Any) -> pa.RecordBatch:
        if self.warehouse.is_spark:
            rows = spark.typed_rows(rows, description)
        rows = [[plain_number(v) for v in r] for r in rows]
        # By position: two columns a database names alike (PostgreSQL's `count`) both stay.
        arrays = [pa.array([row[i] for row in rows]) for i in range(len(columns))]
        return pa.RecordBatch.from_arrays(arrays, names=columns)

    def rows(self, sql: str, **params: Any) -> list[tuple]:
        table = self.table(sql, **params)
        return (
            list(zip(*(column.to_pylist() for column in table.columns), strict=True))
            if table.num_columns
            else []
        )

    @classmethod
    def open(cls, settings: Settings, warehouse: Warehouse) -> ToolContext:
        return cls(settings=settings, warehouse=warehouse, facts=read_facts(warehouse))


def _at_least_one(
    batches: Iterable[pa.RecordBatch], empty: Callable[[], pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """`batches`, or `empty()` when there are none: a caller always sees the result's columns."""
    none = True
    for batch in batches:
        none = False
        yield batch
    if none:
        yield empty()


def plain_number(value: Any) -> Any:
    """A database's exact decimal (PostgreSQL's numeric) as the float DuckDB gives for the same
    figure: tools, sentences and charts see one type whatever the warehouse."""
    return float(value) if isinstance(value, Decimal) else value


def person(alias: str = "") -> str:
    """SQL naming the person behind an event, for counting people (small-group suppression).

    A signed-in user is one person; an anonymous session counts as one, since nothing links it
    to a customer or to other sessions."""
    a = f"{alias}." if alias else ""
    return f"coalesce(CAST({a}user_id AS VARCHAR), 'session:' || CAST({a}session_id AS VARCHAR))"


def withheld_notes(k: int) -> list[str]:
    """The note a result carries when figures about fewer than k people are withheld (none at k 1)."""
    return (
        [f"figures over fewer than {k} people are withheld (privacy: SHOPLENS_MIN_GROUP_SIZE)"]
        if k > 1
        else []
    )


def having_people(k: int, only: str = "") -> str:
    """The HAVING that withholds a group of events about fewer than k people ("" at k 1)."""
    return f" HAVING count(DISTINCT {person('e')}){only} >= {k}" if k > 1 else ""


def unknown_user(ctx: ToolContext, user_id: str) -> str:
    """Why a user id cannot be used, for the error the model (and the user) sees."""
    if ctx.rows("SELECT count(*) FROM events WHERE user_id = $u", u=user_id)[0][0]:
        return f"user {user_id!r} has no product interactions to work from"
    sample = [r[0] for r in ctx.rows("SELECT user_id FROM users ORDER BY user_id LIMIT 3")]
    looks = ", ".join(repr(i) for i in sample) or "none: the data has no users"
    return f"there is no user {user_id!r} in the data (user ids look like {looks})"


def _nominal_dates(formats: list[str]) -> str | None:
    """Why the dates are made up, when every loaded format makes them up (Instacart); else None."""
    from assistant.warehouse.loaders import loaders

    reasons = {loader.name: loader.nominal_dates for loader in loaders()}
    said = {reasons.get(f) for f in formats}
    return said.pop() if formats and len(said) == 1 and None not in said else None


def read_facts(warehouse: Warehouse) -> DataFacts:
    def values(sql: str) -> list[str]:
        with warehouse.engine.connect() as conn:
            return [str(r[0]) for r in conn.exec_driver_sql(sql).fetchall() if r[0] is not None]

    with warehouse.engine.connect() as conn:
        first, last = conn.exec_driver_sql("SELECT min(event_time), max(event_time) FROM events").one()
    return DataFacts(
        nominal_dates=_nominal_dates(values("SELECT DISTINCT format FROM loads")),
        first_day=first.date() if first else None,
        last_day=last.date() if last else None,
        first_event=first,
        last_event=last,
        event_types=values("SELECT event_type FROM events GROUP BY 1 ORDER BY count(*) DESC"),
        categories=values(
            "SELECT category FROM events WHERE category IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 30"
        ),
        countries=values(
            "SELECT country FROM users WHERE country IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 30"
        ),
        channels=values(
            "SELECT json_extract_string(attributes, '$.channel') c FROM users WHERE c IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 20"
        )
        if warehouse.is_duckdb
        else [],
    )
