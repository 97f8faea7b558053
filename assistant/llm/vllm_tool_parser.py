"""A vLLM tool parser for the way Qwen2.5-Coder writes tool calls: a JSON object (or a list of
them) with `name` and `arguments`, in a ```json fence or bare; never the `<tool_call>` tags its
template asks for. vLLM's hermes parser misses those calls (they come back as text) and its xLAM
parser reads only a list; this one takes both shapes, so an OpenAI client (LangChain's
tool-calling agent, for one) gets `tool_calls` with `tool_choice: auto`.

vLLM loads this file itself (`--tool-parser-plugin`), in the server's process; nothing in
ShopLens imports it.
"""

from __future__ import annotations

import json
from typing import Any

from vllm.tool_parsers.abstract_tool_parser import ToolParserManager
from vllm.tool_parsers.xlam_tool_parser import xLAMToolParser

NAME = "shoplens_json"


@ToolParserManager.register_module(NAME)
class FencedJsonToolParser(xLAMToolParser):
    def preprocess_model_output(self, model_output: str) -> tuple[str | None, str | None]:
        content, calls = super().preprocess_model_output(model_output)
        if calls is None:
            text = model_output.strip()
            if text.startswith("{"):  # a bare call: the whole reply is one JSON object
                content, calls = None, text
            else:
                return content, None
        try:
            value: Any = json.loads(calls)
        except json.JSONDecodeError:
            return model_output, None
        if isinstance(value, dict) and {"name", "arguments"} <= value.keys():
            return content, json.dumps([value])
        if isinstance(value, list):
            return content, calls
        return model_output, None
