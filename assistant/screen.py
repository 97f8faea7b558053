"""Code's look at each call the model makes, before it runs: what it may drop or correct (with
notes), what the model must redo (ToolError), and what no call can answer because the data lacks
it (DataLacks, said with what the data does have)."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from assistant.answer import Answer
from tools import Tool, ToolContext, ToolError
from tools.chinese import data_has as data_has_in_chinese
from tools.copy import as_requested, asks_for_copy, request_in_words
from tools.evidence import (
    SEARCH_WORDS_NEEDED,
    beyond_typed,
    calendar_named,
    id_named,
    missing_concept,
    missing_dimension,
    missing_event,
    unsupported_arguments,
)
from tools.evidence import check as check_evidence
from tools.language import english_reading
from tools.metrics import DataLacks, SemanticModel, dimension_values, has_prices

BEYOND_NOTE = "cannot express"  # in the error that sends a question beyond the typed language to run_sql
COPY_READ_NOTE = "the request was read by code, without the model's call"
# How a request names a catalog product: "product 42", "item 29c8…", or an id of letters and
# digits alone ("B07B8BZFX3", Flipkart's hex uniq_id); a bare number may be a count ("80 words").
NAMED_ID = re.compile(r"(?i:\b(?:product|item|sku|asin)|商品|产品)\s*#?\s*(\w[\w-]*)")
CATALOG_LIKE_ID = re.compile(r"\b(?=[\w-]*[a-z])(?=[\w-]*\d)[\w-]{6,}\b", re.IGNORECASE)
# "user 42", "customer 12347", "用户42": the one person a question is about, by id (ASCII:
# a Chinese sentence runs on after the id without a space); not a count ("each user 3 times").
USER_NAMED = re.compile(
    r"(?i:\b(?:user|customer|shopper|buyer|visitor|client)(?:\s+id)?|用户|顾客|客户)\s*#?\s*([0-9][0-9A-Za-z_-]*)(?![0-9A-Za-z_-])"
    r"(?!\s*(?:times|or\b|\+|%|orders|purchases|events|visits|sessions|days|weeks|months))"
)
USER_LEFT_OUT_NOTE = "which the call leaves out"
COPY_ASKED_NOTE = (
    "the request asks for marketing copy, not figures: call write_marketing_copy with the product_id"
    " or segment it names"
)


@dataclass
class Screen:
    tools: dict[str, Tool]
    ctx: ToolContext
    semantic: SemanticModel

    def check(
        self,
        tool: str,
        arguments: dict[str, Any],
        answer: Answer,
        words: str,
        previous_call: dict[str, Any] | None,
        said: str,
    ) -> tuple[str, dict[str, Any]]:
        """Code's look at a call before it runs: what it may drop or correct (with notes), what
        the model must redo (ToolError), and what no call can answer (DataLacks)."""
        question = english_reading(answer.question)  # the rules read English words
        # A question needing what the data lacks (costs, ages, ratings …) is declined by code
        # whatever tool the model picked, except for copy (a tool that writes prose, or a request
        # for copy sent to another tool): copy may offer free shipping.
        if not (tool in self.tools and self.tools[tool].writes_prose or asks_for_copy(answer.question)):
            lacking = (
                missing_concept(question, self.has_returns())
                or missing_dimension(question, self.has_dimension)
                or missing_event(question, self.ctx.facts.event_types)
            )
            if lacking:  # the model mapped "profit" to revenue: code declines instead
                raise DataLacks(f"{lacking} {self.data_has()}")
            if self.ctx.facts.nominal_dates and calendar_named(question):
                # Dates made up by the loader (Instacart): "orders in March 2017" would be fiction.
                raise DataLacks(f"{self.ctx.facts.nominal_dates} {self.data_has()}")
        if (
            tool in ("query_metric", "compare_periods", "run_sql", "search_queries")
            and beyond_typed(question) == SEARCH_WORDS_NEEDED
            and "search" not in self.ctx.facts.event_types
        ):  # search words on data without searches: no query can find them
            raise DataLacks(f"The data has no search events, so no search words. {self.data_has()}")
        if tool == "write_marketing_copy":
            arguments = self.product_as_named(arguments, answer)
            # The channel, tone, segment and brief the request states; before the check of ids,
            # so a product the model added to a segment's request is dropped, not refused.
            arguments, notes = as_requested(arguments, answer.question)
            answer.notes += notes
        arguments, problems = unsupported_arguments(tool, arguments, said, question)
        answer.notes += [p.removeprefix("note: ") for p in problems if p.startswith("note: ")]
        problems = [p for p in problems if not p.startswith("note: ")]
        if (
            tool != "write_marketing_copy"
            and "write_marketing_copy" in self.tools
            and asks_for_copy(answer.question)
            and not any(call.error and COPY_ASKED_NOTE in call.error for call in answer.tool_calls)
        ):  # "Long, luxury product page description for B075F2RVHH" went to run_sql. Once: the
            # model may still insist, and its call then runs.
            raise ToolError(COPY_ASKED_NOTE)
        if tool != "write_marketing_copy":
            self.user_kept(tool, arguments, answer)
        if problems:  # an id or a search copied from an example: the model must look again
            raise ToolError(
                f"{'; '.join(problems)}: use only what the question gives,"
                " or a tool that needs none (search_products, list_segments, query_metric)"
            )
        tool, arguments, notes = check_evidence(
            tool,
            arguments,
            words,
            self.semantic,
            previous_call,
            current=question,
            values=lambda name: dimension_values(self.ctx, self.semantic, self.semantic.dimensions[name]),
            last_day=self.ctx.facts.last_day,
        )
        # After the words' repairs: a call they made express the question (a top N's share taken
        # together, an order's place) is not sent away.
        beyond = beyond_typed(question, arguments) if tool in ("query_metric", "compare_periods") else None
        if beyond and not any(call.error and BEYOND_NOTE in call.error for call in answer.tool_calls):
            # Once: the model may still insist, and its call then runs (a typed figure beats none).
            raise ToolError(
                f"{tool} {BEYOND_NOTE} {beyond}; answer with run_sql: one SELECT that computes exactly what is asked"
            )
        answer.notes += [n for n in notes if n not in answer.notes]
        return tool, arguments

    def user_kept(self, tool: str, arguments: dict[str, Any], answer: Answer) -> None:
        """A question about one user by id answered by a call without that user: "what should
        user 42 see next?" went to predict_intent over every open visit. Sent back once (the
        model may insist, and its call then runs), naming the tools that take a user."""
        named = USER_NAMED.search(answer.question)
        if named is None or any(
            call.error and USER_LEFT_OUT_NOTE in call.error for call in answer.tool_calls
        ):
            return
        user = named.group(1)
        if re.search(rf"(?<![\w.]){re.escape(user)}(?![\w.])", json.dumps(arguments, ensure_ascii=False)):
            return
        takers = [name for name, t in self.tools.items() if "user_id" in t.args_model.model_fields]
        filters = [name for name in ("query_metric", "run_sql") if name in self.tools]
        if "user_id" not in self.semantic.dimensions and "query_metric" in filters:
            filters.remove("query_metric")
        ways = [f'{", ".join(takers)} take user_id "{user}"'] if takers else []
        ways += [f"{' and '.join(filters)} can filter on it"] if filters else []
        raise ToolError(
            f"the question names user {user}, {USER_LEFT_OUT_NOTE}: reply with a call about that user"
            + (f" ({'; '.join(ways)})" if ways else "")
        )

    def copy_call(self, request: str) -> dict[str, Any] | None:
        """write_marketing_copy's call for a request for copy that names one catalog product by
        id, or a segment, or both; None when it names neither (the model reads it then)."""
        if "write_marketing_copy" not in self.tools or not asks_for_copy(request):
            return None
        products = self.catalog_ids({*NAMED_ID.findall(request), *CATALOG_LIKE_ID.findall(request)})
        segment = request_in_words(english_reading(request)).get("segment")
        if len(products) > 1 or (not products and segment is None):
            return None
        call: dict[str, Any] = {"product_id": products[0]} if products else {}
        return call | {"segment": segment} if segment else call

    def catalog_ids(self, tokens: Collection[str]) -> list[str]:
        """The tokens that are product ids in the catalog."""
        if not tokens:
            return []
        rows = self.ctx.rows(
            "SELECT DISTINCT CAST(product_id AS VARCHAR) FROM products"
            " WHERE list_contains($ids, CAST(product_id AS VARCHAR))",
            ids=sorted(tokens),
        )
        return [str(row[0]) for row in rows]

    def product_as_named(self, arguments: dict[str, Any], answer: Answer) -> dict[str, Any]:
        """Copy for the one catalog product the request names by id, when the call has another:
        told to call write_marketing_copy for "the Furniture of America sectional (B075F2RVHH)",
        the model passed its examples' product 17."""
        given = str(arguments.get("product_id") or "")
        tokens = sorted({t for t in re.findall(r"[\w-]+", answer.question) if re.search(r"\d", t)})
        if not given or not tokens or id_named(given, answer.question):
            return arguments
        named = self.catalog_ids(tokens)
        if len(named) != 1:
            return arguments
        answer.notes.append(f"read product_id as {named[0]}, the id the request names (the call had {given})")
        return {**arguments, "product_id": named[0]}

    def has_dimension(self, name: str) -> bool:
        if name == "title":  # product names: a column of the catalog, not a dimension
            return self.ctx.cached(
                "has_titles",
                lambda: bool(self.ctx.rows("SELECT 1 FROM products WHERE coalesce(title, '') <> '' LIMIT 1")),
            )
        dimension = self.semantic.dimensions.get(name)
        return dimension is not None and bool(dimension_values(self.ctx, self.semantic, dimension))

    def has_returns(self) -> bool:
        """Cancellations are recorded (negative quantities), so "returns" can be answered."""
        return self.ctx.cached(
            "has_returns", lambda: bool(self.ctx.rows("SELECT 1 FROM events WHERE quantity < 0 LIMIT 1"))
        )

    def data_has(self, chinese: bool = False) -> str:
        """One sentence on what the data holds, so a refusal says what can be asked instead."""
        facts = self.ctx.facts
        present = [
            d.name
            for d in self.semantic.dimensions.values()
            if d.name in ("category", "brand", "country", "channel", "device")
            and dimension_values(self.ctx, self.semantic, d)
        ]
        if chinese:
            return data_has_in_chinese(
                facts.event_types, present, has_prices(self.ctx), facts.first_day, facts.last_day
            )
        kinds = ", ".join(facts.event_types) or "no"
        extra = f", {', '.join(present)}" if present else ""
        prices = "price and quantity" if has_prices(self.ctx) else "quantity (no prices)"
        return (
            f"The data has {kinds} events with their time, user, session, product{extra}, {prices},"
            f" from {facts.first_day} to {facts.last_day}."
        )
