"""What the question asks that the computation leaves out (tools/coverage.py), on wordings and
interpretations of the tuning suites' cases (real-extra5, real-*, demo)."""

from __future__ import annotations

import pytest

from tools.coverage import left_out
from tools.language import english_reading

ALL_DATA = "all data (2019-10-01 00:00 to 02:28)"


@pytest.mark.parametrize(
    ("question", "computed", "missing"),
    [
        # Runs and computes something near the question: each part it never uses is named.
        (
            "Which single minute saw the most purchases, and how many were there?",
            f"Purchases (purchases: purchase events (order lines)); {ALL_DATA}.",
            ["the highest", "by minute"],
        ),
        (
            "How many products were viewed by at least 5 different shoppers but never added to a cart?",
            f"Number of products with users of at least 5 (users: distinct active users); where event_type is view;"
            f" {ALL_DATA}.",
            ["add-to-cart events", "never"],
        ),
        (
            "How many sessions went through everything, with a view, a favourite, an add-to-cart and a purchase?",
            f"Sessions (sessions: distinct sessions (visits)); {ALL_DATA}.",
            ["product views", "add-to-cart events", "favorites"],
        ),
        (
            "For how many users was the very first thing we saw them do a purchase?",
            f"Users who purchased; {ALL_DATA}.",
            ["first"],
        ),
        (
            "For our regulars (5 or more orders), how many days on average between one order and the next?",
            "Days between orders (days between orders: calendar days between a customer's consecutive orders,"
            " averaged over those orders); all data (1997-01-01 00:00 to 1998-06-30 00:00).",
            ["5"],
        ),
        (
            "whats the longest stretch with no events logged at all? in seconds",
            f"Duration in seconds (duration in seconds: seconds from the first to the last event); {ALL_DATA}.",
            ["the highest"],
        ),
        # What was computed uses every part: nothing is named.
        ("Which brand made the most revenue?", f"Revenue (revenue: money paid); {ALL_DATA}; by brand.", []),
        (
            "What % of invoices have just one SKU on them?",
            "Number of orders with products of exactly 1 (products: distinct products); all data.",
            [],
        ),
        (
            "Average price paid per purchased item in each top-level category, highest first?",
            f"Average price (average price: average price over the events in scope); where event_type is purchase;"
            f" {ALL_DATA}; by category; top 10.",
            [],
        ),
        (
            "How many customers have placed at least one order between midnight and 5am?",
            "Users who purchased in at least 1 order; where hour of day is 00:00-04:59; all data.",
            [],
        ),
        (
            "How many units did we sell on Monday 6 December?",
            "Units sold (units sold: units bought); 2010-12-06.",
            [],
        ),
        ("Revenue over the last 7 days?", "Revenue; the last 7 days (2026-10-26 to 2026-11-01).", []),
        (
            "What share of revenue comes from products priced at 500 or more?",
            "Revenue where price is at least 500, as a share of all revenue; all data.",
            [],
        ),
        (
            "How many customers ordered in each month of 1998?",
            "Users (users: distinct active users); 1998 (1998-01-01 to 1998-12-31); per month.",
            [],
        ),
        (  # "most recent" names an order, not a maximum
            "How many customers still had it in their most recent order?",
            "Users who purchased (latest_order is true); all data.",
            [],
        ),
        (  # "I mean" is no average
            "Top 3 subcategories by product views? I mean the most specific category level we have.",
            "Views (views: product views); all data; by subcategory; top 3.",
            [],
        ),
        (  # a ratio is an average: views per purchase
            "On average, how many page views does it take to get one purchase?",
            "Views divided by purchases (views: product views); all data.",
            [],
        ),
        (  # events as alternatives are any activity
            "Which 3 categories reached the most users, counting anyone who interacted in any way (view, fav, cart or buy)?",
            "Users (users: distinct active users); all data; by category; top 3.",
            [],
        ),
        (  # buyers against the rest answers "people who never did"
            "Compare the average add-to-carts per user for people who bought something vs people who never did.",
            "Average carts per user (carts: add-to-cart events); all data; by buyer.",
            [],
        ),
        (  # years written '98, halves and quarters are periods
            "How did revenue in H1 '98 compare with H1 '97?",
            "Revenue; 1998-01-01 to 1998-06-30, against 1997-01-01 to 1997-06-30.",
            [],
        ),
        # The gloss of a Chinese question is read as the English is.
        (
            "至少5个不同用户浏览过的商品有多少？",
            "Products (products: distinct products); all data.",
            ["product views", "5"],
        ),
    ],
)
def test_what_the_question_asks_and_the_computation_never_uses_is_named(
    question: str, computed: str, missing: list[str]
) -> None:
    assert left_out(english_reading(question), computed) == missing
