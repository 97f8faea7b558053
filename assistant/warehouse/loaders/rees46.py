"""REES46 multi-category store (Kaggle "eCommerce behavior data from multi category store")."""

from __future__ import annotations

from pathlib import Path

from assistant.warehouse.loaders.base import FileSample, Loader, Plan, header_is, raw_text, read_csv

COLUMNS = [
    "event_time",
    "event_type",
    "product_id",
    "category_id",
    "category_code",
    "brand",
    "price",
    "user_id",
    "user_session",
]
EVENT_TYPES = "('view', 'cart', 'remove_from_cart', 'purchase')"
# '2019-10-01 00:00:00 UTC'
TIME = "try_strptime(replace(event_time, ' UTC', ''), '%Y-%m-%d %H:%M:%S')"


class Rees46(Loader):
    name = "rees46"
    title = "REES46 multi-category store: event_time,event_type,product_id,category_id,…,user_session"

    def detect(self, sample: FileSample) -> bool:
        return header_is(sample, *COLUMNS)

    def plan(self, path: Path, sample: FileSample) -> Plan:
        return Plan(
            kind="events",
            source=read_csv(path, COLUMNS, header=True),
            columns={
                "event_time": TIME,
                "user_id": "nullif(user_id, '')",
                "session_id": "nullif(user_session, '')",
                "event_type": f"CASE WHEN event_type IN {EVENT_TYPES} THEN event_type END",
                "product_id": "nullif(product_id, '')",
                # The category code is dotted: 'electronics.audio.headphone'.
                "category": "nullif(split_part(category_code, '.', 1), '')",
                "category_path": "nullif(replace(category_code, '.', ' > '), '')",
                "brand": "lower(nullif(brand, ''))",
                "price": "try_cast(price AS DOUBLE)",
                "quantity": "1",
                "_price_text": "price",
            },
            raw=raw_text(COLUMNS),
            checks=(
                ("event_type IS NULL", "unknown event_type"),
                ("user_id IS NULL", "missing user_id"),
                ("product_id IS NULL", "missing product_id"),
                ("_price_text <> '' AND price IS NULL", "unparseable price"),
            ),
            # REES46 has no order ids: a session's purchases are taken as one order.
            order_per_session=True,
        )
