"""`write_marketing_copy`: copy for a product, a segment, or a product aimed at a segment.

The facts come from the warehouse (the catalog row, how the product sells, what the segment
buys); the model writes from the template in `prompts/copy.md`. Its copy is then checked in
code: length, numbers, brands and promotional claims must all be in the facts. A draft that
fails is rewritten once with the problems named, then replaced by plain copy written by code.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from datetime import date
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.grounding import numbers_in, ungrounded_numbers
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
from tools.language import is_chinese
from tools.narrate import number
from tools.segments import RFM_DESCRIPTIONS, RFM_NAMES, behavior_clusters, rfm, segment_name

log = logging.getLogger(__name__)

WORDS = {"short": 40, "medium": 80, "long": 150}
# What each channel allows beside the length asked for: a banner is a headline, a social post is
# short (and gets hashtags from the facts' categories); an email has a subject line and a preheader.
CHANNEL_WORDS = {"banner": 8, "social": 50}
SUBJECT_WORDS, PREHEADER_WORDS = 10, 15
HASHTAGS = 3
EMAIL = re.compile(
    r"^\W*(?:subject(?: line)?|邮件主题|主题|标题)\W*[:：]\s*(?P<subject>[^\n]+?)\s*\n+"
    r"\W*(?:pre-?header|预览文字|预览|摘要)\W*[:：]\s*(?P<preheader>[^\n]+?)\s*\n+(?P<body>.+)$",
    re.IGNORECASE | re.DOTALL,
)
# The labels of an email's parts as shown, by the copy's language.
EMAIL_LABELS = {"en": ("Subject: ", "Preheader: "), "zh": ("主题：", "预览：")}
# Claims copy must not make unless the facts (the data and the user's brief) say them. Chinese
# has no spaces between words: its terms are matched without word boundaries.
PROMISES = re.compile(
    r"\b(free shipping|free delivery|free returns|\d+\s*% off|limited stock|only \d+ left|guarantee[d]?"
    r"|warranty|award[- ]winning|lowest price|in stock|save \d+|while (stocks|supplies) last)\b"
    r"|包邮|免运费|免费送货|免费配送|免费退货|七天无理由|质保|保修|正品保证|获奖|最低价|全网最低|现货|库存有限|仅剩\d+件|售完即止",
    re.IGNORECASE,
)
# Words that announce an offer: allowed only when the brief has one (or a code).
OFFER_WORDS = re.compile(
    r"\b((special|exclusive|limited[- ]time) (offer|deal)s?|(this|our|an?) (offer|deal)|promo(tion)? codes?"
    r"|coupons?|vouchers?|discount(ed|s)?|on sale|sale (ends|price)|last chance|ends? (today|soon|tonight)"
    r"|save (big|more|on)|big savings|great deals?|best deals?)\b"
    r"|优惠|折扣|打折|\d+折|促销|特价|满减|优惠券|优惠码|限时|秒杀|大促|最后机会",
    re.IGNORECASE,
)
# Factual superlatives: only for a product first in its category by orders. Marketing words that
# claim nothing about the data ("perfect for any occasion", "the best of") are left alone.
SUPERLATIVES = re.compile(
    r"\b(best[- ]?sell(er|ers|ing)|#1|number one|no\. ?1|most popular|top[- ](selling|seller|rated)"
    r"|customer favou?rite|fan favou?rite)"
    r"|最畅销|热销第一|销量第一|销量冠军|卖得最好|最受欢迎|人气第一|第一名|爆款",
    re.IGNORECASE,
)
# "Shop now at X", "only at X", "available from X", "Welcome to X", "Thank you for choosing X":
# where copy names the shop.
SHOP_WORDS = (
    r"\b(?:shop(?: now)?|only|available|buy(?: now)?|order(?: now)?|find (?:it|them|us)) (?:at|from|on)"
    r"|\bwelcome to|\bfor choosing|\bhere at|\bthe team at"
)
SHOP_NAMED = re.compile(rf"(?i:{SHOP_WORDS}) ([A-Z][\w&'-]*(?: [A-Z][\w&'-]*)*)")


# Not before a digit or a small letter: "Rs. 22,646", "approx. two" go on.
CLAUSE_BREAK = re.compile(r"\s+[-–—|]\s+|:\s+")  # a headline's parts: "Name - tagline", "Name: tagline"
BROKEN_OFF = re.compile(r"[,;:–—-]\s*$")  # a headline that stops where its sentence goes on
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?![a-z0-9])|(?<=[。！？])\s*")
IN_CHINESE = (
    "Write it in Simplified Chinese; keep product names, brands and numbers exactly as the facts write them."
)


def words_in(text: str) -> int:
    """Words for a length limit: English words, and Chinese at two characters a word."""
    latin = sum(1 for w in re.sub(r"[\u4e00-\u9fff]", " ", text).split() if re.search(r"\w", w))
    return latin + (len(re.findall(r"[\u4e00-\u9fff]", text)) + 1) // 2


# What a small model writes in a date it was not given; anything else that is not a date is an error.
PLACEHOLDER_DATE = re.compile(r"0{4}-\d\d-\d\d|y{4}-m{2}-d{2}|null|none|n/?a|tbd|", re.IGNORECASE)


class CopyBrief(BaseModel):
    """What the user gives the campaign: the only source of offers and promises. Empty by
    default, and then the copy promises nothing."""

    model_config = ConfigDict(extra="forbid")
    offer: str | None = Field(
        default=None, max_length=200, description="The offer, e.g. '20% off all kettles'"
    )
    code: str | None = Field(default=None, max_length=40, description="A discount code")
    ends: date | None = Field(default=None, description="The last day of the offer")
    call_to_action: str | None = Field(default=None, max_length=80, description="e.g. 'Shop the range'")
    shop_name: str | None = Field(default=None, max_length=80, description="The shop's own name")
    avoid: list[str] = Field(default=[], max_length=20, description="Words the copy must not use")

    @field_validator("ends", mode="before")
    @classmethod
    def _no_placeholder_date(cls, value: Any) -> Any:
        """A small model fills an end date it was not given with a placeholder ("0000-01-01",
        "YYYY-MM-DD"): no date, rather than a call that fails to parse. Anything else that is not
        a date ("2027-13-45", words) is still an error."""
        if isinstance(value, str) and PLACEHOLDER_DATE.fullmatch(value.strip()):
            return None
        return value

    def facts(self) -> list[tuple[str, Any]]:
        return [
            ("offer", self.offer),
            ("discount code", self.code),
            ("offer ends", f"{self.ends.day} {self.ends:%B %Y}" if self.ends else None),
            ("call to action", self.call_to_action),
            ("shop", self.shop_name),
        ]


class CopyArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: str | None = Field(default=None, description="The product to promote")
    segment: str | None = Field(default=None, description="The audience: an RFM or behavior segment name")
    tone: Literal["friendly", "professional", "playful", "urgent", "luxury"] = "friendly"
    length: Literal["short", "medium", "long"] = "short"
    channel: Literal["email", "social", "banner", "product page"] = "email"
    language: Literal["en", "zh"] = Field(default="en", description="en: English; zh: Simplified Chinese")
    variants: int = Field(default=1, ge=1, le=3, description="How many versions to write (1-3)")
    brief: CopyBrief = Field(
        default_factory=CopyBrief, description="The user's offer, shop name, words to avoid"
    )


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
            ("brand", brand_as_written(ctx, brand) if brand else None),
            ("category", path or category),
        ]
        local = without_store_talk(description, title or "") if description else description
        if local != description:
            notes.append(
                "the listing's words about the store (buying online, its shipping, its price) were left out"
            )
        shown = description_for_copy(local)
        if shown != local:
            notes.append(f"the description was cut to its first {words_in(shown or '')} words for the copy")
        facts += [("price", price), ("description", shown)]
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
    title = dict(facts).get("product")
    for key, value in args.brief.facts():
        if key == "offer" and value and args.product_id and title:
            # "30% off product 968": readers know the product by its name, not the catalog's id.
            value = re.sub(
                rf"\b(?:product|item|sku|#)\s*#?{re.escape(args.product_id)}\b",
                short_title(str(title)),
                value,
                flags=re.I,
            )
        facts.append((key, value))
    offered = _price_with_offer(dict(facts).get("price"), args.brief.offer)
    if offered is not None:  # "15% off, now at 207.49!": a figure the copy may state, checked
        facts.append(("price with the offer", offered))
    return [(k, v) for k, v in facts if v not in (None, "")]


PERCENT_OFF = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent)\s+off\b", re.IGNORECASE)
# A currency before an amount, as briefs write it ("Rs. 2,000", "$20", "USD 20").
CURRENCY = r"(?:rs\.?|inr|₹|\$|€|£|¥|usd|eur)"
AMOUNT_OFF = re.compile(rf"{CURRENCY}\s?([\d,]+(?:\.\d+)?)\s+off\b", re.IGNORECASE)


def _price_with_offer(price: Any, offer: str | None) -> float | None:
    """The product's price after the brief's offer ("15% off", "Rs. 2,000 off"); None when the
    offer names no such discount or the product has no price."""
    try:
        price = float(price)
    except (TypeError, ValueError):
        return None
    if not offer or price <= 0:
        return None
    if found := PERCENT_OFF.search(offer):
        share = float(found.group(1))
        return round(price * (1 - share / 100), 2) if 0 < share < 100 else None
    if found := AMOUNT_OFF.search(offer):
        amount = float(found.group(1).replace(",", ""))
        return round(price - amount, 2) if 0 < amount < price else None
    return None


def _segment_facts(ctx: ToolContext, segment: str) -> list[tuple[str, Any]]:
    """Who the segment is, in figures: size, typical order, how recently they bought, the
    categories, brands and products they buy most, and what they look at without buying."""
    name = segment_name(segment, RFM_NAMES)
    if name is not None:
        # Who they are, without the advice to the marketer after it ("; offer relevant products
        # and discounts"): the model read the advice as an offer to make.
        described, label = RFM_DESCRIPTIONS[name].split(";")[0], name.replace("_", " ")
        ids = [str(row[0]) for row in rfm(ctx) if row[8] == name]
    else:
        labels, clusters = behavior_clusters(ctx)
        cluster = next((c for c in clusters if segment.strip().lower() in c.name.lower()), None)
        if cluster is None:
            known = ", ".join(RFM_NAMES + [c.name for c in clusters])
            raise ToolError(f"no segment called {segment!r}; segments: {known}")
        described, label = cluster.description, cluster.name
        ids = [str(u) for u, c in labels.items() if c == cluster.cluster]
    if len(ids) < ctx.settings.min_group_size:
        raise ToolError(
            f"the segment {label!r} has {len(ids)} customers, fewer than {ctx.settings.min_group_size}: copy"
            " about it would describe individual people (privacy: SHOPLENS_MIN_GROUP_SIZE)"
        )
    return [
        ("audience", label),
        ("who they are", described),
        ("customers in it", len(ids)),
        *_group_figures(ctx, ids),
    ]


def _top(ctx: ToolContext, column: str, ids: list[str]) -> list[str]:
    rows = ctx.rows(
        f"""SELECT {column}, count(*) FROM events WHERE list_contains($ids, CAST(user_id AS VARCHAR))
            AND event_type = 'purchase' AND {column} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3""",
        ids=ids,
    )
    return [str(r[0]) for r in rows]


def brand_as_written(ctx: ToolContext, brand: str) -> str:
    """Brands are stored lower case; copy writes them as the catalog's titles do ('DK', 'ghd',
    "O'Reilly" for oreilly: a stored brand may have lost its marks)."""
    rows = ctx.rows(
        "SELECT title FROM products WHERE lower(brand) = $b AND title IS NOT NULL LIMIT 20", b=brand.lower()
    )
    spelled = r"[\W_]?".join(map(re.escape, brand))
    for (title,) in rows:
        found = re.search(rf"(?i)\b{spelled}\b", str(title))
        if found:
            return found.group(0)
    return brand.title()


def _group_figures(ctx: ToolContext, ids: list[str]) -> list[tuple[str, Any]]:
    """Figures about a group of customers that copy may cite (each one checkable in the facts)."""
    who = "list_contains($ids, CAST(user_id AS VARCHAR))"
    typical = ctx.rows(
        f"""SELECT median(v) FROM (SELECT order_id, sum(price * coalesce(quantity, 1)) AS v FROM events
            WHERE event_type = 'purchase' AND {who} AND order_id IS NOT NULL GROUP BY 1)""",
        ids=ids,
    )[0][0]
    recency = ctx.rows(
        f"""SELECT median(d) FROM (SELECT date_diff('day', CAST(max(event_time) AS DATE), CAST($as_of AS DATE)) AS d
            FROM events WHERE event_type = 'purchase' AND {who} GROUP BY user_id)""",
        ids=ids,
        as_of=ctx.facts.last_day,
    )[0][0]
    bought = ctx.rows(
        f"""SELECT coalesce(p.title, 'product ' || e.product_id), count(DISTINCT e.order_id) AS n
            FROM events e LEFT JOIN products p USING (product_id)
            WHERE e.event_type = 'purchase' AND {who.replace("user_id", "e.user_id")}
            GROUP BY e.product_id, p.title ORDER BY n DESC, 1 LIMIT 3""",
        ids=ids,
    )
    # Looked at by the most of them, bought by none of them.
    wanted = ctx.rows(
        f"""SELECT coalesce(p.title, 'product ' || e.product_id), count(DISTINCT e.user_id) AS n
            FROM events e LEFT JOIN products p USING (product_id)
            WHERE e.event_type = 'view' AND {who.replace("user_id", "e.user_id")}
              AND e.product_id NOT IN (SELECT product_id FROM events WHERE event_type = 'purchase'
                                       AND {who} AND product_id IS NOT NULL)
            GROUP BY e.product_id, p.title ORDER BY n DESC, 1 LIMIT 1""",
        ids=ids,
    )
    return [
        ("what they buy most", ", ".join(_top(ctx, "category", ids))),
        ("brands they buy most", ", ".join(brand_as_written(ctx, b) for b in _top(ctx, "brand", ids))),
        # Titles hold commas ("Nappies, Size 4"): a semicolon separates them.
        ("products they buy most", "; ".join(drop_instructions(str(r[0])) for r in bought)),
        ("typical order", round(typical, 2) if typical is not None else None),
        ("days since their last purchase (median)", round(recency) if recency is not None else None),
        ("viewed most without buying", drop_instructions(str(wanted[0][0])) if wanted else None),
    ]


# Segment names that are the shop's words about customers, not words to greet them with ("Dear
# Lost Customers", "Hey there, hibernating shoppers!"): the pattern each is written as.
JARGON_SEGMENTS = {
    "lost": r"lost (customers?|shoppers?|ones|friends)",
    "hibernating": r"hibernat\w*",
    "at risk": r"at[- ]risk",
    "about to sleep": r"about[- ]to[- ]sleep",
    "cant lose them": r"can'?t[- ]lose[- ]them",
    "need attention": r"need(s|ing)? attention",
}
# Readers greeted as a group nobody is ("Hey there, shoppers of this shop!": the model greeted the
# prompt's default audience word for word).
NO_ONES_GROUP = re.compile(
    r"\b(?:shoppers|customers|buyers|visitors) of (?:this|the|our) (?:online )?(?:shop|store)\b", re.I
)
# Letter-writing filler that says nothing ("We hope this email finds you well.": an email's
# preheader and first line in the copy suites).
FILLER = re.compile(
    r"\bhope (?:this|the|my|our) (?:e-?mail|message|note|letter) finds you well\b"
    r"|\bhope you(?:'re| are) (?:doing )?well\b",
    re.I,
)
# Words to the marketer about the readers, not to the readers ("an exciting opportunity to win
# back customers who have been away", "As we continue to lose customers", "Our audience consists
# of …": segment emails in copy-demo).
ABOUT_THE_READERS = re.compile(
    r"\bwin(?:ning)? (?:them |these customers |customers |shoppers )?back\b|\bour (?:target )?audience\b"
    r"|\b(?:lose|losing) (?:our |your |more )?customers\b|\byour (?:lost |loyal |best )?customers\b"
    r"|\b(?:re-?)?engage (?:them|these (?:customers|shoppers))\b",
    re.I,
)
COPIED_MIN_WORDS, COPIED_RUN = 12, 6
COPIED_PROBLEM = "it copies the catalog's listing text; write the copy in your own words"


def copied_share(text: str, description: str, title: str = "") -> float:
    """The share of the text's words (the product's name aside) that sit in runs of six or more
    words copied from the description: listing text ("For Only Rs. 1299 Online in India. Shop
    Online For Apparels.", a specification list) pasted as the model's copy."""
    if title.strip():
        text, description = (
            re.sub(re.escape(title), " ", t, flags=re.IGNORECASE) for t in (text, description)
        )
    words = re.findall(r"\w+", text.lower())
    source = re.findall(r"\w+", description.lower())
    runs = {tuple(source[i : i + COPIED_RUN]) for i in range(len(source) - COPIED_RUN + 1)}
    covered = [False] * len(words)
    for i in range(len(words) - COPIED_RUN + 1):
        if tuple(words[i : i + COPIED_RUN]) in runs:
            covered[i : i + COPIED_RUN] = [True] * COPIED_RUN
    return sum(covered) / len(words) if words else 0.0


def check_copy(
    text: str,
    facts: list[tuple[str, Any]],
    words: int,
    brands: set[str],
    avoid: list[str] | None = None,
    products: Collection[str] = (),
) -> list[str]:
    """What is wrong with a draft: too long; numbers, brands, products, promises, offers or
    superlatives the facts (the data and the brief) do not hold; the shop named as someone else;
    words the brief avoids. `products`: the catalog's product names (`short_title`, lower case)."""
    problems = []
    lowered = text.lower()
    if products:
        fact_text = " ".join(str(v) for _, v in facts).lower()
        for name in sorted(n for n in products if n in lowered and n not in fact_text):
            problems.append(f"names a product the facts do not: {name}")
    if not text.strip() or re.match(r"\s*(\{|\[\s*[{\"\]])", text):
        # The system prompt asks for JSON tool calls; a small model sometimes answers with one.
        problems.append("not plain copy (JSON or placeholders); write the sentences themselves")
    elif re.search(r"[{}\[\]]", text):  # "Dear [Customer's Name]," "[Your Name]": a form to fill in
        problems.append("a placeholder ([…]) where copy should be")
    if INSTRUCTION_LIKE.search(text):
        problems.append("it repeats instructions or commands; write only about the product")
    count = words_in(text)
    if count > words * 1.2:
        problems.append(f"{count} words, the limit is {words}")
    known = dict(facts)
    fact_text = " ".join(str(v) for _, v in facts).lower()
    numbers = ungrounded_numbers(text, [tuple(v for _, v in facts)], "")
    if numbers:
        problems.append(f"numbers not in the facts: {', '.join(numbers)}")
    for brand in sorted(brands):
        if len(brand) > 2 and re.search(rf"\b{re.escape(brand)}\b", text.lower()) and brand not in fact_text:
            problems.append(f"brand not in the facts: {brand}")
    for promise in sorted({m.group(0).lower() for m in PROMISES.finditer(text)}):
        if promise not in fact_text:
            problems.append(f"claim not in the facts: {promise}")
    if not ({"offer", "discount code"} & known.keys()):
        for offer in sorted({m.group(0).lower() for m in OFFER_WORDS.finditer(text)}):
            problems.append(f"an offer the brief does not make: {offer}")
    if known.get("rank by orders in its category") != 1:
        for claim in sorted({m.group(0).lower() for m in SUPERLATIVES.finditer(text)}):
            problems.append(f"a superlative the facts do not support: {claim}")
    shop = str(known.get("shop") or "")
    named_as = {m.group(1) for m in SHOP_NAMED.finditer(text)}
    brand = str(known.get("brand") or "")
    if brand and (found := re.search(rf"(?:{SHOP_WORDS}) ({re.escape(brand)})\b", text, re.IGNORECASE)):
        if not any(n.lower().startswith(brand.lower()) for n in named_as):  # a brand in small letters
            named_as.add(found.group(1))
    for named in sorted(named_as):
        if not shop or not named.lower().startswith(shop.lower()):
            problems.append(
                f"names the shop as {named!r}: "
                + (f"the shop is {shop}" if shop else "the brief names no shop")
            )
    if found := NO_ONES_GROUP.search(text):
        problems.append(f"greets its readers as {found.group(0)!r}; write to them as 'you'")
    if found := ABOUT_THE_READERS.search(text):
        problems.append(
            f"speaks about its readers to the marketer ({found.group(0)!r}); write to the readers"
        )
    if found := FILLER.search(text):
        problems.append(f"filler a reader skips ({found.group(0)!r}); say something about the product")
    audience = str(known.get("audience") or "")
    if audience in JARGON_SEGMENTS and re.search(rf"\b{JARGON_SEGMENTS[audience]}\b", text, re.IGNORECASE):
        problems.append(
            f"calls its readers by the segment's internal name ({audience}); write to them as people"
        )
    for word in avoid or []:
        if word.strip() and re.search(rf"\b{re.escape(word.strip().lower())}\b", text.lower()):
            problems.append(f"uses a word the brief avoids: {word.strip()}")
    return problems


def facts_used(text: str, facts: list[tuple[str, Any]]) -> list[str]:
    """The facts a version of copy draws on, traced in code: a figure it states (to its rounding),
    a name or one item of a listed fact it names, four words in a row of a description."""
    lowered = " ".join(text.lower().split())
    stated = [value for _, value, _, _ in numbers_in(text)]
    used = []
    for key, value in facts:
        if isinstance(value, bool):
            continue
        if (amount := number(value)) is not None:  # ints, floats and the warehouse's decimals
            if any(abs(n - amount) <= max(0.5, abs(amount) * 0.005) for n in stated):
                used.append(key)
            continue
        words = " ".join(str(value).lower().split())
        if key == "description":
            tokens = words.split()
            runs = {" ".join(tokens[i : i + 4]) for i in range(max(0, len(tokens) - 3))}
            if any(run in lowered for run in runs):
                used.append(key)
        elif any(len(item) >= 3 and item in lowered for item in _items(words)):
            used.append(key)
    return used


def _items(listed: str) -> list[str]:
    """A fact's value and, for a list ("books, beauty and apparel"), each of its items."""
    return [listed, *(p.strip() for p in re.split(r",|;|、|\band\b", listed) if p.strip())]


# The notes that say how copy was written (the eval counts them: eval/scoring.py).
PLAIN_COPY_NOTE = "plain copy written from the facts"
DROPPED_NOTE = "dropped a sentence the facts do not support"
# Problems of a whole draft, which dropping sentences cannot mend.
WHOLE_DRAFT = ("not plain copy", "it repeats instructions")


def repaired(
    draft: str,
    facts: list[tuple[str, Any]],
    words: int,
    brands: set[str],
    avoid: list[str] | None = None,
    products: Collection[str] = (),
) -> tuple[str | None, list[tuple[str, str]]]:
    """The draft without its sentences that fail the check, and without its last sentences (the
    brief's code and call to action kept) while it is over the length asked for, when the rest
    still reads as copy (two sentences, one for a banner's headline, and half the words it may
    have) and passes the check as a whole:
    (the copy, [(a dropped sentence, why)]); (None, []) when it does not. Paragraphs stay."""
    if any(p.startswith(WHOLE_DRAFT) for p in check_copy(draft, facts, words, brands, avoid, products)):
        return None, []
    paragraphs = [[s for s in SENTENCE_END.split(p.strip()) if s.strip()] for p in re.split(r"\n+", draft)]
    kept: list[list[str]] = []
    dropped: list[tuple[str, str]] = []
    for sentences in paragraphs:
        kept.append([])
        for sentence in sentences:
            if problems := check_copy(sentence, facts, words, brands, avoid, products):
                dropped.append((sentence, "; ".join(problems)))
            elif words <= CHANNEL_WORDS["banner"] and BROKEN_OFF.search(sentence):
                # "Dyson V12 … Cleaner Plus," kept as a headline (an email's "Best regards," is fine)
                dropped.append((sentence, "it breaks off mid-sentence"))
            else:
                kept[-1].append(sentence)
    joiner = "" if is_chinese(draft) else " "

    def text_of(parts: list[list[str]]) -> str:
        return "\n\n".join(joiner.join(p) for p in parts if p)

    # Too long: the end goes, but the brief's code and call to action stay while another sentence
    # can go; the user asked for them and the model writes them last ("Apply the code LASTCALL").
    asked = [str(v).lower() for k, v in facts if k in ("discount code", "call to action") and v]
    while sum(map(len, kept)) > 1 and words_in(text_of(kept)) > words:
        placed = [(p, s) for p in kept for s in p]
        p, sentence = next(
            ((p, s) for p, s in reversed(placed) if not any(a in s.lower() for a in asked)), placed[-1]
        )
        p.remove(sentence)
        dropped.append((sentence, f"over the {words} words asked for"))
    text = text_of(kept)
    fewest = 1 if words <= CHANNEL_WORDS["banner"] else 2
    if (
        sum(map(len, kept)) < fewest
        or words_in(text) * 2 < min(words_in(draft), words)
        or check_copy(text, facts, words, brands, avoid, products)
    ):
        return None, []
    return text, dropped


def body_words(length: str, channel: str) -> int:
    """The words the copy's body may have: the length asked for, capped by the channel."""
    return min(WORDS[length], CHANNEL_WORDS.get(channel, WORDS[length]))


def copy_words(length: str, channel: str, variants: int = 1) -> int:
    """The words a whole piece of copy may have as shown (its parts, every version), for a check
    of the text as a reader gets it (the eval's)."""
    extra = {"email": SUBJECT_WORDS + PREHEADER_WORDS + 2, "social": HASHTAGS}.get(channel, 0)
    return (body_words(length, channel) + extra + 2) * variants


# How each channel's reply is laid out (prompts/copy.md's {layout}).
LAYOUTS = {
    "email": "Start with a line 'Subject: ' (at most 10 words), then a line 'Preheader: ' (at most 15"
    " words), then the email's body.",
    "social": "A social media post; no hashtags (they are added).",
    # Asked for 8 words at most, the model wrote 13-31; a target under the limit lands nearer it,
    # and "the headline only, like a shop sign" nearer still.
    "banner": "Reply with the banner's headline only: at most 6 words on one line, like a shop sign;"
    " not the product's name.",
    "product page": "A product page description; no title line.",
}


def write_marketing_copy(ctx: ToolContext, args: CopyArgs) -> ToolResult:
    """Write marketing copy for a product, a customer segment, or a product for a segment, from
    facts in the data (catalog row, sales, what the segment buys); tone, length and channel
    (an email gets a subject line and a preheader, a social post hashtags, a banner 8 words);
    up to 3 versions to choose from, each checked."""
    notes: list[str] = []
    facts = copy_facts(ctx, args, notes)
    words = body_words(args.length, args.channel)
    brands = {r[0].lower() for r in ctx.rows("SELECT DISTINCT brand FROM products WHERE brand IS NOT NULL")}
    # Products named by three words or more ("Dyson V12 Detect"): a shorter name is a common word.
    products = {
        name
        for (title,) in ctx.rows("SELECT DISTINCT title FROM products WHERE title IS NOT NULL")
        if len((name := short_title(title).lower()).split()) >= 3
    }
    template = resources.files("prompts").joinpath("copy.md").read_text()
    known = dict(facts)
    # The shop's name for a segment ("hibernating") is not shown to the model: it greeted the
    # readers with it ("Hey there, hibernating shoppers!") in every draft; who they are is.
    jargon = str(known.get("audience")) in JARGON_SEGMENTS
    audience = (
        ("" if jargon else f"{known['audience']}: ") + str(known["who they are"])
        if {"audience", "who they are"} <= known.keys()
        else "not named; write to the reader as 'you'"
    )
    shown = [(k, v) for k, v in facts if not (jargon and k == "audience")]
    prompt = render(
        template,
        facts="\n".join(f"- {k}: {format_value(v)}" for k, v in shown),
        audience=audience,
        tone=args.tone,
        length=args.length,
        words=words,
        channel=args.channel,
        layout=LAYOUTS[args.channel],
        language=IN_CHINESE if args.language == "zh" else "",
    )
    check = _Check(facts, words, brands, args.brief.avoid, products)
    versions: list[str] = []
    if ctx.llm is None:
        notes.append(f"no model available: {PLAIN_COPY_NOTE}")
    else:
        for version in range(args.variants):
            written = _drafted(ctx, prompt, check, args, version, notes)
            if written is None:
                break  # the model failed twice, or is not answering: the next would too
            if written not in versions:
                versions.append(written)
        if not versions:
            notes.append(f"the model's copy made claims the facts lack; {PLAIN_COPY_NOTE} instead")
        elif len(versions) < args.variants:
            notes.append(f"{len(versions)} of the {args.variants} versions asked for passed the check")
    if not versions:
        plain = _plain_copy_in_chinese(facts) if args.language == "zh" else _plain_copy(facts)
        if args.channel == "banner":
            plain = _headline(plain, facts, words)
        versions = [_laid_out(args.channel, plain, None, facts, args.language)]
    text = (
        versions[0]
        if len(versions) == 1
        else "\n\n".join(f"Version {i}:\n{v}" for i, v in enumerate(versions, 1))
    )
    return ToolResult(
        columns=["fact", "value"],
        rows=facts,
        notes=notes,
        answer=text,
        interpretation=f"Marketing copy ({args.length}, {args.tone}, for {args.channel}) written from the facts"
        " listed below; checked in code against them (numbers, brands, promises).",
    )


VERSION = re.compile(r"(?:^|\n\n)Version \d+:\n")


def versions_of(text: str) -> list[str]:
    """The versions of a copy answer (one, or those 'Version N:' heads), for showing side by side."""
    return [v for v in VERSION.split(text) if v.strip()] if VERSION.match(text) else [text]


class _Check:
    """check_copy and repaired with one request's facts, brands and words to avoid."""

    def __init__(
        self,
        facts: list[tuple[str, Any]],
        words: int,
        brands: set[str],
        avoid: list[str],
        products: Collection[str] = (),
    ) -> None:
        self.facts, self.words, self.brands, self.avoid, self.products = facts, words, brands, avoid, products

    def problems(self, text: str, words: int | None = None) -> list[str]:
        return check_copy(text, self.facts, words or self.words, self.brands, self.avoid, self.products)

    def repaired(self, text: str) -> tuple[str | None, list[tuple[str, str]]]:
        return repaired(text, self.facts, self.words, self.brands, self.avoid, self.products)

    def headline(self, draft: str) -> str | None:
        """A banner's headline from a draft too long for one. The model writes the product's full
        name and a tagline ("Roborock S8 Robot Vacuum Cleaner Lite (Graphite) - Get Your Cleaning
        Done Faster and Easier!", 14 words): each sentence and each part of it between dashes or
        colons, the name shortened, is a candidate, and so is each without the name it ends on; of
        those that pass the check and are more than the name, the one with the brief's offer, then
        one naming the product or brand, then the longest."""
        known = dict(self.facts)
        title = str(known.get("product") or "")
        short = short_title(title)
        offer_marks = [str(v).lower() for v in (known.get("discount code"),) if v]
        offer_marks += re.findall(r"\d+(?:[.,]\d+)?%?", str(known.get("offer") or ""))
        names = [n.lower() for n in (short, str(known.get("brand") or "")) if n]
        sentences = sentences_in(draft)
        ending_name = name_at_end(short) if short else None
        candidates: list[str] = []
        for sentence in sentences:
            if short:  # "Name (Colour)" and the full title read as the short name
                sentence = re.sub(
                    re.escape(short) + r"(?:\s*\([^)]*\))?", short, sentence.replace(title, short)
                )
            parts = [sentence, *(p for p in CLAUSE_BREAK.split(sentence) if p != sentence)]
            if ending_name:  # "Skate the fun way with Veelys … Roller Skates!": the idea, without the name
                parts += [cut for p in parts if (cut := ending_name.sub("", p)) != p]
            candidates += parts

        listing = " ".join(str(known.get("description") or "").lower().split())

        def fits(line: str) -> bool:
            bare = line.strip(" .!").lower()
            return (
                3 <= words_in(line) <= self.words
                and bare not in title.lower()  # a part of the name ("One Switch Control …") says nothing
                and " ".join(bare.split()) not in listing  # nor a line of the listing pasted as it is
                and not BROKEN_OFF.search(line)
                and not GREETING.match(line)
                and not self.problems(line)
            )

        def merit(line: str) -> tuple[bool, bool, int]:
            said = line.lower()
            return any(m.lower() in said for m in offer_marks), any(n in said for n in names), words_in(line)

        fitting = [c.strip() for c in candidates if c.strip() and fits(c.strip())]
        return max(fitting, key=merit) if fitting else None

    def copied(self, text: str) -> list[str]:
        """A model's draft that is mostly the listing's own text (code's plain copy may quote it)."""
        known = dict(self.facts)
        share = copied_share(text, str(known.get("description") or ""), str(known.get("product") or ""))
        return [COPIED_PROBLEM] if words_in(text) >= COPIED_MIN_WORDS and share > 0.5 else []


def sentences_in(text: str) -> list[str]:
    """The text's sentences, line by line: a line break ends a sentence too (a headline, a greeting)."""
    return [s for line in text.splitlines() for s in SENTENCE_END.split(line.strip()) if s.strip()]


def name_at_end(name: str) -> re.Pattern[str]:
    """The product's name where a headline ends on it: "… with the Veelys Roller Skates!"."""
    return re.compile(
        rf"\s+(?:with|for|from|on|in)\s+(?:(?:the|our|your|new)\s+)*{re.escape(name)}(?=\W*$)",
        re.IGNORECASE,
    )


def _drafted(
    ctx: ToolContext, prompt: str, check: _Check, args: CopyArgs, version: int, notes: list[str]
) -> str | None:
    """One version from the model, checked (a failing draft is rewritten once with its problems
    named; a draft whose only failures are some sentences loses those): laid out for its
    channel, or None. Versions after the first are sampled (temperature 0.8, a seed each), and so
    is a banner's second draft."""
    channel = args.channel
    sampled = {"temperature": 0.8, "seed": version} if version else {}
    extra = SUBJECT_WORDS + PREHEADER_WORDS if channel == "email" else 0
    for attempt in range(2):
        if attempt and channel == "banner":
            # Greedy, the model wrote its long banner again word for word when asked to shorten it.
            sampled = {"temperature": 0.8, "seed": version + 1}
        try:
            reply = ctx.llm.text(
                prompt, max_tokens=token_budget(check.words + extra, args.language), **sampled
            )
        except Exception as exc:
            notes.append(f"the model could not write copy ({type(exc).__name__})")
            return None
        header, body = _email_parts(reply.strip().strip('"')) if channel == "email" else (None, reply)
        body = without_cut_tail(without_repeats(body.strip().strip('"')))
        problems, copied = check.problems(body), check.copied(body)
        # A banner's line is too short to be copied listing text (COPIED_MIN_WORDS): one may come
        # from a pasted draft too.
        if (problems or copied) and channel == "banner" and (line := check.headline(body)):
            notes.append(f"{DROPPED_NOTE} (a banner is one line of {check.words} words): {body}")
            body, problems, copied = line, [], []
        if problems and not copied:
            kept, dropped = check.repaired(body)
            if kept is not None:  # only some sentences claimed what the facts lack: those go
                notes += [f"{DROPPED_NOTE} ({why}): {said}" for said, why in dropped]
                body, problems = kept, []
        problems += copied
        if not problems:
            if header is not None:
                header = _checked_header(header, check, notes)
            body = _with_brief(body, check, channel, args.language)
            return _laid_out(channel, body, header, check.facts, args.language)
        log.info("copy draft rejected: %s", problems)
        log.debug("the rejected draft: %s", reply)
        prompt += (
            f"\n\nYour draft had problems ({'; '.join(problems)}). Write it again, using only the facts."
        )
        if channel == "banner":
            # Told to write again, the model wrote 13-29 words again; given its own line to cut
            # down, it keeps its idea. Its long banners spell out the product's full name.
            prompt += (
                f" Your draft was: {' '.join(body.split())}\nShorten it to one line of 4 to 6 words,"
                " without the product's full name."
            )
    return None


ENDS_SENTENCE = re.compile(r"[.!?。！？]\W*$")


def _with_brief(body: str, check: _Check, channel: str, language: str) -> str:
    """The model's copy with the brief's code and call to action where it left them out ("Use code
    COMEBACK.", "Shop the nursery range."), at the end of its last paragraph (before a sign-off),
    while it stays within its words: the user asked for both, and the model left out the code in 6
    of the copy suites' answers (banners aside) and the call to action in one. A banner's code is
    added when it is laid out."""
    if channel == "banner":
        return body
    known = dict(check.facts)
    zh = language == "zh"
    said = body.lower()
    missing = []
    if (code := known.get("discount code")) and str(code).lower() not in said:
        missing.append(f"使用优惠码{code}。" if zh else f"Use code {code}.")
    if (action := str(known.get("call to action") or "").rstrip(".!。！ ")) and action.lower() not in said:
        missing.append(f"{action}{'。' if zh else '.'}")
    lines = body.rstrip().split("\n")
    end = len(lines)  # the sign-off ("Best regards,\nThe Northwind team") stays last
    while end > 1 and words_in(lines[end - 1]) <= SIGN_OFF_WORDS and not ENDS_SENTENCE.search(lines[end - 1]):
        end -= 1
    for sentence in missing:
        head, tail = lines[:end], lines[end:]
        added = [*head[:-1], f"{head[-1]}{'' if zh else ' '}{sentence}", *tail]
        if words_in("\n".join(added)) <= check.words:
            lines = added
    return "\n".join(lines)


# Qwen's tokenizer writes about 1.3 tokens an English word and 1-1.5 a Chinese character (two
# characters are a word here). Drafts that ran past the words asked for were cut by code anyway,
# and writing those tokens took most of a request's time (12 tokens/s on 2 cores): the budget
# leaves a little room, and a sentence the limit cuts off is dropped (without_cut_tail).
TOKENS_PER_WORD = {"en": 1.5, "zh": 3.0}


def token_budget(words: int, language: str) -> int:
    """The most tokens a draft of `words` may take (its header included)."""
    return round(words * TOKENS_PER_WORD[language]) + 30


SIGN_OFF_WORDS = 5  # "The Northwind team", "Best, Anna from Northwind": a last line, not cut off


def without_cut_tail(text: str) -> str:
    """The text without a last sentence that stops mid-way, where the reply ran out of tokens
    ("… Buy online. Free shipping and cash on", or a line of its own "Our audience consists of
    people who have been in our shop"): one that ends on a word or a comma. A short last line
    ("The Northwind team") is a sign-off and stays, and so does a sentence closed by a mark, an
    emoji or a bracket."""
    head, _, last = text.rstrip().rpartition("\n")
    last = last.strip()
    sentences = [s for s in SENTENCE_END.split(last) if s.strip()]
    if not sentences or not re.search(r"[\w,;:–—-]$", sentences[-1].rstrip()):
        return text
    if len(sentences) == 1 and (not head.strip() or words_in(last) <= SIGN_OFF_WORDS):
        return text  # the whole draft (a banner's line), or a sign-off
    kept = last[: last.rindex(sentences[-1])].rstrip()
    return f"{head}\n{kept}".rstrip() if head else kept


def without_repeats(text: str) -> str:
    """The text with each sentence once: the model's emails sometimes say their opening twice
    ("Dear Lost Customers, We hope …" and the same again below). Lines stay as written."""
    seen: set[str] = set()
    lines = []
    for line in text.split("\n"):
        kept = []
        for sentence in (s for s in SENTENCE_END.split(line.strip()) if s.strip()):
            key = " ".join(sentence.lower().split())
            if key not in seen:
                seen.add(key)
                kept.append(sentence)
        if kept or not line.strip():
            lines.append(("" if is_chinese(line) else " ").join(kept))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _email_parts(reply: str) -> tuple[tuple[str, str] | None, str]:
    """(subject, preheader) and the body of an email draft; no header when the draft has none."""
    found = EMAIL.match(reply)
    if found is None:
        return None, reply
    # "Body:" lines are the layout's labels, not copy (the model sometimes writes them).
    body = re.sub(r"(?im)^[ \t*_#]*(?:email )?(?:body|正文)[ \t*_]*[:：][ \t*_]*\n?", "", found["body"])
    return (found["subject"].strip().strip('"'), found["preheader"].strip().strip('"')), body


def _checked_header(header: tuple[str, str], check: _Check, notes: list[str]) -> tuple[str, str] | None:
    """The model's subject line and preheader if both pass the check; else None (code writes them)."""
    problems = check.problems(header[0], SUBJECT_WORDS) + check.problems(header[1], PREHEADER_WORDS)
    # "Preheader: 🐱‍👶" (the baby monitor's email): a line without a word says nothing in an inbox.
    problems += [
        f"the {part} has no words"
        for part, line in zip(("subject", "preheader"), header, strict=True)
        if not words_in(line)
    ]
    if problems:
        notes.append(
            f"the subject line or preheader failed the check ({'; '.join(problems)}): written by code"
        )
        return None
    return header


def _laid_out(
    channel: str,
    body: str,
    header: tuple[str, str] | None,
    facts: list[tuple[str, Any]],
    language: str = "en",
) -> str:
    """The copy as the channel shows it: an email with its subject line and preheader (code's
    when the model gave none that passed), a social post with hashtags from the facts'
    categories, a banner or a page as written."""
    if channel == "email":
        subject, preheader = header or _plain_header(body, facts, language)
        labels = EMAIL_LABELS[language]
        return f"{labels[0]}{subject}\n{labels[1]}{preheader}\n\n{body}"
    if channel == "social":
        tags = _hashtags(facts)
        return f"{body}\n\n{tags}" if tags else body
    return _banner(body, facts, language) if channel == "banner" else body


def _banner(headline: str, facts: list[tuple[str, Any]], language: str = "en") -> str:
    """A banner as shown: the headline, the brief's code after it and the product's brief name
    (or its brand) before it, each where the banner's words leave room, the code first. The
    model's headlines state the offer ("15% off, now at $186.14!") and leave out the code, which
    a shopper needs to get it; asked for a headline without the product's full name (which made
    its banners 13-31 words), they name no product at all ("Clean smarter, not harder!")."""
    known = dict(facts)
    zh = language == "zh"
    limit = CHANNEL_WORDS["banner"]
    brand = str(known.get("brand") or "")
    title = str(known.get("product") or "")
    name = brief_name(title, brand)
    # "O'Reilly Atomic Habits Guide Mini - Get 30% off!" has no room for its code; with the name
    # as a banner says it, it has.
    banner = re.sub(re.escape(short_title(title)), name, headline, flags=re.I) if name else headline
    if (code := known.get("discount code")) and str(code).lower() not in banner.lower():
        with_code = f"{banner} 优惠码{code}" if zh else f"{banner} Code {code}."
        banner = with_code if words_in(with_code) <= limit else banner
    said = banner.lower()
    if not any(n and n.lower() in said for n in (brand, name)):
        # The model's headlines run to 7 words for 6 asked: the brand alone may fit where the name does not.
        # "Kitchen Set: Northwind Toys: Browse the playroom" read badly: a dash where the headline has a colon.
        mark = "：" if zh else (" –" if ":" in banner else ":")
        # What the thing is ("Screen Protector") says more than the brand alone ("Belkin", which
        # sells many things) where the name with its brand has no room.
        thing = name[len(brand) :].strip() if brand and name.lower().startswith(brand.lower() + " ") else ""
        for who in dict.fromkeys(n for n in (name, thing, brand) if n):
            named = f"{who}{mark}{'' if zh else ' '}{banner}"
            if words_in(named) <= limit:
                return named
    return banner


# What follows a product's name without naming it: its edition or size ("Lite", "Gen 2", "Size
# 4.5 UK"), or what it fits ("… Sun Shade For Maruti Alto").
NOT_THE_NAME = re.compile(
    r"(?:\s+(?:pro|plus|lite|max|mini|se|gen \d+|\d{4} model|series \d+|size\b.*|(?:for|with)\s.*))+$",
    re.IGNORECASE,
)


def brief_name(title: str, brand: str = "") -> str:
    """A product's name as a banner says it, in three words at most: its name up to a dash, comma
    or bracket, without its edition or what it fits; without its brand where that makes it short
    enough ("Supersonic Hair Dryer"); else its brand and its last two words, where an English
    name says what the thing is ("Roborock Vacuum Cleaner"). A long Chinese name has no such cut:
    none."""
    name = NOT_THE_NAME.sub("", short_title(title)).strip()
    if words_in(name) <= 3:
        return name
    if is_chinese(name):
        return ""
    words = name.split()
    branded = len(brand.split()) if brand and name.lower().startswith(brand.lower() + " ") else 0
    lead, rest = words[:branded], words[branded:]
    return " ".join(rest if len(rest) <= 3 else [*lead, *rest[-2:]])


# "Hi there!", "Dear valued shoppers,", "Hey everyone!": an email's greeting, no preheader.
GREETING = re.compile(
    r"^\W*(hi|hello|hey|dear|greetings|good (morning|afternoon|evening))\b[^.!?\n]{0,40}[,!.:]?\s*$|.*,\s*$",
    re.IGNORECASE,
)


def _plain_header(body: str, facts: list[tuple[str, Any]], language: str = "en") -> tuple[str, str]:
    """A subject line (the product, or what the segment buys) and a preheader (the body's first
    sentence, cut to its limit), written from what the copy and the facts already say."""
    known = dict(facts)
    if "product" in known:
        subject = " ".join(str(known["product"]).split()[:SUBJECT_WORDS])
    else:
        picks = _listed(str(known.get("what they buy most") or ""))
        picked = "为你精选" if language == "zh" else "Picked for you"
        subject = f"{picked}{'：' if language == 'zh' else ': '}{picks}" if picks else picked
    sentences = sentences_in(body) or [""]
    # Neither a greeting nor a line without words ("Hi there! 🐱‍👶" opened the baby monitor's email).
    said = next((s for s in sentences if not GREETING.match(s) and words_in(s) >= 2), sentences[0])
    return subject, _cut(said, PREHEADER_WORDS)


def _headline(plain: str, facts: list[tuple[str, Any]], words: int) -> str:
    """A banner's headline from plain copy, the first that fits its words: the brief's offer (on
    the product, with its code, alone), the copy's first sentence, the product's title up to its
    first dash, comma or bracket ("Meet the BuildTrack PIR Wireless Motion Sensor."); cut to the
    banner's words only as a last resort."""
    known = dict(facts)
    first = SENTENCE_END.split(plain)[0]
    if is_chinese(plain):
        return _cut(first, words)
    short = short_title(str(known.get("product") or ""))
    offer = str(known.get("offer") or "").rstrip(".!")
    code = f" with code {known['discount code']}" if known.get("discount code") else ""
    candidates = [
        *([f"{offer} on the {short}."] if offer and short and short not in offer else []),
        *([f"{offer}{code}.", f"{offer}."] if offer else []),
        first,
        *([f"Meet the {short}."] if short else []),
    ]
    return next((c for c in candidates if words_in(c) <= words), _cut(first, words))


def short_title(title: str) -> str:
    """A product's name up to its first dash, comma or bracket, without a leading "the"."""
    return re.split(r"\s+[-–—|(]|,", re.sub(r"(?i)^the ", "", title))[0].strip()


def _cut(sentence: str, words: int) -> str:
    """A sentence cut to `words` (Chinese: two characters a word), marked when it was cut."""
    if words_in(sentence) <= words:
        return sentence
    if is_chinese(sentence):
        return sentence[: 2 * words].rstrip("，、。；") + "…"
    return " ".join(sentence.split()[:words]).rstrip(".,;:") + "…"


def _hashtags(facts: list[tuple[str, Any]]) -> str:
    """Up to three hashtags from the categories in the facts ('electronics.audio' -> #Electronics #Audio)."""
    known = dict(facts)
    names = re.split(r"[.,;/>]", str(known.get("category") or known.get("what they buy most") or ""))
    tags = []
    for name in names:
        tag = "".join(w.capitalize() for w in re.findall(r"[A-Za-z0-9]+", name))
        if tag and f"#{tag}" not in tags:
            tags.append(f"#{tag}")
    return " ".join(tags[:HASHTAGS])


PLAIN_SENTENCE_WORDS = 25  # the longest sentence of a description plain copy repeats


def _plain_copy(facts: list[tuple[str, Any]]) -> str:
    """Copy written by code from the facts alone, when the model's drafts fail the check: short
    sentences a person could have written, no segment jargon ("at risk") addressed to customers,
    the brief's offer and call to action when it has them, and never a word twice in a row."""
    known = dict(facts)
    sentences = []
    if "product" in known:
        title = str(known["product"])
        brand = str(known.get("brand") or "")
        by = f", from {brand}" if brand and brand.lower() not in title.lower() else ""
        sentences.append(f"Meet the {re.sub(r'(?i)^the ', '', title)}{by}.")
        first = (known.get("description") or "").split(". ")[0].strip().rstrip(".")
        if first.lower().startswith(title.lower().split(",")[0][:20]):  # the title again, then what it has
            first = f"It comes {first[first.index(' with ') + 1 :]}" if " with " in first else ""
        if len(first.split()) > PLAIN_SENTENCE_WORDS:  # a catalog's run-on listing text, not a sentence
            first = ""
        if first:
            sentences.append(first[0].upper() + first[1:] + ".")
        if known.get("price") is not None:
            sentences.append(f"Yours for {format_value(known['price'])}.")
    else:
        picks = _listed(str(known.get("what they buy most") or ""))
        brands = _listed(str(known.get("brands they buy most") or ""))
        sentences.append(f"Picked for you: {picks}." if picks else "Picked for you, from the shop you know.")
        if brands:
            sentences.append(f"Including favourites from {brands}.")
        if known.get("viewed most without buying"):
            sentences.append(
                f"Still thinking about the {known['viewed most without buying']}? It is waiting for you."
            )
    if known.get("offer"):
        code = f" with code {known['discount code']}" if known.get("discount code") else ""
        ends = f", until {known['offer ends']}" if known.get("offer ends") else ""
        offer = str(known["offer"]).rstrip(".")
        sentences.append(f"{offer[:1].upper()}{offer[1:]}{code}{ends}.")  # "free shipping on …" as written
    if known.get("call to action"):
        sentences.append(f"{str(known['call to action']).rstrip('.!')}.")
    text = " ".join(sentences)
    return re.sub(r"\b(\w+)(\s+\1\b)+", r"\1", text, flags=re.IGNORECASE)


def _plain_copy_in_chinese(facts: list[tuple[str, Any]]) -> str:
    """`_plain_copy` in Chinese: the product (or what the segment buys), its price, the brief."""
    known = dict(facts)
    sentences = []
    if "product" in known:
        brand = str(known.get("brand") or "")
        title = str(known["product"])
        by = f"{brand} 出品的" if brand and brand.lower() not in title.lower() else ""
        sentences.append(f"{by}{title}，等你来选。")
        if known.get("price") is not None:
            sentences.append(f"售价 {format_value(known['price'])}。")
    else:
        picks = "、".join(
            p.strip() for p in str(known.get("what they buy most") or "").split(",") if p.strip()
        )
        brands = "、".join(
            p.strip() for p in str(known.get("brands they buy most") or "").split(",") if p.strip()
        )
        sentences.append(f"为你精选：{picks}。" if picks else "为你精选好物。")
        if brands:
            sentences.append(f"还有你喜欢的 {brands}。")
    if known.get("offer"):
        code = f"，优惠码 {known['discount code']}" if known.get("discount code") else ""
        ends = f"，截止 {known['offer ends']}" if known.get("offer ends") else ""
        sentences.append(f"{str(known['offer']).rstrip('.。')}{code}{ends}。")
    if known.get("call to action"):
        sentences.append(f"{str(known['call to action']).rstrip('.!。！')}。")
    return "".join(sentences)


def _listed(items: str) -> str:
    """'books, beauty, apparel' -> 'books, beauty and apparel'."""
    parts = [p.strip() for p in items.split(",") if p.strip()]
    return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)


def tools(semantic: Any) -> list[Tool]:
    return [
        Tool(
            "write_marketing_copy",
            write_marketing_copy,
            CopyArgs,
            prompt="copy for a product_id and/or a segment; tone, length, channel; a brief only with what the"
            " request gives (offer, code, ends, call_to_action, shop_name, avoid).",
            writes_prose=True,
            follow_ups=lambda arguments, first: ["Make it more professional and shorter"],
        )
    ]


# ---------------------------------------------------------------- the request in the user's words
# A 1.5B model fills `write_marketing_copy`'s arguments loosely: "Product page copy for …" came
# with the default channel (email), "Rs. 2,000 off with code SOFA2000 until 2027-01-31" with no
# brief. What the words say plainly, code reads; the model's value stands where they say nothing.
CHANNEL_SAID = {
    "email": r"\b(e-?mails?|newsletters?|mailers?)\b|邮件",
    "social": r"\b(instagram|insta|facebook|fb|twitter|tweets?|tiktok|linkedin|socials?|captions?|posts?)\b"
    r"|朋友圈|微博|小红书|社交|帖子|推文",
    "banner": r"\b(banners?|headlines?)\b|横幅|海报标题",
    "product page": r"\bproduct[- ]page|\b(listing|product description|page (text|copy|blurb))\b|详情页|商品页|商品详情",
}
TONE_SAID = {
    "friendly": r"\b(friendly|warm|casual)\b|亲切|友好|温暖",
    "professional": r"\b(professional|formal)\b|专业|正式",
    "playful": r"\b(playful|fun|funny|cheeky|witty)\b|俏皮|活泼|有趣",
    "urgent": r"\b(urgent|urgency|urgent-sounding)\b|紧迫|紧急",
    "luxury": r"\b(luxury|luxurious|premium|upscale|elegant)\b|奢华|高端|轻奢",
}
LENGTH_SAID = {
    "short": r"\b(short|quick|brief|little|one-liner)\b|简短|短一点|短文案",
    "medium": r"\b(medium|mid-length)\b|中等",
    "long": r"\b(long|long-form|detailed|in-depth)\b|长篇|详细",
}
WORD_COUNT = re.compile(r"\b(?:about|around|roughly|under|max(?:imum)?|up to|~)\s*(\d{2,3})\s*words\b", re.I)
OFFER_SAID = re.compile(
    rf"(?:{CURRENCY}\s?[\d,]+(?:\.\d+)?|\d+(?:\.\d+)?\s?(?:%|percent|dollars|euros|元))\s+off\b"
    r"[^.;!?\n]*?(?=\s+(?:with|using|use)\s+(?:the\s+)?(?:promo\s+|discount\s+|coupon\s+)?code\b|\s+until\b|\s+till\b"
    r"|\s+through\b|\s+ends?\b|[.;!?,\n]|$)"
    r"|\bbuy (?:one|two|three|\d+),? get (?:one|two|\d+)(?: free| half off)?"
    r"|\bfree (?:shipping|delivery|returns)(?: on [^.;!?,\n]*?(?=\s+(?:with|using)\b|[.;!?,\n]|$))?"
    r"|(?:立减|减)\s?\d+元|\d+(?:\.\d+)?折|满\d+减\d+|包邮",
    re.IGNORECASE,
)
CODE_SAID = re.compile(
    r"(?i:\b(?:promo |discount |coupon )?code)\s*[:：]?\s*[\"'“]?([A-Z0-9][A-Z0-9_-]{2,19})\b|优惠码\s*[:：]?\s*([A-Za-z0-9_-]{3,20})"
)
ENDS_SAID = re.compile(
    r"\b(?:until|till|through|thru|ends?|ending|expires?|by|before)\s+(?:on\s+)?"
    r"(?P<date>\d{4}-\d{2}-\d{2}|(?P<d1>\d{1,2})(?:st|nd|rd|th)?\s+(?P<m1>[a-z]{3,9})\.?,?\s*(?P<y1>\d{4})?"
    r"|(?P<m2>[a-z]{3,9})\.?\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?,?\s*(?P<y2>\d{4})?)",
    re.IGNORECASE,
)
SHOP_SAID = re.compile(
    r"(?i:\bwe(?:'re| are)|\bsign(?:ed)? (?:it |off )?(?:from|as)|\bshop(?: name)? is|\bstore(?: name)? is|\bfrom us at)"
    r"\s+(?:the\s+)?([A-Z][\w&'-]*(?: [A-Z][\w&'-]*){0,3})"
)
CTA_SAID = re.compile(
    r"(?i:\b(?:cta|call to action|end (?:it )?with|finish with|button)\b)\s*(?:is|:)?\s*[\"“']([^\"”']{2,60})[\"”']"
)
AVOID_SAID = re.compile(
    r"(?i:\b(?:avoid|don'?t use|do not use|never use|no|without)\s+(?:the\s+)?words?)\s+((?:[\"“'][^\"”']+[\"”'](?:,?\s*(?:and|or|,)\s*)?)+)"
)
MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


# The RFM segments as a request names them. Names that are everyday words (loyal, lost,
# promising) count only with a word for people after them ("our loyal customers").
_PEOPLE = r"(?:customers?|shoppers?|buyers?|segment|group|ones|clients?)"
SEGMENT_SAID = {
    "champions": r"\bchampions\b(?! league)|\bbest customers\b",  # not the brand Champion
    "loyal": rf"\bloyal {_PEOPLE}",
    "cant_lose_them": r"\bcan(?:'|’)?t[- ]lose[- ]them\b|\bcannot lose them\b|\bat[- ]risk (?:high|big|top) spenders\b",
    "at_risk": r"\bat[- ]risk\b(?! (?:high|big|top) spenders)",
    "potential_loyalists": r"\bpotential[- ]loyalists?\b",
    "new_customers": r"\bnew (?:customers?|shoppers?|buyers?)\b",
    "promising": rf"\bpromising {_PEOPLE}",
    "need_attention": r"\bneeds?[- ]attention\b",
    "about_to_sleep": r"\babout[- ]to[- ]sleep\b",
    "hibernating": r"\bhibernating\b",
    "lost": rf"\blost {_PEOPLE}",
}


def _said_once(patterns: dict[str, str], text: str) -> str | None:
    """The one value whose words the text uses; None when it uses none, or several."""
    found = [value for value, pattern in patterns.items() if re.search(pattern, text, re.IGNORECASE)]
    return found[0] if len(found) == 1 else None


def _ends_said(text: str, today: date) -> date | None:
    found = ENDS_SAID.search(text)
    if found is None:
        return None
    if found["date"] and re.fullmatch(r"\d{4}-\d{2}-\d{2}", found["date"]):
        try:
            return date.fromisoformat(found["date"])
        except ValueError:
            return None
    month_word, day, year = (
        (found["m1"], found["d1"], found["y1"]) if found["m1"] else (found["m2"], found["d2"], found["y2"])
    )
    month = next((i for i, m in enumerate(MONTH_NAMES, 1) if month_word.lower().startswith(m)), None)
    if month is None:
        return None
    try:
        ends = date(int(year) if year else today.year, month, int(day))
    except ValueError:
        return None
    return ends if year or ends >= today else ends.replace(year=today.year + 1)


def request_in_words(text: str, today: date | None = None) -> dict[str, Any]:
    """The copy request's settings and campaign brief that the user's words state plainly:
    channel, tone, length and RFM segment when the words name exactly one; the offer ("20% off", "Rs. 2,000
    off", "buy two, get one free", "free shipping on …"), code, end date, shop name, call to action
    and words to avoid as said."""
    said: dict[str, Any] = {}
    for field, patterns in (
        ("channel", CHANNEL_SAID),
        ("tone", TONE_SAID),
        ("length", LENGTH_SAID),
        ("segment", SEGMENT_SAID),
    ):
        if (value := _said_once(patterns, text)) is not None:
            said[field] = value
    if count := WORD_COUNT.search(text):
        words = int(count.group(1))
        said["length"] = next(name for name, limit in WORDS.items() if words <= limit or name == "long")
    brief: dict[str, Any] = {}
    if offer := OFFER_SAID.search(text):
        # Said to the marketer about the readers, an offer is written to them: "free shipping on
        # their next order" is on your next order (plain copy wrote "their" to the reader).
        brief["offer"] = re.sub(
            r"\b(their|them)\b",
            lambda m: {"their": "your", "them": "you"}[m[1].lower()],
            offer[0].strip(" ,"),
            flags=re.I,
        )
    if code := CODE_SAID.search(text):
        brief["code"] = code.group(1) or code.group(2)
    if (ends := _ends_said(text, today or date.today())) is not None and (brief or "offer" in text.lower()):
        brief["ends"] = ends
    if shop := SHOP_SAID.search(text):
        brief["shop_name"] = shop.group(1)
    if cta := CTA_SAID.search(text):
        brief["call_to_action"] = cta.group(1).strip()
    if avoid := AVOID_SAID.search(text):
        brief["avoid"] = re.findall(r"[\"“']([^\"”']+)[\"”']", avoid.group(1))
    if brief:
        said["brief"] = brief
    return said


def as_requested(arguments: dict[str, Any], request: str) -> tuple[dict[str, Any], list[str]]:
    """The call's arguments with what the request's words state plainly: its channel, tone,
    length and segment replace the model's (a note says so when the model had chosen another),
    and the brief fields the model left empty are filled from the words."""
    said = request_in_words(request)
    args, notes = dict(arguments), []
    for field in ("channel", "tone", "length", "segment"):
        if field in said and args.get(field) != said[field]:
            if args.get(field) is not None:
                notes.append(
                    f"read the {field} as {said[field]} from the request (the call had {args[field]})"
                )
            args[field] = said[field]
    brief = dict(args.get("brief") or {})
    for field, value in said.get("brief", {}).items():
        if brief.get(field) in (None, "", []):
            brief[field] = value.isoformat() if isinstance(value, date) else value
    if brief:
        args["brief"] = brief
    return args, notes


DESCRIPTION_WORDS = 120


# A marketplace listing's words about the store, not the product ("Buy … For Only Rs. 1299 Online
# in India.", "Huge Collection of Branded Clothes Only at Flipkart.com", "Free Shipping. Cash On
# Delivery!"): the model pasted them as copy, and their price and promises are not the shop's
# (promises come from the brief, the price from the catalog's column).
STORE_TALK = re.compile(
    r"\b(?:buy|shop)\b[^.!?]*\bonline\b|\bonline in india\b|\bcash on delivery\b"
    r"|\bfree (?:shipping|delivery)\b|\bgenuine products\b|\bhuge (?:collection|range)\b"
    r"|\b(?:for|at) only\b|\bonly (?:for|at)\b|\b[\w-]+\.(?:com|in|co\.uk)\b",
    re.IGNORECASE,
)
LISTING_PRICE = re.compile(r"\bPrice:\s*(?:Rs\.?|₹|\$|€|£)\s*[\d,]+(?:\.\d+)?", re.IGNORECASE)


def without_store_talk(description: str, title: str = "") -> str:
    """The listing without its sentences about the store, its own "Price: Rs. 5,000" and the
    heading "Key Features of <title>" (the title is a fact of its own)."""
    if title:
        description = re.sub(
            rf"\b(Key Features|Specifications) of {re.escape(title)}\s*", r"\1: ", description, flags=re.I
        )
        description = re.sub(rf"{re.escape(title)}\s*(?={LISTING_PRICE.pattern})", "", description)
    description = LISTING_PRICE.sub("", description)
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z•])|\s+\.\s+", description.strip())
    return " ".join(s for s in sentences if s.strip(" .") and not STORE_TALK.search(s)).strip()


def description_for_copy(description: str | None, words: int = DESCRIPTION_WORDS) -> str | None:
    """A catalog description cut to its first `words` at a sentence or list-item boundary:
    listings run to hundreds of words of specifications and care instructions, which cost the
    model seconds to read and give it more to copy than to write about."""
    if not description or words_in(description) <= words:
        return description
    parts = re.split(r"(?<=[.!?。！？•;])\s+|\s+(?=•)", description.strip())
    kept: list[str] = []
    for part in parts:
        if kept and words_in(" ".join([*kept, part])) > words:
            break
        kept.append(part)
    text = " ".join(kept)
    return text if words_in(text) <= words else " ".join(text.split()[:words])


# A request for copy names a piece of copy (a channel, a caption, a note …) and how to write it
# (a writing verb, a tone or a length); a question for figures that mentions one ("which channel,
# banner ads or affiliates, …?") asks something.
COPY_NOUNS = re.compile(
    r"\b(captions?|blurbs?|taglines?|slogans?|ad copy|copy|notes?|messages?|letters?|announcements?"
    r"|headlines?)\b|文案|广告语|标语|短信",
    re.IGNORECASE,
)
WRITING = re.compile(
    r"\b(write|draft|compose|put together|need|give me|make|do)\b|写|起草|来一|做一", re.IGNORECASE
)
FIGURE_QUESTION = re.compile(
    r"(?:^|[.!?]\s+)(?:(?:on|in|at|for|during|by|from|over|across|of)\s+)?"
    r"(?:what|whats|what's|which|how|who|when|where|why|is|are|did|does|do)\b[^.!?]*\?"
    r"|[^。！？]*(?:哪|多少|什么|几)[^。！？]*？",
    re.IGNORECASE,
)


def asks_for_copy(question: str) -> bool:
    """The request is for marketing copy ("Professional banner for B0062TLFV6", "write a friendly
    note to our at-risk customers"), not a question that mentions one."""
    if FIGURE_QUESTION.search(question):
        return False
    names_copy = COPY_NOUNS.search(question) or any(
        re.search(p, question, re.IGNORECASE) for p in CHANNEL_SAID.values()
    )
    how = WRITING.search(question) or any(
        re.search(p, question, re.IGNORECASE) for p in (*TONE_SAID.values(), *LENGTH_SAID.values())
    )
    return bool(names_copy and how)
