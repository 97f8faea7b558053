"""Follow-up questions to offer after an answer, written by code from the call and its result.

Code, not the model: suggestions cost no tokens, and each is phrased so the agent's examples
cover it (a suggestion the assistant then fumbles would be worse than none).
"""

from __future__ import annotations

from typing import Any

from assistant.answer import Answer
from tools import Tool

MAX_SUGGESTIONS = 3


def _first(answer: Answer, column: str) -> Any:
    if answer.table and answer.table.rows and column in answer.table.columns:
        return answer.table.rows[0][answer.table.columns.index(column)]
    return None


def suggest(answer: Answer, tools: dict[str, Tool]) -> list[str]:
    """Up to three questions that go one step further than `answer`, written by the follow-ups
    of the tool that answered (`tools`: the assistant's)."""
    if answer.kind != "answer" or not answer.tool_calls:
        return []
    call = answer.tool_calls[-1]
    tool = tools.get(call.tool)
    if tool is None or tool.follow_ups is None:
        return []
    return tool.follow_ups(call.arguments, lambda column: _first(answer, column))[:MAX_SUGGESTIONS]
