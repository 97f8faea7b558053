"""`shoplens`: the command line. Global flags override `SHOPLENS_*` env vars, which override defaults.

One module per command group; each adds its commands to the groups in `base` as it is imported.
"""

from assistant.cli import ask, collect, data, evals, model, serve, tools  # noqa: F401  (they add their commands)
from assistant.cli.base import app, wait_for_interrupt
from assistant.plugins import manager as plugin_manager

__all__ = ["app", "wait_for_interrupt"]

# Commands from plugins (assistant/plugins.py), added as the command line loads.
plugin_manager().hook.register_commands(cli=app)
