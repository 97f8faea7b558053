"""SQL written once, in DuckDB's dialect, run on any warehouse.

Tools and the metrics layer write DuckDB SQL; for another database sqlglot transpiles it. sqlglot
passes a few DuckDB functions through unchanged where the target has no function of that name
(`DAYNAME`, `QUARTER`, `ARG_MAX`, `GROUP BY ALL` …): the generators below write them out in the
target's own terms, so no DuckDB-only syntax reaches another engine; date parts come back as
integers, as DuckDB gives them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.dialects.spark import Spark
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

Transform = Callable[[Any, Any], str]  # (generator, expression) -> SQL, as sqlglot calls it


def _extract(part: str) -> Transform:
    return lambda self, e: f"CAST(EXTRACT({part} FROM {self.sql(e, 'this')}) AS INTEGER)"


def _arg_extreme(direction: str) -> Transform:
    # DuckDB's arg_max skips rows whose ordering value is NULL: so does NULLS LAST here.
    return lambda self, e: (
        f"(ARRAY_AGG({self.sql(e, 'this')} ORDER BY {self.sql(e, 'expression')} {direction} NULLS LAST))[1]"
    )


def _round(self: Any, e: exp.Round) -> str:
    # PostgreSQL rounds to N places only a numeric, not a double.
    decimals = e.args.get("decimals")
    if decimals is None:
        return f"ROUND({self.sql(e, 'this')})"
    return f"ROUND(CAST({self.sql(e, 'this')} AS NUMERIC), {self.sql(decimals)})"


def _date_bin(self: Any, e: exp.DateBin) -> str:
    # PostgreSQL's date_bin needs an origin; DuckDB's default one is Monday 2000-01-03.
    origin = e.args.get("origin")
    start = self.sql(origin) if origin is not None else "TIMESTAMP '2000-01-03 00:00:00'"
    return f"DATE_BIN({self.sql(e, 'this')}, {self.sql(e, 'expression')}, {start})"


class ShopPostgres(Postgres):
    class Generator(Postgres.Generator):
        TRANSFORMS = {
            **Postgres.Generator.TRANSFORMS,
            exp.Dayname: lambda self, e: f"TO_CHAR({self.sql(e, 'this')}, 'FMDay')",
            exp.Year: _extract("YEAR"),
            exp.Quarter: _extract("QUARTER"),
            exp.Month: _extract("MONTH"),
            exp.Week: _extract("WEEK"),  # ISO weeks in both
            exp.Day: _extract("DAY"),
            exp.DayOfYear: _extract("DOY"),
            exp.Hour: _extract("HOUR"),
            exp.Minute: _extract("MINUTE"),
            exp.DayOfWeekIso: _extract("ISODOW"),
            exp.ArgMax: _arg_extreme("DESC"),
            exp.ArgMin: _arg_extreme("ASC"),
            exp.Round: _round,
            exp.DateBin: _date_bin,
            exp.Mode: lambda self, e: f"MODE() WITHIN GROUP (ORDER BY {self.sql(e, 'this')})",
        }


def _spark_epoch(self: Any, e: exp.TimeToUnix) -> str:
    # DuckDB's epoch() keeps fractions of a second, of a time or of the difference of two (an
    # interval); Spark's unix_timestamp drops them and takes no interval.
    def micros(value: exp.Expression) -> str:
        return f"UNIX_MICROS(CAST({self.sql(value)} AS TIMESTAMP))"

    value = e.this.unnest() if isinstance(e.this, exp.Paren) else e.this
    if isinstance(value, exp.Sub):
        return f"(({micros(value.this)} - {micros(value.expression)}) / 1000000.0D)"
    return f"({micros(value)} / 1000000.0D)"


def _spark_list_contains(self: Any, e: exp.ArrayContains) -> str:
    # A list given as a query parameter reaches Spark as `(a, b)` (PyHive's way with a sequence):
    # after ARRAY that is Spark's array constructor.
    array = self.sql(e, "this")
    if isinstance(e.this, exp.Placeholder):
        array = f"ARRAY {array}"
    return f"ARRAY_CONTAINS({array}, {self.sql(e, 'expression')})"


def _spark_date_diff(self: Any, e: exp.DateDiff) -> str:
    # DuckDB's date_diff counts the boundaries crossed (23:59 to 00:01 is a day); Spark's counts
    # whole units (none). Counted here as DuckDB does, for the units the tools and views use.
    unit = e.text("unit").upper()
    later, earlier = e.this, e.expression

    def seconds(value: exp.Expression) -> str:
        return f"UNIX_SECONDS(CAST({self.sql(value)} AS TIMESTAMP))"

    def months(value: exp.Expression) -> str:
        return f"(YEAR({self.sql(value)}) * 12 + MONTH({self.sql(value)}))"

    if not e.args.get("date_part_boundary") and unit not in ("", "DAY"):
        return _SPARK_DATE_DIFF(self, e)
    match unit:
        case "" | "DAY":
            return f"DATEDIFF(CAST({self.sql(later)} AS DATE), CAST({self.sql(earlier)} AS DATE))"
        case "SECOND":
            return f"({seconds(later)} - {seconds(earlier)})"
        case "MINUTE" | "HOUR":
            size = 60 if unit == "MINUTE" else 3600
            return f"(FLOOR({seconds(later)} / {size}) - FLOOR({seconds(earlier)} / {size}))"
        case "MONTH":
            return f"({months(later)} - {months(earlier)})"
        case "YEAR":
            return f"(YEAR({self.sql(later)}) - YEAR({self.sql(earlier)}))"
    return _SPARK_DATE_DIFF(self, e)


_UNIT_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400, "WEEK": 604800}


def _spark_date_bin(self: Any, e: exp.DateBin) -> str:
    # DuckDB's time_bucket: buckets of a fixed width from Monday 2000-01-03 (946857600 s).
    step = e.this
    unit = step.text("unit").upper().rstrip("S") if isinstance(step, exp.Interval) else ""
    if unit not in _UNIT_SECONDS or not step.this.is_number and not step.this.is_string:
        raise ValueError(f"time_bucket by {self.sql(step)} has no Spark form here")
    width = int(float(step.this.name)) * _UNIT_SECONDS[unit]
    origin = 946857600
    value = f"UNIX_SECONDS(CAST({self.sql(e, 'expression')} AS TIMESTAMP))"
    return f"CAST(TIMESTAMP_SECONDS(FLOOR(({value} - {origin}) / {width}) * {width} + {origin}) AS TIMESTAMP_NTZ)"


def _spark_sub(self: Any, e: exp.Sub) -> str:
    # A day minus a day is a number of days on DuckDB, an interval on Spark.
    if all(isinstance(side, exp.Cast) and side.to.is_type("date") for side in (e.this, e.expression)):
        return f"DATEDIFF({self.sql(e, 'this')}, {self.sql(e, 'expression')})"
    return self.binary(e, "-")


_SPARK_DATE_DIFF = Spark.Generator.TRANSFORMS.get(exp.DateDiff) or (lambda self, e: self.datediff_sql(e))


class ShopSpark(Spark):
    class Generator(Spark.Generator):
        def literal_sql(self, expression: exp.Literal) -> str:
            # `1.0` is a double on Spark as DuckDB divides it: a decimal literal there keeps a
            # decimal's few places through a division (0.48324 for 0.483241408…).
            text = super().literal_sql(expression)
            if not expression.is_string and any(mark in text.lower() for mark in ".e"):
                return f"{text}D"
            return text

        TRANSFORMS = {
            **Spark.Generator.TRANSFORMS,
            exp.Dayname: lambda self, e: f"DATE_FORMAT({self.sql(e, 'this')}, 'EEEE')",
            exp.TimeToUnix: _spark_epoch,
            exp.ArrayContains: _spark_list_contains,
            exp.DateDiff: _spark_date_diff,
            exp.DateBin: _spark_date_bin,
            exp.Sub: _spark_sub,
            # Spark's exact percentile interpolates as DuckDB's quantile_cont; a list gives a list.
            exp.PercentileCont: lambda self, e: (
                f"PERCENTILE({self.sql(e, 'this')}, {self.sql(e, 'expression')})"
            ),
        }


DIALECTS: dict[str, type[sqlglot.Dialect] | str] = {"postgres": ShopPostgres, "spark": ShopSpark}


def _group_by_all(tree: exp.Expression) -> exp.Expression:
    """`GROUP BY ALL` as the positions of the selected expressions that aggregate nothing."""
    for select in tree.find_all(exp.Select):
        group = select.args.get("group")
        if group is None or not group.args.get("all"):
            continue
        positions = [
            exp.Literal.number(i + 1)
            for i, item in enumerate(select.expressions)
            if not item.find(exp.AggFunc, exp.Window) and not isinstance(item.unalias(), exp.Literal)
        ]
        select.set("group", exp.Group(expressions=positions) if positions else None)
    return tree


def _name_subqueries(tree: exp.Expression) -> exp.Expression:
    """A subquery in FROM or JOIN gets a name where DuckDB lets it go without one."""
    for number, subquery in enumerate(tree.find_all(exp.Subquery)):
        if not subquery.alias and isinstance(subquery.parent, exp.From | exp.Join):
            subquery.set("alias", exp.TableAlias(this=exp.to_identifier(f"subquery_{number}")))
    return tree


def _series_as_subquery(tree: exp.Expression) -> exp.Expression:
    """`FROM generate_series(a, b, step) AS t(x)` as `FROM (SELECT explode(sequence(a, b, step))
    AS x) AS t`: Spark's own table function form, which sqlglot does not write."""
    for table in list(tree.find_all(exp.Table)):
        series = table.this
        if not isinstance(series, exp.GenerateSeries) or series.args.get("is_end_exclusive"):
            continue  # DuckDB's range() stops before its end, as Spark's sequence() does not
        alias = table.args.get("alias")
        columns = alias.columns if alias is not None else []
        column = columns[0].name if columns else "generate_series"
        bounds = [series.args["start"], series.args["end"]]
        if series.args.get("step") is not None:
            bounds.append(series.args["step"])
        values = exp.Explode(this=exp.Anonymous(this="SEQUENCE", expressions=[b.copy() for b in bounds]))
        select = exp.select(exp.alias_(values, column))
        table.replace(select.subquery(alias.this.name if alias is not None else "series"))
    return tree


def _order_by_selected_aggregates(tree: exp.Expression) -> exp.Expression:
    """Spark cannot sort a grouped query with HAVING by an aggregate it does not select (`HAVING
    count(*) >= 100 ORDER BY avg(items)`): the aggregate is selected under a hidden name, the
    query sorted by that name, and the name dropped outside (`SELECT * EXCEPT`)."""
    for select in list(tree.find_all(exp.Select)):
        order = select.args.get("order")
        if select.args.get("having") is None or order is None:
            continue
        hidden = []
        for number, ordered in enumerate(order.expressions):
            if ordered.this.find(exp.AggFunc) is None:
                continue
            name = f"_order_{number}"
            select.select(exp.alias_(ordered.this.copy(), name), copy=False)
            ordered.set("this", exp.column(name))
            hidden.append(name)
        if hidden:
            outer = exp.select(exp.Star(except_=[exp.column(n) for n in hidden])).from_(
                select.copy().subquery("ordered")
            )
            if select is tree:
                tree = outer
            else:
                select.replace(outer)
    return tree


@functools.cache
def _column_types() -> dict[str, dict[str, str]]:
    """The canonical tables' and views' column types, in DuckDB's names, for sqlglot."""
    from assistant.warehouse import schema

    types = {table.name: {c.name: str(c.type) for c in table.columns} for table in schema.TABLES}
    for view in schema.VIEWS:
        typed = annotate_types(
            qualify(sqlglot.parse_one(view.sql, read="duckdb"), schema=types, dialect="duckdb")
        )
        types[view.name] = {
            item.alias_or_name: item.type.sql("duckdb") if item.type else "UNKNOWN" for item in typed.selects
        }
    return types


def _date_differences(tree: exp.Expression) -> exp.Expression:
    """A date minus a date is a number of days on DuckDB and an interval on Spark: where sqlglot
    can tell both sides are dates (the columns' types, through CTEs and subqueries), DATEDIFF."""
    try:
        typed = annotate_types(
            qualify(tree.copy(), schema=_column_types(), dialect="duckdb"), schema=_column_types()
        )
    except Exception:  # a query sqlglot cannot type is translated as it is
        return tree
    differences = list(tree.find_all(exp.Sub, bfs=False))
    typed_differences = list(typed.find_all(exp.Sub, bfs=False))
    if len(differences) != len(typed_differences):
        return tree
    # Deepest first: a difference inside another is rewritten before its parent is copied.
    for difference, seen in reversed(list(zip(differences, typed_differences, strict=True))):
        if all(side.type is not None and side.type.is_type("date") for side in (seen.this, seen.expression)):
            days = exp.Anonymous(
                this="DATEDIFF", expressions=[difference.this.copy(), difference.expression.copy()]
            )
            if difference is tree:
                return days
            difference.replace(days)
    return tree


def to_dialect(sql: str, dialect: str) -> str:
    """DuckDB SQL as the `dialect` database (sqlglot's name for it) runs it."""
    if dialect == "duckdb":
        return sql
    tree = _name_subqueries(_group_by_all(sqlglot.parse_one(sql, read="duckdb")))
    if dialect == "spark":
        tree = _date_differences(_order_by_selected_aggregates(_series_as_subquery(tree)))
    return tree.sql(dialect=DIALECTS.get(dialect, dialect))
