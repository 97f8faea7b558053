"""`query_metric`, `funnel`, `cohort_retention`: the metrics layer, compiled to SQL.

The metrics and dimensions live in `prompts/metrics.yaml` (plus an optional user file, see
`Settings.metrics_file`). A request names a metric, dimensions, filters and a period; the
compiler turns it into one SQL query, deterministically, so a small model only fills in a
typed form. Periods are relative to the data's last day, not the wall clock.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from datetime import date, timedelta
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, create_model

from tools.base import ChartSpec, ToolContext, ToolError, ToolResult, having_people, withheld_notes
from tools.sql import execute

Grain = Literal["none", "day", "week", "month"]
STEPS = ("search", "view", "cart", "remove_from_cart", "fav", "purchase")


class Metric(BaseModel):
    name: str
    description: str
    sql: str
    per_user: str | None = None
    format: Literal["count", "money", "ratio"] = "count"
    synonyms: list[str] = Field(default_factory=list)
    people: str | None = None  # which rows' people the figure is about (see metrics.yaml)


class Dimension(BaseModel):
    name: str
    sql: str
    description: str
    synonyms: list[str] = Field(default_factory=list)

    @property
    def needs_users(self) -> bool:
        return "u." in self.sql


class SemanticModel:
    """Metrics and dimensions from YAML; builds the request schemas and compiles requests to SQL."""

    def __init__(self, definitions: dict[str, Any]) -> None:
        self.metrics = {n: Metric(name=n, **m) for n, m in definitions["metrics"].items()}
        self.dimensions = {n: Dimension(name=n, **d) for n, d in definitions["dimensions"].items()}
        for metric in self.metrics.values():
            self.expression(metric.name)  # fail at load time on a bad {reference}

    @classmethod
    def load(cls, extra: Path | None = None) -> SemanticModel:
        text = resources.files("prompts").joinpath("metrics.yaml").read_text()
        definitions = yaml.safe_load(text)
        if extra is not None:
            user = yaml.safe_load(extra.read_text()) or {}
            for section in ("metrics", "dimensions"):
                definitions[section].update(user.get(section) or {})
        return cls(definitions)

    def expression(self, name: str, seen: tuple[str, ...] = ()) -> str:
        """The metric's SQL with {references} to other metrics expanded."""
        if name in seen:
            raise ValueError(f"metric {name} refers to itself: {' -> '.join(seen + (name,))}")
        metric = self.metrics[name]
        sql = metric.sql
        for other in self.metrics:
            if "{" + other + "}" in sql:
                sql = sql.replace("{" + other + "}", f"({self.expression(other, seen + (name,))})")
        if "{" in sql:
            raise ValueError(f"metric {name} refers to an unknown metric: {sql}")
        return sql

    @cached_property
    def request_model(self) -> type[BaseModel]:
        """The pydantic model of a metric request; its JSON schema constrains the LLM's output."""
        metric_name = Literal[tuple(self.metrics)]  # type: ignore[valid-type]
        dimension_name = Literal[tuple(self.dimensions)]  # type: ignore[valid-type]
        filter_model = create_model(
            "Filter",
            __config__=ConfigDict(extra="forbid"),
            dimension=(dimension_name, ...),
            values=(list[str], Field(min_length=1, max_length=20)),
        )
        return create_model(
            "MetricRequest",
            __config__=ConfigDict(extra="forbid"),
            metric=(metric_name, ...),
            group_by=(list[dimension_name], Field(default_factory=list, max_length=2)),
            filters=(list[filter_model], Field(default_factory=list, max_length=5)),
            last_n_days=(
                int | None,
                Field(default=None, ge=1, le=3660, description="Window ending on the data's last day."),
            ),
            start_date=(date | None, None),
            end_date=(date | None, None),
            grain=(Grain, "none"),
            top_n=(int | None, Field(default=None, ge=1, le=1000, description="Keep the N largest values.")),
        )

    @cached_property
    def compare_model(self) -> type[BaseModel]:
        """A comparison request: a metric over a period and the same-length period before it."""
        fields = self.request_model.model_fields
        return create_model(
            "CompareRequest",
            __config__=ConfigDict(extra="forbid"),
            metric=(fields["metric"].annotation, ...),
            group_by=(fields["group_by"].annotation, Field(default_factory=list, max_length=2)),
            filters=(fields["filters"].annotation, Field(default_factory=list, max_length=5)),
            last_n_days=(int, Field(default=7, ge=1, le=3660, description="Length of each period, in days.")),
            start_date=(date | None, None),
            end_date=(date | None, Field(default=None, description="Last day of the recent period.")),
            top_n=(int | None, Field(default=None, ge=1, le=1000)),
        )


def load_model(ctx: ToolContext) -> SemanticModel:
    if ctx.semantic is None:
        ctx.semantic = SemanticModel.load(ctx.settings.metrics_file)
    return ctx.semantic


def window(args: Any, last_day: date | None) -> tuple[date | None, date | None]:
    """(first day, last day) of the request's period, inclusive; None for an open end."""
    if args.start_date and args.last_n_days and not args.end_date:  # "n days from start"
        return args.start_date, args.start_date + timedelta(days=args.last_n_days - 1)
    end = args.end_date or last_day
    if args.start_date:
        return args.start_date, end
    if args.last_n_days:
        if end is None:
            raise ToolError("the warehouse has no events, so there is no period to look at")
        return end - timedelta(days=args.last_n_days - 1), end
    return None, args.end_date


def _source(model: SemanticModel, dimensions: list[Dimension], filters: list[Any]) -> str:
    """The FROM clause: events, joined to users when a dimension or filter needs the user."""
    needs_users = any(d.needs_users for d in dimensions) or any(
        model.dimensions[f.dimension].needs_users for f in filters
    )
    return "events e LEFT JOIN users u USING (user_id)" if needs_users else "events e"


def _previous(start: date, end: date) -> tuple[date, date]:
    """The same-length period just before [start, end]."""
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def _where(
    ctx: ToolContext, model: SemanticModel, filters: list[Any], start: date | None, end: date | None
) -> list[str]:
    conditions = []
    if start:
        conditions.append(f"e.event_time >= DATE '{start.isoformat()}'")
    if end:
        conditions.append(f"e.event_time < DATE '{(end + timedelta(days=1)).isoformat()}'")
    for item in filters:
        dimension = model.dimensions[item.dimension]
        values = _known_values(ctx, model, dimension, item.values)
        listed = ", ".join("'" + v.lower().replace("'", "''") + "'" for v in values)
        conditions.append(f"lower(CAST({dimension.sql} AS VARCHAR)) IN ({listed})")
    return conditions


def _known_values(
    ctx: ToolContext, model: SemanticModel, dimension: Dimension, values: list[str]
) -> list[str]:
    """The values as the data spells them; an unknown value is an error that names close matches."""
    if dimension.name not in ctx.dimension_values:
        sql = (
            f"SELECT CAST({dimension.sql} AS VARCHAR) AS v, count(*) AS n FROM {_source(model, [dimension], [])}"
            f" WHERE {dimension.sql} IS NOT NULL GROUP BY 1 ORDER BY n DESC LIMIT 5000"
        )
        with ctx.warehouse.engine.connect() as conn:
            known = [r[0] for r in conn.exec_driver_sql(sql).fetchall()]
        ctx.dimension_values[dimension.name] = {v.lower(): v for v in known}  # most common first
    by_lower = ctx.dimension_values[dimension.name]
    known = list(by_lower.values())
    found = []
    for value in values:
        if value.lower() in by_lower:
            found.append(by_lower[value.lower()])
            continue
        exact = _lookup(ctx, model, dimension, value)  # beyond the 5,000 most common (products, users)
        if exact is not None:
            found.append(exact)
            continue
        close = difflib.get_close_matches(value.lower(), list(by_lower), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(by_lower[c]) for c in close)}?" if close else ""
        sample = ", ".join(repr(v) for v in known[:8])
        raise ToolError(f"no {dimension.name} {value!r} in the data{hint} (most common: {sample})")
    return found


def _lookup(ctx: ToolContext, model: SemanticModel, dimension: Dimension, value: str) -> str | None:
    sql = (
        f"SELECT CAST({dimension.sql} AS VARCHAR) FROM {_source(model, [dimension], [])}"
        f" WHERE lower(CAST({dimension.sql} AS VARCHAR)) = lower(?) LIMIT 1"
    )
    with ctx.warehouse.engine.connect() as conn:
        row = conn.exec_driver_sql(sql, (value,)).first()
    return row[0] if row else None


def compile_metric(ctx: ToolContext, model: SemanticModel, args: Any, compare: bool = False) -> str:
    """SQL for a metric request (or, with `compare`, a comparison request)."""
    metric = model.metrics[args.metric]
    dims = [model.dimensions[d] for d in dict.fromkeys(args.group_by)]
    grain = getattr(args, "grain", "none")
    start, end = window(args, ctx.facts.last_day)
    if compare and (start is None or end is None):
        raise ToolError("a comparison needs a period: set last_n_days, or start_date and end_date")

    keys = [f"{d.sql} AS {d.name}" for d in dims]
    key_names = [d.name for d in dims]
    if grain != "none":
        keys.insert(0, f"CAST(date_trunc('{grain}', e.event_time) AS DATE) AS period")
        key_names.insert(0, "period")
    source = _source(model, dims, args.filters)
    min_people = ctx.settings.min_group_size

    def one_period(first: date | None, last: date | None) -> str:
        conditions = _where(ctx, model, args.filters, first, last)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        group = " GROUP BY ALL" if keys else ""
        select_keys = "".join(k + ", " for k in keys)
        only = f" FILTER (WHERE {metric.people})" if metric.people else ""
        if metric.per_user:
            user_where = " WHERE " + " AND ".join([*conditions, "e.user_id IS NOT NULL"])
            inner = f"SELECT e.user_id, {select_keys}{metric.per_user} AS per_user FROM {source}{user_where} GROUP BY ALL"
            outer_keys = "".join(n + ", " for n in key_names)
            having = f" HAVING count(*){only} >= {min_people}" if min_people > 1 else ""
            return f"SELECT {outer_keys}{metric.sql} AS {metric.name} FROM ({inner}) AS per_user_rows{group}{having}"
        # Withhold any figure about fewer than k people: in the SQL itself, so the SQL shown is
        # the SQL that produced the answer.
        return f"SELECT {select_keys}{model.expression(metric.name)} AS {metric.name} FROM {source}{where}{group}{having_people(min_people, only)}"

    if not compare:
        sql = one_period(start, end)
        # A time series runs in time order, unless only the top N periods are asked for.
        by_value = f"{metric.name} DESC NULLS LAST" if key_names else ""
        order = "period" if grain != "none" and not args.top_n else by_value
    else:
        assert start is not None and end is not None
        previous = one_period(*_previous(start, end))
        current = one_period(start, end)
        join = (
            f"FULL JOIN previous USING ({', '.join(key_names)})"
            if key_names
            else "FULL JOIN previous ON true"
        )
        value = f"current.{metric.name}"
        before = f"previous.{metric.name}"
        keys_out = "".join(f"{n}, " for n in key_names)
        sql = (
            f"WITH current AS ({current}), previous AS ({previous}) "
            f"SELECT {keys_out}{value} AS {metric.name}, {before} AS previous, "
            f"{value} - {before} AS change, ({value} - {before}) / nullif(abs({before}), 0) AS change_pct "
            f"FROM current {join}"
        )
        order = "change ASC NULLS LAST" if key_names else ""
    if order:
        sql += f" ORDER BY {order}"
    if args.top_n:
        sql += f" LIMIT {args.top_n}"
    return sql


def query_metric(ctx: ToolContext, args: Any) -> ToolResult:
    """Compute a metric from the metrics layer: in total, by up to two dimensions, filtered, over a
    period, or per day/week/month."""
    return _metric_result(ctx, args, compare=False)


def compare_periods(ctx: ToolContext, args: Any) -> ToolResult:
    """Compare a metric over a period with the same-length period before it, optionally by
    dimension, with the change: for "why did X drop?" and "X this week vs last week"."""
    return _metric_result(ctx, args, compare=True)


def _metric_result(ctx: ToolContext, args: Any, compare: bool) -> ToolResult:
    model = load_model(ctx)
    sql = compile_metric(ctx, model, args, compare)
    columns, rows, truncated, seconds = execute(ctx, sql)
    metric = model.metrics[args.metric]
    grain = getattr(args, "grain", "none")
    chart = None
    if grain != "none":
        chart = ChartSpec(
            kind="line", x="period", y=[metric.name], series=args.group_by[0] if args.group_by else None
        )
    elif args.group_by:
        y = [metric.name, "previous"] if compare else [metric.name]
        chart = ChartSpec(
            kind="bar", x=args.group_by[0], y=y, series=args.group_by[1] if len(args.group_by) > 1 else None
        )
    start, end = window(args, ctx.facts.last_day)
    period = f"{start} to {end}" if start else (f"up to {end}" if end else "all time")
    notes = [f"{metric.name}: {metric.description}", f"period: {period}"]
    if compare:
        assert start is not None and end is not None
        notes.append("previous: {} to {}".format(*_previous(start, end)))
    if chart:
        chart.title = metric.name.replace("_", " ") + (f" by {args.group_by[0]}" if args.group_by else "")
    notes += withheld_notes(ctx.settings.min_group_size)
    withheld = _withheld(ctx, model, args, compare) if not rows and ctx.settings.min_group_size > 1 else None
    return ToolResult(
        tool="compare_periods" if compare else "query_metric",
        arguments=args.model_dump(mode="json"),
        sql=sql,
        columns=columns,
        rows=rows,
        truncated=truncated,
        seconds=seconds,
        chart=chart,
        notes=notes,
        answer=withheld,
    )


def _withheld(ctx: ToolContext, model: SemanticModel, args: Any, compare: bool) -> str | None:
    """Why a result came back empty: withheld (each figure is about a few people) or there is
    nothing at all."""
    unsuppressed = replace(ctx, settings=ctx.settings.with_overrides(min_group_size=1))
    _, rows, _, _ = execute(unsuppressed, compile_metric(unsuppressed, model, args, compare))
    if not rows or not any(rows[0]):  # no one at all: the agent says the data has no rows
        return None
    k = ctx.settings.min_group_size
    return (
        f"Withheld: each figure asked for would describe fewer than {k} people, and the privacy setting "
        f"(SHOPLENS_MIN_GROUP_SIZE = {k}) keeps figures about so few customers out of answers."
    )


def funnel_args_model(model: SemanticModel) -> type[BaseModel]:
    dimension_name = Literal[tuple(model.dimensions)]  # type: ignore[valid-type]
    filter_model = model.request_model.model_fields["filters"].annotation
    return create_model(
        "FunnelRequest",
        __config__=ConfigDict(extra="forbid"),
        steps=(
            list[Literal[STEPS]],
            Field(default_factory=lambda: ["view", "cart", "purchase"], min_length=2, max_length=6),
        ),  # type: ignore[valid-type]
        group_by=(dimension_name | None, None),
        filters=(filter_model, Field(default_factory=list, max_length=5)),
        last_n_days=(int | None, Field(default=None, ge=1, le=3660)),
        start_date=(date | None, None),
        end_date=(date | None, None),
    )


def funnel(ctx: ToolContext, args: Any) -> ToolResult:
    """Sessions reaching each step of a funnel (default view -> cart -> purchase) and the conversion
    between steps, optionally by one dimension."""
    model = load_model(ctx)
    start, end = window(args, ctx.facts.last_day)
    conditions = _where(ctx, model, args.filters, start, end)
    dim = model.dimensions[args.group_by] if args.group_by else None
    source = _source(model, [dim] if dim else [], args.filters)
    counts = ", ".join(
        f"count(DISTINCT e.session_id) FILTER (WHERE e.event_type = '{step}') AS \"{step}\""
        for step in args.steps
    )
    key = f"{dim.sql} AS {dim.name}, " if dim else ""
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    k = ctx.settings.min_group_size
    sql = f"SELECT {key}{counts} FROM {source}{where}" + (" GROUP BY ALL" if dim else "") + having_people(k)
    sql += " ORDER BY 2 DESC" if dim else ""
    columns, rows, truncated, seconds = execute(ctx, sql)
    out_rows = []
    for row in rows:
        group = (row[0],) if dim else ()
        values = row[1:] if dim else row
        first = values[0] or 0
        for i, (step, sessions) in enumerate(zip(args.steps, values, strict=True)):
            previous = values[i - 1] if i else None
            out_rows.append(
                (
                    *group,
                    step,
                    sessions,
                    (sessions / previous) if previous else None,
                    (sessions / first) if first else None,
                )
            )
    out_columns = ([dim.name] if dim else []) + ["step", "sessions", "rate_from_previous", "rate_from_first"]
    return ToolResult(
        tool="funnel",
        arguments=args.model_dump(mode="json"),
        sql=sql,
        columns=out_columns,
        rows=out_rows,
        truncated=truncated,
        seconds=seconds,
        chart=ChartSpec(
            kind="funnel", x="step", y=["sessions"], series=dim.name if dim else None, title="funnel"
        ),
        notes=[f"period: {start} to {end}" if start else "period: all time"] + withheld_notes(k),
    )


class CohortRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grain: Literal["week", "month"] = "week"
    periods: int = Field(default=6, ge=1, le=24, description="How many periods after the first to show.")
    event_type: Literal["any", "purchase"] = Field(default="any", description="What counts as active.")


def cohort_retention(ctx: ToolContext, args: CohortRequest) -> ToolResult:
    """Retention by cohort: users grouped by the week/month of their first event, and the share of
    each cohort active again 1..N periods later."""
    active = "" if args.event_type == "any" else "AND e.event_type = 'purchase'"
    sql = f"""
WITH first AS (
  SELECT user_id, date_trunc('{args.grain}', min(event_time)) AS cohort FROM events
  WHERE user_id IS NOT NULL GROUP BY 1
), activity AS (
  SELECT DISTINCT e.user_id, date_trunc('{args.grain}', e.event_time) AS period FROM events e
  WHERE e.user_id IS NOT NULL {active}
)
SELECT CAST(f.cohort AS DATE) AS cohort, date_diff('{args.grain}', f.cohort, a.period) AS k,
       count(DISTINCT a.user_id) AS users
FROM first f JOIN activity a USING (user_id)
WHERE date_diff('{args.grain}', f.cohort, a.period) BETWEEN 0 AND {args.periods}
GROUP BY ALL ORDER BY 1, 2"""
    _, rows, _, seconds = execute(ctx, sql, max_rows=100_000)
    sizes = {}
    by_cohort: dict[Any, dict[int, int]] = {}
    for cohort, k, users in rows:
        by_cohort.setdefault(cohort, {})[k] = users
    for cohort, ks in by_cohort.items():
        sizes[cohort] = ks.get(0, 0)
    columns = ["cohort", "users"] + [f"{args.grain}_{k}" for k in range(1, args.periods + 1)]
    out = []
    k = ctx.settings.min_group_size
    for cohort in sorted(by_cohort):
        size = sizes[cohort]
        if size < k:
            continue
        out.append(
            (
                cohort,
                size,
                *[(by_cohort[cohort].get(k, 0) / size) if size else None for k in range(1, args.periods + 1)],
            )
        )
    return ToolResult(
        tool="cohort_retention",
        arguments=args.model_dump(mode="json"),
        sql=sql.strip(),
        columns=columns,
        rows=out,
        seconds=seconds,
        chart=ChartSpec(
            kind="heatmap", x="cohort", y=columns[2:], title=f"retention by {args.grain}ly cohort"
        ),
        notes=[
            f"share of each cohort active again {args.grain} 1..{args.periods} after its first {args.grain}"
        ]
        + withheld_notes(k),
    )
