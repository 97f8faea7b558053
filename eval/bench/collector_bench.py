"""Benchmark of the event collector: the demo shop replayed at increasing rates.

    python -m eval.bench.collector_bench [--events 300000] [--rates 1000,2000,5000,10000,0] [--seconds 15]
        [--postgres] [--ask]

Starts `shoplens collect serve` on a fresh data dir holding the demo shop (in the embedded DuckDB,
or with --postgres in a throwaway local PostgreSQL, where the collector folds every commit into
the tables), then for each rate (0 = as fast as one sender goes) replays that many seconds' worth
of the shop's events. Prints per rate, side by side: events/s sustained (acknowledged), events
lost (sent but not in the warehouse afterwards) or doubled, p50/p95 seconds from acknowledgement
to visible in a query, and the median time of a metric tool's query (revenue by day) while
ingesting, against idle. With --ask, the assistant (the configured model engine, started if
needed) also answers questions in a loop, idle and during each rate: its median seconds per
answer, side by side. States the machine and what else ran (the load average at the start).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from assistant.agent import Assistant, open_assistant
from assistant.answer import Conversation
from assistant.replay import Plan, dataset_events, replay
from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from assistant.warehouse.demo import generate
from assistant.warehouse.live import LiveStore, message_ids
from tools.base import ToolContext
from tools.metrics import SemanticModel, query_metric

QUERY = {"metric": "revenue", "group_by": ["day"]}
# Asked in turn, so no answer finds the one before's prompt in the engine's cache.
QUESTIONS = [
    "What was revenue in the last 7 days?",
    "How many orders did we get in the last 30 days?",
    "Which categories bring the most revenue?",
    "What is the conversion rate by device?",
]


def _metric_seconds(ctx: ToolContext, model: SemanticModel, stop: threading.Event, out: list[float]) -> None:
    request = model.request_model.model_validate(QUERY)
    while not stop.is_set():
        began = time.perf_counter()
        query_metric(ctx, request)
        out.append(time.perf_counter() - began)
        time.sleep(0.2)


def _answer_seconds(assistant: Assistant, stop: threading.Event, out: list[float]) -> None:
    for question in itertools.cycle(QUESTIONS):
        if stop.is_set():
            return
        began = time.perf_counter()
        answer = assistant.ask(question, Conversation(), session="bench")
        if answer.kind != "answer":
            print(f"  not answered ({answer.kind}): {question!r}: {answer.text}")
        out.append(time.perf_counter() - began)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


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
    parser.add_argument("--postgres", action="store_true", help="Collect into a local PostgreSQL server")
    parser.add_argument("--ask", action="store_true", help="Also time the assistant's answers (the model)")
    parser.add_argument(
        "--models",
        type=Path,
        default=Path("~/.shoplens/models").expanduser(),
        help="Where the packaged model is (pulled when missing)",
    )
    options = parser.parse_args()
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores; load average at start {load[0]:.2f} (1 min), {load[1]:.2f} (5 min)"
    )
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        database_url = None
        if options.postgres:
            from eval.bench.postgres import fresh_database, local_postgres

            server = stack.enter_context(local_postgres(options.port + 1))
            database_url = fresh_database(server, "live_bench")
        if options.ask and options.models.is_dir():
            (Path(folder) / "models").symlink_to(options.models.resolve())
        settings = Settings(data_dir=Path(folder), duckdb_memory_limit="2GB", database_url=database_url)
        print(f"warehouse: {'PostgreSQL (folded after every commit)' if database_url else 'DuckDB'}")
        with Warehouse(settings) as writer:
            generate(writer, options.events, seed=7)
        env = dict(os.environ, SHOPLENS_DATA_DIR=folder, SHOPLENS_COLLECTOR_EVENTS_PER_SECOND="1000000")
        if database_url:
            env["SHOPLENS_DATABASE_URL"] = database_url
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
            assistant = stack.enter_context(open_assistant(settings)) if options.ask else None
            if assistant is not None:
                assistant.warm_up()
            idle: list[float] = []
            idle_answers: list[float] = []
            stop = threading.Event()
            runners = [threading.Thread(target=_metric_seconds, args=(ctx, model, stop, idle))]
            if assistant is not None:
                runners.append(threading.Thread(target=_answer_seconds, args=(assistant, stop, idle_answers)))
            for runner in runners:
                runner.start()
            time.sleep(options.seconds if assistant is not None else 5)
            stop.set()
            for runner in runners:
                runner.join()
            print(
                f"idle: metric query (revenue by day) median {_median(idle) * 1000:.0f} ms over {len(idle)}"
                + (
                    f"; the assistant's answer median {_median(idle_answers):.1f} s over {len(idle_answers)}"
                    if assistant is not None
                    else ""
                )
            )
            print(
                f"{'rate':>8} {'sent':>8} {'ev/s':>8} {'lost':>5} {'doubled':>7} {'vis p50 s':>9} {'vis p95 s':>9} {'query ms':>9}"
                + (f" {'answer s':>8}" if assistant is not None else "")
            )
            sent_total = 0
            for rate in (float(r) for r in options.rates.split(",")):
                count = int((rate or 20_000) * options.seconds)
                acks: list[tuple[float, int]] = []
                seen: list[tuple[float, int]] = []
                busy: list[float] = []
                answers: list[float] = []
                stop = threading.Event()
                watchers = [
                    threading.Thread(target=_watch, args=(reader, stop, seen)),
                    threading.Thread(target=_metric_seconds, args=(ctx, model, stop, busy)),
                ]
                if assistant is not None:
                    watchers.append(threading.Thread(target=_answer_seconds, args=(assistant, stop, answers)))
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
                    f" {statistics.median(visible):>9.2f} {p95:>9.2f} {_median(busy) * 1000:>9.0f}"
                    + (f" {_median(answers):>8.1f}" if assistant is not None else "")
                )
            reader.close()
        finally:
            collector.terminate()
            collector.wait(timeout=60)


if __name__ == "__main__":
    main()
