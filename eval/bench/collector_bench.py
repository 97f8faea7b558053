"""Benchmark of the event collector: the demo shop replayed at increasing rates.

    python -m eval.bench.collector_bench [--events 300000] [--rates 1000,2000,5000,10000,0] [--seconds 15]

Starts `shoplens collect serve` on a fresh data dir holding the demo shop, then for each rate
(0 = as fast as one sender goes) replays that many seconds' worth of the shop's events. Prints per
rate, side by side: events/s sustained (acknowledged), events lost (sent but not in the
warehouse afterwards) or doubled, p50/p95 seconds from acknowledgement to visible in a query,
and the median time of a metric tool's query (revenue by day) while ingesting, against idle.
States the machine and what else ran (the load average at the start).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from assistant.replay import Plan, dataset_events, replay
from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from assistant.warehouse.demo import generate
from assistant.warehouse.live import LiveStore, message_ids
from tools.base import ToolContext
from tools.metrics import SemanticModel, query_metric

QUERY = {"metric": "revenue", "group_by": ["day"]}


def _metric_seconds(ctx: ToolContext, model: SemanticModel, stop: threading.Event, out: list[float]) -> None:
    request = model.request_model.model_validate(QUERY)
    while not stop.is_set():
        began = time.perf_counter()
        query_metric(ctx, request)
        out.append(time.perf_counter() - began)
        time.sleep(0.2)


def _watch(reader: Warehouse, stop: threading.Event, seen: list[tuple[float, int]]) -> None:
    """(time, live rows visible) every 50 ms."""
    while not stop.is_set():
        count = reader.scalar("SELECT count(*) FROM events WHERE source_dataset = 'live'")
        seen.append((time.monotonic(), count))
        time.sleep(0.05)


def _visible_after(acks: list[tuple[float, int]], seen: list[tuple[float, int]]) -> list[float]:
    latencies, j = [], 0
    for acked_at, total in acks:
        while j < len(seen) and (seen[j][1] < total or seen[j][0] < acked_at):
            j += 1
        if j < len(seen):
            latencies.append(seen[j][0] - acked_at)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000, help="Demo shop size")
    parser.add_argument(
        "--rates", default="1000,2000,5000,10000,0", help="Events/s per phase; 0 = unthrottled"
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="Length of each phase")
    parser.add_argument("--port", type=int, default=8095)
    options = parser.parse_args()
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores; load average at start {load[0]:.2f} (1 min), {load[1]:.2f} (5 min)"
    )
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), duckdb_memory_limit="2GB")
        with Warehouse(settings) as writer:
            generate(writer, options.events, seed=7)
        env = dict(os.environ, SHOPLENS_DATA_DIR=folder, SHOPLENS_COLLECTOR_EVENTS_PER_SECOND="1000000")
        collector = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "collect", "serve", "--port", str(options.port)], env=env
        )
        url = f"http://127.0.0.1:{options.port}"
        try:
            for _ in range(300):
                try:
                    httpx.get(url + "/v1/health", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            reader = Warehouse(settings, read_only=True)
            ctx = ToolContext.open(settings, reader)
            model = SemanticModel.load()
            idle: list[float] = []
            stop = threading.Event()
            runner = threading.Thread(target=_metric_seconds, args=(ctx, model, stop, idle))
            runner.start()
            time.sleep(5)
            stop.set()
            runner.join()
            print(
                f"idle: metric query (revenue by day) median {statistics.median(idle) * 1000:.0f} ms over {len(idle)}"
            )
            print(
                f"{'rate':>8} {'sent':>8} {'ev/s':>8} {'lost':>5} {'doubled':>7} {'vis p50 s':>9} {'vis p95 s':>9} {'query ms':>9}"
            )
            sent_total = 0
            for rate in (float(r) for r in options.rates.split(",")):
                count = int((rate or 20_000) * options.seconds)
                acks: list[tuple[float, int]] = []
                seen: list[tuple[float, int]] = []
                busy: list[float] = []
                stop = threading.Event()
                watchers = [
                    threading.Thread(target=_watch, args=(reader, stop, seen)),
                    threading.Thread(target=_metric_seconds, args=(ctx, model, stop, busy)),
                ]
                for w in watchers:
                    w.start()
                done = sent_total

                def acked(n: int, acks: list[tuple[float, int]] = acks) -> None:
                    nonlocal done
                    done += n
                    acks.append((time.monotonic(), done))

                report = replay(
                    dataset_events(reader, Plan(speedup=1e9, limit=count)),
                    url,
                    None,
                    rate=rate or None,
                    progress=acked,
                )
                time.sleep(2)
                stop.set()
                for w in watchers:
                    w.join()
                sent_total += report.sent
                kept = message_ids(LiveStore.of(settings))
                visible = sorted(_visible_after(acks, seen)) or [float("nan")]
                p95 = visible[min(len(visible) - 1, int(0.95 * len(visible)))]
                print(
                    f"{rate or 'max':>8} {report.sent:>8,} {report.events_per_second:>8,.0f}"
                    f" {sent_total - len(set(kept)):>5} {len(kept) - len(set(kept)):>7}"
                    f" {statistics.median(visible):>9.2f} {p95:>9.2f} {statistics.median(busy or [0]) * 1000:>9.0f}"
                )
            reader.close()
        finally:
            collector.terminate()
            collector.wait(timeout=60)


if __name__ == "__main__":
    main()
