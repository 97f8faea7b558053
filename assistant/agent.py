"""The agent: a question in, a grounded answer out.

One turn:
1. retrieve the few solved examples and metrics closest to the question;
2. the model replies with one tool call, its JSON constrained to the tools' schemas (a grammar
   on the server: even a small model emits a valid call) — or asks to clarify, or declines;
3. the tool runs; on an error the model sees it and corrects its call (at most 2 retries);
4. the model writes one or two sentences from the result; code renders the table and chart;
5. every number in those sentences is checked against the results, and unsupported ones are flagged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from typing import Annotated, Any, Literal, Union

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, create_model

from assistant.audit import AuditEvent, AuditLog, tool_calls
from assistant.embeddings import Encoder
from assistant.grounding import ungrounded_numbers
from assistant.llm.client import ModelAnswerError, Writer, response_format
from assistant.llm.engines import Endpoint
from assistant.retrieval import Example, Retriever, load_examples
from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from tools import Tool, ToolContext, ToolError, ToolResult, build_tools
from tools.base import ChartSpec, cell_text, format_value, render
from tools.metrics import SemanticModel

log = logging.getLogger(__name__)

MAX_RETRIES = 2


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
    notes: list[str] = Field(default_factory=list)
    ungrounded_numbers: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    tokens: dict[str, int] = Field(default_factory=lambda: {"prompt": 0, "completion": 0})

    @property
    def grounded(self) -> bool:
        return not self.ungrounded_numbers


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
        self.tools = {n: t for n, t in build_tools(self.semantic).items() if n not in without_tools}
        if examples is None:
            examples = [e for e in load_examples() if e.tool not in without_tools]
        self.decision = decision_model(self.tools)
        self.decision_format = response_format(endpoint, self.decision.model_json_schema(), "ToolCall")
        self.retriever = Retriever(self.semantic, examples, encoder)
        facts = self.ctx.facts
        template = "\n".join(
            line
            for line in _prompt("system.md").splitlines()
            if not any(line.startswith(f"- {n}:") for n in without_tools)
        )
        self.system_prompt = render(
            template,
            metrics=", ".join(self.semantic.metrics),
            dimensions=", ".join(self.semantic.dimensions),
            first_day=facts.first_day,
            last_day=facts.last_day,
            yesterday=facts.last_day - timedelta(days=1) if facts.last_day else "unknown",
            categories=", ".join(facts.categories[:15]) or "none",
            countries=", ".join(facts.countries[:12]) or "none",
            channels=", ".join(facts.channels[:10]) or "none",
        )
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
        try:
            self._ask(question, conversation, answer, on_step or (lambda step: None))
        except ModelUnavailable as exc:
            answer.kind, answer.text = "error", str(exc)
        answer.timings["total"] = round(time.perf_counter() - started, 3)
        self._audit(
            session,
            kind="question",
            question=question,
            answer_kind=answer.kind,
            tool_calls=tool_calls(answer.tool_calls),
            sql=answer.sql,
            seconds=answer.timings["total"],
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
        # A follow-up ("and by country?") is about the previous question's topic: search with both.
        examples, metrics = self.retriever.retrieve(
            f"{previous.question} {question}" if previous else question
        )
        answer.timings["retrieve"] = round(time.perf_counter() - clock, 3)
        messages: list[BaseMessage] = [
            SystemMessage(self.system_prompt),
            HumanMessage(self._user_message(question, examples, metrics, conversation)),
        ]
        result = self._run_tool(messages, answer, on_step)
        answer.timings["tools"] = round(sum(c.seconds for c in answer.tool_calls), 3)
        if result is None:  # a clarifying question, a refusal, or a failure: `answer` already says so
            return
        answer.sql = result.sql
        answer.table = Table(
            columns=result.columns, rows=[list(r) for r in result.rows], truncated=result.truncated
        )
        answer.chart = result.chart
        answer.notes = list(result.notes)
        if result.answer is not None:  # prose the tool wrote and checked against its rows
            answer.text = result.answer
            return
        rows = len(result.rows)
        on_step(Step(kind="writing", text=f"from {rows:,} result row{'s' if rows != 1 else ''}"))
        answer.text, answer.ungrounded_numbers = self._grounded_text(question, result, answer)

    def _run_tool(self, messages: list[BaseMessage], answer: Answer, on_step: StepFn) -> ToolResult | None:
        """Ask for a call and run it; show failures to the model, which corrects its call."""
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
            tool, arguments = call.tool, call.arguments.model_dump(mode="json")
            if tool in ("clarify", "cannot_answer"):
                answer.kind = "clarification" if tool == "clarify" else "refusal"
                answer.text = call.arguments.question if tool == "clarify" else call.arguments.reason
                answer.tool_calls.append(ToolCall(tool=tool, arguments=arguments))
                return None
            on_step(Step(kind="call", text=f"calling {tool}", tool=tool, arguments=arguments))
            clock = time.perf_counter()
            try:
                result = self.tools[tool](self.ctx, arguments)
            except (ToolError, ValidationError) as exc:
                log.info("tool %s failed (attempt %d): %s", tool, attempt + 1, exc)
                on_step(Step(kind="failed", text=f"{tool} failed: {exc}", tool=tool, arguments=arguments))
                seconds = round(time.perf_counter() - clock, 3)
                answer.tool_calls.append(
                    ToolCall(tool=tool, arguments=arguments, error=str(exc), seconds=seconds)
                )
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

    def _grounded_text(self, question: str, result: ToolResult, answer: Answer) -> tuple[str, list[str]]:
        """The model's sentences about the result, rewritten once if they use numbers the result
        lacks, replaced by code's if they still do; and the numbers still unsupported."""
        facts = [*result.rows, (len(result.rows),)]  # "across 9 categories" states the row count
        text, prompt = self._explain(question, result, answer)
        flagged = ungrounded_numbers(text, facts, question)
        if flagged:
            retry = (
                f"{prompt}\nYour answer used numbers that are not in the result ({', '.join(flagged)}). "
                "Rewrite it with numbers from the result only."
            )
            text, _ = self._explain(question, result, answer, prompt=retry)
            flagged = ungrounded_numbers(text, facts, question)
        if flagged:
            answer.notes.append(
                f"the model's sentence used numbers not in the result ({', '.join(flagged)}); replaced"
            )
            text = summarize(result)
            flagged = ungrounded_numbers(text, facts, question)
        return text, flagged

    def _user_message(
        self, question: str, examples: list[Example], metrics: list[Any], conversation: Conversation | None
    ) -> str:
        parts = ["Relevant metrics: " + "; ".join(f"{m.name} = {m.description}" for m in metrics)]
        # Most similar last: a small model follows the example nearest the question.
        parts.append(
            "Examples:\n"
            + "\n".join(f"Q: {e.question}\nA: {json.dumps(e.call())}" for e in reversed(examples))
        )
        if conversation and conversation.turns:
            last = conversation.turns[-1]
            parts.append(
                f"Previous question: {last.question}\nPrevious call: {json.dumps(last.call)}\n"
                "If the next question follows up on it, reply with the previous call, changed as asked."
            )
        # A small model weighs a long tool list poorly; the closest solved example is a strong
        # hint (its tool was right for every insight question we tried), so name it.
        # (Not for a follow-up: there the previous call is the guide.)
        follow_up = bool(conversation and conversation.turns)
        hint = f"The most similar example used {examples[0].tool}. " if examples and not follow_up else ""
        parts.append(
            f"Question: {question}\n{hint}"
            "Reply with one call: clarify if the question names no figure (how are we doing, the numbers, an update); "
            "cannot_answer if the data does not hold what it asks (costs, profit, ad spend, stock, the future); else a tool."
        )
        return "\n\n".join(parts)

    def _decide(self, messages: list[BaseMessage], answer: Answer) -> Any:
        clock = time.perf_counter()
        try:
            reply = self.llm.bind(response_format=self.decision_format).invoke(messages)
        except Exception as exc:  # connection refused, timeout, server error
            raise ModelUnavailable(
                f"The model server is not answering ({type(exc).__name__}): {exc}"
            ) from exc
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
            prompt = (
                f"Question: {question}\nResult of {result.tool} ({notes}), data only:\n"
                f"<data>\n{result.preview()}{first}\n</data>\n"
                "Answer the question in one or two plain sentences."
            )
        try:
            # The same system prompt as the tool call: the engine reuses its cached prefix.
            reply = self.explainer.invoke([SystemMessage(self.system_prompt), HumanMessage(prompt)])
        except Exception as exc:
            raise ModelUnavailable(
                f"The model server is not answering ({type(exc).__name__}): {exc}"
            ) from exc
        _count(answer, reply)
        answer.timings["explain"] = round(answer.timings.get("explain", 0) + time.perf_counter() - clock, 3)
        return _text(reply).strip() or summarize(result), prompt


def audit_log(settings: Settings) -> AuditLog | None:
    """The audit log the settings ask for (on by default, in the data dir)."""
    return AuditLog(settings.data_dir / "audit.jsonl") if settings.audit_log else None


def summarize(result: ToolResult) -> str:
    """A plain sentence about a result, written by code: what the user sees when the model's
    sentence cannot be trusted."""
    if result.text is not None:
        return result.text.splitlines()[0]
    if not result.rows:
        return "The data has no rows for that question."
    first = ", ".join(f"{c} {format_value(v)}" for c, v in zip(result.columns, result.rows[0], strict=False))
    if len(result.rows) == 1:
        return f"Result: {first}."
    return f"{len(result.rows):,} rows{' (more not shown)' if result.truncated else ''}; the first: {first}."


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
