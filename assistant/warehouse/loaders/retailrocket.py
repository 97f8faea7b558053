"""RetailRocket e-commerce data set: a folder of events.csv, item_properties_part*.csv, category_tree.csv.

events.csv: `timestamp,visitorid,event,itemid,transactionid` (milliseconds; view, addtocart,
transaction). An item's category is its latest `categoryid` property; the category path is
walked up category_tree.csv. Other properties are hashed in the public release and not used.
Point the loader at the folder or at its events.csv.
"""

from __future__ import annotations

from pathlib import Path

from assistant.warehouse.loaders.base import FileSample, Loader, Plan, header_is, raw_text, read_csv

EVENTS = ["timestamp", "visitorid", "event", "itemid", "transactionid"]
PROPERTIES = ["timestamp", "itemid", "property", "value"]
TREE = ["categoryid", "parentid"]
KINDS = {"view": "view", "addtocart": "cart", "transaction": "purchase"}


class RetailRocket(Loader):
    name = "retailrocket"
    title = "RetailRocket: folder with events.csv (timestamp,visitorid,event,itemid,transactionid), item_properties, category_tree"

    def main_file(self, folder: Path) -> Path | None:
        events = folder / "events.csv"
        return events if events.is_file() else None

    def detect(self, sample: FileSample) -> bool:
        return header_is(sample, *EVENTS)

    def label(self, path: Path) -> str:
        folder = path if path.is_dir() else path.parent
        return f"{self.name}:{folder.name}"

    def plan(self, path: Path, sample: FileSample) -> Plan:
        folder = path if path.is_dir() else path.parent
        events = folder / "events.csv"
        joins = ""
        category = path_expr = "CAST(NULL AS VARCHAR)"
        properties = sorted(folder.glob("item_properties*.csv"))
        if properties:
            joins += f"""
  LEFT JOIN (
    SELECT itemid, arg_max(value, try_cast("timestamp" AS BIGINT)) AS categoryid
    FROM {read_csv(properties, PROPERTIES, header=True, store_rejects=False)}
    WHERE property = 'categoryid' GROUP BY itemid
  ) AS c USING (itemid)"""
            category = path_expr = "c.categoryid"
            tree = folder / "category_tree.csv"
            if tree.is_file():
                # Walk each category up to its root: 'root > … > leaf' (ids are all the data has).
                joins += f"""
  LEFT JOIN (
    WITH RECURSIVE t AS (SELECT * FROM {read_csv(tree, TREE, header=True, store_rejects=False)}),
    walk(categoryid, node, depth, path) AS (
      SELECT categoryid, nullif(parentid, ''), 1, categoryid FROM t
      UNION ALL
      SELECT w.categoryid, nullif(t.parentid, ''), w.depth + 1, t.categoryid || ' > ' || w.path
      FROM walk w JOIN t ON t.categoryid = w.node WHERE w.depth < 64
    )
    SELECT categoryid, arg_max(path, depth) AS path FROM walk GROUP BY categoryid
  ) AS p ON p.categoryid = c.categoryid"""
                category = "coalesce(split_part(p.path, ' > ', 1), c.categoryid)"
                path_expr = "coalesce(p.path, c.categoryid)"
        # One subquery with plain names: the pipeline sees the event row plus its category.
        source = f"""(
  SELECT e.*, {category} AS item_category, {path_expr} AS item_category_path
  FROM {read_csv(events, EVENTS, header=True)} AS e{joins}
)"""
        mapping = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in KINDS.items())
        return Plan(
            kind="events",
            source=source,
            columns={
                "event_time": 'make_timestamp(try_cast("timestamp" AS BIGINT) * 1000)',
                "user_id": "nullif(visitorid, '')",
                "event_type": f"CASE event {mapping} END",
                "product_id": "nullif(itemid, '')",
                "category": "item_category",
                "category_path": "item_category_path",
                "quantity": "1",
                "order_id": "nullif(transactionid, '')",
            },
            raw=raw_text(EVENTS),
            checks=(
                ("event_time IS NULL", "unparseable timestamp"),
                ("event_type IS NULL", "unknown event"),
                ("user_id IS NULL", "missing visitorid"),
                ("product_id IS NULL", "missing itemid"),
            ),
            sessionize=True,
        )
