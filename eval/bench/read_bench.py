"""Reading the recommender's interactions (every product event) from the warehouse: streamed in
Arrow batches as `Interactions.read` does (`ToolContext.batches`), against the read before
batches (every row at once: one Arrow table from DuckDB, Python tuples through a server
database's driver), side by side: seconds and the reading process's memory growth.

    python -m eval.bench.read_bench --events 1M [--engines duckdb,postgres]

Each read runs in a fresh process, its high-water mark reset after the imports and the
warehouse's opening, so the growth is the read's own. State what else ran on
the machine beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MODES = ("whole", "batched")


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    """Start the process's high-water mark (VmHWM) afresh: opening the warehouse reads its facts,
    whose peak would otherwise hide the read's."""
    Path("/proc/self/clear_refs").write_text("5")


def _whole(ctx: Any) -> int:
    """The read before batches (a2f3e32's `Interactions.read`): every row fetched at once, then
    the text columns encoded as codes and their values."""
    import numpy as np
    import pyarrow as pa
    import sqlalchemy as sa

    from tools.recommend import interactions_sql

    sql = interactions_sql()
    if ctx.warehouse.is_duckdb:
        with ctx.warehouse.engine.connect() as conn:
            table = conn.connection.driver_connection.sql(sql).to_arrow_table()
    else:
        with ctx.warehouse.engine.connect() as conn:
            result = conn.execute(sa.text(ctx.warehouse.sql(sql)))
            columns, rows = list(result.keys()), result.all()
        table = pa.Table.from_arrays(
            [pa.array([r[i] for r in rows]) for i in range(len(columns))], names=columns
        )
        del rows
    kept = []
    for name in ("entity", "session", "item"):
        encoded = table[name].dictionary_encode().combine_chunks()
        kept.append((encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary.to_pylist()))
    kept.append(table["weight"].to_numpy(zero_copy_only=False).astype(np.float32))
    kept.append(table["time"].to_numpy(zero_copy_only=False).astype("datetime64[s]"))
    return table.num_rows


def child(mode: str, data_dir: str, url: str | None) -> None:
    from assistant.settings import Settings
    from assistant.warehouse.db import Warehouse
    from tools import ToolContext
    from tools.recommend import Interactions

    settings = Settings(data_dir=Path(data_dir), database_url=url or None)
    ctx = ToolContext.open(settings, Warehouse(settings, read_only=True))
    _reset_peak()
    before = _status_mb("VmRSS")
    started = time.perf_counter()
    rows = _whole(ctx) if mode == "whole" else len(Interactions.read(ctx).item)
    seconds = time.perf_counter() - started
    peak = _status_mb("VmHWM")
    print(json.dumps({"rows": rows, "seconds": seconds, "growth_mb": peak - before}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="1M")
    parser.add_argument("--engines", default="duckdb,postgres")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "DATA_DIR", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.child[2] if args.child[2] != "-" else None)
        return

    from contextlib import ExitStack

    from assistant.settings import Settings, parse_count
    from assistant.warehouse import spark
    from assistant.warehouse.db import Warehouse
    from assistant.warehouse.demo import generate
    from eval.bench.postgres import local_postgres

    events = parse_count(args.events)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    folder = Path(tempfile.mkdtemp(prefix="shoplens-reads-"))
    print(f"{events:,} demo events (seed {args.seed}); {os.cpu_count()} cores\n")
    results: dict[tuple[str, str], dict[str, Any]] = {}
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        for engine in engines:
            if engine == "duckdb":
                url = None
            elif engine == "postgres":
                url = stack.enter_context(local_postgres(spark.free_port()))
            else:
                raise SystemExit(f"unknown engine {engine!r}: duckdb, postgres")
            data_dir = folder / engine
            with Warehouse(Settings(data_dir=data_dir, database_url=url)) as writer:
                generate(writer, events, seed=args.seed)
            for mode in MODES:
                done = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "eval.bench.read_bench",
                        "--child",
                        mode,
                        str(data_dir),
                        url or "-",
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode:
                    results[engine, mode] = {"error": done.stderr.strip().splitlines()[-1][:60]}
                else:
                    results[engine, mode] = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"  {engine} {mode}: {results[engine, mode]}", flush=True)

    print(f"\n{'':<28}" + "".join(f"{f'{e} {m}':>20}" for e in engines for m in MODES))
    for label, key, fmt in (
        ("interactions read", "rows", "{:,.0f}"),
        ("seconds", "seconds", "{:.1f}"),
        ("memory growth (MB)", "growth_mb", "{:,.0f}"),
    ):
        cells = []
        for engine in engines:
            for mode in MODES:
                found = results[engine, mode]
                cells.append(f"{'error' if 'error' in found else fmt.format(found[key]):>20}")
        print(f"{label:<28}" + "".join(cells))
    print("\nwhole: every row at once (the read before batches); batched: Interactions.read.")


if __name__ == "__main__":
    main()
