"""Amazon product sample (PromptCloud, 2020): product_name,product_url,product_price,product_category."""

from __future__ import annotations

from pathlib import Path

from assistant.warehouse.loaders.base import FileSample, Loader, Plan, header_is, raw_text, read_csv

COLUMNS = ["product_name", "product_url", "product_price", "product_category"]


class Amazon(Loader):
    name = "amazon"
    title = "Amazon product sample: product_name,product_url,product_price,product_category"
    kind = "products"

    def detect(self, sample: FileSample) -> bool:
        return header_is(sample, *COLUMNS)

    def plan(self, path: Path, sample: FileSample) -> Plan:
        # The ASIN from '/dp/B07KMVJJK7'; a hash of the URL when a link has none.
        asin = "regexp_extract(product_url, '/dp/([A-Z0-9]{10})', 1)"
        # Prices come as '$237.68', but also '$24.99 $ 24 . 99', ranges '$10.04 - $49.99' (the low
        # end is taken) and text ('Currently unavailable.', 'from 2 sellers': no price, still a product).
        amount = r"regexp_extract(product_price, '\$\s*([0-9][0-9,]*(\.[0-9]+)?)', 1)"
        price = f"try_cast(replace({amount}, ',', '') AS DOUBLE)"
        return Plan(
            kind="products",
            source=read_csv(path, COLUMNS, header=True),
            columns={
                "product_id": f"coalesce(nullif({asin}, ''), 'url-' || left(md5(product_url), 16))",
                "title": "nullif(trim(product_name), '')",
                "category": "nullif(trim(product_category), '')",
                "category_path": "nullif(trim(product_category), '')",
                "price": price,
                "_url": "nullif(product_url, '')",
            },
            raw=raw_text(COLUMNS),
            checks=(
                ("title IS NULL", "missing product_name"),
                ("_url IS NULL", "missing product_url"),
            ),
        )
