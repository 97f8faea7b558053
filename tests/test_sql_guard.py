"""The SQL guard and read-only execution: hostile and broken SQL is refused, the warehouse never changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from tools.base import ToolContext, ToolError
from tools.sql import SqlRejected, execute, guard

from .conftest import DemoShops

TABLES = {"events", "products", "users", "rejected_rows", "loads", "orders", "sessions", "daily_metrics"}

HOSTILE = [
    ("DROP TABLE events", "DROP is not allowed"),
    ("DELETE FROM events", "DELETE is not allowed"),
    (
        "INSERT INTO events (event_time, event_type, source_dataset) VALUES (now(), 'view', 'x')",
        "INSERT is not allowed",
    ),
    ("UPDATE products SET price = 0", "UPDATE is not allowed"),
    ("CREATE TABLE stolen AS SELECT * FROM users", "CREATE is not allowed"),
    ("CREATE VIEW v AS SELECT 1", "CREATE is not allowed"),
    ("ALTER TABLE events ADD COLUMN x INTEGER", "ALTER is not allowed"),
    ("TRUNCATE events", "not allowed"),
    ("COPY events TO '/tmp/shoplens-stolen.csv'", "COPY is not allowed"),
    ("COPY (SELECT * FROM users) TO '/tmp/shoplens-u.parquet' (FORMAT parquet)", "COPY is not allowed"),
    ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH is not allowed"),
    ("DETACH shop", "DETACH is not allowed"),
    ("INSTALL httpfs", "INSTALL is not allowed"),
    ("LOAD httpfs", "only SELECT queries"),
    ("PRAGMA database_list", "PRAGMA is not allowed"),
    ("SET memory_limit = '1TB'", "SET is not allowed"),
    ("SELECT 1; DROP TABLE events", "exactly one statement"),
    ("SELECT * FROM events; SELECT * FROM users", "exactly one statement"),
    ("/* harmless */ DROP TABLE events", "DROP is not allowed"),
    ("select * from EVENTS where 1=1; drop table EVENTS", "exactly one statement"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv is not allowed"),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", "not allowed"),
    ("SELECT * FROM '/etc/passwd'", "unknown table '/etc/passwd'"),
    ("SELECT * FROM read_parquet('s3://bucket/x.parquet')", "not allowed"),
    ("SELECT * FROM 'https://example.com/data.csv'", "unknown table"),
    ("SELECT * FROM read_json('/root/.bash_history')", "not allowed"),
    ("SELECT * FROM read_text('/etc/hosts')", "not allowed"),
    ("SELECT * FROM glob('/root/*')", "not allowed"),
    ("SELECT getenv('HOME')", "getenv is not allowed"),
    ("SELECT * FROM duckdb_settings()", "not allowed"),
    ("SELECT * FROM duckdb_tables()", "not allowed"),
    ("SELECT current_setting('memory_limit')", "not allowed"),
    ("SELECT * FROM pragma_table_info('events')", "not allowed"),
    ("SELECT * FROM sqlite_scan('/tmp/x.db', 't')", "not allowed"),
    ("SELECT * FROM postgres_scan('host=evil', 'public', 't')", "not allowed"),
    ("SELECT * FROM query('DROP TABLE events')", "not allowed"),
    ("SELECT * FROM query_table('events')", "not allowed"),
    ("SELECT * INTO backup FROM events", "INTO is not allowed"),
    ("EXPORT DATABASE '/tmp/shoplens-dump'", "does not parse"),
    ("CALL pragma_version()", "only SELECT queries"),
    ("VACUUM", "only SELECT queries"),
    ("CHECKPOINT", "only SELECT queries"),
    ("BEGIN TRANSACTION", "only SELECT queries"),
    ("SELECT * FROM shop.main.events", "not a warehouse table"),
    ("SELECT * FROM information_schema.tables", "not a warehouse table"),
    ("SELECT * FROM sqlite_master", "unknown table 'sqlite_master'"),
    ("DESCRIBE events", "only SELECT queries"),
    ("SUMMARIZE events", "only SELECT queries"),
    ("SHOW TABLES", "only SELECT queries"),
    ("USE memory", "only SELECT queries"),
    ("GRANT ALL ON events TO public", "only SELECT queries"),
    ("WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x", "read_csv is not allowed"),
    (
        "SELECT * FROM events WHERE product_id IN (SELECT * FROM read_csv('/etc/passwd'))",
        "read_csv is not allowed",
    ),
    ("SELECT * FROM events e JOIN missing_table m ON true", "unknown table 'missing_table'"),
]
BROKEN = [
    ("", "the query is empty"),
    ("   ;;; ", "the query is empty"),
    ("SELEC * FROM events", "does not parse"),
    ("SELECT * FROM events WHERE", "does not parse"),
    ("SELECT (((", "does not parse"),
    ("SELECT 'unclosed", "does not parse"),  # found by the fuzz test below: a tokenizer error
    ("SELECT * FROM nonexistent", "unknown table 'nonexistent'; the warehouse has: daily_metrics, events"),
    (  # two examples' CTEs spliced, one they use left out: the error says which
        "WITH f AS (SELECT user_id FROM events), r AS (SELECT * FROM o) SELECT * FROM f JOIN r USING (user_id)",
        "unknown table 'o': the WITH clause defines only f, r; define o there too",
    ),
    ("SELECT 1 " + "+ 1 " * 6000, "longer than 20,000 characters"),
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, demo_shops: DemoShops) -> tuple[ToolContext, Path]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("guard"), duckdb_memory_limit="1GB", query_timeout=2)
    demo_shops.copy(settings.data_dir, 10_000, seed=1)
    reader = Warehouse(settings, read_only=True)
    yield ToolContext.open(settings, reader), settings.data_dir
    reader.close()


def fingerprint(ctx: ToolContext, data_dir: Path) -> tuple:
    with ctx.warehouse.engine.connect() as conn:
        counts = tuple(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() for t in sorted(TABLES))
        checksum = conn.exec_driver_sql(
            "SELECT sum(hash(event_time, user_id, event_type, price)) FROM events"
        ).scalar()
    files = sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if not p.name.endswith(".wal"))
    return counts, checksum, files


def test_the_table_has_at_least_40_hostile_inputs() -> None:
    assert len(HOSTILE) >= 40


@pytest.mark.parametrize(
    ("sql", "message"), HOSTILE + BROKEN, ids=[s[:40] or "empty" for s, _ in HOSTILE + BROKEN]
)
def test_hostile_and_broken_sql_is_refused_with_a_clear_message(shop, sql: str, message: str) -> None:
    ctx, data_dir = shop
    before = fingerprint(ctx, data_dir)
    with pytest.raises(SqlRejected) as refused:
        execute(ctx, sql)
    assert message in str(refused.value)
    assert fingerprint(ctx, data_dir) == before
    for leaked in ("/tmp/shoplens-stolen.csv", "/tmp/shoplens-u.parquet", "/tmp/shoplens-dump"):
        assert not Path(leaked).exists()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) FROM events",
        "select category, sum(price) from events where event_type = 'purchase' group by 1",
        "WITH t AS (SELECT user_id, count(*) n FROM events GROUP BY 1) SELECT max(n) FROM t",
        "SELECT * FROM orders o JOIN users u USING (user_id) LIMIT 5",
        "SELECT day, sum(revenue) FROM daily_metrics GROUP BY day ORDER BY day",
        "SELECT 1 -- ; DROP TABLE events",
        "SELECT * FROM range(3)",
        "SELECT product_id FROM products UNION SELECT product_id FROM events",
        "SELECT 'DROP TABLE events' AS harmless_text",
        "SELECT unnest([1, 2, 3]) AS n",
    ],
)
def test_ordinary_read_queries_run(shop, sql: str) -> None:
    ctx, _ = shop
    columns, rows, truncated, _ = execute(ctx, sql)
    assert columns and rows is not None and not truncated


def test_results_are_capped_and_flagged_truncated(shop) -> None:
    ctx, _ = shop
    columns, rows, truncated, _ = execute(ctx, "SELECT * FROM events", max_rows=25)
    assert len(rows) == 25 and truncated
    _, rows, truncated, _ = execute(ctx, "SELECT * FROM events LIMIT 5", max_rows=25)
    assert len(rows) == 5 and not truncated


def test_database_errors_come_back_readable_for_the_model(shop) -> None:
    ctx, _ = shop
    with pytest.raises(ToolError, match=r'the database rejected the query: .*"revenu"'):
        execute(ctx, "SELECT revenu FROM orders")
    # The database's suggestion comes along: the columns it could have meant, the table it knows.
    with pytest.raises(ToolError, match=r'Candidate bindings: .*"revenue"'):
        execute(ctx, "SELECT revenu FROM orders")
    with pytest.raises(ToolError, match=r"Candidate bindings: .*days_since_previous_order"):
        execute(ctx, "SELECT median(days_since_second_order) FROM orders WHERE order_number = 3")
    # A column asked of a table that lacks it: the tables that have it (the model had joined
    # orders for event_type), or that none has (a metrics-layer name like product_text).
    with pytest.raises(ToolError, match=r'column named "event_type" event_type is a column of events\.$'):
        execute(ctx, "SELECT count(*) FROM orders AS t1 WHERE t1.event_type = 'cart'")
    with pytest.raises(ToolError, match=r"No table or view has a column product_text\.$"):
        execute(ctx, "SELECT o.product_text FROM orders o")


def test_long_queries_are_stopped(shop) -> None:
    ctx, _ = shop
    with pytest.raises(ToolError, match="ran longer than 2s and was stopped"):
        execute(ctx, "SELECT count(*) FROM range(100000000000) a")
    assert execute(ctx, "SELECT 1")[1] == [(1,)]  # the connection still works


def test_the_agent_connection_cannot_write_even_without_the_guard(shop) -> None:
    ctx, data_dir = shop
    before = fingerprint(ctx, data_dir)
    for statement in (
        "CREATE TABLE x (a INTEGER)",
        "DELETE FROM events",
        "INSERT INTO loads SELECT * FROM loads",
    ):
        with ctx.warehouse.engine.connect() as conn, pytest.raises(Exception, match="read-only"):
            conn.exec_driver_sql(statement)
    assert fingerprint(ctx, data_dir) == before


FRAGMENTS = st.sampled_from(
    [
        "SELECT",
        "*",
        "FROM",
        "events",
        "users",
        "WHERE",
        "1=1",
        ";",
        "DROP TABLE",
        "DELETE FROM",
        "INSERT INTO",
        "read_csv('/etc/passwd')",
        "'/etc/passwd'",
        "glob('*')",
        "getenv('HOME')",
        "COPY",
        "TO",
        "'/tmp/x'",
        "ATTACH",
        "PRAGMA",
        "(",
        ")",
        "UNION",
        "SELECT 1",
        "count(*)",
        ",",
        "duckdb_settings()",
        "AS x",
        "JOIN",
        "ON true",
        "--",
        "/*",
        "*/",
        "WITH t AS",
        "INTO",
        "SET",
        "query('x')",
        "LIMIT 1",
    ]
)


@hsettings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)  # examples: conftest.py
@given(st.one_of(st.lists(FRAGMENTS, min_size=1, max_size=12).map(" ".join), st.text(max_size=200)))
def test_fuzz_the_guard_only_ever_refuses_or_runs_harmlessly(shop, sql: str) -> None:
    ctx, data_dir = shop
    before = fingerprint(ctx, data_dir)
    try:
        checked = guard(sql, ctx.allowed_tables, 10)
    except SqlRejected as refused:
        assert str(refused)  # always a message
        return
    lowered = checked.lower()
    for forbidden in ("read_csv", "glob(", "getenv", "duckdb_settings", "query('", "'/etc/passwd'"):
        # Accepted only inside a string or comment: then running it must not touch anything.
        if forbidden in lowered:
            assert "'" in lowered or "--" in lowered or "/*" in lowered
    try:
        execute(ctx, sql, max_rows=10)
    except ToolError:
        pass
    assert fingerprint(ctx, data_dir) == before
