"""What a loader is: detection from a file's first lines, and a DuckDB SELECT mapping it to canonical rows.

A loader never writes: it returns SQL. `assistant.warehouse.load` runs that SQL through
DuckDB's streaming CSV reader, applies the shared checks, splits rows into the canonical tables
and `rejected_rows`, and reports counts.

An *events* plan fills `EVENT_COLUMNS` and whichever of `EXTRA_EVENT_COLUMNS` the source has;
a *products* plan fills `PRODUCT_COLUMNS`.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

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


@dataclass(frozen=True)
class FileSample:
    """The first lines of a file, BOM stripped: all that detection looks at."""

    path: Path
    lines: list[str]

    @classmethod
    def read(cls, path: Path) -> FileSample:
        opener = gzip.open if path.suffix == ".gz" else open  # DuckDB reads .gz itself
        with opener(path, "rb") as handle:
            head = handle.read(SAMPLE_BYTES)
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


def read_csv(
    path: Path | list[Path],
    columns: list[str],
    *,
    header: bool,
    delim: str = ",",
    quote: str = '"',
    skip: int = 0,
    store_rejects: bool = True,
) -> str:
    """DuckDB's streaming CSV reader with every column as text.

    Typing happens in the mapped SELECT with try_cast, so a bad value becomes a reject with a
    reason instead of failing the load; rows with the wrong number of fields are captured by
    `store_rejects` (see `load.py`).
    """
    spec = ", ".join(f"{sql_str(c)}: 'VARCHAR'" for c in columns)
    options = [
        f"header = {str(header).lower()}",
        f"delim = {sql_str(delim)}",
        f"quote = {sql_str(quote)}",
        f"escape = {sql_str(quote)}",
        f"columns = {{{spec}}}",
        "auto_detect = false",  # the loader knows the dialect; sniffing would only second-guess it
    ]
    if store_rejects:  # one scan per file should store them, or they are counted twice
        options += [
            "store_rejects = true",
            "rejects_table = 'shoplens_reject_errors'",
            "rejects_scan = 'shoplens_reject_scans'",
        ]
    if skip:
        options.append(f"skip = {skip}")
    files = f"[{', '.join(sql_str(p) for p in path)}]" if isinstance(path, list) else sql_str(path)
    return f"read_csv({files}, {', '.join(options)})"


def raw_text(columns: list[str], delim: str = ",") -> str:
    """SQL for the row as read (fields of the source row struct `src`), for `rejected_rows.raw`."""
    parts = ", ".join(f"coalesce(src.\"{c}\", '')" for c in columns)
    return f"concat_ws({sql_str(delim)}, {parts})"
