"""YooChoose (RecSys Challenge 2015): anonymous session clicks and buys.

Three shapes: the widely used preprocessed clicks (tab separated `SessionId ItemId Time`, unix
seconds), and the original `yoochoose-clicks.dat` (`session,timestamp,item,category`) and
`yoochoose-buys.dat` (`session,timestamp,item,price,quantity`), ISO timestamps, no header.
"""

from __future__ import annotations

import re
from pathlib import Path

from assistant.warehouse.loaders.base import FileSample, Loader, Plan, header_is, raw_text, read_csv

PREPROCESSED = ["SessionId", "ItemId", "Time"]
CLICKS = ["session", "timestamp", "item", "category"]
BUYS = ["session", "timestamp", "item", "price", "quantity"]
_ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"
_CLICK_ROW = re.compile(rf"^\d+,{_ISO},\d+,[^,]*$")
_BUY_ROW = re.compile(rf"^\d+,{_ISO},\d+,\d+,\d+$")
ISO_TIME = "try_strptime(\"timestamp\", ['%Y-%m-%dT%H:%M:%S.%gZ', '%Y-%m-%dT%H:%M:%SZ'])"


def _shape(sample: FileSample) -> str | None:
    if header_is(sample, *PREPROCESSED, delimiter="\t"):
        return "preprocessed"
    lines = sample.lines[:20]
    if lines and all(_CLICK_ROW.match(line) for line in lines):
        return "clicks"
    if lines and all(_BUY_ROW.match(line) for line in lines):
        return "buys"
    return None


class Yoochoose(Loader):
    name = "yoochoose"
    title = "YooChoose clicks/buys: SessionId\\tItemId\\tTime, or the original clicks.dat / buys.dat"

    def detect(self, sample: FileSample) -> bool:
        return _shape(sample) is not None

    def plan(self, path: Path, sample: FileSample) -> Plan:
        shape = _shape(sample)
        if shape == "preprocessed":
            time = 'make_timestamp(CAST(try_cast("Time" AS DOUBLE) * 1000000 AS BIGINT))'
            return Plan(
                kind="events",
                source=read_csv(path, PREPROCESSED, header=True, delim="\t"),
                columns={
                    "event_time": time,
                    "session_id": "nullif(SessionId, '')",
                    "event_type": "'view'",
                    "product_id": "nullif(ItemId, '')",
                    "quantity": "1",
                },
                raw=raw_text(PREPROCESSED, "\t"),
                checks=(
                    ("event_time IS NULL", "unparseable Time"),
                    ("product_id IS NULL", "missing ItemId"),
                ),
            )
        columns = CLICKS if shape == "clicks" else BUYS
        mapped = {
            "event_time": ISO_TIME,
            "session_id": "nullif(session, '')",
            "product_id": "nullif(item, '')",
        }
        if shape == "clicks":
            # category: '0' unknown, 'S' special offer, 1-12 a category, long numbers a brand.
            mapped |= {"event_type": "'view'", "quantity": "1", "category": "nullif(category, '0')"}
        else:
            mapped |= {
                "event_type": "'purchase'",
                "price": "try_cast(price AS DOUBLE)",
                "quantity": "try_cast(quantity AS INTEGER)",
                "order_id": "session",
            }
        return Plan(
            kind="events",
            source=read_csv(path, columns, header=False),
            columns=mapped,
            raw=raw_text(columns),
            checks=(
                ("event_time IS NULL", "unparseable timestamp"),
                ("product_id IS NULL", "missing item"),
            ),
        )
