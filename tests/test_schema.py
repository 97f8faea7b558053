from datetime import datetime

import sqlalchemy as sa

from assistant.settings import Settings
from assistant.warehouse import schema
from assistant.warehouse.db import Warehouse


def test_every_column_of_every_table_and_view_is_documented() -> None:
    docs = schema.describe_columns()
    assert set(docs) == {
        "events",
        "products",
        "users",
        "rejected_rows",
        "loads",
        "orders",
        "sessions",
        "daily_metrics",
    }
    for table, columns in docs.items():
        for column, doc in columns.items():
            assert len(doc) > 8, f"{table}.{column} needs a real comment"


def test_duckdb_stores_the_column_comments(warehouse: Warehouse) -> None:
    with warehouse.engine.connect() as conn:
        comments = dict(
            conn.execute(
                sa.text("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'events'")
            ).all()
        )
        view_comment = conn.execute(
            sa.text("SELECT comment FROM duckdb_views() WHERE view_name = 'sessions'")
        ).scalar()
    assert comments["event_type"].startswith("One of view, cart")
    assert view_comment.startswith("One row per visit")


def test_the_event_type_check_rejects_unknown_types(warehouse: Warehouse) -> None:
    with warehouse.engine.begin() as conn:
        conn.execute(
            schema.events.insert(),
            {"event_time": datetime(2026, 1, 1), "event_type": "view", "source_dataset": "t"},
        )
    try:
        with warehouse.engine.begin() as conn:
            conn.execute(
                schema.events.insert(),
                {"event_time": datetime(2026, 1, 1), "event_type": "click", "source_dataset": "t"},
            )
    except sa.exc.DBAPIError as exc:
        assert "event_type_known" in str(exc) or "CHECK" in str(exc).upper()
    else:
        raise AssertionError("an unknown event type was accepted")


def test_schema_and_views_are_created_on_another_database(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'shop.sqlite'}")
    with Warehouse(settings) as wh:
        wh.ensure_schema()
        wh.ensure_schema()  # idempotent
        inspector = sa.inspect(wh.engine)
        assert {"events", "products", "users", "rejected_rows", "loads"} <= set(inspector.get_table_names())
        assert {"orders", "sessions", "daily_metrics"} <= set(inspector.get_view_names())
        info = wh.info()
    assert [t.rows for t in info.tables] == [0] * 8


def test_views_translate_to_postgres_sql() -> None:
    for view in schema.VIEWS:
        sql = view.create_sql("postgres")
        assert sql.startswith(f"CREATE VIEW {view.name} AS SELECT")
    daily = next(v for v in schema.VIEWS if v.name == "daily_metrics").create_sql("postgres")
    assert "CAST(event_time AS DATE)" in daily
