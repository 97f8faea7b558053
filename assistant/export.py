"""Results as files people open: CSV that a spreadsheet cannot run (the app's download, `shoplens
ask --csv`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A cell for a CSV download that a spreadsheet cannot run (OWASP CSV injection): a text
    starting with = + - @, a tab or a carriage return gets a leading single quote. Numbers stay
    numbers, and so does a text that is only a number ('-3.5'): it cannot be a formula. A carriage
    return inside a text becomes a line feed: the CSV writer quotes a cell holding a line feed but
    not one holding a lone CR, which a spreadsheet would take for the start of a new row."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n")


def write_csv(columns: Sequence[Any], rows: Sequence[Sequence[Any]], path: Path) -> Path:
    """The table as CSV at `path`, full precision, every cell and header `spreadsheet_safe`."""
    safe_rows = [[spreadsheet_safe(value) for value in row] for row in rows]
    pd.DataFrame(safe_rows, columns=[spreadsheet_safe(str(c)) for c in columns]).to_csv(path, index=False)
    return path
