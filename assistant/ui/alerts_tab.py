"""The Alerts tab and banner: what the live watcher raised on the session's dataset (outages,
conversion drops), newest first. The banner shows the newest of the last day, refreshed every few
seconds; it is empty when nothing was raised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import gradio as gr
import pandas as pd

from assistant.ui.i18n import said, t
from assistant.ui.render import HIDDEN, shown
from assistant.ui.session import ChatSession
from assistant.watch import raised_alerts
from tools.live_checks import Alert

RECENT = timedelta(days=1)


def _message(alert: Alert, chinese: bool) -> str:
    """The alert's sentence in the session's language (alerts written before there was a Chinese
    one keep their English)."""
    return alert.message_zh if chinese and alert.message_zh else alert.message


class AlertsTab:
    """Alerts from live data (a part of App)."""

    def alerts_banner(self, session: ChatSession | None) -> str:
        dataset = session.dataset if session is not None else self.ws.default_dataset
        zh = session is not None and session.chinese
        alerts = raised_alerts(self.ws.settings_for(dataset), limit=5)
        now = datetime.now(UTC).replace(tzinfo=None)
        recent = [a for a in alerts if now - a.end <= RECENT]
        if not recent:
            return ""
        more = said("alerts_more", zh, n=len(recent) - 1) if len(recent) > 1 else ""
        return f"⚠️ **{said(recent[0].kind, zh)}**: {_message(recent[0], zh)}{more}"

    def alerts_table(self, session: ChatSession | None) -> tuple[str, Any]:
        dataset = session.dataset if session is not None else self.ws.default_dataset
        zh = session is not None and session.chinese
        alerts = raised_alerts(self.ws.settings_for(dataset))
        if not alerts:
            return said("no_alerts", zh), HIDDEN
        frame = pd.DataFrame(
            [(said(a.kind, zh), a.start, a.end, a.observed, a.expected, _message(a, zh)) for a in alerts],
            columns=said("alerts_columns", zh).split("|"),
        )
        return said("alerts_count", zh, n=len(alerts), s="s" if len(alerts) != 1 else ""), shown(frame)

    def _alerts_tab(self) -> None:
        with gr.Tab(t("tab_alerts"), id="alerts"):
            gr.Markdown(t("alerts_help"))
            refresh = gr.Button(t("refresh"), elem_id="alerts-refresh")
            note = gr.Markdown(elem_id="alerts-note")
            table = gr.Dataframe(interactive=False, wrap=True, visible=False, elem_id="alerts-table")
        refresh.click(self.alerts_table, [self.session], [note, table])
