"""SQL written once, in DuckDB's dialect, run on any warehouse.

Tools and the metrics layer write DuckDB SQL; for another database sqlglot transpiles it. sqlglot
passes a few DuckDB functions through unchanged where the target has no function of that name
(`DAYNAME`, `HOUR`, `ARG_MAX`, `GROUP BY ALL` …): the generators below write them out in the
target's own terms, so no DuckDB-only syntax reaches another engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres

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


class ShopPostgres(Postgres):
    class Generator(Postgres.Generator):
        TRANSFORMS = {
            **Postgres.Generator.TRANSFORMS,
            exp.Dayname: lambda self, e: f"TO_CHAR({self.sql(e, 'this')}, 'FMDay')",
            exp.Hour: _extract("HOUR"),
            exp.Minute: _extract("MINUTE"),
            exp.DayOfWeekIso: _extract("ISODOW"),
            exp.ArgMax: _arg_extreme("DESC"),
            exp.ArgMin: _arg_extreme("ASC"),
            exp.Round: _round,
            exp.Mode: lambda self, e: f"MODE() WITHIN GROUP (ORDER BY {self.sql(e, 'this')})",
        }


DIALECTS: dict[str, type[sqlglot.Dialect] | str] = {"postgres": ShopPostgres}


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


def to_dialect(sql: str, dialect: str) -> str:
    """DuckDB SQL as the `dialect` database (sqlglot's name for it) runs it."""
    if dialect == "duckdb":
        return sql
    tree = _group_by_all(sqlglot.parse_one(sql, read="duckdb"))
    return tree.sql(dialect=DIALECTS.get(dialect, dialect))
