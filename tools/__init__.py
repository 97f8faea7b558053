"""The agent's tools. Each is a typed function with a docstring (its description) and an
arguments model (its JSON schema); `build_tools` lists them."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from tools.anomalies import DetectAnomaliesArgs, SuspiciousUsersArgs, detect_anomalies, find_suspicious_users
from tools.base import ToolContext, ToolError, ToolResult
from tools.copy import CopyArgs, write_marketing_copy
from tools.describe import DescribeArgs, describe_data
from tools.metrics import (
    CohortRequest,
    SemanticModel,
    cohort_retention,
    compare_periods,
    funnel,
    funnel_args_model,
    query_metric,
)
from tools.recommend import ExplainArgs, RecommendArgs, explain_recommendation, recommend
from tools.search import (
    SearchProductsArgs,
    SearchQueriesArgs,
    SimilarUsersArgs,
    search_products,
    search_queries,
    similar_users,
)
from tools.segments import ListSegmentsArgs, LookupSegmentArgs, list_segments, lookup_segment
from tools.sql import RunSqlArgs, run_sql

__all__ = ["Tool", "ToolContext", "ToolError", "ToolResult", "build_tools"]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args_model: type[BaseModel]
    function: Callable[[ToolContext, BaseModel], ToolResult]

    def __call__(self, ctx: ToolContext, arguments: dict) -> ToolResult:
        return self.function(ctx, self.args_model.model_validate(arguments))


def _describe(function: Callable) -> str:
    return " ".join(inspect.getdoc(function).split("\n\n")[0].split())


def build_tools(semantic: SemanticModel) -> dict[str, Tool]:
    """The tools, in the order the model sees them (most useful first)."""
    specs = [
        (query_metric, semantic.request_model),
        (compare_periods, semantic.compare_model),
        (funnel, funnel_args_model(semantic)),
        (cohort_retention, CohortRequest),
        (list_segments, ListSegmentsArgs),
        (lookup_segment, LookupSegmentArgs),
        (recommend, RecommendArgs),
        (explain_recommendation, ExplainArgs),
        (detect_anomalies, DetectAnomaliesArgs),
        (find_suspicious_users, SuspiciousUsersArgs),
        (search_products, SearchProductsArgs),
        (search_queries, SearchQueriesArgs),
        (similar_users, SimilarUsersArgs),
        (write_marketing_copy, CopyArgs),
        (run_sql, RunSqlArgs),
        (describe_data, DescribeArgs),
    ]
    return {f.__name__: Tool(f.__name__, _describe(f), model, f) for f, model in specs}
