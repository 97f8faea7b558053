"""The Eval tab: run a suite against chosen systems, see the scores and failing cases, download
the HTML report."""

from __future__ import annotations

import logging
import shutil

import gradio as gr
import pandas as pd

from assistant.ui.i18n import t
from assistant.ui.render import HIDDEN, readable, shown

log = logging.getLogger(__name__)


class EvalTab:
    """Offline evaluation from the app (a part of App)."""

    def run_eval(
        self,
        suite_name: str,
        tag: str,
        limit: float | None,
        systems: list[str],
        judge: bool,
        repeats: float | None = 1,
        progress: gr.Progress = gr.Progress(),
    ):
        from eval.evaluate import evaluate
        from eval.report import FIGURES
        from eval.suite import SuiteError

        try:
            run = evaluate(
                suite_name,
                systems,
                self.ws.settings,
                tag=tag.strip() or None,
                limit=int(limit) if limit else None,
                use_judge=judge,
                repeats=int(repeats or 1),
                progress=lambda stage, fraction: progress(fraction or 0.0, desc=stage),
                endpoint=self.ws.endpoint,
            )
        except SuiteError as exc:
            return f"Error: {exc}", HIDDEN, HIDDEN, HIDDEN
        except Exception as exc:
            log.exception("eval run failed")
            return f"The eval run stopped: {readable(exc)}", HIDDEN, HIDDEN, HIDDEN
        figures, folder, lines = run.figures, run.folder, run.lines
        summary = pd.DataFrame(
            [
                [label, *("–" if f.get(key) is None else pattern.format(f[key]) for f in figures.values())]
                for key, label, pattern in FIGURES
            ],
            columns=["", *figures],
        )
        failing = pd.DataFrame(
            [
                [
                    line["system"],
                    line["case"],
                    "; ".join(line.get("reasons", [])),
                    line["outcome"].get("text", "")[:200],
                ]
                for line in lines
                if not line["passed"]
            ],
            columns=["system", "case", "why it failed", "answer"],
        )
        report = self.exports / f"{folder.name}-report.html"
        shutil.copyfile(folder / "report.html", report)
        verdict = f"{len(failing)} failing" if len(failing) else "every case passed"
        note = f"{run.cases} cases · {verdict} · run folder `{folder}`"
        shown_failing = shown(failing) if len(failing) else HIDDEN
        return note, shown(summary), shown_failing, gr.update(value=str(report), visible=True)

    def _eval_tab(self) -> None:
        """Suite, tag, systems, judge and repeats; the run with a progress bar."""
        with gr.Tab(t("tab_eval"), id="eval"):
            from eval.suite import SUITES_DIR
            from eval.systems import systems as installed_systems

            suites = sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))
            with gr.Row():
                suite = gr.Dropdown(suites, value="demo" if "demo" in suites else suites[0], label=t("suite"))
                tag = gr.Textbox(value="smoke", label=t("only_tagged"))
                limit = gr.Number(value=None, precision=0, label=t("first_n"))
            with gr.Row():
                systems = gr.CheckboxGroup(
                    list(installed_systems()),
                    value=["shoplens"],
                    label=t("systems"),
                )
                judge = gr.Checkbox(value=True, label=t("judge"))
                repeats = gr.Number(value=1, precision=0, minimum=1, maximum=10, label=t("repeats"))
            run = gr.Button(t("run"), variant="primary")
            eval_note = gr.Markdown(elem_id="eval-note")
            eval_summary = gr.Dataframe(
                interactive=False, label=t("scores"), visible=False, elem_id="eval-summary"
            )
            eval_failing = gr.Dataframe(
                interactive=False, wrap=True, label=t("failing_cases"), visible=False, elem_id="eval-failing"
            )
            eval_report = gr.DownloadButton(t("download_report"), visible=False, size="sm")

        run.click(
            self.run_eval,
            [suite, tag, limit, systems, judge, repeats],
            [eval_note, eval_summary, eval_failing, eval_report],
            concurrency_limit=1,
        )
        # Each browser session starts its own state (its id is the audit log's session).
