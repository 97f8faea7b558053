"""The event collector: trackers post behavior as it happens; queries see it within about a second.

    POST /v1/track   one event in Segment's `track` shape
    POST /v1/batch   {"batch": [event, ...]} (Segment's batch call)
    GET  /v1/health  counts, the log backlog and the last commit (open without a key)

An event: {"type": "track", "event": "Product Viewed", "userId" or "anonymousId", "messageId",
"timestamp", "properties": {product_id, category, brand, price, quantity, order_id, query,
session_id, products: [...]}}. Segment's e-commerce names (Product Viewed, Product Added, Product
Removed, Product Added to Wishlist, Products Searched, Order Completed with its products) and
ShopLens's own event types (view, cart, remove_from_cart, fav, search, purchase) are understood.

A request is answered 200 only once its events are in the write-ahead log on disk
(`assistant.warehouse.live`); events that fail the loaders' checks are kept as rejects with the
reason and the raw JSON; a messageId seen before is acknowledged again and not stored twice.
Authentication is by write key (HTTP Basic with the key as user name, as Segment sends it, or a
Bearer token, or X-Write-Key); requests are capped in size and each key in events per second.
"""

from __future__ import annotations

import base64
import errno
import json
import logging
import math
import os
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from assistant.settings import Settings, is_loopback
from assistant.warehouse import schema
from assistant.warehouse.live import (
    BATCH_FIELDS,
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

log = logging.getLogger(__name__)

SOURCE = "live"  # events.source_dataset of collected events
SESSION_GAP = timedelta(minutes=30)  # as the loaders split visits of sources without sessions
MAX_EVENT_BYTES = 32 * 1024  # Segment's per-event limit
SEGMENT_BYTES = 64 * 1024**2  # a log file is closed past this size
EVENT_NAMES = {
    "product viewed": "view",
    "product clicked": "view",
    "product added": "cart",
    "product removed": "remove_from_cart",
    "product added to wishlist": "fav",
    "products searched": "search",
    "order completed": "purchase",
    **{t: t for t in schema.EVENT_TYPES},
}
EARLIEST = datetime(1990, 1, 1)


class Rejected(ValueError):
    """An event the checks refuse; the message is the reason kept in rejected_rows."""


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


@dataclass
class Sessions:
    """Visits of senders that give no session id: a user's events 30 minutes apart start a new one."""

    last: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    def of(self, user: str, when: datetime) -> str:
        seen = self.last.get(user)
        if seen is not None and timedelta(0) <= when - seen[1] <= SESSION_GAP:
            session = seen[0]
        elif seen is not None and seen[1] - SESSION_GAP <= when < seen[1]:  # a late event of the visit
            return seen[0]
        else:
            session = f"{SOURCE}:{user}:{when:%Y%m%d%H%M%S}"
        self.last[user] = (session, when)
        return session


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Rejected(f"{name} is not a number: {str(value)[:40]!r}") from None
    if not math.isfinite(number):
        raise Rejected(f"{name} is not a finite number")
    return number


def _when(event: dict, received: datetime) -> datetime:
    stamp = event.get("timestamp") or event.get("originalTimestamp")
    if stamp is None:
        return received  # as Segment does: no timestamp means now
    try:
        when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        raise Rejected("missing or unparseable event_time") from None
    when = when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
    if when < EARLIEST or when > received + timedelta(days=1):
        raise Rejected("event_time out of range (before 1990 or in the future)")
    return when


def event_rows(event: Any, received: datetime, sessions: Sessions) -> list[dict]:
    """The canonical events rows of one tracked event (an order gives one per product), with the
    same checks as the file loaders; `Rejected` says why not."""
    if not isinstance(event, dict):
        raise Rejected("an event must be a JSON object")
    if event.get("type", "track") != "track":
        raise Rejected(f"only track calls are collected, not {str(event.get('type'))[:20]!r}")
    name = _text(event.get("event"))
    event_type = EVENT_NAMES.get((name or "").lower())
    if event_type is None:
        raise Rejected(f"unknown event_type {name!r}" if name else "unknown event_type (no event name)")
    user = _text(event.get("userId")) or _text(event.get("anonymousId"))
    if user is None:
        raise Rejected("no userId or anonymousId")
    properties = event.get("properties") or {}
    if not isinstance(properties, dict):
        raise Rejected("properties must be a JSON object")
    when = _when(event, received)
    context = event.get("context") if isinstance(event.get("context"), dict) else {}
    session = (
        _text(properties.get("session_id")) or _text(context.get("session_id")) or sessions.of(user, when)
    )
    lines = properties.get("products") if event_type == "purchase" else None
    items = [p for p in lines if isinstance(p, dict)] if isinstance(lines, list) and lines else [properties]
    rows = []
    for item in items:
        price = _number(item.get("price"), "price")
        if price is not None and price < 0:
            raise Rejected("negative price")
        quantity = _number(item.get("quantity"), "quantity")
        product = _text(item.get("product_id")) or _text(item.get("sku"))
        if event_type not in ("search",) and product is None:
            raise Rejected(f"no product_id for a {event_type} event")
        brand = _text(item.get("brand"))
        rows.append(
            {
                "event_time": when,
                "user_id": user,
                "session_id": session,
                "event_type": event_type,
                "product_id": product,
                "category": _text(item.get("category")),
                "brand": brand.lower() if brand else None,
                "price": price,
                "quantity": int(quantity) if quantity is not None else 1,
                "order_id": _text(properties.get("order_id")) if event_type == "purchase" else None,
                "query_text": _text(properties.get("query")) if event_type == "search" else None,
                "source_dataset": SOURCE,
            }
        )
    return rows


class DiskFull(OSError):
    """The log could not be written: nothing of the request was kept."""


class Ingest:
    """The durable core: append to the log (then acknowledge), commit micro-batches, recover.

    One lock orders appends; a committer thread turns what the log holds past the manifest's
    position into a batch every `interval` seconds (or sooner once `batch_rows` wait)."""

    def __init__(self, store: LiveStore, *, interval: float = 0.5, batch_rows: int = 50_000) -> None:
        self.store = store
        self.interval = interval
        self.batch_rows = batch_rows
        self.sessions = Sessions()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pending: list[tuple[dict, LogPosition]] = []  # records with the log position after them
        self._thread: threading.Thread | None = None
        self.last_commit: datetime | None = None
        store.create()
        self.manifest = store.manifest()
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
        if record.get("message_id"):
            self.seen.add(record["message_id"])
        row = record.get("row")
        if row:
            self.sessions.last[row["user_id"]] = (row["session_id"], _parse_time(row["event_time"]))

    def append(self, events: list[Any], received: datetime | None = None) -> Receipt:
        """Check, deduplicate and log a request's events; returns once they are on disk."""
        received = received or datetime.now(UTC).replace(tzinfo=None)
        with self._lock:
            records, reasons, duplicates, batch_ids = [], [], 0, set()
            for event in events:
                message = _text(event.get("messageId")) if isinstance(event, dict) else None
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

    def _merge(self, manifest: Manifest) -> None:
        """Fold small batches of one kind into one file once MERGE_AT of them pile up, so queries
        read a bounded number of files."""
        for kind, fields in (("events", BATCH_FIELDS), ("rejects", REJECT_FIELDS)):
            small = [b for b in manifest.batches if b.kind == kind and b.rows < MERGE_ROWS]
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


def _jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _typed(row: dict) -> dict:
    return dict(row, event_time=_parse_time(row["event_time"]), received_at=_parse_time(row["received_at"]))


@dataclass
class RateLimit:
    """Events per second per key, with a burst of one second's worth (a token bucket)."""

    per_second: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str, events: int) -> float:
        """0 when allowed, else the seconds to wait."""
        with self._lock:
            now = time.monotonic()
            tokens, then = self._buckets.get(key, (self.per_second, now))
            tokens = min(self.per_second, tokens + (now - then) * self.per_second)
            events = min(
                events, self.per_second
            )  # a batch bigger than a second's worth waits for a full bucket
            if events > tokens:
                self._buckets[key] = (tokens, now)
                return (events - tokens) / self.per_second
            self._buckets[key] = (tokens - events, now)
            return 0.0


class CollectorLimits(BaseModel):
    max_request_bytes: int = 500 * 1024  # Segment's batch limit
    events_per_second: float = 20_000


def _key_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value).decode().split(":", 1)[0] or None
        except (ValueError, UnicodeDecodeError):
            return None
    if scheme.lower() == "bearer":
        return value.strip() or None
    return request.headers.get("x-write-key")


def create_app(ingest: Ingest, write_keys: Iterable[str], limits: CollectorLimits | None = None) -> FastAPI:
    """The collector's HTTP face over an `Ingest`. `write_keys` empty: no key asked (loopback only;
    `shoplens collect` refuses otherwise)."""
    limits = limits or CollectorLimits()
    keys = [k for k in write_keys if k]
    rate = RateLimit(limits.events_per_second)
    app = FastAPI(
        title="ShopLens collector", summary="Behavior events in, visible to queries within a second"
    )

    async def events_of(request: Request, batch: bool) -> tuple[str, list[Any]]:
        key = _key_of(request)
        if keys and not any(secrets.compare_digest(key or "", k) for k in keys):
            raise HTTPException(
                401, "a valid write key is needed (HTTP Basic user name, Bearer or X-Write-Key)"
            )
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limits.max_request_bytes:
            raise HTTPException(
                413, f"request larger than {limits.max_request_bytes // 1024} KB: send smaller batches"
            )
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limits.max_request_bytes:
                raise HTTPException(
                    413, f"request larger than {limits.max_request_bytes // 1024} KB: send smaller batches"
                )
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise HTTPException(400, f"the body is not JSON: {exc}") from None
        if batch:
            events = payload.get("batch") if isinstance(payload, dict) else None
            if not isinstance(events, list):
                raise HTTPException(400, 'a batch is {"batch": [event, ...]}')
        else:
            if not isinstance(payload, dict):
                raise HTTPException(400, "a track call is one JSON object")
            events = [payload]
        wait = rate.take(key or "", len(events))
        if wait:
            raise HTTPException(
                429,
                f"more than {limits.events_per_second:,.0f} events per second for this key: slow down",
                headers={"Retry-After": str(math.ceil(wait))},
            )
        return key or "", events

    async def receive(events: list[Any]) -> Receipt:
        try:  # the fsync waits in a worker thread, not in the event loop
            return await run_in_threadpool(ingest.append, events)
        except DiskFull as exc:
            raise HTTPException(
                507, f"{exc.strerror}: nothing in this request was kept; retry later"
            ) from None

    @app.post("/v1/track")
    async def track(request: Request) -> Receipt:
        _, events = await events_of(request, batch=False)
        return await receive(events)

    @app.post("/v1/batch")
    async def batch(request: Request) -> Receipt:
        _, events = await events_of(request, batch=True)
        return await receive(events)

    @app.get("/v1/health")
    def health() -> Health:
        return ingest.health()

    @app.exception_handler(HTTPException)
    async def clear_errors(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            {"success": False, "error": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    return app


class CollectorRefused(RuntimeError):
    """The collector cannot start as configured (the message says why)."""


@contextmanager
def collecting(settings: Settings, port: int | None = None) -> Iterator[str]:
    """The collector of the settings' dataset, served from a background thread; yields its URL.
    On exit it stops taking requests and commits what it acknowledged."""
    import uvicorn

    keys = [k.get_secret_value() for k in settings.collector_keys]
    if not keys and not is_loopback(settings.host):
        raise CollectorRefused(f"collecting on {settings.host} needs write keys: set SHOPLENS_COLLECTOR_KEYS")
    ingest = Ingest(LiveStore.of(settings), interval=settings.collector_commit_seconds).start()
    limits = CollectorLimits(
        max_request_bytes=settings.collector_max_request_kb * 1024,
        events_per_second=settings.collector_events_per_second,
    )
    port = port or settings.collector_port
    server = uvicorn.Server(
        uvicorn.Config(create_app(ingest, keys, limits), host=settings.host, port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="collector", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise CollectorRefused(f"the collector could not listen on {settings.host}:{port}")
            time.sleep(0.05)
        yield f"http://{settings.host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        ingest.close()
