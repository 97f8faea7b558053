"""Replay a dataset's events to a collector, with the original timing compressed: for demos, load
tests and the collector's benchmark (`shoplens collect replay`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from pydantic import BaseModel

from assistant.warehouse.db import Warehouse

log = logging.getLogger(__name__)

COLUMNS = "event_time, user_id, session_id, event_type, product_id, category, brand, price, quantity, order_id, query_text"


def tracked(row: tuple, message_id: str, when: datetime) -> dict[str, Any]:
    """One events row as a Segment `track` call (ShopLens's event names, the row's fields)."""
    _, user, session, event_type, product, category, brand, price, quantity, order, query = row
    properties = {
        "product_id": product,
        "category": category,
        "brand": brand,
        "price": price,
        "quantity": quantity,
        "order_id": order,
        "query": query,
        "session_id": session,
    }
    return {
        "type": "track",
        "event": event_type,
        "userId" if user is not None else "anonymousId": user if user is not None else session,
        "messageId": message_id,
        "timestamp": when.isoformat() + "Z",
        "properties": {k: v for k, v in properties.items() if v is not None},
    }


class Plan(BaseModel):
    """What to replay and what to plant in it (for demos of the live checks and their test)."""

    speedup: float = 3600.0  # the original timing compressed this many times
    limit: int | None = None  # only the first N events
    last_days: float | None = None  # only the data's last N days
    keep_times: bool = False  # timestamps keep their spacing, the last one now (else: compressed from now)
    outage_minutes: float = 0  # no events in this many minutes ending OUTAGE_BEFORE before the end
    conversion_drop: bool = False  # no purchases in the last DROP_WINDOW
    end_at: datetime | None = None  # with keep_times: when the last event happens (default: now)


OUTAGE_BEFORE = timedelta(minutes=90)
DROP_WINDOW = timedelta(hours=6)  # long enough for the demo shop's evening traffic to show it


def dataset_events(
    warehouse: Warehouse, plan: Plan, start: datetime | None = None
) -> Iterator[tuple[float, dict[str, Any]]]:
    """(seconds after the replay's start to send it, the event) in time order. Timestamps start at
    `start` (now by default) and run `speedup` times faster, or with `keep_times` keep their
    spacing and end at `start`."""
    start = start or datetime.now(UTC).replace(tzinfo=None)
    run = start.strftime("%Y%m%d%H%M%S%f")
    anchor = plan.end_at or start
    # The dataset's own rows, not what a collector already added to it.
    own = "source_dataset != 'live'"
    with warehouse.engine.connect() as conn:
        first, last = conn.exec_driver_sql(
            f"SELECT min(event_time), max(event_time) FROM events WHERE {own}"
        ).one()
        if first is None:
            return
        since = max(first, last - timedelta(days=plan.last_days)) if plan.last_days else first
        outage_end = last - OUTAGE_BEFORE
        outage = (outage_end - timedelta(minutes=plan.outage_minutes), outage_end)
        sql = f"SELECT {COLUMNS} FROM events WHERE {own} AND event_time >= :since ORDER BY event_time" + (
            f" LIMIT {int(plan.limit)}" if plan.limit else ""
        )
        for number, row in enumerate(conn.execute(sa.text(sql), {"since": since})):
            when = row[0]
            if plan.outage_minutes and outage[0] <= when < outage[1]:
                continue
            if plan.conversion_drop and row[3] == "purchase" and when >= last - DROP_WINDOW:
                continue
            offset = (when - since).total_seconds() / plan.speedup
            moved = when + (anchor - last) if plan.keep_times else start + timedelta(seconds=offset)
            yield offset, tracked(tuple(row), f"replay-{run}-{number}", moved)


@dataclass
class ReplayReport:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    retries: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds per acknowledged request

    @property
    def events_per_second(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def replay(
    events: Iterator[tuple[float, dict[str, Any]]],
    url: str,
    key: str | None,
    *,
    rate: float | None = None,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Send the events in batches, at most `rate` per second and no sooner than their offsets;
    a batch refused for load (429, 5xx, no connection) is sent again as it was (same messageIds,
    so the collector keeps each event once)."""
    report = ReplayReport()
    auth = (key, "") if key else None
    began = time.monotonic()
    with httpx.Client(base_url=url.rstrip("/"), auth=auth, timeout=30) as client:
        pending: list[dict[str, Any]] = []
        for offset, event in events:
            pending.append(event)
            if len(pending) >= batch:
                _pace(began, offset, rate, report.sent + len(pending))
                _send(client, pending, report)
                if progress:
                    progress(len(pending))
                pending = []
        if pending:
            _send(client, pending, report)
            if progress:
                progress(len(pending))
    report.seconds = time.monotonic() - began
    return report


def _pace(began: float, offset: float, rate: float | None, sent: int) -> None:
    due = max(offset, sent / rate if rate else 0.0)
    wait = began + due - time.monotonic()
    if wait > 0:
        time.sleep(wait)


def _send(client: httpx.Client, events: list[dict[str, Any]], report: ReplayReport) -> None:
    delay = 0.2
    for _ in range(30):
        sent = time.monotonic()
        try:
            reply = client.post("/v1/batch", json={"batch": events})
        except httpx.TransportError as exc:
            log.warning("collector unreachable (%s); retrying", exc)
        else:
            if reply.status_code == 200:
                receipt = reply.json()
                report.latencies.append(time.monotonic() - sent)
                report.sent += len(events)
                report.accepted += receipt["accepted"]
                report.rejected += receipt["rejected"]
                report.duplicates += receipt["duplicates"]
                return
            if reply.status_code not in (429, 500, 502, 503, 504, 507):
                raise RuntimeError(f"the collector refused a batch ({reply.status_code}): {reply.text[:300]}")
            delay = float(reply.headers.get("retry-after", delay))
        report.retries += 1
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
    raise RuntimeError("the collector did not take a batch after 30 tries")
