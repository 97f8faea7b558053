"""Recommendations: item-item co-occurrence (ItemKNN) with time decay, a popularity baseline,
their offline evaluation on a time split, and explanations grounded in the evidence used.

ItemKNN: each visit (session) is a bag of the products it touched, weighted by what happened
(a purchase says more than a view) and decayed with age. Two products are similar when the
same visits touched them (cosine with shrinkage); each product keeps its top neighbours. A
user's score for a product is the sum, over the products in their history, of their weight
times the similarity: so every recommendation decomposes exactly into the history items that
produced it, which is what `explain_recommendation` shows.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from assistant.grounding import ungrounded_numbers
from tools import narrate
from tools.base import (
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    UnknownEntity,
    drop_instructions,
    unknown_user,
)

log = logging.getLogger(__name__)

EVENT_WEIGHTS = {"view": 1.0, "fav": 2.0, "cart": 3.0, "purchase": 5.0}
HALF_LIFE_DAYS = 30.0
NEIGHBOURS = 100
SHRINK = 5.0


def _weight_case() -> str:
    return (
        "CASE event_type "
        + " ".join(f"WHEN '{t}' THEN {w}" for t, w in EVENT_WEIGHTS.items())
        + " ELSE 0 END"
    )


@dataclass
class ItemKNN:
    items: list[str]
    similarity: sp.csr_matrix  # items x items, top neighbours per row, zero diagonal

    @classmethod
    def fit(
        cls, baskets: sp.csr_matrix, items: list[str], neighbours: int = NEIGHBOURS, shrink: float = SHRINK
    ) -> ItemKNN:
        """`baskets`: visits x items weights. Cosine between item columns, shrunk for rare pairs."""
        x = baskets.tocsc().astype(np.float32)
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
        co = (x.T @ x).tocsr()
        co.setdiag(0)
        co.eliminate_zeros()
        rows, cols = co.nonzero()
        co.data = co.data / (norms[rows] * norms[cols] + shrink)
        return cls(items, _top_per_row(co, neighbours))

    def scores(self, history: np.ndarray) -> np.ndarray:
        """history: weight per item (dense); the score of every item."""
        return self.similarity.T @ history

    def contributions(self, history: np.ndarray, item: int) -> list[tuple[int, float]]:
        """(history item, its share of `item`'s score), biggest first."""
        column = self.similarity[:, item].toarray().ravel() * history
        nonzero = np.flatnonzero(column)
        return sorted(((int(j), float(column[j])) for j in nonzero), key=lambda t: -t[1])


def _top_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    indptr, indices, data = [0], [], []
    for i in range(matrix.shape[0]):
        start, end = matrix.indptr[i], matrix.indptr[i + 1]
        values = matrix.data[start:end]
        if end - start > k:
            keep = np.argpartition(-values, k)[:k]
        else:
            keep = np.arange(end - start)
        indices.append(matrix.indices[start:end][keep])
        data.append(values[keep])
        indptr.append(indptr[-1] + len(keep))
    return sp.csr_matrix(
        (np.concatenate(data) if data else [], np.concatenate(indices) if indices else [], indptr),
        shape=matrix.shape,
    )


def interactions_sql() -> str:
    """Every product interaction: who (user, else session), visit, item, weight, when."""
    return f"""SELECT coalesce(user_id, 's:' || session_id) AS entity, coalesce(session_id, user_id) AS session,
                      product_id AS item, {_weight_case()} AS weight, event_time AS time
               FROM events WHERE product_id IS NOT NULL AND event_type IN ('view', 'fav', 'cart', 'purchase')"""


@dataclass
class Interactions:
    """Product interactions as index arrays: who (user, else session), which item, weight, when."""

    entity: np.ndarray
    session: np.ndarray
    item: np.ndarray
    weight: np.ndarray
    time: np.ndarray  # datetime64[s]
    entities: list[str]
    sessions: list[str]
    items: list[str]

    @classmethod
    def read(cls, ctx: ToolContext) -> Interactions:
        """Read in batches, text columns turned into integer codes as they arrive: never every
        row's text at once (10M events as Python rows through PostgreSQL's driver took 6.3 GB;
        `make bench-reads`)."""
        codes: dict[str, list[pa.Array]] = {"entity": [], "session": [], "item": []}
        weights, times = [], []
        for batch in ctx.batches(interactions_sql()):
            for name, encoded in codes.items():
                encoded.append(batch.column(name).cast(pa.string()).dictionary_encode())
            # Cast by Arrow: a decimal weight through numpy would be a Python object per row.
            weights.append(batch.column("weight").cast(pa.float32()).to_numpy(zero_copy_only=False))
            times.append(
                batch.column("time").cast(pa.timestamp("s"), safe=False).to_numpy(zero_copy_only=False)
            )
        # One dictionary per column over all batches (first appearance first, as one read gives).
        joined = {name: pa.concat_arrays(chunks) for name, chunks in codes.items()}
        return cls(
            entity=joined["entity"].indices.to_numpy(zero_copy_only=False).astype(np.int32),
            session=joined["session"].indices.to_numpy(zero_copy_only=False).astype(np.int32),
            item=joined["item"].indices.to_numpy(zero_copy_only=False).astype(np.int32),
            weight=np.concatenate(weights),
            time=np.concatenate(times),
            entities=joined["entity"].dictionary.to_pylist(),
            sessions=joined["session"].dictionary.to_pylist(),
            items=joined["item"].dictionary.to_pylist(),
        )

    def subset(self, keep: np.ndarray) -> Interactions:
        return Interactions(
            self.entity[keep], self.session[keep], self.item[keep], self.weight[keep], self.time[keep],
            self.entities, self.sessions, self.items,
        )  # fmt: skip

    def decayed(self, now: np.datetime64) -> np.ndarray:
        age_days = (now - self.time).astype("timedelta64[s]").astype(np.float64) / 86400.0
        return self.weight * np.power(0.5, np.clip(age_days, 0, None) / HALF_LIFE_DAYS)

    def baskets(self, now: np.datetime64) -> sp.csr_matrix:
        """Visits x items, decayed weights summed."""
        return sp.csr_matrix(
            (self.decayed(now), (self.session, self.item)), shape=(len(self.sessions), len(self.items))
        )

    def histories(self, now: np.datetime64) -> sp.csr_matrix:
        """Users (or anonymous sessions) x items, decayed weights summed."""
        return sp.csr_matrix(
            (self.decayed(now), (self.entity, self.item)), shape=(len(self.entities), len(self.items))
        )


@dataclass
class Recommender:
    knn: ItemKNN
    histories: sp.csr_matrix
    entity_index: dict[str, int]
    popularity: np.ndarray  # recent weighted interactions per item
    interactions: Interactions

    def history(self, user: str) -> np.ndarray:
        row = self.histories[self.entity_index[user]]
        return np.asarray(row.todense()).ravel()


def fit(interactions: Interactions, now: np.datetime64) -> tuple[ItemKNN, np.ndarray]:
    """ItemKNN and 30-day popularity, from interactions up to `now`."""
    knn = ItemKNN.fit(interactions.baskets(now), interactions.items)
    recent = interactions.time >= now - np.timedelta64(30, "D")
    popularity = np.bincount(
        interactions.item[recent], weights=interactions.weight[recent], minlength=len(interactions.items)
    )
    return knn, popularity


def recommender(ctx: ToolContext) -> Recommender:
    return ctx.cached("recommender", lambda: _train(ctx))


def _train(ctx: ToolContext) -> Recommender:
    ctx.progress("training the recommender", None)
    interactions = Interactions.read(ctx)
    if not len(interactions.item):
        raise ToolError("the data has no product views, carts or purchases to recommend from")
    now = interactions.time.max()
    knn, popularity = fit(interactions, now)
    return Recommender(
        knn,
        interactions.histories(now),
        {e: i for i, e in enumerate(interactions.entities)},
        popularity,
        interactions,
    )


def top_k(scores: np.ndarray, k: int, exclude: np.ndarray | None = None) -> list[int]:
    scores = scores.astype(np.float64, copy=True)
    if exclude is not None:
        scores[exclude] = -np.inf
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return []
    best = np.argpartition(-scores, k - 1)[:k]
    return [int(i) for i in best[np.argsort(-scores[best], kind="stable")] if scores[i] > 0]


# ---------------------------------------------------------------- offline evaluation


class EvalResult(BaseModel):
    model: str
    protocol: str
    cases: int
    recall_at_20: float
    ndcg_at_10: float
    train_seconds: float = 0.0


# Event kinds as the sequence model reads them (0 is padding), from the interaction weights.
KIND_OF_WEIGHT = {EVENT_WEIGHTS[k]: code for code, k in enumerate(EVENT_WEIGHTS, start=1)}


@dataclass
class Case:
    """One evaluation case: what is known of a shopper at the split, and what they touched after."""

    history_items: np.ndarray  # items with their decayed weights (ItemKNN's input)
    history_weights: np.ndarray
    sequence: np.ndarray  # the same shopper's items in time order (a sequence model's input)
    kinds: np.ndarray  # event kind of each sequence item (KIND_OF_WEIGHT)
    targets: set[int]

    def history(self, n_items: int) -> np.ndarray:
        dense = np.zeros(n_items, dtype=np.float32)
        np.add.at(dense, self.history_items, self.history_weights)
        return dense


# A model under evaluation: fitted on the training interactions up to the split time, it scores
# every item for a batch of cases (cases x items).
Scorer = Callable[[list[Case]], np.ndarray]
Fitter = Callable[[Interactions, np.datetime64], Scorer]


def ordered_sequences(inter: Interactions) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Each entity's items in time order, with the event kind; repeats of the same item in a row
    are one step (kept at their strongest kind): a shopper reloading a page says nothing new."""
    if not len(inter.item):
        return {}
    order = np.lexsort((inter.time, inter.entity))
    entity, item = inter.entity[order], inter.item[order]
    kind = np.array([KIND_OF_WEIGHT.get(float(w), 1) for w in inter.weight[order]], dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, (entity[1:] != entity[:-1]) | (item[1:] != item[:-1])])
    entity, item, kind = entity[starts], item[starts], np.maximum.reduceat(kind, starts)
    bounds = np.flatnonzero(np.r_[True, entity[1:] != entity[:-1], True])
    return {int(entity[a]): (item[a:b], kind[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)}


def split_day(interactions: Interactions, test_share: float = 0.15) -> np.datetime64:
    """The first test day: about `test_share` of the interactions fall on or after it."""
    days = interactions.time.astype("datetime64[D]")
    return np.sort(days)[int(len(days) * (1 - test_share))]


def evaluation_cases(
    interactions: Interactions, split_time: np.datetime64, max_cases: int = 5000
) -> tuple[str, list[Case]]:
    """(protocol, cases) of a time split.

    Returning users (when the data has them): history before the split, targets = products
    they touched after it that were not in their history. Anonymous sessions (no user ids):
    each test session's first half is the history and its second half the targets."""
    train = interactions.subset(interactions.time < split_time)
    test = interactions.subset(interactions.time >= split_time)
    histories = train.histories(split_time).tocsr()
    cases: list[Case] = []
    trained_entities = set(np.unique(train.entity).tolist())
    users = [
        e
        for e in np.unique(test.entity).tolist()
        if e in trained_entities and not interactions.entities[e].startswith("s:")
    ]
    if users:
        protocol = "returning users"
        sequences = ordered_sequences(train)
        targets_of: dict[int, set[int]] = {}
        for e, i in zip(test.entity.tolist(), test.item.tolist(), strict=True):
            targets_of.setdefault(e, set()).add(i)
        for e in users:
            row = histories[e]
            targets = targets_of[e] - set(row.indices.tolist())
            if targets:
                items, kinds = sequences[e]
                cases.append(Case(row.indices.copy(), row.data.copy(), items, kinds, targets))
    else:
        protocol = "session continuation"
        order = np.lexsort((test.time, test.session))
        by_session: dict[int, dict[int, int]] = {}  # item -> kind, in order of first touch
        for s, i, w in zip(
            test.session[order].tolist(), test.item[order].tolist(), test.weight[order].tolist(), strict=True
        ):
            by_session.setdefault(s, {}).setdefault(i, KIND_OF_WEIGHT.get(float(w), 1))
        for touched in by_session.values():
            if len(touched) < 2:
                continue
            items = np.array(list(touched), dtype=np.int64)
            kinds = np.array(list(touched.values()), dtype=np.int64)
            half = len(items) // 2
            cases.append(
                Case(
                    items[:half],
                    np.ones(half, dtype=np.float32),
                    items[:half],
                    kinds[:half],
                    set(items[half:].tolist()),
                )
            )
    if len(cases) > max_cases:
        rng = np.random.default_rng(0)
        cases = [cases[i] for i in rng.choice(len(cases), max_cases, replace=False)]
    return protocol, cases


def fit_itemknn(train: Interactions, split_time: np.datetime64) -> Scorer:
    knn, _ = fit(train, split_time)
    n = len(train.items)
    return lambda cases: np.stack([knn.scores(c.history(n)) for c in cases])


def fit_popularity(train: Interactions, split_time: np.datetime64) -> Scorer:
    _, popularity = fit(train, split_time)
    return lambda cases: np.tile(popularity, (len(cases), 1))


BASELINES: dict[str, Fitter] = {"itemknn": fit_itemknn, "popularity": fit_popularity}


def evaluate(
    interactions: Interactions,
    split: np.datetime64 | None = None,
    max_cases: int = 5000,
    models: dict[str, Fitter] | None = None,
) -> list[EvalResult]:
    """Recall@20 and NDCG@10 of each model (ItemKNN and popularity unless told) on one time
    split, on the same cases; items in a case's history are never recommended."""
    split = split if split is not None else split_day(interactions)
    split_time = split.astype("datetime64[s]")
    train = interactions.subset(interactions.time < split_time)
    protocol, cases = evaluation_cases(interactions, split_time, max_cases)
    results = []
    for name, fitter in (models or BASELINES).items():
        started = time.perf_counter()
        scorer = fitter(train, split_time)
        train_seconds = time.perf_counter() - started
        recall, ndcg = [], []
        for start in range(0, len(cases), 256):
            batch = cases[start : start + 256]
            for case, scores in zip(batch, scorer(batch), strict=True):
                ranked = top_k(scores, 20, exclude=case.history_items)
                hits = [1.0 if i in case.targets else 0.0 for i in ranked]
                recall.append(sum(hits) / len(case.targets))
                dcg = sum(h / np.log2(r + 2) for r, h in enumerate(hits[:10]))
                ideal = sum(1 / np.log2(r + 2) for r in range(min(len(case.targets), 10)))
                ndcg.append(dcg / ideal)
        results.append(
            EvalResult(
                model=name,
                protocol=protocol,
                cases=len(cases),
                recall_at_20=round(float(np.mean(recall)) if recall else 0.0, 4),
                ndcg_at_10=round(float(np.mean(ndcg)) if ndcg else 0.0, 4),
                train_seconds=round(train_seconds, 1),
            )
        )
    return results


# ---------------------------------------------------------------- tools


class RecommendArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str | None = Field(default=None, description="Recommend for this user")
    product_id: str | None = Field(default=None, description="Or: products that go with this product")
    k: int = Field(default=10, ge=1, le=100)
    category: str | None = Field(default=None, description="Only recommend products in this category")
    model: Literal["itemknn", "sequence"] | None = Field(
        default=None,
        description="'sequence': what shoppers do next after steps like the user's, in order; "
        "'itemknn': items used in the same visits. Default: the shop's setting.",
    )


def recommend(ctx: ToolContext, args: RecommendArgs) -> ToolResult:
    """Product recommendations for a user (from what they viewed, carted and bought, via items
    other shoppers used together), or the products that go with a product (bought together)."""
    model = recommender(ctx)
    items = model.knn.items
    catalog = _catalog(ctx)
    allowed = None
    if args.category:
        wanted = args.category.strip().lower()
        allowed = np.array([(catalog.get(i, {}).get("category") or "").lower() == wanted for i in items])
        if not allowed.any():
            raise ToolError(f"no recommendable product is in category {args.category!r}")
    if args.product_id:
        return _with_product(ctx, model, args, catalog, allowed)
    if not args.user_id:
        raise ToolError("give a user_id to recommend for, or a product_id to find what goes with it")
    notes = []
    if args.user_id not in model.entity_index:
        if not ctx.rows("SELECT count(*) FROM users WHERE user_id = $u", u=args.user_id)[0][0]:
            raise UnknownEntity(unknown_user(ctx, args.user_id), args.user_id)
        history = np.zeros(len(items))
        notes.append("this user has no product interactions yet: these are the most popular products")
    else:
        history = model.history(args.user_id)
    if (args.model or ctx.settings.recommender) == "sequence" and not notes:
        return _sequence_picks(ctx, model, args, catalog, allowed, history)
    scores = model.knn.scores(history)
    if not scores.any():
        scores = model.popularity.astype(float)
        notes = notes or ["nothing co-occurs with this user's history: these are the most popular products"]
    if allowed is not None:
        scores = np.where(allowed, scores, 0.0)
    ranked = top_k(scores, args.k, exclude=np.flatnonzero(history))
    rows = []
    for i in ranked:
        because = model.knn.contributions(history, i)[:1]
        product = catalog.get(items[i], {})
        rows.append(
            (
                items[i],
                product.get("title"),
                product.get("category"),
                product.get("price"),
                round(float(scores[i]), 4),
                _label(catalog, items[because[0][0]]) if because else "popular lately",
            )
        )
    return ToolResult(
        columns=["product_id", "title", "category", "price", "score", "because_of"],
        rows=rows,
        notes=notes or [f"item-to-item co-occurrence over {len(model.interactions.sessions):,} visits"],
        summary=_products_sentence(
            f"Top picks for user {args.user_id}" + (f" in {args.category}" if args.category else ""), rows
        ),
        interpretation=f"Products for user {args.user_id}, scored by how often they were used in the same"
        " visits as what the user viewed, carted and bought (item-to-item); not items they already bought.",
    )


def _sequence_picks(
    ctx: ToolContext,
    model: Recommender,
    args: RecommendArgs,
    catalog: dict[str, dict],
    allowed: np.ndarray | None,
    history: np.ndarray,
) -> ToolResult:
    """`recommend` with the sequence model: the next products after the user's steps."""
    from tools.sequences import shop_sequences  # at use: torch costs a second to import

    shop = shop_sequences(ctx, model.interactions)
    items, kinds = shop.sequences[args.user_id]
    scores = shop.model.scores([(items, kinds)])[0]
    if allowed is not None:
        scores = np.where(allowed, scores, 0.0)
    ranked = top_k(scores, args.k, exclude=np.flatnonzero(history))
    rows = []
    for i in ranked:
        because = shop.model.contributions(items, kinds, i)[:1]
        product = catalog.get(model.knn.items[i], {})
        rows.append(
            (
                model.knn.items[i],
                product.get("title"),
                product.get("category"),
                product.get("price"),
                round(float(scores[i]), 4),
                _label(catalog, model.knn.items[because[0][0]]) if because else "the order of all steps",
            )
        )
    steps = min(len(items), shop.model.network.config.max_len)
    return ToolResult(
        columns=["product_id", "title", "category", "price", "score", "because_of"],
        rows=rows,
        notes=[
            f"sequence model (self-attention over the order of each shopper's steps), trained on "
            f"{len(shop.sequences):,} shoppers; score = probability of being the user's next product"
        ],
        summary=_products_sentence(
            f"Top picks for user {args.user_id}" + (f" in {args.category}" if args.category else ""), rows
        ),
        interpretation=f"Products for user {args.user_id}, scored by a sequence model of what shoppers do next"
        f" after steps like the user's last {narrate.plural(steps, 'product')} (viewed, saved, carted or"
        " bought, in order); not items they already touched.",
    )


def _products_sentence(lead: str, rows: list[tuple]) -> str:
    """'Top picks for user 42: Moto G84 (product 17), … .' (titles without planted instructions)."""
    if not rows:
        return f"{lead}: none (too little history to go on)."
    named = [f"{narrate.quoted(r[1]) if r[1] else 'product ' + str(r[0])} (product {r[0]})" for r in rows[:3]]
    return f"{lead}: {narrate.listing(named)}."


def _with_product(
    ctx: ToolContext,
    model: Recommender,
    args: RecommendArgs,
    catalog: dict[str, dict],
    allowed: np.ndarray | None,
) -> ToolResult:
    items = model.knn.items
    try:
        i = items.index(args.product_id)
    except ValueError:
        raise UnknownEntity(
            f"product {args.product_id!r} has no views, carts or purchases in the data", args.product_id
        ) from None
    row = model.knn.similarity[i].toarray().ravel()
    if allowed is not None:
        row = np.where(allowed, row, 0.0)
    ranked = top_k(row, args.k)
    together = dict(
        ctx.rows(
            """WITH lines AS (SELECT DISTINCT order_id, product_id FROM events
                              WHERE event_type = 'purchase' AND order_id IS NOT NULL)
               SELECT y.product_id, count(*) FROM lines x JOIN lines y USING (order_id)
               WHERE x.product_id = $p AND y.product_id <> $p GROUP BY 1""",
            p=args.product_id,
        )
    )
    rows = [
        (
            items[j],
            catalog.get(items[j], {}).get("title"),
            catalog.get(items[j], {}).get("category"),
            catalog.get(items[j], {}).get("price"),
            round(float(row[j]), 4),
            together.get(items[j], 0),
        )
        for j in ranked
    ]
    rows.sort(key=lambda r: (-r[5], -r[4]))  # bought together first, then co-viewed
    return ToolResult(
        columns=["product_id", "title", "category", "price", "similarity", "orders_together"],
        rows=rows,
        notes=[f"products used in the same visits as {_label(catalog, args.product_id)}"],
        summary=_products_sentence(f"What goes with product {args.product_id}", rows)
        + (
            f" The first was bought in the same order {narrate.plural(rows[0][5], 'time')}."
            if rows and rows[0][5]
            else ""
        ),
        interpretation=f"Products used in the same visits as product {args.product_id}, those bought in the"
        " same orders first.",
    )


def _catalog(ctx: ToolContext) -> dict[str, dict[str, Any]]:
    def build() -> dict[str, dict[str, Any]]:
        table = ctx.table("SELECT product_id, title, category, brand, price FROM products").to_pylist()
        # Titles go into explanations the model writes: none may carry planted instructions.
        return {r["product_id"]: {**r, "title": drop_instructions(r["title"])} for r in table}

    return ctx.cached("catalog", build)


def _label(catalog: dict[str, dict], product_id: str) -> str:
    title = (catalog.get(product_id) or {}).get("title")
    return f"{title} ({product_id})" if title else f"product {product_id}"


class ExplainArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(description="The user the product was recommended to")
    product_id: str = Field(description="The recommended product")
    model: Literal["itemknn", "sequence"] | None = Field(
        default=None, description="The recommender that recommended it. Default: the shop's setting."
    )


def explain_recommendation(ctx: ToolContext, args: ExplainArgs) -> ToolResult:
    """Why a product is recommended to a user: the items in their history that led to it, how
    many shoppers used those items together with it, and where it ranks for them."""
    model = recommender(ctx)
    items = model.knn.items
    if args.user_id not in model.entity_index:
        raise UnknownEntity(unknown_user(ctx, args.user_id), args.user_id)
    if args.product_id not in items:
        raise UnknownEntity(
            f"product {args.product_id!r} has no views, carts or purchases in the data", args.product_id
        )
    target = items.index(args.product_id)
    history = model.history(args.user_id)
    by_sequence = (args.model or ctx.settings.recommender) == "sequence"
    if by_sequence:
        from tools.sequences import shop_sequences  # at use: torch costs a second to import

        shop = shop_sequences(ctx, model.interactions)
        sequence = shop.sequences[args.user_id]
        scores = shop.model.scores([sequence])[0]
        contributions = shop.model.contributions(*sequence, target)[:3]
        total = 1.0  # occlusion effects come as shares already
    else:
        scores = model.knn.scores(history)
        contributions = model.knn.contributions(history, target)[:3]
        total = float(scores[target]) or 1.0
    ranked = top_k(scores, 100, exclude=np.flatnonzero(history))
    rank = ranked.index(target) + 1 if target in ranked else None
    catalog = _catalog(ctx)
    events = _user_events(ctx, args.user_id, [items[j] for j, _ in contributions])
    together = _co_visits(model, target, [j for j, _ in contributions])
    rows: list[tuple] = []
    for j, c in contributions:
        rows.append(
            (
                "history item",
                items[j],
                _label(catalog, items[j]),
                events.get(items[j], "interacted with"),
                together[j],
                round(c / total, 3),
            )
        )
    rank_text = f"ranked {rank} of the user's recommendations" if rank else "not in the user's top 100"
    rows.append(
        ("recommended item", args.product_id, _label(catalog, args.product_id), rank_text, None, None)
    )
    evidence_text = _evidence_text(args, rows)
    notes = []
    if not contributions and by_sequence:
        answer = (
            f"{_label(catalog, args.product_id)} is {rank_text} for user {args.user_id}; leaving out any one"
            " product of their steps does not lower its score."
        )
    elif not contributions:
        answer = (
            f"{_label(catalog, args.product_id)} is not recommended to user {args.user_id}: nothing in their "
            "history was used together with it by other shoppers."
        )
    else:
        answer = _template(args, rows)
        if ctx.llm is not None:
            written = _llm_explanation(ctx, evidence_text, rows, catalog, args.user_id)
            if written:
                answer = written
            else:
                notes.append(
                    "the model's explanation was a tool call or made claims the evidence lacks; a plain one is shown"
                )
    return ToolResult(
        columns=[
            "evidence",
            "product_id",
            "product",
            "what_the_user_did",
            "visits_with_both",
            "share_of_score",
        ],
        rows=rows,
        notes=notes,
        answer=answer,
        interpretation=(
            f"Why product {args.product_id} is recommended to user {args.user_id} by the sequence model: the"
            " items in the user's steps whose removal lowers its score most, each one's share of that effect,"
            " and how many visits included both."
            if by_sequence
            else f"Why product {args.product_id} is recommended to user {args.user_id}: the items in the"
            " user's history that other shoppers used in the same visits, and each one's share of the score."
        ),
    )


def _user_events(ctx: ToolContext, user: str, products: list[str]) -> dict[str, str]:
    rows = ctx.rows(
        """SELECT product_id, event_type, count(*) FROM events
           WHERE user_id = $u AND list_contains($p, product_id) GROUP BY ALL ORDER BY 1, 2""",
        u=user,
        p=products,
    )
    verbs = {
        "view": "viewed",
        "cart": "carted",
        "purchase": "bought",
        "fav": "saved",
        "remove_from_cart": "removed",
    }
    out: dict[str, list[str]] = {}
    for product, kind, n in rows:
        out.setdefault(product, []).append(f"{verbs.get(kind, kind)} {n} {'time' if n == 1 else 'times'}")
    return {p: ", ".join(v) for p, v in out.items()}


def _co_visits(model: Recommender, target: int, sources: list[int]) -> dict[int, int]:
    """Visits (sessions) that touched both each source item and the target."""
    inter = model.interactions
    with_target = set(inter.session[inter.item == target].tolist())
    return {j: len(with_target & set(inter.session[inter.item == j].tolist())) for j in sources}


def _template(args: ExplainArgs, rows: list[tuple]) -> str:
    history = [r for r in rows if r[0] == "history item"]
    first = history[0]
    reasons = " and ".join(f"{r[2]} ({r[3]})" for r in history[:2])
    return (
        f"{rows[-1][2]} is recommended to user {args.user_id} ({rows[-1][3]}) because of their history "
        f"with {reasons}. {first[4]} visits by other shoppers included both {first[2]} and it."
    )


def _evidence_text(args: ExplainArgs, rows: list[tuple]) -> str:
    lines = [f"Recommended to user {args.user_id}: {rows[-1][2]}, {rows[-1][3]}."]
    for r in rows[:-1]:
        lines.append(
            f"- The user {r[3]} {r[2]}; {r[4]} visits included both it and the recommended item; {r[5]:.0%} of the score."
        )
    return "\n".join(lines)


def _llm_explanation(
    ctx: ToolContext, evidence: str, rows: list[tuple], catalog: dict, user_id: str
) -> str | None:
    """The model's one or two sentences, kept only if every number and product in them is in the evidence."""
    prompt = (
        # The agent's system prompt (shared for its cached prefix) asks for calls: say this is text.
        "Write text, not a tool call: the call has run.\n"
        f"Evidence from the recommender:\n{evidence}\n"
        "In one or two plain sentences, tell an analyst why this product is recommended to this user. "
        "Use only the evidence; name products as written there."
    )
    for _ in range(2):
        try:
            text = ctx.llm.text(prompt)
        except Exception as exc:
            log.warning("explanation not written by the model: %s", exc)
            return None
        if narrate.is_tool_call(text):  # the explanation once came back as the model's JSON call
            problems = ["a tool call, not sentences"]
        else:
            problems = unsupported_claims(text, rows, catalog, user_id)
        if not problems:
            return text
        prompt += (
            f"\nYour previous answer had claims the evidence lacks ({'; '.join(problems)}). Write it again."
        )
    return None


def unsupported_claims(
    text: str, rows: list[tuple], catalog: dict[str, dict], user_id: str = ""
) -> list[str]:
    """Numbers, product ids and brands in `text` that the evidence rows (or the user's id) do not hold."""
    facts = [tuple(v for v in r if v is not None) for r in rows]
    facts += [(round(r[5] * 100),) for r in rows if r[5] is not None]
    problems = [f"number {n}" for n in ungrounded_numbers(text, facts, f"user {user_id}")]
    evidence = " ".join(str(v) for r in rows for v in r if v is not None).lower()
    brands = {(p.get("brand") or "").lower() for p in catalog.values()} - {""}
    for brand in brands:
        if len(brand) > 2 and re.search(rf"\b{re.escape(brand)}\b", text.lower()) and brand not in evidence:
            problems.append(f"brand {brand}")
    return problems


def recommendation_report(results: dict[str, list[EvalResult]]) -> str:
    """The side-by-side table the evaluation prints (markdown): one row per data set and model."""
    lines = [
        "| data | protocol | cases | model | Recall@20 | NDCG@10 | training s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, models in results.items():
        for r in models:
            lines.append(
                f"| {name} | {r.protocol} | {r.cases:,} | {r.model} | {r.recall_at_20:.4f} "
                f"| {r.ndcg_at_10:.4f} | {r.train_seconds:.1f} |"
            )
    return "\n".join(lines)


def _recommend_follow_ups(arguments: dict[str, Any], first: Any) -> list[str]:
    product, user = first("product_id"), arguments.get("user_id")
    out = []
    if user and product is not None:
        out.append(f"Why is product {product} recommended to user {user}?")
    if product is not None:
        out.append(f"Write a short promo for product {product}")
    return out + ([f"Which users are similar to user {user}?"] if user else [])


def _explain_follow_ups(arguments: dict[str, Any], first: Any) -> list[str]:
    product = arguments.get("product_id")
    return [f"What else goes with product {product}?", f"Write a short promo for product {product}"]


def tools(semantic: Any) -> list[Tool]:
    return [
        Tool(
            "recommend",
            recommend,
            RecommendArgs,
            prompt="products for a user_id (what to show them next; model sequence: from the order of their"
            " steps), or products that go with a product_id (bought together).",
            follow_ups=_recommend_follow_ups,
        ),
        Tool(
            "explain_recommendation",
            explain_recommendation,
            ExplainArgs,
            prompt="why a product_id is recommended to a user_id.",
            follow_ups=_explain_follow_ups,
        ),
    ]
