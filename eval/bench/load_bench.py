"""Load throughput: ShopLens `load_file` vs a bare DuckDB `read_csv` of the same file, in one run.

    python -m eval.bench.load_bench --events 10M [--repeat 2] [--memory-limit 4GB] [--keep DIR]
                                    [--postgres URL | --postgres local]

Generates the demo shop, writes its events as a REES46-format CSV (the loader path with
parsing, checks, rejects, products and users), then times, alternating, in fresh processes:
  bare          CREATE TABLE t AS SELECT * FROM read_csv(file)             (DuckDB sniffs and types:
                ids become BIGINT)
  bare varchar  the same with all_varchar=true                             (ids stored as text, as the
                canonical schema must: '85123A', ASINs and hashes are ids too)
  shoplens      load_file(warehouse, file)                                 (parse, check, reject, write
                events, products and users)
  shoplens → PostgreSQL   with --postgres: the same load into a PostgreSQL warehouse (parsed by
                DuckDB in memory, then COPY); `local` starts a throwaway server (eval/bench/postgres.py)
Prints rows/s, the ratio and each process's peak RSS. Target: shoplens within 1.5x of bare.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from assistant.settings import Settings, parse_count


def _peak_rss_mb() -> float:
    """This process's peak RSS. (ru_maxrss would include the parent's: Linux keeps it across exec.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_csv(events: int, folder: Path, memory_limit: str) -> tuple[Path, int]:
    from assistant.warehouse.db import Warehouse
    from assistant.warehouse.demo import generate

    settings = Settings(data_dir=folder / "source", duckdb_memory_limit=memory_limit)
    with Warehouse(settings) as warehouse:
        generate(warehouse, events)
        path = folder / "events-rees46.csv"
        with warehouse.duckdb_transaction() as con:
            con.execute(
                f"""COPY (
                  SELECT strftime(event_time, '%Y-%m-%d %H:%M:%S') || ' UTC' AS event_time, event_type,
                         e.product_id, hash(p.category_path) % 1000000 AS category_id,
                         replace(replace(p.category_path, ' > ', '.'), ' ', '_') AS category_code,
                         e.brand, round(e.price, 2) AS price, user_id, session_id AS user_session
                  FROM events e JOIN products p USING (product_id)
                  WHERE event_type IN ('view', 'cart', 'remove_from_cart', 'purchase')
                ) TO '{path}' (HEADER, DELIMITER ',')"""
            )
            rows = con.execute(f"SELECT count(*) FROM read_csv('{path}')").fetchall()[0][0]
    shutil.rmtree(folder / "source")
    return path, rows


def _bare(path: str, db: str, memory_limit: str, all_varchar: bool, out: mp.Queue) -> None:
    con = duckdb.connect(db, config={"memory_limit": memory_limit})
    con.execute("SET enable_progress_bar = false")
    started = time.perf_counter()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}', all_varchar = {all_varchar})")
    rows = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
    con.close()
    out.put((time.perf_counter() - started, rows, _peak_rss_mb()))


def _shoplens(path: str, data_dir: str, memory_limit: str, database_url: str | None, out: mp.Queue) -> None:
    from assistant.warehouse.db import Warehouse
    from assistant.warehouse.load import load_file

    settings = Settings(data_dir=Path(data_dir), duckdb_memory_limit=memory_limit, database_url=database_url)
    with Warehouse(settings) as warehouse:
        if database_url:  # each run starts from empty tables
            with warehouse.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        warehouse.ensure_schema()
        started = time.perf_counter()
        report = load_file(warehouse, path)
        seconds = time.perf_counter() - started
    out.put((seconds, report.rows_loaded, _peak_rss_mb()))


def run_isolated(target, *args) -> tuple[float, int, float]:  # type: ignore[no-untyped-def]
    """Run one variant in a fresh process, so its peak memory is its own."""
    context = mp.get_context("spawn")
    out: mp.Queue = context.Queue()
    proc = context.Process(target=target, args=(*args, out))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f"{target.__name__} failed (exit code {proc.exitcode}); see its error above")
    return out.get(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="10M")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--keep", type=Path, help="reuse/keep the generated CSV in this folder")
    parser.add_argument(
        "--postgres",
        help="also load into this PostgreSQL (a SQLAlchemy URL, or `local` for a throwaway server)",
    )
    args = parser.parse_args()
    if args.postgres == "local":
        from assistant.llm.server import free_port
        from eval.bench.postgres import local_postgres

        with local_postgres(free_port()) as url:
            args.postgres = url
            _run(args)
    else:
        _run(args)


def _run(args: argparse.Namespace) -> None:
    folder = args.keep or Path(tempfile.mkdtemp(prefix="shoplens-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "events-rees46.csv"
    started = time.perf_counter()
    if csv_path.exists():
        rows = duckdb.sql(f"SELECT count(*) FROM read_csv('{csv_path}')").fetchall()[0][0]
    else:
        # Searches and wishlist adds have no REES46 form: ask for ~8% more demo events.
        csv_path, rows = make_csv(round(parse_count(args.events) * 1.08), folder, args.memory_limit)
    size_mb = csv_path.stat().st_size / 2**20
    print(
        f"file: {csv_path} — {rows:,} rows, {size_mb:,.0f} MB (prepared in {time.perf_counter() - started:.0f}s)"
    )
    print(f"DuckDB {duckdb.__version__}, memory_limit {args.memory_limit}\n")

    results: dict[str, list[tuple[float, int, float]]] = {
        "bare read_csv": [],
        "bare varchar": [],
        "shoplens load": [],
        **({"shoplens → PostgreSQL": []} if args.postgres else {}),
    }
    for i in range(args.repeat):
        for name in results:
            work = folder / f"run-{name.replace(' ', '-')}-{i}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            if name.startswith("bare"):
                varchar = name == "bare varchar"
                result = run_isolated(
                    _bare, str(csv_path), str(work / "bare.duckdb"), args.memory_limit, varchar
                )
            else:
                url = args.postgres if name.endswith("PostgreSQL") else None
                result = run_isolated(_shoplens, str(csv_path), str(work), args.memory_limit, url)
            shutil.rmtree(work)
            results[name].append(result)
            print(
                f"  run {i + 1} {name:<21} {result[0]:7.1f}s  {result[1] / result[0]:>12,.0f} rows/s  peak RSS {result[2]:,.0f} MB"
            )

    print(f"\n{'':<22}{'median s':>10}{'rows/s':>14}{'peak RSS MB':>14}")
    medians = {}
    for name, runs in results.items():
        seconds = statistics.median(r[0] for r in runs)
        medians[name] = seconds
        print(f"{name:<22}{seconds:>10.1f}{rows / seconds:>14,.0f}{max(r[2] for r in runs):>14,.0f}")
    ratio = medians["shoplens load"] / medians["bare read_csv"]
    same_types = medians["shoplens load"] / medians["bare varchar"]
    print(
        f"\nshoplens / bare         = {ratio:.2f}x (target <= 1.5x): {'OK' if ratio <= 1.5 else 'SLOWER THAN TARGET'}"
    )
    print(f"shoplens / bare varchar = {same_types:.2f}x (same storage types as the canonical schema)")
    if args.postgres:
        into_pg = medians["shoplens → PostgreSQL"] / medians["shoplens load"]
        print(f"PostgreSQL / DuckDB     = {into_pg:.2f}x the time (the same load into each warehouse)")
    if not args.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
