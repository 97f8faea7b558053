"""`shoplens collect serve` (the event collector) and `shoplens collect replay` (send a dataset's
events to one, with the original timing compressed)."""

from __future__ import annotations

import logging
import statistics
from typing import Annotated

import typer

from assistant.cli.base import collect_app, console, fail, progress_bar
from assistant.cli.serve import loopback
from assistant.settings import Settings

log = logging.getLogger(__name__)


@collect_app.command("serve")
def collect_serve(
    ctx: typer.Context,
    port: Annotated[
        int | None, typer.Option(help="Port (default: the collector_port setting, 8090).")
    ] = None,
) -> None:
    """Collect events (Segment `track` calls at /v1/track and /v1/batch) into the dataset until
    Ctrl-C; queries see them within a second. Any other interface than the loopback needs
    SHOPLENS_COLLECTOR_KEYS."""
    import uvicorn

    from assistant.collector import CollectorLimits, Ingest, create_app
    from assistant.warehouse.live import LiveStore

    settings: Settings = ctx.obj
    keys = [k.get_secret_value() for k in settings.collector_keys]
    if not keys and not loopback(settings.host):
        raise fail(f"collecting on {settings.host} needs write keys: set SHOPLENS_COLLECTOR_KEYS")
    port = port or settings.collector_port
    ingest = Ingest(LiveStore.of(settings), interval=settings.collector_commit_seconds).start()
    limits = CollectorLimits(
        max_request_bytes=settings.collector_max_request_kb * 1024,
        events_per_second=settings.collector_events_per_second,
    )
    console.print(
        f"ShopLens collector for dataset {settings.warehouse!r} at http://{settings.host}:{port}/v1/batch,"
        f" {'write key required' if keys else 'no key'} (Ctrl-C stops)"
    )
    try:
        uvicorn.run(create_app(ingest, keys, limits), host=settings.host, port=port, log_level="warning")
    finally:
        ingest.close()


@collect_app.command("replay")
def collect_replay(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option(help="Collector URL (default: this machine's collector).")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="Write key (default: the first of SHOPLENS_COLLECTOR_KEYS).")
    ] = None,
    speedup: Annotated[float, typer.Option(help="Compress the original timing this many times.")] = 3600.0,
    rate: Annotated[float | None, typer.Option(help="At most this many events per second.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N events.")] = None,
    batch: Annotated[int, typer.Option(help="Events per request.")] = 500,
) -> None:
    """Send the dataset's events (`--dataset`, the demo shop by default) to a collector in time
    order, timestamps moved to now and `--speedup` times faster; retried batches keep their ids."""
    from assistant.replay import dataset_events, replay
    from assistant.warehouse.db import Warehouse

    settings: Settings = ctx.obj
    url = url or f"http://127.0.0.1:{settings.collector_port}"
    key = key or (settings.collector_keys[0].get_secret_value() if settings.collector_keys else None)
    with Warehouse(settings, read_only=True) as warehouse:
        if not warehouse.exists():
            raise fail(f"no dataset {settings.warehouse!r} to replay: run `shoplens data demo` first")
        total = limit or warehouse.scalar("SELECT count(*) FROM events")
        try:
            with progress_bar() as report:
                done = 0

                def step(count: int) -> None:
                    nonlocal done
                    done += count
                    report("replaying events", done / max(total, 1))

                result = replay(
                    dataset_events(warehouse, speedup=speedup, limit=limit),
                    url,
                    key,
                    rate=rate,
                    batch=batch,
                    progress=step,
                )
        except RuntimeError as exc:
            raise fail(str(exc)) from None
    latencies = sorted(result.latencies) or [0.0]
    console.print(
        f"sent {result.sent:,} events in {result.seconds:.1f} s ({result.events_per_second:,.0f}/s):"
        f" {result.accepted:,} accepted, {result.rejected:,} rejected, {result.duplicates:,} duplicates,"
        f" {result.retries:,} retried requests; request p50 {statistics.median(latencies) * 1000:.0f} ms"
    )
