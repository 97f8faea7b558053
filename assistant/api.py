"""The HTTP API: ShopLens for other programs. `shoplens api` serves it; OpenAPI docs at /docs.

    POST /v1/ask            {"question": …, "conversation_id"?: …, "dataset"?: …} -> the Answer
    POST /v1/ask/stream     the same, as server-sent events: `step` … then `answer` (or `error`)
    GET  /v1/conversations/{id}, DELETE /v1/conversations/{id}
    GET  /v1/datasets, GET /v1/health (the only route open without the key)

With an API key set (SHOPLENS_API_KEY), every other route needs it, as `Authorization: Bearer KEY`
or `X-API-Key: KEY`. A conversation lives in memory (the latest MAX_CONVERSATIONS) and stays on the
dataset it started on; its answers are the same `Answer` the CLI, the app and notebooks get.
"""

from __future__ import annotations

import logging
import secrets
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, Field

from assistant.answer import Answer, Conversation
from assistant.workspace import Workspace

log = logging.getLogger(__name__)

MAX_CONVERSATIONS = 1000
# The two ways a caller may present the key; module-level, as FastAPI resolves annotations here.
BEARER = HTTPBearer(auto_error=False)
KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False)


class AskRequest(BaseModel):
    question: str = Field(
        min_length=1, max_length=2000, examples=["What was revenue by category last month?"]
    )
    conversation_id: str | None = Field(
        default=None, description="Continue this conversation (a follow-up); none starts a new one."
    )
    dataset: str | None = Field(default=None, description="Dataset to ask; default: the configured one.")


class AskResponse(BaseModel):
    conversation_id: str
    dataset: str
    answer: Answer


class TurnOut(BaseModel):
    question: str
    answer: str
    call: dict[str, Any] | None


class ConversationOut(BaseModel):
    conversation_id: str
    dataset: str
    turns: list[TurnOut]


class Health(BaseModel):
    status: str
    model: str
    engine: str
    datasets: list[str]


class Conversations:
    """The conversations the API keeps, newest last; the oldest is forgotten past `limit`."""

    def __init__(self, limit: int = MAX_CONVERSATIONS) -> None:
        self.limit = limit
        self._items: OrderedDict[str, tuple[str, Conversation]] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, dataset: str) -> tuple[str, Conversation]:
        with self._lock:
            key = uuid.uuid4().hex
            self._items[key] = (dataset, Conversation())
            while len(self._items) > self.limit:
                self._items.popitem(last=False)
            return key, self._items[key][1]

    def get(self, key: str) -> tuple[str, Conversation]:
        with self._lock:
            if key not in self._items:
                raise HTTPException(404, f"no conversation {key!r} (unknown, deleted or forgotten)")
            self._items.move_to_end(key)
            return self._items[key]

    def delete(self, key: str) -> None:
        with self._lock:
            if self._items.pop(key, None) is None:
                raise HTTPException(404, f"no conversation {key!r}")


@dataclass
class Service:
    """What the routes share: the workspace, the kept conversations, the key (None: none asked)."""

    workspace: Workspace
    api_key: str | None
    conversations: Conversations = field(default_factory=Conversations)

    def conversation_for(self, request: AskRequest) -> tuple[str, str, Conversation]:
        """The request's conversation (a new one without an id) and its dataset, which must open."""
        if request.conversation_id is None:
            dataset = request.dataset or self.workspace.default_dataset
            try:
                self.workspace.assistant(dataset)
            except LookupError as exc:
                raise HTTPException(404, str(exc)) from None
            key, conversation = self.conversations.start(dataset)
            return key, dataset, conversation
        dataset, conversation = self.conversations.get(request.conversation_id)
        if request.dataset not in (None, dataset):
            raise HTTPException(
                409,
                f"conversation {request.conversation_id!r} is on dataset {dataset!r}, not {request.dataset!r}",
            )
        return request.conversation_id, dataset, conversation


def service(request: Request) -> Service:
    return request.app.state.service


def authorized(
    used: Annotated[Service, Depends(service)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
    key: Annotated[str | None, Security(KEY_HEADER)],
) -> None:
    if used.api_key is None:
        return
    given = key or (credentials.credentials if credentials else None)
    if given is None or not secrets.compare_digest(given.encode(), used.api_key.encode()):
        raise HTTPException(401, "a valid API key is needed", headers={"WWW-Authenticate": "Bearer"})


Used = Annotated[Service, Depends(service)]
routes = APIRouter(prefix="/v1")
guarded = APIRouter(prefix="/v1", dependencies=[Depends(authorized)])


@routes.get("/health")
def health(used: Used) -> Health:
    """Whether the API answers, and with which model (no key needed)."""
    endpoint = used.workspace.endpoint
    return Health(
        status="ok", model=endpoint.model, engine=endpoint.engine, datasets=used.workspace.datasets()
    )


@guarded.get("/datasets")
def datasets(used: Used) -> list[str]:
    """The datasets that can be asked, the default first."""
    return used.workspace.datasets()


@guarded.post("/ask")
def ask(request: AskRequest, used: Used) -> AskResponse:
    """Answer one question; with `conversation_id`, as a follow-up in that conversation."""
    key, dataset, conversation = used.conversation_for(request)
    answer = used.workspace.assistant(dataset).ask(request.question, conversation, session=f"api:{key}")
    return AskResponse(conversation_id=key, dataset=dataset, answer=answer)


@guarded.post("/ask/stream", response_class=EventSourceResponse)
def ask_stream(request: AskRequest, used: Used) -> Iterator[ServerSentEvent]:
    """The same answer as server-sent events: a `step` per tool call, failure and the writing of
    the answer as they happen, then `answer` (an AskResponse), or `error`."""
    key, dataset, conversation = used.conversation_for(request)
    try:
        for item in used.workspace.assistant(dataset).stream(request.question, conversation, f"api:{key}"):
            if isinstance(item, Answer):
                response = AskResponse(conversation_id=key, dataset=dataset, answer=item)
                yield ServerSentEvent(event="answer", data=response.model_dump(mode="json"))
            else:
                yield ServerSentEvent(event="step", data=item.model_dump(mode="json"))
    except Exception as exc:  # the stream has started: the error is an event, not a status
        log.exception("streamed question failed: %s", request.question)
        yield ServerSentEvent(event="error", data={"detail": f"{type(exc).__name__}: {exc}"})


@guarded.get("/conversations/{conversation_id}")
def conversation(conversation_id: str, used: Used) -> ConversationOut:
    """A conversation's questions, answers and the call behind each."""
    dataset, kept = used.conversations.get(conversation_id)
    turns = [TurnOut(question=t.question, answer=t.answer, call=t.call) for t in kept.turns]
    return ConversationOut(conversation_id=conversation_id, dataset=dataset, turns=turns)


@guarded.delete("/conversations/{conversation_id}", status_code=204)
def forget(conversation_id: str, used: Used) -> None:
    """Forget a conversation."""
    used.conversations.delete(conversation_id)


def create_app(workspace: Workspace, api_key: str | None = None) -> FastAPI:
    """The API over a workspace (its datasets and model endpoint); `api_key` None: no key needed."""
    app = FastAPI(
        title="ShopLens",
        summary="Ask your e-commerce behavior data questions; answers with their SQL, table and chart.",
        version="0.1.0",
    )
    app.state.service = Service(workspace, api_key)
    app.include_router(routes)
    app.include_router(guarded)
    return app
