"""`shoplens collect serve` (the event collector) and `shoplens collect replay` (send a dataset's
events to one, with the original timing compressed)."""

from __future__ import annotations

import logging
import statistics
from datetime import UTC, datetime
from typing import Annotated

import typer

from assistant.cli.base import collect_app, console, fail, progress_bar
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
    from assistant.cli import wait_for_interrupt
    from assistant.collector import CollectorRefused, collecting

    settings: Settings = ctx.obj
    try:
        with collecting(settings, port) as collector:
            console.print(
                f"ShopLens collector for dataset {settings.warehouse!r} at {collector.url}/v1/batch,"
                f" {'write key required' if settings.collector_keys else 'no key'} (Ctrl-C stops)"
            )
            wait_for_interrupt()
    except CollectorRefused as exc:
        raise fail(str(exc)) from None


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
    last_days: Annotated[float | None, typer.Option(help="Only the data's last N days.")] = None,
    keep_times: Annotated[
        bool,
        typer.Option(
            help="Timestamps keep their spacing and end now (sending still --speedup times faster)."
        ),
    ] = False,
    plant_outage: Annotated[
        float, typer.Option(help="Leave out this many minutes of events, ending 90 minutes before the last.")
    ] = 0,
    plant_conversion_drop: Annotated[
        bool, typer.Option(help="Leave out the last 6 hours' purchases.")
    ] = False,
    end_at: Annotated[
        str | None,
        typer.Option(help="With --keep-times: when the last event happens (UTC, ISO 8601; default now)."),
    ] = None,
    batch: Annotated[int, typer.Option(help="Events per request.")] = 500,
) -> None:
    """Send the dataset's events (`--dataset`, the demo shop by default) to a collector in time
    order, timestamps moved to now; retried batches keep their ids. `--keep-times --last-days 8
    --plant-outage 40 --plant-conversion-drop` shows the live checks at work."""
    from assistant.replay import Plan, dataset_events, replay
    from assistant.warehouse.db import Warehouse

    settings: Settings = ctx.obj
    url = url or f"http://127.0.0.1:{settings.collector_port}"
    key = key or (settings.collector_keys[0].get_secret_value() if settings.collector_keys else None)
    plan = Plan(
        speedup=speedup,
        limit=limit,
        last_days=last_days,
        keep_times=keep_times,
        outage_minutes=plant_outage,
        conversion_drop=plant_conversion_drop,
        end_at=_utc(end_at) if end_at else None,
    )
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
                    report("replaying events", min(1.0, done / max(total, 1)))

                result = replay(
                    dataset_events(warehouse, plan), url, key, rate=rate, batch=batch, progress=step
                )
        except RuntimeError as exc:
            raise fail(str(exc)) from None
    latencies = sorted(result.latencies) or [0.0]
    console.print(
        f"sent {result.sent:,} events in {result.seconds:.1f} s ({result.events_per_second:,.0f}/s):"
        f" {result.accepted:,} accepted, {result.rejected:,} rejected, {result.duplicates:,} duplicates,"
        f" {result.retries:,} retried requests; request p50 {statistics.median(latencies) * 1000:.0f} ms"
    )


@collect_app.command("fold")
def collect_fold(ctx: typer.Context) -> None:
    """Move the collected events into the dataset's tables now (a running collector does this by
    itself every collector_fold_minutes, and needs no other program to have a DuckDB file open)."""
    from assistant.collector import CollectorRefused, live_ingest
    from assistant.warehouse.fold import into_warehouse
    from assistant.warehouse.load import first_line

    settings: Settings = ctx.obj
    try:
        ingest = live_ingest(settings)
    except CollectorRefused as exc:
        raise fail(str(exc)) from None
    try:
        ingest.commit()  # what the log still holds from a collector that stopped
        ingest.fold = ingest.fold or into_warehouse(settings)
        try:
            report = ingest.fold_now()
        except Exception as exc:  # DuckDB: locked by another program; a database error
            raise fail(
                f"could not fold the live events into {settings.warehouse!r}: {first_line(exc)}"
            ) from None
    finally:
        ingest.close()
    if report is None:
        console.print("no live events waiting to be folded")
        return
    console.print(
        f"folded {report.events:,} events and {report.rejected:,} rejected rows into {settings.warehouse!r}"
        f" (new catalog rows: {report.products:,} products, {report.users:,} users)"
    )


@collect_app.command("alerts")
def collect_alerts(
    ctx: typer.Context,
    at: Annotated[str | None, typer.Option(help="As of this time (UTC, ISO 8601; default: now).")] = None,
    hours: Annotated[float, typer.Option(help="How far back to look for outages.")] = 3.0,
) -> None:
    """Outages (a silent half hour when the same time last week was busy) and a conversion drop in
    the last hours, on the dataset with its live events; exits 2 when there is an alert."""
    from assistant.warehouse.db import Warehouse
    from tools.base import ToolContext
    from tools.live_checks import live_alerts

    settings: Settings = ctx.obj
    now = _utc(at) if at else datetime.now(UTC).replace(tzinfo=None)
    with Warehouse(settings, read_only=True) as warehouse:
        if not warehouse.exists():
            raise fail(f"no dataset {settings.warehouse!r}")
        alerts = live_alerts(ToolContext.open(settings, warehouse), now, hours)
    for alert in alerts:
        console.print(f"[red]{alert.kind}[/red]: {alert.message}")
    if not alerts:
        console.print(f"no alerts as of {now:%Y-%m-%d %H:%M} UTC")
    raise typer.Exit(2 if alerts else 0)


def _utc(text: str) -> datetime:
    """A time typed on the command line, as naive UTC."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"not a time: {text!r} (e.g. 2026-12-03T14:00)") from None
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
