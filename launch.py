"""Run ShopLens on its embedded default: `python launch.py [--data-dir …] [--demo-events …]`.

Prepares the warehouse (the demo shop on first run) and reports what is in it. The model
engine and the chat UI start here too once they exist (issues 3 and 6).
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--warehouse")
    parser.add_argument("--database-url")
    parser.add_argument("--demo-events", type=int)
    args = parser.parse_args(argv)
    settings = Settings().with_overrides(
        data_dir=args.data_dir,
        warehouse=args.warehouse,
        database_url=args.database_url,
        demo_events=args.demo_events,
    )
    logging.basicConfig(
        level=min(logging.INFO, logging.getLevelName(settings.log_level.upper())), format="%(message)s"
    )
    with prepare_warehouse(settings) as warehouse:
        info = warehouse.info()
    print(f"ShopLens warehouse ready: {info.url}")
    print(
        f"  {info.tables[0].rows:,} events from {info.first_event} to {info.last_event}, {info.users:,} users"
    )
    print("  explore it: shoplens data info · load your own data: shoplens data load FILE")


if __name__ == "__main__":
    main()
