"""Events as they happen, into the live store (`assistant.warehouse.live`): the collector's core.

`event_rows` maps one tracked event (Segment's `track` shape) to canonical events rows with the
file loaders' checks; `Ingest` checks, deduplicates (by messageId) and appends a request's events
to the write-ahead log, returning only once they are on disk, and a committer thread turns the
log into micro-batches, and folds them into the warehouse's tables from time to time
(`assistant.warehouse.fold`). After a crash, `Ingest` replays the log past the manifest's
position, so every acknowledged event is committed exactly once. One collector per dataset: a
second is refused (a lock file in the live folder).
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from assistant.warehouse.fold import FoldInto, FoldReport
from assistant.warehouse.live import (
    BATCH_FIELDS,
    ID_FIELDS,
    MERGE_AT,
    MERGE_ROWS,
    REJECT_FIELDS,
    RETIRE_SECONDS,
    Batch,
    LiveStore,
    LogPosition,
    Manifest,
    as_table,
    encode,
    log_segments,
    message_ids,
    segment_path,
)
from assistant.warehouse.tracking import SOURCE, Rejected, Sessions, event_rows, text_field

log = logging.getLogger(__name__)

MAX_EVENT_BYTES = 32 * 1024  # Segment's per-event limit
SEGMENT_BYTES = 64 * 1024**2  # a log file is closed past this size
FOLD_RETRY_SECONDS = 30.0  # a fold that could not run (the DuckDB file open elsewhere) is tried again


class Receipt(BaseModel):
    """The answer to a request: how many events were kept, refused (with why) or seen before."""

    success: bool = True
    accepted: int
    rejected: int
    duplicates: int
    reasons: list[str] = []  # one per rejected event, in request order


class Health(BaseModel):
    status: str
    events: int  # committed to batches
    rejected: int
    pending: int  # acknowledged, in the log, not yet in a batch
    last_commit: datetime | None
    batches: int
    folded: int = 0  # event rows moved into the warehouse's tables so far
    last_fold: datetime | None = None


class StoreBusy(RuntimeError):
    """Another collector holds this dataset's live store."""


class DiskFull(OSError):
    """The log could not be written: nothing of the request was kept."""


class Ingest:
    """The durable core: append to the log (then acknowledge), commit micro-batches, recover.

    One lock orders appends; a committer thread turns what the log holds past the manifest's
    position into a batch every `interval` seconds (or sooner once `batch_rows` wait) and, given
    `fold`, folds the batches into the tables every `fold_seconds` (0: after every commit)."""

    def __init__(
        self,
        store: LiveStore,
        *,
        interval: float = 0.5,
        batch_rows: int = 50_000,
        fold: FoldInto | None = None,
        fold_seconds: float = 3600.0,
    ) -> None:
        self.store = store
        self.interval = interval
        self.batch_rows = batch_rows
        self.fold = fold
        self.fold_seconds = fold_seconds
        self.sessions = Sessions()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pending: list[tuple[dict, LogPosition]] = []  # records with the log position after them
        self._thread: threading.Thread | None = None
        self.last_commit: datetime | None = None
        self.last_fold: datetime | None = None
        store.create()
        self._store_lock = _hold(store.root / "collector.lock")
        self.manifest = store.manifest()
        if "store_id" not in self.manifest.model_fields_set:  # a new store, or one from before folds
            store.write_manifest(self.manifest)  # its store id, fixed before any fold names it
        # Batches an interrupted fold was taking stay unmerged until a fold has finished them.
        self._folding = set(store.folding())
        self._next_fold = time.monotonic() + (0 if self._folding else fold_seconds)
        store.remove_strays(self.manifest)
        self.seen = set(message_ids(store, self.manifest))
        self._recover()

    # --- the log -------------------------------------------------------------------------------
    def _recover(self) -> None:
        """Re-read the log past the committed position (a torn last line was never acknowledged:
        it is cut off), so those records commit in the next batch."""
        committed = self.manifest.committed
        segments = [s for s in log_segments(self.store) if s >= committed.segment]
        for number in segments:
            path = segment_path(self.store, number)
            data = path.read_bytes()
            start = committed.offset if number == committed.segment else 0
            good = start
            for line in data[start:].splitlines(keepends=True):
                if not line.endswith(b"\n"):
                    break
                try:
                    record = json.loads(line)
                except ValueError:
                    break
                good += len(line)
                self._remember(record)
                self._pending.append((record, LogPosition(segment=number, offset=good)))
            if good < len(data):
                log.warning("live log %s: cut %d unacknowledged bytes", path.name, len(data) - good)
                with open(path, "r+b") as torn:
                    torn.truncate(good)
                    os.fsync(torn.fileno())
        self.segment = max(segments + [committed.segment, 0])
        self._open_segment()
        if self._pending:
            log.info("live log: %d acknowledged events to commit after restart", len(self._pending))

    def _remember(self, record: dict) -> None:
        """What a logged record tells the collector (and a restarted one): its id was seen, and its
        user's latest visit (a session id the sender gave included)."""
        self.seen.add(record["message_id"])
        row = record.get("row")
        if row:
            self.sessions.saw(row["user_id"], row["session_id"], datetime.fromisoformat(row["event_time"]))

    def append(self, events: list[Any], received: datetime | None = None) -> Receipt:
        """Check, deduplicate and log a request's events; returns once they are on disk."""
        received = received or datetime.now(UTC).replace(tzinfo=None)
        with self._lock:
            records, reasons, duplicates, batch_ids = [], [], 0, set()
            for event in events:
                message = text_field(event.get("messageId")) if isinstance(event, dict) else None
                if message is not None and (message in self.seen or message in batch_ids):
                    duplicates += 1
                    continue
                message = message or f"collector-{uuid.uuid4().hex}"
                batch_ids.add(message)
                raw = json.dumps(event, default=str)[:MAX_EVENT_BYTES]
                try:
                    if len(raw) >= MAX_EVENT_BYTES:
                        raise Rejected(f"event larger than {MAX_EVENT_BYTES // 1024} KB")
                    rows = event_rows(event, received, self.sessions)
                except Rejected as exc:
                    reasons.append(str(exc))
                    records.append({"message_id": message, "reject": {"reason": str(exc), "raw": raw}})
                    continue
                records += [
                    {"message_id": message, "received_at": received.isoformat(), "row": _jsonable(r)}
                    for r in rows
                ]
            self._write(records)
            for record in records:
                self._remember(record)
        if len(self._pending) >= self.batch_rows:
            self._wake.set()
        return Receipt(
            accepted=len(batch_ids) - len(reasons),
            rejected=len(reasons),
            duplicates=duplicates,
            reasons=reasons,
        )

    def _open_segment(self) -> None:
        # A raw descriptor: a failed write leaves nothing buffered to be written later.
        self._log = os.open(
            segment_path(self.store, self.segment), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600
        )
        self._size = os.fstat(self._log).st_size

    def _write(self, records: list[dict]) -> None:
        if not records:
            return
        encoded = [encode(r) for r in records]
        data = memoryview(b"".join(encoded))
        start = self._size
        try:
            while data:
                data = data[os.write(self._log, data) :]
            os.fsync(self._log)
        except OSError as exc:
            os.ftruncate(self._log, start)  # nothing half-written stays to be replayed
            raise DiskFull(
                exc.errno or errno.ENOSPC, f"the collector's log could not be written ({exc.strerror})"
            ) from exc
        offset = start
        for record, line in zip(records, encoded, strict=True):
            offset += len(line)
            self._pending.append((record, LogPosition(segment=self.segment, offset=offset)))
        self._size = offset
        if offset >= SEGMENT_BYTES:
            try:
                previous = self._log
                self.segment += 1
                self._open_segment()
                os.close(previous)
            except OSError as exc:  # no room for a new file: keep appending to this one
                self.segment -= 1
                self._log = previous
                log.error("could not start a new live log file: %s", exc)

    # --- committing ----------------------------------------------------------------------------
    def start(self) -> Ingest:
        self._thread = threading.Thread(target=self._run, name="live-commit", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.commit()
            except OSError as exc:  # a full disk: the log keeps it all; try again later
                log.error("live commit failed, will retry: %s", exc)
                time.sleep(self.interval)
                continue
            if self.fold is not None and time.monotonic() >= self._next_fold:
                try:
                    self.fold_now()
                    self._next_fold = time.monotonic() + self.fold_seconds
                except Exception as exc:  # e.g. another program has the DuckDB file open: later
                    reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                    log.log(
                        logging.INFO if "lock" in reason.lower() else logging.WARNING,
                        "live fold put off: %s",
                        reason,
                    )
                    self._next_fold = time.monotonic() + min(
                        max(self.fold_seconds, self.interval), FOLD_RETRY_SECONDS
                    )

    def commit(self) -> int:
        """Write what the log holds past the manifest as batch files and name them in a new
        manifest (the commit point); returns how many records were committed."""
        with self._lock:
            taken = list(self._pending)
        if not taken:
            return 0
        generation = self.manifest.generation + 1
        events = [
            dict(r["row"], message_id=r["message_id"], received_at=r["received_at"])
            for r, _ in taken
            if "row" in r
        ]
        rejects = [
            dict(r["reject"], source_dataset=SOURCE, line_number=None, message_id=r["message_id"])
            for r, _ in taken
            if "reject" in r
        ]
        batches = list(self.manifest.batches)
        if events:
            name = f"events-{generation:010d}.parquet"
            self.store.write_batch(name, as_table([_typed(e) for e in events], BATCH_FIELDS))
            batches.append(Batch(name=name, kind="events", rows=len(events)))
        if rejects:
            name = f"rejects-{generation:010d}.parquet"
            self.store.write_batch(name, as_table(rejects, REJECT_FIELDS))
            batches.append(Batch(name=name, kind="rejects", rows=len(rejects)))
        now = time.time()
        manifest = self.manifest.model_copy(
            update={
                "generation": generation,
                "batches": batches,
                "committed": taken[-1][1],
                "retired": {name: when for name, when in self.manifest.retired.items() if when > now},
            }
        )
        self._merge(manifest)
        self.store.write_manifest(manifest)
        self.manifest = manifest
        with self._lock:
            del self._pending[: len(taken)]
        self.last_commit = datetime.now(UTC)
        self._drop_old_log(manifest.committed.segment)
        self.store.remove_strays(manifest)
        return len(taken)

    def fold_now(self) -> FoldReport | None:
        """Fold every committed batch into the warehouse's tables, then drop them from the
        manifest (keeping their message ids); None when there was nothing to fold."""
        if self.fold is None:
            raise RuntimeError("this collector was given no warehouse to fold into")
        taken = [b for b in self.manifest.batches if b.kind in ("events", "rejects")]
        if not taken:
            self.store.clear_folding()
            self._folding = set()
            return None
        # Until the manifest drops them (below), these may be in the tables already: never merged.
        self._folding |= {b.name for b in taken}
        try:
            report = self.fold(self.store, self.manifest.store_id, taken)
        except Exception:
            # Refused before it began (the file locked: `folding.json` not written), the batches
            # are as before; otherwise the file says which may be in the tables.
            self._folding = set(self.store.folding())
            raise
        generation = self.manifest.generation + 1
        kept = [b for b in self.manifest.batches if b not in taken]
        events = [b for b in taken if b.kind == "events"]
        if events:
            ids = pa.concat_tables(
                pq.read_table(self.store.batches / b.name, columns=["message_id"]) for b in events
            ).cast(ID_FIELDS)
            name = f"ids-{generation:010d}.parquet"
            self.store.write_batch(name, ids)
            kept.append(Batch(name=name, kind="ids", rows=ids.num_rows))
        now = time.time()
        manifest = self.manifest.model_copy(
            update={
                "generation": generation,
                "batches": kept,
                "retired": {n: when for n, when in self.manifest.retired.items() if when > now}
                | dict.fromkeys((b.name for b in taken), now + RETIRE_SECONDS),
                "folded_rows": self.manifest.folded_rows + sum(b.rows for b in events),
            }
        )
        self._folding = set()
        self._merge(manifest)
        self.store.write_manifest(manifest)
        self.manifest = manifest
        self.store.clear_folding()
        self.last_fold = datetime.now(UTC)
        self.store.remove_strays(manifest)
        return report

    def _merge(self, manifest: Manifest) -> None:
        """Fold small batches of one kind into one file once MERGE_AT of them pile up, so queries
        read a bounded number of files."""
        for kind, fields in (("events", BATCH_FIELDS), ("rejects", REJECT_FIELDS), ("ids", ID_FIELDS)):
            small = [
                b
                for b in manifest.batches
                if b.kind == kind and b.rows < MERGE_ROWS and b.name not in self._folding
            ]
            if len(small) < MERGE_AT:
                continue
            merged = pa.concat_tables(
                pq.read_table(self.store.batches / b.name, schema=fields) for b in small
            )
            name = f"{kind}-{manifest.generation:010d}-merged.parquet"
            self.store.write_batch(name, merged)
            gone = {b.name for b in small}
            keep = [b for b in manifest.batches if b.name not in gone]
            manifest.batches = keep + [Batch(name=name, kind=kind, rows=merged.num_rows)]
            manifest.retired = manifest.retired | dict.fromkeys(gone, time.time() + RETIRE_SECONDS)

    def _drop_old_log(self, committed_segment: int) -> None:
        for number in log_segments(self.store):
            if number < committed_segment:
                segment_path(self.store, number).unlink(missing_ok=True)

    def health(self) -> Health:
        manifest = self.manifest
        return Health(
            status="ok",
            events=sum(b.rows for b in manifest.batches if b.kind == "events"),
            rejected=sum(b.rows for b in manifest.batches if b.kind == "rejects"),
            pending=len(self._pending),
            last_commit=self.last_commit,
            batches=len(manifest.batches),
            folded=manifest.folded_rows,
            last_fold=self.last_fold,
        )

    def close(self) -> None:
        """Stop the committer after a last commit (what stays in the log commits on the next start)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        try:
            self.commit()
        except OSError as exc:
            log.error("last live commit failed (the log keeps the events): %s", exc)
        os.close(self._log)
        os.close(self._store_lock)


def _hold(path: Any) -> int:
    """Take the live store's lock for this process (released when it exits, however it exits)."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise StoreBusy(f"another collector is running for this dataset ({path.parent})") from None
    return descriptor


def _jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def _typed(row: dict) -> dict:
    return dict(
        row,
        event_time=datetime.fromisoformat(row["event_time"]),
        received_at=datetime.fromisoformat(row["received_at"]),
    )
