"""Offline evaluation of the recommender against the popularity baseline, side by side.

    python -m eval.recommender_eval [--real-data ../shared/data/real] [--demo-events 300000]

Each data set is loaded into a fresh temporary warehouse, split by time (about the last 15% of
interactions are the test period), and both models are scored on the same cases: Recall@20
and NDCG@10 (see `tools.recommend.evaluate` for the two protocols).
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from assistant.warehouse.demo import generate
from assistant.warehouse.load import load_file
from tools.base import ToolContext
from tools.recommend import EvalResult, Interactions, evaluate, recommendation_report

DEFAULT_REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
REAL_SETS = {
    "Taobao (HotItems, 114 users)": ["taobao/UserBehavior_betashepherd_HotItems.csv"],
    "YooChoose (100k clicks)": [
        "yoochoose/yoochoose-clicks-100k_train_full.txt",
        "yoochoose/yoochoose-clicks-100k_test.txt",
    ],
    "Diginetica (12k views)": ["diginetica/diginetica_sample_train-item-views_SR-GNN.csv"],
}


def evaluate_files(name: str, files: list[Path] | None, demo_events: int = 0) -> list[EvalResult]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), duckdb_memory_limit="2GB")
        with Warehouse(settings) as warehouse:
            warehouse.ensure_schema()
            if files is None:
                generate(warehouse, events=demo_events, seed=7)
            for path in files or []:
                load_file(warehouse, path)
            ctx = ToolContext.open(settings, warehouse)
            started = time.perf_counter()
            results = evaluate(Interactions.read(ctx))
            logging.info("%s: evaluated in %.1fs", name, time.perf_counter() - started)
            return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--real-data", type=Path, default=Path(os.environ.get("SHOPLENS_REAL_DATA", DEFAULT_REAL))
    )
    parser.add_argument("--demo-events", type=int, default=300_000)
    options = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = {
        f"demo shop ({options.demo_events:,} events)": evaluate_files("demo", None, options.demo_events)
    }
    for name, files in REAL_SETS.items():
        paths = [options.real_data / f for f in files]
        if all(p.exists() for p in paths):
            results[name] = evaluate_files(name, paths)
        else:
            logging.warning("skipping %s: not found under %s", name, options.real_data)
    print(recommendation_report(results))  # noqa: T201 - the report is this script's output


if __name__ == "__main__":
    main()
