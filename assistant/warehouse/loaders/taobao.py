"""Taobao UserBehavior (Alibaba Tianchi): user_id,item_id,category_id,behavior_type,timestamp; no header."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.warehouse.loaders.base import FileSample, Loader, Plan, raw_text, read_csv

COLUMNS = ["user_id", "item_id", "category_id", "behavior_type", "timestamp"]
BEHAVIORS = {"pv": "view", "cart": "cart", "fav": "fav", "buy": "purchase"}
# The data set covers 2017-11-25..12-03 Beijing time; real rows begin a few hours earlier in UTC.
# Anything further off (2017-09, 1970) is a logging error the original is known to carry.
WINDOW = ("2017-11-24 00:00:00", "2017-12-04 00:00:00")
_ROW = re.compile(r"^\d+,\d+,\d+,(pv|buy|cart|fav),\d+$")


class Taobao(Loader):
    name = "taobao"
    title = "Taobao UserBehavior: user_id,item_id,category_id,behavior_type,timestamp (no header)"

    def detect(self, sample: FileSample) -> bool:
        return bool(sample.lines) and all(_ROW.match(line.strip()) for line in sample.lines[:20])

    def plan(self, path: Path, sample: FileSample) -> Plan:
        time = 'make_timestamp(try_cast("timestamp" AS BIGINT) * 1000000)'
        mapping = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in BEHAVIORS.items())
        return Plan(
            kind="events",
            source=read_csv(path, COLUMNS, header=False),
            columns={
                "event_time": time,
                "user_id": "nullif(user_id, '')",
                "event_type": f"CASE behavior_type {mapping} END",
                "product_id": "nullif(item_id, '')",
                # Categories are anonymised ids; they are all the source has.
                "category": "category_id",
                "category_path": "category_id",
                "quantity": "1",
            },
            raw=raw_text(COLUMNS),
            checks=(
                (
                    f"event_time NOT BETWEEN TIMESTAMP '{WINDOW[0]}' AND TIMESTAMP '{WINDOW[1]}'",
                    "timestamp outside the data set window (2017-11-25..12-03)",
                ),
                ("event_type IS NULL", "unknown behavior_type"),
                ("user_id IS NULL", "missing user_id"),
                ("product_id IS NULL", "missing item_id"),
            ),
            sessionize=True,
            order_per_session=True,
        )
