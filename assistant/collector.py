"""The event collector: trackers post behavior as it happens; queries see it within about a second.

    POST /v1/track   one event in Segment's `track` shape
    POST /v1/batch   {"batch": [event, ...]} (Segment's batch call)
    GET  /v1/health  counts, the log backlog and the last commit (open without a key)

An event: {"type": "track", "event": "Product Viewed", "userId" or "anonymousId", "messageId",
"timestamp", "properties": {product_id, category, brand, price, quantity, order_id, query,
session_id, products: [...]}}. Segment's e-commerce names (Product Viewed, Product Added, Product
Removed, Product Added to Wishlist, Products Searched, Order Completed with its products) and
ShopLens's own event types (view, cart, remove_from_cart, fav, search, purchase) are understood.

Committed batches are folded into the warehouse's tables from time to time (on PostgreSQL after
every commit: see `assistant.warehouse.fold`).

A request is answered 200 only once its events are in the write-ahead log on disk
(`assistant.warehouse.ingest`, `assistant.warehouse.live`); events that fail the loaders' checks are kept as rejects with the
reason and the raw JSON; a messageId seen before is acknowledged again and not stored twice.
Authentication is by write key (HTTP Basic with the key as user name, as Segment sends it, or a
Bearer token, or X-Write-Key); requests are capped in size and each key in events per second.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from assistant.settings import Settings, is_loopback
from assistant.warehouse.fold import into_warehouse
from assistant.warehouse.ingest import DiskFull, Health, Ingest, Receipt, StoreBusy
from assistant.warehouse.live import LiveStore
from assistant.watch import Watcher

log = logging.getLogger(__name__)


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


@dataclass
class Collector:
    url: str  # where it takes events (`/v1/track`, `/v1/batch`)
    ingest: Ingest


def live_ingest(settings: Settings) -> Ingest:
    """The dataset's collector core, folding into its warehouse: on DuckDB every
    `collector_fold_minutes` (when no other program has the file open), on a server database
    after every commit (its queries see live events only once folded)."""
    if settings.database_url and sa.engine.make_url(settings.database_url).get_backend_name() == "hive":
        raise CollectorRefused(
            "live events cannot be collected into Spark SQL: collect into DuckDB or PostgreSQL"
        )
    server = settings.database_url is not None
    try:
        return Ingest(
            LiveStore.of(settings),
            interval=settings.collector_commit_seconds,
            fold=into_warehouse(settings) if server or settings.collector_fold_minutes else None,
            fold_seconds=0.0 if server else settings.collector_fold_minutes * 60,
        )
    except StoreBusy as exc:
        raise CollectorRefused(str(exc)) from None


@contextmanager
def collecting(settings: Settings, port: int | None = None) -> Iterator[Collector]:
    """The collector of the settings' dataset, served from a background thread. On exit it
    stops taking requests and commits what it acknowledged."""
    import uvicorn

    keys = [k.get_secret_value() for k in settings.collector_keys]
    if not keys and not is_loopback(settings.host):
        raise CollectorRefused(f"collecting on {settings.host} needs write keys: set SHOPLENS_COLLECTOR_KEYS")
    ingest = live_ingest(settings).start()
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
    watcher = Watcher(settings).start() if settings.watch_minutes else None
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise CollectorRefused(f"the collector could not listen on {settings.host}:{port}")
            time.sleep(0.05)
        yield Collector(url=f"http://{settings.host}:{port}", ingest=ingest)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        if watcher is not None:
            watcher.stop()
        ingest.close()
