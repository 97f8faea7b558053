"""ShopLens from Python: a notebook, a script, another program.

    import shoplens

    s = shoplens.connect()                        # ~/.shoplens, the packaged model (started if needed)
    a = s.ask("What was revenue by category last month?")
    a                                             # in Jupyter: the sentence, what was computed, the table
    a.df                                          # the table as a pandas DataFrame
    a.figure()                                    # its chart (plotly)
    s.ask("only electronics")                     # a follow-up: the session keeps the conversation
    s.new_conversation()
    s.close()                                     # or: with shoplens.connect() as s: ...

`connect` takes any setting by name (`data_dir`, `warehouse`, `database_url`, `llm_url`, …; see
`assistant/settings.py`); the environment's `SHOPLENS_*` variables apply as everywhere else.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from assistant.agent import open_assistant
from assistant.answer import Answer, Conversation
from assistant.settings import Settings

__all__ = ["Answer", "Session", "connect"]


class Session:
    """One connection: a read-only warehouse, the model engine and a conversation."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._resources = ExitStack()
        self.assistant = self._resources.enter_context(open_assistant(settings))
        self.assistant.warm_up()  # the first question then reads only its own words
        self.conversation = Conversation()

    def ask(self, question: str) -> Answer:
        """Answer a question; a follow-up ("and by country?") continues the conversation."""
        return self.assistant.ask(question, self.conversation, session="python")

    def new_conversation(self) -> None:
        """Forget the earlier questions: the next one starts afresh."""
        self.conversation = Conversation()

    def close(self) -> None:
        """Stop the engine this session started (one already running is left running)."""
        self._resources.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def connect(**settings: Any) -> Session:
    """A session on the configured warehouse and model; keyword arguments override settings."""
    return Session(Settings().with_overrides(**settings))
