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

import json
import logging
import queue
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ValidationError

from assistant.answer import Answer, Conversation, Step, StepFn, Table, ToolCall, Turn
from assistant.audit import AuditEvent, AuditLog, tool_calls
from assistant.decision import compact, decision_model, system_prompt, user_message
from assistant.embeddings import Encoder
from assistant.explain import (
    TRANSLATED_NOTE,
    ModelUnavailable,
    count_usage,
    grounded_text,
    in_chinese,
    in_english,
    reply_text,
    result_facts,
    unavailable,
)
from assistant.grounding import ungrounded_numbers
from assistant.llm.client import ModelAnswerError, Writer, response_format
from assistant.llm.engines import Endpoint
from assistant.retrieval import Example, Retriever, load_examples
from assistant.screen import BEYOND_NOTE, COPY_READ_NOTE, USER_LEFT_OUT_NOTE, Screen
from assistant.settings import Settings
from assistant.warehouse.db import Warehouse, refresh_views
from assistant.warehouse.live import live_generation
from tools import ToolContext, ToolError, ToolResult, build_tools, chinese
from tools.base import UnknownEntity, UnknownValue, argument_problems, read_facts
from tools.coverage import left_out
from tools.evidence import (
    corrected,
    lack_asked,
    vague,
)
from tools.language import english_reading, is_chinese, written_in_chinese
from tools.metrics import DataLacks, SemanticModel
from tools.narrate import table_sentence

if TYPE_CHECKING:  # the client is made by the caller; importing it here costs a second
    from langchain_openai import ChatOpenAI

log = logging.getLogger(__name__)

MAX_RETRIES = 2
WARM_UP_TIMEOUT = 1800.0  # seconds for the engine to read the system prompt once, however slow the CPU
FIGURE_TOOLS = ("query_metric", "compare_periods", "funnel", "run_sql")
VAGUE_REPLY = (
    "Which figures would you like: for example revenue, orders, conversion or the top products,"
    " and over which period?"
)
COULD_NOT = "I could not answer that: "  # an error's start; tools/chinese.py has it in Chinese
LACK_UNASKED = "(not asked:"  # in the error of a call that brought in what the data lacks, unasked
# The tools whose interpretation states every part of what they computed (tools/coverage.py).
COVERED_TOOLS = ("query_metric",)
LEFT_OUT_NOTE = "left out what the question asks"  # in the error of a call set aside for it


class PromptRead(BaseModel):
    """How the engine came to hold the system prompt at a warm-up."""

    seconds: float
    loaded: bool  # from the engine's saved read of it, not read again


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
        self._live_generation = live_generation(settings)  # before the facts: a later commit re-reads them
        self._follow_lock = threading.Lock()
        self.ctx = ToolContext.open(settings, warehouse)
        self._catalog_size = self._products()  # live events folded in may add products
        self.ctx.semantic = self.semantic
        self._warehouse_label: str | None = None  # for the audit log, asked of the database once
        self.ctx.encoder = encoder
        # `without_tools`: ablations (the eval harness measures the assistant without its metrics
        # layer); the tools, their examples and their lines in the system prompt all go.
        tools = build_tools(self.semantic, settings.tools)
        self.tools = {n: t for n, t in tools.items() if n not in without_tools}
        if examples is None:
            examples = [e for e in load_examples() if e.tool not in without_tools]
        self.screen = Screen(self.tools, self.ctx, self.semantic)
        self.decision = decision_model(self.tools)
        self.decision_format = response_format(endpoint, self.decision.model_json_schema(), "ToolCall")
        # Calls are shown with their fields in the schema's order: the grammar only lets the model
        # write them in that order, so an example in another order leads it astray.
        examples = [self._in_schema_order(e) for e in examples]
        self.retriever = Retriever(self.semantic, examples, encoder)
        self._examples, self._writer = examples, writer or self.explainer
        self._prompt()

    def _prompt(self) -> None:
        self.system_prompt = system_prompt(self.semantic, self._examples, self.ctx, self.tools)
        # Tools that write prose (copy, explanations, segment names) use the same system prompt:
        # the engine serves them from the cached prefix.
        self.ctx.llm = Writer(self._writer, self.endpoint, self.system_prompt)

    def follow_live_events(self) -> None:
        """A dataset the collector feeds grows while the assistant lives: once it has committed
        since, re-read the data's span (periods count back from its last day), and write the
        system prompt again when the span's days moved (once a day; the engine then reads it anew)."""
        generation = live_generation(self.settings)
        if generation == self._live_generation:
            return
        with self._follow_lock:
            if generation == self._live_generation:
                return
            facts = read_facts(self.ctx.warehouse)
            moved = (facts.first_day, facts.last_day) != (self.ctx.facts.first_day, self.ctx.facts.last_day)
            self.ctx.facts = facts
            if moved:
                self._prompt()
            products = self._products()
            if products != self._catalog_size:  # products first seen live: embed them too (only them)
                self.ctx.forget("products")
                self._catalog_size = products
            self._live_generation = generation

    def _products(self) -> int:
        return int(self.ctx.warehouse.scalar("SELECT count(*) FROM products") or 0)

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
        tool_tokens = dict(getattr(self.ctx.llm, "usage", {}))  # what tools had the model write before
        try:
            self.follow_live_events()
            self._ask(question, conversation, answer, on_step or (lambda step: None))
            if self._asked_in_chinese(question) and not written_in_chinese(answer.text):
                self._decline_in_chinese(answer)
        except ModelUnavailable as exc:
            answer.kind, answer.text = "error", str(exc)
        except BaseException as exc:  # told to the caller; the audit log still records the question
            answer.kind, failure = "error", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            for kind, count in getattr(self.ctx.llm, "usage", {}).items():
                answer.tokens[kind] = answer.tokens.get(kind, 0) + count - tool_tokens.get(kind, 0)
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

    def stream(
        self, question: str, conversation: Conversation | None = None, session: str = "local"
    ) -> Iterator[Step | Answer]:
        """`ask` as an iterator: each Step as it happens, then the Answer (the app's chat and the
        HTTP API's server-sent events read this). The answer is worked out on a thread of its own;
        an exception there is raised here."""
        items: queue.Queue[Step | Answer | BaseException] = queue.Queue()

        def work() -> None:
            try:
                items.put(self.ask(question, conversation, on_step=items.put, session=session))
            except BaseException as exc:  # handed to the reader, raised in its thread
                items.put(exc)

        threading.Thread(target=work, daemon=True, name="shoplens-answer").start()
        while True:
            item = items.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if isinstance(item, Answer):
                return

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
                raise ToolError(f"{name}: {argument_problems(exc)}") from None
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
            warehouse = self.ctx.warehouse
            if self._warehouse_label is None:
                self._warehouse_label = f"{warehouse.engine_label()}, {warehouse.access}"
            event = AuditEvent(
                session=session, dataset=self.settings.warehouse, warehouse=self._warehouse_label, **fields
            )
            self.audit.record(event)

    def _ask(self, question: str, conversation: Conversation | None, answer: Answer, on_step: StepFn) -> None:
        clock = time.perf_counter()
        previous = conversation.turns[-1] if conversation and conversation.turns else None
        # The model reads "purchsed" as well as code does only when it is written right.
        readable, fixes = corrected(question)
        if is_chinese(question) and self.settings.chinese_questions == "translated":
            # The examples, the metrics' names and code's rules are English: a call is chosen
            # best from the question in English (checked; else the glossary reads the Chinese).
            english = in_english(self.explainer, self.endpoint, self.system_prompt, question, answer)
            if english is not None:
                answer.read_as = english
                readable, fixes = corrected(english)
        answer.notes += fixes
        nearest: list[tuple[Example, float | None]] = []
        if self.settings.prompt_examples:
            # A follow-up ("and by country?") is about the previous question's topic: search with
            # both. The examples are in English: a Chinese question is searched with its gloss.
            search = english_reading(readable)
            nearest = self.retriever.nearest(
                f"{previous.question} {search}" if previous else search, self.settings.prompt_examples
            )
        answer.timings["retrieve"] = round(time.perf_counter() - clock - answer.timings.get("read", 0), 3)
        messages: list[BaseMessage] = [
            SystemMessage(self.system_prompt),
            HumanMessage(user_message(readable, nearest, previous, self.tools)),
        ]
        asked = answer.reading
        words = english_reading(f"{previous.question} {asked}" if previous else asked)
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
        answer.notes = [*answer.notes, *result.notes]
        # Code's own Chinese, where a template covers the call (tools/chinese.py).
        asked_in_chinese = self._asked_in_chinese(question)
        zh = result.zh if asked_in_chinese else None
        answer.interpretation = (zh and zh.interpretation) or result.interpretation
        answer.chart = result.chart
        if zh and zh.chart_title and answer.chart:
            answer.chart = answer.chart.model_copy(update={"title": zh.chart_title})
        if result.answer is not None:  # prose the tool wrote and checked against its rows
            answer.text = (zh and zh.summary) or result.answer
            return
        written = result.summary or table_sentence(result.columns, list(result.rows), result.truncated)
        if zh and zh.summary and self.settings.answer_sentences == "code":
            written = zh.summary  # nothing to translate
        if self.settings.answer_sentences == "code" or result.text is not None:
            answer.text = written
            answer.ungrounded_numbers = ungrounded_numbers(written, result_facts(result), question)
            if answer.ungrounded_numbers:  # a bug in a tool's sentence: show the flag, never hide it
                log.warning("code-written sentence not grounded: %s (%s)", written, answer.ungrounded_numbers)
        else:
            rows = len(result.rows)
            on_step(Step(kind="writing", text=f"from {rows:,} result row{'s' if rows != 1 else ''}"))
            answer.text, answer.ungrounded_numbers = grounded_text(
                self.explainer, self.system_prompt, question, result, answer, written
            )
        if asked_in_chinese and not written_in_chinese(answer.text):
            on_step(Step(kind="writing", text="in Chinese"))
            translated = in_chinese(self.explainer, self.system_prompt, question, result, answer, answer.text)
            if translated is not None:
                answer.notes.append(f"{TRANSLATED_NOTE}: {answer.text}")
                answer.text = translated

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
        failed: Exception | None = None  # the last try's error
        # A call that ran but left out what the question asks, kept while the model tries again.
        set_aside: tuple[ToolResult, ToolCall, list[str]] | None = None
        # A request for copy that names its product by id or its segment: code writes the call
        # (the model's call cost 3-7 s of a request's 20 and sometimes named its examples' ids).
        by_code = self.screen.copy_call(answer.question) if previous_call is None else None
        for attempt in range(MAX_RETRIES + 1):
            if attempt == 0 and by_code is not None:
                tool, arguments = "write_marketing_copy", dict(by_code)
                answer.notes.append(f"{COPY_READ_NOTE}: {compact(arguments)}")
            else:
                try:
                    call = self._decide(messages, answer)
                except ModelAnswerError as exc:  # e.g. cut off mid-JSON
                    failed = exc
                    answer.tool_calls.append(ToolCall(tool="(invalid reply)", arguments={}, error=str(exc)))
                    messages.append(
                        HumanMessage(
                            f"Your reply was not a valid tool call ({exc}). Reply with one JSON tool call."
                        )
                    )
                    continue
                # What the model wrote, without the defaults: the fields it chose are the ones to check.
                tool, arguments = call.tool, call.arguments.model_dump(mode="json", exclude_unset=True)
                if tool in ("clarify", "cannot_answer") and set_aside is not None:
                    return self._set_aside_used(set_aside, answer)  # a figure shown with what it lacks
                if tool in ("clarify", "cannot_answer"):
                    answer.kind = "clarification" if tool == "clarify" else "refusal"
                    answer.text = (
                        call.arguments.question if tool == "clarify" else self._cannot(call.arguments.reason)
                    )
                    answer.tool_calls.append(ToolCall(tool=tool, arguments=arguments))
                    return None
                if tool in FIGURE_TOOLS and previous_call is None and vague(answer.reading):
                    # "Give me the numbers" answered with whatever metric the model guessed: ask instead.
                    answer.kind, answer.text = "clarification", VAGUE_REPLY
                    answer.notes.append(f"the question names no figure; the model's {tool} call was not run")
                    return None
            written = json.dumps({"tool": tool, "arguments": arguments}, sort_keys=True)
            if written in tried:
                break  # the same failed call again: another try would fail the same way
            clock = time.perf_counter()
            try:
                tool, arguments = self.screen.check(tool, arguments, answer, words, previous_call, said)
                if tool == "write_marketing_copy" and self._asked_in_chinese(answer.question):
                    arguments.setdefault("language", "zh")  # copy asked for in Chinese is written in it
                on_step(Step(kind="call", text=f"calling {tool}", tool=tool, arguments=arguments))
                result = self.tools[tool](self.ctx, arguments)
            except DataLacks as exc:  # no retry can find what the data does not have
                answer.tool_calls.append(
                    ToolCall(
                        tool=tool, arguments=arguments, error=str(exc), seconds=time.perf_counter() - clock
                    )
                )
                # The last try's lack stands: the user reads why, not the marker of a retry.
                if attempt < MAX_RETRIES and self._without_unasked(exc, tool, arguments, answer, messages):
                    continue
                if set_aside is not None:
                    return self._set_aside_used(set_aside, answer)
                answer.kind, answer.text = "refusal", str(exc)
                return None
            except (ToolError, ValidationError) as exc:
                failed = exc
                if BEYOND_NOTE not in str(exc) and USER_LEFT_OUT_NOTE not in str(exc):
                    # those two may be insisted on, and then run
                    tried.add(written)
                log.info("tool %s failed (attempt %d): %s", tool, attempt + 1, exc)
                on_step(Step(kind="failed", text=f"{tool} failed: {exc}", tool=tool, arguments=arguments))
                seconds = round(time.perf_counter() - clock, 3)
                answer.tool_calls.append(
                    ToolCall(tool=tool, arguments=arguments, error=str(exc), seconds=seconds)
                )
                if isinstance(exc, UnknownEntity) and exc.value.lower() in answer.reading.lower():
                    # The user named an id the data does not have: no retry can find it.
                    if self._lacks_named(exc, answer):
                        return None
                    answer.kind, answer.text = "error", f"{COULD_NOT}{exc}"
                    return None
                messages += [
                    AIMessage(json.dumps({"tool": tool, "arguments": arguments})),
                    HumanMessage(f"That call failed: {exc}\nReply with a corrected call."),
                ]
                continue
            seconds = round(time.perf_counter() - clock, 3)
            ran = ToolCall(tool=tool, arguments=arguments, seconds=seconds)
            answer.tool_calls.append(ran)
            # This question's words alone: a follow-up's call carries the previous one's reading.
            covered = tool in COVERED_TOOLS and result.interpretation
            missing = left_out(english_reading(answer.reading), result.interpretation) if covered else []
            # Once, for a first call: after a failed one the model has been retried already.
            first = len(answer.tool_calls) == 1
            if missing and first and attempt < MAX_RETRIES and self.settings.coverage_retry:
                set_aside = (result, ran, missing)
                ran.error = f"{LEFT_OUT_NOTE}: {', '.join(missing)}"
                on_step(Step(kind="failed", text=f"{tool} left out {', '.join(missing)}", tool=tool))
                messages += [
                    AIMessage(json.dumps({"tool": tool, "arguments": arguments})),
                    HumanMessage(
                        f"That call computes: {result.interpretation}\nIt leaves out what the question asks:"
                        f" {', '.join(missing)}. Reply with a call that computes what the question asks"
                        " (run_sql when the typed fields cannot say it)."
                    ),
                ]
                continue
            if set_aside is not None and len(set_aside[2]) <= len(missing):
                ran.error = f"{LEFT_OUT_NOTE}: {', '.join(missing) or 'nothing'}, no less than the first call"
                return self._set_aside_used(set_aside, answer)
            answer.left_out = missing
            return result
        if set_aside is not None:
            return self._set_aside_used(set_aside, answer)
        if isinstance(failed, UnknownValue) and self._lacks_named(failed, answer):
            return None
        answer.kind = "error"
        answer.text = f"{COULD_NOT}{answer.tool_calls[-1].error}"
        return None

    def _lacks_named(self, exc: UnknownValue, answer: Answer) -> bool:
        """A value the question names in words ("88VIP members", "business (B2B)" accounts,
        "cheque" payments) that no try found in the data is what the data lacks: declined, with
        what the data has (True). An id ('999', '84029E') stays an error the user reads."""
        if not exc.lack or not re.search(r"[^\W\d_]{2,}", exc.value):
            return False
        if exc.value.lower() not in answer.reading.lower():
            return False
        answer.kind, answer.text = "refusal", self._cannot(exc.lack)
        return True

    @staticmethod
    def _set_aside_used(set_aside: tuple[ToolResult, ToolCall, list[str]], answer: Answer) -> ToolResult:
        """The call set aside for leaving out part of the question is the answer after all (the
        model's next try did no better): its figure, with what it leaves out shown."""
        result, ran, missing = set_aside
        ran.error = None
        answer.left_out = missing
        return result

    def _without_unasked(
        self,
        exc: DataLacks,
        tool: str,
        arguments: dict[str, Any],
        answer: Answer,
        messages: list[BaseMessage],
    ) -> bool:
        """When the call brought in what the question never asked for ('revenue' for a reorder
        rate, a product filter for 'CDs') and the data lacks it: once for each such thing, the
        model is asked to answer without it (True), told of the others the data lacks alike.
        Otherwise (False) the question itself needs what the data lacks."""
        if not exc.subject or lack_asked(
            exc.subject, english_reading(answer.reading), self.semantic, arguments
        ):
            return False
        subject = exc.subject[1].replace("_", " ")
        marked = f"{LACK_UNASKED} {subject})"
        if any(marked in (call.error or "") for call in answer.tool_calls):
            return False  # told once and brought in again
        answer.tool_calls[-1].error = f"{exc} {marked}"
        alike = [name.replace("_", " ") for name in exc.alike]
        messages += [
            AIMessage(json.dumps({"tool": tool, "arguments": arguments})),
            HumanMessage(
                f"That call failed: {exc}\nThe question does not ask about {subject}: reply with a"
                f" call that answers it without {subject}"
                + (f" (nor {', '.join(alike)}, which the data cannot give either)." if alike else ".")
            ),
        ]
        return True

    def warm_up(self) -> PromptRead | None:
        """Have the engine read the system prompt now (a one-token reply), so that the first
        question reads only its own words: about 50 s on 2 AVX-512 cores, 4 minutes on 2 AVX2
        ones, paid before anyone waits. Not bound by the answer timeout, which a cold read of
        the whole prompt can pass on a slow CPU. An engine that keeps reads (ShopLens's llama.cpp
        server) loads this prompt's saved read if it has one, and saves a fresh read for the next
        start. Returns how it went; None if it failed."""
        from assistant.llm.client import chat_model
        from assistant.llm.llama_server import load_read, read_key, save_read

        clock = time.perf_counter()
        patient = self.settings.model_copy(
            update={"llm_timeout": max(self.settings.llm_timeout, WARM_UP_TIMEOUT)}
        )
        store = self.endpoint.capabilities.saved_reads
        key = read_key(self.endpoint.model, self.system_prompt)
        headers = {"Authorization": f"Bearer {self.endpoint.client_key()}"}
        loaded = store and load_read(self.endpoint.base_url, key, headers) is not None
        try:
            chat_model(self.endpoint, patient, max_tokens=1).invoke(
                [SystemMessage(self.system_prompt), HumanMessage("Question: ")]
            )
        except Exception as exc:  # the first question will read it instead
            log.warning("warm-up failed: %s", exc)
            return None
        if store and not loaded:
            save_read(self.endpoint.base_url, key, headers)
        seconds = time.perf_counter() - clock
        log.info("system prompt %s in %.1fs", "loaded" if loaded else "read", seconds)
        return PromptRead(seconds=seconds, loaded=loaded)

    def _in_schema_order(self, example: Example) -> Example:
        if example.tool not in self.tools:
            return example
        arguments = self.tools[example.tool].args_model.model_validate(example.arguments)
        return example.model_copy(update={"arguments": arguments.model_dump(mode="json", exclude_unset=True)})

    def _asked_in_chinese(self, question: str) -> bool:
        return self.settings.answer_language == "question" and is_chinese(question)

    def _decline_in_chinese(self, answer: Answer) -> None:
        """Code's declines, its clarifying question and its errors in Chinese (tools/chinese.py);
        an error's detail (a database's message, an id) stays as the tool gave it."""
        if answer.kind == "clarification" and answer.text == VAGUE_REPLY:
            answer.text = chinese.VAGUE
        elif answer.kind == "error" and answer.text.startswith(COULD_NOT):
            answer.text = chinese.COULD_NOT + answer.text.removeprefix(COULD_NOT)
        elif answer.kind == "refusal":
            answer.text = chinese.declined(
                answer.text, self.screen.data_has(), self.screen.data_has(chinese=True), self.semantic
            )

    def _cannot(self, reason: str) -> str:
        """The model's reason for declining, and what the data does have, written by code."""
        return f"{reason.rstrip('.')}. {self.screen.data_has()}"

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
            raise ModelUnavailable(unavailable(exc)) from exc
        count_usage(answer, reply)
        answer.timings["decide"] = round(answer.timings.get("decide", 0) + time.perf_counter() - clock, 3)
        try:
            return self.decision.model_validate_json(reply_text(reply)).root
        except ValidationError as exc:
            raise ModelAnswerError(f"the model's call is not valid: {exc}") from exc


def audit_log(settings: Settings) -> AuditLog | None:
    """The audit log the settings ask for (on by default, in the data dir)."""
    return (
        AuditLog(settings.data_dir / "audit.jsonl", mask=settings.pii_masking) if settings.audit_log else None
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
