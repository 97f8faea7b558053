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
from tools.metrics import SemanticModel, dimension_values, filtering, filters_text, measure_text, of_total


class Clarify(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=300)


class CannotAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=300)


def decision_model(tools: dict[str, Tool], read_first: bool = False) -> type[BaseModel]:
    """One tool call, or a clarifying question, or a refusal: the shape of the model's reply.
    With `read_first`, each begins with the model's reading of the question in a few words, so
    that the call follows from what it wrote it would compute."""
    head: dict[str, Any] = {"reading": (str, Field(max_length=READING_LENGTH))} if read_first else {}
    arguments = {name: tool.args_model for name, tool in tools.items()}
    arguments |= {"clarify": Clarify, "cannot_answer": CannotAnswer}
    options = [
        create_model(
            f"Call_{name}",
            __config__=ConfigDict(extra="forbid"),
            **head,
            tool=(Literal[name], ...),  # type: ignore[valid-type]
            arguments=(model, ...),
        )
        for name, model in arguments.items()
    ]
    return RootModel[Annotated[Union[tuple(options)], Field(discriminator="tool")]]  # type: ignore[valid-type]  # noqa: UP007


READING_LENGTH = 160


def reading(semantic: SemanticModel, tools: dict[str, Tool], example: Example) -> str:
    """What an example's call computes, in the words of the interpretation line (no dates): the
    model is shown these before each call and writes its own before its call."""
    if example.tool not in tools or example.tool not in ("query_metric", "compare_periods"):
        return {
            "clarify": "a question back",
            "cannot_answer": "the data cannot say",
            "run_sql": "free SQL",
        }.get(example.tool, example.tool.replace("_", " "))
    args = tools[example.tool].args_model.model_validate(example.arguments)
    parts = [measure_text(semantic, args)]
    if example.tool == "compare_periods":
        parts[0] = f"change in {parts[0]} against the period before"
    if filtering(args.filters) and not (of_total(semantic, args) and not args.group_by):  # already said
        parts.append("where " + filters_text(semantic, args.filters))
    if getattr(args, "grain", "none") != "none":
        parts.append(f"per {args.grain}")
    if args.group_by:
        parts.append("by " + " and ".join(args.group_by))
    if args.top_n:
        parts.append(f"{'top' if args.sort == 'highest' else 'bottom'} {args.top_n}")
    return "; ".join(parts)[:READING_LENGTH]


def _prompt(name: str) -> str:
    return resources.files("prompts").joinpath(name).read_text().strip()


def compact(call: dict[str, Any] | None) -> str:
    """A call as the prompt shows it: JSON without spaces (fewer tokens to read)."""
    return json.dumps(call, separators=(",", ":"), default=str)


REPLY_SHAPE = '{"tool": NAME, "arguments": {...}}'
# The reading first: what the call will compute, in the examples' words, then the call.
READ_FIRST_SHAPE = '{"reading": WHAT IT COMPUTES, "tool": NAME, "arguments": {...}}'


def system_prompt(
    semantic: SemanticModel,
    examples: list[Example],
    ctx: ToolContext,
    tools: dict[str, Tool],
    read_first: bool = False,
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
        reply_shape=READ_FIRST_SHAPE if read_first else REPLY_SHAPE,
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
