"""Live events: what the collector has acknowledged, readable by queries within about a second.

An embedded DuckDB file has one writer at a time, and the app holds it read-only while it
answers; so the collector never writes to it. It keeps, per dataset, under
`<data dir>/live/<dataset>/`:

    wal/NNNNNNNNNN.jsonl   the write-ahead log: a request is acknowledged only once its lines are
                           flushed and fsynced here
    batches/*.parquet      micro-batches committed from the log (events, and rejects with reasons)
    manifest.json          the committed state, replaced atomically: the batch files that count and
                           how far into the log they reach
    folding.json           present only while batches are being folded into the tables (below)

A batch counts once the manifest names it, and the manifest also records the log position it
covers, so a crash anywhere replays exactly the log lines after that position: every acknowledged
event ends up in the batches once. Small batches are merged as they pile up (a merge is one
manifest swap; the parts are deleted a minute later, after queries that listed them are done).

The read side (`live_view_statements`) shadows `events` and `rejected_rows` with temporary views
over the main tables plus the manifest's batches, on each read-only connection, so every tool,
metric and view (sessions, orders, ...) sees live events without knowing about them. Query
connections may read no file but the batches folder (`allowed_directories`).

Batches do not pile up for ever: the collector folds them into the warehouse's own tables
(`assistant.warehouse.fold`) and then drops them from the manifest, keeping only their message ids
(`ids` files) so retries stay duplicates. On a server database (PostgreSQL) that happens after
every commit and is how queries see live events at all.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, Field

from assistant.settings import Settings
from assistant.warehouse.loaders.base import sql_str

log = logging.getLogger(__name__)

# The events table's columns as live batches store them (same names, types and order).
EVENT_FIELDS = pa.schema(
    [
        ("event_time", pa.timestamp("us")),
        ("user_id", pa.string()),
        ("session_id", pa.string()),
        ("event_type", pa.string()),
        ("product_id", pa.string()),
        ("category", pa.string()),
        ("brand", pa.string()),
        ("price", pa.float64()),
        ("quantity", pa.int32()),
        ("order_id", pa.string()),
        ("query_text", pa.string()),
        ("source_dataset", pa.string()),
    ]
)
# Kept beside each row, never shown as an events column: the sender's id (retries deduplicate on
# it) and when the collector received it (the benchmark's "receipt to visible").
BATCH_FIELDS = EVENT_FIELDS.append(pa.field("message_id", pa.string())).append(
    pa.field("received_at", pa.timestamp("us"))
)
REJECT_FIELDS = pa.schema(
    [
        ("source_dataset", pa.string()),
        ("line_number", pa.int64()),
        ("reason", pa.string()),
        ("raw", pa.string()),
        ("message_id", pa.string()),
    ]
)
# What stays of folded event batches: their message ids, so a retry is still a duplicate.
ID_FIELDS = pa.schema([("message_id", pa.string())])
EVENT_COLUMNS = tuple(EVENT_FIELDS.names)
REJECT_COLUMNS = ("source_dataset", "line_number", "reason", "raw")
MERGE_AT = 16  # batches below MERGE_ROWS rows each are merged once this many pile up
MERGE_ROWS = 200_000
RETIRE_SECONDS = 60.0  # merged parts stay on disk this long for queries that listed them


class LogPosition(BaseModel):
    segment: int = 0  # the log file's number
    offset: int = 0  # bytes of it already in batches


class Batch(BaseModel):
    name: str
    kind: str  # "events", "rejects", or "ids" (the message ids of folded events)
    rows: int


class Manifest(BaseModel):
    # Names this store in the warehouse's record of folded batches: a store made afresh (its
    # folder deleted) starts its batch names again and must not find them folded already.
    store_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    generation: int = 0
    batches: list[Batch] = []
    committed: LogPosition = LogPosition()
    retired: dict[str, float] = {}  # merged-away file -> when it may be deleted (epoch seconds)
    folded_rows: int = 0  # event rows moved into the warehouse's tables so far

    def files(self, kind: str) -> list[str]:
        return [b.name for b in self.batches if b.kind == kind]


def live_dir(settings: Settings) -> Path:
    """The dataset's live folder (it exists once a collector has run for the dataset)."""
    return settings.data_dir / "live" / settings.warehouse


class LiveStore:
    """The files of one dataset's live events: the log, the batches and the manifest."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.wal = root / "wal"
        self.batches = root / "batches"
        self.manifest_path = root / "manifest.json"
        self.intent_path = root / "folding.json"

    @classmethod
    def of(cls, settings: Settings) -> LiveStore:
        return cls(live_dir(settings))

    def create(self) -> None:
        self.wal.mkdir(parents=True, exist_ok=True)
        self.batches.mkdir(parents=True, exist_ok=True)

    def manifest(self) -> Manifest:
        try:
            return Manifest.model_validate_json(self.manifest_path.read_bytes())
        except FileNotFoundError:
            return Manifest()

    def write_manifest(self, manifest: Manifest) -> None:
        """Replace the manifest atomically and durably: the commit point of every change."""
        staged = self.root / "manifest.json.new"
        with open(staged, "wb") as out:
            out.write(manifest.model_dump_json().encode())
            out.flush()
            os.fsync(out.fileno())
        os.replace(staged, self.manifest_path)
        _fsync_dir(self.root)

    def folding(self) -> list[str]:
        """The batches a fold was moving into the tables when it stopped (none: no fold under way)."""
        try:
            return json.loads(self.intent_path.read_bytes())
        except FileNotFoundError:
            return []

    def write_folding(self, names: list[str]) -> None:
        """Say which batches are being folded, before the warehouse is touched (see `fold`)."""
        staged = self.root / "folding.json.new"
        with open(staged, "wb") as out:
            out.write(json.dumps(names).encode())
            out.flush()
            os.fsync(out.fileno())
        os.replace(staged, self.intent_path)
        _fsync_dir(self.root)

    def clear_folding(self) -> None:
        if self.intent_path.exists():
            self.intent_path.unlink()
            _fsync_dir(self.root)

    def write_batch(self, name: str, table: pa.Table) -> None:
        """A batch file, complete and on disk before any manifest names it."""
        staged = self.batches / f".{name}.part"  # outside the readers' glob-free list either way
        pq.write_table(table, staged, compression="zstd")
        with open(staged, "rb") as written:
            os.fsync(written.fileno())
        os.replace(staged, self.batches / name)
        _fsync_dir(self.batches)

    def remove_strays(self, manifest: Manifest) -> None:
        """Delete what the manifest does not keep: files a crash left unnamed, and merged parts
        whose grace time is over."""
        now = time.time()
        kept = {b.name for b in manifest.batches} | {n for n, when in manifest.retired.items() if when > now}
        for path in self.batches.iterdir():
            if path.name not in kept:
                path.unlink(missing_ok=True)


def live_generation(settings: Settings) -> int:
    """How many commits the dataset's collector has made (0: none); changes whenever queries
    would see new live events."""
    return LiveStore.of(settings).manifest().generation


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def allowed_directory(settings: Settings) -> str:
    """The one folder a query connection may read files from: the dataset's live batches."""
    return str(LiveStore.of(settings).batches.resolve()) + os.sep


def live_view_statements(settings: Settings, catalog: str, manifest: Manifest | None = None) -> list[str]:
    """SQL that makes `events` and `rejected_rows` on a read-only DuckDB connection include the
    manifest's live batches (or drops those views when there are none)."""
    store = LiveStore.of(settings)
    manifest = manifest or store.manifest()
    # A fold stopped between the warehouse's commit and the manifest's (a crash) leaves batches
    # both in the tables and here until the next fold: the warehouse's record of what it took
    # decides, so no row counts twice. (The fold made that record's table before it began.)
    unfolded = ""
    if store.folding():
        unfolded = (
            " WHERE parse_filename(filename) NOT IN (SELECT batch FROM"
            f" {_ident(catalog)}.main.live_folds WHERE store_id = {sql_str(manifest.store_id)})"
        )
    statements = []
    for table, kind, columns in (
        ("events", "events", EVENT_COLUMNS),
        ("rejected_rows", "rejects", REJECT_COLUMNS),
    ):
        files = manifest.files(kind)
        if not files:
            statements.append(f"DROP VIEW IF EXISTS temp.main.{table}")
            continue
        listed = ", ".join(sql_str(store.batches.resolve() / name) for name in files)
        names = ", ".join(columns)
        source = (
            f"read_parquet([{listed}], filename = true){unfolded}"
            if unfolded
            else f"read_parquet([{listed}])"
        )
        statements.append(
            f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT {names} FROM {_ident(catalog)}.main.{table}"
            f" UNION ALL SELECT {names} FROM {source}"
        )
    return statements


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def message_ids(store: LiveStore, manifest: Manifest | None = None) -> list[str]:
    """Every message id in the committed event batches and in what stays of folded ones, repeats
    included (so doubles would show)."""
    manifest = manifest or store.manifest()
    return [
        m
        for batch in manifest.batches
        if batch.kind in ("events", "ids")
        for m in pq.read_table(store.batches / batch.name, columns=["message_id"])
        .column("message_id")
        .to_pylist()
        if m is not None
    ]


def log_segments(store: LiveStore) -> list[int]:
    return sorted(int(p.stem) for p in store.wal.glob("*.jsonl") if p.stem.isdigit())


def segment_path(store: LiveStore, number: int) -> Path:
    return store.wal / f"{number:010d}.jsonl"


def as_table(records: list[dict], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in records], schema=schema)


def encode(record: dict) -> bytes:
    return (json.dumps(record, default=str, separators=(",", ":")) + "\n").encode()
