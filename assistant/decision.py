"""What the model is asked and the shape of its reply: the system prompt (fixed per warehouse, so
the engine reads it once), the part next to each question, and the decision: one tool call, a
clarifying question or a refusal, as a JSON schema the engine constrains the reply to."""

from __future__ import annotations

import json
from importlib import resources
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model

from assistant.answer import Turn
from assistant.retrieval import Example
from tools import Tool, ToolContext
from tools.base import render
from tools.metrics import SemanticModel, dimension_values


class Clarify(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=300)


class CannotAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=300)


def decision_model(tools: dict[str, Tool]) -> type[BaseModel]:
    """One tool call, or a clarifying question, or a refusal: the shape of the model's reply."""
    options = [
        create_model(
            f"Call_{name}",
            __config__=ConfigDict(extra="forbid"),
            tool=(Literal[name], ...),  # type: ignore[valid-type]
            arguments=(tool.args_model, ...),
        )
        for name, tool in tools.items()
    ]
    options += [
        create_model(
            "Call_clarify",
            __config__=ConfigDict(extra="forbid"),
            tool=(Literal["clarify"], ...),
            arguments=(Clarify, ...),
        ),
        create_model(
            "Call_cannot_answer",
            __config__=ConfigDict(extra="forbid"),
            tool=(Literal["cannot_answer"], ...),
            arguments=(CannotAnswer, ...),
        ),
    ]
    return RootModel[Annotated[Union[tuple(options)], Field(discriminator="tool")]]  # type: ignore[valid-type]  # noqa: UP007


def _prompt(name: str) -> str:
    return resources.files("prompts").joinpath(name).read_text().strip()


def compact(call: dict[str, Any] | None) -> str:
    """A call as the prompt shows it: JSON without spaces (fewer tokens to read)."""
    return json.dumps(call, separators=(",", ":"), default=str)


def system_prompt(
    semantic: SemanticModel, examples: list[Example], ctx: ToolContext, tools: dict[str, Tool]
) -> str:
    """The fixed part of every model call: the tools and their fields, every solved example, and
    (last, so that the rest is shared across warehouses) the facts of this data set."""
    facts = ctx.facts
    template = _prompt("system.md").replace(
        "{tools}", "\n".join(f"- {name}: {tool.prompt}" for name, tool in tools.items())
    )
    metrics = "; ".join(
        f"{m.name} ({m.description.split('(')[0].rstrip('. ').lower()})"
        for m in semantic.metrics.values()
        if not m.hidden
    )
    absent = [d.name for d in semantic.dimensions.values() if not dimension_values(ctx, semantic, d)]
    return render(
        template,
        absent=", ".join(absent) or "nothing",
        metrics=metrics,
        dimensions=", ".join(semantic.dimensions),
        examples="\n".join(f"Q: {e.question}\nA: {compact(e.call())}" for e in examples),
        first_day=facts.first_day,
        last_day=facts.last_day,
        event_types=", ".join(facts.event_types) or "none",
        categories=", ".join(facts.categories[:15]) or "none",
        countries=", ".join(facts.countries[:12]) or "none",
        channels=", ".join(facts.channels[:10]) or "none",
    )


# How close an example of an insight tool must be to a question to be named as a hint (cosine).
HINT_SIMILARITY = 0.6


def user_message(
    question: str, nearest: list[tuple[Example, float | None]], previous: Turn | None, tools: dict[str, Tool]
) -> str:
    """The part of a call next to the system prompt: the nearest solved examples, the previous
    turn of a follow-up, the question (and a hint naming an insight tool that fits closely)."""
    examples = [e for e, _ in nearest]
    parts = []
    if examples:
        # Most similar last: a small model follows the example nearest the question.
        parts.append(
            "Similar solved examples:\n"
            + "\n".join(f"Q: {e.question}\nA: {compact(e.call())}" for e in reversed(examples))
        )
    if previous is not None:
        parts.append(
            f"Previous question: {previous.question}\nPrevious call: {compact(previous.call)}\n"
            "If the next question follows up on it, reply with the previous call, changed as asked."
        )
    # A small model weighs a long tool list poorly: a close example of an insight tool
    # (segments, recommendations, search …) is a strong hint, so name it. Not for the data
    # tools, where a hint pulled metric questions into free SQL; not for a follow-up, where
    # the previous call is the guide.
    hint = ""
    if nearest and previous is None:
        example, score = nearest[0]
        insight = example.tool in tools and tools[example.tool].group == "insight"
        if insight and score is not None and score >= HINT_SIMILARITY:
            hint = f"\nThe most similar example used {example.tool}."
    parts.append(f"Question: {question}{hint}")
    return "\n\n".join(parts)
