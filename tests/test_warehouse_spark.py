"""The same tools on Spark SQL as on DuckDB (issue: beyond one machine).

A real sample (REES46) is loaded into the embedded DuckDB warehouse and, as Parquet, into a Spark
warehouse served by a local Spark Thrift Server (assistant/warehouse/spark.py); every tool call of
tests/test_warehouse_engines.py runs on both through the query warehouse, and the rows must match."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from assistant.warehouse.load import load_file
from tools import ToolContext

from .conftest import real
from .test_warehouse_engines import (
    CALLS,
    SAMPLE,
    _outcome,
    _same,
    _state,
    _tuning_suites,
    assert_batched_reads_match,
    gold_differences,
    sample_contexts,
)

pytestmark = [pytest.mark.real_data, pytest.mark.spark]


@pytest.fixture(scope="module")
def contexts(spark_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ToolContext]]:
    yield from sample_contexts({"duckdb": None, "spark": spark_url}, tmp_path_factory)


@pytest.mark.parametrize(("name", "arguments"), CALLS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CALLS)])
def test_a_tool_gives_the_same_figures_on_duckdb_and_spark(
    contexts: dict[str, ToolContext], name: str, arguments: dict[str, Any]
) -> None:
    duck = _outcome(contexts["duckdb"], name, arguments)
    on_spark = _outcome(contexts["spark"], name, arguments)
    assert duck[0] == "rows", duck
    assert on_spark[0] == "rows", on_spark
    (duck_columns, duck_rows), (spark_columns, spark_rows) = duck[1], on_spark[1]
    assert spark_columns == duck_columns
    assert len(spark_rows) == len(duck_rows), (duck_rows[:5], spark_rows[:5])
    for d_row, s_row in zip(duck_rows, spark_rows, strict=True):
        assert all(_same(a, b) for a, b in zip(d_row, s_row, strict=True)), (d_row, s_row)


def test_whole_table_reads_stream_in_batches_on_spark(contexts: dict[str, ToolContext]) -> None:
    assert_batched_reads_match(contexts["spark"], contexts["duckdb"])


def test_data_info_names_spark_and_its_version(contexts: dict[str, ToolContext]) -> None:
    import pyspark

    duck, on_spark = (contexts[e].warehouse.info() for e in ("duckdb", "spark"))
    assert on_spark.engine == f"Spark SQL {pyspark.__version__}"
    assert not on_spark.read_only and "Spark has no read-only session" in on_spark.access
    assert [t.rows for t in on_spark.tables] == [t.rows for t in duck.tables]
    assert (on_spark.first_event, on_spark.last_event, on_spark.users) == (
        duck.first_event,
        duck.last_event,
        duck.users,
    )


def test_a_file_loaded_again_replaces_its_rows_and_another_files_stay(spark_url: str, tmp_path: Path) -> None:
    """Loads on Spark as on DuckDB: a file loaded again replaces its own rows, another file's
    rows stay, and products stay one row each (the later load's)."""
    from assistant.warehouse import spark

    url = spark.create_database(spark_url, "reloads")
    lines = real(SAMPLE).read_text().splitlines(keepends=True)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("".join(lines[:301]))
    second.write_text("".join(lines[:1] + lines[301:501]))
    counts = {}
    for engine, database_url in (("duckdb", None), ("spark", url)):
        settings = Settings(data_dir=tmp_path / engine, database_url=database_url)
        with Warehouse(settings) as writer:
            writer.ensure_schema()
            for path in (first, second, first):
                load_file(writer, path)
        with Warehouse(settings, read_only=True) as reader:
            ctx = ToolContext.open(settings, reader)
            counts[engine] = (
                ctx.rows("SELECT source_dataset, count(*) FROM events GROUP BY 1 ORDER BY 1"),
                ctx.rows("SELECT count(*), count(DISTINCT product_id) FROM products"),
                ctx.rows("SELECT count(*) FROM loads"),
            )
    assert counts["spark"] == counts["duckdb"]
    assert [n for _, n in counts["spark"][0]] == [300, 200]
    assert counts["spark"][1][0][0] == counts["spark"][1][0][1] > 0
    assert len(list((tmp_path / "spark" / "shop.spark" / "events").glob("*.parquet"))) == 2


SPARK_HOSTILE = [
    "SELECT reflect('java.lang.System', 'getenv', 'HOME')",
    "SELECT java_method('java.lang.System', 'getProperty', 'user.home')",
    "SELECT try_reflect('java.lang.Runtime', 'getRuntime')",
    "SELECT * FROM parquet.`/etc`",
    "SELECT * FROM text.`/etc/passwd`",
    "SELECT * FROM csv.`/etc/passwd`",
    "SELECT input_file_name() FROM events",
    "DROP TABLE events",
    "INSERT INTO loads SELECT * FROM loads",
    "CREATE TABLE planted USING parquet AS SELECT 1 AS a",
    "CACHE TABLE events",
    "ADD JAR /tmp/x.jar",
    "SET spark.sql.runSQLOnFiles = true",
    "LOAD DATA LOCAL INPATH '/etc/passwd' INTO TABLE loads",
    "SELECT 1; DROP TABLE events",
]


@pytest.mark.parametrize("sql", SPARK_HOSTILE)
def test_hostile_sql_is_refused_on_spark_and_changes_nothing(
    contexts: dict[str, ToolContext], sql: str
) -> None:
    ctx = contexts["spark"]
    before = _state(ctx)
    name, message = _outcome(ctx, "run_sql", {"query": sql})
    assert name == "error" and message and "root:" not in message and len(message) < 600, (name, message)
    assert _state(ctx) == before


def test_the_spark_query_connection_reads_no_file_as_a_table(contexts: dict[str, ToolContext]) -> None:
    """Past the guard: the query session itself refuses SQL on files, and keeps UTC and the
    query time limit."""
    ctx = contexts["spark"]
    with ctx.warehouse.engine.connect() as conn:
        with pytest.raises(
            Exception, match="(?i)unsupported|not allowed|cannot|runSQLOnFiles|TABLE_OR_VIEW_NOT_FOUND"
        ):
            conn.exec_driver_sql("SELECT * FROM text.`/etc/passwd`").all()
        assert conn.exec_driver_sql("SELECT current_timezone()").scalar() == "UTC"
        timeout = conn.exec_driver_sql("SET spark.sql.thriftServer.queryTimeout").one()[1]
        assert timeout == f"{int(ctx.settings.query_timeout)}s"


@pytest.mark.slow  # five samples loaded into both engines, ~300 gold queries
@pytest.mark.parametrize("sample", sorted(_tuning_suites()))
def test_the_real_suites_gold_answers_are_the_same_on_spark(
    spark_url: str, tmp_path: Path, sample: str
) -> None:
    from assistant.warehouse import spark

    urls = {"duckdb": None, "spark": spark.create_database(spark_url, "gold")}
    assert not gold_differences(sample, urls, tmp_path)


def test_a_user_tries_spark_from_the_command_line(tmp_path: Path) -> None:
    """The README's path: `shoplens data spark-server` prints a URL; with it, `data demo` fills a
    Spark warehouse and `data info` names Spark and counts the shop; Ctrl-C stops the server."""
    import os
    import signal
    import subprocess
    import sys

    from assistant.warehouse import spark

    shoplens = [sys.executable, "-m", "assistant.cli"]
    env = {**os.environ, "SHOPLENS_DATA_DIR": str(tmp_path)}
    server = subprocess.Popen(
        [*shoplens, "data", "spark-server", "--port", str(spark.free_port())],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = None
        for line in server.stdout:  # type: ignore[union-attr]
            if line.startswith("Spark SQL on"):
                url = line.split()[3]
                break
        assert url and url.startswith("hive://127.0.0.1:"), url
        env["SHOPLENS_DATABASE_URL"] = url
        demo = subprocess.run(
            [*shoplens, "data", "demo", "--events", "5k"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert demo.returncode == 0, demo.stdout + demo.stderr
        info = subprocess.run(
            [*shoplens, "data", "info"], env=env, capture_output=True, text=True, timeout=300
        )
        assert info.returncode == 0, info.stdout + info.stderr
        assert "Spark SQL" in info.stdout and "read-only by ShopLens's SQL check" in info.stdout
        events = int(demo.stdout.split("demo shop:")[1].split("events")[0].strip().replace(",", ""))
        assert f"{events:,}" in info.stdout
    finally:
        server.send_signal(signal.SIGINT)
        rest, _ = server.communicate(timeout=60)
    assert "Spark stopped" in rest


def _spark_fingerprint(warehouse: Warehouse) -> dict[str, Any]:
    """Every table's rows counted and hashed in Spark, and every Parquet file's bytes."""
    import hashlib

    from assistant.warehouse import schema, spark

    with warehouse.engine.connect() as conn:
        tables = {
            t.name: tuple(
                conn.exec_driver_sql(f"SELECT count(*), sum(CAST(hash(*) AS BIGINT)) FROM {t.name}").one()
            )
            for t in schema.TABLES
        }
    folder = spark.tables_dir(warehouse.settings)
    files = {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    return {"tables": tables, "files": files}


@pytest.mark.slow
def test_the_app_runs_on_spark_and_no_path_through_it_writes(
    spark_url: str, contexts: dict[str, ToolContext], tmp_path: Path
) -> None:
    """The app's workspace on Spark: the configured warehouse is its one dataset, its status says
    how it is kept from writing, and the app's write-path test (the chat insisting on every hostile
    statement, every tool, the tabs) changes no row and no file."""
    from assistant.ui import App
    from assistant.warehouse import spark
    from assistant.warehouse.load import LoadError
    from assistant.workspace import Workspace

    from .test_agent_units import ENDPOINT
    from .test_ui_units import try_every_write

    settings = Settings(data_dir=tmp_path, database_url=spark.create_database(spark_url, "app"))
    with Warehouse(settings) as writer:
        writer.ensure_schema()
        load_file(writer, real(SAMPLE))
    reader = Warehouse(settings, read_only=True)
    ws = Workspace(settings, ENDPOINT, contexts["spark"].encoder)
    try:
        assert ws.datasets() == [settings.warehouse]
        info = ws.info(settings.warehouse)
        assert info.engine.startswith("Spark SQL") and "SQL check" in info.access and info.users > 1000
        with pytest.raises(LoadError, match="one server database"):
            ws.load(real(SAMPLE), "another")
        before = _spark_fingerprint(reader)
        try_every_write(App(ws), (settings, reader))
        assert _spark_fingerprint(reader) == before
    finally:
        ws.close()
        reader.close()
