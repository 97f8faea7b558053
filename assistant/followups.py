"""Follow-up questions to offer after an answer, written by code from the call and its result.

Code, not the model: suggestions cost no tokens, and each is phrased so the agent's examples
cover it (a suggestion the assistant then fumbles would be worse than none).
"""

from __future__ import annotations

from typing import Any

from assistant.agent import Answer

MAX_SUGGESTIONS = 3


def _first(answer: Answer, column: str) -> Any:
    if answer.table and answer.table.rows and column in answer.table.columns:
        return answer.table.rows[0][answer.table.columns.index(column)]
    return None


def suggest(answer: Answer) -> list[str]:
    """Up to three questions that go one step further than `answer`."""
    if answer.kind != "answer" or not answer.tool_calls:
        return []
    call = answer.tool_calls[-1]
    args = call.arguments
    metric = str(args.get("metric", "")).replace("_", " ")
    out: list[str] = []
    if call.tool == "query_metric":
        if not args.get("group_by"):
            out += [f"Break the {metric} down by category", f"Show the {metric} by channel"]
        if args.get("grain", "none") == "none":
            out.append(f"Show the {metric} per week for the last 8 weeks")
        out.append(f"How did the {metric} change compared to the week before?")
    elif call.tool == "compare_periods":
        out += [
            f"Which categories changed the most in {metric}?",
            f"Show the {metric} per day for the last 4 weeks",
        ]
    elif call.tool == "funnel":
        out += ["Which category has the lowest conversion rate?", "How many carts were abandoned last week?"]
    elif call.tool == "cohort_retention":
        out += ["What is the repeat purchase rate?", "Who are our at-risk customers?"]
    elif call.tool in ("list_segments", "lookup_segment"):
        segment = args.get("segment") or _first(answer, "segment") or "champions"
        out += [
            f"Write a promo email for the {segment} segment",
            f"Who are the biggest spenders in {segment}?",
        ]
        user = _first(answer, "user_id")
        if user is not None:
            out.append(f"What should we recommend to user {user}?")
    elif call.tool == "recommend":
        product = _first(answer, "product_id")
        if args.get("user_id") and product is not None:
            out.append(f"Why is product {product} recommended to user {args['user_id']}?")
        if product is not None:
            out.append(f"Write a short promo for product {product}")
        if args.get("user_id"):
            out.append(f"Which users are similar to user {args['user_id']}?")
    elif call.tool == "explain_recommendation":
        out += [
            f"What else goes with product {args.get('product_id')}?",
            f"Write a short promo for product {args.get('product_id')}",
        ]
    elif call.tool == "search_products":
        product = _first(answer, "product_id")
        if product is not None:
            out += [f"What goes with product {product}?", f"Write a short promo for product {product}"]
        out.append(f"What do shoppers search for around {args.get('query')}?")
    elif call.tool == "detect_anomalies":
        day = _first(answer, "period_start")
        out.append("Are there any suspicious users or bots?")
        if day is not None:
            out.append(f"Show sessions per day around {day}")
    elif call.tool == "find_suspicious_users":
        out.append("Any unusual spikes in traffic?")
    elif call.tool == "write_marketing_copy":
        out.append("Make it more professional and shorter")
    elif call.tool in ("run_sql", "describe_data", "search_queries", "similar_users"):
        out += ["What was revenue in the last 7 days?", "Show the funnel from view to purchase"]
    return out[:MAX_SUGGESTIONS]
