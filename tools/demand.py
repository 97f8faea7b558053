"""What shoppers search for: site-search queries grouped into intents, each with its volume, the
share of its visits that bought, and how well the catalog matches it; the demand gaps first
(searched for but not sold, or sold but not converting).

Queries are embedded with the product encoder and grouped by meaning (a query joins the most
searched intent within `SAME_INTENT` cosine of it, else starts one). An intent is named by its
most searched query and described by code. The catalog match is the similarity of each query
to its closest product (the product index of `search_products`), averaged over the intent's
searches.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools import narrate
from tools.base import Tool, ToolContext, ToolError, ToolResult, drop_instructions
from tools.search import product_index, query_index

# Cosine between a query and an intent's leading query to be one intent: near-paraphrases only
# (at 0.75 the encoder joined "baby monitor" with "monitor" and "gaming laptop" with "gaming monitor").
SAME_INTENT = 0.85
# Below this similarity to the closest product, nothing in the catalog answers the query. Set
# from the demo shop: its queries for products it holds match at 0.45 or more (most 0.5-0.7);
# those for things it does not hold (its planted drones, scooters and aquariums, and the puzzles,
# board games and blenders of its search vocabulary) at 0.42 or less.
NOT_SOLD_BELOW = 0.42
# A query whose own words (before "with", "for" …) appear in no product's text is not sold
# unless its meaning matches a product this closely ("drone with 4k camera" matched a camera at
# 0.42; no product says "drone").
UNNAMED_BELOW = 0.5
MIN_SEARCHES = 5  # fewer searches than this say nothing about conversion


class DemandGapsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gap: Literal["any", "not_sold", "not_converting"] = Field(
        default="any",
        description="'not_sold': searched for but nothing in the catalog matches; 'not_converting': matched"
        " but the searches rarely end in a purchase; 'any': both, then every search intent",
    )
    k: int = Field(default=10, ge=1, le=100, description="How many search intents")


def demand_gaps(ctx: ToolContext, args: DemandGapsArgs) -> ToolResult:
    """What shoppers search for that the shop does not sell, or that does not convert: site-search
    queries grouped into intents, with searches, conversion, the closest product and its match."""
    intents = ctx.cached("search_intents", lambda: _intents(ctx))
    if not intents:
        raise ToolError("the data has no site-search queries (no search events with query text)")
    total = sum(i["searches"] for i in intents)
    overall = sum(i["searches"] * i["conversion"] for i in intents) / total
    for intent in intents:
        intent["gap"] = _gap(intent, overall)
    order = {"not sold": 0, "not converting": 1, "": 2}
    chosen = sorted(intents, key=lambda i: (order[i["gap"]], -i["searches"]))
    if args.gap != "any":
        chosen = [i for i in chosen if i["gap"] == args.gap.replace("_", " ")]
    rows = [
        (
            i["name"],
            i["searches"],
            round(i["conversion"], 4),
            round(i["match"], 3),
            i["closest_product"],
            i["gap"] or "none",
            "; ".join(i["examples"]),
        )
        for i in chosen[: args.k]
    ]
    not_sold = [r for r in rows if r[5] == "not sold"]
    converting = [r for r in rows if r[5] == "not converting"]
    parts = []
    if not_sold:
        parts.append(
            "searched for but not sold: "
            + narrate.listing(
                [f"'{narrate.quoted(r[0], 40)}' ({narrate.plural(r[1], 'search')})" for r in not_sold[:3]]
            )
        )
    if converting:
        parts.append(
            "sold but rarely bought after searching: "
            + narrate.listing(
                [
                    f"'{narrate.quoted(r[0], 40)}' ({narrate.figure(r[2], 'ratio')} of visits bought)"
                    for r in converting[:3]
                ]
            )
        )
    summary = (
        ("Demand gaps in site search: " + "; ".join(parts) + ".")
        if parts
        else f"No demand gap among {narrate.plural(len(intents), 'search intent')}: every one is matched by the"
        " catalog and converts near the usual rate."
    )
    return ToolResult(
        columns=[
            "intent",
            "searches",
            "session_conversion",
            "catalog_match",
            "closest_product",
            "gap",
            "queries",
        ],
        rows=rows,
        notes=[
            f"{len(intents):,} search intents from {total:,} searches; visits with a search bought at"
            f" {overall:.1%} overall",
            f"not sold: closest product's similarity under {NOT_SOLD_BELOW}, or under {UNNAMED_BELOW} with no"
            f" word of the query in any product's text; not converting: at least {MIN_SEARCHES} searches and"
            " under half the overall rate",
        ],
        summary=summary,
        interpretation="Site-search queries grouped by meaning into intents, each with its searches, the share of"
        " its visits that bought, and how closely the closest product in the catalog matches it; all data.",
    )


def _gap(intent: dict[str, Any], overall: float) -> str:
    if intent["match"] < NOT_SOLD_BELOW or (not intent["named"] and intent["match"] < UNNAMED_BELOW):
        return "not sold"
    if intent["searches"] >= MIN_SEARCHES and intent["conversion"] < overall / 2:
        return "not converting"
    return ""


def _intents(ctx: ToolContext) -> list[dict[str, Any]]:
    """The data's search intents, most searched first (each a dict of its figures)."""
    import torch  # at use: importing it costs a second

    index, stats = query_index(ctx)
    if not len(index):
        return []
    ctx.progress("grouping site searches by meaning", None)
    vectors = index.vectors.float()
    searches = np.asarray(stats["searches"], dtype=float)
    conversion = np.asarray(stats["session_conversion"], dtype=float)
    leaders: list[int] = []  # queries come most searched first: each leads or joins an intent
    member_of = np.zeros(len(index), dtype=int)
    for i in range(len(index)):
        if leaders:
            similarity = vectors[leaders] @ vectors[i]
            best = int(torch.argmax(similarity))
            if float(similarity[best]) >= SAME_INTENT:
                member_of[i] = best
                continue
        member_of[i] = len(leaders)
        leaders.append(i)
    catalog = _catalog_text(ctx)
    products = product_index(ctx)
    closest = products.index.search(vectors, 1)
    match = np.array([hits[0][1] if hits else 0.0 for hits in closest])
    # Titles reach sentences the model reads: none may carry planted instructions.
    titles = {
        key: drop_instructions(title) for key, title in zip(products.index.keys, products.title, strict=True)
    }
    intents = []
    for n, leader in enumerate(leaders):
        members = np.flatnonzero(member_of == n)
        weight = searches[members]
        best_product = closest[leader][0][0] if closest[leader] else None
        intents.append(
            {
                "name": index.keys[leader],
                "searches": int(weight.sum()),
                "conversion": float((conversion[members] * weight).sum() / weight.sum()),
                "match": float((match[members] * weight).sum() / weight.sum()),
                "closest_product": f"{titles.get(best_product, '')} ({best_product})"
                if best_product
                else None,
                "examples": [index.keys[m] for m in members[:3]],
                "named": _named_in_catalog(index.keys[leader], catalog),
            }
        )
    return intents


def _catalog_text(ctx: ToolContext) -> str:
    """Every product's title, category path, brand and description, lower-cased, in one text."""
    rows = ctx.rows("SELECT title, category_path, category, brand, description FROM products")
    return "\n".join(" ".join(str(v) for v in row if v).lower() for row in rows)


def _named_in_catalog(query: str, catalog: str) -> bool:
    """Whether a word of what the query asks for (before "with", "for" …) is in some product's
    text, also inside a longer word ("phone" in "smartphone"); a query in a language without
    spaces is taken as named (its words cannot be told apart)."""
    if not query.isascii():
        return True
    core = re.split(r"\b(?:with|for|under|over|from|in|on|by|to|near)\b", query)[0]
    words = [w for w in re.findall(r"\w+", core) if not w.isdigit()]
    return not words or any((w[:-1] if w.endswith("s") else w) in catalog for w in words)


def tools(semantic: Any) -> list[Tool]:
    return [
        Tool(
            "demand_gaps",
            demand_gaps,
            DemandGapsArgs,
            prompt="what shoppers search for that we do not sell, or that does not convert (site search).",
            follow_ups=lambda arguments, first: (
                [f"What do shoppers search for when they look for {first('intent')}?"]
                if first("intent")
                else []
            ),
        )
    ]
