"""What a loader is: detection from a file's first lines, and a DuckDB SELECT mapping it to canonical rows.

A loader never writes: it returns SQL. `assistant.warehouse.load` runs that SQL through
DuckDB's streaming CSV reader, applies the shared checks, splits rows into the canonical tables
and `rejected_rows`, and reports counts.

An *events* plan fills `EVENT_COLUMNS` and whichever of `EXTRA_EVENT_COLUMNS` the source has;
a *products* plan fills `PRODUCT_COLUMNS`.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np

EVENT_COLUMNS = (
    "event_time",
    "user_id",
    "session_id",
    "event_type",
    "product_id",
    "category",
    "brand",
    "price",
    "quantity",
    "order_id",
    "query_text",
)
# Facts some sources carry about products and users, folded into `products` / `users`.
EXTRA_EVENT_COLUMNS = ("title", "category_path", "description", "country", "user_attributes")
PRODUCT_COLUMNS = ("product_id", "title", "category", "category_path", "brand", "price", "description")

SAMPLE_BYTES = 16_384
# The longest line (row) the reader accepts, in bytes: DuckDB's default, stated so that the
# pre-scan below and the reader agree. A longer line becomes a rejected row with its reason.
MAX_LINE_BYTES = 2_000_000
COMPRESSED = (".gz", ".gzip", ".zst")  # DuckDB decompresses these itself, by extension


class UnknownFormat(ValueError):
    """A file no loader can take (unknown, empty, unreadable). The message names the file, never
    quotes its content: the app shows it to a browser user, who must not read a server file
    through it (the command line says the same; its user can open the file)."""


@dataclass(frozen=True)
class FileSample:
    """The first lines of a file, BOM stripped: all that detection looks at."""

    path: Path
    lines: list[str]

    @classmethod
    def read(cls, path: Path) -> FileSample:
        gz = path.suffix == ".gz"
        opener = gzip.open if gz else open  # DuckDB reads .gz itself
        try:
            with opener(path, "rb") as handle:
                head = handle.read(SAMPLE_BYTES)
        except (OSError, EOFError, zlib.error) as exc:
            # Never the exception's text: gzip's quotes the file's first bytes.
            what = "a gzip file" if gz else "a file"
            raise UnknownFormat(f"{path.name} could not be read as {what} ({type(exc).__name__})") from None
        text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
        lines = text.splitlines()
        if len(head) == SAMPLE_BYTES and len(lines) > 1:
            lines = lines[:-1]  # the last line may be cut by the sample size
        return cls(path=path, lines=[line for line in lines if line.strip()])

    def fields(self, line: int = 0, delimiter: str = ",") -> list[str]:
        if line >= len(self.lines):
            return []
        return next(csv.reader(io.StringIO(self.lines[line]), delimiter=delimiter), [])

    def header(self, delimiter: str = ",") -> tuple[str, ...]:
        """First line's fields, normalised (lower case, no spaces or underscores) for matching."""
        return tuple(_norm(f) for f in self.fields(0, delimiter))

    def rows(self, delimiter: str = ",", skip_header: bool = False) -> list[list[str]]:
        start = 1 if skip_header else 0
        return [self.fields(i, delimiter) for i in range(start, len(self.lines))]


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", "").replace(" ", "")


def header_is(sample: FileSample, *names: str, delimiter: str = ",", prefix: bool = False) -> bool:
    """True when the file's header is exactly `names` (or starts with them), ignoring case/underscores."""
    got = sample.header(delimiter)
    want = tuple(_norm(n) for n in names)
    return got[: len(want)] == want if prefix else got == want


@dataclass(frozen=True)
class Plan:
    """What a loader hands the pipeline: where rows come from and how each canonical column is made.

    `source` is a FROM item (a `read_csv(...)` or a subquery). `columns` maps canonical column
    names, and helper names starting with `_`, to DuckDB expressions over the source's columns;
    canonical columns left out are NULL, helpers are not stored. `checks` are (SQL condition over
    the mapped columns, reason text) pairs tried in order; the first that holds rejects the row.
    Reasons are fixed texts so they can be counted. `raw` is SQL over `src`, the source row as a
    struct, giving the row's text for `rejected_rows.raw`; it is built for rejected rows only.
    """

    kind: Literal["events", "products"]
    source: str
    columns: dict[str, str]
    raw: str
    checks: tuple[tuple[str, str], ...] = ()
    sessionize: bool = False  # split each user's events into sessions on 30 min of inactivity
    order_per_session: bool = False  # purchases without an order id: one order per session


class Loader:
    """One source format. Subclasses set the class attributes and implement `detect` and `plan`."""

    name: ClassVar[str]
    title: ClassVar[str]
    kind: ClassVar[Literal["events", "products"]] = "events"
    # Set where the format has no real calendar dates and the loader makes them up: why, for
    # the decline of a question that names a month, a weekday or a date.
    nominal_dates: ClassVar[str | None] = None

    def detect(self, sample: FileSample) -> bool:
        raise NotImplementedError

    def plan(self, path: Path, sample: FileSample) -> Plan:
        raise NotImplementedError

    def main_file(self, folder: Path) -> Path | None:
        """For formats that come as a folder of files: the file to detect by; None otherwise."""
        return None

    def label(self, path: Path) -> str:
        """The `source_dataset` value of this load: re-loading the same label replaces its rows."""
        return f"{self.name}:{path.name}"


def sql_str(text: str | Path) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


_GLOB = frozenset("*?[")


def file_literal(path: Path) -> str:
    """A SQL literal naming exactly this one file for DuckDB's readers, which treat `*`, `?` and
    `[` in a path as a glob (a file named `x*.csv` would also read `x1.csv`): each becomes a
    one-character class (`[*]`). DuckDB has no escape for a backslash next to one, so such a name
    is refused rather than read as a pattern."""
    text = str(path)
    if _GLOB & set(text) and "\\" in text:
        raise UnknownFormat(
            f"{path.name}: a path with a backslash and one of * ? [ cannot be read exactly; rename the file"
        )
    return sql_str("".join(f"[{c}]" if c in _GLOB else c for c in text))


def serial_read(path: Path) -> bool:
    """Whether the CSV reader must run single-threaded on this file to account for every line.

    DuckDB's parallel reader loses a line longer than its buffer (about 16 x the maximum line
    size) without a reject or an error; the single-threaded one rejects it ('LINE SIZE OVER
    MAXIMUM'). So a file with any line over the maximum is read single-threaded, found by a
    vectorised scan of its newlines (about 2 GB/s); a compressed file always is (its lines cannot
    be scanned without decompressing it, and DuckDB decompresses single-threaded anyway).
    """
    if path.name.lower().endswith(COMPRESSED):
        return True
    stat = path.stat()
    return _longest_line(str(path), stat.st_size, stat.st_mtime_ns) > MAX_LINE_BYTES


@functools.lru_cache(maxsize=64)
def _longest_line(path: str, size: int, mtime_ns: int) -> int:
    """Bytes of the file's longest line ('\\n'-separated: a '\\r'-only file reads as one long line,
    which only makes its read single-threaded). Cached by size and modification time: a plan may
    read one file twice."""
    longest = run = 0  # run: bytes since the last newline, across chunks
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 24):
            newlines = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
            if not len(newlines):
                run += len(chunk)
            else:
                longest = max(longest, run + int(newlines[0]))
                if len(newlines) > 1:
                    longest = max(longest, int(np.diff(newlines).max()) - 1)
                run = len(chunk) - int(newlines[-1]) - 1
            if max(longest, run) > MAX_LINE_BYTES:
                break  # the answer is known
    return max(longest, run)


def read_csv(
    path: Path | list[Path],
    columns: list[str],
    *,
    header: bool,
    delim: str = ",",
    quote: str = '"',
    skip: int = 0,
    store_rejects: bool = True,
    ignore_errors: bool = False,
) -> str:
    """DuckDB's streaming CSV reader with every column as text.

    Typing happens in the mapped SELECT with try_cast, so a bad value becomes a reject with a
    reason instead of failing the load; rows with the wrong number of fields or over
    `MAX_LINE_BYTES` are captured by `store_rejects` (see `load.py`). `ignore_errors` is for a
    second scan of a file whose first scan stores its rejects. File names are never patterns
    (`file_literal`).
    """
    paths = path if isinstance(path, list) else [path]
    spec = ", ".join(f"{sql_str(c)}: 'VARCHAR'" for c in columns)
    options = [
        f"header = {str(header).lower()}",
        f"delim = {sql_str(delim)}",
        f"quote = {sql_str(quote)}",
        f"escape = {sql_str(quote)}",
        f"columns = {{{spec}}}",
        "auto_detect = false",  # the loader knows the dialect; sniffing would only second-guess it
        f"max_line_size = {MAX_LINE_BYTES}",
    ]
    if any(serial_read(p) for p in paths):
        options.append("parallel = false")
    if ignore_errors:
        options.append("ignore_errors = true")
    if store_rejects:  # one scan per file should store them, or they are counted twice
        options += [
            "store_rejects = true",
            "rejects_table = 'shoplens_reject_errors'",
            "rejects_scan = 'shoplens_reject_scans'",
        ]
    if skip:
        options.append(f"skip = {skip}")
    files = f"[{', '.join(file_literal(p) for p in path)}]" if isinstance(path, list) else file_literal(path)
    return f"read_csv({files}, {', '.join(options)})"


def raw_text(columns: list[str], delim: str = ",") -> str:
    """SQL for the row as read (fields of the source row struct `src`), for `rejected_rows.raw`."""
    parts = ", ".join(f"coalesce(src.\"{c}\", '')" for c in columns)
    return f"concat_ws({sql_str(delim)}, {parts})"
