"""Segment `track` calls as canonical events rows, with the file loaders' checks.

The names of Segment's e-commerce spec (Product Viewed, Product Added, Product Removed, Product
Added to Wishlist, Products Searched, Order Completed with its `products`) and ShopLens's own
event types are understood; `Rejected` says why an event is not, in the words `rejected_rows`
keeps. Senders that give no session id get visits split on 30 minutes of quiet, as loads do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from assistant.warehouse import schema

SOURCE = "live"  # events.source_dataset of collected events
SESSION_GAP = timedelta(minutes=30)  # as the loaders split visits of sources without sessions
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


@dataclass
class Sessions:
    """Visits of senders that give no session id: a user's events 30 minutes apart start a new one."""

    last: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    def saw(self, user: str, session: str, when: datetime) -> None:
        """A user's event in `session`; a late event does not move the visit's latest time back."""
        seen = self.last.get(user)
        if seen is None or when >= seen[1]:
            self.last[user] = (session, when)

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


def text_field(value: Any) -> str | None:
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
    name = text_field(event.get("event"))
    event_type = EVENT_NAMES.get((name or "").lower())
    if event_type is None:
        raise Rejected(f"unknown event_type {name!r}" if name else "unknown event_type (no event name)")
    user = text_field(event.get("userId")) or text_field(event.get("anonymousId"))
    if user is None:
        raise Rejected("no userId or anonymousId")
    properties = event.get("properties") or {}
    if not isinstance(properties, dict):
        raise Rejected("properties must be a JSON object")
    when = _when(event, received)
    context = event.get("context") if isinstance(event.get("context"), dict) else {}
    session = (
        text_field(properties.get("session_id"))
        or text_field(context.get("session_id"))
        or sessions.of(user, when)
    )
    lines = properties.get("products") if event_type == "purchase" else None
    items = [p for p in lines if isinstance(p, dict)] if isinstance(lines, list) and lines else [properties]
    rows = []
    for item in items:
        price = _number(item.get("price"), "price")
        if price is not None and price < 0:
            raise Rejected("negative price")
        quantity = _number(item.get("quantity"), "quantity")
        product = text_field(item.get("product_id")) or text_field(item.get("sku"))
        if event_type not in ("search",) and product is None:
            raise Rejected(f"no product_id for a {event_type} event")
        brand = text_field(item.get("brand"))
        rows.append(
            {
                "event_time": when,
                "user_id": user,
                "session_id": session,
                "event_type": event_type,
                "product_id": product,
                "category": text_field(item.get("category")),
                "brand": brand.lower() if brand else None,
                "price": price,
                "quantity": int(quantity) if quantity is not None else 1,
                "order_id": text_field(properties.get("order_id")) if event_type == "purchase" else None,
                "query_text": text_field(properties.get("query")) if event_type == "search" else None,
                "source_dataset": SOURCE,
            }
        )
    return rows
