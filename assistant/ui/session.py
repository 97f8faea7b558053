"""One browser session's own state: never shared with another session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from assistant.answer import Answer, Conversation


@dataclass
class ChatSession:
    """One browser session: its dataset, conversation memory and answers (never shared)."""

    dataset: str
    chinese: bool = False  # the browser asked for Chinese: what the app writes outside the chat
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])  # the audit log's session
    conversation: Conversation = field(default_factory=Conversation)
    answers: list[Answer] = field(default_factory=list)
