"""UCI Online Retail I (InvoiceNo,…,UnitPrice,CustomerID,Country) and II (Invoice,…,Price,Customer ID,Country).

Every line is an order line. Cancellations (invoice 'C…', negative quantity) are kept as
purchases with negative quantity, so revenue sums are net of returns, as analysts report them.
"""

from __future__ import annotations

from pathlib import Path

from assistant.warehouse.loaders.base import FileSample, Loader, Plan, raw_text, read_csv

# Logical field -> header names used by Online Retail I and II (normalised: lower, no spaces/_).
FIELDS = {
    "invoice": ("invoiceno", "invoice"),
    "stock_code": ("stockcode",),
    "description": ("description",),
    "quantity": ("quantity",),
    "invoice_date": ("invoicedate",),
    "unit_price": ("unitprice", "price"),
    "customer_id": ("customerid",),
    "country": ("country",),
}
# '2010-12-01 08:26:00' in the cleaned exports, '12/1/2010 8:26' in the original spreadsheet.
DATE_FORMATS = "['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%m/%d/%Y %H:%M', '%m/%d/%Y %H:%M:%S']"


def _positions(sample: FileSample) -> dict[str, int] | None:
    header = sample.header()
    found: dict[str, int] = {}
    for field, names in FIELDS.items():
        hits = [i for i, h in enumerate(header) if h in names]
        if not hits:
            return None
        found[field] = hits[0]
    return found


class OnlineRetail(Loader):
    name = "online_retail"
    title = "UCI Online Retail I/II: InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"

    def detect(self, sample: FileSample) -> bool:
        return _positions(sample) is not None

    def plan(self, path: Path, sample: FileSample) -> Plan:
        positions = _positions(sample)
        assert positions is not None
        # Read every column of the header under a safe name; use the ones we know by position.
        names = [f"c{i}" for i in range(len(sample.fields(0)))]
        col = {field: names[i] for field, i in positions.items()}
        time = f"try_strptime({col['invoice_date']}, {DATE_FORMATS})"
        quantity = f"try_cast({col['quantity']} AS INTEGER)"
        price = f"try_cast({col['unit_price']} AS DOUBLE)"
        return Plan(
            kind="events",
            source=read_csv(path, names, header=True),
            columns={
                "event_time": time,
                # CustomerID comes as a float ('17850.0') in many exports; empty for guest orders.
                "user_id": f"nullif(regexp_replace({col['customer_id']}, '\\.0+$', ''), '')",
                "session_id": f"nullif({col['invoice']}, '')",
                "event_type": "'purchase'",
                "product_id": f"nullif({col['stock_code']}, '')",
                "price": price,
                "quantity": quantity,
                "order_id": f"nullif({col['invoice']}, '')",
                "title": f"nullif(trim({col['description']}), '')",
                "country": f"nullif(trim({col['country']}), '')",
            },
            raw=raw_text(names),
            checks=(
                ("event_time IS NULL", "unparseable InvoiceDate"),
                ("quantity IS NULL", "unparseable Quantity"),
                ("price IS NULL", "unparseable price"),
                ("order_id IS NULL", "missing invoice number"),
                ("product_id IS NULL", "missing StockCode"),
            ),
        )
