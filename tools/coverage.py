"""What the question asks that the computation leaves out.

The 1.5B model's commonest wrong answer is a call that runs and computes something near the
question: "which single minute saw the most purchases?" answered with all purchases, "viewed
but never added to a cart" as views. Code wrote what the call computed (the interpretation); here
code reads the question's words for the things a figure is made of (an event, a statistic, a
grain, a condition, a number) and names each one that what was computed never uses. The user
sees them under the answer; with `coverage_retry` the model sees them once and tries again.
"""

from __future__ import annotations

import calendar
import re
from typing import NamedTuple


class Concept(NamedTuple):
    label: str  # as the model and the user read it
    zh: str  # as a user who asked in Chinese reads it
    asked: str  # the question's words for it (lower case, English or the gloss of Chinese)
    computed: str  # the interpretation's words when the call uses it


CONCEPTS = (
    Concept(
        "product views", "浏览", r"\bview(ed|s|ing)?\b|page ?views?|looked at|\bbrows", r"\bview|\bbrows"
    ),
    Concept(
        "add-to-cart events", "加购", r"\bcart(s|ed)?\b|add(ed|s|ing)?[- ]to[- ](the |their )?cart", r"cart"
    ),
    Concept("favorites", "收藏", r"\bfav(ou?rite[sd]?|s|ed)?\b|wish ?list", r"favou?rite|\bfav\b"),
    Concept("the median", "中位数", r"\bmedian\b", r"\bmedian\b"),
    Concept(
        "the highest",
        "最高",
        r"\b(longest|largest|biggest|highest|(?<!at )most(?! recent)|maximum|max|busiest|peak)\b",
        # a breakdown is ranked: its first row is the highest
        r"\b(highest|top \d+|max|most|largest|longest|busiest|maximum)\b|; by ",
    ),
    Concept(
        "the lowest",
        "最低",
        r"\b(shortest|smallest|lowest|(?<!at )least|fewest|minimum|quietest)\b",
        r"\b(lowest|bottom \d+|min|least|fewest|minimum|shortest)\b|; by ",
    ),
    Concept(
        "a share",
        "占比",
        r"%|\bpercent|\bshare\b|\bfraction\b|\bproportion\b",
        # a count of entities within bounds comes with its share of them
        r"share|%|\brate\b|ratio|\bper\b|conversion|percent|divided|^number of \w+ with",
    ),
    Concept(
        "an average",
        "平均",
        # not "I mean the most specific category"
        r"\bavg\b|\baverage\b|\bthe mean\b|\bmean (\w+ )?(value|number|price|time|days?|orders?|spend|size)\b",
        r"averag|\bper\b|\baov\b|\bmean\b|basket size|\barpu\b|divided by",
    ),
    Concept("by minute", "按分钟", r"\bminutes?\b|\bminutely\b", r"\bminute"),
    Concept("by hour", "按小时", r"(?<!\d )\bhours?\b|\bhourly\b|\bo'clock\b", r"\bhour"),
    Concept("by quarter", "按季度", r"\bquarters?\b|\bquarterly\b", r"\bquarter"),
    Concept(
        "the day of the week",
        "星期几",
        r"\bday of (the )?week\b|\bweekdays?\b",
        r"\bweekday|\bday of (the )?week",
    ),
    Concept(
        "first",
        "首次",
        # "non-first orders" are the repeat ones
        r"(?<!highest )(?<!lowest )(?<!largest )(?<!biggest )(?<!non-)(?<!non )\bfirst\b(?! (to|and) (the )?last)",
        r"\bfirst\b|order_number is 1\b",
    ),
    Concept(
        "never",
        "从未",
        r"\bnever\b|\bnot a single\b|\bwithout\b|\bdid ?n[o']t\b|\bno (purchase|cart|view|order)",
        r"\bnever\b|\bnot\b|\bwithout\b|\bno\b|\bnone\b|\bby buyer\b",  # buyers against the rest
    ),
    Concept("the same", "同一", r"\bsame (day|item|product|sku|session|order|invoice)\b", r"\bsame\b"),
)

# Numbers that are not bounds or counts: times of day ("5am"), dates ("6 December"), years.
_MONTH = "|".join(
    sorted({m.lower() for m in (*calendar.month_name[1:], *calendar.month_abbr[1:])}, key=len)[::-1]
)
NOT_A_BOUND = re.compile(
    rf"\b\d{{1,2}}(:\d\d)?\s*(am|pm|a\.m\.|p\.m\.)|\b\d{{1,2}}(st|nd|rd|th)?\s+(of\s+)?({_MONTH})\b"
    rf"|\b({_MONTH})\.?\s+\d{{1,2}}(st|nd|rd|th)?\b|\b(19|20)\d\d\b|\b\d{{4}}-\d\d(-\d\d)?\b"
    r"|\b(utc|gmt)\s*[+\-−]\s*\d{1,2}(:\d\d)?|['’]\d\d\b",
)
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")


def _number_used(number: str, computed: str) -> bool:
    """The number as the interpretation writes it: itself, an hour ("09:00"), a percent's fraction."""
    value = float(number)
    forms = {number, f"{value:g}"}
    if value.is_integer() and value < 25:
        forms.add(f"{int(value):02d}:")  # an hour bound: "until 5" reads 04:59, "from 9" 09:00
        forms.add(f"{int(value) - 1:02d}:59")
    if value <= 100:
        forms.add(f"{value / 100:g}")
    return any(re.search(rf"(?<![\d.]){re.escape(form)}(?![\d])", computed) for form in forms)


ZH_LABELS = {c.label: c.zh for c in CONCEPTS}
EVENT_LABELS = ("product views", "add-to-cart events", "favorites")
# "in any way (view, fav, cart or buy)": events named as alternatives are any activity, which a
# measure of all events computes without naming them.
_EVENT = r"(view|fav|cart|add|buy|bought|purchas)\w*"
ANY_EVENT = rf"\bin any way\b|\bany (event|action|activity|interaction)|{_EVENT}\s+or\s+(an? )?{_EVENT}"


def left_out(asked: str, computed: str) -> list[str]:
    """The things the question's words ask for that the interpretation of what was computed never
    uses, by label; the numbers among them as written. Empty when nothing is left out."""
    question, said = asked.lower(), computed.lower()
    concepts = [c for c in CONCEPTS if not (c.label in EVENT_LABELS and re.search(ANY_EVENT, question))]
    missing = [c.label for c in concepts if re.search(c.asked, question) and not re.search(c.computed, said)]
    numbers = NUMBER.findall(NOT_A_BOUND.sub(" ", question.replace(",", "")))
    said = said.replace(",", "")
    missing += [n for n in dict.fromkeys(numbers) if not _number_used(n, said)]
    return missing
