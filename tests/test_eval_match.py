"""The execution-match rule used to score answers against gold SQL."""

from datetime import date
from decimal import Decimal

from eval.scoring import result_matches


def test_same_rows_in_any_order_with_extra_columns_and_rounding() -> None:
    gold = [("electronics", 0.12345), ("books", 0.2)]
    answer = [["books", 0.2000001, 0.19, 1], ["electronics", Decimal("0.12346"), 0.1, 2]]
    assert result_matches(answer, gold)


def test_wrong_values_rows_or_columns_do_not_match() -> None:
    gold = [("electronics", 0.12345), ("books", 0.2)]
    assert not result_matches([["books", 0.2], ["electronics", 0.13]], gold)  # a value off by 5%
    assert not result_matches([["books", 0.2]], gold)  # a row missing
    assert not result_matches(
        [["books", 0.2], ["electronics", 0.12345], ["kids", 0.1]], gold
    )  # a row too many
    assert not result_matches([["books"], ["electronics"]], gold)  # a column missing
    assert not result_matches([["electronics", 0.2], ["books", 0.12345]], gold)  # values swapped between rows


def test_types_are_normalised() -> None:
    assert result_matches([[date(2026, 10, 5), 12]], [("2026-10-05", 12.0)])
    assert result_matches([["Coupon_Site", 3]], [("coupon_site", 3)])
    assert result_matches([], [])


def test_a_ranked_answer_matches_a_one_row_gold_when_it_leads_with_it() -> None:
    gold = [("coupon_site", 0.83)]
    assert result_matches([["coupon_site", 0.83], ["email", 0.57]], gold)
    assert not result_matches([["email", 0.57], ["coupon_site", 0.83]], gold)


def test_a_spine_period_without_events_is_not_an_extra_row() -> None:
    gold = [("2010-12-03", 120.5), ("2010-12-05", 80.0)]  # GROUP BY: no row for Saturday
    assert result_matches(
        [[date(2010, 12, 3), 120.5], [date(2010, 12, 4), 0], [date(2010, 12, 5), 80.0]], gold
    )
    assert result_matches(
        [["2010-12-03", 0.12], ["2010-12-04", None], ["2010-12-05", 0.2]],
        [("2010-12-03", 0.12), ("2010-12-05", 0.2)],
    )
    # a real extra row with a figure still fails, and so does a zero where the gold has a figure
    assert not result_matches([["2010-12-03", 120.5], ["2010-12-04", 3.0], ["2010-12-05", 80.0]], gold)
    assert not result_matches([["2010-12-03", 120.5], ["2010-12-05", 0]], gold)


def test_a_share_matches_a_gold_written_in_percent_and_nothing_else_does() -> None:
    """An answer holds a share as a fraction (shown as "38.2%"); a gold may write it as 38.2."""
    assert result_matches([[199, 0.38195777, 521]], [(38.195777,)])
    assert result_matches([["books", 0.255], ["toys", 0.745]], [("toys", 74.5), ("books", 25.5)])
    # a whole-number gold is a count: a share of 17% does not answer "how many" with 17
    assert not result_matches([[0.17, 100]], [(17.0,)])
    assert not result_matches([[199, 0.38195777, 521]], [(39.2,)])  # another figure
    # a column that is not all fractions is no share: 12 is not 1200%
    assert not result_matches([[12.0, 0.5]], [(1200.0,)])
    assert not result_matches([["books", 0.25], ["toys", 1.5]], [("books", 25.0), ("toys", 150.0)])
