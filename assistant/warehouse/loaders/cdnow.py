"""CDNOW purchases (the standard CLV/RFM data set), whitespace separated.

Master file: `customer_id date number_of_cds dollar_value` with a header; the 1/10 sample has
no header and an extra leading column: `master_id id date cds value`, where `id` (1..2357) is the
customer id the published per-customer summaries use. There are no products: each line is one
purchase of `cds` CDs for `value` dollars; same-day purchases of a customer form one order, as
the published frequency/recency summaries count them. Every item is a CD (the file counts CDs),
so each line's category is 'CDs': "how many CDs were sold" is then a question about this data,
not about a category it lacks.
"""

from __future__ import annotations

import re
from pathlib import Path

from assistant.warehouse.loaders.base import FileSample, Loader, Plan, read_csv

_MASTER_HEADER = re.compile(r"^\s*customer_id\s+date\s+number_of_cds\s+dollar_value\s*$")
_MASTER_ROW = re.compile(r"^\s*\d+\s+\d{8}\s+\d+\s+[\d.]+\s*$")
_SAMPLE_ROW = re.compile(r"^\s*\d+\s+\d+\s+\d{8}\s+\d+\s+[\d.]+\s*$")


class Cdnow(Loader):
    name = "cdnow"
    title = "CDNOW purchases: customer_id date number_of_cds dollar_value (whitespace separated)"

    def detect(self, sample: FileSample) -> bool:
        lines = sample.lines[:20]
        if lines and _MASTER_HEADER.match(lines[0]):
            return all(_MASTER_ROW.match(line) for line in lines[1:])
        return bool(lines) and all(_SAMPLE_ROW.match(line) for line in lines)

    def plan(self, path: Path, sample: FileSample) -> Plan:
        has_header = bool(_MASTER_HEADER.match(sample.lines[0]))
        # No tabs in the file: each line arrives as one field, split on runs of whitespace here.
        fields = "regexp_split_to_array(trim(line), '\\s+')"
        if has_header:
            customer, date, cds, value, width = "f[1]", "f[2]", "f[3]", "f[4]", 4
            attributes = "CAST(NULL AS VARCHAR)"
        else:
            customer, date, cds, value, width = "f[2]", "f[3]", "f[4]", "f[5]", 5
            attributes = "json_object('cdnow_master_id', f[1])::VARCHAR"
        source = (
            f"(SELECT line, {fields} AS f FROM "
            f"{read_csv(path, ['line'], header=has_header, delim=chr(9), quote='')})"
        )
        time = f"try_strptime({date}, '%Y%m%d')"
        n = f"try_cast({cds} AS INTEGER)"
        dollars = f"try_cast({value} AS DOUBLE)"
        user = f"CAST(try_cast({customer} AS BIGINT) AS VARCHAR)"  # '00001' -> '1'
        order = f"{user} || '-' || {date}"
        return Plan(
            kind="events",
            source=source,
            columns={
                "event_time": time,
                "user_id": user,
                "session_id": order,
                "event_type": "'purchase'",
                "price": f"CASE WHEN {n} > 0 THEN {dollars} / {n} ELSE {dollars} END",
                "quantity": n,
                "category": "'CDs'",
                "order_id": order,
                "user_attributes": attributes,
                "_fields": "len(f)",
            },
            raw="src.line",
            checks=(
                (f"_fields <> {width}", f"expected {width} fields"),
                ("event_time IS NULL", "unparseable date"),
                ("user_id IS NULL", "unparseable customer id"),
                ("quantity IS NULL OR price IS NULL", "unparseable number_of_cds or dollar_value"),
            ),
        )
