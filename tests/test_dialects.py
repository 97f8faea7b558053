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


# DuckDB SQL as Spark runs it; the figures are compared on a real Spark in tests/test_warehouse_spark.py.
@pytest.mark.parametrize(
    ("duckdb", "spark"),
    [
        ("SELECT dayname(t) FROM events", "SELECT DATE_FORMAT(t, 'EEEE') FROM events"),
        # boundaries crossed, as DuckDB counts them (Spark's DATEDIFF(unit) counts whole units)
        (
            "SELECT date_diff('day', a, b) FROM e",
            "SELECT DATEDIFF(CAST(b AS DATE), CAST(a AS DATE)) FROM e",
        ),
        (
            "SELECT epoch(b - a) FROM e",
            "SELECT ((UNIX_MICROS(CAST(b AS TIMESTAMP)) - UNIX_MICROS(CAST(a AS TIMESTAMP))) / 1000000.0D) FROM e",
        ),
        # a decimal literal is a double, as DuckDB divides it
        ("SELECT 1.0 * n / 3 FROM e", "SELECT 1.0D * n / 3 FROM e"),
        ("SELECT quantile_cont(x, [0.5, 0.9]) FROM e", "SELECT PERCENTILE(x, ARRAY(0.5D, 0.9D)) FROM e"),
        (
            "SELECT p FROM generate_series(DATE '2020-01-01', DATE '2020-01-03', INTERVAL 1 DAY) AS t(p)",
            "SELECT p FROM (SELECT EXPLODE(SEQUENCE(CAST('2020-01-01' AS DATE), CAST('2020-01-03' AS DATE),"
            " INTERVAL '1' DAY)) AS p) AS t",
        ),
        # Spark cannot sort a HAVING query by an aggregate it does not select
        (
            "SELECT category FROM events GROUP BY 1 HAVING count(*) > 9 ORDER BY avg(price) DESC LIMIT 1",
            "SELECT * EXCEPT (_order_0) FROM (SELECT category, AVG(price) AS _order_0 FROM events GROUP BY 1"
            " HAVING COUNT(*) > 9 ORDER BY _order_0 DESC LIMIT 1) AS ordered",
        ),
    ],
)
def test_duckdb_sql_is_written_as_spark_means_it(duckdb: str, spark: str) -> None:
    assert to_dialect(duckdb, "spark") == spark


def test_a_date_minus_a_date_is_days_on_spark_where_the_types_say_so() -> None:
    sql = (
        "WITH d AS (SELECT user_id, min(event_time)::DATE AS first_day, max(event_time)::DATE AS last_day"
        " FROM events GROUP BY 1) SELECT avg(last_day - first_day), avg(price - 1) FROM d, events"
    )
    spark = to_dialect(sql, "spark")
    assert "AVG(DATEDIFF(last_day, first_day))" in spark
    assert "AVG(price - 1)" in spark  # numbers stay numbers
    assert to_dialect("SELECT x - y FROM nowhere", "spark") == "SELECT x - y FROM nowhere"
