"""Diginetica (CIKM Cup 2016) item views: `session_id;user_id;item_id;timeframe;eventdate`.

`timeframe` is milliseconds since the session's start; `user_id` is mostly `NA` (anonymous).
"""

from __future__ import annotations

from pathlib import Path

from assistant.warehouse.loaders.base import FileSample, Loader, Plan, header_is, raw_text, read_csv

COLUMNS = ["session_id", "user_id", "item_id", "timeframe", "eventdate"]


class Diginetica(Loader):
    name = "diginetica"
    title = "Diginetica item views: session_id;user_id;item_id;timeframe;eventdate"

    def detect(self, sample: FileSample) -> bool:
        return header_is(sample, *COLUMNS, delimiter=";")

    def plan(self, path: Path, sample: FileSample) -> Plan:
        time = "try_cast(eventdate AS DATE) + to_milliseconds(try_cast(timeframe AS BIGINT))"
        return Plan(
            kind="events",
            source=read_csv(path, COLUMNS, header=True, delim=";"),
            columns={
                "event_time": time,
                "user_id": "CASE WHEN user_id NOT IN ('NA', '') THEN user_id END",
                "session_id": "nullif(session_id, '')",
                "event_type": "'view'",
                "product_id": "nullif(item_id, '')",
                "quantity": "1",
            },
            raw=raw_text(COLUMNS, ";"),
            checks=(
                ("event_time IS NULL", "unparseable eventdate or timeframe"),
                ("session_id IS NULL", "missing session_id"),
                ("product_id IS NULL", "missing item_id"),
            ),
        )
