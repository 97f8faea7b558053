"""The demo shop: deterministic, sized as asked, and its planted facts are really in the data."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from assistant.warehouse.db import Warehouse
from assistant.warehouse.demo import build_catalog, generate


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, dict]:
    """A 300k-event shop (the default size), generated once for the module's tests."""
    from assistant.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("demo"), duckdb_memory_limit="1GB")
    warehouse = Warehouse(settings)
    report = generate(warehouse, 300_000, seed=7)
    manifest = json.loads(open(report.manifest_path).read())
    yield warehouse, manifest | {"report": report.model_dump()}
    warehouse.close()


def fingerprint(warehouse: Warehouse) -> tuple:
    with warehouse.engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT count(*), sum(hash(event_time, user_id, session_id, event_type, product_id, price,"
                " quantity, order_id, query_text)) FROM events"
            )
        ).one()


def test_same_seed_same_shop_other_seed_other_shop(warehouse: Warehouse) -> None:
    generate(warehouse, 20_000, seed=3)
    first = fingerprint(warehouse)
    generate(warehouse, 20_000, seed=3)  # replaces the earlier demo rows
    assert fingerprint(warehouse) == first
    generate(warehouse, 20_000, seed=4)
    assert fingerprint(warehouse) != first


@pytest.mark.parametrize("asked", [10_000, 100_000])
def test_size_is_close_to_what_was_asked(warehouse: Warehouse, asked: int) -> None:
    report = generate(warehouse, asked)
    assert abs(report.events - asked) / asked < 0.1
    with warehouse.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar() == report.events
        assert conn.execute(sa.text("SELECT count(*) FROM loads WHERE source_dataset = 'demo'")).scalar() == 1


def test_catalog_titles_are_unique_and_real_sounding() -> None:
    catalog = build_catalog(1_000, seed=7)
    assert len(set(catalog.title)) == catalog.size == 1_000
    assert "Sony WH-1000XM5 Wireless Headphones" in " ".join(catalog.title)
    assert all(len(d) > 60 for d in catalog.description)
    assert set(catalog.categories) >= {"electronics", "computers", "apparel", "beauty", "books"}


def test_funnel_is_ordered_and_everything_is_consistent(shop: tuple[Warehouse, dict]) -> None:
    warehouse, manifest = shop
    info = warehouse.info()
    funnel = {step.event_type: step for step in info.funnel}
    assert funnel["view"].sessions > funnel["cart"].sessions > funnel["purchase"].sessions > 0
    assert funnel["search"].events > 0
    # The data covers exactly the period: its last day is whole, nothing spills past midnight.
    assert info.first_event.date().isoformat() == manifest["period"]["start"]
    assert info.last_event.date().isoformat() == manifest["period"]["end"]
    with warehouse.engine.connect() as conn:
        one = lambda sql: conn.execute(sa.text(sql)).scalar()  # noqa: E731
        assert (
            one(
                "SELECT count(*) FROM events WHERE product_id IS NOT NULL AND product_id NOT IN (SELECT product_id FROM products)"
            )
            == 0
        )
        assert one("SELECT count(*) FROM events WHERE user_id NOT IN (SELECT user_id FROM users)") == 0
        assert one("SELECT count(*) FROM events WHERE event_type = 'search' AND query_text IS NULL") == 0
        assert one("SELECT count(*) FROM events WHERE event_type = 'purchase' AND order_id IS NULL") == 0
        # Every purchase was carted in the same session first.
        assert (
            one(
                """SELECT count(*) FROM events p WHERE p.event_type = 'purchase' AND NOT EXISTS (
                 SELECT 1 FROM events c WHERE c.session_id = p.session_id AND c.product_id = p.product_id
                 AND c.event_type = 'cart' AND c.event_time <= p.event_time)"""
            )
            == 0
        )
        # Weekends are busier than weekdays.
        weekend, weekday = conn.execute(
            sa.text(
                """SELECT avg(n) FILTER (WHERE dow IN (0, 6)), avg(n) FILTER (WHERE dow NOT IN (0, 6))
                   FROM (SELECT dayofweek(day) dow, sum(events) n FROM daily_metrics GROUP BY day)"""
            )
        ).one()
        assert weekend > 1.15 * weekday


def test_planted_conversion_drop_shows_in_the_data(shop: tuple[Warehouse, dict]) -> None:
    warehouse, manifest = shop
    drop = manifest["planted"]["conversion_drop"]
    assert drop["category"] == "electronics"
    assert drop["conversion_during"] < 0.7 * drop["conversion_4_weeks_before"]
    with warehouse.engine.connect() as conn:
        # The drop is specific to the category: the others hold up that week.
        others = conn.execute(
            sa.text(
                f"""SELECT sum(purchases)::DOUBLE / sum(views) FILTER (WHERE day BETWEEN '{drop["start"]}' AND '{drop["end"]}')
                         / (sum(purchases)::DOUBLE / sum(views))
                    FROM daily_metrics WHERE category NOT IN ('electronics', '(none)')"""
            )
        ).scalar()
    assert others > 0.8


def test_planted_promo_day_is_a_traffic_spike(shop: tuple[Warehouse, dict]) -> None:
    _, manifest = shop
    promo = manifest["planted"]["promo_day"]
    assert promo["events_that_day"] > 1.8 * promo["median_events_per_day"]


def test_planted_bots_act_inhumanly(shop: tuple[Warehouse, dict]) -> None:
    warehouse, manifest = shop
    scrapers = manifest["planted"]["bot_scrapers"]["user_ids"]
    stuffers = manifest["planted"]["bot_cart_stuffers"]["user_ids"]
    assert len(scrapers) >= 3 and len(stuffers) >= 2
    with warehouse.engine.connect() as conn:
        # Mean seconds between a user's events inside sessions (users with 20+ such gaps).
        gaps = dict(
            conn.execute(
                sa.text(
                    """SELECT user_id, sum(epoch(session_end - session_start)) / sum(events - 1)
                       FROM sessions WHERE events > 1 GROUP BY user_id HAVING sum(events - 1) >= 20"""
                )
            ).all()
        )
        scraper_carts = conn.execute(
            sa.text("SELECT count(*) FROM events WHERE event_type = 'cart' AND user_id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": scrapers},
        ).scalar()
    human = sorted(g for u, g in gaps.items() if u not in scrapers + stuffers)
    assert max(gaps[u] for u in scrapers + stuffers) < 3
    assert human[len(human) // 100] > 15  # 99% of people take over 15 s between clicks
    assert scraper_carts == 0


def test_planted_cart_abandonment_channel_stands_out(shop: tuple[Warehouse, dict]) -> None:
    _, manifest = shop
    planted = manifest["planted"]["high_cart_abandonment"]
    rates = planted["abandonment_by_channel"]
    worst = max(rates, key=rates.get)
    assert worst == planted["channel"] == "coupon_site"
    assert rates[worst] > max(r for c, r in rates.items() if c != worst) + 0.15


def test_planted_pair_is_the_most_bought_together(shop: tuple[Warehouse, dict]) -> None:
    warehouse, manifest = shop
    pair = manifest["planted"]["bought_together"]
    with warehouse.engine.connect() as conn:
        top = conn.execute(
            sa.text(
                """WITH lines AS (SELECT DISTINCT order_id, product_id FROM events WHERE event_type = 'purchase')
                   SELECT x.product_id, y.product_id FROM lines x JOIN lines y USING (order_id)
                   WHERE x.product_id < y.product_id GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1"""
            )
        ).one()
    assert set(top) == {pair["product_a"]["product_id"], pair["product_b"]["product_id"]}
    assert pair["orders_with_both"] > 1.3 * pair["next_best_pair_orders"]
    assert "Smartphone" in pair["product_a"]["title"] and "Screen Protector" in pair["product_b"]["title"]
