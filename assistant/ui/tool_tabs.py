"""The tool tabs: Segments, Recommendations (with why each is recommended) and Marketing copy;
each runs one tool directly, no model in the loop, audited under the browser session."""

from __future__ import annotations

import html
import logging
import random
from typing import Any, get_args

import gradio as gr
import pandas as pd
from pydantic import BaseModel

from assistant.charts import figure
from assistant.ui.i18n import t
from assistant.ui.render import (
    HIDDEN,
    readable,
    result_frame,
    shown,
)
from assistant.ui.session import ChatSession
from tools.base import ToolResult
from tools.copy import CopyArgs, facts_used, versions_of
from tools.language import is_chinese
from tools.segments import RFM_NAMES

log = logging.getLogger(__name__)

ALL_ACTIVE = "all active users"


class ToolTabs:
    """Segments, recommendations and copy (a part of App)."""

    def _tool(self, session: ChatSession | None, name: str, arguments: dict[str, Any]) -> ToolResult:
        session = self._session(session)
        return self.ws.assistant(session.dataset).run_tool(name, arguments, session=session.id)

    def segments(self, kind: str, session: ChatSession | None) -> tuple[Any, ...]:
        try:
            result = self._tool(
                session, "list_segments", {"kind": "behavior" if kind.startswith("Behavior") else "rfm"}
            )
        except Exception as exc:
            return f"Error: {readable(exc)}", HIDDEN, HIDDEN, gr.update()
        frame = shown(result_frame(result))
        names = [str(r[0]) for r in result.rows]
        return (
            " · ".join(result.notes),
            frame,
            gr.update(
                value=figure(result.chart, result.columns, [list(r) for r in result.rows]), visible=True
            ),
            gr.update(choices=names, value=names[0] if names else None),
        )

    def segment_members(self, segment: str | None, session: ChatSession | None) -> tuple[str, Any]:
        if not segment:
            return "Pick a segment.", HIDDEN
        try:
            result = self._tool(session, "lookup_segment", {"segment": segment, "limit": 50})
        except Exception as exc:
            return f"Error: {readable(exc)}", HIDDEN
        return " · ".join(result.notes) or f"{len(result.rows)} members shown", shown(result_frame(result))

    def random_user(self, session: ChatSession | None) -> str:
        for segment in ("champions", "loyal", "potential_loyalists"):
            try:
                rows = self._tool(session, "lookup_segment", {"segment": segment, "limit": 30}).rows
            except Exception:
                continue
            if rows:
                return str(random.choice(rows)[0])
        return ""

    def recommend(self, user_id: str, k: float, model: str, session: ChatSession | None) -> tuple[Any, ...]:
        user_id = (user_id or "").strip()
        if not user_id:
            return "Type a user id, or pick one.", HIDDEN, "", HIDDEN
        try:
            result = self._tool(session, "recommend", {"user_id": user_id, "k": int(k), "model": model})
        except Exception as exc:
            return f"Error: {readable(exc)}", HIDDEN, "", HIDDEN
        note = " · ".join(result.notes) + " · select a row to see why it is recommended"
        return note, shown(result_frame(result)), "", HIDDEN

    def explain(
        self, user_id: str, model: str, table: pd.DataFrame, session: ChatSession | None, evt: gr.SelectData
    ) -> tuple[str, Any]:
        try:
            row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
            product_id = str(table.iloc[row]["product_id"])
            result = self._tool(
                session,
                "explain_recommendation",
                {"user_id": user_id.strip(), "product_id": product_id, "model": model},
            )
        except Exception as exc:
            return f"Error: {readable(exc)}", HIDDEN
        text = result.answer or result.text or ""
        return f"**Why product {product_id} for user {user_id.strip()}?** {text}", shown(result_frame(result))

    def write_copy(
        self,
        target: str,
        product_id: str,
        segment: str,
        tone: str,
        length: str,
        channel: str,
        offer: str,
        code: str,
        ends: str,
        call_to_action: str,
        shop_name: str,
        avoid: str,
        session: ChatSession | None,
        versions: int = 1,
    ) -> tuple[str, Any]:
        """Copy from the tool; the campaign brief (all optional) is the only source of offers."""
        brief = {
            "offer": offer,
            "code": code,
            "ends": ends,
            "call_to_action": call_to_action,
            "shop_name": shop_name,
            "avoid": [w.strip() for w in (avoid or "").split(",") if w.strip()],
        }
        arguments: dict[str, Any] = {
            "tone": tone,
            "length": length,
            "channel": channel,
            "variants": int(versions),
            "brief": {k: v.strip() if isinstance(v, str) else v for k, v in brief.items() if v},
        }
        if target == "Product":
            if not (product_id or "").strip():
                return "Type a product id.", HIDDEN
            arguments["product_id"] = product_id.strip()
        else:
            arguments["segment"] = segment
        try:
            result = self._tool(session, "write_marketing_copy", arguments)
        except Exception as exc:
            return f"Error: {readable(exc)}", HIDDEN
        notes = "\n".join(f"- {n}" for n in result.notes)
        facts = [(str(row[0]), row[1]) for row in result.rows]
        return f"{side_by_side(result.answer or result.text or '', facts)}\n\n{notes}".strip(), shown(
            result_frame(result)
        )

    def intent(
        self, outcome: str, days: float, segment: str, at_least: float, session: ChatSession | None
    ) -> tuple[str, Any]:
        """Users likeliest to buy or to stay away (optionally within a segment, at least this likely),
        with the backtest."""
        arguments: dict[str, Any] = {"outcome": outcome, "days": int(days), "k": 50}
        if segment and segment != ALL_ACTIVE:
            arguments["segment"] = segment
        if at_least > 0:
            arguments["min_probability"] = float(at_least)
        try:
            result = self._tool(session, "predict_intent", arguments)
        except Exception as exc:
            return f"Error: {readable(exc)}", HIDDEN
        return "\n".join([result.summary or "", *(f"- {n}" for n in result.notes)]), shown(
            result_frame(result)
        )

    def demand(self, session: ChatSession | None) -> tuple[str, Any]:
        """What shoppers search for and do not find, or do not buy."""
        try:
            result = self._tool(session, "demand_gaps", {"k": 30})
        except Exception as exc:
            return f"Error: {readable(exc)}", HIDDEN
        return "\n".join([result.summary or "", *(f"- {n}" for n in result.notes)]), shown(
            result_frame(result)
        )

    def _segments_tab(self) -> None:
        """RFM or behavior segments, their chart and members; who will buy or stay away; demand gaps."""
        with gr.Tab(t("tab_segments"), id="segments"):
            kind = gr.Radio(
                ["RFM (recency, frequency, money)", "Behavior clusters"],
                value="RFM (recency, frequency, money)",
                label=t("segmentation"),
            )
            show = gr.Button(t("show_segments"), variant="primary")
            seg_note = gr.Markdown(elem_id="segments-note")
            seg_plot = gr.Plot(show_label=False, elem_id="segments-chart")
            seg_table = gr.Dataframe(
                interactive=False, wrap=True, max_height=420, visible=False, elem_id="segments-table"
            )
            members_of = gr.Dropdown(label=t("members_of"), choices=[])
            members_note = gr.Markdown(elem_id="members-note")
            members = gr.Dataframe(interactive=False, max_height=360, visible=False, elem_id="members-table")
            with gr.Accordion(t("who_will_buy"), open=False):
                with gr.Row():
                    outcome = gr.Radio(
                        [
                            (t("will_buy"), "buy"),
                            (t("will_stay_away"), "churn"),
                            (t("will_buy_this_visit"), "buy_this_visit"),
                        ],
                        value="buy",
                        label=t("outcome"),
                    )
                    days = gr.Slider(1, 90, value=7, step=1, label=t("in_the_next_days"))
                    within = gr.Dropdown(
                        [ALL_ACTIVE, "high_spenders", *RFM_NAMES], value=ALL_ACTIVE, label=t("segment")
                    )
                    at_least = gr.Slider(0, 1, value=0, step=0.05, label=t("at_least_likely"))
                predict = gr.Button(t("predict"), variant="primary")
                intent_note = gr.Markdown(elem_id="intent-note")
                intent_table = gr.Dataframe(
                    interactive=False, wrap=True, max_height=380, visible=False, elem_id="intent-table"
                )
            with gr.Accordion(t("demand_gaps"), open=False):
                find = gr.Button(t("find_demand_gaps"))
                gaps_note = gr.Markdown(elem_id="gaps-note")
                gaps_table = gr.Dataframe(
                    interactive=False, wrap=True, max_height=380, visible=False, elem_id="gaps-table"
                )
        show.click(self.segments, [kind, self.session], [seg_note, seg_table, seg_plot, members_of]).success(
            self.segment_members, [members_of, self.session], [members_note, members]
        )
        members_of.input(self.segment_members, [members_of, self.session], [members_note, members])
        predict.click(
            self.intent, [outcome, days, within, at_least, self.session], [intent_note, intent_table]
        )
        find.click(self.demand, [self.session], [gaps_note, gaps_table])

    def _recommendations_tab(self) -> None:
        """Recommendations for a user, and the evidence for a picked one."""
        with gr.Tab(t("tab_recommendations"), id="recommendations"):
            with gr.Row():
                user = gr.Textbox(label=t("user_id"), scale=3, elem_id="rec-user")
                pick = gr.Button(t("a_good_customer"), scale=1)
                k = gr.Slider(3, 30, value=10, step=1, label=t("how_many"), scale=2)
                model = gr.Radio(
                    [(t("items_used_together"), "itemknn"), (t("what_comes_next"), "sequence")],
                    value=self.ws.settings.recommender,
                    label=t("recommender"),
                    scale=3,
                    elem_id="rec-model",
                )
            go = gr.Button(t("recommend"), variant="primary")
            rec_note = gr.Markdown(elem_id="rec-note")
            rec_table = gr.Dataframe(
                interactive=False, wrap=True, max_height=380, visible=False, elem_id="rec-table"
            )
            why = gr.Markdown(elem_id="why")
            why_table = gr.Dataframe(
                interactive=False,
                wrap=True,
                label=t("evidence"),
                max_height=300,
                visible=False,
                elem_id="why-table",
            )
        pick.click(self.random_user, [self.session], [user])
        go.click(self.recommend, [user, k, model, self.session], [rec_note, rec_table, why, why_table])
        user.submit(self.recommend, [user, k, model, self.session], [rec_note, rec_table, why, why_table])
        rec_table.select(self.explain, [user, model, rec_table, self.session], [why, why_table])

    def _copy_tab(self) -> None:
        """Marketing copy for a product or a segment; its choices are the tool's own."""
        with gr.Tab(t("tab_copy"), id="copy"):
            with gr.Row():
                copy_target = gr.Radio(["Product", "Segment"], value="Segment", label=t("write_for"))
                product = gr.Textbox(label=t("product_id"))
                segment = gr.Dropdown(list(RFM_NAMES), value="champions", label=t("segment"))
            with gr.Row():
                tone, length, channel = (_choice(CopyArgs, name) for name in ("tone", "length", "channel"))
                versions = gr.Slider(1, 3, value=3, step=1, label=t("versions"))
            # Without a brief the copy promises nothing: offers, codes and dates come only from here.
            with gr.Accordion(t("brief"), open=False):
                with gr.Row():
                    offer = gr.Textbox(label=t("offer"), placeholder="20% off all kettles")
                    code = gr.Textbox(label=t("discount_code"), placeholder="KETTLE20")
                    ends = gr.Textbox(label=t("offer_ends"), placeholder="2026-12-24")
                with gr.Row():
                    call_to_action = gr.Textbox(label=t("call_to_action"), placeholder="Shop the range")
                    shop_name = gr.Textbox(label=t("shop_name"))
                    avoid = gr.Textbox(label=t("words_to_avoid"), placeholder="cheap, deal")
            write = gr.Button(t("write_copy"), variant="primary")
            copy_text = gr.Markdown(elem_id="copy-text")
            facts = gr.Dataframe(
                interactive=False, wrap=True, label=t("facts_used"), visible=False, elem_id="copy-facts"
            )
        write.click(
            self.write_copy,
            [copy_target, product, segment, tone, length, channel, offer, code, ends, call_to_action]
            + [shop_name, avoid, self.session, versions],
            [copy_text, facts],
        )


def side_by_side(copy: str, facts: list[tuple[str, Any]] | None = None) -> str:
    """Several versions of copy as the columns of one table, to compare, each with the facts it
    draws on (traced in code: tools/copy.py); one version as it is, then its facts. The words
    are in the copy's language (the handler does not know the browser's)."""
    versions = versions_of(copy)
    version, draws_on = ("版本", "依据") if is_chinese(copy) else ("Version", "Draws on")
    used = [", ".join(facts_used(v, facts)) or "-" for v in versions] if facts else []
    if len(versions) == 1:
        return f"{copy}\n\n*{draws_on}: {used[0]}*" if used else copy
    cells = [html.escape(v.strip()).replace("|", "\\|").replace("\n", "<br>") for v in versions]
    head = " | ".join(f"{version} {i}" for i in range(1, len(cells) + 1))
    table = f"| {head} |\n|{'---|' * len(cells)}\n| {' | '.join(cells)} |"
    if used:
        table += "\n| " + " | ".join(f"*{draws_on}: {html.escape(u)}*" for u in used) + " |"
    return table


def _choice(model: type[BaseModel], name: str) -> gr.Radio:
    """A radio of a tool argument's allowed values (its Literal), its default chosen."""
    field = model.model_fields[name]
    return gr.Radio(list(get_args(field.annotation)), value=field.default, label=t(name))
