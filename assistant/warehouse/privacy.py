"""Personal data found on load is masked before it is written, so it never reaches the model,
the app, the logs or the audit log.

What is detected, by content, in each text column of a load:
- e-mail addresses and IPv4 addresses in any column;
- phone numbers (9-15 digits, with the usual separators) in free-text columns only, since
  numeric ids look like phone numbers.
How it is masked:
- in id columns (user_id, session_id, order_id) the whole value is replaced by a keyed pseudonym
  (`pii_` + 16 hex of SHA-256 over the data dir's secret key and the value): the same person gets
  the same pseudonym in every load, so counts and joins still work, but the value cannot be read
  back without the key;
- in free text (search queries, titles, descriptions, rejected rows' raw text) the matching
  spans become `[email]`, `[phone]`, `[ip]`.
Names and postal addresses cannot be recognised by content; the canonical schema has no column
for them, and the loaders drop source columns they do not map (SECURITY.md says so).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from assistant.warehouse.loaders.base import sql_str

EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
IPV4 = r"\b(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}\b"
PHONE = r"(\+|\b)[0-9]([ ().-]{0,2}[0-9]){8,14}\b"

ID_COLUMNS = ("user_id", "session_id", "order_id")
TEXT_COLUMNS = ("query_text", "title", "description", "brand", "category", "category_path")
PATTERNS = {"email": EMAIL, "ip": IPV4, "phone": PHONE}


def key_for(data_dir: Path) -> str:
    """The data dir's pseudonym key, made on first use (readable by its owner only)."""
    path = data_dir / "pii.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _masked_text(column: str, kinds: tuple[str, ...]) -> str:
    expression = column
    for kind in kinds:
        expression = f"regexp_replace({expression}, {sql_str(PATTERNS[kind])}, '[{kind}]', 'g')"
    return expression


# A cheap test that must hold before a pattern can match (most values fail it: no regex runs).
_PREFILTER = {
    "email": "contains({c}, '@')",
    "ip": "contains({c}, '.')",
    "phone": "regexp_matches({c}, '[0-9]{{3}}')",
}


def _matches(column: str, kind: str) -> str:
    return f"({_PREFILTER[kind].format(c=column)} AND regexp_matches({column}, {sql_str(PATTERNS[kind])}))"


def mask_table(con: Any, table: str, columns: list[str], key: str) -> dict[str, int]:
    """Mask personal data in `table` (a load's staging table, or rejected rows); returns how many
    values were masked, by 'column: kind'."""
    present = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    checks = {
        column: ("email", "ip") if column in ID_COLUMNS or column == "raw" else tuple(PATTERNS)
        for column in columns
        if column in present
    }
    labels = [(column, kind) for column, kinds in checks.items() for kind in kinds]
    if not labels:
        return {}
    counts = con.execute(
        "SELECT "
        + ", ".join(f"count(*) FILTER (WHERE {_matches(c, k)})" for c, k in labels)
        + f" FROM {table}"
    ).fetchall()[0]
    found = {f"{c}: {k}": n for (c, k), n in zip(labels, counts, strict=True) if n}
    for column, kinds in checks.items():
        if not any(key_.startswith(f"{column}:") for key_ in found):
            continue
        any_match = " OR ".join(_matches(column, k) for k in kinds)
        if column in ID_COLUMNS:
            value = f"'pii_' || left(sha256({sql_str(key)} || {column}), 16)"
        else:
            value = _masked_text(column, kinds)
        con.execute(f"UPDATE {table} SET {column} = {value} WHERE {any_match}")
    return found


def stage_columns() -> list[str]:
    return [*ID_COLUMNS, *TEXT_COLUMNS, "raw"]
