"""Vector search side by side: ShopLens's torch index vs faiss `IndexFlatIP`, same vectors, one run.

    python -m eval.bench.search_bench [--sizes 100k,1M] [--queries 1000] [--device cpu|cuda]

Vectors are 384-d (all-MiniLM-L6-v2's size), normalised, drawn around 2,000 cluster centres so
that neighbours are meaningful. Ground truth is exact fp32 search. For each index: build
seconds, queries/s one query at a time and in batches of 256, recall@10 against the truth.
On a GPU the torch index is fp16 and the script also prints the memory-bandwidth bound: a
query must read every vector once, so one-at-a-time queries/s cannot exceed
bandwidth / (vectors x 384 x 2 bytes). Needs `pip install faiss-cpu` for the faiss column.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from assistant.embeddings import DIMENSIONS, VectorIndex
from assistant.settings import parse_count

K = 10
BATCH = 256
# Peak HBM bandwidth of the GPUs this project is lent (H200: 4.8 TB/s).
GPU_BANDWIDTH = {"H200": 4.8e12, "H100": 3.35e12, "A100": 2.0e12}


def make_vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2000, DIMENSIONS)).astype(np.float32)
    vectors = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.standard_normal((n, DIMENSIONS)).astype(
        np.float32
    )
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def exact_top_k(base: np.ndarray, queries: np.ndarray) -> np.ndarray:
    out = []
    for start in range(0, len(queries), BATCH):
        scores = queries[start : start + BATCH] @ base.T
        top = np.argpartition(-scores, K, axis=1)[:, :K]
        order = np.take_along_axis(scores, top, 1).argsort(axis=1)[:, ::-1]
        out.append(np.take_along_axis(top, order, 1))
    return np.vstack(out)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)]))


def timed(search, queries: np.ndarray, batch: int) -> tuple[float, np.ndarray]:
    results = []
    search(queries[:batch])  # warm-up
    started = time.perf_counter()
    for start in range(0, len(queries), batch):
        results.append(search(queries[start : start + batch]))
    seconds = time.perf_counter() - started
    return len(queries) / seconds, np.vstack(results)


def bench_torch(base: np.ndarray, queries: np.ndarray, device: str) -> dict:
    keys = [str(i) for i in range(len(base))]
    started = time.perf_counter()
    index = VectorIndex(keys, torch.from_numpy(base), device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    build = time.perf_counter() - started

    def search(q: np.ndarray) -> np.ndarray:
        hits = index.search(torch.from_numpy(q), K)
        return np.array([[int(key) for key, _ in row] for row in hits])

    single_qps, _ = timed(search, queries[: min(len(queries), 200)], 1)
    batch_qps, found = timed(search, queries, BATCH)
    return {"build_s": build, "qps_1": single_qps, "qps_batch": batch_qps, "found": found}


def bench_faiss(base: np.ndarray, queries: np.ndarray) -> dict | None:
    try:
        import faiss
    except ImportError:
        return None
    started = time.perf_counter()
    index = faiss.IndexFlatIP(DIMENSIONS)
    index.add(base)
    build = time.perf_counter() - started

    def search(q: np.ndarray) -> np.ndarray:
        return index.search(q, K)[1]

    single_qps, _ = timed(search, queries[: min(len(queries), 200)], 1)
    batch_qps, found = timed(search, queries, BATCH)
    return {"build_s": build, "qps_1": single_qps, "qps_batch": batch_qps, "found": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k,1M")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    options = parser.parse_args()
    print(f"torch {torch.__version__} on {options.device}, {torch.get_num_threads()} threads")  # noqa: T201
    header = (
        "| vectors | index | build s | queries/s (1 at a time) | queries/s (batches of 256) | recall@10 |"
    )
    lines = [header, "|---|---|---|---|---|---|"]
    for size in [parse_count(s) for s in options.sizes.split(",")]:
        base = make_vectors(size)
        queries = make_vectors(options.queries, seed=1)
        truth = exact_top_k(base, queries)
        runs = {f"ShopLens torch ({options.device})": bench_torch(base, queries, options.device)}
        faiss_run = bench_faiss(base, queries)
        if faiss_run:
            runs["faiss IndexFlatIP (cpu)"] = faiss_run
        for name, run in runs.items():
            lines.append(
                f"| {size:,} | {name} | {run['build_s']:.2f} | {run['qps_1']:,.0f} | {run['qps_batch']:,.0f} "
                f"| {recall(run['found'], truth):.4f} |"
            )
        if options.device.startswith("cuda"):
            gpu = torch.cuda.get_device_name()
            bandwidth = next((b for name, b in GPU_BANDWIDTH.items() if name in gpu), None)
            if bandwidth:
                bound = bandwidth / (size * DIMENSIONS * 2)
                lines.append(f"| {size:,} | bandwidth bound ({gpu}, fp16) | | {bound:,.0f} | | |")
        del base
    print("\n".join(lines))  # noqa: T201 - the table is this script's output


if __name__ == "__main__":
    main()
