"""The built-in eval systems, registered as a plugin (assistant/plugins.py): each name maps to a
callable (name, settings, warehouse, endpoint, encoder) that builds the system; `systems()`
adds every installed plugin's. The classes live in eval/harness.py and eval/peers.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistant.plugins import hookimpl, in_order, manager

SystemFactory = Callable[[str, Any, Any, Any, Any], Any]


def _shoplens(name: str, settings: Any, warehouse: Any, endpoint: Any, encoder: Any) -> Any:
    from eval.harness import ShopLensSystem

    return ShopLensSystem(name, settings, warehouse, endpoint, encoder)


def _langchain_sql(name: str, settings: Any, warehouse: Any, endpoint: Any, encoder: Any) -> Any:
    from eval.harness import LangChainSqlSystem

    return LangChainSqlSystem(settings, warehouse, endpoint)


def _plain_sql(name: str, settings: Any, warehouse: Any, endpoint: Any, encoder: Any) -> Any:
    from eval.harness import PlainSqlSystem

    return PlainSqlSystem(settings, warehouse, endpoint)


def _llamaindex(name: str, settings: Any, warehouse: Any, endpoint: Any, encoder: Any) -> Any:
    from eval.peers import LlamaIndexSystem  # needs the peers extra: pip install -e .[peers]

    return LlamaIndexSystem(settings, warehouse, endpoint)


def _vanna(name: str, settings: Any, warehouse: Any, endpoint: Any, encoder: Any) -> Any:
    from eval.peers import VannaSystem  # needs the peers extra

    return VannaSystem(settings, warehouse, endpoint)


@hookimpl
def register_eval_systems() -> dict[str, SystemFactory]:
    return {
        "shoplens": _shoplens,
        "no-metrics": _shoplens,
        "no-examples": _shoplens,
        "langchain-sql": _langchain_sql,
        "plain-sql": _plain_sql,
        "llamaindex": _llamaindex,
        "vanna": _vanna,
    }


# The ablations and peers `--baseline` adds to a run.
BASELINES = ("langchain-sql", "no-metrics", "no-examples")


def systems() -> dict[str, SystemFactory]:
    """Every eval system installed by name: the built-ins, then each plugin's."""
    return {
        name: make
        for batch in in_order(manager().hook.register_eval_systems())
        for name, make in batch.items()
    }
