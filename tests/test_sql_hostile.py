"""A hostile corpus against run_sql, beyond tests/test_sql_guard.py: files read by name in every
position a table can stand (DuckDB reads an unknown quoted name as a file), WITH names out of
scope, table functions, catalog and system names, quoting, nesting depth and memory bombs.

Secret files with a random marker are planted next to the data dir, inside it (the audit log,
exports, the pseudonym key) and in /tmp; a test fails if any byte of a marker reaches a result,
an error, a chat reply or the audit log, or if the warehouse changes.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import psutil
import pytest

from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from tools.base import ToolContext, ToolError
from tools.sql import SqlRejected, execute, guard, run_isolated

from .conftest import DemoShops
from .test_sql_guard import TABLES, fingerprint

MARKER = "PLANTED" + secrets.token_hex(8)
PLANT = Path(tempfile.gettempdir()) / f"shoplens-planted-{os.getpid()}"

# Where a secret can be: beside the data, inside it, anywhere on the machine, or remote.
PATHS = [
    "{plant}/secret.csv",
    "{plant}/**/*.json",
    "{plant}/secret.parquet",
    "{data}/audit.jsonl",
    "{data}/exports/*.csv",
    "{data}/pii.key",
    "{outside}/secret.csv",
    "https://example.com/x.csv",
]
# Every position a table can stand in; {n} is the quoted name.
POSITIONS = [
    "SELECT * FROM {n}",
    "FROM {n}",
    "SELECT * FROM events JOIN {n} ON true",
    "SELECT * FROM (SELECT * FROM {n}) s",
    "WITH x AS (SELECT * FROM {n}) SELECT * FROM x",
    "SELECT * FROM events WHERE user_id IN (SELECT * FROM {n})",
    "SELECT EXISTS (SELECT 1 FROM {n})",
    "SELECT (SELECT count(*) FROM {n})",
    "SELECT 1 UNION ALL SELECT * FROM {n}",
    "SELECT * FROM events, LATERAL (SELECT * FROM {n}) l",
    "WITH {n} AS (FROM {n}) FROM {n}",
]
FILE_READS = [
    position.format(n=quote + path + quote)
    for path in PATHS
    for quote in ("'", '"')
    for position in POSITIONS
]
# WITH names used where they are not defined: DuckDB would fall through to a file or catalog.
OUT_OF_SCOPE = [
    "WITH a AS (FROM b), b AS (SELECT 1) FROM a",
    "SELECT (SELECT count(*) FROM t) FROM (WITH t AS (SELECT 1) SELECT 1)",
    "SELECT * FROM (WITH t AS (SELECT 1) SELECT 1) s, t",
    "WITH a AS (SELECT 1) SELECT * FROM (SELECT * FROM b) s",
    "WITH secret AS (FROM secret) FROM secret",
    "WITH pg_settings AS (FROM pg_settings) FROM pg_settings",
    "WITH sqlite_master AS (SELECT * FROM sqlite_master) SELECT * FROM sqlite_master",
    "WITH a AS (SELECT * FROM a) SELECT * FROM a",
    "SELECT * FROM events WHERE EXISTS (WITH z AS (SELECT 1) SELECT 1) AND user_id IN (SELECT * FROM z)",
    'WITH "x.csv" AS (SELECT 1) SELECT * FROM "x.csv"',
    'WITH "a b" AS (SELECT 1) SELECT * FROM "a b"',
    "SELECT * FROM (WITH q AS (SELECT 1) SELECT * FROM q) s JOIN q ON true",
]
TABLE_FUNCTIONS = [
    f"SELECT * FROM {function}('{{plant}}/secret.csv')"
    for function in (
        "read_csv",
        "read_csv_auto",
        "read_json",
        "read_json_auto",
        "read_json_objects",
        "read_ndjson",
        "read_ndjson_objects",
        "read_parquet",
        "parquet_scan",
        "parquet_metadata",
        "parquet_schema",
        "parquet_file_metadata",
        "read_text",
        "read_blob",
        "glob",
        "sniff_csv",
        "sqlite_scan",
        "iceberg_scan",
        "delta_scan",
        "arrow_scan",
        "query_table",
        "query",
    )
] + [
    f"SELECT * FROM {function}()"
    for function in (
        "duckdb_settings",
        "duckdb_tables",
        "duckdb_databases",
        "duckdb_columns",
        "duckdb_extensions",
        "duckdb_secrets",
        "duckdb_functions",
        "duckdb_views",
        "duckdb_temporary_files",
        "pragma_database_size",
        "pragma_version",
        "pragma_storage_info",
        "which_secret",
    )
]
SCALAR_FUNCTIONS = [
    "SELECT getenv('HOME')",
    "SELECT current_setting('temp_directory')",
    "SELECT getvariable('x')",
    "SELECT length(read_text('{plant}/secret.csv'))",
    "SELECT * FROM events WHERE category = (SELECT content FROM read_text('{plant}/secret.csv'))",
    "SELECT duckdb_extensions()",
    "SELECT load_extension('httpfs')",
    "SELECT install_extension('httpfs')",
]
CATALOG_NAMES = [
    "SELECT * FROM pg_settings",
    "SELECT * FROM pg_catalog.pg_settings",
    "SELECT * FROM pg_tables",
    "SELECT * FROM pg_class",
    "SELECT * FROM pg_namespace",
    "SELECT * FROM information_schema.columns",
    "SELECT * FROM information_schema.schemata",
    "SELECT * FROM duckdb_databases",
    "SELECT * FROM duckdb_tables",
    "SELECT * FROM sqlite_master",
    "SELECT * FROM sqlite_schema",
    "SELECT * FROM system.main.duckdb_settings",
    "SELECT * FROM temp.main.secrets",
    "SELECT * FROM memory.main.x",
    'SELECT * FROM "shop"."main"."events"',
    "SELECT * FROM main.events",
]
QUOTING = [
    'SELECT * FROM "events "',
    'SELECT * FROM "ev""ents"',
    "SELECT * FROM `/etc/passwd`",
    "SELECT * FROM e'/etc/passwd'",
    "SELECT * FROM '/etc/' || 'passwd'",
    'SELECT * FROM "/etc/passwd" AS events',
    "SELECT * FROM events AS e, 'events.csv' AS f",
]
NESTING = [
    "SELECT " + "(" * 3000 + "1" + ")" * 3000,
    "SELECT " + "- " * 9000 + "1",
    "SELECT " + "NOT " * 4000 + "true",
    "SELECT " + "SELECT (" * 1500,
    "SELECT " + "abs(" * 1000 + "1" + ")" * 1000,
    "SELECT " + "[" * 2000 + "1" + "]" * 2000,
    "SELECT " + " || ".join(["'a'"] * 4000),
    "SELECT 1 WHERE " + " AND ".join(["true"] * 4000),
    "SELECT " + "CASE WHEN true THEN " * 1000 + "1" + " END" * 1000,
    "SELECT * FROM " + "(SELECT * FROM " * 500 + "events" + ") s" * 500,
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, demo_shops: DemoShops):
    """A small shop whose data dir holds planted secrets (as the app's would: the audit log,
    exports, the key), with more beside it and in /tmp."""
    root = tmp_path_factory.mktemp("hostile")
    data, outside = root / "data", root
    settings = Settings(data_dir=data, duckdb_memory_limit="1GB", query_timeout=10)
    demo_shops.copy(data, 5_000, seed=3)
    (data / "exports").mkdir()
    secret_csv = f"name,value\n{MARKER},1\n"
    (data / "audit.jsonl").write_text(f'{{"question": "{MARKER}"}}\n')
    (data / "exports" / "result-1.csv").write_text(secret_csv)
    (data / "pii.key").write_text(MARKER)
    (outside / "secret.csv").write_text(secret_csv)
    (PLANT / "deep").mkdir(parents=True, exist_ok=True)
    (PLANT / "secret.csv").write_text(secret_csv)
    (PLANT / "deep" / "secret.json").write_text(f'{{"name": "{MARKER}"}}\n')
    (PLANT / "secret.parquet").write_text(secret_csv)
    reader = Warehouse(settings, read_only=True)
    places = {"plant": str(PLANT), "data": str(data), "outside": str(outside)}
    yield ToolContext.open(settings, reader), data, places
    reader.close()
    for path in sorted(PLANT.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    PLANT.rmdir()


def corpus() -> list[str]:
    return FILE_READS + OUT_OF_SCOPE + TABLE_FUNCTIONS + SCALAR_FUNCTIONS + CATALOG_NAMES + QUOTING + NESTING


def test_the_corpus_has_over_150_inputs_beyond_the_guards_first_55() -> None:
    assert len(set(corpus())) == len(corpus()) >= 260


@pytest.mark.slow  # 264 queries, about 10 s together
@pytest.mark.parametrize("template", corpus(), ids=[q[:60] for q in corpus()])
def test_each_hostile_query_is_refused_cleanly_and_reads_nothing(shop, template: str) -> None:
    ctx, data, places = shop
    sql = template.replace("{plant}", places["plant"]).replace("{data}", places["data"])
    sql = sql.replace("{outside}", places["outside"])
    before = fingerprint(ctx, data)
    with pytest.raises(SqlRejected) as refused:
        execute(ctx, sql)
    message = str(refused.value)
    assert message and "Traceback" not in message and len(message) < 600
    assert MARKER not in message
    assert fingerprint(ctx, data) == before


def test_the_connection_reads_no_file_even_past_the_guard(shop) -> None:
    """Defence in depth: the same reads sent straight to the query connection, in this process
    and in the query process, fail on DuckDB's own lock-down."""
    ctx, data, places = shop
    reads = [f"SELECT * FROM '{path.format(**places)}'" for path in PATHS] + [
        f"SELECT * FROM read_text('{places['plant']}/secret.csv')",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SELECT * FROM 's3://bucket/x.parquet'",
    ]
    for sql in reads:
        with ctx.warehouse.engine.connect() as conn, pytest.raises(Exception) as failed:
            conn.exec_driver_sql(sql).fetchall()
        assert MARKER not in str(failed.value)
        assert any(
            word in str(failed.value)
            for word in (
                "disabled by configuration",
                "locked",
                "read-only",
                "Permission",
                "not allowed",
                "does not exist",  # a name without a file extension is no file to DuckDB
            )
        ), (sql, str(failed.value)[:300])
        reply = run_isolated(ctx.warehouse.duckdb_file, ctx.settings, sql, 10)
        assert reply.error == "database" and not reply.rows and MARKER not in reply.message, (sql, reply)


@pytest.mark.slow  # 8 queries, each in a capped process: over 10 s together
@pytest.mark.parametrize(
    "bomb",
    [
        "SELECT len(range(100000000))",
        "SELECT repeat('a', 1000000000) FROM range(5)",
        "SELECT string_agg(repeat('a', 2000000), '') FROM range(1001)",
        "SELECT string_agg(repeat('a', 100000), '') FROM range(100000)",
        "SELECT list(x) FROM range(300000000) t(x)",
        "SELECT lpad('a', 1000000000, 'x')",
        "SELECT len(s) FROM (SELECT list_resize([repeat('x', 1000)], 10000000, repeat('x', 1000)) s)",
        "WITH RECURSIVE t(s, n) AS (SELECT 'ab', 1 UNION ALL SELECT s || s, n + 1 FROM t WHERE n < 40)"
        " SELECT max(length(s)) FROM t",
    ],
)
def test_memory_bombs_stop_with_a_clear_error_within_the_cap(shop, bomb: str) -> None:
    ctx, _, _ = shop
    cap = 512 * 1024**2
    # lpad builds its value a character at a time: on slow cores it reaches the cap after the
    # shop's 10 s time limit. This test is about memory; the time limit has its own test.
    settings = ctx.settings.with_overrides(query_memory_limit=cap, query_timeout=90)
    app_before = psutil.Process().memory_info().rss
    reply = run_isolated(ctx.warehouse.duckdb_file, settings, guard(bomb, ctx.allowed_tables, 10), 11)
    assert reply.error in ("memory", "database"), reply
    if reply.error == "database":  # DuckDB's own refusal of a value over its limits
        assert "String" in reply.message or "size" in reply.message, reply.message
    assert reply.peak_rss is None or reply.peak_rss <= cap * 1.2, reply.peak_rss
    # The app's process did none of the work.
    assert psutil.Process().memory_info().rss - app_before < 100 * 1024**2
    ctx_capped = ToolContext(settings=settings, warehouse=ctx.warehouse, facts=ctx.facts)
    with pytest.raises(ToolError, match="memory|database rejected"):
        execute(ctx_capped, bomb)
    assert execute(ctx, "SELECT 1")[1] == [(1,)]


def test_a_huge_result_is_refused_by_its_size(shop) -> None:
    ctx, _, _ = shop
    settings = ctx.settings.with_overrides(query_result_limit=1024**2)
    small = ToolContext(settings=settings, warehouse=ctx.warehouse, facts=ctx.facts)
    with pytest.raises(ToolError, match="larger than 1.0MiB"):
        execute(small, "SELECT repeat('a', 10000) FROM range(1000)")
    # 2 GB within the row limit: refused by its size, or by memory if DuckDB holds it all first.
    with pytest.raises(ToolError, match="larger than 64.0MiB|needed more than 2.0GiB of memory"):
        execute(ctx, "SELECT repeat('a', 2000000) FROM range(1001)")
    assert len(execute(small, "SELECT repeat('a', 10) FROM range(1000)")[1]) == 1000


def test_a_runaway_query_is_killed_at_the_time_limit(shop) -> None:
    ctx, _, _ = shop
    settings = ctx.settings.with_overrides(query_timeout=1)
    quick = ToolContext(settings=settings, warehouse=ctx.warehouse, facts=ctx.facts)
    with pytest.raises(ToolError, match="ran longer than 1s"):
        execute(quick, "SELECT count(*) FROM range(1000000000000) a")


def test_well_scoped_with_queries_still_run(shop) -> None:
    ctx, _, _ = shop
    for sql in (
        "WITH a AS (SELECT 1 AS x), b AS (SELECT x + 1 AS y FROM a) SELECT y FROM b",
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT max(n) FROM t",
        "SELECT * FROM (WITH t AS (SELECT count(*) AS n FROM events) SELECT n FROM t) s",
        "WITH t AS (SELECT 1 AS x) SELECT (SELECT max(x) FROM t), (SELECT count(*) FROM events)",
        'SELECT count(*) FROM "events"',
        "SELECT count(*) FROM 'events'",  # DuckDB reads a quoted name as the table first
        "SELECT * FROM range(DATE '2026-01-01', DATE '2026-02-01', INTERVAL 1 DAY) LIMIT 3",
    ):
        columns, rows, _, _ = execute(ctx, sql)
        assert columns and rows, sql
    assert set(TABLES) >= {"events"}
