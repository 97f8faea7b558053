"""explain_change's speed against one plain scan of the same data, in one run.

    python -m eval.bench.change_bench [--events 300k,10M] [--repeat 3] [--keep DIR]

For each size, generates the demo shop (seed 7; kept in --keep to reuse), then times, alternating:
  one scan       query_metric: conversion rate per week by category (one GROUP BY over events)
  explain_change conversion rate, no period: finds the weeks, splits the change, names the driver
Prints the median seconds of each, explain_change's share spent in SQL, and the ratio, with
what explain_change answered (it must name the planted desktop outage at every size).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from assistant.settings import Settings, parse_count

log = logging.getLogger(__name__)


def _shop(events: int, folder: Path) -> Any:
    from assistant.warehouse.db import Warehouse
    from assistant.warehouse.demo import generate
    from tools.base import ToolContext

    settings = Settings(data_dir=folder / f"shop-{events}")
    if not (settings.data_dir / f"{settings.warehouse}.duckdb").exists():
        started = time.perf_counter()
        with Warehouse(settings) as writer:
            generate(writer, events, seed=7)
        log.info("generated %s events in %.0f s", f"{events:,}", time.perf_counter() - started)
    return ToolContext.open(settings, Warehouse(settings, read_only=True))


def _timed_sql(ctx: Any) -> list[float]:
    """Wrap the context's SQL so its seconds add up in the returned list."""
    spent = [0.0]
    rows = ctx.rows

    def timed(sql: str, **params: Any) -> Any:
        started = time.perf_counter()
        try:
            return rows(sql, **params)
        finally:
            spent[0] += time.perf_counter() - started

    ctx.rows = timed
    return spent


def run(events: int, repeat: int, folder: Path) -> dict[str, Any]:
    from tools.changes import explain_args_model, explain_change
    from tools.metrics import SemanticModel, query_metric

    ctx = _shop(events, folder)
    model = SemanticModel.load()
    scan = model.request_model.model_validate(
        {"metric": "conversion_rate", "grain": "week", "group_by": ["category"]}
    )
    explain = explain_args_model(model).model_validate({"metric": "conversion_rate"})
    spent = _timed_sql(ctx)
    query_metric(ctx, scan), explain_change(ctx, explain)  # warm: dimension values, caches
    scans, explains, sql = [], [], []
    answer = ""
    for _ in range(repeat):
        started = time.perf_counter()
        query_metric(ctx, scan)
        scans.append(time.perf_counter() - started)
        spent[0] = 0.0
        started = time.perf_counter()
        answer = explain_change(ctx, explain).summary or ""
        explains.append(time.perf_counter() - started)
        sql.append(spent[0])
    ctx.warehouse.close()
    return {
        "events": events,
        "scan": statistics.median(scans),
        "explain": statistics.median(explains),
        "explain_sql": statistics.median(sql),
        "answer": answer,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", default="300k,10M", help="comma-separated shop sizes")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="where the generated shops are kept (default: a temp dir)")
    options = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    folder = options.keep or Path(tempfile.mkdtemp(prefix="change-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = [run(parse_count(size), options.repeat, folder) for size in options.events.split(",")]
    load = os.getloadavg()[0]
    print(f"\nexplain_change vs one scan, median of {options.repeat}; {os.cpu_count()} CPUs, load {load:.1f}")
    print(f"{'events':>12} {'one scan s':>11} {'explain s':>10} {'of it SQL s':>12} {'ratio':>6}")
    for r in results:
        print(
            f"{r['events']:>12,} {r['scan']:>11.3f} {r['explain']:>10.3f} {r['explain_sql']:>12.3f}"
            f" {r['explain'] / r['scan']:>6.1f}"
        )
    for r in results:
        named = "desktop" in r["answer"]
        print(
            f"{r['events']:,}: {'names the planted desktop outage' if named else 'MISSED the outage'}: {r['answer']}"
        )


if __name__ == "__main__":
    main()
