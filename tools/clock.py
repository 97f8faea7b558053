"""The clock a question reads times of day on: "between midnight and 6am Beijing time".

Event times are stored in UTC. When a question names a zone, code (not the model) turns it into
an offset from UTC, and the metrics layer reads the hour of the day and the weekday on that
clock; days and periods stay UTC days, and the interpretation says so. Only zones with one offset
all year are shifted: a zone with daylight saving ("Eastern time") would need the date's own
offset, so it is noted and left in UTC.
"""

from __future__ import annotations

import re

# Minutes ahead of UTC, for zones that keep one offset all year.
FIXED_ZONES = {
    "beijing": 480,
    "china": 480,
    "chinese": 480,
    "shanghai": 480,
    "hong kong": 480,
    "taipei": 480,
    "taiwan": 480,
    "singapore": 480,
    "tokyo": 540,
    "japan": 540,
    "seoul": 540,
    "korea": 540,
    "india": 330,
    "indian": 330,
    "moscow": 180,
    "utc": 0,
    "gmt": 0,
}
DAYLIGHT_SAVING_ZONES = (
    "eastern",
    "central",
    "mountain",
    "pacific",
    "new york",
    "london",
    "uk",
    "british",
    "paris",
    "berlin",
    "european",
    "central european",
    "sydney",
)
ZONE_WORD = r"\s+(standard\s+)?(time|timezone|time zone|hours?|clock)\b"
OFFSET = re.compile(r"\b(utc|gmt)\s*(?P<sign>[+\-−])\s*(?P<h>\d{1,2})(:?(?P<m>[0-5]\d))?\b", re.IGNORECASE)
CHINESE_ZONES = {"北京时间": 480, "东八区": 480, "中国时间": 480}
# Hour-of-day and weekday dimensions read `e.event_time`: on another clock, that plus the offset.
CLOCK_DIMENSIONS = ("hour", "weekday")


def offset_named(text: str) -> tuple[int, str] | None:
    """Minutes ahead of UTC that the words name, and the words that did ("Beijing time" is 480);
    None when no zone is named, or the one named changes with daylight saving."""
    for words, minutes in CHINESE_ZONES.items():
        if words in text:
            return minutes, words
    found = OFFSET.search(text)
    if found:
        minutes = int(found.group("h")) * 60 + int(found.group("m") or 0)
        return (-minutes if found.group("sign") != "+" else minutes), found.group(0)
    lowered = text.lower()
    for zone in sorted(FIXED_ZONES, key=len, reverse=True):  # "hong kong" before "kong"
        named = re.search(rf"\b{re.escape(zone)}{ZONE_WORD}", lowered)
        if named:
            return FIXED_ZONES[zone], named.group(0)
    return None


def daylight_zone_named(text: str) -> str | None:
    """The words naming a zone whose offset changes over the year ("Pacific time"), if any."""
    named = re.search(rf"\b({'|'.join(DAYLIGHT_SAVING_ZONES)}){ZONE_WORD}", text.lower())
    return named.group(0) if named else None


def label(minutes: int) -> str:
    """UTC+8, UTC+5:30, UTC-3, UTC."""
    if not minutes:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")


def on_clock(sql: str, minutes: int) -> str:
    """A dimension's SQL with the event time read `minutes` ahead of UTC."""
    if not minutes:
        return sql
    return sql.replace("e.event_time", f"(e.event_time + INTERVAL '{minutes}' MINUTE)")
