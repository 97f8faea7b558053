"""`write_marketing_copy`: copy for a product, a segment, or a product aimed at a segment.

The facts come from the warehouse (the catalog row, how the product sells, what the segment
buys); the model writes from the template in `prompts/copy.md`. Its copy is then checked in
code: length, numbers, brands and promotional claims must all be in the facts. A draft that
fails is rewritten once with the problems named, then replaced by plain copy written by code.
"""

from __future__ import annotations

import logging
import re
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.grounding import ungrounded_numbers
from tools.base import (
    INSTRUCTION_LIKE,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    UnknownEntity,
    drop_instructions,
    format_value,
    render,
)
from tools.segments import RFM_DESCRIPTIONS, RFM_NAMES, behavior_clusters, rfm_sql, segment_name

log = logging.getLogger(__name__)

WORDS = {"short": 40, "medium": 80, "long": 150}
# Claims copy must not make unless the facts hold them.
PROMISES = re.compile(
    r"\b(free shipping|free delivery|discount|\d+\s*% off|sale|limited stock|only \d+ left|guarantee[d]?|"
    r"warranty|award[- ]winning|best[- ]seller|#1|number one|lowest price|in stock)\b",
    re.IGNORECASE,
)


class CopyArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: str | None = Field(default=None, description="The product to promote")
    segment: str | None = Field(default=None, description="The audience: an RFM or behavior segment name")
    tone: Literal["friendly", "professional", "playful", "urgent", "luxury"] = "friendly"
    length: Literal["short", "medium", "long"] = "short"
    channel: Literal["email", "social", "banner", "product page"] = "email"


def copy_facts(ctx: ToolContext, args: CopyArgs, notes: list[str]) -> list[tuple[str, Any]]:
    """(fact, value) pairs from the data: what the copy may say. What was left out goes to `notes`."""
    facts: list[tuple[str, Any]] = []
    if args.product_id:
        rows = ctx.rows(
            "SELECT title, brand, category, category_path, price, description FROM products WHERE product_id = $p",
            p=args.product_id,
        )
        if not rows:
            raise UnknownEntity(f"there is no product {args.product_id!r} in the catalog", args.product_id)
        title, brand, category, path, price, description = rows[0]
        clean_title, clean_description = drop_instructions(title), drop_instructions(description)
        if (clean_title, clean_description) != (title, description):
            notes.append("sentences of the catalog text that read as instructions were left out")
        title, description = clean_title, clean_description
        facts += [
            ("product", title or f"product {args.product_id}"),
            ("brand", brand),
            ("category", path or category),
        ]
        facts += [("price", price), ("description", description)]
        sold = ctx.rows(
            """SELECT count(DISTINCT order_id) AS orders, count(DISTINCT user_id) AS buyers,
                      rank FROM (SELECT product_id, count(DISTINCT order_id) AS n,
                                        rank() OVER (PARTITION BY category ORDER BY count(DISTINCT order_id) DESC) AS rank
                                 FROM events WHERE event_type = 'purchase' GROUP BY product_id, category) r
               JOIN events e USING (product_id)
               WHERE e.product_id = $p AND e.event_type = 'purchase' GROUP BY rank""",
            p=args.product_id,
        )
        if sold:
            facts += [("orders so far", sold[0][0]), ("rank by orders in its category", sold[0][2])]
    if args.segment:
        facts += _segment_facts(ctx, args.segment)
    if not facts:
        raise ToolError("name a product_id, a segment, or both")
    return [(k, v) for k, v in facts if v not in (None, "")]


def _segment_facts(ctx: ToolContext, segment: str) -> list[tuple[str, Any]]:
    name = segment_name(segment, RFM_NAMES)
    if name is not None:
        rfm = f"({rfm_sql()})"
        described = RFM_DESCRIPTIONS[name]
        where = "segment = $s"
        label = name.replace("_", " ")
    else:
        labels, clusters = behavior_clusters(ctx)
        cluster = next((c for c in clusters if segment.strip().lower() in c.name.lower()), None)
        if cluster is None:
            known = ", ".join(RFM_NAMES + [c.name for c in clusters])
            raise ToolError(f"no segment called {segment!r}; segments: {known}")
        described, label = cluster.description, cluster.name
        ids = [u for u, c in labels.items() if c == cluster.cluster]
        rows = ctx.rows(
            """SELECT category, count(*) FROM events WHERE list_contains($ids, user_id) AND event_type = 'purchase'
               AND category IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 3""",
            ids=ids,
        )
        price = ctx.rows(
            "SELECT avg(price) FROM events WHERE list_contains($ids, user_id) AND event_type = 'view'",
            ids=ids,
        )
        return [("audience", label), ("who they are", described), ("what they buy most", ", ".join(r[0] for r in rows)),
                ("average price they look at", round(price[0][0], 2) if price[0][0] else None)]  # fmt: skip
    rows = ctx.rows(
        f"""WITH m AS {rfm}
            SELECT e.category, count(*) FROM events e JOIN m USING (user_id)
            WHERE m.{where} AND e.event_type = 'purchase' AND e.category IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 3""",
        s=name,
        as_of=ctx.facts.last_day,
    )
    return [
        ("audience", label),
        ("who they are", described),
        ("what they buy most", ", ".join(r[0] for r in rows)),
    ]


def check_copy(text: str, facts: list[tuple[str, Any]], words: int, brands: set[str]) -> list[str]:
    """What is wrong with a draft: too long, numbers or brands or promises the facts lack."""
    problems = []
    if not text.strip() or re.search(r"[{}\[\]]", text):
        # The system prompt asks for JSON tool calls; a small model sometimes answers with one.
        problems.append("not plain copy (JSON or placeholders); write the sentences themselves")
    if INSTRUCTION_LIKE.search(text):
        problems.append("it repeats instructions or commands; write only about the product")
    count = len(text.split())
    if count > words * 1.2:
        problems.append(f"{count} words, the limit is {words}")
    fact_text = " ".join(str(v) for _, v in facts).lower()
    numbers = ungrounded_numbers(text, [tuple(v for _, v in facts)], "")
    if numbers:
        problems.append(f"numbers not in the facts: {', '.join(numbers)}")
    for brand in sorted(brands):
        if len(brand) > 2 and re.search(rf"\b{re.escape(brand)}\b", text.lower()) and brand not in fact_text:
            problems.append(f"brand not in the facts: {brand}")
    for promise in {m.group(0).lower() for m in PROMISES.finditer(text)}:
        if promise not in fact_text:
            problems.append(f"claim not in the facts: {promise}")
    return problems


def write_marketing_copy(ctx: ToolContext, args: CopyArgs) -> ToolResult:
    """Write marketing copy for a product, a customer segment, or a product for a segment, from
    facts in the data (catalog row, sales, what the segment buys); tone, length and channel options."""
    notes: list[str] = []
    facts = copy_facts(ctx, args, notes)
    words = WORDS[args.length]
    brands = {r[0].lower() for r in ctx.rows("SELECT DISTINCT brand FROM products WHERE brand IS NOT NULL")}
    template = resources.files("prompts").joinpath("copy.md").read_text()
    known = dict(facts)
    audience = (
        f"{known['audience']}: {known['who they are']}"
        if {"audience", "who they are"} <= known.keys()
        else "shoppers of this shop"
    )
    prompt = render(
        template,
        facts="\n".join(f"- {k}: {format_value(v)}" for k, v in facts),
        audience=audience,
        tone=args.tone,
        length=args.length,
        words=words,
        channel=args.channel,
    )
    text = None
    if ctx.llm is None:
        notes.append("no model available: plain copy written from the facts")
    else:
        for _ in range(2):
            try:
                # About 1.3 tokens a word, and room for a longer draft the check then rejects.
                draft = ctx.llm.text(prompt, max_tokens=2 * words + 40).strip().strip('"')
            except Exception as exc:
                notes.append(f"the model could not write copy ({type(exc).__name__})")
                break
            problems = check_copy(draft, facts, words, brands)
            if not problems:
                text = draft
                break
            log.info("copy draft rejected: %s", problems)
            prompt += (
                f"\n\nYour draft had problems ({'; '.join(problems)}). Write it again, using only the facts."
            )
        else:
            notes.append(
                "the model's copy made claims the facts lack; plain copy written from the facts instead"
            )
    if text is None:
        text = _plain_copy(facts)
    return ToolResult(
        columns=["fact", "value"],
        rows=facts,
        notes=notes,
        answer=text,
        interpretation=f"Marketing copy ({args.length}, {args.tone}, for {args.channel}) written from the facts"
        " listed below; checked in code against them (numbers, brands, promises).",
    )


def _plain_copy(facts: list[tuple[str, Any]]) -> str:
    known = dict(facts)
    if "product" in known:
        by = f" by {known['brand'].title()}" if known.get("brand") else ""
        price = f" Now {format_value(known['price'])}." if known.get("price") is not None else ""
        first = (known.get("description") or "").split(". ")[0].rstrip(".")
        return f"Meet the {known['product']}{by}. {first + '.' if first else ''}{price}".strip()
    return f"Picked for you: the best of {known.get('what they buy most') or 'our shop'}, chosen for our {known['audience']} customers."


def tools(semantic: Any) -> list[Tool]:
    return [
        Tool(
            "write_marketing_copy",
            write_marketing_copy,
            CopyArgs,
            prompt="copy for a product_id and/or a segment; tone, length, channel.",
            writes_prose=True,
            follow_ups=lambda arguments, first: ["Make it more professional and shorter"],
        )
    ]
