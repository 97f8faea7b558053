"""Every real sample in ../shared/data/real loads with the figures its README gives.

Counts below come from that README (rows, users, items, time spans, funnel counts) or, where
it gives none, from an independent read of the raw file noted beside the figure.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime

import pytest
import sqlalchemy as sa

from assistant.warehouse.db import Warehouse
from assistant.warehouse.load import load_file
from assistant.warehouse.loaders import detect

from .conftest import real


@dataclass
class Expected:
    path: str
    format: str
    rows: int
    rejected: dict[str, int] = field(default_factory=dict)
    users: int | None = None
    products: int | None = None
    sessions: int | None = None
    first: str | None = None
    last: str | None = None
    funnel: dict[str, int] = field(default_factory=dict)


CASES = [
    Expected(
        "rees46/rees46_2019-Oct_phamhoa2416_sample.csv",
        "rees46",
        4_999,
        users=1_747,
        products=2_305,
        sessions=1_898,
        first="2019-10-01 00:00:00",
        last="2019-10-01 02:28:14",
        funnel={"view": 4_895, "cart": 50, "purchase": 54},
    ),
    Expected(
        "taobao/UserBehavior_betashepherd_HotItems.csv",
        "taobao",
        10_000,
        users=114,
        products=7_623,
        first="2017-11-24",
        last="2017-12-03",
        funnel={"view": 9_046, "cart": 536, "fav": 212, "purchase": 206},
    ),
    # Out-of-range timestamps: the one row from 2017-09 is rejected, the 43 users stay.
    Expected(
        "taobao/UserBehavior_fattydelivery.csv",
        "taobao",
        4_320,
        rejected={"timestamp outside the data set window (2017-11-25..12-03)": 1},
        users=43,
        first="2017-11-24",
        last="2017-12-03",
    ),
    # The truncated last row ('…,pv,15': its timestamp cut to 15) is rejected. The README's
    # 75,385 items count that row's item, which appears nowhere else: 75,384 remain.
    Expected(
        "taobao/UserBehavior_rdav27_flink_ecommerce.csv",
        "taobao",
        96_168,
        rejected={"timestamp outside the data set window (2017-11-25..12-03)": 1},
        users=58_732,
        products=75_384,
        first="2017-11-26 01:00:00",
        last="2017-11-26 02:55:09",
    ),
    Expected(
        "online_retail/online_retail_first_rows_hadaroshani.csv",
        "online_retail",
        10_000,
        users=390,
        products=1_822,
        sessions=521,
        first="2010-12-01",
        last="2010-12-07",
        funnel={"purchase": 10_000},
    ),
    Expected(
        "cdnow/CDNOW_master.txt",
        "cdnow",
        69_659,
        users=23_570,
        first="1997-01-01",
        last="1998-06-30",
        funnel={"purchase": 69_659},
    ),
    Expected("cdnow/CDNOW_sample.txt", "cdnow", 6_919, users=2_357, first="1997-01-01", last="1998-06-30"),
    Expected("instacart/df_sample.csv", "instacart", 150_000, users=593, products=14_190, sessions=15_183),
    # README: 12,391 item views of ~3k sessions (2,986 distinct session ids in the file).
    Expected(
        "diginetica/diginetica_sample_train-item-views_SR-GNN.csv",
        "diginetica",
        12_391,
        sessions=2_986,
        funnel={"view": 12_391},
    ),
    Expected("yoochoose/yoochoose-clicks-100k_train_full.txt", "yoochoose", 70_278, funnel={"view": 70_278}),
    Expected("yoochoose/yoochoose-clicks-100k_test.txt", "yoochoose", 13_568, sessions=3_416),
    Expected("flipkart/flipkart_names_categories_SolBarker.csv", "flipkart", 20_000, products=20_000),
    Expected("flipkart/flipkart_first_rows_guduchango.csv", "flipkart", 48, products=48),
    # One ASIN appears twice in the file: the first row is kept, the second rejected.
    Expected(
        "amazon/amazon_2020_products_name_price_category_kamemia.csv",
        "amazon",
        9_065,
        rejected={"duplicate product_id in file (the first row was kept)": 1},
        products=9_065,
    ),
]


@pytest.mark.real_data
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.path.split("/")[-1])
def test_real_sample_loads_with_its_published_figures(warehouse: Warehouse, case: Expected) -> None:
    path = real(case.path)
    assert detect(path).name == case.format
    report = load_file(warehouse, path)

    assert report.format == case.format
    assert report.rows_loaded == case.rows
    assert report.rejected_by_reason == case.rejected
    assert report.rows_read == case.rows + sum(case.rejected.values())
    with warehouse.engine.connect() as conn:
        scalar = lambda sql: conn.execute(sa.text(sql)).scalar()  # noqa: E731
        if case.users is not None:
            assert scalar("SELECT count(DISTINCT user_id) FROM events") == case.users
            assert scalar("SELECT count(*) FROM users") == case.users
        if case.products is not None:
            assert scalar("SELECT count(*) FROM products") == case.products
        if case.sessions is not None:
            assert scalar("SELECT count(*) FROM sessions") == case.sessions
        if case.funnel:  # every event type present, with its count
            by_type = dict(conn.execute(sa.text("SELECT event_type, count(*) FROM events GROUP BY 1")).all())
            assert by_type == case.funnel
        if case.first:
            assert str(report.first_event).startswith(case.first)
            assert str(report.last_event).startswith(case.last)
        assert scalar("SELECT count(*) FROM rejected_rows") == sum(case.rejected.values())


@pytest.mark.real_data
def test_reloading_a_file_is_idempotent(warehouse: Warehouse) -> None:
    path = real("taobao/UserBehavior_fattydelivery.csv")
    first = load_file(warehouse, path)
    before = {t.name: t.rows for t in warehouse.info().tables}
    second = load_file(warehouse, path)
    after = {t.name: t.rows for t in warehouse.info().tables}
    assert before == after
    assert first.rows_loaded == second.rows_loaded == 4_320
    assert after["rejected_rows"] == 1 and after["loads"] == 1


@pytest.mark.real_data
def test_rees46_fields_are_mapped_to_the_canonical_columns(warehouse: Warehouse) -> None:
    load_file(warehouse, real("rees46/rees46_2019-Oct_phamhoa2416_sample.csv"))
    with warehouse.engine.connect() as conn:
        first = (
            conn.execute(
                sa.text("SELECT * FROM events WHERE product_id = '3900821' ORDER BY event_time LIMIT 1")
            )
            .one()
            ._mapping
        )
        product = conn.execute(sa.text("SELECT * FROM products WHERE product_id = '3900821'")).one()._mapping
        brands = conn.execute(sa.text("SELECT count(DISTINCT brand) FROM events")).scalar()
    # 2019-10-01 00:00:00 UTC,view,3900821,…,appliances.environment.water_heater,aqua,33.20,554748717,9333dfbd-…
    assert first["event_time"] == datetime(2019, 10, 1)
    assert first["user_id"] == "554748717"
    assert first["session_id"] == "9333dfbd-b87a-4708-9857-6336556b0fcc"
    assert (first["category"], first["brand"], first["price"]) == ("appliances", "aqua", 33.2)
    assert product["category_path"] == "appliances > environment > water_heater"
    assert brands == 465  # README


@pytest.mark.real_data
def test_online_retail_revenue_and_countries_match_the_raw_file(warehouse: Warehouse) -> None:
    path = real("online_retail/online_retail_first_rows_hadaroshani.csv")
    load_file(warehouse, path)
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    raw_revenue = sum(float(r["Quantity"]) * float(r["UnitPrice"]) for r in rows)
    with warehouse.engine.connect() as conn:
        revenue = conn.execute(sa.text("SELECT sum(revenue) FROM orders")).scalar()
        countries = conn.execute(sa.text("SELECT count(DISTINCT country) FROM users")).scalar()
        invoices = conn.execute(sa.text("SELECT count(*) FROM orders")).scalar()
        user = conn.execute(sa.text("SELECT user_id FROM events ORDER BY event_time LIMIT 1")).scalar()
    assert revenue == pytest.approx(raw_revenue, rel=1e-9)
    assert (countries, invoices) == (15, 521)  # README
    assert user == "17850"  # the float id '17850.0', normalised


@pytest.mark.real_data
def test_cdnow_sample_matches_the_published_per_customer_summaries(warehouse: Warehouse) -> None:
    """frequency = repeat purchase days and recency = weeks from first to last purchase day,
    both within the 39-week calibration period ending 1997-09-30, as in the summary file."""
    load_file(warehouse, real("cdnow/CDNOW_sample.txt"))
    with open(real("cdnow/cdnow_customers_summary.csv"), newline="") as handle:
        published = {r["ID"]: r for r in csv.DictReader(handle)}
    with warehouse.engine.connect() as conn:
        ours = conn.execute(
            sa.text(
                """
                SELECT user_id, count(DISTINCT event_time::DATE) - 1 AS frequency,
                       (max(event_time::DATE) - min(event_time::DATE)) / 7.0 AS recency
                FROM events WHERE event_time < DATE '1997-10-01' GROUP BY user_id"""
            )
        ).all()
    assert len(ours) == len(published) == 2_357
    for user_id, frequency, recency in ours:
        row = published[user_id]
        assert frequency == int(row["frequency"]), user_id
        assert recency == pytest.approx(float(row["recency"]), abs=0.01), user_id


@pytest.mark.real_data
def test_flipkart_category_tree_becomes_a_path_without_the_product_name(warehouse: Warehouse) -> None:
    load_file(warehouse, real("flipkart/flipkart_names_categories_SolBarker.csv"))
    with warehouse.engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT title, category, category_path FROM products WHERE product_id = 'f449ec65dcbc041b6ae5e6a32717d01b'"
            )
        ).one()
        top = conn.execute(
            sa.text("SELECT category FROM products GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
        ).scalar()
    # ["Footwear >> Women's Footwear >> Ballerinas >> AW Bellies"], product name 'AW Bellies'
    assert tuple(row) == ("AW Bellies", "Footwear", "Footwear > Women's Footwear > Ballerinas")
    assert top == "Clothing"


def test_a_catalog_fills_titles_that_events_lack_and_events_keep_them(warehouse: Warehouse, tmp_path) -> None:
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(
        "product_name,product_url,product_price,product_category\n"
        '"Aqua Water Heater 10L",https://www.amazon.com/x/dp/B000000001,$33.20,Appliances\n'
    )
    load_file(warehouse, catalog)
    events = tmp_path / "events.csv"
    events.write_text(
        "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n"
        "2019-10-01 00:00:00 UTC,view,B000000001,1,appliances.water_heater,aqua,35.00,7,s1\n"
    )
    load_file(warehouse, events)
    with warehouse.engine.connect() as conn:
        product = conn.execute(sa.text("SELECT * FROM products")).one()._mapping
    assert product["title"] == "Aqua Water Heater 10L"  # kept from the catalog
    assert product["price"] == 35.0 and product["brand"] == "aqua"  # updated by the newer events
