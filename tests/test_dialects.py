"""DuckDB SQL as PostgreSQL runs it (assistant/warehouse/dialects.py); the figures themselves are
compared on a real PostgreSQL in tests/test_warehouse_engines.py."""

from __future__ import annotations

import pytest

from assistant.warehouse.dialects import to_dialect


@pytest.mark.parametrize(
    ("duckdb", "postgres"),
    [
        ("SELECT dayname(t) FROM e", "SELECT TO_CHAR(t, 'FMDay') FROM e"),
        ("SELECT quarter(t) FROM e", "SELECT CAST(EXTRACT(QUARTER FROM t) AS INTEGER) FROM e"),
        ("SELECT year(t) FROM e", "SELECT CAST(EXTRACT(YEAR FROM t) AS INTEGER) FROM e"),
        (
            "SELECT hour(t), isodow(t) FROM e",
            "SELECT CAST(EXTRACT(HOUR FROM t) AS INTEGER), CAST(EXTRACT(ISODOW FROM t) AS INTEGER) FROM e",
        ),
        ("SELECT arg_max(b, n) FROM e", "SELECT (ARRAY_AGG(b ORDER BY n DESC NULLS LAST))[1] FROM e"),
        ("SELECT arg_min(b, n) FROM e", "SELECT (ARRAY_AGG(b ORDER BY n ASC NULLS LAST))[1] FROM e"),
        ("SELECT mode(c) FROM e", "SELECT MODE() WITHIN GROUP (ORDER BY c) FROM e"),
        (
            "SELECT date_bin(INTERVAL 10 MINUTE, t) FROM e",
            "SELECT DATE_BIN(INTERVAL '10 MINUTE', t, TIMESTAMP '2000-01-03 00:00:00') FROM e",
        ),
        ("SELECT round(x, 1), round(x) FROM e", "SELECT ROUND(CAST(x AS NUMERIC), 1), ROUND(x) FROM e"),
        # the keys of GROUP BY ALL, by position; a constant and an aggregate are not keys
        (
            "SELECT 'all' AS k, c, sum(p) FROM e GROUP BY ALL",
            "SELECT 'all' AS k, c, SUM(p) FROM e GROUP BY 2",
        ),
        ("SELECT count(*) FROM e GROUP BY ALL", "SELECT COUNT(*) FROM e"),
        (
            "SELECT x FROM (SELECT c AS x, count(*) FROM e GROUP BY ALL) AS s",
            "SELECT x FROM (SELECT c AS x, COUNT(*) FROM e GROUP BY 1) AS s",
        ),
    ],
)
def test_duckdb_functions_postgres_lacks_are_written_out(duckdb: str, postgres: str) -> None:
    assert to_dialect(duckdb, "postgres") == postgres


def test_duckdb_sql_is_left_as_written() -> None:
    sql = "SELECT dayname(t), arg_max(b, n) FROM e GROUP BY ALL"
    assert to_dialect(sql, "duckdb") is sql


def test_a_subquery_in_from_gets_the_name_postgresql_asks_for() -> None:
    assert to_dialect(
        "SELECT count(*) FROM (SELECT a FROM e) JOIN (SELECT b FROM f) ON true", "postgres"
    ) == ("SELECT COUNT(*) FROM (SELECT a FROM e) AS subquery_0 JOIN (SELECT b FROM f) AS subquery_1 ON TRUE")
    assert (
        to_dialect("SELECT x FROM (SELECT 1 AS x) AS named", "postgres")
        == "SELECT x FROM (SELECT 1 AS x) AS named"
    )
