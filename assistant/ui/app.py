"""The Gradio app: chat with the data, see the evidence, act on it.

Tabs: Chat (streams the tool calls, then the answer; the result panel shows the SQL, a sortable
table with a CSV download and a chart), Data (load a file, switch datasets), Segments,
Recommendations, Marketing copy, Eval, Alerts (and a banner for the newest live alert). Every session has its own conversation and dataset; the
heavy things (model endpoint, encoder, one assistant per dataset) are shared via `Workspace`.
Errors become readable messages; no handler lets an exception reach the browser as a trace.
"""

from __future__ import annotations

import logging

import gradio as gr

from assistant.answer import Answer
from assistant.ui.alerts_tab import AlertsTab
from assistant.ui.chat import ChatTab
from assistant.ui.data import DataTab
from assistant.ui.eval_tab import EvalTab
from assistant.ui.i18n import I18N, RUN_TIME_WORDS, browser_chinese, said, t
from assistant.ui.session import ChatSession
from assistant.ui.tool_tabs import ToolTabs
from assistant.warehouse.imports import import_folders
from assistant.workspace import Workspace

log = logging.getLogger(__name__)


class App(ChatTab, DataTab, ToolTabs, EvalTab, AlertsTab):
    """Builds the Blocks over a workspace; `launch` serves it. Each tab's handlers and layout live
    in its own module (chat, data, tool_tabs, eval_tab); this is the shell: the session, the
    status line and the order of the tabs."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
        # Beside the data, not in a new temp folder per run: pruned to MAX_EXPORTS, so neither a
        # long-running app nor many restarts fill the disk.
        self.exports = workspace.settings.data_dir / "exports"
        self.exports.mkdir(parents=True, exist_ok=True)
        # Where a path typed in the Data tab may lead (the default one is made here, to be found).
        self.import_folders = import_folders(workspace.settings)

    def _session(self, session: ChatSession | None) -> ChatSession:
        return session if session is not None else ChatSession(self.ws.default_dataset)

    def new_session(self, request: gr.Request) -> ChatSession:
        """A browser's session on the default dataset, in the browser's language."""
        return ChatSession(self.ws.default_dataset, chinese=browser_chinese(request))

    def status(self, session: ChatSession | None, answer: Answer | None = None) -> str:
        end = self.ws.endpoint
        session = self._session(session)
        zh = session.chinese
        parts = [said("status_model", zh, model=end.model, engine=end.engine, device=end.device.upper())]
        try:
            info = self.ws.info(session.dataset)
            events = next(t.rows for t in info.tables if t.name == "events")
            span = (
                f"{info.first_event:%Y-%m-%d} → {info.last_event:%Y-%m-%d}"
                if info.first_event
                else said("no_events", zh)
            )
            parts.append(
                said(
                    "status_dataset",
                    zh,
                    dataset=session.dataset,
                    events=f"{events:,}",
                    span=span,
                    engine=info.engine,
                    # an access the table does not know yet stays in English, not an error
                    access=said(info.access, zh) if info.access in RUN_TIME_WORDS else info.access,
                )
            )
        except Exception as exc:  # a broken dataset must not take the status line with it
            parts.append(said("status_unavailable", zh, dataset=session.dataset, error=exc))
        if answer is not None:
            seconds = answer.timings.get("total", 0.0)
            model_seconds = answer.timings.get("decide", 0.0) + answer.timings.get("explain", 0.0)
            rate = answer.tokens["completion"] / model_seconds if model_seconds else 0.0
            parts.append(said("status_last", zh, seconds=f"{seconds:.1f}", rate=f"{rate:.1f}"))
        return " · ".join(parts)

    def engine_state(self, session: ChatSession | None = None) -> str:
        """Whether the model is still reading a data description (the warm-up at start, after a
        restart of the engine, or after a switch of dataset): questions asked meanwhile wait."""
        zh = session is not None and session.chinese
        state = self.ws.last_warm_up
        if state is None:
            return said("engine_ready", zh)
        if not state.done.is_set():
            return said("engine_reading", zh, dataset=state.dataset, seconds=f"{state.elapsed:.0f}")
        if state.seconds is None:
            return said("engine_unread", zh)
        if state.loaded:  # the engine's saved read of this description, from an earlier start
            return said("engine_loaded", zh, dataset=state.dataset, seconds=f"{state.seconds:.1f}")
        return said("engine_read", zh, dataset=state.dataset, seconds=f"{state.seconds:.0f}")

    def build(self) -> gr.Blocks:
        # Gradio keeps its copies of results and uploads for a day, checked hourly.
        with gr.Blocks(title="ShopLens", delete_cache=(3600, 86400)) as blocks:
            self.session = gr.State(None)
            gr.Markdown(t("title"))
            self.status_line = gr.Markdown(self.status(None), elem_id="status-line")
            # A callable value: each page load shows the state now, not the one at build time.
            engine_state = gr.Markdown(self.engine_state, elem_id="engine-state")
            banner = gr.Markdown(elem_id="alerts-banner")
            timer = gr.Timer(2.0)
            timer.tick(self.engine_state, [self.session], [engine_state], queue=False)
            self._chat_tab()
            self._data_tab()
            self._segments_tab()
            self._recommendations_tab()
            self._copy_tab()
            self._eval_tab()
            self._alerts_tab()
            timer.tick(self.alerts_banner, [self.session], [banner], queue=False)
            loaded = blocks.load(self.new_session, None, [self.session])
            loaded.then(self.dataset_summary, [self.session], [self.summary, self.counts])
            loaded.then(self.status, [self.session], [self.status_line])
        return blocks


def launch(workspace: Workspace, *, block: bool = True) -> tuple[gr.Blocks, str]:
    """Serve the app on the configured host and port; returns (blocks, local URL)."""
    settings = workspace.settings
    app = App(workspace)
    blocks = app.build()
    blocks.queue(default_concurrency_limit=settings.ui_concurrency)
    _, url, _ = blocks.launch(
        server_name=settings.host,
        server_port=settings.ui_port,
        prevent_thread_lock=not block,
        quiet=True,
        show_error=False,
        allowed_paths=[str(app.exports)],
        max_file_size=f"{settings.upload_limit_mb}mb",
        footer_links=[],
        theme=gr.themes.Soft(),
        i18n=I18N,  # the app's labels in the browser's language
    )
    return blocks, url
