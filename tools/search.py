"""Similarity search over sentence embeddings: products, search queries and users.

Products are embedded from their title, category path, brand and the start of their
description. The vectors are kept beside the warehouse (`products.pt` in its artifacts folder)
and updated incrementally: only products whose text changed since the last build are encoded
again. A user is the weighted mean of the products they interacted with (a purchase counts more
than a view). Search is exact cosine top-k on torch (`assistant.embeddings.VectorIndex`), on the
GPU when there is one; filters are applied before ranking.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from assistant.embeddings import PACKAGE, Encoder, VectorIndex
from tools import narrate
from tools.base import (
    GENERIC_FOLLOW_UPS,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    UnknownEntity,
    unknown_user,
)

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

# How much each kind of event says about a user's taste.
EVENT_WEIGHTS = {"view": 1.0, "fav": 2.0, "cart": 2.0, "purchase": 4.0}
RELATIVE_FLOOR = 0.7  # of the best hit's similarity
DESCRIPTION_CHARS = 200  # the start of a description says what the product is; the rest is slow to encode


def product_text(title: str, path: str, brand: str, description: str) -> str:
    parts = [title, path.replace(" > ", ", "), brand, description[:DESCRIPTION_CHARS]]
    return ". ".join(p.strip() for p in parts if p and p.strip())


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass
class ProductIndex:
    index: VectorIndex
    category: np.ndarray  # lower-case category path per vector, for filters
    brand: np.ndarray
    price: np.ndarray  # NaN where unknown
    title: list[str]
    top_category: list[str]

    def mask(
        self,
        category: str | None = None,
        brand: str | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
    ) -> torch.Tensor | None:
        import torch  # at use: importing it costs a second

        keep = np.ones(len(self.index), dtype=bool)
        if category:
            wanted = category.strip().lower()
            keep &= np.char.find(self.category, wanted) >= 0
        if brand:
            keep &= self.brand == brand.strip().lower()
        if min_price is not None:
            keep &= self.price >= min_price
        if max_price is not None:
            keep &= self.price <= max_price
        return None if keep.all() else torch.from_numpy(keep)


def _encoder(ctx: ToolContext) -> Encoder:
    if ctx.encoder is None:
        ctx.encoder = Encoder()
    return ctx.encoder


def product_index(ctx: ToolContext) -> ProductIndex:
    """The product embedding index: loaded, brought up to date with the catalog, and kept."""
    return ctx.cached("products", lambda: _build_product_index(ctx))


def _build_product_index(ctx: ToolContext) -> ProductIndex:
    table = ctx.table(
        """SELECT product_id, coalesce(title, '') AS title, coalesce(category_path, category, '') AS path,
                  coalesce(category, '') AS category, coalesce(brand, '') AS brand,
                  coalesce(description, '') AS description, price
           FROM products ORDER BY product_id"""
    ).to_pydict()
    texts = [
        product_text(t, p, b, d)
        for t, p, b, d in zip(
            table["title"], table["path"], table["brand"], table["description"], strict=True
        )
    ]
    keep = [i for i, text in enumerate(texts) if text]
    keys = [table["product_id"][i] for i in keep]
    digests = [_digest(texts[i]) for i in keep]
    vectors = _up_to_date_vectors(ctx, keys, digests, [texts[i] for i in keep])
    encoder = _encoder(ctx)
    return ProductIndex(
        index=VectorIndex(keys, vectors, encoder.device),
        category=np.array([table["path"][i].lower() for i in keep], dtype=str),
        brand=np.array([table["brand"][i].lower() for i in keep], dtype=str),
        price=np.array(
            [np.nan if table["price"][i] is None else table["price"][i] for i in keep], dtype=float
        ),
        title=[table["title"][i] or table["path"][i] for i in keep],
        top_category=[table["category"][i] for i in keep],
    )


def _up_to_date_vectors(
    ctx: ToolContext, keys: list[str], digests: list[str], texts: list[str]
) -> torch.Tensor:
    """Vectors for `texts`, reusing the stored ones whose text is unchanged; the store is rewritten."""
    import torch  # at use: importing it costs a second

    path = ctx.artifacts_dir / "products.pt"
    stored: dict[tuple[str, str], int] = {}
    old_vectors = None
    if path.exists():
        try:
            saved = torch.load(path, weights_only=True)
            if saved.get("model") == PACKAGE:
                stored = {
                    (k, d): i for i, (k, d) in enumerate(zip(saved["keys"], saved["digests"], strict=True))
                }
                old_vectors = saved["vectors"]
        except Exception as exc:  # a damaged file is rebuilt, never trusted
            log.warning("product index at %s is unreadable (%s); rebuilding it", path, exc)
    reuse = [stored.get((k, d)) for k, d in zip(keys, digests, strict=True)]
    missing = [i for i, j in enumerate(reuse) if j is None]
    vectors = torch.empty((len(keys), 384), dtype=torch.float16)
    if old_vectors is not None:
        have = [i for i, j in enumerate(reuse) if j is not None]
        if have:
            vectors[have] = old_vectors[[reuse[i] for i in have]].to(torch.float16)
    if missing:
        encoder = _encoder(ctx)
        log.info("embedding %d of %d products", len(missing), len(keys))
        batch = 256
        for start in range(0, len(missing), batch):
            chunk = missing[start : start + batch]
            vectors[chunk] = encoder.encode([texts[i] for i in chunk]).to("cpu", torch.float16)
            ctx.progress("embedding products", min(1.0, (start + batch) / len(missing)))
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        torch.save({"model": PACKAGE, "keys": keys, "digests": digests, "vectors": vectors}, partial)
        partial.replace(path)  # a crash mid-write leaves the old index, never half a new one
    return vectors.float()


class SearchProductsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(description="What the user is looking for, in words.", max_length=300)
    category: str | None = Field(default=None, description="Only products in this category (or path part).")
    brand: str | None = None
    # Named for what a shopper says: with min_price/max_price the small model wrote "cheaper
    # than 70" as min_price 70; "price_under" reads as what it means.
    price_under: float | None = Field(default=None, description="Under / below / cheaper than")
    price_over: float | None = Field(default=None, description="Over / above / from")
    k: int = Field(default=10, ge=1, le=100, description="How many products.")


def search_products(ctx: ToolContext, args: SearchProductsArgs) -> ToolResult:
    """Find products by meaning, not exact words ("wireless headphones for running under 100"):
    the closest products by embedding similarity, filtered by category, brand and price first."""
    built = product_index(ctx)
    if not len(built.index):
        raise ToolError("the catalog has no product titles, categories or brands to search")
    mask = built.mask(args.category, args.brand, args.price_over, args.price_under)
    if mask is not None and not bool(mask.any()):
        raise ToolError("no product matches those filters (category, brand, price); loosen them")
    query = _encoder(ctx).encode([args.query])
    hits = built.index.search(query, args.k, mask)[0]
    # Filters can leave few close matches; a hit far weaker than the best is noise ("cycling
    # gloves" for "running shoes under 70"), so it is left out rather than shown as a match.
    floor = hits[0][1] * RELATIVE_FLOOR if hits else 0.0
    weak = sum(1 for _, score in hits if score < floor)
    hits = [(key, score) for key, score in hits if score >= floor]
    position = {key: i for i, key in enumerate(built.index.keys)} if hits else {}
    rows = []
    for key, score in hits:
        i = position[key]
        price = None if np.isnan(built.price[i]) else float(built.price[i])
        rows.append(
            (key, built.title[i], built.top_category[i], built.brand[i] or None, price, round(score, 3))
        )
    return ToolResult(
        columns=["product_id", "title", "category", "brand", "price", "similarity"],
        rows=rows,
        summary=(
            f"Closest products to '{narrate.quoted(args.query)}': "
            + narrate.listing(
                [
                    f"{narrate.quoted(r[1])} (product {r[0]}"
                    + (f", {narrate.figure(r[4], 'money')}" if r[4] is not None else "")
                    + ")"
                    for r in rows[:3]
                ]
            )
            + "."
            if rows
            else f"No product matches '{narrate.quoted(args.query)}' with those filters."
        ),
        interpretation=f"Products whose title and description are closest in meaning to"
        f" '{narrate.quoted(args.query)}' (sentence embeddings), after the category, brand and price filters.",
        notes=[
            f"embedding search over {int(mask.sum()) if mask is not None else len(built.index):,} products"
        ]
        + (
            [f"{weak} weaker matches (under {RELATIVE_FLOOR:.0%} of the best similarity) left out"]
            if weak
            else []
        ),
    )


class SearchQueriesArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="A need or topic, e.g. 'gifts for kids'.", max_length=300)
    k: int = Field(default=10, ge=1, le=50)


def search_queries(ctx: ToolContext, args: SearchQueriesArgs) -> ToolResult:
    """What shoppers search for around a topic: the site-search queries closest in meaning to the
    text, with how often each was searched and the share of those sessions that bought."""
    index, stats = query_index(ctx)
    if not len(index):
        raise ToolError("the data has no site-search queries (no search events with query text)")
    hits = index.search(_encoder(ctx).encode([args.text]), args.k)[0]
    position = {q: i for i, q in enumerate(stats["query"])}
    rows = [
        (q, stats["searches"][position[q]], stats["session_conversion"][position[q]], round(score, 3))
        for q, score in hits
    ]
    return ToolResult(
        columns=["query", "searches", "session_conversion", "similarity"],
        rows=rows,
        summary=(
            f"Site searches closest to '{narrate.quoted(args.text)}': "
            + narrate.listing(
                [
                    f"'{narrate.quoted(r[0], 40)}' ({narrate.plural(r[1], 'search')},"
                    f" {narrate.figure(r[2], 'ratio')} of those visits bought)"
                    for r in rows[:3]
                ]
            )
            + "."
            if rows
            else "No site-search queries."
        ),
        interpretation=f"Site-search queries closest in meaning to '{narrate.quoted(args.text)}', with how often"
        " each was searched and the share of those visits that bought; all data.",
    )


def query_index(ctx: ToolContext) -> tuple[VectorIndex, dict[str, list]]:
    """The site-search queries (lower-cased, most searched first) embedded, with their searches and
    the share of their visits that bought."""
    return ctx.cached("queries", lambda: _query_index(ctx))


def _query_index(ctx: ToolContext) -> tuple[VectorIndex, dict[str, list]]:
    import torch  # at use: importing it costs a second

    stats = ctx.table(
        """WITH s AS (SELECT session_id, bool_or(event_type = 'purchase') AS bought FROM events GROUP BY 1)
               SELECT lower(trim(e.query_text)) AS query, count(*) AS searches,
                      avg(CASE WHEN s.bought THEN 1.0 ELSE 0.0 END) AS session_conversion
               FROM events e JOIN s USING (session_id)
               WHERE e.event_type = 'search' AND e.query_text IS NOT NULL AND trim(e.query_text) <> ''
               GROUP BY 1 ORDER BY searches DESC LIMIT 50000"""
    ).to_pydict()
    encoder = _encoder(ctx)
    vectors = encoder.encode(stats["query"]) if stats["query"] else torch.empty((0, 384))
    return VectorIndex(stats["query"], vectors, encoder.device), stats


def user_vectors(ctx: ToolContext) -> tuple[list[str], torch.Tensor]:
    """Each user with product interactions as the normalised weighted mean of those products."""
    return ctx.cached("users", lambda: _build_user_vectors(ctx))


def _build_user_vectors(ctx: ToolContext) -> tuple[list[str], torch.Tensor]:
    import torch  # at use: importing it costs a second

    products = product_index(ctx)
    weights = " ".join(f"WHEN '{t}' THEN {w}" for t, w in EVENT_WEIGHTS.items())
    column = {key: i for i, key in enumerate(products.index.keys)}
    users: dict[str, int] = {}
    rows, cols, vals = [], [], []
    # In batches, as arrays (a user-product pair per row: millions on a big shop); in order: the
    # same vectors, and the same look-alikes among equals, on any engine.
    for batch in ctx.batches(
        f"""SELECT user_id, product_id, sum(CASE event_type {weights} ELSE 0 END) AS weight
            FROM events WHERE user_id IS NOT NULL AND product_id IS NOT NULL GROUP BY ALL ORDER BY 1, 2"""
    ):
        product = batch.column(1).dictionary_encode()
        product_column = np.array([column.get(p, -1) for p in product.dictionary.to_pylist()] + [-1])
        col = product_column[product.indices.fill_null(-1).to_numpy(zero_copy_only=False)]
        weight = batch.column(2).fill_null(0).to_numpy(zero_copy_only=False).astype(np.float32)
        keep = (col >= 0) & (weight != 0)
        user = batch.column(0).filter(pa.array(keep)).dictionary_encode()
        user_row = np.array(
            [users.setdefault(u, len(users)) for u in user.dictionary.to_pylist()], dtype=np.int64
        )
        rows.append(user_row[user.indices.to_numpy(zero_copy_only=False)])
        cols.append(col[keep])
        vals.append(weight[keep])
    matrix = torch.sparse_coo_tensor(
        torch.from_numpy(
            np.stack([np.concatenate(rows or [[]]), np.concatenate(cols or [[]])]).astype(np.int64)
        ),
        torch.from_numpy(np.concatenate(vals or [[]]).astype(np.float32)),
        (len(users), len(column)),
        check_invariants=False,
    )
    vectors = torch.sparse.mm(matrix, products.index.vectors.float().cpu())
    return list(users), torch.nn.functional.normalize(vectors, dim=1)


class SimilarUsersArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(description="The user to find look-alikes for.")
    k: int = Field(default=10, ge=1, le=100)


def similar_users(ctx: ToolContext, args: SimilarUsersArgs) -> ToolResult:
    """Look-alike users: those whose viewed, carted and bought products are closest in meaning to
    this user's (for audiences, or 'who else is like user 42')."""
    keys, vectors = user_vectors(ctx)
    position = {key: i for i, key in enumerate(keys)}
    if args.user_id not in position:
        raise UnknownEntity(unknown_user(ctx, args.user_id), args.user_id)
    index = ctx.cached("user_index", lambda: VectorIndex(keys, vectors, _encoder(ctx).device))
    me = vectors[position[args.user_id]].unsqueeze(0)
    hits = [(k, s) for k, s in index.search(me, args.k + 1)[0] if k != args.user_id][: args.k]
    profile = _profiles(ctx, [k for k, _ in hits])
    rows = [(k, round(s, 3), *profile.get(k, (0, 0, None))) for k, s in hits]
    return ToolResult(
        columns=["user_id", "similarity", "events", "orders", "top_category"],
        rows=rows,
        summary=(
            f"Users most like user {args.user_id}: "
            + narrate.listing([f"user {r[0]} (similarity {narrate.figure(r[1])})" for r in rows[:3]])
            + "."
            if rows
            else f"No users like user {args.user_id}."
        ),
        interpretation=f"Users whose mix of viewed, carted and bought products is closest to user {args.user_id}'s"
        " (mean product embeddings).",
    )


def _profiles(ctx: ToolContext, user_ids: list[str]) -> dict[str, tuple[Any, ...]]:
    if not user_ids:
        return {}
    rows = ctx.rows(
        """SELECT user_id, count(*), count(DISTINCT order_id), mode(category)
           FROM events WHERE list_contains($ids, user_id) GROUP BY 1""",
        ids=user_ids,
    )
    return {r[0]: r[1:] for r in rows}


def _search_follow_ups(arguments: dict[str, Any], first: Any) -> list[str]:
    product = first("product_id")
    out = (
        [f"What goes with product {product}?", f"Write a short promo for product {product}"]
        if product is not None
        else []
    )
    return [*out, f"What do shoppers search for around {arguments.get('query')}?"]


def tools(semantic: Any) -> list[Tool]:
    return [
        Tool(
            "search_products",
            search_products,
            SearchProductsArgs,
            prompt='products by meaning ("gifts for runners"), with category, brand, price_under and price_over.',
            follow_ups=_search_follow_ups,
        ),
        Tool(
            "search_queries",
            search_queries,
            SearchQueriesArgs,
            prompt="what shoppers type in site search around a topic.",
            follow_ups=lambda arguments, first: GENERIC_FOLLOW_UPS,
        ),
        Tool(
            "similar_users",
            similar_users,
            SimilarUsersArgs,
            prompt="users who behave like a given user_id (look-alikes).",
            follow_ups=lambda arguments, first: GENERIC_FOLLOW_UPS,
        ),
    ]
