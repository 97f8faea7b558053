"""Source formats. Each is one module; the built-ins are registered here as a plugin
(assistant/plugins.py), in detection order, and `loaders()` adds every installed plugin's."""

from __future__ import annotations

from pathlib import Path

from assistant.plugins import hookimpl, in_order, manager
from assistant.warehouse.loaders.amazon import Amazon
from assistant.warehouse.loaders.base import FileSample, Loader, Plan, UnknownFormat
from assistant.warehouse.loaders.cdnow import Cdnow
from assistant.warehouse.loaders.diginetica import Diginetica
from assistant.warehouse.loaders.flipkart import Flipkart
from assistant.warehouse.loaders.instacart import Instacart
from assistant.warehouse.loaders.online_retail import OnlineRetail
from assistant.warehouse.loaders.rees46 import Rees46
from assistant.warehouse.loaders.retailrocket import RetailRocket
from assistant.warehouse.loaders.taobao import Taobao
from assistant.warehouse.loaders.yoochoose import Yoochoose

BUILTIN_LOADERS: tuple[Loader, ...] = (
    Rees46(),
    Taobao(),
    RetailRocket(),
    OnlineRetail(),
    Cdnow(),
    Instacart(),
    Diginetica(),
    Yoochoose(),
    Flipkart(),
    Amazon(),
)

__all__ = ["UnknownFormat", "detect", "get_loader", "loaders", "resolve_loader", "sample_of"]


@hookimpl
def register_loaders() -> list[Loader]:
    return list(BUILTIN_LOADERS)


def loaders() -> list[Loader]:
    """Every format installed, in detection order: the built-ins, then each plugin's."""
    return [loader for batch in in_order(manager().hook.register_loaders()) for loader in batch]


def get_loader(name: str) -> Loader:
    for loader in loaders():
        if loader.name == name:
            return loader
    raise UnknownFormat(f"unknown format {name!r}; known: {', '.join(loader.name for loader in loaders())}")


def sample_of(path: Path) -> FileSample:
    """The file detection looks at; for a folder, the loader's main file inside it."""
    if path.is_dir():
        for loader in loaders():
            main = loader.main_file(path)
            if main is not None:
                return FileSample.read(main)
        raise UnknownFormat(f"{path.name} is a folder with no file ShopLens knows how to read")
    return FileSample.read(path)


def detect(path: Path) -> Loader:
    """The one loader whose signature matches the file; a clear error when none or several do,
    naming the file and the known formats, never quoting its content (`UnknownFormat`)."""
    sample = sample_of(path)
    matches = [loader for loader in loaders() if loader.detect(sample)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UnknownFormat(
            f"could not tell the format of {path.name} (its first lines match no known format); "
            f"pass --format (in the app: pick a Format), one of: {', '.join(loader.name for loader in loaders())}",
        )
    raise UnknownFormat(
        f"{path.name} matches several formats ({', '.join(m.name for m in matches)}); pass --format"
    )


def resolve_loader(path: Path, format: str | None) -> tuple[Loader, Plan]:
    sample = sample_of(path)
    if not sample.lines:
        raise UnknownFormat(f"{path.name} is an empty file: nothing to load")
    loader = get_loader(format) if format else detect(path)
    return loader, loader.plan(path, sample)
