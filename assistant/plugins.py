"""Plugins: tools, data formats, model engines, eval systems and commands from other packages.

ShopLens uses pluggy, as `llm` and `datasette` do. A plugin is a module with functions marked
`@hookimpl`, named after the hooks below, and listed under the `shoplens` entry-point group of
its package:

    [project.entry-points.shoplens]
    my_plugin = "my_plugin"

The built-ins are registered the same way (BUILTIN), so a plugin's tool, format, engine or eval
system is one more of a kind, found where the built-ins are. A plugin's tools are offered to the
model only when named in the `tools` setting: each tool costs prompt tokens and a small model's
accuracy in choosing, so the set stays explicit.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("shoplens")
hookimpl = pluggy.HookimplMarker("shoplens")

# Modules holding the built-in implementations, registered before any plugin.
BUILTIN = (
    "tools",
    "assistant.warehouse.loaders",
    "assistant.llm.engines",
    "eval.systems",
)


class Hooks:
    @hookspec
    def register_tools(self, semantic: Any) -> list[Any]:
        """Tools (`tools.base.Tool`) to offer; `semantic` is the metrics layer (arguments of
        metric tools are made from it)."""

    @hookspec
    def register_loaders(self) -> list[Any]:
        """Data formats (`assistant.warehouse.loaders.base.Loader` instances), in detection order."""

    @hookspec
    def register_engines(self) -> dict[str, Any]:
        """Model engines by name: a callable taking the settings and returning an
        `assistant.llm.engines.Engine`."""

    @hookspec
    def register_eval_systems(self) -> dict[str, Any]:
        """Eval systems by name: a callable (name, settings, warehouse, endpoint, encoder) returning
        an object whose `answer(case)` returns an `eval.scoring.Outcome`."""

    @hookspec
    def register_commands(self, cli: Any) -> None:
        """Add commands to the `shoplens` command line (a typer.Typer)."""


_manager: pluggy.PluginManager | None = None
_lock = threading.Lock()


def manager() -> pluggy.PluginManager:
    """The plugin manager: the built-ins, then every installed plugin (made once)."""
    global _manager
    with _lock:
        if _manager is None:
            pm = pluggy.PluginManager("shoplens")
            pm.add_hookspecs(Hooks)
            for name in BUILTIN:
                pm.register(importlib.import_module(name), name=name)
            pm.load_setuptools_entrypoints("shoplens")
            _manager = pm
        return _manager


def in_order(results: list[Any]) -> list[Any]:
    """A hook's results in registration order (pluggy calls the last registered first): the
    built-ins first, then plugins as installed."""
    return list(reversed(results))


def reset() -> None:
    """Forget the manager, so the next call discovers plugins again (after installing one)."""
    global _manager
    with _lock:
        _manager = None
