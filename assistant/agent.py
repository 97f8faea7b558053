"""The agent: a question in, a grounded answer out.

One turn:
1. the model replies with one tool call, its JSON constrained to the tools' schemas (a grammar
   on the server: even a small model emits a valid call) — or asks to clarify, or declines. The
   system prompt (tools, fields, every solved example, the data's facts) is fixed per warehouse,
   so the engine reads it once; next to the question go only the few most similar examples;
2. code checks the call against the question's words and drops what nobody asked for
   (tools/evidence.py); a filter on something the data does not have is refused right there;
3. the tool runs; on an error the model sees it and corrects its call (at most 2 retries);
4. code writes the answer from the result: the sentence (direction, units, which row) and what
   was computed (the interpretation); code renders the table and chart. With
   `answer_sentences = "model"` the model writes the sentence instead, and code checks its
   numbers, directions and row labels, and replaces it when the check fails.
"""

from __future__ import annotations

import html
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, create_model

from assistant.audit import AuditEvent, AuditLog, tool_calls
from assistant.embeddings import Encoder
from assistant.grounding import misstatements, ungrounded_numbers
from assistant.llm.client import ModelAnswerError, Writer, response_format
from assistant.llm.engines import Endpoint
from assistant.retrieval import Example, Retriever, load_examples
from assistant.settings import Settings
from assistant.warehouse.db import Warehouse, refresh_views
from tools import Tool, ToolContext, ToolError, ToolResult, build_tools
from tools.base import ChartSpec, UnknownEntity, cell_text, render
from tools.evidence import (
    SEARCH_WORDS_NEEDED,
    beyond_typed,
    corrected,
    lack_asked,
    missing_concept,
    missing_dimension,
    unsupported_arguments,
    vague,
)
from tools.evidence import check as check_evidence
from tools.metrics import DataLacks, SemanticModel, dimension_values, has_prices
from tools.narrate import table_sentence

if TYPE_CHECKING:  # the client is made by the caller; importing it here costs a second
    from langchain_openai import ChatOpenAI

log = logging.getLogger(__name__)

MAX_RETRIES = 2
FIGURE_TOOLS = ("query_metric", "compare_periods", "funnel", "run_sql")
VAGUE_REPLY = (
    "Which figures would you like: for example revenue, orders, conversion or the top products,"
    " and over which period?"
)
BEYOND_NOTE = "cannot express"  # in the error that sends a question beyond the typed language to run_sql
LACK_UNASKED = "(not asked:"  # in the error of a call that brought in what the data lacks, unasked
# How close an example of an insight tool must be to a question to be named as a hint (cosine).
HINT_SIMILARITY = 0.6


class Clarify(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=300)


class CannotAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=300)


class ToolCall(BaseModel):
    tool: str
    arguments: dict[str, Any]
    error: str | None = None
    seconds: float = 0.0


class Table(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = False


class Step(BaseModel):
    """Progress within one answer, for a UI that shows it as it happens."""

    kind: Literal["call", "failed", "writing"]
    text: str
    tool: str | None = None
    arguments: dict[str, Any] | None = None


StepFn = Callable[[Step], None]


class Answer(BaseModel):
    """What `Assistant.ask` returns: the CLI, the UI and the eval harness all read this."""

    question: str
    text: str
    kind: Literal["answer", "clarification", "refusal", "error"]
    tool_calls: list[ToolCall] = Field(default_factory=list)
    sql: str | None = None
    table: Table | None = None
    chart: ChartSpec | None = None
    # What was computed, in words written by code from the call that ran (measure, population,
    # filters, exact period, grouping): a misread question shows here at a glance.
    interpretation: str | None = None
    notes: list[str] = Field(default_factory=list)
    ungrounded_numbers: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    tokens: dict[str, int] = Field(default_factory=lambda: {"prompt": 0, "completion": 0})

    @property
    def grounded(self) -> bool:
        return not self.ungrounded_numbers

    @property
    def df(self) -> Any:
        """The result table as a pandas DataFrame (None when the answer has no table)."""
        import pandas as pd

        return pd.DataFrame(self.table.rows, columns=self.table.columns) if self.table else None

    def figure(self) -> Any:
        """The answer's chart as a plotly Figure (None when it has none); a notebook draws it."""
        from assistant.charts import figure

        return figure(self.chart, self.table.columns, self.table.rows) if self.table and self.chart else None

    def _repr_html_(self) -> str:
        """How a notebook shows the answer: the sentence, what was computed, the table, the SQL."""
        parts = [f"<p><b>{html.escape(self.text)}</b></p>"]
        if self.interpretation:
            parts.append(f"<p><i>Computed: {html.escape(self.interpretation)}</i></p>")
        if self.table is not None:
            parts.append(self.df.head(50).to_html(index=False, max_cols=20))  # escapes cells
        if self.sql:
            parts.append(f"<details><summary>SQL</summary><pre>{html.escape(self.sql)}</pre></details>")
        return "\n".join(parts)


@dataclass
class Turn:
    question: str
    call: dict[str, Any] | None
    answer: str


@dataclass
class Conversation:
    """Memory for follow-ups: the previous turns of one user's chat."""

    turns: list[Turn] = field(default_factory=list)


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


class Assistant:
    """Created once (model client, warehouse, tools, retriever); `ask` answers one question."""

    def __init__(
        self,
        settings: Settings,
        warehouse: Warehouse,
        llm: ChatOpenAI,
        endpoint: Endpoint,
        *,
        explainer: ChatOpenAI | None = None,
        encoder: Encoder | None = None,
        semantic: SemanticModel | None = None,
        examples: list[Example] | None = None,
        writer: ChatOpenAI | None = None,
        without_tools: frozenset[str] = frozenset(),
        audit: AuditLog | None = None,
    ) -> None:
        self.settings = settings
        self.audit = audit
        self.llm = llm
        self.explainer = explainer or llm
        self.endpoint = endpoint
        self.semantic = semantic or SemanticModel.load(settings.metrics_file)
        self.ctx = ToolContext.open(settings, warehouse)
        self.ctx.semantic = self.semantic
        self.ctx.encoder = encoder
        # `without_tools`: ablations (the eval harness measures the assistant without its metrics
        # layer); the tools, their examples and their lines in the system prompt all go.
        tools = build_tools(self.semantic, settings.tools)
        self.tools = {n: t for n, t in tools.items() if n not in without_tools}
        if examples is None:
            examples = [e for e in load_examples() if e.tool not in without_tools]
        self.decision = decision_model(self.tools)
        self.decision_format = response_format(endpoint, self.decision.model_json_schema(), "ToolCall")
        # Calls are shown with their fields in the schema's order: the grammar only lets the model
        # write them in that order, so an example in another order leads it astray.
        examples = [self._in_schema_order(e) for e in examples]
        self.retriever = Retriever(self.semantic, examples, encoder)
        self.system_prompt = system_prompt(self.semantic, examples, self.ctx, self.tools)
        # Tools that write prose (copy, explanations, segment names) use the same system prompt:
        # the engine serves them from the cached prefix.
        self.ctx.llm = Writer(writer or self.explainer, endpoint, self.system_prompt)

    @classmethod
    def on_endpoint(
        cls,
        settings: Settings,
        warehouse: Warehouse,
        endpoint: Endpoint,
        encoder: Encoder | None,
        **options: Any,
    ) -> Assistant:
        """An assistant talking to a running engine: room for a SQL query in the call, and a short
        budget for the sentence that explains the result. `options` go to the constructor."""
        from assistant.llm.client import chat_model

        return cls(
            settings,
            warehouse,
            chat_model(endpoint, settings, max_tokens=400),
            endpoint,
            explainer=chat_model(endpoint, settings, max_tokens=100),
            encoder=encoder,
            writer=chat_model(endpoint, settings, max_tokens=600),
            **options,
        )

    def ask(
        self,
        question: str,
        conversation: Conversation | None = None,
        on_step: StepFn | None = None,
        session: str = "local",
    ) -> Answer:
        """Answer one question (a follow-up when `conversation` has turns); `on_step` hears each
        tool call, failure and the writing of the answer as they happen. The question, its calls
        and SQL go to the audit log under `session`."""
        started = time.perf_counter()
        answer = Answer(question=question, text="", kind="answer")
        failure: str | None = None
        try:
            self._ask(question, conversation, answer, on_step or (lambda step: None))
        except ModelUnavailable as exc:
            answer.kind, answer.text = "error", str(exc)
        except BaseException as exc:  # told to the caller; the audit log still records the question
            answer.kind, failure = "error", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            answer.timings["total"] = round(time.perf_counter() - started, 3)
            self._audit(
                session,
                kind="question",
                question=question,
                answer_kind=answer.kind,
                tool_calls=tool_calls(answer.tool_calls),
                sql=answer.sql,
                seconds=answer.timings["total"],
                error=failure,
            )
        if conversation is not None:
            call = (
                answer.tool_calls[-1].model_dump(include={"tool", "arguments"}) if answer.tool_calls else None
            )
            conversation.turns.append(Turn(question, call, answer.text))
        return answer

    def run_tool(self, name: str, arguments: dict[str, Any], session: str = "local") -> ToolResult:
        """Run one tool directly, no model in the loop (the app's Segments, Recommendations and
        Copy tabs). Bad arguments raise ToolError with a message for the user. Audited."""
        started, result, error = time.perf_counter(), None, None
        try:
            if name not in self.tools:
                raise ToolError(f"unknown tool {name!r}")
            try:
                result = self.tools[name](self.ctx, arguments)
            except ValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                raise ToolError(f"{name}: {problems}") from None
            return result
        except Exception as exc:
            error = str(exc)
            raise
        finally:
            self._audit(
                session,
                kind="tool",
                tool_calls=[{"tool": name, "arguments": arguments, "error": error}],
                sql=result.sql if result is not None else None,
                seconds=round(time.perf_counter() - started, 3),
                error=error,
            )

    def _audit(self, session: str, **fields: Any) -> None:
        if self.audit is not None:
            self.audit.record(AuditEvent(session=session, dataset=self.settings.warehouse, **fields))

    def _ask(self, question: str, conversation: Conversation | None, answer: Answer, on_step: StepFn) -> None:
        clock = time.perf_counter()
        previous = conversation.turns[-1] if conversation and conversation.turns else None
        # The model reads "purchsed" as well as code does only when it is written right.
        readable, fixes = corrected(question)
        answer.notes += fixes
        nearest: list[tuple[Example, float | None]] = []
        if self.settings.prompt_examples:
            # A follow-up ("and by country?") is about the previous question's topic: search with both.
            nearest = self.retriever.nearest(
                f"{previous.question} {readable}" if previous else readable, self.settings.prompt_examples
            )
        answer.timings["retrieve"] = round(time.perf_counter() - clock, 3)
        messages: list[BaseMessage] = [
            SystemMessage(self.system_prompt),
            HumanMessage(self._user_message(readable, nearest, previous)),
        ]
        words = f"{previous.question} {question}" if previous else question
        # Ids may also come from the previous answer ("why is the first one recommended?").
        said = f"{words} {previous.answer} {compact(previous.call)}" if previous else words
        result = self._run_tool(messages, answer, on_step, words, previous.call if previous else None, said)
        answer.timings["tools"] = round(sum(c.seconds for c in answer.tool_calls), 3)
        if result is None:  # a clarifying question, a refusal, or a failure: `answer` already says so
            return
        answer.sql = result.sql
        answer.table = Table(
            columns=result.columns, rows=[list(r) for r in result.rows], truncated=result.truncated
        )
        answer.chart = result.chart
        answer.interpretation = result.interpretation
        answer.notes = [*answer.notes, *result.notes]
        if result.answer is not None:  # prose the tool wrote and checked against its rows
            answer.text = result.answer
            return
        written = result.summary or table_sentence(result.columns, list(result.rows), result.truncated)
        if self.settings.answer_sentences == "code" or result.text is not None:
            answer.text = written
            answer.ungrounded_numbers = ungrounded_numbers(written, _facts(result), question)
            if answer.ungrounded_numbers:  # a bug in a tool's sentence: show the flag, never hide it
                log.warning("code-written sentence not grounded: %s (%s)", written, answer.ungrounded_numbers)
            return
        rows = len(result.rows)
        on_step(Step(kind="writing", text=f"from {rows:,} result row{'s' if rows != 1 else ''}"))
        answer.text, answer.ungrounded_numbers = self._grounded_text(question, result, answer, written)

    def _run_tool(
        self,
        messages: list[BaseMessage],
        answer: Answer,
        on_step: StepFn,
        words: str,
        previous_call: dict[str, Any] | None,
        said: str,
    ) -> ToolResult | None:
        """Ask for a call, check it against the question's words, run it; show failures to the
        model, which corrects its call. `words` are the question's (and a follow-up's previous
        question's); `said` is all the conversation has said, where ids may come from."""
        tried: set[str] = set()  # the model's failed calls, as it wrote them
        for attempt in range(MAX_RETRIES + 1):
            try:
                call = self._decide(messages, answer)
            except ModelAnswerError as exc:  # e.g. cut off mid-JSON
                answer.tool_calls.append(ToolCall(tool="(invalid reply)", arguments={}, error=str(exc)))
                messages.append(
                    HumanMessage(
                        f"Your reply was not a valid tool call ({exc}). Reply with one JSON tool call."
                    )
                )
                continue
            # What the model wrote, without the defaults: the fields it chose are the ones to check.
            tool, arguments = call.tool, call.arguments.model_dump(mode="json", exclude_unset=True)
            if tool in ("clarify", "cannot_answer"):
                answer.kind = "clarification" if tool == "clarify" else "refusal"
                answer.text = (
                    call.arguments.question if tool == "clarify" else self._cannot(call.arguments.reason)
                )
                answer.tool_calls.append(ToolCall(tool=tool, arguments=arguments))
                return None
            if tool in FIGURE_TOOLS and previous_call is None and vague(answer.question):
                # "Give me the numbers" answered with whatever metric the model guessed: ask instead.
                answer.kind, answer.text = "clarification", VAGUE_REPLY
                answer.notes.append(f"the question names no figure; the model's {tool} call was not run")
                return None
            written = json.dumps({"tool": tool, "arguments": arguments}, sort_keys=True)
            if written in tried:
                break  # the same failed call again: another try would fail the same way
            clock = time.perf_counter()
            try:
                tool, arguments = self._screen(tool, arguments, answer, words, previous_call, said)
                on_step(Step(kind="call", text=f"calling {tool}", tool=tool, arguments=arguments))
                result = self.tools[tool](self.ctx, arguments)
            except DataLacks as exc:  # no retry can find what the data does not have
                answer.tool_calls.append(
                    ToolCall(
                        tool=tool, arguments=arguments, error=str(exc), seconds=time.perf_counter() - clock
                    )
                )
                if (
                    exc.subject
                    and not lack_asked(exc.subject, answer.question, self.semantic)
                    and not any(LACK_UNASKED in (call.error or "") for call in answer.tool_calls)
                ):
                    # The call brought in what the question never asked for ('revenue' for a reorder
                    # rate, a product filter for 'CDs'): once, the model answers without it.
                    subject = exc.subject[1].replace("_", " ")
                    answer.tool_calls[-1].error = f"{exc} {LACK_UNASKED} {subject})"
                    messages += [
                        AIMessage(json.dumps({"tool": tool, "arguments": arguments})),
                        HumanMessage(
                            f"That call failed: {exc}\nThe question does not ask about {subject}: reply with a"
                            f" call that answers it without {subject}."
                        ),
                    ]
                    continue
                answer.kind, answer.text = "refusal", str(exc)
                return None
            except (ToolError, ValidationError) as exc:
                if BEYOND_NOTE not in str(exc):  # that one may be insisted on, and then runs
                    tried.add(written)
                log.info("tool %s failed (attempt %d): %s", tool, attempt + 1, exc)
                on_step(Step(kind="failed", text=f"{tool} failed: {exc}", tool=tool, arguments=arguments))
                seconds = round(time.perf_counter() - clock, 3)
                answer.tool_calls.append(
                    ToolCall(tool=tool, arguments=arguments, error=str(exc), seconds=seconds)
                )
                if isinstance(exc, UnknownEntity) and exc.value.lower() in answer.question.lower():
                    # The user named an id the data does not have: no retry can find it.
                    answer.kind, answer.text = "error", f"I could not answer that: {exc}"
                    return None
                messages += [
                    AIMessage(json.dumps({"tool": tool, "arguments": arguments})),
                    HumanMessage(f"That call failed: {exc}\nReply with a corrected call."),
                ]
                continue
            seconds = round(time.perf_counter() - clock, 3)
            answer.tool_calls.append(ToolCall(tool=tool, arguments=arguments, seconds=seconds))
            return result
        answer.kind = "error"
        answer.text = f"I could not answer that: {answer.tool_calls[-1].error}"
        return None

    def _screen(
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
        # A question needing what the data lacks (costs, ages, ratings …) is declined by code
        # whatever tool the model picked, except one that writes prose: copy may mention shipping.
        if not (tool in self.tools and self.tools[tool].writes_prose):
            lacking = missing_concept(answer.question, self._has_returns()) or missing_dimension(
                answer.question, self._has_dimension
            )
            if lacking:  # the model mapped "profit" to revenue: code declines instead
                raise DataLacks(f"{lacking} {self.data_has()}")
        if (
            tool in ("query_metric", "compare_periods", "run_sql", "search_queries")
            and beyond_typed(answer.question) == SEARCH_WORDS_NEEDED
            and "search" not in self.ctx.facts.event_types
        ):  # search words on data without searches: no query can find them
            raise DataLacks(f"The data has no search events, so no search words. {self.data_has()}")
        arguments, problems = unsupported_arguments(tool, arguments, said)
        answer.notes += [p.removeprefix("note: ") for p in problems if p.startswith("note: ")]
        problems = [p for p in problems if not p.startswith("note: ")]
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
            current=answer.question,
            values=lambda name: dimension_values(self.ctx, self.semantic, self.semantic.dimensions[name]),
        )
        # After the words' repairs: a call they made express the question (a top N's share taken
        # together, an order's place) is not sent away.
        beyond = (
            beyond_typed(answer.question, arguments) if tool in ("query_metric", "compare_periods") else None
        )
        if beyond and not any(call.error and BEYOND_NOTE in call.error for call in answer.tool_calls):
            # Once: the model may still insist, and its call then runs (a typed figure beats none).
            raise ToolError(
                f"{tool} {BEYOND_NOTE} {beyond}; answer with run_sql: one SELECT that computes exactly what is asked"
            )
        answer.notes += [n for n in notes if n not in answer.notes]
        return tool, arguments

    def _grounded_text(
        self, question: str, result: ToolResult, answer: Answer, written: str
    ) -> tuple[str, list[str]]:
        """The model's sentences about the result, checked: numbers against the rows, directions
        against the signs of changes, row labels against their figures. Rewritten once when the
        check fails; replaced by code's sentence (`written`) when it fails again."""
        facts = _facts(result)

        def problems(text: str) -> list[str]:
            if text.lstrip().startswith(("{", "[", "```")) or '"tool"' in text:
                return ["it is a tool call, not a sentence"]
            flagged = ungrounded_numbers(text, facts, question)
            wrong = misstatements(text, result.columns, list(result.rows))
            return [f"numbers not in the result: {', '.join(flagged)}"] * bool(flagged) + wrong

        text, prompt = self._explain(question, result, answer)
        found = problems(text)
        if found:
            retry = f"{prompt}\nYour answer was wrong: {'; '.join(found)}. Rewrite it from the result only."
            text, _ = self._explain(question, result, answer, prompt=retry)
            found = problems(text)
        if found:
            answer.notes.append(f"the model's sentence was replaced by code's: {'; '.join(found)}")
            text = written
        return text, ungrounded_numbers(text, facts, question)

    def _user_message(
        self, question: str, nearest: list[tuple[Example, float | None]], previous: Turn | None
    ) -> str:
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
            insight = example.tool in self.tools and self.tools[example.tool].group == "insight"
            if insight and score is not None and score >= HINT_SIMILARITY:
                hint = f"\nThe most similar example used {example.tool}."
        parts.append(f"Question: {question}{hint}")
        return "\n\n".join(parts)

    def warm_up(self) -> None:
        """Have the engine read the system prompt now (a one-token reply), so that the first
        question reads only its own words: about 50 s on 2 CPU cores, paid before anyone waits."""
        from assistant.llm.client import chat_model

        clock = time.perf_counter()
        try:
            chat_model(self.endpoint, self.settings, max_tokens=1).invoke(
                [SystemMessage(self.system_prompt), HumanMessage("Question: ")]
            )
        except Exception as exc:  # the first question will read it instead
            log.warning("warm-up failed: %s", exc)
            return
        log.info("system prompt read in %.1fs", time.perf_counter() - clock)

    def _has_dimension(self, name: str) -> bool:
        dimension = self.semantic.dimensions.get(name)
        return dimension is not None and bool(dimension_values(self.ctx, self.semantic, dimension))

    def _has_returns(self) -> bool:
        """Cancellations are recorded (negative quantities), so "returns" can be answered."""
        return self.ctx.cached(
            "has_returns", lambda: bool(self.ctx.rows("SELECT 1 FROM events WHERE quantity < 0 LIMIT 1"))
        )

    def _in_schema_order(self, example: Example) -> Example:
        if example.tool not in self.tools:
            return example
        arguments = self.tools[example.tool].args_model.model_validate(example.arguments)
        return example.model_copy(update={"arguments": arguments.model_dump(mode="json", exclude_unset=True)})

    def _cannot(self, reason: str) -> str:
        """The model's reason for declining, and what the data does have, written by code."""
        return f"{reason.rstrip('.')}. {self.data_has()}"

    def data_has(self) -> str:
        """One sentence on what the data holds, so a refusal says what can be asked instead."""
        facts = self.ctx.facts
        present = [
            d.name
            for d in self.semantic.dimensions.values()
            if d.name in ("category", "brand", "country", "channel", "device")
            and dimension_values(self.ctx, self.semantic, d)
        ]
        kinds = ", ".join(facts.event_types) or "no"
        extra = f", {', '.join(present)}" if present else ""
        prices = "price and quantity" if has_prices(self.ctx) else "quantity (no prices)"
        return (
            f"The data has {kinds} events with their time, user, session, product{extra}, {prices},"
            f" from {facts.first_day} to {facts.last_day}."
        )

    def _decide(self, messages: list[BaseMessage], answer: Answer) -> Any:
        clock = time.perf_counter()
        llm = self.llm.bind(response_format=self.decision_format) if self.decision_format else self.llm
        try:
            reply = llm.invoke(messages)
        except Exception as exc:  # connection refused, timeout, server error
            if type(exc).__name__ == "LengthFinishReasonError":  # a runaway reply, not a dead server
                answer.timings["decide"] = round(
                    answer.timings.get("decide", 0) + time.perf_counter() - clock, 3
                )
                raise ModelAnswerError(
                    "the reply ran past its length limit without finishing a call"
                ) from exc
            raise ModelUnavailable(_unavailable(exc)) from exc
        _count(answer, reply)
        answer.timings["decide"] = round(answer.timings.get("decide", 0) + time.perf_counter() - clock, 3)
        try:
            return self.decision.model_validate_json(_text(reply)).root
        except ValidationError as exc:
            raise ModelAnswerError(f"the model's call is not valid: {exc}") from exc

    def _explain(
        self, question: str, result: ToolResult, answer: Answer, prompt: str | None = None
    ) -> tuple[str, str]:
        clock = time.perf_counter()
        if prompt is None:
            notes = "; ".join(result.notes)
            first = ""
            if result.rows and result.text is None:
                first = "\nFirst row: " + ", ".join(
                    f"{c} = {cell_text(v)}" for c, v in zip(result.columns, result.rows[0], strict=False)
                )
            # The result is fenced as data: text from the shop's tables is never an instruction.
            computed = f"What was computed: {result.interpretation}\n" if result.interpretation else ""
            prompt = (
                "Write text, not a tool call: the call has run.\n"
                f"Question: {question}\n{computed}Result of {result.tool} ({notes}), data only:\n"
                f"<data>\n{result.preview()}{first}\n</data>\n"
                "Answer the question in one or two plain sentences, with numbers from the result only, as"
                " written there (a share like 0.1255 may be written 12.6%). No JSON, no lists, no SQL, no"
                " guessed causes.\nAnswer:"
            )
        try:
            # The same system prompt as the tool call: the engine reuses its cached prefix.
            reply = self.explainer.invoke([SystemMessage(self.system_prompt), HumanMessage(prompt)])
        except Exception as exc:
            raise ModelUnavailable(_unavailable(exc)) from exc
        _count(answer, reply)
        answer.timings["explain"] = round(answer.timings.get("explain", 0) + time.perf_counter() - clock, 3)
        return _text(reply).strip() or table_sentence(result.columns, list(result.rows)), prompt


def audit_log(settings: Settings) -> AuditLog | None:
    """The audit log the settings ask for (on by default, in the data dir)."""
    return (
        AuditLog(settings.data_dir / "audit.jsonl", mask=settings.pii_masking) if settings.audit_log else None
    )


def _facts(result: ToolResult) -> list[tuple]:
    """What a sentence about `result` may state: its rows, their count ("across 9 categories"),
    the figures in its notes (a segment's size when only its first members are listed) and the
    call's own parameters ("users with at least 3 orders", when the question said "more than 2")."""
    return [
        *result.rows,
        (len(result.rows),),
        tuple(result.notes),
        (json.dumps(result.arguments, default=str),),
    ]


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
        f"{m.name} ({m.description.split('(')[0].rstrip('. ').lower()})" for m in semantic.metrics.values()
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


def _unavailable(exc: Exception) -> str:
    """What the user hears when a model call fails: a server that answered with an HTTP error
    refused the request (and says why); otherwise it is not answering."""
    status = getattr(exc, "status_code", None)
    if status is not None:
        detail = " ".join(str(getattr(exc, "message", exc)).split())[:300]
        return f"The model server refused the request (HTTP {status}): {detail}"
    return f"The model server is not answering ({type(exc).__name__}): {exc}"


class ModelUnavailable(RuntimeError):
    """The model server could not be reached; the answer says so and the session goes on."""


def _count(answer: Answer, reply: AIMessage) -> None:
    usage = reply.usage_metadata or {}
    answer.tokens["prompt"] += usage.get("input_tokens", 0)
    answer.tokens["completion"] += usage.get("output_tokens", 0)


def _text(reply: AIMessage) -> str:
    content = reply.content
    return (
        content
        if isinstance(content, str)
        else "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    )


@contextmanager
def open_assistant(settings: Settings, progress: Any = None) -> Iterator[Assistant]:
    """An assistant over the configured warehouse (read-only) and engine (started if needed)."""
    from assistant.llm.server import start_engine

    refresh_views(settings)
    warehouse = Warehouse(settings, read_only=True)
    if not warehouse.exists():
        raise FileNotFoundError(
            f"no warehouse at {warehouse.url}: run `shoplens data demo` or `shoplens data load FILE`"
        )
    try:
        with start_engine(settings, progress) as running:
            yield Assistant.on_endpoint(
                settings, warehouse, running.endpoint, Encoder(), audit=audit_log(settings)
            )
    finally:
        warehouse.close()
