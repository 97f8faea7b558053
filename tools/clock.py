"""The clock a question reads times of day on: "between midnight and 6am Beijing time".

Event times are stored in UTC. When a question names a time zone, code (not the model) finds it
and the metrics layer reads the hour of the day and the weekday on that zone's clock, daylight
saving included ("Pacific time" is UTC-7 in July and UTC-8 in January); days and periods stay
UTC days, and the interpretation says so.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import cache

# Words analysts use for a zone, and its IANA name.
ZONE_NAMES = {
    "beijing": "Asia/Shanghai",
    "china": "Asia/Shanghai",
    "chinese": "Asia/Shanghai",
    "shanghai": "Asia/Shanghai",
    "hong kong": "Asia/Hong_Kong",
    "taipei": "Asia/Taipei",
    "taiwan": "Asia/Taipei",
    "singapore": "Asia/Singapore",
    "tokyo": "Asia/Tokyo",
    "japan": "Asia/Tokyo",
    "seoul": "Asia/Seoul",
    "korea": "Asia/Seoul",
    "india": "Asia/Kolkata",
    "indian": "Asia/Kolkata",
    "moscow": "Europe/Moscow",
    "london": "Europe/London",
    "uk": "Europe/London",
    "british": "Europe/London",
    "paris": "Europe/Paris",
    "berlin": "Europe/Berlin",
    "central european": "Europe/Berlin",
    "eastern": "America/New_York",
    "new york": "America/New_York",
    "central": "America/Chicago",
    "mountain": "America/Denver",
    "pacific": "America/Los_Angeles",
    "california": "America/Los_Angeles",
    "sydney": "Australia/Sydney",
    "utc": "UTC",
    "gmt": "UTC",
}
CHINESE_ZONES = {"北京时间": "Asia/Shanghai", "东八区": "Asia/Shanghai", "中国时间": "Asia/Shanghai"}
ZONE_WORD = r"\s+(standard\s+|daylight\s+)?(time|timezone|time zone|hours?|clock)\b"
# "UTC+8", "GMT-5": whole hours, as the IANA Etc zones (whose signs are POSIX's, the reverse);
# the offsets of part hours as a zone that keeps one all year.
OFFSET = re.compile(
    r"\b(utc|gmt)\s*(?P<sign>[+\-−])\s*(?P<h>\d{1,2})(:(?P<m>[0-5]\d))?(?![:\d])", re.IGNORECASE
)
PART_HOURS = {
    "+4:30": "Asia/Kabul",
    "+5:30": "Asia/Kolkata",
    "+5:45": "Asia/Kathmandu",
    "+6:30": "Asia/Yangon",
    "+9:30": "Australia/Darwin",
}
# The dimensions read on the zone's clock: their `e.event_time` is converted (tools/metrics.py).
CLOCK_DIMENSIONS = ("hour", "weekday")


@cache
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@cache
def _by_lower() -> dict[str, str]:
    return {zone.lower(): zone for zone in known_zones()}


def zone_named(text: str) -> tuple[str, str] | None:
    """The IANA zone the words name and the words that did ("Beijing time": Asia/Shanghai);
    None when they name none."""
    for words, zone in CHINESE_ZONES.items():
        if words in text:
            return zone, words
    found = OFFSET.search(text)
    if found:
        hours, minutes, ahead = int(found.group("h")), int(found.group("m") or 0), found.group("sign") == "+"
        if minutes:
            zone = PART_HOURS.get(f"{'+' if ahead else '-'}{hours}:{minutes:02d}", "")
        else:
            zone = f"Etc/GMT{'-' if ahead else '+'}{hours}" if hours else "UTC"
        if zone in known_zones():  # UTC-14 is no zone
            return zone, found.group(0)
    lowered = text.lower()
    for written in re.findall(r"\b[a-z]+/[a-z_]+(?:/[a-z_]+)?\b", lowered):  # "Europe/Madrid"
        if written in _by_lower():
            return _by_lower()[written], written
    for words in sorted(ZONE_NAMES, key=len, reverse=True):  # "central european" before "central"
        named = re.search(rf"\b{re.escape(words)}{ZONE_WORD}", lowered)
        if named:
            return ZONE_NAMES[words], named.group(0)
    return None


def label(zone: str) -> str:
    """How an answer names the zone: Asia/Shanghai, UTC+8 for Etc/GMT-8."""
    found = re.fullmatch(r"Etc/GMT(?P<sign>[+-])(?P<h>\d+)", zone)
    if found:
        return f"UTC{'-' if found.group('sign') == '+' else '+'}{found.group('h')}"
    return zone


def on_clock(sql: str, zone: str | None) -> str:
    """A dimension's SQL with the event time (UTC) read on `zone`'s clock."""
    if not zone or zone == "UTC":
        return sql
    if zone not in known_zones():
        raise ValueError(f"unknown time zone {zone!r}")
    return sql.replace("e.event_time", f"(e.event_time AT TIME ZONE 'UTC' AT TIME ZONE '{zone}')")
