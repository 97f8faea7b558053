"""Spark SQL as the warehouse: the canonical tables are Parquet folders, served by a Spark Thrift
Server (the HiveServer2 protocol BI tools use for Spark SQL), reached through PyHive's SQLAlchemy
dialect: `SHOPLENS_DATABASE_URL=hive://host:10000/default`.

A load is parsed and checked in DuckDB as for any other database, then written as Parquet into
the tables folder (`Settings.spark_tables_dir`, which the Spark server must read: this machine in
local mode, a shared mount or object store path otherwise), one file per load for the event
tables and one merged file for products and users (a later load's rows win, as on DuckDB).
Spark's catalog holds external tables over those folders and the views, transpiled by sqlglot.
A user whose events already live in a lakehouse skips loading: tables or views with the canonical
names and columns in the database the URL names are all ShopLens reads.

`thrift_server` starts a Spark Thrift Server from the pyspark package (Java 17 from the system),
in local mode by default or on a cluster's master: what the tests use, and `shoplens data
spark-server`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from assistant.settings import Settings
from assistant.warehouse import schema
from assistant.warehouse.loaders.base import sql_str

log = logging.getLogger(__name__)
# PyHive logs every statement at INFO: the audit log already keeps the SQL that ran.
logging.getLogger("pyhive").setLevel(logging.WARNING)

# The schema's SQLAlchemy types as Spark SQL names them. Timestamps are UTC wall times without a
# zone, as DuckDB keeps them: Spark's TIMESTAMP_NTZ reads DuckDB's Parquet timestamps unchanged.
_SPARK_TYPES: dict[type, str] = {
    sa.DateTime: "TIMESTAMP_NTZ",
    sa.Date: "DATE",
    sa.Double: "DOUBLE",
    sa.Float: "DOUBLE",
    sa.BigInteger: "BIGINT",
    sa.Integer: "INT",
    sa.Boolean: "BOOLEAN",
    sa.JSON: "STRING",
    sa.String: "STRING",
}
# What each Spark type is written as from DuckDB, so the Parquet files match the tables' types.
_DUCKDB_CASTS = {
    "TIMESTAMP_NTZ": "TIMESTAMP",
    "DATE": "DATE",
    "DOUBLE": "DOUBLE",
    "BIGINT": "BIGINT",
    "INT": "INTEGER",
    "BOOLEAN": "BOOLEAN",
    "STRING": "VARCHAR",
}
# Products and users are keyed: a load's rows replace earlier ones with the same key.
_KEYS = {"products": "product_id", "users": "user_id"}

# Settings of every session on the query connection (a HiveServer2 session's configuration):
# no `SELECT … FROM parquet.`/any/file``, UTC as DuckDB, NULL (not an error) for a division by
# zero or a failed cast as on DuckDB.
QUERY_SESSION = {
    "set:hiveconf:spark.sql.runSQLOnFiles": "false",
    "set:hiveconf:spark.sql.session.timeZone": "UTC",
    "set:hiveconf:spark.sql.ansi.enabled": "false",
}


# PyHive gives these Spark types as text: parsed into what DuckDB gives for them.
_PARSERS: dict[str, Callable[[str], Any]] = {
    "DATE_TYPE": date.fromisoformat,
    "ARRAY_TYPE": json.loads,
    "MAP_TYPE": json.loads,
    "STRUCT_TYPE": json.loads,
    "DECIMAL_TYPE": float,
}


def typed_rows(rows: Sequence[Sequence[Any]], description: Sequence[Sequence[Any]] | None) -> list[tuple]:
    """Rows from PyHive's cursor with dates, arrays and decimals as Python values, not text."""
    parsers = [_PARSERS.get(str(d[1])) for d in description or ()]
    if not any(parsers):
        return [tuple(row) for row in rows]
    return [
        tuple(
            parse(value) if parse is not None and isinstance(value, str) else value
            for parse, value in zip(parsers, row, strict=True)
        )
        for row in rows
    ]


def error_text(exc: BaseException) -> str | None:
    """Spark's own message in a PyHive error (which prints as a Thrift response with the server's
    Java stack), without the stack and the repeated class name; None for another error."""
    status = getattr(getattr(getattr(exc, "orig", exc), "args", [None])[0], "status", None)
    message = getattr(status, "errorMessage", None)
    if not message:
        return None
    message = message.removeprefix("Error running query: ")
    return re.sub(r"^(\[[A-Z_.]+\]) [\w.$]+(Exception|Error): \1 ", r"\1 ", message)


def spark_type(column: sa.Column) -> str:
    for kind, name in _SPARK_TYPES.items():
        if isinstance(column.type, kind):
            return name
    raise TypeError(f"no Spark type for {column.table.name}.{column.name} ({column.type})")


def tables_dir(settings: Settings) -> Path:
    """The folder of the Spark warehouse's Parquet tables (one subfolder a table)."""
    return (settings.spark_tables_dir or settings.data_dir / f"{settings.warehouse}.spark").expanduser()


def create_table_sql(table: sa.Table, folder: Path) -> str:
    columns = ", ".join(f"`{c.name}` {spark_type(c)}" for c in table.columns)
    location = sql_str(str(folder / table.name))
    return f"CREATE TABLE IF NOT EXISTS {table.name} ({columns}) USING parquet LOCATION {location}"


def create_tables(conn: sa.Connection, folder: Path) -> None:
    """The canonical tables in Spark's catalog, over the Parquet folders (made when missing)."""
    for table in schema.TABLES:
        (folder / table.name).mkdir(parents=True, exist_ok=True)
        conn.exec_driver_sql(create_table_sql(table, folder))


def _select(table: sa.Table, source: str, where: str = "") -> str:
    casts = ", ".join(
        f'CAST("{c.name}" AS {_DUCKDB_CASTS[spark_type(c)]}) AS "{c.name}"' for c in table.columns
    )
    return f"SELECT {casts} FROM {source}{where}"


def _file_name(label: str) -> str:
    # One file per load: the load's name may hold any character, its hash none that matter.
    return f"load-{hashlib.sha256(label.encode()).hexdigest()[:16]}.parquet"


def _write(con: Any, select: str, target: Path) -> None:
    # Written beside the table under a name Spark skips (a leading dot), then moved into place:
    # a reader sees the old file or the new one, never half of one.
    partial = target.with_name("." + target.name + ".partial")
    con.execute(f"COPY ({select}) TO {sql_str(str(partial))} (FORMAT parquet)")
    os.replace(partial, target)


def write_load(con: Any, folder: Path, label: str) -> None:
    """This load's rows, from the scratch DuckDB `con`, into the Parquet tables under `folder`."""
    lit = sql_str(label)
    for table in schema.TABLES:
        place = folder / table.name
        place.mkdir(parents=True, exist_ok=True)
        key = _KEYS.get(table.name)
        if key is None:
            _write(
                con, _select(table, table.name, f" WHERE source_dataset = {lit}"), place / _file_name(label)
            )
            continue
        old = sorted(place.glob("*.parquet"))
        fresh = _select(table, table.name)
        if old:
            files = "[" + ", ".join(sql_str(str(p)) for p in old) + "]"
            kept = _select(
                table,
                f"read_parquet({files})",
                f" WHERE {key} NOT IN (SELECT {key} FROM {table.name} WHERE {key} IS NOT NULL)",
            )
            fresh = f"{fresh} UNION ALL {kept}"
        merged = place / f"merged-{time.time_ns()}.parquet"
        _write(con, fresh, merged)
        for stale in old:
            stale.unlink(missing_ok=True)


def refresh(conn: sa.Connection) -> None:
    """Spark caches each table's file listing: after a load it lists the folders again."""
    for table in schema.TABLES:
        conn.exec_driver_sql(f"REFRESH TABLE {table.name}")


def engine_version(conn: sa.Connection) -> str:
    return str(conn.exec_driver_sql("SELECT version()").scalar()).split()[0]


def create_database(url: str, name: str) -> str:
    """An empty database `name` on the Spark server of `url` (dropped first if there, with its
    tables' entries; their files stay where they are); its URL."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}` CASCADE")
        conn.exec_driver_sql(f"CREATE DATABASE `{name}`")
    engine.dispose()
    return sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)


def spark_home() -> Path:
    """The Spark distribution inside the pyspark package (`pip install 'shoplens[spark]'`)."""
    try:
        import pyspark
    except ImportError:
        raise RuntimeError("Spark needs pyspark: pip install -e '.[spark]' (make install-spark)") from None
    return Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def thrift_server(
    work_dir: Path, port: int | None = None, master: str = "local[2]", timeout: float = 180
) -> Iterator[str]:
    """A Spark Thrift Server on 127.0.0.1 (no authentication: this machine only) running its
    queries on `master` (`local[N]`: N cores here; `spark://host:7077`, `yarn`, `k8s://…`: a
    cluster), its catalog and logs in `work_dir`; yields the SQLAlchemy URL, stops it afterwards."""
    if shutil.which("java") is None:
        raise RuntimeError(
            "Spark needs Java 17: apt-get install openjdk-17-jre-headless (make install-spark)"
        )
    home = spark_home()
    port = port or free_port()
    work_dir.mkdir(parents=True, exist_ok=True)
    server_log = work_dir / "thrift-server.log"
    command = [
        str(home / "bin" / "spark-submit"),
        "--master",
        master,
        "--class",
        "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
        "--name",
        "shoplens-spark",
        "--conf",
        f"spark.sql.warehouse.dir={work_dir / 'catalog'}",
        "--conf",
        f"spark.driver.extraJavaOptions=-Dderby.system.home={work_dir}",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        "spark.sql.shuffle.partitions=4",
        "--conf",
        "spark.sql.session.timeZone=UTC",
        "--hiveconf",
        f"hive.server2.thrift.port={port}",
        "--hiveconf",
        "hive.server2.thrift.bind.host=127.0.0.1",
    ]
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOG_DIR": str(work_dir)}
    with server_log.open("w") as out:
        process = subprocess.Popen(command, cwd=work_dir, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(port, process, server_log, timeout)
        log.info("Spark Thrift Server on 127.0.0.1:%d (master %s)", port, master)
        yield f"hive://127.0.0.1:{port}/default"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(port: int, process: subprocess.Popen, server_log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = server_log.read_text(errors="replace")[-2000:]
            raise RuntimeError(
                f"the Spark Thrift Server stopped at start (exit {process.returncode}):\n{tail}"
            )
        if "HiveThriftServer2 started" in server_log.read_text(errors="replace"):
            return
        time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"the Spark Thrift Server did not start in {timeout:.0f} s (log: {server_log})")
