"""The Data tab: what a dataset holds, switching datasets, loading a file (upload or a path in
the import folders) with progress and its rejected rows by reason."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
from gradio.utils import get_upload_folder

from assistant.answer import Conversation
from assistant.ui.i18n import said, t
from assistant.ui.render import (
    HIDDEN,
    readable,
)
from assistant.ui.session import ChatSession
from assistant.warehouse.imports import allowed_source
from assistant.warehouse.load import LoadError
from assistant.warehouse.loaders import loaders
from assistant.workspace import dataset_name

log = logging.getLogger(__name__)


class DataTab:
    """Datasets and loads (a part of App)."""

    def dataset_summary(self, session: ChatSession | None) -> tuple[str, Any]:
        session = self._session(session)
        try:
            info = self.ws.info(session.dataset)
        except Exception as exc:
            return f"Error: {session.dataset}: {readable(exc)}", HIDDEN
        frame = pd.DataFrame(
            [(t.name, t.kind, t.rows) for t in info.tables], columns=["table", "kind", "rows"]
        )
        zh = session.chinese
        span = f"{info.first_event} → {info.last_event}" if info.first_event else said("no_events", zh)
        loads = "\n".join(
            said(
                "summary_load",
                zh,
                source=load.source_dataset,
                format=load.format,
                loaded=f"{load.rows_loaded:,}",
                rejected=f"{load.rows_rejected:,}",
                at=f"{load.loaded_at:%Y-%m-%d %H:%M}",
            )
            for load in info.loads
        )
        summary = said(
            "summary",
            zh,
            dataset=session.dataset,
            users=f"{info.users:,}",
            sessions=f"{info.sessions:,}",
            span=span,
        )
        text = f"{summary}\n\n" + (
            f"{said('summary_loads', zh)}\n{loads}" if loads else said("summary_no_loads", zh)
        )
        return text, frame

    def switch_dataset(self, dataset: str, session: ChatSession | None) -> dict:
        """Answer from another dataset: a new conversation, the result panel cleared."""
        session = self._session(session)
        if dataset and dataset != session.dataset:
            session.dataset = dataset
            # The engine reads this dataset's system prompt while the user types (minutes on a
            # slow CPU), not inside the first question's answer time.
            self.ws.warm_up(dataset)
        session.conversation, session.answers = Conversation(), []
        text, frame = self.dataset_summary(session)
        note = said("switched", session.chinese, dataset=session.dataset)
        sql, table, csv, plot = self.evidence(None)
        return {
            self.session: session,
            self.summary: text,
            self.counts: frame,
            self.status_line: self.status(session),
            self.chatbot: [{"role": "assistant", "content": note}],
            self.picker: gr.update(choices=[], value=None, visible=False),
            self.sql: sql,
            self.table: table,
            self.csv: csv,
            self.plot: plot,
            **{button: gr.update(visible=False) for button in self.follow_ups},
        }

    def load(
        self,
        upload: str | None,
        path: str,
        fmt: str,
        name: str,
        session: ChatSession | None,
        progress: gr.Progress = gr.Progress(),
    ):
        session = self._session(session)
        given = upload or (path or "").strip()
        if not given:
            raise gr.Error("Choose a file to upload, or type a path.", print_exception=False)
        target = dataset_name(name.strip() or Path(given).name)

        def report(stage: str, fraction: float | None) -> None:
            progress(fraction if fraction is not None else 0.0, desc=stage)

        try:
            # A browser names files on this machine only inside the import folders (an upload:
            # inside Gradio's upload folder), never in the data dir (assistant/warehouse/imports.py).
            roots = [Path(get_upload_folder())] if upload else None
            source = allowed_source(given, self.ws.settings, roots)
            result = self.ws.load(source, target, None if fmt == "auto-detect" else fmt, report)
        except (LoadError, ValueError, OSError) as exc:
            # An error (not a message) so the chain stops: the session keeps its dataset.
            raise gr.Error(f"Nothing was loaded: {readable(exc)}", print_exception=False) from None
        except Exception as exc:  # whatever else a hostile file provokes: a line, never a trace
            log.warning("load of %s failed: %s", target, type(exc).__name__)
            raise gr.Error(
                f"Nothing was loaded: the file could not be read ({type(exc).__name__})",
                print_exception=False,
            ) from None
        session.dataset, session.conversation, session.answers = target, Conversation(), []
        span = f"{result.first_event} → {result.last_event}" if result.first_event else "no events"
        text = (
            f"Loaded **{Path(result.path).name}** as {result.format} into dataset **{target}** "
            f"in {result.seconds:.1f} s\n\n"
            f"| rows read | rows loaded | rows rejected | products | users | time span |\n|---|---|---|---|---|---|\n"
            f"| {result.rows_read:,} | {result.rows_loaded:,} | {result.rows_rejected:,} | "
            f"{result.products_loaded:,} | {result.users_loaded:,} | {span} |\n\n"
            + (
                "Personal data masked before storing: "
                + ", ".join(f"{k} ({v:,})" for k, v in result.pii_masked.items())
                + "\n\n"
                if result.pii_masked
                else ""
            )
            + f"The chat now answers from **{target}**."
        )
        rejects = pd.DataFrame(
            sorted(result.rejected_by_reason.items(), key=lambda kv: -kv[1]), columns=["reason", "rows"]
        )
        return (
            session,
            text,
            gr.update(choices=self.ws.datasets(), value=target),
            gr.update(value=rejects, visible=bool(result.rejected_by_reason)),
        )

    def _data_tab(self) -> None:
        """The dataset picker, its summary and the file loader."""
        with gr.Tab(t("tab_data"), id="data"):
            with gr.Row():
                dataset = gr.Dropdown(
                    choices=self.ws.datasets(),
                    value=self.ws.default_dataset,
                    label=t("dataset_in_use"),
                    elem_id="dataset",
                )
            self.summary = gr.Markdown(elem_id="dataset-summary")
            self.counts = gr.Dataframe(interactive=False, label=t("tables"), max_height=300)
            gr.Markdown(t("load_a_file"))
            with gr.Row():
                upload = gr.File(label=t("upload"), type="filepath", elem_id="upload")
                with gr.Column():
                    path = gr.Textbox(
                        label=t("path_on_machine"),
                        info=", ".join(str(f) for f in self.import_folders),
                        elem_id="load-path",
                    )
                    fmt = gr.Dropdown(
                        ["auto-detect", *(loader.name for loader in loaders())],
                        value="auto-detect",
                        label=t("format"),
                    )
                    target = gr.Textbox(
                        label=t("into_dataset"),
                        placeholder=t("from_file_name"),
                        elem_id="load-target",
                    )
                    load = gr.Button(t("load"), variant="primary", elem_id="load")
            loaded = gr.Markdown(elem_id="load-result")
            rejects = gr.Dataframe(visible=False, interactive=False, label=t("rejected_rows"))
        switched = [self.session, self.summary, self.counts, self.status_line, self.chatbot, self.picker,
                    self.sql, self.table, self.csv, self.plot, *self.follow_ups]  # fmt: skip
        dataset.input(self.switch_dataset, [dataset, self.session], switched)
        upload.upload(lambda f: dataset_name(Path(f).name) if f else "", upload, target)
        load.click(
            self.load,
            [upload, path, fmt, target, self.session],
            [self.session, loaded, dataset, rejects],
            concurrency_limit=1,
        ).success(self.switch_dataset, [dataset, self.session], switched)
