"""The Alerts tab and banner: what the live watcher raised on the session's dataset (outages,
conversion drops), newest first. The banner shows the newest of the last day, refreshed every few
seconds; it is empty when nothing was raised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import gradio as gr
import pandas as pd

from assistant.ui.i18n import t
from assistant.ui.render import HIDDEN, shown
from assistant.ui.session import ChatSession
from assistant.watch import raised_alerts

RECENT = timedelta(days=1)


class AlertsTab:
    """Alerts from live data (a part of App)."""

    def alerts_banner(self, session: ChatSession | None) -> str:
        dataset = session.dataset if session is not None else self.ws.default_dataset
        alerts = raised_alerts(self.ws.settings_for(dataset), limit=5)
        now = datetime.now(UTC).replace(tzinfo=None)
        recent = [a for a in alerts if now - a.end <= RECENT]
        if not recent:
            return ""
        more = f" (+{len(recent) - 1} more in the Alerts tab)" if len(recent) > 1 else ""
        return f"⚠️ **{recent[0].kind.replace('_', ' ')}**: {recent[0].message}{more}"

    def alerts_table(self, session: ChatSession | None) -> tuple[str, Any]:
        dataset = session.dataset if session is not None else self.ws.default_dataset
        alerts = raised_alerts(self.ws.settings_for(dataset))
        if not alerts:
            return "No alerts on this dataset.", HIDDEN
        frame = pd.DataFrame(
            [(a.kind, a.start, a.end, a.observed, a.expected, a.message) for a in alerts],
            columns=["alert", "from", "to", "observed", "usual", "what happened"],
        )
        return f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''}, newest first.", shown(frame)

    def _alerts_tab(self) -> None:
        with gr.Tab(t("tab_alerts"), id="alerts"):
            gr.Markdown(t("alerts_help"))
            refresh = gr.Button(t("refresh"), elem_id="alerts-refresh")
            note = gr.Markdown(elem_id="alerts-note")
            table = gr.Dataframe(interactive=False, wrap=True, visible=False, elem_id="alerts-table")
        refresh.click(self.alerts_table, [self.session], [note, table])
