"""The canonical warehouse schema, defined once.

Tables are SQLAlchemy Core metadata, so `create_all` builds them on DuckDB (the embedded
default) or on any other SQLAlchemy URL. Views are written once in DuckDB SQL and translated
to the target dialect with sqlglot. Every column carries a comment: it is stored in the
database and shown to the LLM, so write it for a reader who has never seen the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from assistant.warehouse.dialects import to_dialect

EVENT_TYPES: tuple[str, ...] = ("view", "cart", "remove_from_cart", "purchase", "fav", "search")

metadata = sa.MetaData()

events = sa.Table(
    "events",
    metadata,
    sa.Column("event_time", sa.DateTime, nullable=False, comment="When the event happened, UTC."),
    sa.Column("user_id", sa.String, comment="Who did it; NULL for anonymous visitors."),
    sa.Column(
        "session_id",
        sa.String,
        comment="Visit the event belongs to; sources without sessions are split on 30 min of inactivity.",
    ),
    sa.Column(
        "event_type",
        sa.String,
        nullable=False,
        comment="One of view, cart (added to cart), remove_from_cart, purchase, fav (wishlist), search.",
    ),
    sa.Column(
        "product_id", sa.String, comment="Product acted on (join products.product_id); NULL for search."
    ),
    sa.Column("category", sa.String, comment="Top-level category of the product at event time."),
    sa.Column("brand", sa.String, comment="Brand of the product, lower case; NULL when unknown."),
    sa.Column(
        "price",
        sa.Double,
        comment="Unit price at event time, in the shop's currency; for purchases, the price paid.",
    ),
    sa.Column(
        "quantity",
        sa.Integer,
        comment="Units; 1 unless the source says otherwise; negative for returns/cancellations.",
    ),
    sa.Column(
        "order_id", sa.String, comment="Order a purchase belongs to (join orders.order_id); NULL otherwise."
    ),
    sa.Column("query_text", sa.String, comment="What the user typed, for search events; NULL otherwise."),
    sa.Column(
        "source_dataset",
        sa.String,
        nullable=False,
        comment="Where the row came from: loader format and file name, e.g. 'rees46:2019-Oct.csv'.",
    ),
    sa.CheckConstraint(
        "event_type IN (" + ", ".join(f"'{t}'" for t in EVENT_TYPES) + ")", name="event_type_known"
    ),
    comment="One row per user action: views, cart changes, purchases, wishlist adds, searches.",
)

products = sa.Table(
    "products",
    metadata,
    sa.Column("product_id", sa.String, primary_key=True, comment="Product identifier (SKU, item id)."),
    sa.Column(
        "title", sa.String, comment="Product name as shown in the shop; NULL when the source has none."
    ),
    sa.Column("category", sa.String, comment="Top-level category, e.g. 'electronics'."),
    sa.Column(
        "category_path",
        sa.String,
        comment="Full category path from the top level down, levels joined by ' > '.",
    ),
    sa.Column("brand", sa.String, comment="Brand, lower case; NULL when unknown."),
    sa.Column("price", sa.Double, comment="Current (latest seen) list price."),
    sa.Column("description", sa.String, comment="Free-text product description; NULL when none."),
    sa.Column("source_dataset", sa.String, nullable=False, comment="Load that last wrote this product."),
    comment="The product catalog: one row per product.",
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.String, primary_key=True, comment="User identifier, as in events.user_id."),
    sa.Column("first_seen", sa.DateTime, comment="Time of the user's first event, UTC."),
    sa.Column("country", sa.String, comment="Country name when the source has it; NULL otherwise."),
    sa.Column(
        "attributes",
        sa.JSON,
        comment="Other per-user facts from the source as a JSON object (e.g. signup channel).",
    ),
    sa.Column("source_dataset", sa.String, nullable=False, comment="Load that last wrote this user."),
    comment="One row per known user.",
)

rejected_rows = sa.Table(
    "rejected_rows",
    metadata,
    sa.Column("source_dataset", sa.String, nullable=False, comment="Load the row belonged to."),
    sa.Column("line_number", sa.BigInteger, comment="Line in the file, when the CSV reader knows it."),
    sa.Column("reason", sa.String, nullable=False, comment="Why the row was not loaded."),
    sa.Column("raw", sa.String, comment="The rejected row as read (fields joined by the file's delimiter)."),
    comment="Rows a load could not accept, with the reason; nothing is dropped silently.",
)

loads = sa.Table(
    "loads",
    metadata,
    sa.Column("source_dataset", sa.String, primary_key=True, comment="Loader format and file name."),
    sa.Column("format", sa.String, nullable=False, comment="Loader that read the file."),
    sa.Column("path", sa.String, nullable=False, comment="File or folder loaded."),
    sa.Column("file_bytes", sa.BigInteger, comment="Size of the input in bytes."),
    sa.Column("loaded_at", sa.DateTime, nullable=False, comment="When the load finished, UTC."),
    sa.Column("seconds", sa.Double, comment="How long the load took."),
    sa.Column("rows_loaded", sa.BigInteger, comment="Event rows loaded."),
    sa.Column("rows_rejected", sa.BigInteger, comment="Rows sent to rejected_rows."),
    sa.Column("products_loaded", sa.BigInteger, comment="Catalog rows written."),
    sa.Column("users_loaded", sa.BigInteger, comment="User rows written."),
    comment="One row per loaded source; re-loading the same file replaces its rows.",
)

TABLES: tuple[sa.Table, ...] = (events, products, users, rejected_rows, loads)


@dataclass(frozen=True)
class View:
    name: str
    comment: str
    columns: dict[str, str]
    sql: str  # DuckDB dialect; translated by sqlglot for other databases

    def create_sql(self, dialect: str) -> str:
        body = to_dialect(self.sql, dialect)
        return f"CREATE VIEW {self.name} AS {body}"


VIEWS: tuple[View, ...] = (
    View(
        name="orders",
        comment="One row per order, built from purchase events that carry an order_id.",
        columns={
            "order_id": "Order identifier.",
            "user_id": "Who placed the order.",
            "order_time": "Time of the order's first purchase event, UTC.",
            "items": "Units bought (sum of quantity; returns count negative).",
            "distinct_products": "Number of different products in the order.",
            "lines": "Number of purchase events (order lines) in the order.",
            "revenue": "Money paid: sum of price * quantity over the order's lines.",
            "source_dataset": "Load the order came from.",
            "order_number": "The customer's n-th order by time: 1 = first order, 2 = second; NULL if anonymous.",
            "customer_orders": "How many orders this order's customer placed in all (order_number = customer_orders"
            " is their latest).",
            "days_since_previous_order": "Calendar days since the same customer's previous order; NULL for a"
            " first order.",
            "days_since_first_order": "Calendar days since the same customer's first order; 0 for the first.",
        },
        # Sequences ("first order", "days between orders") as columns: a small model writes
        # `WHERE order_number = 1` reliably, and window functions over a subquery poorly.
        sql="""
SELECT *,
       CASE WHEN user_id IS NOT NULL THEN
            row_number() OVER (PARTITION BY user_id ORDER BY order_time, order_id) END AS order_number,
       CASE WHEN user_id IS NOT NULL THEN count(*) OVER (PARTITION BY user_id) END AS customer_orders,
       CASE WHEN user_id IS NOT NULL THEN date_diff('day',
            lag(order_time) OVER (PARTITION BY user_id ORDER BY order_time, order_id), order_time) END
            AS days_since_previous_order,
       CASE WHEN user_id IS NOT NULL THEN date_diff('day',
            min(order_time) OVER (PARTITION BY user_id), order_time) END AS days_since_first_order
FROM (
    SELECT order_id,
           min(user_id) AS user_id,
           min(event_time) AS order_time,
           sum(coalesce(quantity, 1)) AS items,
           count(DISTINCT product_id) AS distinct_products,
           count(*) AS lines,
           sum(price * coalesce(quantity, 1)) AS revenue,
           min(source_dataset) AS source_dataset
    FROM events
    WHERE event_type = 'purchase' AND order_id IS NOT NULL
    GROUP BY order_id
) AS order_rows
""",
    ),
    View(
        name="sessions",
        comment="One row per visit (session) with how far down the funnel it got.",
        columns={
            "session_id": "Session identifier.",
            "user_id": "Visitor; NULL for anonymous sessions.",
            "session_start": "First event time, UTC.",
            "session_end": "Last event time, UTC.",
            "events": "Number of events in the session.",
            "views": "Product views.",
            "carts": "Add-to-cart events.",
            "purchases": "Purchase events.",
            "reached_cart": "True when the session added anything to the cart.",
            "reached_purchase": "True when the session bought anything.",
            "first_purchase_time": "Time of the session's first purchase event, UTC; NULL when it bought nothing.",
            "source_dataset": "Load the session came from.",
        },
        sql="""
SELECT session_id,
       min(user_id) AS user_id,
       min(event_time) AS session_start,
       max(event_time) AS session_end,
       count(*) AS events,
       sum(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
       sum(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
       sum(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
       max(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) = 1 AS reached_cart,
       max(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) = 1 AS reached_purchase,
       min(CASE WHEN event_type = 'purchase' THEN event_time END) AS first_purchase_time,
       min(source_dataset) AS source_dataset
FROM events
WHERE session_id IS NOT NULL
GROUP BY session_id
""",
    ),
    View(
        name="daily_metrics",
        comment="Per day and top-level category: traffic, funnel counts and revenue.",
        columns={
            "day": "Calendar day, UTC.",
            "category": "Top-level category; '(none)' for events without one (e.g. searches).",
            "events": "All events.",
            "users": "Distinct users that day in that category (do not add up across categories).",
            "sessions": "Distinct sessions (do not add up across categories).",
            "views": "Product views.",
            "carts": "Add-to-cart events.",
            "purchases": "Purchase events (order lines).",
            "orders": "Distinct orders.",
            "revenue": "Sum of price * quantity over purchases.",
        },
        sql="""
SELECT CAST(event_time AS DATE) AS day,
       coalesce(category, '(none)') AS category,
       count(*) AS events,
       count(DISTINCT user_id) AS users,
       count(DISTINCT session_id) AS sessions,
       sum(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
       sum(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
       sum(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases,
       count(DISTINCT CASE WHEN event_type = 'purchase' THEN order_id END) AS orders,
       coalesce(sum(CASE WHEN event_type = 'purchase' THEN price * coalesce(quantity, 1) END), 0) AS revenue
FROM events
GROUP BY 1, 2
""",
    ),
)


def describe_columns() -> dict[str, dict[str, str]]:
    """Every table and view with its column docs: what the LLM reads instead of guessing."""
    docs: dict[str, dict[str, str]] = {}
    for table in TABLES:
        docs[table.name] = {c.name: c.comment or "" for c in table.columns}
    for view in VIEWS:
        docs[view.name] = dict(view.columns)
    return docs
