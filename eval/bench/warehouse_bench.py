"""The same shop on DuckDB, PostgreSQL and Spark SQL: load time and tool timings, side by side.

    python -m eval.bench.warehouse_bench --events 1M [--engines duckdb,postgres,spark]

Generates the demo shop (same seed) into each warehouse: DuckDB directly; PostgreSQL (a
throwaway local server, eval/bench/postgres.py, loaded by COPY) and Spark SQL (a local Thrift
Server, assistant/warehouse/spark.py, loaded as Parquet) through a scratch DuckDB, as `shoplens
data demo` does. Then runs a representative set of tool calls through each read-only warehouse,
in the same order, and prints the seconds of each side by side, whether each engine's rows equal
DuckDB's, and peak memory: this process's (DuckDB runs inside it) and the server's process tree.
State what else ran on the machine beside the figures.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psutil

from assistant.settings import Settings, parse_count
from eval.bench.engine_bench import PeakRss

# One call per kind of work the assistant asks of a warehouse: a scan with a group, a rate by a
# derived dimension, per-user statistics, a period comparison, the funnel, cohorts, anomaly and
# change analysis (many queries each), segments, search, and free SQL.
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("query_metric", {"metric": "revenue", "group_by": ["category"]}),
    ("query_metric", {"metric": "conversion_rate", "group_by": ["weekday"]}),
    ("query_metric", {"metric": "revenue", "per": "user", "stat": "average"}),
    ("query_metric", {"metric": "revenue", "period": {"kind": "last_n_days", "n": 28}, "grain": "day"}),
    ("compare_periods", {"metric": "conversion_rate", "period": {"kind": "last_week"}}),
    ("funnel", {}),
    ("cohort_retention", {}),
    ("detect_anomalies", {}),
    ("explain_change", {"metric": "revenue"}),
    ("list_segments", {}),
    (
        "run_sql",
        {
            "query": "SELECT category, count(DISTINCT user_id) AS buyers FROM events"
            " WHERE event_type = 'purchase' GROUP BY 1 ORDER BY 2 DESC, 1"
        },
    ),
]


def _server_pid(engine: str, marker: Path) -> int:
    """The server's main process: PostgreSQL's postmaster (its pid file), Spark's JVM (by folder)."""
    if engine == "postgres":
        return int((marker / "data" / "postmaster.pid").read_text().split()[0])
    for process in psutil.process_iter(["cmdline"]):
        if any(str(marker) in part for part in process.info["cmdline"] or []) and "java" in process.name():
            return process.pid
    raise RuntimeError(f"no Spark server process for {marker}")


@contextmanager
def _servers(engines: list[str], folder: Path) -> Iterator[dict[str, tuple[str | None, int | None]]]:
    """Each engine's URL and server pid (None, None for the embedded DuckDB)."""
    from assistant.warehouse import spark
    from eval.bench.postgres import local_postgres

    with ExitStack() as stack:
        made: dict[str, tuple[str | None, int | None]] = {}
        for engine in engines:
            if engine == "duckdb":
                made[engine] = (None, None)
            elif engine == "postgres":
                url = stack.enter_context(local_postgres(spark.free_port()))
                socket_dir = Path(url.split("host=")[1].split("&")[0])
                made[engine] = (url, _server_pid(engine, socket_dir))
            elif engine == "spark":
                work = folder / "spark-server"
                url = stack.enter_context(spark.thrift_server(work, master=f"local[{os.cpu_count() or 2}]"))
                made[engine] = (url, _server_pid(engine, work))
            else:
                raise SystemExit(f"unknown engine {engine!r}: duckdb, postgres, spark")
        yield made


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = call()
    return time.perf_counter() - started, value


def _same_rows(a: Any, b: Any) -> bool:
    def same(x: Any, y: Any) -> bool:
        if isinstance(x, int | float) and isinstance(y, int | float):
            return math.isclose(float(x), float(y), rel_tol=1e-6, abs_tol=1e-9)
        return str(x) == str(y)

    if isinstance(a, str) or isinstance(b, str):  # an error
        return a == b
    return len(a) == len(b) and all(all(map(same, r, s)) for r, s in zip(a, b, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="1M")
    parser.add_argument("--engines", default="duckdb,postgres,spark")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    events = parse_count(args.events)

    from assistant.embeddings import Encoder
    from assistant.warehouse.db import Warehouse
    from assistant.warehouse.demo import generate
    from tools import ToolContext, ToolError, build_tools
    from tools.metrics import SemanticModel

    semantic, encoder = SemanticModel.load(), Encoder()
    tools = build_tools(semantic)
    folder = Path(tempfile.mkdtemp(prefix="shoplens-warehouses-"))
    print(f"{events:,} demo events (seed {args.seed}) on {', '.join(engines)}; {os.cpu_count()} cores\n")
    load_seconds: dict[str, float] = {}
    peak: dict[str, float] = {}
    timings: dict[str, list[float | None]] = {}
    rows: dict[str, list[Any]] = {}
    with _servers(engines, folder) as servers:
        for engine, (url, pid) in servers.items():
            settings = Settings(
                data_dir=folder / engine, database_url=url, min_group_size=1, query_timeout=600
            )
            with PeakRss(pid or os.getpid()) as memory:
                with Warehouse(settings) as writer:
                    load_seconds[engine], _ = _timed(lambda w=writer: generate(w, events, seed=args.seed))
                ctx = ToolContext.open(settings, Warehouse(settings, read_only=True))
                ctx.semantic, ctx.encoder = semantic, encoder
                timings[engine], rows[engine] = [], []
                for name, arguments in CALLS:
                    try:
                        seconds, result = _timed(lambda n=name, a=arguments, c=ctx: tools[n](c, a))
                        timings[engine].append(seconds)
                        rows[engine].append(result.rows)
                    except ToolError as exc:
                        timings[engine].append(None)
                        rows[engine].append(f"error: {exc}")
                ctx.warehouse.close()
            peak[engine] = memory.peak
            print(f"  {engine}: done (load {load_seconds[engine]:.1f}s)", flush=True)

    width = 14
    print(f"\n{'':<46}" + "".join(f"{e:>{width}}" for e in engines))
    print(f"{'generate + load (s)':<46}" + "".join(f"{load_seconds[e]:>{width}.1f}" for e in engines))
    for i, (name, arguments) in enumerate(CALLS):
        label = f"{name} {','.join(f'{k}={v}' for k, v in arguments.items())}"[:44]
        cells = []
        for engine in engines:
            seconds = timings[engine][i]
            same = "duckdb" not in rows or _same_rows(rows[engine][i], rows["duckdb"][i])
            cell = "error" if seconds is None else f"{seconds:.2f}{'' if same else ' ≠'}"
            cells.append(f"{cell:>{width}}")
        print(f"{label:<46}" + "".join(cells))
    totals = [sum(t for t in timings[e] if t is not None) for e in engines]
    print(f"{'all calls (s)':<46}" + "".join(f"{t:>{width}.1f}" for t in totals))
    print(
        f"{'peak memory (MB): this process / server':<46}"
        + "".join(f"{peak[e]:>{width},.0f}" for e in engines)
    )
    print("\n≠: rows differ from DuckDB's. DuckDB's memory is this process's (it runs inside it);")
    print("PostgreSQL's and Spark's are their servers' process trees (this process is extra).")


if __name__ == "__main__":
    main()
