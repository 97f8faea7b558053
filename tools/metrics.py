"""`query_metric`, `compare_periods`, `funnel`, `cohort_retention`: the metrics layer, compiled to SQL.

The metrics and dimensions live in `prompts/metrics.yaml` (plus an optional user file, see
`Settings.metrics_file`). A request is a typed behavioral query: a metric, and optionally
- who counts: entities (users, sessions, products, orders) that `did` some events, at least /
  at most n times, and `did_not` others ("users who added to cart but never bought");
- a share of such entities among a base ("sessions with a cart that also had a purchase");
- the metric per entity first, then a statistic over the entities ("most events by one user",
  "average spend per customer", "orders per customer" as a distribution);
- a ratio of two metrics ("favorites to carts");
- dimensions (including hour of day and weekday), filters, a time grain, a typed period, top N.
The compiler turns it into one SQL query, deterministically, so a small model only fills in a
form; code writes what was computed (`interpret`) and the sentence about the result
(`summarize`). Periods are relative to the data's last day, not the wall clock (tools/periods.py).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator
from pydantic.json_schema import SkipJsonSchema

from tools import clock, narrate
from tools.base import (
    ChartSpec,
    DataFacts,
    InChinese,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    UnknownEntity,
    UnknownValue,
    having_people,
    person,
    withheld_notes,
)
from tools.language import english_words
from tools.periods import Period, PeriodError, add_months, describe, previous, resolve, spine_sql
from tools.sql import execute

Grain = Literal["none", "hour", "day", "week", "month", "quarter", "year"]
# Accepted in group_by and moved to the grain: the grammar must not push "by month" onto the
# nearest dimension ("hour" is already a dimension: the hour of the day).
TimeGroup = Literal["day", "week", "month", "quarter", "year"]
EventType = Literal["view", "cart", "remove_from_cart", "purchase", "fav", "search"]
Entity = Literal["user", "session", "product", "order", "category", "brand", "day", "week", "month"]
Stat = Literal["average", "median", "max", "min", "total", "distribution", "count"]
STEPS = ("search", "view", "cart", "remove_from_cart", "fav", "purchase")

# What identifies one entity in an event row.
ENTITY_KEYS = {
    "user": "e.user_id",
    "session": "e.session_id",
    "product": "e.product_id",
    "order": "e.order_id",
    "category": "e.category",
    "brand": "e.brand",
    "day": "CAST(e.event_time AS DATE)",
    "week": "CAST(date_trunc('week', e.event_time) AS DATE)",
    "month": "CAST(date_trunc('month', e.event_time) AS DATE)",
}
# The column that names one entity in a result ("user" is reserved in PostgreSQL).
ENTITY_COLUMNS = {
    "user": "user_id",
    "session": "session_id",
    "product": "product_id",
    "order": "order_id",
    "category": "category",
    "brand": "brand",
    "day": "day",
    "week": "week",
    "month": "month",
}
# Dimensions whose values are identifiers: no "did you mean" for them.
ID_DIMENSIONS = frozenset({"product", "user_id", "session_id", "order_id"})
# Entities that are people (or a person's visit): figures about one of them are about a customer.
PERSONAL = ("user", "session")
# How an event reads in a sentence: "users who added to cart", "never purchased".
EVENT_VERBS = {
    "view": "viewed a product",
    "cart": "added to cart",
    "remove_from_cart": "removed from cart",
    "purchase": "purchased",
    "fav": "added to favorites",
    "search": "searched",
}
EVENT_NOUNS = {
    "view": "a view",
    "cart": "a cart",
    "remove_from_cart": "a removal from cart",
    "purchase": "a purchase",
    "fav": "a favorite",
    "search": "a search",
}
EVENT_KINDS = {
    "view": "product view",
    "cart": "add-to-cart",
    "remove_from_cart": "remove-from-cart",
    "purchase": "purchase",
    "fav": "favorite",
    "search": "search",
}
STAT_NAMES = {
    "average": "average",
    "median": "median",
    "max": "maximum",
    "min": "minimum",
    "total": "total",
    "count": "number of",
}
STAT_SQL = {"average": "avg", "median": "median", "max": "max", "min": "min", "total": "sum"}


class Chinese(BaseModel):
    """A metric's or dimension's name (and a metric's definition) in Chinese."""

    label: str
    description: str | None = None


class Metric(BaseModel):
    name: str
    description: str
    zh: Chinese | None = None
    sql: str
    per_user: str | None = None
    format: Literal["count", "money", "ratio", "number"] = "count"
    synonyms: list[str] = Field(default_factory=list)
    people: str | None = None  # which rows' people the figure is about (see metrics.yaml)
    # With per: whether a statistic is over the entities with those rows only (spend per customer
    # is over buyers) or over every entity in scope, its zero included (carts per user).
    averaged_over: Literal["people", "all"] = "people"
    counts: Entity | None = None  # the entity the metric counts (users, sessions …), if any
    unit: str | None = None  # how a value reads after its figure: "minutes"
    # Not listed to the model: code picks it (the same measure in another unit, tools/evidence.py).
    hidden: bool = False
    said_as: str | None = None  # how sentences name it, where its name does not read well

    @property
    def label(self) -> str:
        return self.said_as or self.name.replace("_", " ")

    @property
    def zero_when_empty(self) -> bool:
        """A count or a sum: a period without events has the value 0 (a rate has none)."""
        sql = self.sql.strip().lower()
        return (
            self.per_user is None
            and self.format in ("count", "money")
            and sql.startswith(("count(", "sum("))
            and "{" not in sql
            and "/" not in sql
        )


class Dimension(BaseModel):
    name: str
    sql: str
    description: str
    zh: Chinese | None = None
    synonyms: list[str] = Field(default_factory=list)
    # "contains": a filter value matches as part of the text (product names), not the whole;
    # "range": a filter value is a numeric bound ("<1", ">=100", "10-50").
    match: Literal["exact", "contains", "range"] = "exact"

    @property
    def needs_users(self) -> bool:
        return "u." in self.sql

    @property
    def needs_products(self) -> bool:
        return "p." in self.sql

    @property
    def needs_orders(self) -> bool:
        return re.search(r"\bo\.", self.sql) is not None


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

    def events_of(self, name: str) -> set[str]:
        """The event types the metric's SQL counts or sums over ({'purchase'} for revenue)."""
        return set(re.findall(r"event_type = '(\w+)'", self.expression(name)))

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

    def _fields(self, period_default: Period) -> dict[str, Any]:
        """The request's fields, in the order the model writes them."""
        metric_name = Literal[tuple(self.metrics)]  # type: ignore[valid-type]
        dimension_name = Literal[tuple(self.dimensions)]  # type: ignore[valid-type]
        filters = list[_filter_model(dimension_name)]  # type: ignore[misc]
        return {
            "metric": (metric_name, ...),
            **_behavior_fields(filters),
            **_per_entity_fields(),
            "divided_by": (metric_name | None, Field(default=None, description="A ratio: metric / this.")),
            "also": (
                list[metric_name],
                Field(default_factory=list, max_length=3, description="More metrics in the same rows."),
            ),
            "group_by": (list[dimension_name | TimeGroup], Field(default_factory=list, max_length=2)),
            "grain": (Grain, "none"),
            "filters": (filters, Field(default_factory=list, max_length=5)),
            "period": (Period, Field(default_factory=lambda: period_default.model_copy())),
            "top_n": (int | None, Field(default=None, ge=1, le=1000, description="Keep the N first.")),
            "sort": (Literal["highest", "lowest"], Field(default="highest", description="Which come first.")),
            "together": (
                bool,
                Field(
                    default=False, description="With share and top_n: the top N rows' share taken together."
                ),
            ),
            # Code's, not the model's (tools/evidence.py sets it from a zone the question names).
            "time_zone": (SkipJsonSchema[Literal[tuple(sorted(clock.known_zones()))] | None], None),  # type: ignore[misc]
        }

    @cached_property
    def request_model(self) -> type[BaseModel]:
        """The pydantic model of a metric request; its JSON schema constrains the LLM's output."""
        return create_model(
            "MetricRequest",
            __config__=ConfigDict(extra="forbid"),
            __validators__={"time_group": model_validator(mode="before")(_time_group_as_grain)},
            **self._fields(Period()),
        )

    @cached_property
    def compare_model(self) -> type[BaseModel]:
        """A comparison request: a metric over a period and the period before it (by default the
        last full week against the week before)."""
        fields = self._fields(Period(kind="last_week"))
        fields.pop("grain")
        fields.pop("together")
        return create_model(
            "CompareRequest",
            __config__=ConfigDict(extra="forbid"),
            __validators__={"time_group": model_validator(mode="before")(_time_group_as_grain)},
            **fields,
        )


def _filter_model(dimension_name: Any) -> type[BaseModel]:
    """A filter of a request: a dimension and its values (or everything but them)."""
    return create_model(
        "Filter",
        __config__=ConfigDict(extra="forbid"),
        dimension=(dimension_name, ...),
        values=(list[str], Field(min_length=1, max_length=20)),
        exclude=(
            bool,
            Field(
                default=False,
                description="Everything but these values ('outside the UK', 'excluding apple').",
            ),
        ),
        # Code's, not the model's (tools/evidence.py sets it from "the UK vs the rest"): no filter,
        # but a breakdown into these values and everything else.
        against_rest=(SkipJsonSchema[bool], False),
    )


def _behavior_fields(filters: Any) -> dict[str, Any]:
    """The fields of a share and of conditions on what entities did (and how often)."""
    events = list[EventType]  # type: ignore[valid-type]
    kinds = len(get_args(EventType))  # "sessions that viewed, faved, carted and bought": all may be named
    return {
        "share": (
            bool,
            Field(
                default=False,
                description="A share: of the entities meeting the conditions, or of the metric's total.",
            ),
        ),
        "among": (
            events,
            Field(default_factory=list, max_length=kinds, description="The base of the share."),
        ),
        "did": (
            events,
            Field(default_factory=list, max_length=kinds, description="Only entities that did each."),
        ),
        "did_not": (
            events,
            Field(default_factory=list, max_length=kinds, description="…and never did these."),
        ),
        "did_where": (
            filters,
            Field(default_factory=list, max_length=3, description="did counts only events matching these."),
        ),
        "did_not_where": (
            filters,
            Field(
                default_factory=list,
                max_length=3,
                description="did_not looks only at events matching these ('bought A but never B').",
            ),
        ),
        "min_times": (int | None, Field(default=None, ge=1, le=100_000, description="…the first of did.")),
        "max_times": (int | None, Field(default=None, ge=0, le=100_000)),
    }


def _per_entity_fields() -> dict[str, Any]:
    """The fields of a statistic over one figure per entity."""
    return {
        "per": (Entity | None, Field(default=None, description="Compute the metric for each one first.")),
        "stat": (Stat, Field(default="average", description="With per: what to take over them.")),
        "min_value": (
            float | None,
            Field(default=None, description="With per: only entities whose figure is at least this."),
        ),
        "max_value": (
            float | None,
            Field(default=None, description="With per: only entities whose figure is at most this."),
        ),
    }


def _time_group_as_grain(cls: type[BaseModel], data: Any) -> Any:
    """A time word in group_by ("by month" written as "group_by": ["month"], as the model writes it
    unconstrained) is the request's grain; a comparison has its two periods already, so none."""
    if not isinstance(data, dict) or not isinstance(data.get("group_by"), list):
        return data
    times = [g for g in data["group_by"] if g in get_args(TimeGroup)]
    if not times:
        return data
    moved = {**data, "group_by": [g for g in data["group_by"] if g not in times]}
    if "grain" in cls.model_fields and data.get("grain") in (None, "none"):
        moved["grain"] = times[0]
    return moved


def load_model(ctx: ToolContext) -> SemanticModel:
    if ctx.semantic is None:
        ctx.semantic = SemanticModel.load(ctx.settings.metrics_file)
    return ctx.semantic


def window(period: Period, facts: DataFacts) -> tuple[date | None, date | None]:
    """(first day, last day) of a request's period, inclusive; None for an open end."""
    try:
        return resolve(period, facts.first_day, facts.last_day)
    except PeriodError as exc:
        raise ToolError(str(exc)) from None


def within_data(start: date | None, end: date | None, facts: DataFacts) -> None:
    """A period wholly before or after the data is declined: "revenue in 2015" on data from 2019
    has no answer, and a 0 would read as one."""
    first, last = facts.first_day, facts.last_day
    if first is None or last is None:
        return
    if (start is not None and start > last) or (end is not None and end < first):
        span = f"{start} to {end}" if start and end else (f"from {start}" if start else f"up to {end}")
        raise DataLacks(f"The data runs from {first} to {last}: the period asked for ({span}) is outside it.")


class DataLacks(ToolError):
    """The data has no values for what the request needs (a device filter on data without
    devices): the answer is that the data cannot say, not a retry. `subject` names what is
    lacking, (kind, name) with kind dimension / metric / event, so the agent can tell a question
    that asks for it from a call that brought it in unasked."""

    def __init__(
        self, message: str, subject: tuple[str, str] | None = None, alike: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.subject = subject
        # Others of its kind the data lacks for the same reason (every money metric on data
        # without prices): a retry told of one only had picked the next (aov, then revenue).
        self.alike = alike


def _source(
    model: SemanticModel, dimensions: list[Dimension], filters: list[Any], metrics: Sequence[str] = ()
) -> str:
    """The FROM clause: events, joined to users, products or orders when a dimension, filter or
    metric needs them."""
    used = [*dimensions, *(model.dimensions[f.dimension] for f in filters)]
    expressions = [model.expression(m) for m in metrics if m]
    if any(re.search(r"\bo\.", sql) for sql in expressions):
        used.append(Dimension(name="orders", sql="o.order_id", description=""))
    source = "events e"
    # A metric on whole sessions ("sessions with a cart that also bought") reads the sessions view.
    if any(re.search(r"\bs\.", sql) for sql in expressions):
        source += " LEFT JOIN sessions s ON s.session_id = e.session_id"
    if any(d.needs_users for d in used):
        source += " LEFT JOIN users u ON u.user_id = e.user_id"
    if any(d.needs_products for d in used):
        source += " LEFT JOIN products p ON p.product_id = e.product_id"
    if any(d.needs_orders for d in used):
        source += " LEFT JOIN orders o ON o.order_id = e.order_id"
    return source


def _where(
    ctx: ToolContext, model: SemanticModel, filters: list[Any], start: date | None, end: date | None
) -> list[str]:
    conditions = []
    if start:
        conditions.append(f"e.event_time >= DATE '{start.isoformat()}'")
    if end:
        conditions.append(f"e.event_time < DATE '{(end + timedelta(days=1)).isoformat()}'")
    for item in filters:
        if getattr(item, "against_rest", False):  # a breakdown (_split), not a filter
            continue
        dimension = model.dimensions[item.dimension]
        if dimension.match == "contains":
            parts = [_contained_part(ctx, model, dimension, v) for v in item.values]
            condition = (
                "("
                + " OR ".join(f"lower({dimension.sql}) LIKE '%{_like(v)}%' ESCAPE '\\'" for v in parts)
                + ")"
            )
        elif dimension.match == "range":
            condition = "(" + " OR ".join(bound_sql(dimension, v) for v in item.values) + ")"
        else:
            values = _known_values(ctx, model, dimension, item.values)
            listed = ", ".join("'" + v.lower().replace("'", "''") + "'" for v in values)
            condition = f"lower(CAST({dimension.sql} AS VARCHAR)) IN ({listed})"
        # Everything but: rows without a value are not "outside the UK" either, so they stay out.
        conditions.append(f"NOT {condition}" if item.exclude else condition)
    return conditions


BOUND = re.compile(
    r"^\s*(?:(?P<op><=|>=|<|>|=)?\s*(?P<x>-?\d+(?:\.\d+)?)|(?P<lo>-?\d+(?:\.\d+)?)\s*(?:-|to|\.\.)\s*(?P<hi>-?\d+(?:\.\d+)?))\s*$"
)
BOUND_WORDS = {"<": "under", "<=": "at most", ">": "over", ">=": "at least", "=": "exactly"}


# A bound in words, as a model copies it from the question or its gloss ("500 or more").
WORDED_BOUNDS = [
    (re.compile(r"^\s*(?:at least|no less than|not less than|from)\s+(?P<x>\S+)\s*$"), ">="),
    (re.compile(r"^\s*(?P<x>\S+?)\s*(?:\+|or more|or above|or over|and above|and up|and more)\s*$"), ">="),
    (re.compile(r"^\s*(?:at most|no more than|not more than|up to)\s+(?P<x>\S+)\s*$"), "<="),
    (re.compile(r"^\s*(?P<x>\S+?)\s+(?:or less|or below|or under|and below|and under)\s*$"), "<="),
    (re.compile(r"^\s*(?:more than|over|above|greater than)\s+(?P<x>\S+)\s*$"), ">"),
    (re.compile(r"^\s*(?:less than|fewer than|under|below)\s+(?P<x>\S+)\s*$"), "<"),
]


def parse_bound(value: str) -> tuple[str, float] | tuple[float, float] | None:
    """("<", 1.0) for "<1" or "under 1", (10.0, 50.0) for "10-50" or "between 10 and 50",
    (">=", 500.0) for "500 or more", ("=", 0.0) for a bare "0"; currency signs and commas are
    ignored."""
    value = re.sub(r"[$£€¥,]", "", value).strip().lower()
    value = re.sub(r"^between\s+(\S+)\s+and\s+(\S+)$", r"\1-\2", value)
    for pattern, op in WORDED_BOUNDS:
        if worded := pattern.match(value):
            value = op + worded["x"]
            break
    match = BOUND.match(value)
    if match is None:
        return None
    if match.group("x") is not None:
        return match.group("op") or "=", float(match.group("x"))
    return float(match.group("lo")), float(match.group("hi"))


def bound_sql(dimension: Dimension, value: str) -> str:
    bound = parse_bound(value)
    if bound is None:
        raise ToolError(f"{dimension.name} filters are bounds like '<1', '>=100' or '10-50', not {value!r}")
    first, second = bound
    if isinstance(first, str):
        return f"{dimension.sql} {first} {second!r}"
    return f"{dimension.sql} BETWEEN {min(first, second)!r} AND {max(first, second)!r}"


def bound_text(value: str) -> str:
    """'under 1', 'between 10 and 50'."""
    bound = parse_bound(value)
    if bound is None:
        return value
    first, second = bound
    if isinstance(first, str):
        return f"{BOUND_WORDS[first]} {second:g}"
    return f"between {first:g} and {second:g}"


def dimension_values(ctx: ToolContext, model: SemanticModel, dimension: Dimension) -> dict[str, str]:
    """The dimension's most common values (up to 5,000), lower-cased to as the data spells them."""
    if dimension.name not in ctx.dimension_values:
        sql = (
            f"SELECT CAST({dimension.sql} AS VARCHAR) AS v, count(*) AS n FROM {_source(model, [dimension], [])}"
            f" WHERE {dimension.sql} IS NOT NULL GROUP BY 1 ORDER BY n DESC LIMIT 5000"
        )
        known = [r[0] for r in ctx.rows(sql)]
        ctx.dimension_values[dimension.name] = {v.lower(): v for v in known}  # most common first
    return ctx.dimension_values[dimension.name]


def has_values(ctx: ToolContext, model: SemanticModel, dimension: Dimension) -> bool:
    """Whether the data has values to group or filter by: any, and for the hour more than one
    (every event at one hour is dates without times: CDNOW's midnight)."""
    values = dimension_values(ctx, model, dimension)
    return len(values) > 1 if dimension.name == "hour" else bool(values)


def require_values(ctx: ToolContext, model: SemanticModel, dimension: Dimension) -> None:
    """A dimension the data has no values for cannot group or filter anything: say so plainly.
    Nor can the hour where every event has the same one: dates without times (CDNOW's orders are
    all at midnight, and "hour 0" was answered as the busiest)."""
    if has_values(ctx, model, dimension):
        return
    if dimension.name == "hour":
        raise DataLacks(
            "The data records dates only, not times of day, so nothing can be broken down or filtered by hour.",
            ("dimension", "hour"),
        )
    has = [
        d.name for d in model.dimensions.values() if d.name != dimension.name and has_values(ctx, model, d)
    ]
    raise DataLacks(
        f"The data has no {dimension.name} information, so nothing can be broken down or filtered "
        f"by {dimension.name}. It does have: {', '.join(has)}.",
        ("dimension", dimension.name),
    )


def price_bands(ctx: ToolContext, bounds: list[str] | None = None) -> str | None:
    """SQL for the event's price band: four bands cut near the quartiles of the prices in the
    data, at round numbers so they read as an analyst would write them (under 10, 10-25, ...).
    None when the data has no prices (or too few to band). With `bounds` ("<1", "1-5", ">=5"),
    the bands are those, in that order."""
    if bounds and len(bounds) >= 2:
        price = Dimension(name="price", sql="e.price", description="")
        given = " ".join(f"WHEN {bound_sql(price, b)} THEN '{bound_text(b)}'" for b in bounds)
        return f"CASE {given} END"
    [(cuts,)] = ctx.cached(  # one scan per warehouse, not one per use
        "price_quartiles",
        lambda: ctx.rows("SELECT quantile_cont(price, [0.25, 0.5, 0.75]) FROM events WHERE price > 0"),
    )
    edges = sorted({round_number(c) for c in cuts or [] if c})
    if len(edges) < 2:
        return None
    labels = [f"under {edges[0]:g}"] + [f"{a:g}-{b:g}" for a, b in zip(edges, edges[1:], strict=False)]
    labels.append(f"{edges[-1]:g} and over")
    cases = " ".join(
        f"WHEN e.price < {edge!r} THEN '{label}'" for edge, label in zip(edges, labels, strict=False)
    )
    return f"CASE WHEN e.price IS NULL OR e.price <= 0 THEN NULL {cases} ELSE '{labels[-1]}' END"


def round_number(value: float) -> float:
    """The nearest of 1, 2, 2.5, 5 times a power of ten: a price band's edge."""
    power = 10 ** math.floor(math.log10(value))
    return min((m * power for m in (1, 2, 2.5, 5, 10)), key=lambda edge: abs(edge - value))


# How a breakdown reads where its name alone would mislead ("by price" is by price band).
GROUP_NAMES = {
    "price": "price band",
    "order_kind": "first or repeat order",
    "cohort": "cohort (the month of the customer's first activity)",
}


def _banded(ctx: ToolContext, price: Dimension, filters: list[Any]) -> Dimension:
    """Prices grouped into bands: the bounds the price filter gives ("under 1, 1-5, 5 and
    over"), else four bands near the quartiles."""
    bounds = [v for f in filters if f.dimension == "price" and not f.exclude for v in f.values]
    sql = price_bands(ctx, bounds)
    if sql is None:
        raise DataLacks("The data has no prices to group into price bands.", ("dimension", "price"))
    return price.model_copy(update={"sql": sql})


def _split(ctx: ToolContext, model: SemanticModel, dimension: Dimension, filters: list[Any]) -> Dimension:
    """ "The UK against the rest": two rows, the values asked for and every other value (rows
    without a value are in neither)."""
    split = [f for f in filters if f.dimension == dimension.name and getattr(f, "against_rest", False)]
    if not split:
        return dimension
    values = _known_values(ctx, model, dimension, split[0].values)
    [condition] = _where(ctx, model, [split[0].model_copy(update={"against_rest": False})], None, None)
    named = values_text(dimension.name, values).replace("'", "''")
    rest = f"other than {named}"
    if dimension.name == "hour":  # "before noon vs noon or later": the other hours, by their span
        others = values_text("hour", [str(h) for h in range(24) if str(h) not in values])
        rest = others if ":" in others else "the rest of the day"
    sql = f"CASE WHEN {dimension.sql} IS NULL THEN NULL WHEN {condition} THEN '{named}' ELSE '{rest}' END"
    return dimension.model_copy(update={"sql": sql})


def has_prices(ctx: ToolContext) -> bool:
    """Whether any event has a price (Taobao and Instacart have none)."""
    return ctx.cached(
        "has_prices", lambda: bool(ctx.rows("SELECT 1 FROM events WHERE price IS NOT NULL LIMIT 1"))
    )


# Dimensions whose values are fixed by the calendar, not by the data.
CYCLE_VALUES = {
    "hour": [str(h) for h in range(24)],
    "weekday": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}


def _known_values(
    ctx: ToolContext, model: SemanticModel, dimension: Dimension, values: list[str]
) -> list[str]:
    """The values as the data spells them; an unknown value is an error that names close matches."""
    if dimension.name in CYCLE_VALUES:  # every hour is an hour, with events in it or not
        if dimension.name == "hour":
            require_values(ctx, model, dimension)
        cycle = {v.lower(): v for v in CYCLE_VALUES[dimension.name]}
        unknown = [v for v in values if v.lower() not in cycle]
        if unknown:
            raise ToolError(
                f"no {dimension.name} {unknown[0]!r}: its values are {', '.join(CYCLE_VALUES[dimension.name])}"
            )
        return [cycle[v.lower()] for v in values]
    require_values(ctx, model, dimension)
    by_lower = dimension_values(ctx, model, dimension)
    known = list(by_lower.values())
    found = []
    for value in values:
        if value.lower() in by_lower:
            found.append(by_lower[value.lower()])
            continue
        alias = alias_value(dimension.name, value, by_lower)
        if alias is not None:
            found.append(by_lower[alias])
            continue
        english = next((w for w in english_words(value) if w in by_lower), None)  # "电子产品"
        if english is not None:
            found.append(by_lower[english])
            continue
        exact = _lookup(ctx, model, dimension, value)  # beyond the 5,000 most common (products, users)
        if exact is not None:
            found.append(exact)
            continue
        if dimension.name == "event_type":
            # An event the data does not record ("cancel", "follow", "shipping") is a concept it
            # lacks, not a near miss to retry.
            raise _events_lacking([value], ctx.facts.event_types)
        sample = ", ".join(repr(v) for v in known[:8])
        if dimension.name in ID_DIMENSIONS:  # '999' is not a near miss of '999999': ids are not words
            raise UnknownEntity(
                f"there is no {dimension.name} {value!r} in the data (ids look like {sample})",
                value,
                f"The data has no {dimension.name} {value!r}; its ids look like {sample}.",
            )
        lack = f"The data has no {dimension.name} {value!r}; the most common are {sample}."
        close = difflib.get_close_matches(value.lower(), list(by_lower), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(by_lower[c]) for c in close)}?" if close else ""
        raise UnknownValue(
            f"no {dimension.name} {value!r} in the data{hint} (most common: {sample})", value, lack
        )
    return found


# Names people use for values the data spells otherwise ("UK" for "United Kingdom"; Online
# Retail writes "USA" and "EIRE"), each with the spellings it may have in the data.
VALUE_ALIASES = {
    "country": {
        "uk": ("united kingdom",),
        "u.k.": ("united kingdom",),
        "britain": ("united kingdom",),
        "great britain": ("united kingdom",),
        "gb": ("united kingdom",),
        "us": ("united states", "usa"),
        "u.s.": ("united states", "usa"),
        "usa": ("united states", "usa"),
        "america": ("united states", "usa"),
        "united states": ("united states", "usa"),
        "ireland": ("ireland", "eire"),
        "south africa": ("south africa", "rsa"),
        "holland": ("netherlands",),
        # Customers named by their nationality ("our French customers"); not words with another
        # common meaning ("English" titles, to "polish").
        "french": ("france",),
        "german": ("germany",),
        "british": ("united kingdom",),
        "spanish": ("spain",),
        "dutch": ("netherlands",),
        "italian": ("italy",),
        "irish": ("ireland", "eire"),
        "belgian": ("belgium",),
        "swiss": ("switzerland",),
        "portuguese": ("portugal",),
        "norwegian": ("norway",),
        "swedish": ("sweden",),
        "danish": ("denmark",),
        "finnish": ("finland",),
        "austrian": ("austria",),
        "australian": ("australia",),
        "japanese": ("japan",),
        "american": ("united states", "usa"),
        "canadian": ("canada",),
        "cypriot": ("cyprus",),
        "lithuanian": ("lithuania",),
        "icelandic": ("iceland",),
    },
    "latest_order": {"most recent": ("latest",), "last": ("latest",), "newest": ("latest",)},
    "order_number": {
        "first": ("1",),
        "1st": ("1",),
        "second": ("2",),
        "2nd": ("2",),
        "third": ("3",),
        "3rd": ("3",),
        "fourth": ("4",),
        "4th": ("4",),
        "fifth": ("5",),
        "5th": ("5",),
    },
}


def alias_value(dimension: str, value: str, by_lower: dict[str, str]) -> str | None:
    """The data's own (lower-case) spelling of a value named by an alias, or None."""
    for target in VALUE_ALIASES.get(dimension, {}).get(value.lower().strip(), ()):
        if target in by_lower:
            return target
    return None


def _like(value: str) -> str:
    """A LIKE pattern's literal part: quotes doubled, wildcards escaped."""
    return value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("'", "''")


def _contained_part(ctx: ToolContext, model: SemanticModel, dimension: Dimension, value: str) -> str:
    """The words as some product's name or path contains them ("smartphones" as "smartphone"),
    or an error: a filter that matches nothing is a misread, not a figure of 0."""
    require_values(ctx, model, dimension)
    named = [value.lower().strip(), *english_words(value)]  # "耳机" as "headphone"
    for candidate in dict.fromkeys(c for name in named for c in (name, re.sub(r"(es|s)$", "", name))):
        found = f"SELECT 1 FROM products p WHERE lower({dimension.sql}) LIKE '%{_like(candidate)}%' ESCAPE '\\' LIMIT 1"
        if len(candidate) >= 3 and ctx.rows(found):
            return candidate
    sample = ", ".join(repr(t) for t in list(dimension_values(ctx, model, dimension).values())[:3])
    raise UnknownValue(
        f"no product's name or category path contains {value!r} (for example: {sample})",
        value,
        f"No product's name or category path in the data contains {value!r}; for example: {sample}.",
    )


def _lookup(ctx: ToolContext, model: SemanticModel, dimension: Dimension, value: str) -> str | None:
    sql = (
        f"SELECT CAST({dimension.sql} AS VARCHAR) FROM {_source(model, [dimension], [])}"
        f" WHERE lower(CAST({dimension.sql} AS VARCHAR)) = lower($value) LIMIT 1"
    )
    rows = ctx.rows(sql, value=value)
    return rows[0][0] if rows else None


# --- what a request means ----------------------------------------------------------------


def entity_of(model: SemanticModel, args: Any) -> str:
    """Whose behavior the conditions (did, did_not, times, share) are about."""
    return args.per or model.metrics[args.metric].counts or "user"


def _conditional(args: Any) -> bool:
    return bool(args.did or args.did_not or args.min_times or args.max_times is not None)


def of_total(model: SemanticModel, args: Any) -> bool:
    """A share of the metric's total ("share of revenue from electronics", "revenue share by
    brand"), not a share of entities meeting conditions ("share of sessions with a purchase")."""
    return bool(args.share) and not (_conditional(args) and model.metrics[args.metric].counts)


# A bound on the days since the previous order leaves out first orders, which have none: a share
# of orders so bounded ("share of orders placed within 7 days of the previous one") is of the
# orders that have a previous order, as a reader means it.
SHARE_BASES = {
    "days_since_previous_order": ("o.days_since_previous_order IS NOT NULL", "with a previous order")
}


def share_base(args: Any) -> list[str]:
    """The dimensions among the filters of a single-figure share of a total that narrow its base too."""
    if args.group_by:
        return []
    return list(dict.fromkeys(f.dimension for f in filtering(args.filters) if f.dimension in SHARE_BASES))


def value_name(model: SemanticModel, args: Any) -> str:
    """The result column that holds the figure asked for."""
    if args.share:
        return "share"
    if args.per:
        entity = entity_of(model, args)
        if args.stat == "distribution":
            return f"{args.metric}_per_{entity}"
        if args.stat == "count":
            return f"{entity}s_by_{args.metric}"
        return f"{args.stat}_{args.metric}_per_{entity}"
    if args.divided_by:
        return f"{args.metric}_to_{args.divided_by}"
    return args.metric


def value_format(model: SemanticModel, args: Any) -> narrate.Format:
    if args.share:
        return "ratio"
    if args.divided_by:
        return "number"
    metric = model.metrics[args.metric]
    if args.per and args.stat == "count":
        return "count"
    if args.per and args.stat in ("average", "median") and metric.format == "count":
        return "number"
    return metric.format


def check_request(model: SemanticModel, args: Any) -> None:
    """Combinations the compiler cannot give a meaning to, as errors the model can fix."""
    _check_metrics_and_groups(model, args)
    _check_per_and_share(model, args)
    _check_conditions_and_ranking(model, args)


def _check_metrics_and_groups(model: SemanticModel, args: Any) -> None:
    metric = model.metrics[args.metric]
    if metric.per_user and (args.per or args.share or args.divided_by or _conditional(args)):
        raise ToolError(
            f"{metric.name} is already computed per user; use a plain metric (orders, revenue, events …) "
            "with per, share or conditions"
        )
    if args.divided_by and model.metrics[args.divided_by].per_user:
        raise ToolError(f"{args.divided_by} cannot be a divisor: it is computed per user")
    for name in args.group_by:
        if model.dimensions[name].match == "contains":
            raise ToolError(
                f"{name} is for filters (words a product's name contains): group by product or category"
            )
        if model.dimensions[name].match == "range" and name != "price":
            raise ToolError(f"{name} is for filters, as bounds like '<1', '>=100' or '10-50'")
    if args.also:
        if args.per or args.share or args.divided_by:
            raise ToolError("also adds plain metrics beside the first: not with per, share or divided_by")
        for name in args.also:
            if model.metrics[name].per_user or metric.per_user:
                raise ToolError(
                    f"{name if model.metrics[name].per_user else metric.name} cannot go with also"
                )


def _check_per_and_share(model: SemanticModel, args: Any) -> None:
    metric = model.metrics[args.metric]
    if args.per and args.share:
        raise ToolError("use per (a figure for each entity) or share (a share of entities), not both")
    if not args.per and (args.min_value is not None or args.max_value is not None):
        raise ToolError(
            "min_value and max_value bound each entity's figure: set per (user, product, order …)"
        )
    if not args.per and args.stat == "count":
        raise ToolError("stat count counts entities by their figure: set per (user, product, order …)")
    if not args.per and args.stat not in ("average", "total"):
        raise ToolError(
            f"stat {args.stat} is taken over entities: set per (order for 'the biggest order', user, session …)"
        )
    if of_total(model, args):
        if not metric.zero_when_empty:
            raise ToolError(
                f"{metric.name} does not add up, so it has no total to take a share of: use a count or a sum"
                " (orders, revenue, units_sold …)"
            )
        if not (
            _conditional(args) or args.filters or args.group_by or getattr(args, "grain", "none") != "none"
        ):
            raise ToolError(
                "a share needs a part: conditions (did, did_not, min_times), filters, or a group_by"
                " whose rows are each a share of the total"
            )
        if args.divided_by:
            raise ToolError(
                "use share (a part of the total) or divided_by (a ratio of two metrics), not both"
            )
        if args.among:
            raise ToolError(
                "among is the base of a share of entities; a share of the total has the total as base"
            )


def _check_conditions_and_ranking(model: SemanticModel, args: Any) -> None:
    metric = model.metrics[args.metric]
    if getattr(args, "did_where", []) and not args.did:
        raise ToolError("did_where narrows the did events: set did too")
    if getattr(args, "did_not_where", []) and not args.did_not:
        raise ToolError("did_not_where narrows the did_not events: set did_not too")
    if args.among and not args.share:
        raise ToolError("among sets the base of a share: set share true, or use did instead")
    if args.max_times is not None and args.min_times and args.max_times < args.min_times:
        raise ToolError("max_times is below min_times: no entity can match")
    if args.per and metric.counts == args.per:
        raise ToolError(
            f"{metric.name} per {args.per} is always 1: per needs the metric to compute for each {args.per}"
            f" (events, views, orders, revenue …), e.g. metric orders per {args.per}"
        )
    ranked = (
        args.group_by
        or getattr(args, "grain", "none") != "none"
        or (args.per and args.stat == "distribution")
    )
    if args.top_n and not ranked:
        raise ToolError(
            "top_n ranks rows, but this request has one row: add group_by (which product, brand, user …) or grain"
        )
    if getattr(args, "together", False) and not (of_total(model, args) and args.group_by and args.top_n):
        raise ToolError(
            "together takes the top N rows' share as one: set share true, group_by (user_id, product …) and top_n"
        )


def _events_lacking(absent: Sequence[str], present: Sequence[str]) -> DataLacks:
    """The data never records the `absent` events (a name the data has none of, "cancel", read
    as words): said with the events it does record."""
    missing = " or ".join(EVENT_KINDS.get(e, e.replace("_", " ")) for e in absent)
    return DataLacks(
        f"The data has no {missing} events: it records only {', '.join(EVENT_KINDS.get(e, e) for e in present)} events.",
        ("event", absent[0]),
    )


def require_events(ctx: ToolContext, model: SemanticModel, args: Any) -> None:
    """Events the request needs that the data never records (views in sales-only data)."""
    needed = {*args.did, *args.among}
    for name in (args.metric, args.divided_by, *args.also):
        if name:
            needed |= model.events_of(name)
    present = set(ctx.facts.event_types)
    absent = sorted(needed - present)
    if absent and present:
        raise _events_lacking(absent, sorted(present))


def counted_event(args: Any) -> str | None:
    """The event min_times / max_times count: the first of did, else the share's base event
    ("share of buyers with at least 2 orders"), else any event."""
    return (args.did or args.among or [None])[0]


def _times(entity: str, event: str | None, where: str | None = None) -> str:
    """How often one entity did `event` (any event when None). Purchases count orders, so
    "bought twice" means two orders, not two order lines."""
    extra = f" AND {where}" if where else ""
    if event is None:
        return f"count(*) FILTER (WHERE {where})" if where else "count(*)"
    if event == "purchase" and entity != "order":
        return f"count(DISTINCT e.order_id) FILTER (WHERE e.event_type = 'purchase'{extra})"
    return f"count(*) FILTER (WHERE e.event_type = '{event}'{extra})"


def _behavior(args: Any, entity: str, did_where: str | None = None, not_where: str | None = None) -> str:
    """An aggregate condition over one entity's events: the did / did_not / times of the request."""
    conditions = [f"{_times(entity, event, did_where)} > 0" for event in args.did]
    first = counted_event(args)
    if args.min_times:
        conditions.append(f"{_times(entity, first, did_where if args.did else None)} >= {args.min_times}")
    if args.max_times is not None:
        conditions.append(f"{_times(entity, first, did_where if args.did else None)} <= {args.max_times}")
    conditions += [f"{_times(entity, event, not_where)} = 0" for event in args.did_not]
    return " AND ".join(conditions) or "TRUE"


def _positions(n: int) -> str:
    return ", ".join(str(i + 1) for i in range(n))


def compile_metric(ctx: ToolContext, model: SemanticModel, args: Any, compare: bool = False) -> str:
    """SQL for a metric request (or, with `compare`, a comparison request)."""
    dims = _computable_dims(ctx, model, args)
    if compare and args.also:
        raise ToolError("a comparison takes one metric: leave also out")
    start, end = window(args.period, ctx.facts)
    within_data(start, end, ctx.facts)
    if compare and (start is None or end is None):
        raise ToolError("a comparison needs a period: a week, a month, the last n days, or a range")
    query = _MetricQuery(ctx, model, args, dims, start, end, compare)
    sql, order = query.comparison() if compare else query.single()
    return _on_clock(model, query.finish(sql, order), args.time_zone)


def _on_clock(model: SemanticModel, sql: str, zone: str | None) -> str:
    """The hour of the day and the weekday read on the zone the question named, wherever their
    SQL appears; what the data's values are (CDNOW's dates without times) is checked on the
    stored UTC times, before."""
    if not zone:
        return sql
    for name in clock.CLOCK_DIMENSIONS:
        if name in model.dimensions:
            written = model.dimensions[name].sql
            sql = sql.replace(written, clock.on_clock(written, zone))
    return sql


def _computable_dims(ctx: ToolContext, model: SemanticModel, args: Any) -> list[Dimension]:
    """The request's breakdowns (price as bands), once the request is valid and the data holds
    what it needs: the dimensions' values, the events it counts, prices for money."""
    check_request(model, args)
    metric = model.metrics[args.metric]
    dims = [model.dimensions[d] for d in dict.fromkeys(args.group_by)]
    for dim in dims:
        require_values(ctx, model, dim)
    dims = [_banded(ctx, d, args.filters) if d.name == "price" else d for d in dims]
    dims = [_split(ctx, model, d, args.filters) for d in dims]
    # "How many brands?" on data without brands is no figure of 0: the data lacks the entity.
    for counted in (metric.counts, getattr(args, "per", None)):
        if counted in ("product", "brand", "category") and counted in model.dimensions:
            require_values(ctx, model, model.dimensions[counted])
    require_events(ctx, model, args)
    for name in (args.metric, args.divided_by):
        if name and "e.price" in model.expression(name) and not has_prices(ctx):
            raise DataLacks(
                f"The data has no prices, so {name.replace('_', ' ')} cannot be computed from it."
                f" It does record {', '.join(EVENT_KINDS.get(e, e) for e in ctx.facts.event_types)} events.",
                ("metric", name),
                tuple(m for m in model.metrics if m != name and "e.price" in model.expression(m)),
            )
    return dims


class _MetricQuery:
    """One metric request's SQL: the parts every period's query shares (keys, source, the
    conditions of "did" and "did not", withholding), the query of one period in each of its
    shapes (a share of entities, a statistic per entity, a per-user figure, a plain aggregate,
    a part of a total), and the whole: one period, or two compared, ordered and limited."""

    def __init__(
        self,
        ctx: ToolContext,
        model: SemanticModel,
        args: Any,
        dims: list[Dimension],
        start: date | None,
        end: date | None,
        compare: bool,
    ) -> None:
        self.ctx, self.model, self.args, self.dims = ctx, model, args, dims
        self.start, self.end, self.compare = start, end, compare
        self.metric = metric = model.metrics[args.metric]
        self.grain = grain = getattr(args, "grain", "none")
        self.entity = entity = entity_of(model, args)
        self.key, self.column = ENTITY_KEYS[entity], ENTITY_COLUMNS[entity]
        self.name = value_name(model, args)
        self.total_share = of_total(model, args)
        keys = [f"{d.sql} AS {d.name}" for d in dims]
        key_names = [d.name for d in dims]
        if grain != "none":
            trunc = f"date_trunc('{grain}', e.event_time)"
            keys.insert(0, f"{trunc} AS period" if grain == "hour" else f"CAST({trunc} AS DATE) AS period")
            key_names.insert(0, "period")
        self.keys, self.key_names = keys, key_names
        did_where, not_where = getattr(args, "did_where", []), getattr(args, "did_not_where", [])
        measures = [args.metric, args.divided_by, *args.also]
        self.source = _source(model, dims, [*args.filters, *did_where, *not_where], measures)
        # "Bought A but never B": the events each condition looks at, apart from the request's filters.
        self.did_sql = " AND ".join(_where(ctx, model, did_where, None, None)) or None
        self.not_sql = " AND ".join(_where(ctx, model, not_where, None, None)) or None
        self.k = k = ctx.settings.min_group_size
        # Figures about one customer (a ranking of users, a user's maximum) are that by design, like
        # a segment's members: withholding them would withhold every row.
        personal_rows = any(d in ("user_id", "session_id") for d in args.group_by)
        self.suppress = suppress = k > 1 and not personal_rows
        self.select_keys = "".join(k_ + ", " for k_ in keys)
        self.outer_keys = "".join(n + ", " for n in key_names)
        self.group = f" GROUP BY {_positions(len(keys))}" if keys else ""
        self.spine = spine = self._spine()
        # On a spine, a count's empty period reads 0; its withheld periods must not: the people
        # behind each period go out with it, and the outer query withholds.
        self.counted_people = bool(
            spine and suppress and metric.zero_when_empty and not (args.per or args.share or args.divided_by)
        )

    def _spine(self) -> str | None:
        """Every period of a time series, so an empty one shows (not for a comparison)."""
        args = self.args
        # Not for ids: every product on every day is a grid nobody asked for.
        many = {"product", "user_id", "session_id", "order_id"}
        # With top_n the spine matters only for the lowest periods: the quietest day may be empty.
        ranked_high = args.top_n and args.sort != "lowest"
        if self.grain == "none" or self.compare or ranked_high or (args.per and args.stat == "distribution"):
            return None
        spine = None if many & set(args.group_by) else _spine(self.ctx, self.grain, self.start, self.end)
        if spine and self.grain == "day" and args.top_n and args.sort == "lowest":
            spine = _open_days(self.ctx, spine)
        return spine

    def behavior(self) -> str:
        return _behavior(self.args, self.entity, self.did_sql, self.not_sql)

    def period(self, first: date | None, last: date | None) -> str:
        """The query of one period."""
        args = self.args
        # A breakdown ranks known values: events without a brand are not a brand.
        conditions = _where(self.ctx, self.model, args.filters, first, last) + [
            f"{d.sql} IS NOT NULL" for d in self.dims
        ]
        where = " AND ".join(conditions) or "TRUE"
        qualified = ""
        if _conditional(args) and (self.total_share or not args.share):
            qualified = (
                f"qualified AS (SELECT {self.key} AS entity FROM {self.source} WHERE {where} AND {self.key} IS NOT NULL"
                f" GROUP BY 1 HAVING {self.behavior()})"
            )
            where += f" AND {self.key} IN (SELECT entity FROM qualified)"
        if args.share and not self.total_share:
            return self.share(where)
        if args.per:
            return self.per_entity(where, qualified)
        prefix = f"WITH {qualified} " if qualified else ""
        if self.metric.per_user:
            return self.per_user(where)
        sql = self.aggregate(where, prefix)
        return self.of_total(sql, first, last) if self.total_share else sql

    def share(self, where: str) -> str:
        """The share of entities (in the base of `among`) that did what was asked."""
        args, entity, k = self.args, self.entity, self.k
        base = " AND ".join(f"{_times(entity, ev)} > 0" for ev in args.among) or "TRUE"
        having = f" HAVING count(*) FILTER (WHERE in_base) >= {k}" if k > 1 and entity in PERSONAL else ""
        return (
            f"WITH entities AS (SELECT {self.select_keys}{self.key} AS entity, {base} AS in_base, "
            f"{self.behavior()} AS matches FROM {self.source} WHERE {where} AND {self.key} IS NOT NULL"
            f" GROUP BY {_positions(len(self.keys) + 1)}) "
            f"SELECT {self.outer_keys}CAST(count(*) FILTER (WHERE in_base AND matches) AS DOUBLE)"
            f" / nullif(count(*) FILTER (WHERE in_base), 0) AS share,"
            f" count(*) FILTER (WHERE in_base AND matches) AS matching,"
            f" count(*) FILTER (WHERE in_base) AS {_many(entity)} FROM entities{self.group}{having}"
        )

    def per_entity(self, where: str, qualified: str) -> str:
        """A statistic over one figure per entity: its distribution, a count within bounds, or
        the average, median, maximum … (the maximum and minimum name their entity)."""
        args, metric, entity, column, name, k = (
            self.args,
            self.metric,
            self.entity,
            self.column,
            self.name,
            self.k,
        )
        value = self.model.expression(metric.name)
        only_people = metric.people and not zeros_counted(metric, args)
        people = f" HAVING count(*) FILTER (WHERE {metric.people}) > 0" if only_people else ""
        # "The biggest order, and who placed it": an order's or a session's figure names its
        # customer too.
        owned = entity in ("order", "session") and args.stat in ("max", "min")
        owner = ", min(e.user_id) AS owner" if owned else ""
        per_entity = (
            f"per_entity AS (SELECT {self.select_keys}{self.key} AS {column}, {value} AS value{owner} FROM {self.source}"
            f" WHERE {where} AND {self.key} IS NOT NULL GROUP BY {_positions(len(self.keys) + 1)}{people})"
        )
        ctes = f"WITH {qualified + ', ' if qualified else ''}{per_entity} "
        if args.stat == "distribution":
            return _distribution(ctes, metric, name, entity)
        within = _within(args)
        # The bounds are columns of the result: the sentence states them from its own rows.
        bounds = "".join(
            f", {float(v)!r} AS {f}"
            for f, v in (("min_value", args.min_value), ("max_value", args.max_value))
            if v is not None
        )
        outer_keys, group = self.outer_keys, self.group
        if args.stat == "count":
            figure = f"count(*) FILTER (WHERE {within})"
            having = (
                f" HAVING count(*) FILTER (WHERE {within}) >= {k}" if k > 1 and entity in PERSONAL else ""
            )
            # The share beside the count: "what share of customers spent over 500" is this too.
            return (
                f"{ctes}SELECT {outer_keys}{figure} AS {name}, count(*) FILTER (WHERE {within}) AS matching,"
                f" count(*) AS {_many(entity)}, CAST({figure} AS DOUBLE) / nullif(count(*), 0) AS share_of_{_many(entity)}"
                f"{bounds} FROM per_entity WHERE value IS NOT NULL{group}{having}"
            )
        extra = ""
        if args.stat in ("max", "min"):
            extra = f", arg_{args.stat}({column}, value) AS {column}"
            extra += f", arg_{args.stat}(owner, value) AS user_id" if owned else ""
        # A maximum or minimum names one entity by design; other statistics pool several.
        pooled = args.stat not in ("max", "min")
        having = f" HAVING count(*) >= {k}" if k > 1 and entity in PERSONAL and pooled else ""
        return (
            f"{ctes}SELECT {outer_keys}{STAT_SQL[args.stat]}(value) AS {name}{extra}, count(*) AS {_many(entity)}"
            f"{bounds} FROM per_entity WHERE value IS NOT NULL AND {within}{group}{having}"
        )

    def per_user(self, where: str) -> str:
        """A metric defined over one figure per user (its `per_user` SQL)."""
        metric = self.metric
        only = f" FILTER (WHERE {metric.people})" if metric.people else ""
        inner = (
            f"SELECT e.user_id, {self.select_keys}{metric.per_user} AS per_user FROM {self.source}"
            f" WHERE {where} AND e.user_id IS NOT NULL GROUP BY {_positions(len(self.keys) + 1)}"
        )
        having = f" HAVING count(*){only} >= {self.k}" if self.suppress else ""
        return f"SELECT {self.outer_keys}{metric.sql} AS {self.name} FROM ({inner}) AS per_user_rows{self.group}{having}"

    def aggregate(self, where: str, prefix: str) -> str:
        """The metric (divided by another, with the `also` metrics beside it) over the events."""
        args, model, metric = self.args, self.model, self.metric
        only = f" FILTER (WHERE {metric.people})" if metric.people else ""
        value = model.expression(metric.name)
        columns = f"{value} AS {metric.name if self.total_share else self.name}"
        if args.divided_by:
            divisor = model.expression(args.divided_by)
            columns = (
                f"CAST({value} AS DOUBLE) / nullif({divisor}, 0) AS {self.name}, {value} AS {metric.name},"
                f" {divisor} AS {args.divided_by}"
            )
        # Withhold any figure about fewer than k people: in the SQL itself, so the SQL shown is
        # the SQL that produced the answer.
        having = having_people(self.k, only) if self.suppress and not self.counted_people else ""
        columns += "".join(
            f", {model.expression(m)} AS {m}" for m in dict.fromkeys(args.also) if m != metric.name
        )
        if self.counted_people:
            columns += f", count(DISTINCT {person('e')}){only} AS people"
        return (
            f"{prefix}SELECT {self.select_keys}{columns} FROM {self.source} WHERE {where}{self.group}{having}"
        )

    def of_total(self, sql: str, first: date | None, last: date | None) -> str:
        """The part (`sql`) as a share of its total: a breakdown's rows of the filtered total
        ("revenue share by brand in electronics"), a single figure's of everything; in a series,
        each period's own total when the part is a piece of that period ("electronics' share of
        revenue by month")."""
        args, model, metric = self.args, self.model, self.metric
        value = model.expression(metric.name)
        kept_filters = args.filters if args.group_by else []
        based = share_base(args)
        whole_where = (
            " AND ".join(
                [*_where(self.ctx, model, kept_filters, first, last), *(SHARE_BASES[d][0] for d in based)]
            )
            or "TRUE"
        )
        by_period = self.grain != "none" and bool(args.group_by or args.filters or _conditional(args))
        base_filters = [f for f in args.filters if f.dimension in based]
        whole_source = _source(model, [], [*kept_filters, *base_filters], [metric.name])
        whole = (
            f"SELECT {self.keys[0]}, {value} AS total FROM {whole_source} WHERE {whole_where} GROUP BY 1"
            if by_period
            else f"SELECT {value} AS total FROM {whole_source} WHERE {whole_where}"
        )
        join = "JOIN whole USING (period)" if by_period else "CROSS JOIN whole"
        return (
            f"WITH part AS ({sql}), whole AS ({whole}) SELECT part.*, CAST(part.{metric.name} AS DOUBLE)"
            f" / nullif(whole.total, 0) AS {self.name}, whole.total AS total_{metric.name} FROM part {join}"
        )

    @property
    def ties(self) -> str:
        """Equal values in the group keys' order: the same rows, and the same top N, on every
        engine and every run."""
        return "".join(f", {key} NULLS LAST" for key in self.key_names)

    def single(self) -> tuple[str, str]:
        """The query of the request's period (on its spine), and its order."""
        args, name, metric = self.args, self.name, self.metric
        sql = self.period(self.start, self.end)
        if self.spine:
            also = [self.model.metrics[m] for m in dict.fromkeys(args.also) if m != metric.name]
            counted = self.k if self.counted_people else None
            sql = _on_spine(sql, self.spine, self.key_names, name, metric, args, counted, also)
        if args.per and args.stat == "distribution":
            return sql, ""  # already in value order
        if self.grain != "none" and not args.top_n:
            return (
                sql,
                "period",
            )  # a time series runs in time order, unless only the top N periods are asked for
        descending = "DESC" if args.sort == "highest" else "ASC"
        return sql, f"{name} {descending} NULLS LAST{self.ties}" if self.key_names else ""

    def comparison(self) -> tuple[str, str]:
        """The request's period beside the one before it, with the change; and its order."""
        assert self.start is not None and self.end is not None
        before = self.period(*previous(self.start, self.end, self.args.period))
        current = self.period(self.start, self.end)
        key_names, name = self.key_names, self.name
        join = (
            f"FULL JOIN previous USING ({', '.join(key_names)})"
            if key_names
            else "FULL JOIN previous ON true"
        )
        keys_out = "".join(f"{n}, " for n in key_names)
        now, then = f"current.{name}", f"previous.{name}"
        sql = (
            f"WITH current AS ({current}), previous AS ({before}) "
            f"SELECT {keys_out}{now} AS {name}, {then} AS previous, "
            f"{now} - {then} AS change, ({now} - {then}) / nullif(abs({then}), 0) AS change_pct "
            f"FROM current {join}"
        )
        if not key_names:
            return sql, ""
        change = "change ASC NULLS LAST" if self.args.sort == "highest" else "change DESC NULLS LAST"
        return sql, change + self.ties

    def finish(self, sql: str, order: str) -> str:
        """Titles beside product ids, the order, the limit, and the top rows taken together."""
        args, metric = self.args, self.metric
        if "product" in self.key_names and not self.compare:  # products are named by their titles too
            sql = f"SELECT r.*, p.title FROM ({sql}) AS r LEFT JOIN products p ON p.product_id = r.product"
        if order:
            sql += f" ORDER BY {order}"
        if args.top_n:
            sql += f" LIMIT {args.top_n}"
        if getattr(args, "together", False):  # "the top 10 customers' share of revenue": one figure
            total = f"total_{metric.name}"
            sql = (
                f"SELECT CAST(sum({metric.name}) AS DOUBLE) / nullif(max({total}), 0) AS share,"
                f" sum({metric.name}) AS {metric.name}, max({total}) AS {total}, count(*) AS rows_together"
                f" FROM ({sql}) AS top_rows"
            )
        return sql


def _spine(ctx: ToolContext, grain: str, start: date | None, end: date | None) -> str | None:
    """Every period of the request's window that the data covers (None: no data or too long)."""
    facts = ctx.facts
    if facts.first_day is None or facts.last_day is None:
        return None
    first = max(start or facts.first_day, facts.first_day)
    last = min(end or facts.last_day, facts.last_day)
    return spine_sql(grain, first, last) if first <= last else None


def _open_days(ctx: ToolContext, spine: str) -> str:
    """The spine's days without the weekdays the shop never trades on (Online Retail has no
    Saturdays): the quietest trading day is not a day the shop was closed. Any other empty day
    (an outage) stays, as 0."""
    trading = ctx.cached(
        "trading_weekdays", lambda: [r[0] for r in ctx.rows("SELECT DISTINCT isodow(event_time) FROM events")]
    )
    if not trading or len(trading) == 7:
        return spine
    listed = ", ".join(str(int(d)) for d in sorted(trading))
    return f"SELECT * FROM ({spine}) AS days WHERE isodow(period) IN ({listed})"


def _on_spine(
    sql: str,
    spine: str,
    key_names: list[str],
    name: str,
    metric: Metric,
    args: Any,
    k: int | None,
    also: Sequence[Metric] = (),
) -> str:
    """A time series with a row for every period, events or not: a count or sum reads 0 there,
    anything else (a rate, an average, a per-entity figure) is empty. With `k`, the series
    carries its people per period and figures about 1 to k-1 of them are withheld here."""
    dims = [n for n in key_names if n != "period"]
    grid = "spine"
    if dims:
        listed = ", ".join(dims)
        grid = f"(SELECT spine.period, d.* FROM spine CROSS JOIN (SELECT DISTINCT {listed} FROM series) AS d)"
    keys = ", ".join(["period", *dims])
    if metric.zero_when_empty and not (args.per or args.share or args.divided_by):

        def filled(column: str, zero: bool) -> str:
            value = f"coalesce(series.{column}, 0)" if zero else f"series.{column}"
            if k is not None:  # no one at all is no one's figure: 0 is shown; 1 to k-1 people are not
                value = f"CASE WHEN coalesce(series.people, 0) = 0 OR series.people >= {k} THEN {value} END"
            return f"{value} AS {column}"

        values = ", ".join([filled(name, True), *(filled(m.name, m.zero_when_empty) for m in also)])
        return (
            f"WITH series AS ({sql}), spine AS ({spine}) SELECT {keys}, {values}"
            f" FROM {grid} AS grid LEFT JOIN series USING ({keys})"
        )
    return f"WITH series AS ({sql}), spine AS ({spine}) SELECT * FROM {grid} AS grid LEFT JOIN series USING ({keys})"


def _within(args: Any) -> str:
    """The bounds on each entity's figure (min_value, max_value) as SQL over per_entity.value."""
    bounds = []
    if args.min_value is not None:
        bounds.append(f"value >= {float(args.min_value)!r}")
    if args.max_value is not None:
        bounds.append(f"value <= {float(args.max_value)!r}")
    return " AND ".join(bounds) or "TRUE"


def bounds_text(model: SemanticModel, args: Any) -> str:
    """ "with revenue of at least 500.01" for the bounds of a request, or ""."""
    fmt = model.metrics[args.metric].format
    low, high = args.min_value, args.max_value
    label = model.metrics[args.metric].label
    if low is not None and high is not None and low == high:
        return f" with {label} of exactly {narrate.figure(low, fmt)}"
    if low is not None and high is not None:
        return f" with {label} from {narrate.figure(low, fmt)} to {narrate.figure(high, fmt)}"
    if low is not None:
        return f" with {label} of at least {narrate.figure(low, fmt)}"
    if high is not None:
        return f" with {label} of at most {narrate.figure(high, fmt)}"
    return ""


def _distribution(ctes: str, metric: Metric, name: str, entity: str) -> str:
    """How many entities have each value: exact values for counts, ten equal bins otherwise."""
    if metric.format == "count":
        return (
            f"{ctes}SELECT value AS {name}, count(*) AS {_many(entity)} FROM per_entity WHERE value IS NOT NULL"
            " GROUP BY 1 ORDER BY 1"
        )
    return (
        f"{ctes}, bounds AS (SELECT min(value) AS low, (max(value) - min(value)) / 10 AS width FROM per_entity)"
        f" SELECT low + width * least(floor((value - low) / nullif(width, 0)), 9) AS {name}_from,"
        f" count(*) AS {_many(entity)} FROM per_entity, bounds WHERE value IS NOT NULL GROUP BY 1 ORDER BY 1"
    )


# --- what was computed, in words ----------------------------------------------------------


def _many(entity: str) -> str:
    """The entity's plural, for columns and words ("categories", not "categorys")."""
    return "categories" if entity == "category" else f"{entity}s"


# Things that are done to, not doers: "products that were viewed and never purchased".
PASSIVE = {"product", "category", "brand"}
PASSIVE_VERBS = {
    "view": "viewed",
    "cart": "added to cart",
    "remove_from_cart": "removed from cart",
    "purchase": "purchased",
    "fav": "added to favorites",
    "search": "searched for",
}


def _conditions_text(args: Any, entity: str) -> str:
    """'added to cart and never purchased', 'purchased in at least 2 orders', 'were viewed and
    never purchased'."""
    verbs = PASSIVE_VERBS if entity in PASSIVE else EVENT_VERBS
    parts = []
    first = counted_event(args)
    unit = "orders" if first == "purchase" and entity != "order" else ("times" if first else "events")
    for i, event in enumerate(args.did):
        verb = verbs[event]
        if i == 0 and (args.min_times or args.max_times is not None):
            verb += " " + _times_text(args, unit, in_orders=unit == "orders")
        parts.append(verb)
    if not args.did and (args.min_times or args.max_times is not None):
        # The count is of the counted event (the share's base, say purchases), not of all events.
        if first:
            parts.append(verbs[first] + " " + _times_text(args, unit, in_orders=unit == "orders"))
        else:
            parts.append("had " + _times_text(args, "events", in_orders=False))
    text = " and ".join(parts)
    if args.did_not:
        never = "never " + " or ".join(verbs[e] for e in args.did_not)
        text = f"{text} and {never}" if text else never
    if entity in PASSIVE and args.did:
        text = "were " + text
    return text


def _narrowed_text(model: SemanticModel, args: Any, conditions: str) -> str:
    """The conditions with the events each looks at: 'purchased (where product is 13176) and never
    purchased (where product is 21137)'."""
    did, never = conditions, ""
    if " and never " in conditions:
        did, never = conditions.split(" and never ", 1)
        never = "never " + never
    elif conditions.startswith("never "):
        did, never = "", conditions
    if args.did_where and did:
        did += f" ({filters_text(model, args.did_where)})"
    if args.did_not_where and never:
        never += f" ({filters_text(model, args.did_not_where)})"
    return " and ".join(p for p in (did, never) if p)


def _times_text(args: Any, unit: str, in_orders: bool) -> str:
    low, high = args.min_times, args.max_times
    prefix = "in " if in_orders else ""
    if low and high is not None and low == high:
        return f"{prefix}exactly {low} {unit if low != 1 else unit.rstrip('s')}"
    if low and high is not None:
        return f"{prefix}{low} to {high} {unit}"
    if low:
        return f"{prefix}at least {low} {unit if low != 1 else unit.rstrip('s')}"
    return f"{prefix}at most {high} {unit if high != 1 else unit.rstrip('s')}"


def _ranked(rows: list, at: int, highest_first: bool) -> list:
    """Rows by their value (zero is a value); rows without one go last either way."""
    known = [r for r in rows if narrate.number(r[at]) is not None]
    missing = [r for r in rows if narrate.number(r[at]) is None]
    return sorted(known, key=lambda r: narrate.number(r[at]), reverse=highest_first) + missing


def said_rows(args: Any, rows: list, at: int, grain: str) -> list:
    """The rows a ranking's sentence names, in order: a top 5 asked for in full, a longer list's
    first three (a time grain keeps its own order; a breakdown is ranked by its figure)."""
    ranked = (
        rows if (grain == "none" or args.top_n) else _ranked(rows, at, highest_first=args.sort == "highest")
    )
    return ranked[: len(rows) if args.top_n and len(rows) <= 5 else 3]


def series_points(rows: list, at: int) -> tuple[tuple, tuple, tuple, tuple]:
    """A series' first, last, highest and lowest rows; a period without data (a rate's empty
    day) has no figure and is skipped."""
    known = [r for r in rows if narrate.number(r[at]) is not None] or rows
    high = max(known, key=lambda r: narrate.number(r[at]) or 0.0)
    low = min(known, key=lambda r: narrate.number(r[at]) or 0.0)
    return known[0], known[-1], high, low


# Up to this many periods, a series' sentence gives each one's figure ("each month of 1998" asks
# for all of them); beyond, its first, last, highest and lowest stand for it (the table has all).
SERIES_LISTED = 12


def series_listed(rows: list, at: int) -> list[tuple]:
    """The periods a series' sentence lists one by one: all with a figure, when there are 3 to
    SERIES_LISTED of them (two are its first and last already); else none."""
    known = [r for r in rows if narrate.number(r[at]) is not None]
    return known if 3 <= len(known) <= SERIES_LISTED else []


def biggest_moves(rows: list, change_at: int) -> tuple[tuple | None, tuple | None] | None:
    """A comparison's biggest fall and biggest rise (None where nothing fell or rose); None when
    no row has a value in both periods."""
    moved = [r for r in rows if narrate.number(r[change_at]) is not None]
    if not moved:
        return None
    fall = min(moved, key=lambda r: r[change_at])
    rise = max(moved, key=lambda r: r[change_at])
    return (
        fall if narrate.number(fall[change_at]) < 0 else None,  # type: ignore[operator]
        rise if narrate.number(rise[change_at]) > 0 else None,  # type: ignore[operator]
    )


def holder(columns: list[str], row: tuple, entity: str) -> tuple[Any, Any]:
    """Who holds a maximum or minimum per entity, and the user it belongs to (for a session or
    an order); None where the row does not say."""
    column = ENTITY_COLUMNS[entity]
    who = row[columns.index(column)] if column in columns else None
    owner = row[columns.index("user_id")] if column != "user_id" and "user_id" in columns else None
    return who, owner


def _who(entity: str) -> str:
    return "who" if entity == "user" else "that"


def share_population(args: Any, entity: str) -> str:
    """The base of a share: 'sessions with a cart', 'all users'."""
    base = " and ".join(EVENT_NOUNS[e] for e in args.among)
    return f"{_many(entity)} with {base}" if base else f"all {_many(entity)}"


def _group_name(dimension: str, filters: list[Any]) -> str:
    """'price band'; 'country: United Kingdom against the rest'."""
    split = [f for f in filters if f.dimension == dimension and getattr(f, "against_rest", False)]
    if split:
        return f"{dimension}: {values_text(dimension, split[0].values)} against the rest"
    return GROUP_NAMES.get(dimension, dimension)


def filtering(filters: list[Any]) -> list[Any]:
    """The filters that filter: one value against the rest is a breakdown."""
    return [f for f in filters if not getattr(f, "against_rest", False)]


def filters_text(model: SemanticModel, filters: list[Any]) -> str:
    """'category is electronics and hour of day is 18:00-23:59'; 'country is not United Kingdom'."""
    parts = []
    for item in filters:
        if getattr(item, "against_rest", False):  # a breakdown, named with the grouping
            continue
        negated = "not " if item.exclude else ""
        if model.dimensions[item.dimension].match == "contains":
            words = " or ".join(repr(v) for v in item.values)
            parts.append(
                f"the product's name or category path {'does not contain' if item.exclude else 'contains'} {words}"
            )
            continue
        if model.dimensions[item.dimension].match == "range":
            said = item.dimension.replace("_", " ")  # "days since previous order is at most 7"
            parts.append(f"{said} is {negated}{' or '.join(bound_text(v) for v in item.values)}")
            continue
        named = values_text(item.dimension, item.values)
        if item.dimension == "reorder":
            parts.append(
                f"the order line is {negated}a {named} (of a product the customer bought in an earlier order)"
                if "reorder" in item.values
                else f"the order line is {negated}a {named} purchase of its product"
            )
            continue
        if named != " or ".join(item.values):  # a span of hours
            parts.append(f"hour of day is {negated}{named}")
        else:
            parts.append(f"{item.dimension} is {negated}{named}")
    return " and ".join(parts)


def values_text(dimension: str, values: list[str]) -> str:
    """A filter's values as read: '18:00-23:59' for a span of hours, else 'a or b'."""
    hours = sorted(int(v) for v in values if v.isdigit()) if dimension == "hour" else []
    if hours and len(hours) == len(values) and hours == list(range(hours[0], hours[-1] + 1)):
        return f"{hours[0]:02d}:00-{hours[-1]:02d}:59"
    return " or ".join(values)


def zeros_counted(metric: Metric, args: Any) -> bool:
    """Whether a statistic per entity takes in, as 0, the entities without the metric's rows:
    carts per user is over every user, spend per customer over buyers; the fewest carts by one
    user is among those who carted (a minimum of 0 says nothing)."""
    return bool(metric.people) and metric.averaged_over == "all" and args.stat != "min"


def _zeros_text(metric: Metric, args: Any) -> str:
    """Said where the zeros move the figure (not a maximum or a total). No negation word: the
    coverage check reads 'none' or 'no' in the interpretation as a condition computed."""
    return " (zeros included)" if zeros_counted(metric, args) and args.stat not in ("max", "total") else ""


def measure_text(model: SemanticModel, args: Any) -> str:
    """The measure in words: 'users who added to cart and never purchased', 'maximum events per
    user', 'share of sessions with a cart that also purchased', 'favorites divided by carts'."""
    metric = model.metrics[args.metric]
    entity = entity_of(model, args)
    conditions = _conditions_text(args, entity) if _conditional(args) else ""
    if getattr(args, "did_where", []) or getattr(args, "did_not_where", []):
        conditions = _narrowed_text(model, args, conditions)
    who = f"{_many(entity)} {_who(entity)} {conditions}" if conditions else _many(entity)
    if of_total(model, args):
        parts = [f"from {who}"] if conditions else []
        if filtering(args.filters) and not args.group_by:
            parts.append("where " + filters_text(model, args.filters))
        whole = " ".join([f"share of all {metric.label}", *(SHARE_BASES[d][1] for d in share_base(args))])
        return f"{metric.label} {' and '.join(parts)}, as a {whole}" if parts else whole
    if args.share:
        also = "also " if args.among else ""
        return f"share of {share_population(args, entity)} {_who(entity)} {also}{conditions}"
    if args.per:
        if args.stat == "distribution":
            return f"{metric.label} per {entity}, as the number of {_many(entity)} with each value" + (
                f" (only {who})" if conditions else ""
            )
        bounds = bounds_text(model, args)
        zeros = _zeros_text(metric, args)
        if args.stat == "count":
            return f"{STAT_NAMES[args.stat]} {_many(entity)}{bounds}" + (
                f" (only {who})" if conditions else zeros
            )
        return (
            f"{STAT_NAMES[args.stat]} {metric.label} per {entity}"
            + (f", over {who}" if conditions else "")
            + (f", over {_many(entity)}{bounds}" if bounds else "")
            + zeros
        )
    if args.divided_by:
        return f"{metric.label} divided by {model.metrics[args.divided_by].label}"
    if conditions:
        return who if metric.counts == entity else f"{metric.label} of {who}"
    return metric.label


def interpret(model: SemanticModel, args: Any, facts: DataFacts, compare: bool = False) -> str:
    """What the request computes, in words written from the call: measure, definition, filters,
    exact period, grouping. Shown with every answer so a misread question is plain to see."""
    metric = model.metrics[args.metric]
    parts = [narrate.capitalized(measure_text(model, args))]
    definition = metric.description.rstrip(".")
    also = [model.metrics[m] for m in dict.fromkeys(args.also) if m != metric.name]
    total_share = of_total(model, args)
    if total_share or not (args.share or _conditional(args) and metric.counts):
        parts[0] += f" ({metric.label}: {definition[:1].lower() + definition[1:]})"
    for other in also:
        described = other.description.rstrip(".")
        parts[0] += f", and {other.label} ({described[:1].lower() + described[1:]})"
    if filtering(args.filters) and not (total_share and not args.group_by):  # that measure names them
        parts.append("where " + filters_text(model, args.filters))
    start, end = window(args.period, facts)
    span = (facts.first_event, facts.last_event)
    period = describe(args.period, start, end, span)
    if compare and start is not None and end is not None:
        before = previous(start, end, args.period)
        period += f", against {before[0].isoformat()} to {before[1].isoformat()}"
    parts.append(period)
    grain = getattr(args, "grain", "none")
    if grain != "none":
        parts.append(f"per {grain}")
    if args.group_by:
        parts.append("by " + " and ".join(_group_name(d, args.filters) for d in args.group_by))
    if args.top_n:
        parts.append(f"{'top' if args.sort == 'highest' else 'bottom'} {args.top_n}")
        if getattr(args, "together", False):
            parts[-1] += " taken together"
    elif args.sort == "lowest" and (args.group_by or grain != "none"):
        parts.append("lowest first")
    if args.time_zone:
        parts.append(f"hours of the day and weekdays on {clock.label(args.time_zone)} time (dates UTC)")
    return "; ".join(parts) + "."


# --- the sentence about the result ---------------------------------------------------------


# Dimensions whose values are bare numbers or ids: a sentence names them ("hour 2", "user 42").
NAMED_VALUES = {
    "hour": "hour",
    "order_number": "order number",
    "user_id": "user",
    "session_id": "session",
    "order_id": "order",
    "product": "product",
}


def _period_label(value: Any, grain: str) -> str:
    if grain == "hour" and isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:00")
    return narrate.label(value)


def _row_label(
    columns: list[str],
    row: tuple,
    keys: list[str],
    grain: str = "none",
    named: dict[str, str] | None = None,
    titled: str = "{title} ({id})",
) -> str:
    """A row's keys as a sentence names them ("hour 2", a product's title with its id); `named`
    and `titled` give the wording (tools/chinese.py's is Chinese)."""
    named = named or {key: f"{word} {{}}" for key, word in NAMED_VALUES.items()}
    out = []
    for key in keys:
        text = _period_label(row[columns.index(key)], grain)
        text = named[key].format(text) if key in named else text
        if key == "product" and "title" in columns and row[columns.index("title")]:
            text = titled.format(title=narrate.quoted(row[columns.index("title")]), id=text)
        out.append(text)
    return " / ".join(out)


def summarize(model: SemanticModel, args: Any, columns: list[str], rows: list[tuple]) -> str:
    """One or two sentences about a metric result, from its rows: which row, which unit; then
    the same about each metric asked for alongside (`also`)."""
    text = _summarize_one(model, args, columns, rows)
    keys = [c for c in columns if c in args.group_by]
    for other in dict.fromkeys(args.also):
        if other == args.metric or not rows:
            continue
        alongside = args.model_copy(update={"metric": other, "also": []})
        if keys and getattr(args, "grain", "none") == "none":
            # The rows are ranked by the first metric: the others are read along them, not ranked.
            metric, at = model.metrics[other], columns.index(other)
            shown = [
                f"{_row_label(columns, r, keys)} {narrate.figure(r[at], metric.format)}" for r in rows[:3]
            ]
            text += f" {narrate.capitalized(metric.label)} in the same rows: {', '.join(shown)}."
        else:
            text += " " + _summarize_one(model, alongside, columns, rows)
    return text


def _summarize_one(model: SemanticModel, args: Any, columns: list[str], rows: list[tuple]) -> str:
    name = value_name(model, args)
    fmt = value_format(model, args)
    measure = measure_text(model, args)
    metric = model.metrics[args.metric]
    unit = f" {metric.unit}" if metric.unit and fmt != "ratio" and not args.divided_by else ""
    if not rows:
        return f"No rows: nothing in the data matches ({measure})."
    at = columns.index(name) if name in columns else 0
    grain = getattr(args, "grain", "none")
    keys = [c for c in columns if c in ("period", *args.group_by)]
    if args.per and args.stat == "distribution":
        return _distribution_sentence(model, args, columns, rows, fmt)
    if getattr(args, "together", False):
        return _together_sentence(args, metric, columns, rows[0])
    if not keys:
        shown = narrate.figure(rows[0][at], fmt) + unit
        return _one_figure_sentence(model, args, columns, rows[0], shown, measure)
    if grain != "none" and not args.top_n and len(rows) > 1 and not args.group_by:
        return _series_sentence(rows, at, grain, f"{narrate.capitalized(measure)} per {grain}", fmt, unit)
    word = "Highest" if args.sort == "highest" else "Lowest"
    shown_rows = [
        f"{_row_label(columns, r, keys, grain)} ({narrate.figure(r[at], fmt)}{unit})"
        for r in said_rows(args, rows, at, grain)
    ]
    text = f"{word} {measure}: {shown_rows[0]}"
    if len(shown_rows) > 1:
        text += f", then {narrate.listing(shown_rows[1:])}"
    return text + (f"; {len(rows):,} rows in all." if len(rows) > len(shown_rows) else ".")


def _distribution_sentence(
    model: SemanticModel, args: Any, columns: list[str], rows: list[tuple], fmt: narrate.Format
) -> str:
    """Its range and its most common value (or bin)."""
    metric, entity = model.metrics[args.metric], entity_of(model, args)
    count_at = columns.index(_many(entity))
    top = max(rows, key=lambda r: r[count_at] or 0)
    values = [r[0] for r in rows]
    return (
        f"{narrate.capitalized(metric.label)} per {entity} ranges from {narrate.figure(min(values), fmt)}"
        f" to {narrate.figure(max(values), fmt)}; the most common"
        f" {'bin starts at' if columns[0].endswith('_from') else 'value is'} {narrate.figure(top[0], fmt)}"
        f" ({narrate.plural(top[count_at], entity)})."
    )


def _together_sentence(args: Any, metric: Metric, columns: list[str], row: tuple) -> str:
    """The top (or bottom) rows' share of the whole, taken together."""
    entity = GROUP_NAMES.get(args.group_by[0], args.group_by[0]).removesuffix("_id")
    part, whole = row[columns.index(metric.name)], row[columns.index(f"total_{metric.name}")]
    return (
        f"The {'top' if args.sort == 'highest' else 'bottom'} {row[columns.index('rows_together')]:,} {_many(entity)} by {metric.label} together:"
        f" {narrate.figure(row[columns.index('share')], 'ratio')} of {metric.label}"
        f" ({narrate.figure(part, metric.format)} of {narrate.figure(whole, metric.format)})."
    )


def _one_figure_sentence(
    model: SemanticModel, args: Any, columns: list[str], row: tuple, shown: str, measure: str
) -> str:
    """One figure (`shown`, formatted) with what it is made of: the part and the whole, the
    matching and all entities, the entity that holds a maximum, the numerator and denominator."""
    metric = model.metrics[args.metric]
    figure = narrate.figure
    if of_total(model, args):
        part, whole = row[columns.index(metric.name)], row[columns.index(f"total_{metric.name}")]
        return (
            f"{narrate.capitalized(measure)}: {shown} ({figure(part, metric.format)}"
            f" of {figure(whole, metric.format)})."
        )
    entity = entity_of(model, args)
    if args.share:
        return (
            f"{shown} of {measure.removeprefix('share of ')}"
            f" ({figure(row[columns.index('matching')], 'count')}"
            f" of {figure(row[columns.index(_many(entity))], 'count')})."
        )
    if args.per and args.stat == "count":
        share = figure(row[columns.index(f"share_of_{_many(entity)}")], "ratio")
        return (
            f"{narrate.capitalized(measure)}: {shown} ({figure(row[columns.index('matching')], 'count')}"
            f" of {figure(row[columns.index(_many(entity))], 'count')} {_many(entity)} with any {metric.label},"
            f" {share})."
        )
    if args.per and args.stat in ("max", "min"):
        who, owner = holder(columns, row, entity)
        placed = f", user {narrate.label(owner)}" if owner is not None else ""
        return f"{narrate.capitalized(measure)}: {shown}" + (
            f" ({entity} {narrate.label(who)}{placed})." if who is not None else "."
        )
    if args.divided_by:
        return (
            f"{narrate.capitalized(measure)}: {shown} ({figure(row[columns.index(metric.name)], 'count')}"
            f" {metric.label} / {figure(row[columns.index(args.divided_by)], 'count')}"
            f" {model.metrics[args.divided_by].label})."
        )
    return f"{narrate.capitalized(measure)}: {shown}."


def _series_sentence(
    rows: list[tuple], at: int, grain: str, what: str, fmt: narrate.Format, unit: str
) -> str:
    """A time series: where it started and ended, and its highest and lowest periods."""
    first, last, high, low = series_points(rows, at)
    moved = narrate.direction(last[at], first[at])
    trend = f" {moved} from" if moved in ("rose", "fell") else ":"
    return (
        f"{what}{trend} {narrate.figure(first[at], fmt)}{unit} in"
        f" {_period_label(first[0], grain)} {'to' if moved in ('rose', 'fell') else 'and'}"
        f" {narrate.figure(last[at], fmt)}{unit} in {_period_label(last[0], grain)}; highest"
        f" {narrate.figure(high[at], fmt)} ({_period_label(high[0], grain)}), lowest"
        f" {narrate.figure(low[at], fmt)} ({_period_label(low[0], grain)})."
        + _each_period(rows, at, grain, fmt, unit)
    )


def _each_period(rows: list[tuple], at: int, grain: str, fmt: narrate.Format, unit: str) -> str:
    listed = [
        f"{narrate.figure(r[at], fmt)}{unit} ({_period_label(r[0], grain)})" for r in series_listed(rows, at)
    ]
    return f" Each {grain}: {', '.join(listed)}." if listed else ""


def summarize_change(model: SemanticModel, args: Any, columns: list[str], rows: list[tuple]) -> str:
    """A comparison in words: the direction comes from the sign, the unit from the metric."""
    name = value_name(model, args)
    fmt = value_format(model, args)
    measure = measure_text(model, args)
    if not rows:
        return f"No rows: nothing in the data matches ({measure})."
    at, before_at = columns.index(name), columns.index("previous")
    keys = [c for c in columns if c in args.group_by]
    if not keys:
        row = rows[0]
        moved = narrate.direction(row[at], row[before_at])
        if moved in ("rose", "fell"):
            return (
                f"{narrate.capitalized(measure)} {moved} from {narrate.figure(row[before_at], fmt)} to"
                f" {narrate.figure(row[at], fmt)} ({narrate.change(row[at], row[before_at], fmt)})."
            )
        if moved == "did not change":
            return f"{narrate.capitalized(measure)} did not change: {narrate.figure(row[at], fmt)} in both periods."
        return (
            f"{narrate.capitalized(measure)}: {narrate.figure(row[at], fmt)} now and"
            f" {narrate.figure(row[before_at], fmt)} before; one side has no value."
        )
    moves = biggest_moves(rows, columns.index("change"))
    if moves is None:
        return f"{narrate.capitalized(measure)}: no {args.group_by[0]} has a value in both periods."
    fall, rise = moves
    parts = []
    if fall is not None:
        parts.append(
            f"the biggest fall in {measure} is {_row_label(columns, fall, keys)}, from"
            f" {narrate.figure(fall[before_at], fmt)} to {narrate.figure(fall[at], fmt)}"
            f" ({narrate.change(fall[at], fall[before_at], fmt)})"
        )
    if rise is not None:
        parts.append(
            f"the biggest rise is {_row_label(columns, rise, keys)}, from"
            f" {narrate.figure(rise[before_at], fmt)} to {narrate.figure(rise[at], fmt)}"
            f" ({narrate.change(rise[at], rise[before_at], fmt)})"
        )
    if not parts:
        return f"{narrate.capitalized(measure)} did not change in any {args.group_by[0]}."
    return narrate.capitalized("; ".join(parts)) + "."


def query_metric(ctx: ToolContext, args: Any) -> ToolResult:
    """Compute a metric from the metrics layer: in total, by up to two dimensions, filtered, over a
    period, or per hour/day/week/month; for entities that did (or never did) some events; as a
    share of entities; per entity (max, average, median, distribution); or as a ratio."""
    return _metric_result(ctx, args, compare=False)


def compare_periods(ctx: ToolContext, args: Any) -> ToolResult:
    """Compare a metric over a period with the period before it, optionally by dimension, with the
    change: for "why did X drop?" and "X this week vs last week"."""
    return _metric_result(ctx, args, compare=True)


def _per_its_own_rows(args: Any) -> tuple[Any, list[str]]:
    """'Average events per brand, by brand': each row is already one brand, whose figure is the
    metric itself; computed per entity, the entity's column came twice (ambiguous on PostgreSQL)."""
    if not args.per or args.stat in ("count", "distribution") or {args.min_value, args.max_value} != {None}:
        return args, []
    column = {"user": "user_id", "session": "session_id", "order": "order_id"}.get(args.per, args.per)
    if column not in args.group_by:
        return args, []
    note = f"each {args.per} row is already one {args.per}'s figure: per {args.per} left out"
    return args.model_copy(update={"per": None, "stat": "average"}), [note]


def _metric_result(ctx: ToolContext, args: Any, compare: bool) -> ToolResult:
    model = load_model(ctx)
    args, own_rows = _per_its_own_rows(args)
    sql = compile_metric(ctx, model, args, compare)
    columns, rows, truncated, seconds = execute(ctx, sql, compiled=True)
    metric = model.metrics[args.metric]
    name = value_name(model, args)
    grain = getattr(args, "grain", "none")
    chart = None
    if args.per and args.stat == "distribution":
        chart = ChartSpec(kind="bar", x=columns[0], y=[columns[1]])
    elif grain != "none":
        chart = ChartSpec(
            kind="line", x="period", y=[name], series=args.group_by[0] if args.group_by else None
        )
    elif args.group_by:
        y = [name, "previous"] if compare else [name]
        chart = ChartSpec(
            kind="bar", x=args.group_by[0], y=y, series=args.group_by[1] if len(args.group_by) > 1 else None
        )
    if chart:
        chart.title = name.replace("_", " ") + (f" by {args.group_by[0]}" if args.group_by else "")
    start, end = window(args.period, ctx.facts)
    period = f"{start} to {end}" if start else (f"up to {end}" if end else "all time")
    notes = [f"{metric.name}: {metric.description}", f"period: {period}", *own_rows]
    if compare:
        assert start is not None and end is not None
        notes.append("previous: {} to {}".format(*previous(start, end, args.period)))
    notes += [f"events with no {d} are left out of the breakdown" for d in args.group_by]
    notes += withheld_notes(ctx.settings.min_group_size)
    if grain != "none" and rows and name in columns:
        filled = metric.zero_when_empty and not (args.per or args.share or args.divided_by)
        notes += _empty_periods(rows, columns.index(name), grain, filled)
    withheld = _withheld(ctx, model, args, compare) if not rows and ctx.settings.min_group_size > 1 else None
    summary = (summarize_change if compare else summarize)(model, args, columns, rows)
    from tools import chinese  # it reads this module's helpers: imported here, when it is used

    return ToolResult(
        sql=sql,
        columns=columns,
        rows=rows,
        truncated=truncated,
        seconds=seconds,
        chart=chart,
        notes=notes,
        answer=withheld,
        summary=withheld or summary,
        interpretation=interpret(model, args, ctx.facts, compare),
        zh=InChinese(
            summary=chinese.withheld(ctx.settings.min_group_size)
            if withheld
            else (chinese.summarize_change if compare else chinese.summarize)(model, args, columns, rows),
            interpretation=chinese.interpret(model, args, ctx.facts, compare),
            chart_title=chinese.chart_title(model, args) if chart else None,
        ),
    )


def _empty_periods(rows: list[tuple], at: int, grain: str, zero: bool) -> list[str]:
    """A note on the periods the date spine added: an outage must not pass unseen."""
    empty = [r[0] for r in rows if (r[at] == 0 if zero else r[at] is None)]
    if not empty:
        return []
    named = ", ".join(_period_label(p, grain) for p in empty[:5]) + (" …" if len(empty) > 5 else "")
    if zero:
        return [f"{narrate.plural(len(empty), grain)} with nothing counted, shown as 0: {named}"]
    return [f"{narrate.plural(len(empty), grain)} without data or withheld, shown empty: {named}"]


def _withheld(ctx: ToolContext, model: SemanticModel, args: Any, compare: bool) -> str | None:
    """Why a result came back empty: withheld (each figure is about a few people) or there is
    nothing at all."""
    unsuppressed = replace(ctx, settings=ctx.settings.with_overrides(min_group_size=1))
    _, rows, _, _ = execute(unsuppressed, compile_metric(unsuppressed, model, args, compare), compiled=True)
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
        period=(Period, Field(default_factory=Period)),
    )


def funnel(ctx: ToolContext, args: Any) -> ToolResult:
    """Sessions reaching each step of a funnel (default view -> cart -> purchase) and the conversion
    between steps, optionally by one dimension."""
    from tools import chinese  # it reads this module's helpers: imported here, when it is used

    model = load_model(ctx)
    start, end = window(args.period, ctx.facts)
    within_data(start, end, ctx.facts)
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
    sql = f"SELECT {key}{counts} FROM {source}{where}" + (" GROUP BY 1" if dim else "") + having_people(k)
    sql += " ORDER BY 2 DESC" if dim else ""
    columns, rows, truncated, seconds = execute(ctx, sql, compiled=True)
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
        sql=sql,
        columns=out_columns,
        rows=out_rows,
        truncated=truncated,
        seconds=seconds,
        chart=ChartSpec(
            kind="funnel", x="step", y=["sessions"], series=dim.name if dim else None, title="funnel"
        ),
        notes=[f"period: {start} to {end}" if start else "period: all time"] + withheld_notes(k),
        summary=summarize_funnel(args.steps, out_columns, out_rows, dim.name if dim else None),
        interpretation=interpret_funnel(model, args, ctx.facts),
        zh=InChinese(
            summary=chinese.summarize_funnel(args.steps, out_rows, dim.name if dim else None),
            interpretation=chinese.interpret_funnel(model, args, ctx.facts),
        ),
    )


def interpret_funnel(model: SemanticModel, args: Any, facts: DataFacts) -> str:
    start, end = window(args.period, facts)
    parts = [
        "Sessions reaching each step: " + " → ".join(args.steps) + " (a session counts at a step if it has"
        " that event, in any order)"
    ]
    if filtering(args.filters):
        parts.append("where " + filters_text(model, args.filters))
    parts.append(describe(args.period, start, end, (facts.first_event, facts.last_event)))
    if args.group_by:
        parts.append(f"by {args.group_by}")
    return "; ".join(parts) + "."


def summarize_funnel(steps: list[str], columns: list[str], rows: list[tuple], dim: str | None) -> str:
    """'Of 1,898 sessions with a view, 40 (2.1%) reached cart and 35 (1.8%) purchase.'"""
    if not rows:
        return "No sessions in that period."
    if dim is None:
        first = rows[0]
        text = f"Of {narrate.plural(first[1] or 0, 'session')} with a {steps[0]}"
        later = [
            f"{narrate.figure(r[1], 'count')} ({narrate.figure(r[3], 'ratio')}) reached {r[0]}"
            for r in rows[1:]
            if r[3] is not None
        ]
        return text + (", " + narrate.listing(later) if later else "") + "."
    last = [r for r in rows if r[1] == steps[-1] and r[4] is not None]
    if not last:
        return f"No {dim} has sessions at the first step."
    best = max(last, key=lambda r: r[4])
    worst = min(last, key=lambda r: r[4])
    return (
        f"From {steps[0]} to {steps[-1]}, {narrate.label(best[0])} converts best ({narrate.figure(best[4], 'ratio')})"
        f" and {narrate.label(worst[0])} worst ({narrate.figure(worst[4], 'ratio')})."
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
GROUP BY 1, 2 ORDER BY 1, 2"""
    _, rows, _, seconds = execute(ctx, sql, max_rows=100_000, compiled=True)
    sizes = {}
    by_cohort: dict[Any, dict[int, int]] = {}
    for cohort, k, users in rows:
        by_cohort.setdefault(cohort, {})[k] = users
    for cohort, ks in by_cohort.items():
        sizes[cohort] = ks.get(0, 0)
    columns = ["cohort", "users"] + [f"{args.grain}_{k}" for k in range(1, args.periods + 1)]
    out = []
    k = ctx.settings.min_group_size
    last = ctx.facts.last_day
    # Every cohort period, new users or not (a week nobody arrived shows as 0 users); a share
    # whose period ends after the data does is unknown, not 0.
    cohorts = list(_cohort_starts(min(by_cohort), max(by_cohort), args.grain)) if by_cohort else []
    for cohort in cohorts:
        size = sizes.get(cohort, 0)
        if 0 < size < k:
            continue
        shares = [
            by_cohort[cohort].get(n, 0) / size
            if size and (last is None or _period_after(cohort, n, args.grain) <= last)
            else None
            for n in range(1, args.periods + 1)
        ]
        out.append((cohort, size, *shares))
    return ToolResult(
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
        summary=summarize_retention(args, columns, out),
        interpretation=(
            f"Users grouped by the {args.grain} of their first event (their cohort), and the share of each"
            f" cohort {'buying' if args.event_type == 'purchase' else 'active'} again 1 to {args.periods}"
            f" {args.grain}s later; all data."
        ),
    )


def _period_after(start: date, n: int, grain: str) -> date:
    """The last day of the `grain` period n periods after the one starting on `start`."""
    if grain == "week":
        return start + timedelta(days=7 * n + 6)
    return add_months(start, n + 1) - timedelta(days=1)


def _cohort_starts(first: date, last: date, grain: str) -> Iterator[date]:
    while first <= last:
        yield first
        first = first + timedelta(days=7) if grain == "week" else add_months(first, 1)


def summarize_retention(args: CohortRequest, columns: list[str], rows: list[tuple]) -> str:
    """Where the first period's retention was best and worst, cohort by cohort."""
    seen = [r for r in rows if r[2] is not None and r[1]]
    if not seen:
        return "No cohort is large enough to show."
    best = max(seen, key=lambda r: r[2])
    worst = min(seen, key=lambda r: r[2])
    text = (
        f"{narrate.plural(len(rows), 'cohort')}; one {args.grain} later, the best kept"
        f" {narrate.figure(best[2], 'ratio')} ({narrate.label(best[0])}, {narrate.plural(best[1], 'user')})"
    )
    if worst is not best:
        text += f" and the worst {narrate.figure(worst[2], 'ratio')} ({narrate.label(worst[0])})"
    return text + "."


def _metric_follow_ups(arguments: dict[str, Any], first: Any) -> list[str]:
    metric = str(arguments.get("metric", "")).replace("_", " ")
    out = []
    if not arguments.get("group_by"):
        out += [f"Break the {metric} down by category", f"Show the {metric} by channel"]
    if arguments.get("grain", "none") == "none":
        out.append(f"Show the {metric} per week for the last 8 weeks")
    return [*out, f"How did the {metric} change compared to the week before?"]


def _change_follow_ups(arguments: dict[str, Any], first: Any) -> list[str]:
    metric = str(arguments.get("metric", "")).replace("_", " ")
    return [
        f"Which categories changed the most in {metric}?",
        f"Show the {metric} per day for the last 4 weeks",
    ]


def tools(semantic: SemanticModel) -> list[Tool]:
    """The metrics layer's tools; their arguments are made from the semantic model."""
    return [
        Tool(
            "query_metric",
            query_metric,
            semantic.request_model,
            prompt=resources.files("prompts").joinpath("query_language.md").read_text().rstrip("\n"),
            group="metrics",
            follow_ups=_metric_follow_ups,
        ),
        Tool(
            "compare_periods",
            compare_periods,
            semantic.compare_model,
            prompt="a metric (same fields, no grain) over a period against the period before it, with the "
            "change (did X go up or down, X vs the week before); default period last_week.",
            group="metrics",
            follow_ups=_change_follow_ups,
        ),
        Tool(
            "funnel",
            funnel,
            funnel_args_model(semantic),
            prompt="sessions reaching each step (search, view, cart, purchase), optionally by one dimension.",
            group="metrics",
            follow_ups=lambda arguments, first: [
                "Which category has the lowest conversion rate?",
                "How many carts were abandoned last week?",
            ],
        ),
        Tool(
            "cohort_retention",
            cohort_retention,
            CohortRequest,
            prompt="share of weekly or monthly cohorts of new users active again later.",
            group="metrics",
            follow_ups=lambda arguments, first: [
                "What is the repeat purchase rate?",
                "Who are our at-risk customers?",
            ],
        ),
    ]
