"""`run_sql`: the analyst's escape hatch, guarded three times.

1. `guard()` parses the SQL with sqlglot and allows exactly one read-only query (SELECT / WITH /
   set operations) over the warehouse's tables and views. It refuses DDL and DML, COPY, ATTACH,
   INSTALL/LOAD, PRAGMA, SET, multiple statements, every function that reads files, URLs or the
   system (read_csv, glob, getenv, duckdb_settings, …), and every table name that is neither a
   warehouse table nor a WITH name in scope where it is used (DuckDB would read such a name as a
   file: `FROM '/etc/passwd'`). Any failure of the check is a refusal, never a pass.
2. The query runs on a connection with external access off and its settings locked
   (`assistant.warehouse.db.query_lockdown`, `lock_down`): no file, URL or extension, whatever the
   guard missed; the one folder it may read is the dataset's live event batches (the collector's).
3. On the embedded warehouse it runs in its own process (`tools/sql_worker.py`) capped at the
   settings' memory, killed past the time limit, and its rows are capped in number and bytes.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Literal

import sqlglot
from pydantic import BaseModel, Field
from sqlglot import exp

from assistant.settings import Settings
from assistant.warehouse import spark
from assistant.warehouse.db import Warehouse, lockdown_statements, query_lockdown
from assistant.warehouse.live import live_view_statements
from assistant.warehouse.schema import describe_columns
from tools.base import GENERIC_FOLLOW_UPS, InChinese, Tool, ToolContext, ToolError, ToolResult, plain_number
from tools.narrate import table_sentence
from tools.sql_worker import fetch_bounded

# Table-valued functions that only generate values.
SAFE_TABLE_FUNCTIONS = {"range", "generate_series", "unnest"}
# Functions that reach outside the warehouse, whatever their position in the query.
_FORBIDDEN_FUNCTION = re.compile(
    r"^(read_\w+|\w+_scan|scan_\w+|glob|sniff_csv|getenv|getvariable|current_setting|duckdb_\w+|pragma_\w+|"
    r"load_extension|install_extension|query|query_table|sql_auto_complete|which_secret|"
    r"parquet_\w+|iceberg_\w+|delta_\w+|httpfs\w*|postgres_\w+|mysql_\w+|sqlite_\w+|"
    r"system|shell|copy_\w+|export_\w+|"
    # PostgreSQL's: server files and large objects, settings, other servers, SQL run from a string,
    # sequences (the one write a SELECT can make)
    r"pg_\w+|lo_\w+|set_config|dblink\w*|\w+_to_xml\w*|xpath\w*|nextval|setval|"
    # Spark's: Java methods called by name, the files a table is read from
    r"reflect|java_method|try_reflect|input_file_\w+)$",
    re.IGNORECASE,
)
_WRITES = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.TruncateTable,
    exp.Copy,
    exp.Command,
    exp.Set,
    exp.Pragma,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Use,
    exp.LoadData,
    exp.Describe,
    exp.Attach,
    exp.Detach,
    exp.Install,
    exp.Into,
    exp.Export,
    exp.Summarize,
    exp.Show,
    exp.Grant,
    exp.Revoke,
    exp.Analyze,
    exp.Refresh,
    exp.Cache,
    exp.Uncache,
)


class SqlRejected(ToolError):
    """The SQL is not a single read-only query over the warehouse."""


log = logging.getLogger(__name__)

MAX_DEPTH = 100  # nested parentheses; sqlglot and DuckDB recurse on nesting
_PLAIN_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def guard(sql: str, allowed_tables: set[str], max_rows: int) -> str:
    """The query, checked and with a row limit (max_rows + 1, to tell a truncated result); or SqlRejected."""
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise SqlRejected("the query is empty")
    if len(text) > 20_000:
        raise SqlRejected("the query is longer than 20,000 characters")
    try:
        _check(text, allowed_tables)
    except SqlRejected:
        raise
    except RecursionError:
        raise SqlRejected("the query is nested too deeply") from None
    except Exception as exc:  # the guard never fails open, and never fails with a trace
        raise SqlRejected(f"the query could not be checked ({type(exc).__name__}): it is refused") from None
    return f"SELECT * FROM (\n{text}\n) AS result LIMIT {max_rows + 1}"


def _check(text: str, allowed_tables: set[str]) -> None:
    if _depth(text) > MAX_DEPTH:
        raise SqlRejected(f"the query nests parentheses more than {MAX_DEPTH} deep")
    try:
        statements = [s for s in sqlglot.parse(text, read="duckdb") if s is not None]
    except sqlglot.errors.SqlglotError as exc:  # parse and tokenizer errors (an unclosed quote)
        raise SqlRejected(f"the query does not parse: {_first_line(str(exc))}") from None
    if len(statements) != 1:
        raise SqlRejected(f"exactly one statement is allowed, got {len(statements)}")
    tree = statements[0]
    if isinstance(tree, _WRITES):
        raise SqlRejected(
            f"{tree.key.upper()} is not allowed: the warehouse is read-only, only SELECT queries run"
        )
    if not isinstance(tree, exp.Query):
        raise SqlRejected(f"only SELECT queries are allowed, not {tree.key.upper()}")
    for node in tree.walk():
        if isinstance(node, _WRITES):
            raise SqlRejected(f"{node.key.upper()} is not allowed: the warehouse is read-only")
        if isinstance(node, exp.Func):
            name = _function_name(node)
            if _FORBIDDEN_FUNCTION.match(name):
                raise SqlRejected(f"function {name} is not allowed: queries may only read the warehouse")
        if isinstance(node, exp.CTE) and not _PLAIN_NAME.match(node.alias_or_name.lower()):
            raise SqlRejected(
                f"the WITH name {node.alias_or_name!r} is not allowed: use letters, digits and '_'"
            )
    for table in tree.find_all(exp.Table):
        if isinstance(table.this, exp.Func):  # a table function in FROM
            name = _function_name(table.this)
            if name not in SAFE_TABLE_FUNCTIONS:
                raise SqlRejected(f"table function {name} is not allowed")
            continue
        if table.catalog or table.db:
            raise SqlRejected(f"{table.sql()} is not a warehouse table: use the table name alone")
        name = table.name.lower()
        # A name the query does not define where it is used, nor the warehouse, is what DuckDB
        # would read as a file or a catalog: refused, quoted or not.
        if name not in allowed_tables and name not in _ctes_in_scope(table):
            known = ", ".join(sorted(allowed_tables))
            defined = sorted({cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)})
            if defined:  # a small model splices CTEs from two examples and drops one it uses
                raise SqlRejected(
                    f"unknown table {table.name!r}: the WITH clause defines only {', '.join(defined)};"
                    f" define {table.name} there too, or use a warehouse table ({known})"
                )
            raise SqlRejected(f"unknown table {table.name!r}; the warehouse has: {known}")


def _function_name(node: exp.Func) -> str:
    return (str(node.this) if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def _depth(text: str) -> int:
    """How deep the parentheses nest (a string's parentheses count too: cheap, and harmless)."""
    deepest = depth = 0
    for char in text:
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    return deepest


def _ctes_in_scope(table: exp.Table) -> set[str]:
    """The WITH names a table reference can mean: those of each enclosing query, and within a
    WITH list only the ones declared before (itself too when the WITH is RECURSIVE)."""
    names: set[str] = set()
    child: exp.Expression = table
    node = table.parent
    while node is not None:
        if isinstance(node, exp.With):
            position = next(i for i, cte in enumerate(node.expressions) if cte is child)
            names |= {cte.alias_or_name.lower() for cte in node.expressions[:position]}
            if node.args.get("recursive"):
                names.add(child.alias_or_name.lower())
        elif isinstance(node, exp.Query) and not isinstance(child, exp.With):
            names |= {cte.alias_or_name.lower() for cte in node.ctes}
        child, node = node, node.parent
    return names


def execute(
    ctx: ToolContext, sql: str, *, max_rows: int | None = None, compiled: bool = False
) -> tuple[list[str], list[tuple], bool, float]:
    """Run guarded SQL on the read-only connection: (columns, rows, truncated, seconds).

    `compiled`: SQL the metrics layer wrote (its shapes are bounded aggregates, in DuckDB's own
    memory accounting) runs in this process, saving the query process's 0.1 s start; SQL a model
    wrote runs in its own capped process (`run_bounded`)."""
    limit = max_rows or ctx.settings.query_row_limit
    checked = guard(sql, ctx.allowed_tables, limit)
    checked = ctx.warehouse.sql(checked)  # one path for every warehouse: tools write DuckDB SQL
    started = time.perf_counter()
    run = _run_here if compiled else run_bounded
    columns, rows = run(ctx.warehouse, ctx.settings, checked, limit + 1)
    truncated = len(rows) > limit
    return columns, rows[:limit], truncated, time.perf_counter() - started


def run_bounded(
    warehouse: Warehouse, settings: Settings, sql: str, max_rows: int
) -> tuple[list[str], list[tuple]]:
    """Run untrusted SQL with every query limit of the settings: at most `max_rows` rows and
    `query_result_limit` bytes of them, stopped past `query_timeout`. On a DuckDB file it runs in
    its own locked-down process capped at `query_memory_limit` (DuckDB's own cap does not see
    every allocation: one huge list or string is made outside its buffer manager), so no query
    can take the app's memory. Errors come back as ToolError."""
    if warehouse.duckdb_file is not None:
        return _run_in_worker(warehouse.duckdb_file, settings, sql, max_rows)
    return _run_here(warehouse, settings, sql, max_rows)


WORKER = Path(__file__).with_name("sql_worker.py")


class WorkerReply(BaseModel):
    """What the query process sends back (tools/sql_worker.py)."""

    columns: list[str] = []
    rows: list[tuple] = []
    error: Literal["database", "size", "memory", "time", "crash"] | None = None
    message: str = ""
    peak_rss: int | None = None  # bytes, the query process's peak resident memory


def run_isolated(database: Path, settings: Settings, sql: str, max_rows: int) -> WorkerReply:
    """Run SQL in a new locked-down process on the DuckDB file, its address space capped at
    what it had after start-up plus `query_memory_limit`; killed past `query_timeout`."""
    memory = int(settings.query_memory_limit)
    config = query_lockdown(settings) | {
        # DuckDB spills before the process cap is reached; the rest is for what it cannot spill.
        "memory_limit": f"{memory * 3 // 4 // 1024**2}MiB",
        "threads": settings.duckdb_threads or os.cpu_count() or 1,
    }
    request = {
        "database": str(database),
        "config": config,
        "sql": sql,
        "max_rows": max_rows,
        "max_bytes": int(settings.query_result_limit),
        "memory": memory,
        "lockdown": lockdown_statements(settings),
        "live": live_view_statements(settings, database.stem),
    }
    worker = subprocess.Popen(
        [sys.executable, "-I", str(WORKER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = worker.communicate(pickle.dumps(request), timeout=settings.query_timeout)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.communicate()
        return WorkerReply(error="time")
    if worker.returncode != 0 or not out:  # killed by the system, or no memory left to say why
        log.warning(
            "query process died (rc %s): %s", worker.returncode, _first_line(err.decode(errors="replace"))
        )
        return WorkerReply(error="crash")
    reply = WorkerReply.model_validate(pickle.loads(out))
    log.debug("query process: peak RSS %s bytes", reply.peak_rss)
    return reply


def _run_in_worker(
    database: Path, settings: Settings, sql: str, max_rows: int
) -> tuple[list[str], list[tuple]]:
    reply = run_isolated(database, settings, sql, max_rows)
    memory = settings.query_memory_limit.human_readable()
    match reply.error:
        case None:
            return reply.columns, reply.rows
        case "database":
            raise ToolError(f"the database rejected the query: {_database_message(reply.message)}")
        case "size":
            raise ToolError(_too_large(settings))
        case "memory":
            raise ToolError(
                f"the query needed more than {memory} of memory and was stopped:"
                " aggregate, filter or select fewer columns"
            )
        case "time":
            raise ToolError(f"the query ran longer than {settings.query_timeout:.0f}s and was stopped")
        case _:
            raise ToolError(
                f"the query stopped: it needed more than {memory} of memory or crashed its process"
            )


def _run_here(
    warehouse: Warehouse, settings: Settings, sql: str, max_rows: int
) -> tuple[list[str], list[tuple]]:
    """In this process: another database server (it bounds its own memory) or an in-memory DuckDB."""
    with warehouse.engine.connect() as conn:
        raw = conn.connection.driver_connection
        timer = threading.Timer(settings.query_timeout, raw.interrupt) if warehouse.is_duckdb else None
        started = time.perf_counter()
        if timer:
            timer.start()
        try:
            if warehouse.is_duckdb:
                cursor = conn.exec_driver_sql(sql)
                columns = list(cursor.keys())
            else:  # the driver's own cursor, no parameters: a `%` in a LIKE pattern is just a `%`
                cursor = conn.connection.cursor()
                cursor.execute(sql)
                columns = [d[0] for d in cursor.description or []]
            rows = fetch_bounded(cursor, max_rows, int(settings.query_result_limit))
            if rows is None:
                raise ToolError(_too_large(settings))
            if warehouse.is_spark:
                rows = spark.typed_rows(rows, cursor.description)
            rows = [tuple(plain_number(v) for v in row) for row in rows]
        except ToolError:
            raise
        except Exception as exc:  # the database's own message is what the model needs to fix it
            if timer and not timer.is_alive() and time.perf_counter() - started >= settings.query_timeout:
                raise ToolError(
                    f"the query ran longer than {settings.query_timeout:.0f}s and was stopped"
                ) from None
            text = spark.error_text(exc) or str(getattr(exc, "orig", exc))
            raise ToolError(f"the database rejected the query: {_database_message(text)}") from None
        finally:
            if timer:
                timer.cancel()
    return columns, rows


def _too_large(settings: Settings) -> str:
    return (
        f"the result is larger than {settings.query_result_limit.human_readable()}:"
        " select fewer or shorter columns, or aggregate"
    )


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return (lines[0] if lines else text)[:400]


# The database's own suggestions after its first line: the columns or table it could have meant
# are what the model needs to correct a misspelled name (DuckDB's bindings, PostgreSQL's hint).
SUGGESTION = re.compile(r"^\s*(Candidate bindings:|Did you mean|HINT:)", re.IGNORECASE)


# A column asked of a table (or alias) that lacks it: DuckDB's "Table "o" does not have a column
# named "x"" and "Values list "T1" …", PostgreSQL's "column o.x does not exist".
MISSING_COLUMN = re.compile(
    r'does not have a column named "(?P<duck>\w+)"|column "?(?:\w+\.)?(?P<pg>\w+)"? does not exist',
    re.IGNORECASE,
)


def _database_message(text: str) -> str:
    """The database's error for the model: its first line and any suggestion it made, or for a
    column asked of the wrong table, the tables that have it (the model joined orders for
    `event_type`, which only events has, and wrote the same join again)."""
    hints = [line.strip()[:300] for line in text.strip().splitlines()[1:] if SUGGESTION.match(line)]
    first = _first_line(text)
    missing = MISSING_COLUMN.search(first)
    if missing and not hints:
        column = (missing.group("duck") or missing.group("pg")).lower()
        having = [table for table, columns in describe_columns().items() if column in columns]
        hints = [
            f"{column} is a column of {', '.join(having)}."
            if having
            else f"No table or view has a column {column}."
        ]
    return " ".join([first, *hints[:1]])


class RunSqlArgs(BaseModel):
    query: str = Field(description="One DuckDB SELECT query over the warehouse tables and views.")


def run_sql(ctx: ToolContext, args: RunSqlArgs) -> ToolResult:
    """Run one read-only SQL query over the warehouse (DuckDB dialect) and return its rows.

    Use it when no metric fits. Tables: events, products, users; views: orders, sessions,
    daily_metrics. Dates: use the data's last day, not today."""
    columns, rows, truncated, seconds = execute(ctx, args.query)
    return ToolResult(
        sql=args.query,
        columns=columns,
        rows=rows,
        truncated=truncated,
        seconds=seconds,
        summary=table_sentence(columns, rows, truncated),
        interpretation="A SQL query written by the model (below), run as it is; check it answers the question.",
        zh=InChinese(
            summary=table_sentence(columns, rows, truncated, language="zh"),
            interpretation="模型写的 SQL 查询（见下），按原样运行；请核对它是否回答了所问的问题。",
        ),
    )


def tools(semantic: Any) -> list[Tool]:
    return [
        Tool(
            "run_sql",
            run_sql,
            RunSqlArgs,
            prompt="one DuckDB SELECT, only when query_metric cannot express the question (pairs of products, "
            "gaps between orders, titles). Tables: events(event_time, user_id, session_id, event_type, "
            "product_id, category, brand, price, quantity, order_id, query_text), products(product_id, "
            "title, category, category_path, brand, price, description), users(user_id, first_seen, "
            "country, attributes); views: orders(order_id, user_id, order_time, items, "
            "distinct_products, revenue, order_number (1 = the customer's first), customer_orders, "
            "days_since_previous_order, days_since_first_order), sessions(session_id, user_id, "
            "session_start, session_end, events, views, carts, purchases, reached_cart, reached_purchase, "
            "first_purchase_time), daily_metrics(day, "
            "category, events, users, sessions, views, carts, purchases, orders, revenue).",
            group="sql",
            follow_ups=lambda arguments, first: GENERIC_FOLLOW_UPS,
        )
    ]
