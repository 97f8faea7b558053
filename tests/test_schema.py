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


def _purchase(when: str, user: str | None, order: str, price: float, session: str = "s") -> dict:
    return {
        "event_time": datetime.fromisoformat(when),
        "user_id": user,
        "session_id": session,
        "event_type": "purchase",
        "product_id": "p1",
        "price": price,
        "quantity": 1,
        "order_id": order,
        "source_dataset": "t",
    }


def test_the_orders_view_numbers_each_customers_orders(warehouse: Warehouse) -> None:
    """The sequence columns a small model's SQL reads instead of writing window functions."""
    rows = [
        _purchase("2026-01-01 10:00", "a", "a1", 10),
        _purchase("2026-01-03 09:00", "a", "a2", 20),  # 2 calendar days later (47 hours)
        _purchase("2026-01-10 12:00", "a", "a3", 30),
        _purchase("2026-01-02 08:00", "b", "b1", 5),
        _purchase("2026-01-02 08:00", None, "x1", 7),  # anonymous: no customer, no sequence
        _purchase("2026-01-05 08:00", None, "x2", 7),
    ]
    with warehouse.engine.begin() as conn:
        conn.execute(schema.events.insert(), rows)
        conn.execute(
            schema.events.insert(),
            [{**rows[0], "event_type": "view", "order_id": None, "event_time": datetime(2026, 1, 1, 9, 30)}],
        )
        got = conn.execute(
            sa.text(
                "SELECT order_id, order_number, customer_orders, days_since_previous_order,"
                " days_since_first_order FROM orders ORDER BY order_id"
            )
        ).all()
        session = conn.execute(sa.text("SELECT session_start, first_purchase_time FROM sessions")).one()
    assert [tuple(r) for r in got] == [
        ("a1", 1, 3, None, 0),
        ("a2", 2, 3, 2, 2),
        ("a3", 3, 3, 7, 9),
        ("b1", 1, 1, None, 0),
        ("x1", None, None, None, None),
        ("x2", None, None, None, None),
    ]
    assert tuple(session) == (datetime(2026, 1, 1, 9, 30), datetime(2026, 1, 1, 10, 0))


def test_a_warehouse_built_by_an_older_version_gets_the_current_views(settings: Settings) -> None:
    from assistant.warehouse.db import refresh_views

    with Warehouse(settings) as wh:
        wh.ensure_schema()
        with wh.engine.begin() as conn:
            conn.execute(schema.events.insert(), [_purchase("2026-01-01 10:00", "a", "a1", 10)])
            conn.exec_driver_sql("DROP VIEW orders")
            conn.exec_driver_sql("CREATE VIEW orders AS SELECT order_id, user_id FROM events")
        assert not wh.views_current()
    refresh_views(settings)
    with Warehouse(settings, read_only=True) as reader:
        assert reader.views_current()
        assert reader.scalar("SELECT order_number FROM orders") == 1  # the data is as it was
