"""A plotly figure for a result table: the tool's chart spec when it gave one, else one chosen
from the table's shape (dates → line, labels with numbers → bar), else none."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tools.base import ChartSpec

MAX_BARS = 40  # more categories than this read better as the table


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def infer_chart(columns: list[str], rows: list[list[Any]]) -> ChartSpec | None:
    """A chart for a table no tool described (e.g. free SQL): time series → line, a label column
    with numeric columns → bar; single values and wide tables get none."""
    if len(rows) < 2 or len(columns) < 2:
        return None
    first = [r[0] for r in rows if r[0] is not None]
    numeric = [
        c for i, c in enumerate(columns[1:], 1) if all(_is_number(r[i]) for r in rows if r[i] is not None)
    ]
    numeric = [c for c in numeric if any(r[columns.index(c)] is not None for r in rows)]
    if not numeric or not first:
        return None
    if all(isinstance(v, date | datetime) for v in first):
        return ChartSpec(kind="line", x=columns[0], y=numeric[:3])
    if all(isinstance(v, str) for v in first) and len(rows) <= MAX_BARS:
        return ChartSpec(kind="bar", x=columns[0], y=numeric[:1])
    return None


def figure(spec: ChartSpec | None, columns: list[str], rows: list[list[Any]]) -> go.Figure | None:
    """The figure for `spec` over the table (or the spec's own figures), or None when the result
    has nothing to draw. A spec with a panel `below` draws both, one above the other."""
    spec = spec if spec is not None and spec.kind != "table" else infer_chart(columns, rows)
    if spec is None:
        return None
    own = spec.columns is not None and spec.rows is not None
    top = _traces(spec, spec.columns if own else columns, [list(r) for r in spec.rows] if own else rows)
    below = _traces(spec.below, columns, rows) if spec.below is not None else None
    if top is None:
        return None
    if below:
        fig = make_subplots(
            rows=2, cols=1, subplot_titles=(spec.title or "", spec.below.title or ""), vertical_spacing=0.16
        )
        for trace in top:
            fig.add_trace(trace, row=1, col=1)
        for trace in below:
            fig.add_trace(trace, row=2, col=1)
        fig.update_layout(height=620, margin={"l": 40, "r": 20, "t": 50, "b": 40})
    else:
        fig = go.Figure(top)
        fig.update_layout(
            title=spec.title or None,
            height=360,
            margin={"l": 40, "r": 20, "t": 40 if spec.title else 20, "b": 40},
        )
        if spec.kind in ("line", "bar"):
            fig.update_xaxes(title=spec.x)
            ys = [y for y in spec.y if y in (spec.columns if own else columns)]
            fig.update_yaxes(title=ys[0] if len(ys) == 1 else None)
    if spec.marked is not None and spec.kind == "line":
        first, last = spec.marked
        fig.add_vrect(
            # the shading covers the last day whole: a week's point sits on its Monday
            x0=first,
            x1=last + timedelta(days=1),
            fillcolor="crimson",
            opacity=0.12,
            line_width=0,
            annotation_text="changed",
            annotation_position="top left",
            **({"row": 1, "col": 1} if below else {}),
        )
    fig.update_layout(showlegend=len(fig.data) > 1, barmode="group", template="plotly_white")
    return fig


def _traces(spec: ChartSpec, columns: list[str] | None, rows: list[list[Any]]) -> list[Any] | None:
    """The plotly traces of one panel, or None when the table lacks what the spec draws."""
    if not rows or not columns or spec.x not in columns:
        return None
    ys = [y for y in spec.y if y in columns]
    if not ys:
        return None
    col = {name: i for i, name in enumerate(columns)}

    def values(name: str, subset: list[list[Any]]) -> list[Any]:
        return [float(r[col[name]]) if isinstance(r[col[name]], Decimal) else r[col[name]] for r in subset]

    if spec.kind == "heatmap":
        return [
            go.Heatmap(
                x=ys, y=[str(v) for v in values(spec.x, rows)], z=[[r[col[y]] for y in ys] for r in rows]
            )
        ]
    groups: dict[Any, list[list[Any]]] = {}
    if spec.kind == "line":  # a series drawn in time order, whatever order the table is in
        rows = sorted(rows, key=lambda r: (r[col[spec.x]] is None, r[col[spec.x]]))
    if spec.series in col:
        for row in rows:
            groups.setdefault(row[col[spec.series]], []).append(row)
    else:
        groups = {None: rows}
    traces: list[Any] = []
    for name, subset in groups.items():
        for y in ys:
            label = " · ".join(str(p) for p in (name, y if len(ys) > 1 else None) if p is not None) or y
            x = values(spec.x, subset)
            if spec.kind == "line":
                traces.append(go.Scatter(x=x, y=values(y, subset), mode="lines+markers", name=label))
            elif spec.kind == "funnel":
                traces.append(go.Funnel(y=[str(v) for v in x], x=values(y, subset), name=label))
            else:
                traces.append(go.Bar(x=[str(v) for v in x], y=values(y, subset), name=label))
    return traces
