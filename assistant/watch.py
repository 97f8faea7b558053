"""The live watcher: while the collector runs, the live checks (`tools/live_checks.py`) run every
`watch_minutes` on the last hours, and what they find is raised once: a line in the dataset's
`alerts.jsonl` (which the app shows), an entry in the audit log, and a POST of the alert's JSON
to `alert_webhook` when one is set.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx

from assistant.audit import AuditEvent, AuditLog
from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from assistant.warehouse.live import live_dir
from tools.base import ToolContext
from tools.live_checks import Alert, live_alerts

log = logging.getLogger(__name__)


def alerts_file(settings: Settings) -> Path:
    return live_dir(settings) / "alerts.jsonl"


def raised_alerts(settings: Settings, limit: int = 50) -> list[Alert]:
    """The alerts raised on the dataset so far, newest first."""
    path = alerts_file(settings)
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [Alert.model_validate_json(line) for line in reversed(lines[-limit:]) if line.strip()]


class Watcher:
    """Runs the live checks every `settings.watch_minutes`; each alert is raised once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.audit = (
            AuditLog(settings.data_dir / "audit.jsonl", mask=settings.pii_masking)
            if settings.audit_log
            else None
        )
        self._raised = [(a.kind, a.group, a.start, a.end) for a in raised_alerts(settings, limit=10_000)]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self, now: datetime | None = None) -> list[Alert]:
        """Run the checks as of `now` (the clock by default); returns the alerts new this time."""
        now = now or datetime.now(UTC).replace(tzinfo=None)
        with Warehouse(self.settings, read_only=True) as warehouse:
            found = live_alerts(ToolContext.open(self.settings, warehouse), now)
        new = [a for a in found if not self._seen(a)]
        for alert in new:
            self._raise(alert)
        return new

    def _seen(self, alert: Alert) -> bool:
        """An outage is the same one while it has the same start; a conversion drop (of the shop,
        or of one group of visitors) is the same one while its stretch overlaps one raised before
        for the same group (it is measured afresh each time)."""
        if alert.kind == "outage":
            return any(kind == "outage" and start == alert.start for kind, _, start, _ in self._raised)
        return any(
            kind == alert.kind and group == alert.group and end > alert.start
            for kind, group, _, end in self._raised
        )

    def _raise(self, alert: Alert) -> None:
        self._raised.append((alert.kind, alert.group, alert.start, alert.end))
        path = alerts_file(self.settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as out:
            out.write(alert.model_dump_json() + "\n")
        log.warning("alert: %s", alert.message)
        if self.audit is not None:
            self.audit.record(
                AuditEvent(
                    session="watcher", dataset=self.settings.warehouse, kind="alert", question=alert.message
                )
            )
        if self.settings.alert_webhook:
            try:
                httpx.post(
                    self.settings.alert_webhook, json=alert.model_dump(mode="json"), timeout=5
                ).raise_for_status()
            except httpx.HTTPError as exc:  # the alert stays in the file and the log
                log.error("alert webhook failed: %s", exc)

    def start(self) -> Watcher:
        self._thread = threading.Thread(target=self._run, name="live-watch", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.settings.watch_minutes * 60):
            try:
                self.check()
            except Exception:  # a failed check must not stop the next ones
                log.exception("live check failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
