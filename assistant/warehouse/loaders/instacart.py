"""Instacart orders, as the widely shared merged frame of orders.csv and order_products__prior.csv.

Header: `,order_id,user_id,order_number,order_dow,order_hour_of_day,days_since_prior_order,
product_id,add_to_cart_order,reordered` (the first column is a pandas index). Instacart publishes
no dates, only each order's gap to the user's previous one: event times are reconstructed as
2017-01-01 + the user's cumulative days + the hour of day (+ one second per cart position), so
gaps, hours and order sequences are right while calendar dates are nominal.
"""

from __future__ import annotations

from pathlib import Path

from assistant.warehouse.loaders.base import FileSample, Loader, Plan, header_is, raw_text, read_csv

COLUMNS = [
    "index",
    "order_id",
    "user_id",
    "order_number",
    "order_dow",
    "order_hour_of_day",
    "days_since_prior_order",
    "product_id",
    "add_to_cart_order",
    "reordered",
]
ANCHOR = "2017-01-01"


class Instacart(Loader):
    name = "instacart"
    title = "Instacart order lines: order_id,user_id,order_number,…,product_id,add_to_cart_order,reordered"
    nominal_dates = (
        "The data has no calendar dates: Instacart publishes only the days between a customer's"
        " orders, so months, weekdays and dates cannot be told."
    )

    def detect(self, sample: FileSample) -> bool:
        return header_is(sample, "", *COLUMNS[1:]) or header_is(sample, *COLUMNS)

    def plan(self, path: Path, sample: FileSample) -> Plan:
        days = "coalesce(try_cast(days_since_prior_order AS DOUBLE), 0)"
        # Days since the user's first order, per order: a running sum over the order sequence.
        # (A second scan of the file: the rows it cannot read are the main scan's rejects.)
        offsets = f"""(
  SELECT user_id, order_number,
         sum({days}) OVER (PARTITION BY user_id ORDER BY try_cast(order_number AS INTEGER)) AS day_offset
  FROM (SELECT DISTINCT user_id, order_number, days_since_prior_order
        FROM {read_csv(path, COLUMNS, header=True, store_rejects=False, ignore_errors=True)})
)"""
        source = f"(SELECT s.*, o.day_offset FROM {read_csv(path, COLUMNS, header=True)} AS s LEFT JOIN {offsets} AS o USING (user_id, order_number))"
        hour = "try_cast(order_hour_of_day AS INTEGER)"
        position = "try_cast(try_cast(add_to_cart_order AS DOUBLE) AS INTEGER)"
        time = (
            f"TIMESTAMP '{ANCHOR}' + to_days(CAST(day_offset AS INTEGER)) + to_hours({hour})"
            f" + to_seconds(coalesce({position}, 0))"
        )
        return Plan(
            kind="events",
            source=source,
            columns={
                "event_time": time,
                "user_id": "nullif(user_id, '')",
                "session_id": "nullif(order_id, '')",
                "event_type": "'purchase'",
                "product_id": "nullif(product_id, '')",
                "quantity": "1",
                "order_id": "nullif(order_id, '')",
                "_hour": hour,
                "_day_offset": "day_offset",
            },
            raw=raw_text(COLUMNS),
            checks=(
                ("order_id IS NULL", "missing order_id"),
                ("user_id IS NULL", "missing user_id"),
                ("product_id IS NULL", "missing product_id"),
                ("_hour IS NULL OR _hour NOT BETWEEN 0 AND 23", "bad order_hour_of_day"),
                ("_day_offset IS NULL", "bad order_number or days_since_prior_order"),
            ),
        )
