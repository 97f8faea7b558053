"""The demo shop: a seeded, deterministic generator of a realistic shop, with planted facts.

So the product runs with no data of the user's. Users belong to latent segments (loyal high
spenders, bargain hunters, window shoppers, casual, churned) that shape how often they come,
what they look at, what price level they prefer, and how often they buy. Sessions follow a
search -> view -> cart -> purchase funnel with category-specific rates, weekly and daily
seasonality. Planted facts, written to a manifest for the eval harness:

- a conversion drop in one category over a known week, spread over all its brands and devices,
- a checkout outage on one device over another week: that device's purchases stop (one driver),
- a promo day with a traffic spike and discounted prices,
- a bot-like cluster (inhuman view bursts at night) and a cart-stuffing cluster,
- a segment (arriving mostly through one acquisition channel) with unusually high cart abandonment,
- a product pair often bought together,
- searches for a few things the catalog does not hold (demand gaps).

Generation runs in chunks of users, vectorised with numpy and inserted through Arrow, so
memory stays bounded from 10k to 100M events. Each chunk draws from its own seeded stream.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from pydantic import BaseModel

from assistant.warehouse.db import Warehouse
from assistant.warehouse.load import record_load
from assistant.warehouse.loaders.base import sql_str

log = logging.getLogger(__name__)

START = datetime(2026, 8, 3)  # a Monday; the shop's data covers 13 weeks from here
DAYS = 91
CHUNK_USERS = 20_000
SOURCE = "demo"
# Searches for what the shop does not sell (planted demand gaps), and their share of all searches.
DEMAND_GAPS = ("drone with 4k camera", "electric scooter", "aquarium fish tank")
DEMAND_GAP_SHARE = 0.06
# Event type codes drawn below, in this order (search is 5: it carries no product).
EVENT_TYPES = ("view", "cart", "remove_from_cart", "purchase", "fav", "search")

COUNTRIES = {
    "United States": 0.30,
    "United Kingdom": 0.14,
    "Germany": 0.13,
    "France": 0.10,
    "Spain": 0.07,
    "Italy": 0.07,
    "Netherlands": 0.06,
    "Poland": 0.05,
    "Canada": 0.05,
    "Australia": 0.03,
}
CHANNELS = ("organic_search", "paid_search", "social", "email", "direct", "coupon_site")
DEVICES = ("mobile", "desktop", "tablet")
WEEKDAY_TRAFFIC = (0.92, 0.90, 0.93, 0.97, 1.05, 1.22, 1.18)  # Monday..Sunday
HOUR_TRAFFIC = (0.15, 0.08, 0.05, 0.04, 0.05, 0.10, 0.25, 0.45, 0.60, 0.70, 0.75, 0.80) + (
    0.90,
    0.85,
    0.80,
    0.80,
    0.85,
    0.95,
    1.10,
    1.30,
    1.45,
    1.40,
    1.05,
    0.55,
)

# Planted facts (days are offsets from START).
DROP_CATEGORY = "electronics"
DROP_DAYS = (63, 70)  # 2026-10-05 .. 2026-10-11: purchases in the category collapse
DROP_FACTOR = 0.1
# 2026-10-26 .. 2026-11-01 (the last week): checkout broken on desktop, so desktop sessions cannot buy.
OUTAGE_DEVICE = "desktop"
OUTAGE_DAYS = (84, 91)
PROMO_DAY = 80  # 2026-10-22: autumn sale
PROMO_TRAFFIC = 2.5
PROMO_DISCOUNT = 0.20
PAIR_PROBABILITY = 0.7  # B joins an order that has A
PAIR_REVERSE_PROBABILITY = 0.15  # A joins an order that has B
ABANDON_CHANNEL = "coupon_site"


@dataclass(frozen=True)
class Segment:
    share: float
    sessions: float  # mean sessions over the 13 weeks
    views: float  # mean product views per session
    cart: float  # multiplier on the base add-to-cart rate
    purchase: float  # chance a session with items still in the cart ends in a purchase
    price: int  # preferred price level: 0 cheap, 1 any, 2 premium
    search: float  # chance a session starts with a search
    focus: float  # Dirichlet concentration of category preferences (low: few categories)
    active_until: float = 1.0  # fraction of the period the user stays active (churned < 1)
    gap: float = 45.0  # mean seconds between events


SEGMENTS: dict[str, Segment] = {
    "loyal_high_spender": Segment(0.08, 14, 4.0, 1.7, 0.78, 2, 0.30, 0.6),
    "bargain_hunter": Segment(0.22, 9, 7.0, 1.4, 0.16, 0, 0.60, 0.4),
    "window_shopper": Segment(0.30, 6, 9.0, 0.3, 0.35, 1, 0.25, 1.5),
    "casual": Segment(0.25, 3, 4.0, 1.0, 0.55, 1, 0.35, 0.8),
    "churned": Segment(0.15, 6, 5.0, 1.0, 0.50, 1, 0.30, 0.8, active_until=0.4),
}
BASE_CART_RATE = 0.09


class DemoReport(BaseModel):
    events: int
    users: int
    products: int
    sessions: int
    orders: int
    seconds: float
    manifest_path: str


@dataclass
class Catalog:
    product_id: np.ndarray  # int, 1..P
    title: list[str]
    category: np.ndarray  # int index into categories
    subcategory: list[str]
    brand: list[str]
    price: np.ndarray
    description: list[str]
    categories: list[str]
    conversion: np.ndarray  # per category
    queries: list[list[str]]  # per category
    # Sampling tables: per (category, price level) a cumulative distribution over its products.
    cdf: np.ndarray  # (C * 3, Pmax)
    members: np.ndarray  # (C, Pmax) product index, -1 padding

    @property
    def size(self) -> int:
        return len(self.product_id)


def _load_vocabulary() -> dict[str, Any]:
    text = resources.files("assistant.warehouse").joinpath("demo_catalog.yaml").read_text()
    return yaml.safe_load(text)


def build_catalog(n_products: int, seed: int) -> Catalog:
    """Products with real-sounding titles and descriptions, prices and popularity."""
    rng = np.random.default_rng([seed, 1])
    vocab = _load_vocabulary()
    categories = list(vocab)
    subs = [
        (ci, name, spec)
        for ci, cat in enumerate(categories)
        for name, spec in vocab[cat]["subcategories"].items()
    ]
    per_sub = np.full(len(subs), n_products // len(subs))
    per_sub[: n_products - per_sub.sum()] += 1

    titles: list[str] = []
    brands: list[str] = []
    descriptions: list[str] = []
    subcategories: list[str] = []
    cat_index: list[int] = []
    prices: list[float] = []
    popularity: list[float] = []
    editions = ("", "Pro", "Plus", "Lite", "Gen 2", "SE", "2025 Model", "Max", "Mini")
    for (ci, sub, spec), count in zip(subs, per_sub, strict=True):
        lines, variants, features = spec["lines"], spec["variants"], spec["features"]
        combos = [
            (li, vi, ei)
            for ei in range(len(editions))
            for li in range(len(lines))
            for vi in range(len(variants))
        ]
        order = rng.permutation(len(combos))
        low, high = spec["price"]
        # Each product line sits at its own price tier inside the subcategory's range.
        tiers = rng.uniform(0.15, 0.85, size=len(lines))
        for k in range(count):
            li, vi, ei = combos[order[k % len(combos)]]
            series = k // len(combos)  # large catalogs: repeat the combos as later series
            brand = spec["brands"][li % len(spec["brands"])]
            parts = (
                _brand_title(brand),
                lines[li],
                spec["noun"],
                editions[ei],
                f"Series {series + 1}" if series else "",
            )
            name = " ".join(part for part in parts if part)
            titles.append(f"{name}, {variants[vi]}")
            brands.append(brand)
            picked = rng.choice(len(features), size=3, replace=False)
            f1, f2, f3 = (features[i] for i in picked)
            descriptions.append(
                f"{name} ({variants[vi]}) with {f1}, {f2} and {f3}. "
                f"Part of our {sub} range in {categories[ci]}."
            )
            subcategories.append(sub)
            cat_index.append(ci)
            level = np.clip(tiers[li] + rng.normal(0, 0.08) + 0.04 * ei, 0.0, 1.0)
            price = math.exp(math.log(low) + level * (math.log(high) - math.log(low)))
            prices.append(max(1.0, round(price) - 0.01))
            popularity.append(1.0 / (1 + rng.permutation(count)[0]) ** 0.9)

    category = np.asarray(cat_index)
    price = np.asarray(prices)
    members, cdf = _view_sampling(category, price, np.asarray(popularity), len(categories))
    return Catalog(
        product_id=np.arange(1, len(titles) + 1),
        title=titles,
        category=category,
        subcategory=subcategories,
        brand=brands,
        price=price,
        description=descriptions,
        categories=categories,
        conversion=np.asarray([vocab[c]["conversion"] for c in categories], dtype=float),
        queries=[
            sorted({q for spec in vocab[c]["subcategories"].values() for q in spec["queries"]})
            for c in categories
        ],
        cdf=cdf,
        members=members,
    )


def _view_sampling(
    category: np.ndarray, price: np.ndarray, popularity: np.ndarray, n_cat: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each category's products (`members`, padded with -1) and, per category and price level
    (cheap, middle, dear: row `category * 3 + level`), the cumulative chance of viewing each:
    popularity tilted toward the level's prices."""
    pmax = int(np.bincount(category, minlength=n_cat).max())
    members = np.full((n_cat, pmax), -1)
    cdf = np.ones((n_cat * 3, pmax))
    for ci in range(n_cat):
        idx = np.flatnonzero(category == ci)
        members[ci, : len(idx)] = idx
        logp = np.log(price[idx])
        z = (logp - logp.mean()) / (logp.std() + 1e-9)
        for level, tilt in enumerate((-1.3, 0.0, 1.3)):
            w = popularity[idx] * np.exp(tilt * z)
            cdf[ci * 3 + level, : len(idx)] = np.cumsum(w) / w.sum()
            cdf[ci * 3 + level, len(idx) - 1] = 1.0
    return members, cdf


def _brand_title(brand: str) -> str:
    special = {
        "lg": "LG",
        "hp": "HP",
        "wd": "WD",
        "jbl": "JBL",
        "aoc": "AOC",
        "msr": "MSR",
        "ghd": "ghd",
        "dk": "DK",
    }
    return special.get(
        brand, brand.title().replace("'S", "'s").replace("Loreal", "L'Oreal").replace("Oreilly", "O'Reilly")
    )


def _day_weights() -> np.ndarray:
    weights = np.array([WEEKDAY_TRAFFIC[(START + timedelta(days=d)).weekday()] for d in range(DAYS)])
    weights[PROMO_DAY] *= PROMO_TRAFFIC
    return weights


@dataclass
class Chunk:
    events: pa.Table
    users: pa.Table
    truth: pa.Table  # user_id -> latent segment, for the manifest only
    n_sessions: int
    n_orders: int
    n_drawn: int = 0  # events drawn, before the outage took purchases out (sizes the shop)


@dataclass(frozen=True)
class Bots:
    scrapers: int
    stuffers: int
    views_per_session: int


def generate_chunk(
    catalog: Catalog,
    seed: int,
    chunk: int,
    n_users: int,
    first_user: int,
    first_session: int,
    first_order: int,
    bots: Bots | None,
    pair: tuple[int, int],
) -> Chunk:
    """One chunk of users and all their events; deterministic in (seed, chunk)."""
    draw = _ChunkDraw(catalog, seed, chunk, n_users, bots, pair)
    # The stages draw from one generator in this order: reordering them changes every shop.
    draw.users()
    draw.sessions()
    draw.views()
    draw.purchases()
    draw.events()
    draw.times()
    events = draw.events_table(first_user, first_session, first_order)
    users, truth = draw.users_tables(first_user)
    return Chunk(
        events=events,
        users=users,
        truth=truth,
        n_sessions=draw.n_s,
        n_orders=int(draw.buying.sum()),
        n_drawn=draw.n_e,
    )


class _ChunkDraw:
    """The random draws of one chunk, stage by stage; each stage reads what the earlier ones drew
    (users, then their sessions, views, carts and purchases, the events and their times)."""

    def __init__(
        self, catalog: Catalog, seed: int, chunk: int, n_users: int, bots: Bots | None, pair: tuple[int, int]
    ) -> None:
        self.catalog, self.n_users, self.bots, self.pair = catalog, n_users, bots, pair
        self.rng = np.random.default_rng([seed, 2, chunk + 1])  # chunk -1 is the sizing pilot
        # The planted demand gaps draw from their own stream: nothing else drawn changes.
        self.gap_rng = np.random.default_rng([seed, 3, chunk + 1])
        self.names = list(SEGMENTS)
        self.specs = [SEGMENTS[n] for n in self.names]

    def col(self, attr: str, bot_value: float) -> np.ndarray:
        """A segment attribute by segment code; the bots' codes (5, 6) get `bot_value`."""
        return np.array([getattr(s, attr) for s in self.specs] + [bot_value, bot_value])

    def users(self) -> None:
        """Each user's segment, country, channel, device and category preferences."""
        rng, bots, n_users = self.rng, self.bots, self.n_users
        n_bot = (bots.scrapers + bots.stuffers) if bots else 0
        seg = rng.choice(len(self.names), size=n_users - n_bot, p=[s.share for s in self.specs])
        # Bots: segment codes after the human ones (5 scrapers, 6 cart stuffers).
        seg = np.concatenate(
            [seg, np.full(bots.scrapers if bots else 0, 5), np.full(bots.stuffers if bots else 0, 6)]
        )
        is_bot = seg >= 5
        self.seg, self.is_bot = seg, is_bot
        self.countries = list(COUNTRIES)
        self.country = rng.choice(len(self.countries), size=n_users, p=list(COUNTRIES.values()))
        self.country[is_bot] = self.countries.index("Netherlands")  # a hosting provider's range
        channel = rng.choice(len(CHANNELS), size=n_users, p=[0.3, 0.2, 0.18, 0.12, 0.17, 0.03])
        # Bargain hunters mostly arrive through coupon sites: the channel carries their abandonment.
        bargain = seg == self.names.index("bargain_hunter")
        via_coupon = bargain & (rng.random(n_users) < 0.6)
        channel[via_coupon] = CHANNELS.index(ABANDON_CHANNEL)
        channel[is_bot] = CHANNELS.index("direct")
        self.channel = channel
        self.device = rng.choice(len(DEVICES), size=n_users, p=[0.62, 0.31, 0.07])
        n_cat = len(self.catalog.categories)
        focus = self.col("focus", 1.0)[seg]
        pref = rng.gamma(np.repeat(focus[:, None], n_cat, axis=1))
        self.pref = pref / pref.sum(axis=1, keepdims=True)

    def sessions(self) -> None:
        """Sessions per user, the day and hour each starts, and the category it browses."""
        rng, seg = self.rng, self.seg
        n_sess = rng.poisson(self.col("sessions", 1.0)[seg])
        n_sess[~self.is_bot] = np.maximum(n_sess[~self.is_bot], 1)
        n_sess[self.is_bot] = 4
        self.sess_user = sess_user = np.repeat(np.arange(self.n_users), n_sess)
        self.n_s = n_s = len(sess_user)
        self.sseg = seg[sess_user]
        day_cdf = np.cumsum(_day_weights())
        day_cdf /= day_cdf[-1]
        active_until = self.col("active_until", 1.0)[seg]
        cutoff = np.maximum(1, np.round(active_until * DAYS * rng.uniform(0.75, 1.0, self.n_users))).astype(
            int
        )
        cutoff[active_until >= 1.0] = DAYS
        day = np.searchsorted(day_cdf, rng.random(n_s) * day_cdf[cutoff[sess_user] - 1], side="right")
        self.day = np.minimum(day, DAYS - 1)
        hour_cdf = np.cumsum(HOUR_TRAFFIC) / np.sum(HOUR_TRAFFIC)
        hour = np.searchsorted(hour_cdf, rng.random(n_s), side="right")
        self.bot_s = self.sseg >= 5
        hour[self.bot_s] = rng.integers(1, 5, size=self.bot_s.sum())  # bots work at night
        self.start = (self.day * 86400 + hour * 3600 + rng.integers(0, 3600, n_s)).astype(np.int64)
        cum_pref = np.cumsum(self.pref, axis=1)[sess_user]
        self.cat = np.minimum(
            (rng.random(n_s)[:, None] > cum_pref).sum(axis=1), len(self.catalog.categories) - 1
        )

    def views(self) -> None:
        """The products each session views, drawn from its category at the segment's price level."""
        rng, catalog, bots = self.rng, self.catalog, self.bots
        n_views = rng.geometric(1.0 / self.col("views", 1.0)[self.sseg])
        if bots:
            n_views[self.bot_s] = rng.integers(
                bots.views_per_session // 2, bots.views_per_session + 1, size=self.bot_s.sum()
            )
        self.n_views = n_views
        self.view_sess = view_sess = np.repeat(np.arange(self.n_s), n_views)
        n_v = len(view_sess)
        offsets = np.cumsum(n_views) - n_views
        self.view_pos = np.arange(n_v) - offsets[view_sess]
        level = self.col("price", 1)[self.sseg][view_sess]
        row = self.cat[view_sess] * 3 + level
        flat = (catalog.cdf + np.arange(catalog.cdf.shape[0])[:, None]).ravel()
        hit = np.searchsorted(flat, rng.random(n_v) + row, side="right")
        local = np.minimum(hit - row * catalog.cdf.shape[1], catalog.cdf.shape[1] - 1)
        product = catalog.members[self.cat[view_sess], local]
        bad = product < 0  # padding (cannot happen with a well-formed cdf, but never emit it)
        product[bad] = catalog.members[self.cat[view_sess][bad], 0]
        self.product = product

    def purchases(self) -> None:
        """Carts, removals and purchases, with the planted category drop, promo day and pair."""
        rng, catalog, view_sess, n_s = self.rng, self.catalog, self.view_sess, self.n_s
        n_v = len(view_sess)
        vseg = self.sseg[view_sess]
        p_cart = BASE_CART_RATE * self.col("cart", 0.0)[vseg] * catalog.conversion[self.cat[view_sess]]
        p_cart[vseg == 6] = 1.0  # cart stuffers add everything they look at...
        self.is_cart = is_cart = rng.random(n_v) < p_cart
        self.is_remove = is_cart & ((rng.random(n_v) < 0.12) | (vseg == 6))  # ...and take it out again
        kept = is_cart & ~self.is_remove
        has_kept = np.bincount(view_sess, weights=kept, minlength=n_s) > 0
        p_buy = self.col("purchase", 0.0)[self.sseg] * np.sqrt(catalog.conversion[self.cat])
        day = self.day
        dropped = (
            (np.asarray(catalog.categories)[self.cat] == DROP_CATEGORY)
            & (day >= DROP_DAYS[0])
            & (day < DROP_DAYS[1])
        )
        p_buy[dropped] *= DROP_FACTOR
        p_buy[day == PROMO_DAY] *= 1.3
        self.buys = has_kept & (rng.random(n_s) < np.minimum(p_buy, 0.97))
        self.bought = bought = kept & self.buys[view_sess]
        # The planted pair: when A is bought, B often joins the order (viewed and carted first);
        # less often the other way round.
        a_idx, b_idx = self.pair
        has_a = np.bincount(view_sess, weights=bought & (self.product == a_idx), minlength=n_s) > 0
        has_b = np.bincount(view_sess, weights=bought & (self.product == b_idx), minlength=n_s) > 0
        self.add_b = np.flatnonzero(has_a & ~has_b & (rng.random(n_s) < PAIR_PROBABILITY))
        self.add_a = np.flatnonzero(has_b & ~has_a & (rng.random(n_s) < PAIR_REVERSE_PROBABILITY))

    def events(self) -> None:
        """The events in order: (session, position in session, type, product)."""
        view_sess, view_pos, product = self.view_sess, self.view_pos, self.product
        is_cart, is_remove, bought = self.is_cart, self.is_remove, self.bought
        search = self.rng.random(self.n_s) < self.col("search", 0.0)[self.sseg]
        sess_idx = np.flatnonzero(search)
        parts = [(sess_idx, np.full(len(sess_idx), -1), 5, np.full(len(sess_idx), -1))]
        parts.append((view_sess, 3 * view_pos, 0, product))
        parts.append((view_sess[is_cart], 3 * view_pos[is_cart] + 1, 1, product[is_cart]))
        tail = 3 * self.n_views[view_sess]
        parts.append((view_sess[is_remove], tail[is_remove] + 1 + view_pos[is_remove], 2, product[is_remove]))
        parts.append((view_sess[bought], tail[bought] + 10_000 + view_pos[bought], 3, product[bought]))
        a_idx, b_idx = self.pair
        for added, idx in ((self.add_b, b_idx), (self.add_a, a_idx)):
            tail_pair = 3 * self.n_views[added]
            parts.append((added, tail_pair + 5_000, 0, np.full(len(added), idx)))
            parts.append((added, tail_pair + 5_001, 1, np.full(len(added), idx)))
            parts.append((added, tail_pair + 20_000, 3, np.full(len(added), idx)))
        ev_sess = np.concatenate([p[0] for p in parts])
        ev_pos = np.concatenate([p[1] for p in parts])
        ev_type = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
        ev_prod = np.concatenate([p[3] for p in parts])
        order = np.lexsort((ev_pos, ev_sess))
        self.ev_sess, self.ev_type, self.ev_prod = ev_sess[order], ev_type[order], ev_prod[order]
        self.n_e = len(self.ev_sess)

    def times(self) -> None:
        """Each event's time: the session start plus exponential gaps (bots: about a second)."""
        ev_sess, sseg = self.ev_sess, self.sseg
        gap_mean = np.where(sseg[ev_sess] >= 5, 1.2, self.col("gap", 1.0)[sseg[ev_sess]])
        gaps = self.rng.exponential(gap_mean)
        first = np.r_[True, ev_sess[1:] != ev_sess[:-1]]
        gaps[first] = 0.0
        csum = np.cumsum(gaps)
        since_start = csum - csum[np.flatnonzero(first)][np.cumsum(first) - 1]
        # A session that would run past the period's last midnight starts earlier instead, so the
        # data's last day is a whole day (periods like "last 7 days" end on it).
        length = np.zeros(self.n_s)
        np.maximum.at(length, ev_sess, since_start)
        overflow = np.maximum(0, self.start + np.ceil(length).astype(np.int64) - (DAYS * 86400 - 1))
        start = self.start - overflow
        self.micros = (start[ev_sess] * 1_000_000 + (since_start * 1_000_000).astype(np.int64)) + int(
            START.replace(tzinfo=UTC).timestamp() * 1_000_000
        )

    def events_table(self, first_user: int, first_session: int, first_order: int) -> pa.Table:
        """The events as rows of the events table, the outage's purchases taken out."""
        rng, catalog, ev_sess, ev_type, ev_prod = (
            self.rng,
            self.catalog,
            self.ev_sess,
            self.ev_type,
            self.ev_prod,
        )
        n_e = self.n_e
        has_product = ev_prod >= 0
        prod_safe = np.where(has_product, ev_prod, 0)
        price = catalog.price[prod_safe].copy()
        promo = self.day[ev_sess] == PROMO_DAY
        price[promo] = np.round(price[promo] * (1 - PROMO_DISCOUNT), 2)
        is_purchase = ev_type == 3
        quantity = np.where(is_purchase & (rng.random(n_e) < 0.08), 2, 1)
        buying = self.buys.copy()
        buying[self.add_b] = True  # (add_a sessions already buy: they hold B)
        self.buying = buying
        order_num = np.cumsum(buying) - 1 + first_order
        query = rng.integers(0, 1_000_000, n_e)
        searches = ev_type == 5
        query_text = np.full(n_e, None, dtype=object)
        query_text[searches] = [
            catalog.queries[c][q % len(catalog.queries[c])]
            for c, q in zip(self.cat[ev_sess][searches], query[searches], strict=True)
        ]
        # Planted demand gaps: a share of the searches ask for things the catalog does not hold.
        gaps = np.flatnonzero(searches)[self.gap_rng.random(int(searches.sum())) < DEMAND_GAP_SHARE]
        query_text[gaps] = np.array(DEMAND_GAPS, dtype=object)[
            self.gap_rng.integers(0, len(DEMAND_GAPS), len(gaps))
        ]
        order_ids = np.where(is_purchase & buying[ev_sess], order_num[ev_sess], -1)
        self.user_ids = self.sess_user[ev_sess] + first_user
        events = pa.table(
            {
                "event_time": pa.array(self.micros, type=pa.timestamp("us")),
                "user_id": pa.array(self.user_ids.astype(str)),
                "session_id": pa.array((ev_sess + first_session).astype(str)),
                "event_type": pa.array(np.array(EVENT_TYPES)[ev_type]),
                "product_id": pa.array(
                    np.where(has_product, catalog.product_id[prod_safe].astype(str), None)
                ),
                "category": pa.array(np.array(catalog.categories)[self.cat[ev_sess]]),
                "brand": pa.array(np.where(has_product, np.array(catalog.brand)[prod_safe], None)),
                "price": pa.array(np.where(has_product, price, np.nan), from_pandas=True),
                # Searches carry no product, price or quantity.
                "quantity": pa.array(np.where(searches, None, quantity), type=pa.int32()),
                "order_id": pa.array(np.where(order_ids >= 0, order_ids.astype(str), None)),
                "query_text": pa.array(query_text, type=pa.string()),
                "source_dataset": pa.array(np.full(n_e, SOURCE)),
            }
        )
        # The checkout outage: those sessions' purchases are taken out after every draw, so the
        # rest of the shop is exactly what it would have been without it.
        outage = (
            (self.device[self.sess_user] == DEVICES.index(OUTAGE_DEVICE))
            & (self.day >= OUTAGE_DAYS[0])
            & (self.day < OUTAGE_DAYS[1])
        )
        return events.filter(pa.array(~(is_purchase & outage[ev_sess])))

    def users_tables(self, first_user: int) -> tuple[pa.Table, pa.Table]:
        """The users table's rows for the users with events, and their latent segments (the truth)."""
        n_users, local = self.n_users, self.user_ids - first_user
        active = np.bincount(local, minlength=n_users) > 0
        first_micros = np.full(n_users, np.iinfo(np.int64).max)
        np.minimum.at(first_micros, local, self.micros)
        ids = np.flatnonzero(active)
        attributes = [
            json.dumps({"channel": CHANNELS[self.channel[i]], "device": DEVICES[self.device[i]]}) for i in ids
        ]
        user_ids = pa.array((ids + first_user).astype(str))
        users = pa.table(
            {
                "user_id": user_ids,
                "first_seen": pa.array(first_micros[ids], type=pa.timestamp("us")),
                "country": pa.array(np.array(self.countries)[self.country[ids]]),
                "attributes": pa.array(attributes),
                "source_dataset": pa.array(np.full(len(ids), SOURCE)),
            }
        )
        segment_names = np.array(self.names + ["bot_scraper", "bot_cart_stuffer"])
        truth = pa.table(
            {
                "user_id": user_ids,
                "segment": pa.array(segment_names[self.seg[ids]]),
                "channel": pa.array(np.array(CHANNELS)[self.channel[ids]]),
            }
        )
        return users, truth


PILOT_USERS = 4_000
BOT_SHARE = 0.02  # of all events


def _plan_size(events: int, catalog: Catalog, seed: int, pair: tuple[int, int]) -> tuple[int, Bots]:
    """Users (bots included) for about `events` events, from a pilot chunk's events per user."""
    pilot = generate_chunk(catalog, seed, -1, PILOT_USERS, 1, 1, 1, bots=None, pair=pair)
    per_user = pilot.n_drawn / PILOT_USERS
    humans = max(50, round(events * (1 - BOT_SHARE) / per_user))
    scrapers = max(3, humans // 2500)
    stuffers = max(2, humans // 5000)
    # Scrapers make most of the bot traffic: 4 sessions each; stuffers add about as much again
    # per view (a cart and a removal), so views per session are sized on both.
    views = int(np.clip(BOT_SHARE * events / (4 * (scrapers + 3 * stuffers)), 20, 400))
    return humans + scrapers + stuffers, Bots(scrapers=scrapers, stuffers=stuffers, views_per_session=views)


def generate(
    warehouse: Warehouse,
    events: int,
    seed: int = 7,
    progress: Callable[[str, float | None], None] | None = None,
) -> DemoReport:
    """Replace the warehouse's demo rows with a freshly generated shop of about `events` events."""
    if not warehouse.is_duckdb:
        return _generate_into(warehouse, events, seed, progress)
    report = progress or (lambda stage, fraction: None)
    started = time.perf_counter()
    catalog = build_catalog(int(np.clip(events // 300, 400, 20_000)), seed)
    pair = _pick_pair(catalog)
    n_users, bots = _plan_size(events, catalog, seed, pair)
    warehouse.ensure_schema()
    truth_tables: list[pa.Table] = []
    totals = {"events": 0, "sessions": 0, "orders": 0, "users": 0}
    with warehouse.duckdb_transaction() as con:
        report("generating", 0.0)
        for table in ("events", "users", "products", "rejected_rows", "loads"):
            con.execute(f"DELETE FROM {table} WHERE source_dataset = {sql_str(SOURCE)}")
        _insert(con, "INSERT OR REPLACE INTO products SELECT * FROM rows", _products_table(catalog))
        n_chunks = math.ceil(n_users / CHUNK_USERS)
        for chunk in range(n_chunks):
            size = min(CHUNK_USERS, n_users - chunk * CHUNK_USERS)
            part = generate_chunk(
                catalog,
                seed,
                chunk,
                size,
                first_user=1 + chunk * CHUNK_USERS,
                first_session=1 + totals["sessions"],
                first_order=1 + totals["orders"],
                bots=bots if chunk == 0 else None,
                pair=pair,
            )
            _insert(con, "INSERT INTO events SELECT * FROM rows", part.events)
            _insert(
                con,
                "INSERT OR REPLACE INTO users SELECT user_id, first_seen, country, attributes::JSON,"
                " source_dataset FROM rows",
                part.users,
            )
            truth_tables.append(part.truth)
            totals["events"] += part.events.num_rows
            totals["sessions"] += part.n_sessions
            totals["orders"] += part.n_orders
            totals["users"] += part.users.num_rows
            report("generating", (chunk + 1) / n_chunks)
        report("measuring planted facts", None)
        truth = pa.concat_tables(truth_tables)
        manifest = _manifest(con, catalog, pair, bots, seed, events, truth)
        seconds = time.perf_counter() - started
        record_load(
            con,
            source_dataset=SOURCE,
            format="demo",
            path=f"generated: seed {seed}, {events:,} events asked",
            file_bytes=None,
            seconds=seconds,
            rows_loaded=totals["events"],
            rows_rejected=0,
            products_loaded=catalog.size,
            users_loaded=totals["users"],
        )
    path = manifest_path(warehouse)
    path.write_text(json.dumps(manifest, indent=2, default=str))
    pq.write_table(truth, truth_path(warehouse))
    log.info("demo shop: %s events, %s users in %.1fs", totals["events"], totals["users"], seconds)
    return DemoReport(
        events=totals["events"],
        users=totals["users"],
        products=catalog.size,
        sessions=totals["sessions"],
        orders=totals["orders"],
        seconds=round(time.perf_counter() - started, 3),
        manifest_path=str(path),
    )


def _generate_into(
    warehouse: Warehouse, events: int, seed: int, progress: Callable[[str, float | None], None] | None
) -> DemoReport:
    """The demo shop in another database: generated into a scratch DuckDB file, then copied as a
    load is (COPY on PostgreSQL), with its manifest and truth beside the warehouse's settings."""
    import shutil
    import tempfile

    from assistant.warehouse.load import copy_to

    report = progress or (lambda stage, fraction: None)
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="shoplens-demo-"))
    try:
        scratch = Warehouse(
            warehouse.settings.with_overrides(
                data_dir=folder, database_url="duckdb:///" + str(folder / "demo.duckdb")
            )
        )
        with scratch:
            made = generate(scratch, events, seed, progress)
            warehouse.ensure_schema()
            with scratch.duckdb_transaction() as con:
                copy_to(con, warehouse, SOURCE, report)
        warehouse.settings.data_dir.mkdir(parents=True, exist_ok=True)
        for move in (manifest_path, truth_path):
            shutil.move(str(move(scratch)), move(warehouse))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    seconds = round(time.perf_counter() - started, 3)
    return made.model_copy(update={"manifest_path": str(manifest_path(warehouse)), "seconds": seconds})


def _products_table(catalog: Catalog) -> pa.Table:
    """The catalog as rows of the products table."""
    paths = [
        f"{catalog.categories[c]} > {s}" for c, s in zip(catalog.category, catalog.subcategory, strict=True)
    ]
    return pa.table(
        {
            "product_id": pa.array(catalog.product_id.astype(str)),
            "title": pa.array(catalog.title),
            "category": pa.array(np.array(catalog.categories)[catalog.category]),
            "category_path": pa.array(paths),
            "brand": pa.array(catalog.brand),
            "price": pa.array(catalog.price),
            "description": pa.array(catalog.description),
            "source_dataset": pa.array(np.full(catalog.size, SOURCE)),
        }
    )


def _insert(con: Any, sql: str, rows: pa.Table) -> None:
    """Run `sql`, which reads the Arrow table `rows` as a view named rows."""
    con.register("rows", rows)
    try:
        con.execute(sql)
    finally:
        con.unregister("rows")


def manifest_path(warehouse: Warehouse) -> Path:
    """Where the planted facts of the warehouse's demo shop are written (beside the data dir's DB)."""
    return warehouse.settings.data_dir / f"{warehouse.settings.warehouse}.demo-manifest.json"


def truth_path(warehouse: Warehouse) -> Path:
    """Each demo user's latent segment (parquet: user_id, segment), to score segmentation against."""
    return warehouse.settings.data_dir / f"{warehouse.settings.warehouse}.demo-truth.parquet"


def _pick_pair(catalog: Catalog) -> tuple[int, int]:
    """The planted bought-together pair: the most popular smartphone and a screen protector."""
    electronics = catalog.categories.index("electronics")
    members = list(catalog.members[electronics])
    # Each product's own probability in the category, from its cumulative distribution.
    prob = np.diff(np.r_[0.0, catalog.cdf[electronics * 3 + 1]])

    def most_popular(candidates: list[int]) -> int:
        return max(candidates, key=lambda i: prob[members.index(i)])

    phone = most_popular([i for i, s in enumerate(catalog.subcategory) if s == "smartphones"])
    protector = most_popular([i for i, t in enumerate(catalog.title) if "Screen Protector" in t])
    return phone, protector


Rows = Callable[..., list[tuple]]  # runs SQL (with ? parameters) on the shop being generated


def _manifest(
    con: Any, catalog: Catalog, pair: tuple[int, int], bots: Bots, seed: int, asked: int, truth: pa.Table
) -> dict[str, Any]:
    """The planted facts, with the figures measured on the generated data."""

    def rows(sql: str, params: list[Any] | None = None) -> list[tuple]:
        return con.execute(sql, params or []).fetchall()

    con.register("demo_truth", truth)
    try:
        planted = {
            **_planted_drops(rows),
            "promo_day": _planted_promo(rows),
            **_planted_bots(rows),
            "high_cart_abandonment": _planted_abandonment(rows),
            "bought_together": _planted_pair(rows, catalog, pair),
            "demand_gaps": _planted_gaps(rows),
        }
        segments = dict(rows("SELECT segment, count(*) FROM demo_truth GROUP BY 1 ORDER BY 1"))
    finally:
        con.unregister("demo_truth")
    return {
        "generator": "shoplens demo shop",
        "seed": seed,
        "events_asked": asked,
        "period": {"start": START.date(), "end": (START + timedelta(days=DAYS - 1)).date()},
        "latent_segments": segments,
        "planted": planted,
    }


def _planted_drops(rows: Rows) -> dict[str, Any]:
    """The category's conversion drop and the device's checkout outage, with conversion (sessions
    that bought / sessions that viewed) during each and in the 4 weeks before."""
    src = sql_str(SOURCE)
    drop_start, drop_end = START + timedelta(days=DROP_DAYS[0]), START + timedelta(days=DROP_DAYS[1])
    conversion = f"""
        SELECT count(DISTINCT CASE WHEN event_type = 'purchase' THEN session_id END)::DOUBLE
               / nullif(count(DISTINCT CASE WHEN event_type = 'view' THEN session_id END), 0)
        FROM events e JOIN users u USING (user_id)
        WHERE e.source_dataset = {src} AND {{}} = ? AND event_time >= ? AND event_time < ?"""
    by_category, by_device = conversion.format("e.category"), conversion.format("u.attributes->>'device'")
    outage_start, outage_end = START + timedelta(days=OUTAGE_DAYS[0]), START + timedelta(days=OUTAGE_DAYS[1])
    return {
        "conversion_drop": {
            "category": DROP_CATEGORY,
            "start": drop_start.date(),
            "end": (drop_end - timedelta(days=1)).date(),
            "purchase_factor": DROP_FACTOR,
            "conversion_during": rows(by_category, [DROP_CATEGORY, drop_start, drop_end])[0][0],
            "conversion_4_weeks_before": rows(
                by_category, [DROP_CATEGORY, drop_start - timedelta(days=28), drop_start]
            )[0][0],
        },
        "checkout_outage": {
            "device": OUTAGE_DEVICE,
            "start": outage_start.date(),
            "end": (outage_end - timedelta(days=1)).date(),
            "conversion_during": rows(by_device, [OUTAGE_DEVICE, outage_start, outage_end])[0][0],
            "conversion_4_weeks_before": rows(
                by_device, [OUTAGE_DEVICE, outage_start - timedelta(days=28), outage_start]
            )[0][0],
        },
    }


def _planted_promo(rows: Rows) -> dict[str, Any]:
    src = sql_str(SOURCE)
    promo_day = START + timedelta(days=PROMO_DAY)
    return {
        "date": promo_day.date(),
        "traffic_multiplier": PROMO_TRAFFIC,
        "discount": PROMO_DISCOUNT,
        "events_that_day": rows(
            f"SELECT count(*) FROM events WHERE source_dataset = {src} AND event_time::DATE = ?::DATE",
            [promo_day],
        )[0][0],
        "median_events_per_day": rows(
            f"SELECT median(n) FROM (SELECT event_time::DATE, count(*) n FROM events"
            f" WHERE source_dataset = {src} GROUP BY 1)"
        )[0][0],
    }


def _planted_bots(rows: Rows) -> dict[str, Any]:
    bot_ids = dict(
        rows(
            """SELECT t.segment, list(t.user_id ORDER BY t.user_id::BIGINT)
                FROM demo_truth t WHERE t.segment LIKE 'bot_%' GROUP BY 1 ORDER BY 1"""
        )
    )
    return {
        "bot_scrapers": {
            "user_ids": bot_ids.get("bot_scraper", []),
            "pattern": "hundreds of views per session about a second apart, at night, no carts",
        },
        "bot_cart_stuffers": {
            "user_ids": bot_ids.get("bot_cart_stuffer", []),
            "pattern": "add every viewed product to the cart and remove it again, seconds apart",
        },
    }


def _planted_abandonment(rows: Rows) -> dict[str, Any]:
    abandonment = rows(
        f"""
        WITH s AS (
          SELECT e.session_id, any_value(u.attributes->>'channel') AS channel,
                 bool_or(event_type = 'cart') AS carted, bool_or(event_type = 'purchase') AS bought
          FROM events e JOIN users u USING (user_id)
          WHERE e.source_dataset = {sql_str(SOURCE)} GROUP BY e.session_id
        )
        SELECT channel, 1 - avg(CASE WHEN bought THEN 1 ELSE 0 END) FILTER (WHERE carted) AS abandonment
        FROM s GROUP BY channel ORDER BY channel"""
    )
    return {
        "channel": ABANDON_CHANNEL,
        "latent_segment": "bargain_hunter",
        "abandonment_by_channel": {channel: rate for channel, rate in abandonment},
    }


def _planted_gaps(rows: Rows) -> dict[str, int]:
    """The planted searches for what the catalog does not hold, with how often each was searched."""
    return dict(
        rows(
            "SELECT query_text, count(*) FROM events WHERE event_type = 'search' AND list_contains(?, query_text)"
            " GROUP BY 1 ORDER BY 1",
            [list(DEMAND_GAPS)],
        )
    )


def _planted_pair(rows: Rows, catalog: Catalog, pair: tuple[int, int]) -> dict[str, Any]:
    """The bought-together pair, the orders holding both and those of the next most frequent pair."""
    a, b = pair
    ids = [str(catalog.product_id[a]), str(catalog.product_id[b])]
    lines = f"""WITH lines AS (SELECT DISTINCT order_id, product_id FROM events
                       WHERE source_dataset = {sql_str(SOURCE)} AND event_type = 'purchase')"""
    together = rows(
        f"{lines} SELECT count(*) FROM lines x JOIN lines y USING (order_id)"
        " WHERE x.product_id = ? AND y.product_id = ?",
        ids,
    )[0][0]
    next_best = rows(
        f"""{lines}
        SELECT count(*) AS n FROM lines x JOIN lines y USING (order_id)
        WHERE x.product_id < y.product_id AND NOT (x.product_id IN (?, ?) AND y.product_id IN (?, ?))
        GROUP BY x.product_id, y.product_id ORDER BY n DESC LIMIT 1""",
        ids * 2,
    )
    return {
        "product_a": {"product_id": ids[0], "title": catalog.title[a]},
        "product_b": {"product_id": ids[1], "title": catalog.title[b]},
        "probability_b_given_a": PAIR_PROBABILITY,
        "probability_a_given_b": PAIR_REVERSE_PROBABILITY,
        "orders_with_both": together,
        "next_best_pair_orders": next_best[0][0] if next_best else 0,
    }
