"""Run ShopLens on its embedded default: `python launch.py [--data-dir …] [--model …] [--engine …]`.

Prepares the warehouse (the demo shop on first run), starts the model engine on 127.0.0.1
(pulled and verified on first run; supervised: restarted if it dies), then the Gradio app, and
says where to open it. Ctrl-C stops them together.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from contextlib import nullcontext
from pathlib import Path

from assistant.settings import Settings
from assistant.warehouse.db import Warehouse, WarehouseInfo, refresh_views
from assistant.warehouse.demo import generate
from assistant.warehouse.load import LoadReport

log = logging.getLogger("shoplens.launch")


def prepare_warehouse(settings: Settings) -> WarehouseInfo:
    """The warehouse's figures; on first run (no events yet) it is filled with the demo shop.

    An existing warehouse is only read: another process (`shoplens ask`, a second app) may have
    it open, and a write lock would fail against theirs."""
    refresh_views(settings)
    with Warehouse(settings, read_only=True) as reader:
        if reader.exists() and reader.scalar("SELECT count(*) FROM events"):
            return reader.info()
    with Warehouse(settings) as warehouse:
        warehouse.ensure_schema()
        if warehouse.is_duckdb and not warehouse.scalar("SELECT count(*) FROM events"):
            log.info("first run: generating the demo shop (%s events)", f"{settings.demo_events:,}")
            report = generate(warehouse, settings.demo_events, seed=settings.demo_seed)
            log.info("demo shop ready: %s events, %s users", f"{report.events:,}", f"{report.users:,}")
        return warehouse.info()


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
    parser.add_argument("--engine", help="auto, llama.cpp, vllm, external, or one a plugin registers")
    parser.add_argument("--llm-url", help="use an external OpenAI-compatible server")
    parser.add_argument("--llm-model", help="model name on the external server")
    parser.add_argument("--host", help="interface for the app and engine (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port of the app (default 7860)")
    parser.add_argument("--llm-port", type=int, help="port of the model engine (default 8081)")
    parser.add_argument("--no-engine", action="store_true", help="prepare the warehouse only")
    parser.add_argument("--no-ui", action="store_true", help="serve the model's OpenAI API only, no app")
    parser.add_argument(
        "--watch-folder",
        help="also load export files as they land in this folder (shoplens data watch)",
    )
    parser.add_argument(
        "--collect",
        action="store_true",
        help="also collect live events (shoplens collect serve) into the dataset",
    )
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
        host=args.host,
        ui_port=args.port,
        llm_port=args.llm_port,
        watch_folder=args.watch_folder,
    )
    if settings.watch_folder is not None and not settings.watch_folder.is_dir():
        parser.error(f"--watch-folder: no such folder: {settings.watch_folder}")
    level = min(logging.INFO, logging.getLevelName(settings.log_level.upper()))
    logging.basicConfig(level=level, format="%(message)s")
    info = prepare_warehouse(settings)
    events = next(t.rows for t in info.tables if t.name == "events")
    print(f"ShopLens warehouse ready: {info.url}")
    print(f"  {events:,} events from {info.first_event} to {info.last_event}, {info.users:,} users")
    if args.no_engine:
        return

    from assistant.cli import wait_for_interrupt
    from assistant.collector import collecting
    from assistant.llm.server import start_engine
    from assistant.warehouse.folder_watch import watching
    from assistant.warehouse.load import load_into

    with (
        collecting(settings) if args.collect else nullcontext() as collector,
        start_engine(settings, progress=_progress) as running,
    ):
        if collector:
            print(f"Collecting live events at {collector.url}/v1/batch")
        endpoint = running.endpoint
        print(
            f"Model engine ready: {endpoint.engine} ({endpoint.device}) serving {endpoint.model} at {endpoint.base_url}"
        )
        if args.no_ui:
            print("  try it: shoplens ask 'What was revenue in the last 7 days?'  ·  Ctrl-C stops")
            with watching(settings, lambda path, name: load_into(settings, path, name=name)) as watch:
                if watch:
                    print(f"Loading export files as they land in {watch.folder}")
                wait_for_interrupt()
        else:
            from assistant.ui import launch
            from assistant.workspace import Workspace

            def load(path: Path, name: str) -> LoadReport:  # the app's process owns the DuckDB file
                return workspace.load(path, workspace.default_dataset, name=name)

            with Workspace(settings, endpoint) as workspace, watching(settings, load) as watch:
                if collector and collector.ingest.fold is not None and settings.database_url is None:
                    collector.ingest.fold = workspace.fold_live  # the app's process owns the DuckDB file
                if watch:
                    print(f"Loading export files as they land in {watch.folder}")
                workspace.warm_up()  # the engine reads the system prompt before the first question
                if running.server is not None:  # and again in a new engine, if the watchdog starts one
                    running.server.on_restart.append(workspace.engine_restarted)
                blocks, url = launch(workspace, block=False)
                print(f"ShopLens is running: open {url}  ·  Ctrl-C stops", flush=True)
                try:
                    wait_for_interrupt()
                finally:
                    blocks.close()
    print("stopped")


if __name__ == "__main__":
    main()
    # Everything is closed by now. Gradio's worker threads are not daemons, and one stuck in a
    # stream must not keep a stopped app alive.
    sys.stdout.flush()
    os._exit(0)
