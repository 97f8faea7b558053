"""Personal data is masked: on load, before anything is stored (so it never reaches the model, the
app or the logs), and in any text given to `mask_text` (the audit log masks what it records).

What is detected, by content. `mask_text` is the one detector; `mask_table` runs it in DuckDB.
- E-mail addresses: dot-atom or quoted local parts (`"john doe"@example.com`), internationalised
  local parts and domains (`josé@exämple.de`, `用户@例子.中国`, `xn--` domains), domain literals
  (`postmaster@[192.168.0.1]`).
- IBANs (ISO 13616): two letters, two check digits, then 11-30 letters or digits, plain or in
  groups of 4, any case; only when the mod-97 check holds.
- Payment card numbers: 13-19 digits, plain or in groups separated by spaces or dashes (4-4-4-4,
  4-6-5, 4-4-4-4-3, ...); only when the Luhn check holds. One random number in ten passes Luhn
  and is masked too (a 19-digit REES46 category id in a rejected line, say); one that fails, as
  most product ids do, stays.
- IP addresses: IPv4 (four octets of 0-255: `1.2.3.4.5` is a version number and stays, a
  four-part `1.2.3.4` cannot be told from an address and is masked) and IPv6, full, compressed
  (`2001:db8::1`, `::1`), with an IPv4 tail or a zone, checked by `ipaddress`.
- Phone numbers, in the layouts phones are written in: after a `+` (8-16 digits: `+33 1 23 45 67
  89`, `+49 (0)30 123456`, `+447946095812`); with a trunk `0` or the `00` prefix and separators
  (9-15 digits: `020 7946 0958`, `06 12 34 56 78`, `030/123456`, `0044 20 7946 0958`); with an
  area code in parentheses (`(555) 123-4567`); as 3-3-4 groups (`555-123-4567`,
  `1-555-123-4567`). Dates, times and numbers inside longer numbers or words are not phones. A
  bare run of digits is an id, a price or a barcode, never a phone, except in free text right
  after a phone word (`tel`, `phone`, `call`, `mobile`, `cell`, `fax`, `whatsapp`, `sms`, ...):
  `call 5551234567` (7-15 digits), and `tel: 612 34 56 78` (any grouping after the colon).
Where, and how it is masked.
- Free text (search queries, titles, descriptions, brands, categories, the raw text of rejected
  rows, whatever calls `mask_text`): every kind above; each span becomes `[email]`, `[iban]`,
  `[card]`, `[ip]` or `[phone]`.
- Id columns (user_id, session_id, order_id; `identifier=True`): the same, except that a number
  after a phone word is not a phone (a numeric id never is). A value holding any of them is
  replaced whole by a keyed pseudonym (`pii_` + 16 hex of SHA-256 over the data dir's secret key
  and the value): the same person gets the same pseudonym in every load, so counts and joins
  still work, but the value cannot be read back without the key.
In DuckDB (`mask_table`) a cheap RE2 expression (`prefilter`, looser than every rule) picks the
candidate values, and only those go through the detector, registered on the connection as a
Python function (a million rows, 1% of them personal: about 0.5 s on two cores).
Names and postal addresses cannot be recognised by content; the canonical schema has no column
for them, and the loaders drop source columns they do not map (SECURITY.md says so).
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
from duckdb.sqltypes import BOOLEAN, VARCHAR

from assistant.warehouse.loaders.base import sql_str

ID_COLUMNS = ("user_id", "session_id", "order_id")
TEXT_COLUMNS = ("query_text", "title", "description", "brand", "category", "category_path")
KINDS = ("email", "iban", "card", "ip", "phone")  # the order they are looked for in

Span = tuple[int, int]

# Digits are written [0-9], never \d (which takes any script's digits), so that every match is
# also a match of the prefilter below, which DuckDB runs with RE2.
_ATOM = r"[\w!#$%&'*+/=?^`{|}~-]+"
_EMAIL = re.compile(
    rf"""(?<![\w!#$%&'*+/=?^`{{|}}~.-])(?:"(?:[^"\\\r\n]|\\.)+"|{_ATOM}(?:\.{_ATOM})*)"""
    r"@(?:(?:[\w-]+\.)+(?:xn--[\w-]+|[^\W\d_]{2,})|\[[0-9A-Za-z:.]+\])"
)
_IBAN = re.compile(r"(?<!\w)[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?(?!\w)")
_DIGIT_CHAIN = re.compile(r"(?<![\w+.])[0-9]++(?:[ -][0-9]++)*+(?![\w]|\.[0-9])")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}"
    r"(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?(?:%[0-9A-Za-z._-]+)?(?![\w:])"
)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?![\w]|\.[0-9])")
# A comma may end a CSV field (rejected rows' raw text): it may stand right before or after.
_END = r"(?![\w]|[.:/-][0-9])"  # not followed by more of a word or of a number
_SEP = r"[ .\-/]"
_START = r"(?<![\w+./:-])"  # not inside a word, a number or a date
_PHONE_WORD = r"\b(?ai:tel|telephone|phone|call|mobile|mob|cell|fax|whatsapp|sms)\b"  # ASCII, as RE2
# (rule, fewest digits, most digits, whether it applies to id columns); a rule's `number` group,
# when it has one, is the span masked.
_PHONE_RULES = (
    # after a + (or 00, below): +33 1 23 45 67 89, +49 (0)30 123456, +447946095812
    (rf"(?<![\w+])\+[0-9]++(?:{_SEP}?\([0-9]{{1,4}}\))?(?:{_SEP}?[0-9]++)*+{_END}", 8, 16, True),
    # a trunk 0 or the 00 prefix, then separators: 020 7946 0958, 06 12 34 56 78, (030) 123456
    (
        rf"{_START}(?:\(0[1-9][0-9]{{0,3}}\)|0[1-9][0-9]{{0,3}}+|00[1-9][0-9]{{0,2}}+)(?:{_SEP}[0-9]++)++{_END}",
        9,
        15,
        True,
    ),
    # an area code in parentheses: (555) 123-4567
    (rf"(?<![\w+])\([0-9]{{2,5}}\){_SEP}?[0-9]++(?:{_SEP}[0-9]++)*+{_END}", 9, 15, True),
    # 3-3-4 groups: 555-123-4567, 1 555 123 4567
    (rf"{_START}(?:1[ .-])?[0-9]{{3}}(?P<sep>[ .-])[0-9]{{3}}(?P=sep)[0-9]{{4}}{_END}", 10, 11, True),
    # right after a phone word and a colon, any grouping: tel: 612 34 56 78
    (
        rf"{_PHONE_WORD}\.?:[ \t]{{0,3}}(?P<number>\+?[0-9]{{2,}}+(?:{_SEP}[0-9]{{2,}}+)*+){_END}",
        7,
        15,
        False,
    ),
    # right after a phone word, a bare run: call 5551234567
    (rf"{_PHONE_WORD}\.?[ \t]{{0,3}}(?P<number>[0-9]{{7,15}}+){_END}", 7, 15, False),
)
_DATE = re.compile(
    r"\(?(?:(?:19|20)[0-9]{2}[./-][0-9]{1,2}[./-][0-9]{1,2}|[0-9]{1,2}[./-][0-9]{1,2}[./-](?:19|20)[0-9]{2})(?![0-9])"
)

# What a value must contain before the detector can find anything in it (RE2 syntax, for DuckDB):
# each branch is looser than the rule it stands for (ASCII boundaries where a rule has Unicode
# ones); `tests/test_privacy.py` checks it on the corpus. Free text adds the phone words.
_NOT_AFTER = "(^|[^0-9A-Za-z_{}])"  # the RE2 stand-in for a rule's (?<![\w...]) lookbehind
_PREFILTER_IDS = "|".join(
    (
        "@",  # e-mail
        _NOT_AFTER.format("") + r"[A-Za-z]{2}[0-9]{2}( ?[A-Za-z0-9]{4}){2} ?[A-Za-z0-9]{3}",  # IBAN: 15+
        # card: 13 digits, bare or 4-4-..., in a chain of digit groups that ends where a word could
        _NOT_AFTER.format("+.")
        + r"([0-9]{13}|[0-9]{4}[ -][0-9]{4}([ -]?[0-9]){5})([ -]?[0-9])*($|[^0-9A-Za-z_ -]|[ -]($|[^0-9]))",
        r"::|([0-9A-Fa-f]{1,4}:){6}",  # IPv6: compressed, or 7 groups and more
        _NOT_AFTER.format(".") + r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]",  # IPv4
        _NOT_AFTER.format("+") + r"(\+[0-9]|\([0-9]{2,5}\))",  # phone: +, (area code)
        _NOT_AFTER.format("+./:-") + r"(0[0-9]{1,4}[ ./-][0-9]|(1[ .-])?[0-9]{3}[ .-][0-9]{3}[ .-][0-9]{4})",
    )
)
_PREFILTER_TEXT = (
    _PREFILTER_IDS + r"|\b(?i:tel|phone|call|mobile|mob|cell|fax|whatsapp|sms)[.: \t+]{0,6}[0-9]"
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        total += (d * 2 - 9 if d > 4 else d * 2) if i % 2 else d
    return total % 10 == 0


def _iban_valid(text: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to 10-35, mod 97 is 1."""
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    return int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 == 1


def _emails(text: str) -> Iterator[Span]:
    if "@" in text:
        for m in _EMAIL.finditer(text):
            yield m.span()


def _ibans(text: str) -> Iterator[Span]:
    pos = 0
    while m := _IBAN.search(text, pos):
        candidate = m.group()
        while not _iban_valid(candidate) and " " in candidate:  # words after it may have joined
            candidate = candidate.rsplit(" ", 1)[0]
        if _iban_valid(candidate):
            yield m.start(), m.start() + len(candidate)
            pos = m.start() + len(candidate)
        else:
            pos = m.start() + 1


def _cards(text: str) -> Iterator[Span]:
    for chain in _DIGIT_CHAIN.finditer(text):
        groups = [(g.start(), g.end()) for g in re.finditer(r"[0-9]+", chain.group())]
        groups = [(chain.start() + a, chain.start() + b) for a, b in groups]
        i = 0
        while i < len(groups):
            # the longest window starting at i first; a card has 5 groups at most (4-4-4-4-3)
            for j in range(min(len(groups) - 1, i + 4), i - 1, -1):
                if _card_window(text, groups[i : j + 1]):
                    yield groups[i][0], groups[j][1]
                    i = j
                    break
            i += 1


def _card_window(text: str, groups: list[Span]) -> bool:
    sizes = [b - a for a, b in groups]
    if not 13 <= sum(sizes) <= 19:
        return False
    if len(groups) > 1 and (sizes[0] != 4 or any(not 4 <= s <= 6 for s in sizes[1:-1]) or sizes[-1] > 6):
        return False
    digits = "".join(text[a:b] for a, b in groups)
    return len(set(digits)) > 1 and _luhn(digits)


def _ipv6(text: str) -> Iterator[Span]:
    for m in _IPV6.finditer(text):
        candidate = m.group()
        if candidate.endswith(":") and not candidate.endswith("::"):  # a colon after the address
            candidate = candidate[:-1]
        try:
            ipaddress.IPv6Address(candidate.split("%")[0])
        except ValueError:
            continue
        yield m.start(), m.start() + len(candidate)


def _ipv4(text: str) -> Iterator[Span]:
    for m in _IPV4.finditer(text):
        yield m.span()


def _phone_finder(rule: str, fewest: int, most: int) -> Callable[[str], Iterator[Span]]:
    pattern = re.compile(rule)

    def find(text: str) -> Iterator[Span]:
        for m in pattern.finditer(text):
            start, end = m.span("number" if "number" in pattern.groupindex else 0)
            span = _phone_span(text, start, end, fewest, most)
            if span:
                yield span

    return find


def _phone_span(text: str, start: int, end: int, fewest: int, most: int) -> Span | None:
    """The phone in text[start:end], groups past its last possible digit dropped; None if there is
    none (too few digits, or a date)."""
    if _DATE.match(text, start):
        return None
    digits = [i for i in range(start, end) if "0" <= text[i] <= "9"]
    if len(digits) > most:  # cut before the group holding the first digit too many
        end = max(text.rfind(s, start, digits[most]) for s in " .-/")
        if end <= start:
            return None
        digits = [i for i in digits if i < end]
    return (start, end) if len(digits) >= fewest else None


# The finders in the order they run (each on the text the ones before it masked); the id-column
# finders leave out the phone-word rules.
_FINDERS: tuple[tuple[str, Callable[[str], Iterator[Span]], bool], ...] = (
    ("email", _emails, True),
    ("iban", _ibans, True),
    ("card", _cards, True),
    ("ip", _ipv6, True),
    ("ip", _ipv4, True),
    *(("phone", _phone_finder(rule, fewest, most), in_ids) for rule, fewest, most, in_ids in _PHONE_RULES),
)


def _scan(text: str, identifier: bool) -> tuple[str, dict[str, int]]:
    counts: dict[str, int] = {}
    for kind, find, in_ids in _FINDERS:
        if identifier and not in_ids:
            continue
        spans = list(find(text))
        if not spans:
            continue
        counts[kind] = counts.get(kind, 0) + len(spans)
        pieces, last = [], 0
        for start, end in spans:
            pieces += [text[last:start], f"[{kind}]"]
            last = end
        text = "".join(pieces) + text[last:]
    return text, counts


def mask_text(text: str, *, identifier: bool = False) -> tuple[str, dict[str, int]]:
    """`text` with each personal datum replaced by `[email]`, `[iban]`, `[card]`, `[ip]` or
    `[phone]`, and how many of each were replaced (kinds with none are left out).

    `identifier=True` applies the id-column rules (no bare numbers after a phone word); see the
    module doc for what is detected.
    """
    return _scan(text, identifier)


def contains_personal(text: str, *, identifier: bool = False) -> bool:
    """Whether `text` holds any personal datum `mask_text` would mask (`identifier`: as there)."""
    return bool(_scan(text, identifier)[1])


def prefilter(identifier: bool = False) -> str:
    """An RE2 pattern (DuckDB's `regexp_matches`) every value with personal data matches: a cheap
    test that most values fail, so the detector runs on few of them."""
    return _PREFILTER_IDS if identifier else _PREFILTER_TEXT


def key_for(data_dir: Path) -> str:
    """The data dir's pseudonym key, made on first use (readable by its owner only)."""
    path = data_dir / "pii.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


_UDF = "shoplens_mask_personal"
_UDF_TYPE = duckdb.struct_type({"masked": VARCHAR, "kinds": duckdb.list_type(VARCHAR)})
_HITS = "__shoplens_pii_hits"


def _udf(value: str | None, identifier: bool) -> dict[str, Any] | None:
    if value is None:
        return None
    masked, counts = _scan(value, identifier)
    return {"masked": masked, "kinds": sorted(counts)} if counts else None


def _register(con: Any) -> None:
    """Register the detector on `con` as `shoplens_mask_personal(value, identifier)`; a connection
    that has it already (an earlier load) gets this module's function again."""
    try:
        con.remove_function(_UDF)
    except duckdb.InvalidInputException:
        pass  # not registered yet
    con.create_function(_UDF, _udf, [VARCHAR, BOOLEAN], _UDF_TYPE, null_handling="special")


def mask_table(con: Any, table: str, columns: list[str], key: str) -> dict[str, int]:
    """Mask personal data in `table` (a load's staging table, or rejected rows) on the DuckDB
    connection `con`; returns how many values were masked, by 'column: kind'.

    Id columns get a keyed pseudonym for the whole value, other columns have each span masked
    (module doc). Only values matching `prefilter()` go through the detector.
    """
    present = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    targets = [column for column in columns if column in present]
    if not targets:
        return {}
    _register(con)
    found: dict[str, int] = {}
    for column in targets:
        identifier = column in ID_COLUMNS
        # The detector is called in the projection, so only on the rows the prefilter let through
        # (in a WHERE clause, DuckDB may call it before the prefilter, on every row).
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_HITS} AS SELECT rowid AS rid, {_UDF}({column}, {identifier}) AS hit"
            f" FROM {table} WHERE regexp_matches({column}, {sql_str(prefilter(identifier))})"
        )
        counts = con.execute(
            f"SELECT kind, count(*) FROM (SELECT unnest(hit.kinds) AS kind FROM {_HITS}) GROUP BY kind"
        ).fetchall()
        if not counts:
            continue
        found.update({f"{column}: {kind}": n for kind, n in sorted(counts)})
        if identifier:
            value = f"'pii_' || left(sha256({sql_str(key)} || {table}.{column}), 16)"
        else:
            value = "h.masked"
        con.execute(
            f"UPDATE {table} SET {column} = {value}"
            f" FROM (SELECT rid, hit.masked AS masked FROM {_HITS} WHERE hit IS NOT NULL) AS h"
            f" WHERE {table}.rowid = h.rid"
        )
    con.execute(f"DROP TABLE IF EXISTS {_HITS}")
    return found


def stage_columns() -> list[str]:
    return [*ID_COLUMNS, *TEXT_COLUMNS, "raw"]
