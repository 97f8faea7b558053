"""`run_sql`: the analyst's escape hatch, guarded.

`guard()` parses the SQL with sqlglot and allows exactly one read-only query (SELECT / WITH /
set operations) over the warehouse's tables and views. It refuses DDL and DML, COPY, ATTACH,
INSTALL/LOAD, PRAGMA, SET, multiple statements, and every function that reads files, URLs or
the system (read_csv, glob, getenv, duckdb_settings, …): table sources are allow-listed, and
risky functions are refused wherever they appear. The query then runs on a read-only
connection with a row limit and a time limit (`execute`).
"""

from __future__ import annotations

import re
import threading
import time

import sqlglot
from pydantic import BaseModel, Field
from sqlglot import exp

from tools.base import ToolContext, ToolError, ToolResult
from tools.narrate import table_sentence

# Table-valued functions that only generate values.
SAFE_TABLE_FUNCTIONS = {"range", "generate_series", "unnest"}
# Functions that reach outside the warehouse, whatever their position in the query.
_FORBIDDEN_FUNCTION = re.compile(
    r"^(read_\w+|\w+_scan|scan_\w+|glob|sniff_csv|getenv|current_setting|duckdb_\w+|pragma_\w+|"
    r"load_extension|install_extension|query|query_table|sql_auto_complete|which_secret|"
    r"parquet_\w+|iceberg_\w+|delta_\w+|httpfs\w*|postgres_\w+|mysql_\w+|sqlite_\w+|"
    r"system|shell|pg_read_file|pg_ls_dir|lo_import|lo_export|copy_\w+|export_\w+)$",
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


def guard(sql: str, allowed_tables: set[str], max_rows: int) -> str:
    """The query, checked and with a row limit (max_rows + 1, to tell a truncated result); or SqlRejected."""
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise SqlRejected("the query is empty")
    if len(text) > 20_000:
        raise SqlRejected("the query is longer than 20,000 characters")
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
            name = node.sql_name() if not isinstance(node, exp.Anonymous) else str(node.this)
            if _FORBIDDEN_FUNCTION.match(name.lower()):
                raise SqlRejected(
                    f"function {name.lower()} is not allowed: queries may only read the warehouse"
                )
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if isinstance(table.this, exp.Func):  # a table function in FROM
            name = (
                table.this.sql_name() if not isinstance(table.this, exp.Anonymous) else str(table.this.this)
            )
            if name.lower() not in SAFE_TABLE_FUNCTIONS:
                raise SqlRejected(f"table function {name.lower()} is not allowed")
            continue
        if table.catalog or table.db:
            raise SqlRejected(f"{table.sql()} is not a warehouse table: use the table name alone")
        name = table.name.lower()
        if name not in allowed_tables and name not in ctes:
            known = ", ".join(sorted(allowed_tables))
            raise SqlRejected(f"unknown table {table.name!r}; the warehouse has: {known}")
    return f"SELECT * FROM (\n{text}\n) AS result LIMIT {max_rows + 1}"


def execute(
    ctx: ToolContext, sql: str, *, max_rows: int | None = None
) -> tuple[list[str], list[tuple], bool, float]:
    """Run guarded SQL on the read-only connection: (columns, rows, truncated, seconds).

    The query is interrupted after the settings' time limit."""
    limit = max_rows or ctx.settings.query_row_limit
    checked = guard(sql, ctx.allowed_tables, limit)
    if not ctx.warehouse.is_duckdb:  # one path for every warehouse: tools write DuckDB SQL
        checked = sqlglot.transpile(checked, read="duckdb", write=ctx.warehouse.dialect)[0]
    started = time.perf_counter()
    with ctx.warehouse.engine.connect() as conn:
        raw = conn.connection.driver_connection
        timer = (
            threading.Timer(ctx.settings.query_timeout, raw.interrupt) if ctx.warehouse.is_duckdb else None
        )
        if timer:
            timer.start()
        try:
            cursor = conn.exec_driver_sql(checked)
            columns = list(cursor.keys())
            rows = [tuple(r) for r in cursor.fetchall()]
        except Exception as exc:  # the database's own message is what the model needs to fix it
            if timer and not timer.is_alive() and time.perf_counter() - started >= ctx.settings.query_timeout:
                raise ToolError(
                    f"the query ran longer than {ctx.settings.query_timeout:.0f}s and was stopped"
                ) from None
            raise ToolError(
                f"the database rejected the query: {_first_line(str(getattr(exc, 'orig', exc)))}"
            ) from None
        finally:
            if timer:
                timer.cancel()
    truncated = len(rows) > limit
    return columns, rows[:limit], truncated, time.perf_counter() - started


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return (lines[0] if lines else text)[:400]


class RunSqlArgs(BaseModel):
    query: str = Field(description="One DuckDB SELECT query over the warehouse tables and views.")


def run_sql(ctx: ToolContext, args: RunSqlArgs) -> ToolResult:
    """Run one read-only SQL query over the warehouse (DuckDB dialect) and return its rows.

    Use it when no metric fits. Tables: events, products, users; views: orders, sessions,
    daily_metrics. Dates: use the data's last day, not today."""
    columns, rows, truncated, seconds = execute(ctx, args.query)
    return ToolResult(
        tool="run_sql",
        arguments=args.model_dump(),
        sql=args.query,
        columns=columns,
        rows=rows,
        truncated=truncated,
        seconds=seconds,
        summary=table_sentence(columns, rows, truncated),
        interpretation="A SQL query written by the model (below), run as it is; check it answers the question.",
    )
