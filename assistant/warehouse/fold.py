"""Folding live batches into the warehouse's own tables.

The collector's batches (`assistant.warehouse.live`) are read beside the tables by every query on
the embedded DuckDB; left there, a shop that collects for months would have every query read
thousands of files. A fold moves committed batches into `events` and `rejected_rows`, adds the
products and users they name that the tables lack (so a product first seen live has a catalog row
with its category, brand and price), and records the batches it took in `live_folds`, all in one
transaction. On PostgreSQL, whose readers never see the batch files, the collector folds after
every commit: that is how live events reach its queries.

Exactly once, whatever stops when: the collector writes `folding.json` (the batches it is about to
fold) before the transaction and drops the batches from its manifest after it. A fold skips the
batches `live_folds` already holds, so one interrupted after the warehouse's commit only finishes
the manifest's part when run again; until then queries on DuckDB read those batches' files
through `live_folds` (see `live_view_statements`), and merges leave them alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from pydantic import BaseModel

from assistant.settings import Settings
from assistant.warehouse import schema
from assistant.warehouse.db import Warehouse
from assistant.warehouse.live import EVENT_COLUMNS, REJECT_COLUMNS, Batch, LiveStore
from assistant.warehouse.load import postgres_copy
from assistant.warehouse.tracking import SOURCE

log = logging.getLogger(__name__)

# Bookkeeping, not behavior data: kept out of the canonical metadata (the model's schema).
live_folds = sa.Table(
    "live_folds",
    sa.MetaData(),
    sa.Column("store_id", sa.String, primary_key=True),
    sa.Column("batch", sa.String, primary_key=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("folded_at", sa.DateTime, nullable=False),
)


# What a collector calls to fold its batches: (its store, the store's id, the batches) -> report.
FoldInto = Callable[[LiveStore, str, list[Batch]], "FoldReport"]


class FoldRefused(RuntimeError):
    """Live events cannot be folded into this warehouse (the message says why)."""


class FoldReport(BaseModel):
    batches: int  # folded by this call (batches an earlier, interrupted fold took are not counted)
    events: int
    rejected: int
    products: int  # catalog rows added for products first seen live
    users: int


def prepare(warehouse: Warehouse) -> None:
    """Make the record of folded batches exist: before `folding.json` is written, so a reader
    that finds that file can always consult the record."""
    if warehouse.is_spark:
        raise FoldRefused(
            "live events are not folded into Spark tables: collect into DuckDB or PostgreSQL"
            " and load the result into Spark"
        )
    live_folds.create(warehouse.engine, checkfirst=True)


def fold(warehouse: Warehouse, store: LiveStore, store_id: str, batches: list[Batch]) -> FoldReport:
    """Move `batches` (files of `store`) into the warehouse's tables in one transaction. The
    caller drops them from its manifest afterwards, then clears `folding.json`."""
    prepare(warehouse)
    store.write_folding([b.name for b in batches])
    now = datetime.now(UTC).replace(tzinfo=None)
    with warehouse.engine.begin() as conn:
        done = set(
            conn.execute(
                sa.select(live_folds.c.batch).where(
                    live_folds.c.store_id == store_id, live_folds.c.batch.in_([b.name for b in batches])
                )
            ).scalars()
        )
        todo = [b for b in batches if b.name not in done and b.kind in ("events", "rejects")]
        events = _read(store, [b for b in todo if b.kind == "events"], EVENT_COLUMNS)
        rejects = _read(store, [b for b in todo if b.kind == "rejects"], REJECT_COLUMNS)
        products = _new_products(conn, events)
        users = _new_users(conn, events)
        for table, rows in (
            (schema.events, events),
            (schema.rejected_rows, rejects),
            (schema.products, products),
            (schema.users, users),
        ):
            _insert(conn, warehouse, table, rows)
        if todo:
            added = (events.num_rows, rejects.num_rows, products.num_rows, users.num_rows)
            _count_in_loads(conn, store, added, now)
            conn.execute(
                live_folds.insert(),
                [
                    {"store_id": store_id, "batch": b.name, "kind": b.kind, "rows": b.rows, "folded_at": now}
                    for b in todo
                ],
            )
    report = FoldReport(
        batches=len(todo),
        events=events.num_rows,
        rejected=rejects.num_rows,
        products=products.num_rows,
        users=users.num_rows,
    )
    log.info("folded live batches into the tables: %s", report)
    return report


def into_warehouse(settings: Settings) -> FoldInto:
    """The fold of a collector with the warehouse to itself (`shoplens collect serve`, or a
    server database): the warehouse is opened for writing only while folding, so on DuckDB a
    fold waits for a time when no other program has the file open."""

    def fold_into(store: LiveStore, store_id: str, batches: list[Batch]) -> FoldReport:
        with Warehouse(settings) as warehouse:
            return fold(warehouse, store, store_id, batches)

    return fold_into


def _read(store: LiveStore, batches: list[Batch], columns: tuple[str, ...]) -> pa.Table:
    tables = [pq.read_table(store.batches / b.name, columns=list(columns)) for b in batches]
    if not tables:
        return pa.table({c: pa.array([], pa.null()) for c in columns})
    return pa.concat_tables(tables)


def _new_products(conn: Any, events: pa.Table) -> pa.Table:
    """Catalog rows for products the events name and the catalog lacks (latest price seen)."""
    if events.num_rows == 0:
        return pa.table({})
    named = events.filter(pc.is_valid(events["product_id"])).sort_by("event_time")
    latest = named.group_by("product_id", use_threads=False).aggregate(
        [("category", "last"), ("brand", "last"), ("price", "last")]
    )
    ids = latest["product_id"].to_pylist()
    known = _existing(conn, schema.products.c.product_id, ids)
    fresh = latest.filter(pc.invert(pc.is_in(latest["product_id"], pa.array(sorted(known), pa.string()))))
    return pa.table(
        {
            "product_id": fresh["product_id"],
            "category": fresh["category_last"],
            "brand": fresh["brand_last"],
            "price": fresh["price_last"],
            "source_dataset": pa.array([SOURCE] * fresh.num_rows, pa.string()),
        }
    )


def _new_users(conn: Any, events: pa.Table) -> pa.Table:
    """User rows for signed-in users the events name and the users table lacks."""
    if events.num_rows == 0:
        return pa.table({})
    named = events.filter(pc.is_valid(events["user_id"]))
    first = named.group_by("user_id", use_threads=False).aggregate([("event_time", "min")])
    known = _existing(conn, schema.users.c.user_id, first["user_id"].to_pylist())
    fresh = first.filter(pc.invert(pc.is_in(first["user_id"], pa.array(sorted(known), pa.string()))))
    return pa.table(
        {
            "user_id": fresh["user_id"],
            "first_seen": fresh["event_time_min"],
            "source_dataset": pa.array([SOURCE] * fresh.num_rows, pa.string()),
        }
    )


def _existing(conn: Any, column: sa.Column, values: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(values), 10_000):  # bounded IN lists
        chunk = values[start : start + 10_000]
        found |= set(conn.execute(sa.select(column).where(column.in_(chunk))).scalars())
    return found


def _insert(conn: Any, warehouse: Warehouse, table: sa.Table, rows: pa.Table) -> None:
    if rows.num_rows == 0:
        return
    if warehouse.is_duckdb:  # DuckDB reads the Arrow table in place: no Python rows
        raw = conn.connection.driver_connection
        raw.register("live_fold_rows", rows)
        try:
            names = ", ".join(rows.column_names)
            raw.execute(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM live_fold_rows")
        finally:
            raw.unregister("live_fold_rows")
        return
    listed = [{c.name: row.get(c.name) for c in table.columns} for row in rows.to_pylist()]
    if warehouse.url.get_backend_name() == "postgresql":
        postgres_copy(conn, table, listed)
    else:
        conn.execute(table.insert(), listed)


def _count_in_loads(conn: Any, store: LiveStore, added: tuple[int, int, int, int], now: datetime) -> None:
    """The collector's line in `loads` (what `data info` lists): events, rejects, products and
    users it has folded in so far."""
    loads = schema.loads
    counts = (loads.c.rows_loaded, loads.c.rows_rejected, loads.c.products_loaded, loads.c.users_loaded)
    before = conn.execute(sa.select(*counts).where(loads.c.source_dataset == SOURCE)).first() or (0,) * 4
    conn.execute(loads.delete().where(loads.c.source_dataset == SOURCE))
    conn.execute(
        loads.insert(),
        {
            "source_dataset": SOURCE,
            "format": "collector",
            "path": str(store.root),
            "loaded_at": now,
        }
        | {column.name: (old or 0) + new for column, old, new in zip(counts, before, added, strict=True)},
    )
