"""The Gradio app: chat with the data, see the evidence, act on it. `launch` serves it.

One module per tab (chat, data, tool_tabs, eval_tab), the shell in `app`, pure rendering in
`render`."""

from assistant.ui.app import App, launch
from assistant.ui.session import ChatSession

__all__ = ["App", "ChatSession", "launch"]
