"""Run ShopLens on its embedded default: `python launch.py [--data-dir …] [--model …] [--engine …]`.

Prepares the warehouse (the demo shop on first run), starts the model engine on 127.0.0.1
(pulled and verified on first run; supervised: restarted if it dies) and stops it on exit.
The chat UI will start here too (issue 6); until then the engine serves the OpenAI API.
"""

from __future__ import annotations

import argparse
import logging

from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from assistant.warehouse.demo import generate

log = logging.getLogger("shoplens.launch")


def prepare_warehouse(settings: Settings) -> Warehouse:
    """Open the warehouse; on first run (no events yet) fill it with the demo shop."""
    warehouse = Warehouse(settings)
    warehouse.ensure_schema()
    if warehouse.is_duckdb and not warehouse.scalar("SELECT count(*) FROM events"):
        log.info("first run: generating the demo shop (%s events)", f"{settings.demo_events:,}")
        report = generate(warehouse, settings.demo_events, seed=settings.demo_seed)
        log.info("demo shop ready: %s events, %s users", f"{report.events:,}", f"{report.users:,}")
    return warehouse


def _progress(stage: str, fraction: float | None) -> None:
    if fraction is None or fraction >= 1.0:
        log.info("%s%s", stage, " done" if fraction else "…")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--warehouse")
    parser.add_argument("--database-url")
    parser.add_argument("--demo-events", type=int)
    parser.add_argument("--model", help="packaged model (shoplens model list)")
    parser.add_argument("--engine", choices=["auto", "llama.cpp", "vllm", "external"])
    parser.add_argument("--llm-url", help="use an external OpenAI-compatible server")
    parser.add_argument("--llm-model", help="model name on the external server")
    parser.add_argument("--no-engine", action="store_true", help="prepare the warehouse only")
    args = parser.parse_args(argv)
    settings = Settings().with_overrides(
        data_dir=args.data_dir,
        warehouse=args.warehouse,
        database_url=args.database_url,
        demo_events=args.demo_events,
        model=args.model,
        engine=args.engine,
        llm_url=args.llm_url,
        llm_model=args.llm_model,
    )
    level = min(logging.INFO, logging.getLevelName(settings.log_level.upper()))
    logging.basicConfig(level=level, format="%(message)s")
    with prepare_warehouse(settings) as warehouse:
        info = warehouse.info()
    events = next(t.rows for t in info.tables if t.name == "events")
    print(f"ShopLens warehouse ready: {info.url}")
    print(f"  {events:,} events from {info.first_event} to {info.last_event}, {info.users:,} users")
    if args.no_engine:
        return

    from assistant.cli import wait_for_interrupt
    from assistant.llm.server import start_engine

    with start_engine(settings, progress=_progress) as running:
        endpoint = running.endpoint
        print(
            f"Model engine ready: {endpoint.engine} ({endpoint.device}) serving {endpoint.model} at {endpoint.base_url}"
        )
        print("  try it: shoplens ask 'What was revenue in the last 7 days?'  ·  Ctrl-C stops")
        wait_for_interrupt()
    print("stopped")


if __name__ == "__main__":
    main()
