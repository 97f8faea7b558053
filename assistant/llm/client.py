"""The chat client: LangChain `ChatOpenAI` on an engine's endpoint, with each engine's quirks handled.

Callers get three things that work the same on llama.cpp, vLLM and external servers:
- `chat_model(endpoint, settings)`: the LangChain chat model (plain chat, streaming, tools);
- `structured(llm, endpoint, Model, messages)`: an answer constrained to a pydantic model's JSON
  schema (a grammar on the server, so even a small model emits valid JSON), parsed and validated;
- `call_tool(llm, tool, messages)`: a forced call of one tool, arguments validated against it;
- `Writer`: what tools that write prose (segment names, explanations, copy) are handed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, TypeVar

from langchain_core.language_models import LanguageModelInput
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, ValidationError

from assistant.llm.engines import Endpoint
from assistant.settings import Settings

M = TypeVar("M", bound=BaseModel)


class ModelAnswerError(RuntimeError):
    """The model's answer could not be used (invalid JSON, wrong tool, schema mismatch)."""


def token_limit(endpoint: Endpoint, max_tokens: int) -> dict[str, Any]:
    """The request options that cap an answer at `max_tokens` on this engine."""
    if endpoint.capabilities.max_tokens_field == "max_tokens":
        # LangChain sends `max_completion_tokens`, which llama.cpp's server ignores.
        return {"extra_body": {"max_tokens": max_tokens}}
    return {"max_tokens": max_tokens}


def chat_model(
    endpoint: Endpoint, settings: Settings, *, max_tokens: int = 512, temperature: float = 0.0
) -> ChatOpenAI:
    options = token_limit(endpoint, max_tokens)
    return ChatOpenAI(
        base_url=endpoint.base_url,
        model=endpoint.model,
        api_key="not-needed",  # local servers take any key # noqa: S106
        temperature=temperature,
        timeout=settings.llm_timeout,
        max_retries=1,
        stream_usage=True,
        **options,
    )


def response_format(endpoint: Endpoint, schema: dict[str, Any], name: str) -> dict[str, Any]:
    """The `response_format` that makes this engine constrain its output to `schema`."""
    if endpoint.capabilities.schema_format == "json_object":
        return {"type": "json_object", "schema": schema}
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def structured(llm: ChatOpenAI, endpoint: Endpoint, model: type[M], messages: LanguageModelInput) -> M:
    """Ask for an answer shaped like `model`; return it validated."""
    fmt = response_format(endpoint, model.model_json_schema(), model.__name__)
    message = llm.bind(response_format=fmt).invoke(messages)
    try:
        return model.model_validate_json(_text(message.content))
    except ValidationError as exc:
        raise ModelAnswerError(f"the model's answer does not fit {model.__name__}: {exc}") from exc


@dataclass
class Writer:
    """A chat model on an endpoint, for tools that write a few sentences: plain or structured.

    `system` is the assistant's system prompt: sending the same one as the agent's own calls
    lets the engine reuse its cached prefix."""

    llm: ChatOpenAI
    endpoint: Endpoint
    system: str | None = None

    def _messages(self, prompt: str) -> list[tuple[str, str]]:
        return [("system", self.system), ("human", prompt)] if self.system else [("human", prompt)]

    def text(self, prompt: str, max_tokens: int | None = None) -> str:
        """A plain answer; `max_tokens` caps it below the model's own limit (copy of N words)."""
        llm = self.llm.bind(**token_limit(self.endpoint, max_tokens)) if max_tokens else self.llm
        return _text(llm.invoke(self._messages(prompt)).content).strip()

    def structured(self, model: type[M], prompt: str) -> M:
        return structured(self.llm, self.endpoint, model, self._messages(prompt))


def call_tool(llm: ChatOpenAI, tool: dict[str, Any], messages: LanguageModelInput) -> dict[str, Any]:
    """Force a call of `tool` (an OpenAI function spec); return its arguments, checked against it."""
    name = tool["function"]["name"]
    # strict: vLLM then constrains the arguments to the schema (a small model otherwise loops).
    message = llm.bind_tools([tool], tool_choice=name, strict=True).invoke(messages)
    calls = message.tool_calls or text_tool_calls(_text(message.content))
    if not calls or calls[0]["name"] != name:
        raise ModelAnswerError(f"the model did not call {name}: {_text(message.content)[:200]!r}")
    arguments = calls[0]["args"]
    _check_arguments(tool, arguments)
    return arguments


_FENCED = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)
_TAGGED = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.DOTALL)


def text_tool_calls(text: str) -> list[dict[str, Any]]:
    """Tool calls a model wrote as text: <tool_call> tags, ```json fences or bare JSON.

    Small models do this when the server does not constrain them (e.g. `tool_choice="auto"` on
    llama.cpp's default template)."""
    candidates = _TAGGED.findall(text) or _FENCED.findall(text) or [text.strip()]
    calls = []
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            arguments = value.get("arguments", value.get("parameters", {}))
            if isinstance(arguments, str):
                try:
                    arguments = json.loads(arguments)
                except ValueError:
                    continue
            if isinstance(arguments, dict):
                calls.append({"name": value["name"], "args": arguments})
    return calls


def _check_arguments(tool: dict[str, Any], arguments: dict[str, Any]) -> None:
    import jsonschema

    try:
        jsonschema.validate(arguments, tool["function"].get("parameters", {}))
    except jsonschema.ValidationError as exc:
        raise ModelAnswerError(
            f"arguments for {tool['function']['name']} do not fit its schema: {exc.message}"
        ) from exc


def _text(content: str | list[Any]) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
