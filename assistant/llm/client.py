"""The chat client: LangChain `ChatOpenAI` on an engine's endpoint, with each engine's quirks handled.

Callers get three things that work the same on llama.cpp, vLLM and external servers:
- `chat_model(endpoint, settings)`: the LangChain chat model (plain chat, streaming, tools);
- `structured(llm, endpoint, Model, messages)`: an answer constrained to a pydantic model's JSON
  schema (a grammar on the server, so even a small model emits valid JSON), parsed and validated;
- `Writer`: what tools that write prose (segment names, explanations, copy) are handed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from assistant.llm.engines import Endpoint
from assistant.settings import Settings

if TYPE_CHECKING:  # langchain_openai (and openai under it) take a second or two to import
    from langchain_core.language_models import LanguageModelInput
    from langchain_openai import ChatOpenAI

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
    from langchain_openai import ChatOpenAI

    options = token_limit(endpoint, max_tokens)
    return ChatOpenAI(
        base_url=endpoint.base_url,
        model=endpoint.model,
        api_key=endpoint.client_key(),
        temperature=temperature,
        timeout=settings.llm_timeout,
        max_retries=1,
        stream_usage=True,
        **options,
    )


def response_format(endpoint: Endpoint, schema: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The `response_format` that makes this engine constrain its output to `schema` (None for a
    server that constrains nothing: the reply is validated in code)."""
    if endpoint.capabilities.schema_format == "none":
        return None
    if endpoint.capabilities.schema_format == "json_object":
        return {"type": "json_object", "schema": schema}
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def structured(llm: ChatOpenAI, endpoint: Endpoint, model: type[M], messages: LanguageModelInput) -> M:
    """Ask for an answer shaped like `model`; return it validated."""
    fmt = response_format(endpoint, model.model_json_schema(), model.__name__)
    message = (llm.bind(response_format=fmt) if fmt else llm).invoke(messages)
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
    # Tokens of the plain answers written so far on each thread (copy drafts): an answer's counts
    # include them. The app answers each question on a thread of its own and shares one Writer, so
    # two questions answered at once would otherwise count each other's drafts.
    _counts: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def usage(self) -> dict[str, int]:
        """The tokens this thread has had written so far: {"prompt": n, "completion": n}."""
        if not hasattr(self._counts, "usage"):
            self._counts.usage = {"prompt": 0, "completion": 0}
        return self._counts.usage

    def _messages(self, prompt: str) -> list[tuple[str, str]]:
        return [("system", self.system), ("human", prompt)] if self.system else [("human", prompt)]

    def text(self, prompt: str, max_tokens: int | None = None, **sampling: Any) -> str:
        """A plain answer; `max_tokens` caps it below the model's own limit (copy of N words);
        `sampling`: temperature and seed for one of several versions (greedy otherwise)."""
        options = {**(token_limit(self.endpoint, max_tokens) if max_tokens else {}), **sampling}
        llm = self.llm.bind(**options) if options else self.llm
        reply = llm.invoke(self._messages(prompt))
        used = getattr(reply, "usage_metadata", None) or {}
        self.usage["prompt"] += used.get("input_tokens", 0)
        self.usage["completion"] += used.get("output_tokens", 0)
        return _text(reply.content).strip()

    def structured(self, model: type[M], prompt: str) -> M:
        return structured(self.llm, self.endpoint, model, self._messages(prompt))


def _text(content: str | list[Any]) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
