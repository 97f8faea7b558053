"""Offline evaluation of the recommenders side by side: the sequence model (SASRec), ItemKNN,
implicit's ALS and popularity.

    python -m eval.recommender_eval [--real-data ../shared/data/real] [--demo-events 300000]

Each data set is loaded into a fresh temporary warehouse, split by time (about the last 15% of
interactions are the test period), and every model is trained on the period before and scored
on the same cases: Recall@20 and NDCG@10 (see `tools.recommend.evaluate` for the two
protocols), with its training time.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from assistant.warehouse.demo import generate
from assistant.warehouse.load import load_file
from tools.base import ToolContext
from tools.recommend import (
    BASELINES,
    EvalResult,
    Fitter,
    Interactions,
    Scorer,
    evaluate,
    recommendation_report,
)

# ALS as implicit's docs set it up for implicit feedback: confidence from the (decayed,
# event-weighted) interaction counts, 64 factors; a shopper's factors are solved from their
# history at scoring time (implicit's recalculate_user), so sessions and users alike are scored.
ALS_FACTORS = 64
ALS_ITERATIONS = 20
ALS_REGULARIZATION = 0.05

DEFAULT_REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
REAL_SETS = {
    "Taobao (HotItems, 114 users)": ["taobao/UserBehavior_betashepherd_HotItems.csv"],
    "YooChoose (100k clicks)": [
        "yoochoose/yoochoose-clicks-100k_train_full.txt",
        "yoochoose/yoochoose-clicks-100k_test.txt",
    ],
    "Diginetica (12k views)": ["diginetica/diginetica_sample_train-item-views_SR-GNN.csv"],
}


@contextmanager
def temporary_shop(files: list[Path] | None, demo_events: int) -> Iterator[ToolContext]:
    """A fresh warehouse in a temporary folder holding `files` (or the demo shop when None),
    opened read-only for the tools; removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), duckdb_memory_limit="2GB")
        with Warehouse(settings) as writer:
            writer.ensure_schema()
            if files is None:
                generate(writer, events=demo_events, seed=7)
            for path in files or []:
                load_file(writer, path)
        with Warehouse(settings, read_only=True) as reader:
            yield ToolContext.open(settings, reader)


def evaluate_files(name: str, files: list[Path] | None, demo_events: int = 0) -> list[EvalResult]:
    with temporary_shop(files, demo_events) as ctx:
        started = time.perf_counter()
        results = evaluate(Interactions.read(ctx), models=models())
        logging.info("%s: evaluated in %.1fs", name, time.perf_counter() - started)
        return results


def fit_als(train: Interactions, split_time: np.datetime64) -> Scorer:
    import threadpoolctl
    from implicit.cpu.als import AlternatingLeastSquares

    histories = train.histories(split_time).tocsr()
    with threadpoolctl.threadpool_limits(1, "blas"):  # implicit's advice: its own threads, not BLAS's
        model = AlternatingLeastSquares(
            factors=ALS_FACTORS,
            iterations=ALS_ITERATIONS,
            regularization=ALS_REGULARIZATION,
            random_state=0,
        )
        model.fit(histories, show_progress=False)
    known = np.asarray(histories.sum(axis=0)).ravel() > 0
    n_items = len(train.items)

    def score(cases: list) -> np.ndarray:
        rows = sp.csr_matrix(np.stack([c.history(n_items) for c in cases]))
        factors = model.recalculate_user(np.arange(len(cases)), rows)
        scores = np.asarray(factors @ model.item_factors.T, dtype=np.float64)
        # top_k keeps positive scores: shift each row above zero, leave unknown products at 0.
        scores = scores - scores.min(axis=1, keepdims=True) + 1e-9
        scores[:, ~known] = 0.0
        return scores

    return score


def models() -> dict[str, Fitter]:
    from tools.sequences import fit_for_evaluation

    return {
        "sequence (SASRec)": fit_for_evaluation,
        "itemknn": BASELINES["itemknn"],
        "als (implicit)": fit_als,
        "popularity": BASELINES["popularity"],
    }


def command_line(doc: str) -> argparse.Namespace:
    """The evaluation scripts' options (--real-data, --demo-events), logging set up."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument(
        "--real-data", type=Path, default=Path(os.environ.get("SHOPLENS_REAL_DATA", DEFAULT_REAL))
    )
    parser.add_argument("--demo-events", type=int, default=300_000)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return parser.parse_args()


def main() -> None:
    options = command_line(__doc__)
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
