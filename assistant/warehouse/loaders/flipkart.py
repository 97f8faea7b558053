"""Flipkart product catalog (PromptCloud): the full 15-column export or the 3-column name/category one.

The category tree looks like `["Clothing >> Women's Clothing >> … >> <product name>"]`; its last
level is usually the product's own (often truncated) name, which is not a category and is dropped.
"""

from __future__ import annotations

import re
from pathlib import Path

from assistant.warehouse.loaders.base import FileSample, Loader, Plan, header_is, raw_text, read_csv

FULL = [
    "uniq_id",
    "crawl_timestamp",
    "product_url",
    "product_name",
    "product_category_tree",
    "pid",
    "retail_price",
    "discounted_price",
    "image",
    "is_FK_Advantage_product",
    "description",
    "product_rating",
    "overall_rating",
    "brand",
    "product_specifications",
]
NAMES = ["uniq_id", "product_name", "product_category_tree"]
_NAMES_ROW = re.compile(r'^[0-9a-f]{32},.*,"\[""')


def _levels(tree: str, name: str) -> str:
    """SQL list of category levels, without the trailing product-name level (may leave none)."""
    levels = f"string_split(trim({tree}, '[]\"'), ' >> ')"
    named = (
        f"starts_with(lower({levels}[-1]), lower(left({name}, 12)))"
        f" OR starts_with(lower({name}), lower(rtrim({levels}[-1], '.')))"
    )
    return f"CASE WHEN {named} THEN {levels}[1:-2] ELSE {levels} END"


class Flipkart(Loader):
    name = "flipkart"
    title = "Flipkart catalog: uniq_id,…,product_name,product_category_tree,… (or 3 columns, no header)"
    kind = "products"

    def detect(self, sample: FileSample) -> bool:
        if header_is(sample, *FULL):
            return True
        return bool(sample.lines) and all(_NAMES_ROW.match(line) for line in sample.lines[:10])

    def plan(self, path: Path, sample: FileSample) -> Plan:
        full = header_is(sample, *FULL)
        columns = FULL if full else NAMES
        levels = _levels("product_category_tree", "product_name")
        mapped = {
            "product_id": "nullif(uniq_id, '')",
            "title": "nullif(trim(product_name), '')",
            "category": f"nullif(trim(({levels})[1]), '')",
            "category_path": f"nullif(array_to_string({levels}, ' > '), '')",
        }
        if full:
            price = "coalesce(try_cast(nullif(discounted_price, '') AS DOUBLE), try_cast(nullif(retail_price, '') AS DOUBLE))"
            mapped |= {
                "brand": "lower(nullif(trim(brand), ''))",
                "price": price,
                "description": "nullif(trim(description), '')",
            }
        return Plan(
            kind="products",
            source=read_csv(path, columns, header=full),
            columns=mapped,
            raw=raw_text(columns),
            checks=(("title IS NULL", "missing product_name"),),
        )
