"""Runs one untrusted query in its own process (started by `tools.sql.run_bounded`).

Run as a script (`python -I tools/sql_worker.py`), not imported: it needs nothing but DuckDB, so
it starts in about a tenth of a second. It reads a pickled request on stdin, opens the warehouse
read-only and locked down, caps its own address space, and writes a pickled reply on stdout. A
query that needs more memory than allowed fails here (DuckDB's out-of-memory error, or at worst
this process dies); the app's process, its models and its other sessions never see it.
"""

from __future__ import annotations

import pickle
import resource
import sys
from typing import Any


def _status(field: str) -> int:
    """A figure of /proc/self/status in bytes: VmSize (address space), VmHWM (peak resident
    memory of this program, unlike ru_maxrss, which a child inherits across exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def value_size(value: Any) -> int:
    """About how many bytes a value takes in a result (strings, bytes, lists by their length)."""
    if isinstance(value, str | bytes):
        return len(value) + 16
    if isinstance(value, list | tuple | dict):
        return len(str(value)) + 16
    return 16


def fetch_bounded(cursor: Any, max_rows: int, max_bytes: int) -> list[tuple] | None:
    """Up to `max_rows` rows of a DB-API cursor, or None as soon as they pass `max_bytes` (the row
    limit counts rows; this, their size). tools.sql uses it too, for queries run in its process."""
    rows: list[tuple] = []
    size = 0
    while len(rows) < max_rows and (batch := cursor.fetchmany(min(256, max_rows - len(rows)))):
        rows += [tuple(row) for row in batch]
        size += sum(value_size(value) for row in batch for value in row)
        if size > max_bytes:
            return None
    return rows


def run(request: dict[str, Any]) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(request["database"], read_only=True, config=request["config"])
    for statement in request["lockdown"]:  # no file but the live batches, configuration locked
        con.execute(statement)
    if con.execute("SELECT current_setting('enable_external_access')").fetchall()[0][0]:
        return {"error": "database", "message": "the query connection could not be locked down"}
    for statement in request["live"]:  # events and rejected_rows include the collector's batches
        con.execute(statement)
    # Everything mapped so far (Python, DuckDB's code and arenas) plus the query's allowance.
    allowance = _status("VmSize") + request["memory"]
    resource.setrlimit(resource.RLIMIT_AS, (allowance, allowance))
    try:
        cursor = con.execute(request["sql"])
        columns = [d[0] for d in cursor.description]
        rows = fetch_bounded(cursor, request["max_rows"], request["max_bytes"])
        if rows is None:
            return {"error": "size"}
        return {"columns": columns, "rows": rows, "peak_rss": _peak_rss()}
    except (duckdb.OutOfMemoryException, MemoryError):
        return {"error": "memory", "peak_rss": _peak_rss()}
    except duckdb.Error as exc:
        return {"error": "database", "message": str(exc)}


def _peak_rss() -> int:
    return _status("VmHWM")


if __name__ == "__main__":
    reply = run(pickle.load(sys.stdin.buffer))
    sys.stdout.buffer.write(pickle.dumps(reply))
    sys.stdout.buffer.flush()
