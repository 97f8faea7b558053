"""The model's own sentences about a result (`answer_sentences = "model"`), checked: numbers
against the rows, directions against the signs of changes, row labels against their figures; and
what every model call shares (its reply's text and token counts, a server that fails)."""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field, ValidationError

from assistant.answer import Answer
from assistant.grounding import misstatements, numbers_in, ungrounded_numbers
from assistant.llm.client import response_format
from tools import ToolResult
from tools.base import cell_text
from tools.language import MONTH_NAMES, is_chinese
from tools.narrate import is_tool_call, table_sentence

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI

    from assistant.llm.engines import Endpoint


# The note on an answer whose Chinese the model translated from code's English sentence.
TRANSLATED_NOTE = "in English, as code wrote it"


def grounded_text(
    explainer: ChatOpenAI, system_prompt: str, question: str, result: ToolResult, answer: Answer, written: str
) -> tuple[str, list[str]]:
    """The model's sentences about the result, checked: numbers against the rows, directions
    against the signs of changes, row labels against their figures. Rewritten once when the
    check fails; replaced by code's sentence (`written`) when it fails again."""
    text, prompt = explain(explainer, system_prompt, question, result, answer)
    found = sentence_problems(text, result, question)
    if found:
        retry = f"{prompt}\nYour answer was wrong: {'; '.join(found)}. Rewrite it from the result only."
        text, _ = explain(explainer, system_prompt, question, result, answer, prompt=retry)
        found = sentence_problems(text, result, question)
    if found:
        answer.notes.append(f"the model's sentence was replaced by code's: {'; '.join(found)}")
        text = written
    return text, ungrounded_numbers(text, result_facts(result), question)


def sentence_problems(text: str, result: ToolResult, question: str) -> list[str]:
    """What a model-written sentence about `result` gets wrong: a tool call instead of text,
    numbers the result does not hold, a direction or a row's figure misstated."""
    if is_tool_call(text):
        return ["it is a tool call, not a sentence"]
    flagged = ungrounded_numbers(text, result_facts(result), question)
    wrong = misstatements(text, result.columns, list(result.rows))
    return [f"numbers not in the result: {', '.join(flagged)}"] * bool(flagged) + wrong


def explain(
    explainer: ChatOpenAI,
    system_prompt: str,
    question: str,
    result: ToolResult,
    answer: Answer,
    prompt: str | None = None,
) -> tuple[str, str]:
    """One sentence or two from the model about `result`, and the prompt that asked for it."""
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
        reply = explainer.invoke([SystemMessage(system_prompt), HumanMessage(prompt)])
    except Exception as exc:
        raise ModelUnavailable(unavailable(exc)) from exc
    count_usage(answer, reply)
    answer.timings["explain"] = round(answer.timings.get("explain", 0) + time.perf_counter() - clock, 3)
    return reply_text(reply).strip() or table_sentence(result.columns, list(result.rows)), prompt


def in_chinese(
    explainer: ChatOpenAI, system_prompt: str, question: str, result: ToolResult, answer: Answer, text: str
) -> str | None:
    """`text` (an answer's sentence, in English) put into Chinese by the model, for a question
    asked in Chinese; checked by code: every number of the English kept as written, none added
    that the result lacks, no direction reversed, no row's figure moved to another. None (the
    English stands, with a note) when the check fails."""
    clock = time.perf_counter()
    prompt = (
        "Write text, not a tool call. Translate the answer below into Simplified Chinese for the person"
        " who asked the question. Keep every number, date, id and name exactly as written; add nothing.\n"
        f"Question: {question}\nAnswer: {text}\nChinese:"
    )
    try:
        reply = explainer.invoke([SystemMessage(system_prompt), HumanMessage(prompt)])
    except Exception as exc:  # the answer is there, in English: a failed translation loses nothing
        answer.notes.append(f"the answer is in English: {unavailable(exc)}")
        return None
    count_usage(answer, reply)
    answer.timings["translate"] = round(time.perf_counter() - clock, 3)
    said = reply_text(reply).strip()
    kept = {raw for raw, *_ in numbers_in(said)}
    problems = [f"{raw} left out or changed" for raw, *_ in numbers_in(text) if raw not in kept]
    problems += sentence_problems(said, result, question)
    if not is_chinese(said):
        problems.append("not a Chinese sentence")
    if problems:
        answer.notes.append(
            f"the answer is in English: its Chinese version failed the check ({'; '.join(problems)})"
        )
        return None
    return said


class EnglishQuestion(BaseModel):
    """The model's English for a question asked in Chinese (a JSON object: the system prompt
    trains the model to reply with JSON, so the reply is constrained to this one)."""

    english: str = Field(max_length=400)


def in_english(
    explainer: ChatOpenAI, endpoint: Endpoint, system_prompt: str, question: str, answer: Answer
) -> str | None:
    """A question asked in Chinese, put into English by the model, so that the call is chosen
    from the English the examples, metric names and code's rules are written in. Checked by
    code: every number and id of the question kept, no Chinese left. None (the question is read
    with code's glossary instead) when the check fails or the model is not there."""
    clock = time.perf_counter()
    # Not given the glossary's English for the terms: tried (2026-12-07), it passed fewer tuning
    # cases and the model still dropped words ("一共有多少次购买" became "how many times did
    # customers place an order", answered per customer).
    prompt = (
        "Do not call a tool and do not answer the question: put it into English, as an analyst would"
        " ask it. Keep every number, date, id and name exactly as written; add nothing.\n"
        f"Question: {question}\n"
        'Reply with {"english": "<the question in English>"}.'
    )
    fmt = response_format(endpoint, EnglishQuestion.model_json_schema(), "EnglishQuestion")
    try:
        # The same system prompt as the tool call: the engine reuses its cached prefix.
        reply = (explainer.bind(response_format=fmt) if fmt else explainer).invoke(
            [SystemMessage(system_prompt), HumanMessage(prompt)]
        )
    except Exception as exc:  # the glossary still reads the question
        answer.notes.append(f"the question was read with the glossary: {unavailable(exc)}")
        return None
    count_usage(answer, reply)
    answer.timings["read"] = round(time.perf_counter() - clock, 3)
    text = reply_text(reply).strip()
    try:
        text = EnglishQuestion.model_validate_json(text).english
    except ValidationError:
        pass  # an engine that constrains nothing may reply with the sentence itself
    said = " ".join(text.strip().strip('"').split())
    problems = translation_problems(question, said)
    if problems:
        answer.notes.append(
            f"the question was read with the glossary: its English failed the check ({problems})"
        )
        return None
    return said


def translation_problems(question: str, english: str) -> str:
    """What an English reading of a Chinese question lost: a number or id not kept (a month
    written 12月 may be "December"), Chinese left in it, or nothing that reads as a question."""
    if not english or len(english) > 4 * len(question) + 80:
        return "empty or far longer than the question"
    quoted = " ".join(re.findall(r"[“「『\"'‘](.+?)[”」』\"'’]", question))
    if any(run not in quoted for run in re.findall(r"[\u3400-\u9fff]+", english)):
        return "Chinese left in it"  # a name quoted as the data spells it may stay as asked
    if is_tool_call(english):
        return "a tool call, not a question"
    kept = re.findall(r"\d+(?:\.\d+)?", english.replace(",", ""))
    lowered = english.lower()
    for match in re.finditer(r"(\d+(?:\.\d+)?)(\s*月)?", question.replace(",", "").replace("，", " ")):
        number, month = match.group(1), match.group(2)
        if number in kept or number.lstrip("0") in kept:
            continue
        if (
            month
            and number.isdigit()
            and 1 <= int(number) <= 12
            and MONTH_NAMES[int(number) - 1].lower() in lowered
        ):
            continue
        return f"{number} left out or changed"
    return ""


def result_facts(result: ToolResult) -> list[tuple]:
    """What a sentence about `result` may state: its rows, their count ("across 9 categories"),
    the figures in its notes (a segment's size when only its first members are listed) and the
    call's own parameters ("users with at least 3 orders", when the question said "more than 2")."""
    return [
        *result.rows,
        (len(result.rows),),
        tuple(result.notes),
        (json.dumps(result.arguments, default=str),),
    ]


def unavailable(exc: Exception) -> str:
    """What the user hears when a model call fails: a server that answered with an HTTP error
    refused the request (and says why); otherwise it is not answering."""
    status = getattr(exc, "status_code", None)
    if status is not None:
        detail = " ".join(str(getattr(exc, "message", exc)).split())[:300]
        return f"The model server refused the request (HTTP {status}): {detail}"
    return f"The model server is not answering ({type(exc).__name__}): {exc}"


class ModelUnavailable(RuntimeError):
    """The model server could not be reached; the answer says so and the session goes on."""


def count_usage(answer: Answer, reply: AIMessage) -> None:
    usage = reply.usage_metadata or {}
    answer.tokens["prompt"] += usage.get("input_tokens", 0)
    answer.tokens["completion"] += usage.get("output_tokens", 0)


def reply_text(reply: AIMessage) -> str:
    content = reply.content
    return (
        content
        if isinstance(content, str)
        else "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    )
