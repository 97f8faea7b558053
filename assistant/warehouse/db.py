"""The warehouse: one SQLAlchemy engine over the canonical schema, created once and passed in."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel

from assistant.settings import Settings
from assistant.warehouse import schema, spark
from assistant.warehouse.dialects import to_dialect
from assistant.warehouse.live import LiveStore, allowed_directory, live_view_statements
from assistant.warehouse.loaders.base import sql_str

log = logging.getLogger(__name__)


class TableCount(BaseModel):
    name: str
    rows: int
    kind: str  # "table" or "view"


class FunnelStep(BaseModel):
    event_type: str
    events: int
    users: int
    sessions: int


class LoadRecord(BaseModel):
    source_dataset: str
    format: str
    rows_loaded: int
    rows_rejected: int
    products_loaded: int
    users_loaded: int
    seconds: float | None
    loaded_at: datetime


class WarehouseInfo(BaseModel):
    url: str
    engine: str = ""  # the database and its version: "DuckDB v1.4.1", "PostgreSQL 15.18"
    read_only: bool = False  # whether this connection can change nothing
    access: str = "read-write"  # Warehouse.access: how the assistant's queries are kept from writing
    tables: list[TableCount]
    first_event: datetime | None
    last_event: datetime | None
    users: int
    sessions: int
    funnel: list[FunnelStep]
    rejected_by_reason: dict[str, int]
    loads: list[LoadRecord]


def query_lockdown(settings: Settings) -> dict[str, Any]:
    """DuckDB settings of a connection that runs tool and model SQL, given at connect; with
    `lock_down` run right after, whatever a query says (and whatever the SQL guard misses), it
    reads no file or URL but the live event batches, loads no extension, stays within its memory
    and spill caps, and cannot SET any of this back."""
    return {
        "memory_limit": f"{settings.query_memory_limit // 1024**2}MiB",
        "max_temp_directory_size": f"{settings.query_disk_limit // 1024**2}MiB",
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
    }


def lockdown_statements(settings: Settings) -> list[str]:
    """Run on each new query connection (DuckDB takes `allowed_directories` only on a started
    database, and only before external access is turned off): then no file access but the
    dataset's live batches, and the configuration locked."""
    return [
        f"SET allowed_directories = [{sql_str(allowed_directory(settings))}]",
        "SET enable_external_access = false",
        "SET lock_configuration = true",
    ]


def lock_down(dbapi_connection: Any, settings: Settings) -> None:
    """Lock a DuckDB query connection down (a second connection to an already locked database
    finds it so), and check it: a connection that could read files is never handed out."""
    locked = dbapi_connection.execute("SELECT current_setting('lock_configuration')").fetchall()[0][0]
    if not locked:
        for statement in lockdown_statements(settings):
            dbapi_connection.execute(statement)
    external = dbapi_connection.execute("SELECT current_setting('enable_external_access')").fetchall()[0][0]
    if external:
        raise RuntimeError("the query connection could not be locked down; refusing to use it")


def show_live_events(dbapi_connection: Any, settings: Settings, shown: int | None, catalog: str) -> int:
    """Point this connection's `events` and `rejected_rows` at the live batches too, when the
    collector committed since `shown` (the manifest generation the connection last saw); on every
    query's checkout, so unchanged it only reads the manifest."""
    manifest = LiveStore.of(settings).manifest()
    if manifest.generation != shown:
        for statement in live_view_statements(settings, catalog, manifest):
            dbapi_connection.execute(statement)
    return manifest.generation


class Warehouse:
    """Owns the engine. `ensure_schema` makes the canonical tables and views exist. A read-only
    warehouse is the one queries run on: its connections are locked down (`query_lockdown`)."""

    def __init__(self, settings: Settings, *, read_only: bool = False) -> None:
        self.settings = settings
        self.url = sa.engine.make_url(settings.db_url)
        self.read_only = read_only
        connect_args: dict[str, Any] = {}
        if self.is_duckdb:
            config: dict[str, Any] = {"memory_limit": settings.duckdb_memory_limit}
            if settings.duckdb_threads:
                config["threads"] = settings.duckdb_threads
            if read_only:
                config |= query_lockdown(settings)
            connect_args = {"read_only": read_only, "config": config}
        elif read_only and self.url.get_backend_name() == "postgresql":
            # Every transaction of the query connection is read-only, and stopped past the query
            # time limit, by the server itself (set at connect: the SQL guard lets no SET through).
            timeout = int(settings.query_timeout * 1000)
            connect_args = {"options": f"-c default_transaction_read_only=on -c statement_timeout={timeout}"}
        elif self.is_spark:
            # Spark has no read-only session (see SECURITY.md): the query connection reads no
            # file as a table, and the server stops its queries past the time limit.
            timeout = (
                {"set:hiveconf:spark.sql.thriftServer.queryTimeout": f"{math.ceil(settings.query_timeout)}s"}
                if read_only
                else {}
            )
            connect_args = {"configuration": spark.QUERY_SESSION | timeout}
        # An in-memory database lives in its one connection: the pool must keep handing that out.
        in_memory = self.is_duckdb and self.url.database in (None, "", ":memory:")
        pool = {"poolclass": sa.pool.StaticPool} if in_memory else {}
        self.engine = sa.create_engine(self.url, connect_args=connect_args, **pool)
        if self.is_duckdb and read_only:
            sa.event.listen(self.engine, "connect", self._on_connect)
            sa.event.listen(self.engine, "checkout", self._on_checkout)

    def _on_connect(self, dbapi_connection: Any, record: Any) -> None:
        lock_down(dbapi_connection, self.settings)
        record.info["live"] = None
        record.info["catalog"] = dbapi_connection.execute("SELECT current_database()").fetchall()[0][0]

    def _on_checkout(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        # Each use of a query connection sees what the collector committed up to now.
        record.info["live"] = show_live_events(
            dbapi_connection, self.settings, record.info.get("live"), record.info["catalog"]
        )

    @property
    def is_duckdb(self) -> bool:
        return self.url.get_backend_name() == "duckdb"

    @property
    def access(self) -> str:
        """How this connection is kept from writing, as the CLI, the app and the audit log say it."""
        if not self.read_only:
            return "read-write"
        if self.is_spark:  # Spark has no read-only session: only the SQL guard stands (SECURITY.md)
            return "read-only by ShopLens's SQL check (Spark has no read-only session)"
        return "read-only"

    @property
    def is_spark(self) -> bool:
        return self.url.get_backend_name() == "hive"  # a Spark Thrift Server, through PyHive

    @property
    def dialect(self) -> str:
        """sqlglot's name for the target database."""
        name = self.url.get_backend_name()
        return {"postgresql": "postgres", "mssql": "tsql", "hive": "spark"}.get(name, name)

    def engine_label(self) -> str:
        """The database and its version, as `data info`, the app and the audit log name it."""
        with self.engine.connect() as conn:
            if self.is_duckdb:
                return f"DuckDB {conn.exec_driver_sql('SELECT version()').scalar()}"
            if self.url.get_backend_name() == "postgresql":
                return f"PostgreSQL {conn.exec_driver_sql('SHOW server_version').scalar()}"
            if self.is_spark:
                return f"Spark SQL {spark.engine_version(conn)}"
        return (
            f"{self.engine.dialect.name} {'.'.join(map(str, self.engine.dialect.server_version_info or ()))}"
        )

    def sql(self, duckdb_sql: str) -> str:
        """SQL written in DuckDB's dialect (as every tool writes it) as this database runs it."""
        return to_dialect(duckdb_sql, self.dialect)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def duckdb_file(self) -> Path | None:
        """The embedded warehouse's file (None for another database or an in-memory one)."""
        database = self.url.database
        return Path(database) if self.is_duckdb and database not in (None, "", ":memory:") else None

    def exists(self) -> bool:
        """Whether the warehouse has been created; asking does not create it."""
        if self.duckdb_file is not None and not self.duckdb_file.exists():
            return False
        return self.has_schema()

    def ensure_schema(self) -> None:
        """Create missing tables; (re)create the views so they follow the current definitions."""
        if self.duckdb_file is not None:
            self.duckdb_file.parent.mkdir(parents=True, exist_ok=True)
        if self.is_spark:
            with self.engine.begin() as conn:
                spark.create_tables(conn, spark.tables_dir(self.settings))
        else:
            schema.metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            for view in schema.VIEWS:
                conn.exec_driver_sql(f"DROP VIEW IF EXISTS {view.name}")
                conn.exec_driver_sql(view.create_sql(self.dialect))
                if self.is_duckdb:
                    conn.exec_driver_sql(f"COMMENT ON VIEW {view.name} IS {sql_str(view.comment)}")
                    for column, doc in view.columns.items():
                        conn.exec_driver_sql(f"COMMENT ON COLUMN {view.name}.{column} IS {sql_str(doc)}")

    def views_current(self) -> bool:
        """Whether every view has the columns its current definition gives (a warehouse built by
        an older ShopLens keeps its old views until they are recreated)."""
        with self.engine.connect() as conn:
            for view in schema.VIEWS:
                try:
                    columns = list(conn.exec_driver_sql(f"SELECT * FROM {view.name} LIMIT 0").keys())
                except sa.exc.DBAPIError:
                    return False
                if columns != list(view.columns):
                    return False
        return True

    def has_schema(self) -> bool:
        return sa.inspect(self.engine).has_table("events")

    @contextmanager
    def duckdb_transaction(self) -> Iterator[Any]:
        """A transaction on the raw DuckDB connection, for bulk work SQLAlchemy can't express.

        Yields the DBAPI connection (it has DuckDB's `execute`, `sql`, `query_progress`, ...).
        Commits on success, rolls back on any error: a failed load leaves nothing behind.
        """
        if not self.is_duckdb:
            raise RuntimeError("bulk DuckDB work needs a DuckDB warehouse")
        with self.engine.begin() as conn:
            yield conn.connection.driver_connection

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def info(self) -> WarehouseInfo:
        """Row counts, time span, funnel counts, rejects and loads: `shoplens data info`."""
        with self.engine.connect() as conn:

            def one(sql: str) -> Any:
                return conn.execute(sa.text(sql)).one()

            tables = [
                TableCount(name=t.name, rows=one(f"SELECT count(*) FROM {t.name}")[0], kind="table")
                for t in schema.TABLES
            ] + [
                TableCount(name=v.name, rows=one(f"SELECT count(*) FROM {v.name}")[0], kind="view")
                for v in schema.VIEWS
            ]
            first, last, n_users, n_sessions = one(
                "SELECT min(event_time), max(event_time), count(DISTINCT user_id),"
                " count(DISTINCT session_id) FROM events"
            )
            funnel_rows = conn.execute(
                sa.text(
                    "SELECT event_type, count(*), count(DISTINCT user_id), count(DISTINCT session_id)"
                    " FROM events GROUP BY event_type"
                )
            ).all()
            by_type = {row[0]: row for row in funnel_rows}
            funnel = [
                FunnelStep(event_type=t, events=by_type[t][1], users=by_type[t][2], sessions=by_type[t][3])
                for t in schema.EVENT_TYPES
                if t in by_type
            ]
            rejected = dict(
                conn.execute(
                    sa.text("SELECT reason, count(*) FROM rejected_rows GROUP BY reason ORDER BY 2 DESC")
                ).all()
            )
            loads = [
                LoadRecord.model_validate(dict(row._mapping))
                for row in conn.execute(
                    sa.text(
                        "SELECT source_dataset, format, rows_loaded, rows_rejected, products_loaded,"
                        " users_loaded, seconds, loaded_at FROM loads ORDER BY loaded_at"
                    )
                )
            ]
        return WarehouseInfo(
            url=self.url.render_as_string(hide_password=True),
            engine=self.engine_label(),
            read_only=self.read_only and not self.is_spark,
            access=self.access,
            tables=tables,
            first_event=first,
            last_event=last,
            users=n_users,
            sessions=n_sessions,
            funnel=funnel,
            rejected_by_reason=rejected,
            loads=loads,
        )


def refresh_views(settings: Settings) -> None:
    """Recreate the views of an existing warehouse built by an older ShopLens, so queries see the
    current columns; the tables (the data) are not touched. A warehouse another process holds for
    writing keeps its views until the next start, with a warning."""
    with Warehouse(settings, read_only=True) as reader:
        if not reader.exists() or reader.views_current():
            return
    try:
        with Warehouse(settings) as writer:
            writer.ensure_schema()
        log.info("updated the warehouse's views to this version's definitions")
    except sa.exc.DBAPIError as exc:
        log.warning("could not update the warehouse's views (%s); some columns may be missing", exc.orig)
