"""What the app's browser sessions share: one model endpoint, one encoder, and the datasets.

A dataset is one DuckDB warehouse file in the data dir (`shop.duckdb` is the demo shop). Each is
opened read-only, once, when a session first picks it; the assistant over it serves every session
(a session's own state is its conversation, kept by the UI). Loading a file writes a dataset, so
the dataset is closed first and reopened by the next question that needs it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.agent import Assistant, audit_log
from assistant.embeddings import Encoder
from assistant.llm.engines import Endpoint
from assistant.settings import Settings
from assistant.warehouse.db import Warehouse, WarehouseInfo, refresh_views
from assistant.warehouse.fold import FoldReport, fold
from assistant.warehouse.live import Batch, LiveStore, live_generation
from assistant.warehouse.load import LoadError, LoadReport, ProgressFn, first_line, load_into

log = logging.getLogger(__name__)
LIVE_INFO_SECONDS = 30.0


def dataset_name(text: str) -> str:
    """A file name turned into a dataset name (letters, digits, '-' and '_')."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(text).stem if "." in text else text).strip("_-")
    return name[:60] or "data"


def dataset_files(data_dir: Path) -> list[str]:
    """The datasets in a data dir (one DuckDB file each), by name."""
    return sorted(p.stem for p in data_dir.glob("*.duckdb"))


@dataclass
class WarmUp:
    """The engine reading a dataset's system prompt before anyone asks (`Workspace.warm_up`)."""

    dataset: str
    started: float = field(default_factory=time.monotonic)
    seconds: float | None = None  # how long the read took; None while reading, or if it failed
    loaded: bool = False  # the engine loaded a saved read instead of reading
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


class Workspace:
    def __init__(self, settings: Settings, endpoint: Endpoint, encoder: Encoder | None = None) -> None:
        self.settings = settings
        self.endpoint = endpoint
        self.encoder = encoder or Encoder()
        self._assistants: dict[str, Assistant] = {}
        self._infos: dict[str, tuple[int, float, WarehouseInfo]] = {}  # (live generation, when, info)
        self._lock = threading.RLock()
        self.audit = audit_log(settings)
        self.last_warm_up: WarmUp | None = None

    @property
    def default_dataset(self) -> str:
        return self.settings.warehouse

    def settings_for(self, dataset: str) -> Settings:
        return self.settings.model_copy(update={"warehouse": dataset})

    def datasets(self) -> list[str]:
        """The warehouses in the data dir, the configured one first. On a database server
        (`database_url`) there is one: the configured warehouse is that database."""
        if self.settings.database_url:
            return [self.default_dataset]
        found = dataset_files(self.settings.data_dir)
        first = [self.default_dataset] if self.default_dataset in found else []
        return first + [name for name in found if name != self.default_dataset]

    def assistant(self, dataset: str) -> Assistant:
        """The assistant over `dataset`, opened on first use."""
        with self._lock:
            if dataset not in self._assistants:
                if dataset not in self.datasets():
                    raise LookupError(
                        f"there is no dataset {dataset!r}; datasets: {', '.join(self.datasets())}"
                    )
                warehouse = Warehouse(self.settings_for(dataset), read_only=True)  # connects on first use
                try:
                    refresh_views(self.settings_for(dataset))
                    ready = warehouse.exists()
                except Exception as exc:  # not a DuckDB file, damaged, locked for writing elsewhere
                    warehouse.close()
                    raise LookupError(f"dataset {dataset!r} cannot be opened: {first_line(exc)}") from None
                if not ready:
                    warehouse.close()
                    raise LookupError(f"dataset {dataset!r} has no tables yet: load a file into it")
                log.info("opening dataset %s", dataset)
                settings = self.settings_for(dataset)
                self._assistants[dataset] = Assistant.on_endpoint(
                    settings, warehouse, self.endpoint, self.encoder, audit=self.audit
                )
            return self._assistants[dataset]

    def warm_up(self, dataset: str | None = None) -> threading.Thread:
        """Open a dataset and have the engine read its system prompt, in the background. The
        engine keeps one prompt read, so the latest warm-up is the one that counts."""
        state = WarmUp(dataset or self.default_dataset)
        self.last_warm_up = state

        def run() -> None:
            try:
                read = self.assistant(state.dataset).warm_up()
                if read is not None:
                    state.seconds, state.loaded = read.seconds, read.loaded
            except LookupError as exc:
                log.info("no warm-up: %s", exc)
            finally:
                state.done.set()

        thread = threading.Thread(target=run, name="warm-up", daemon=True)
        thread.start()
        return thread

    def engine_restarted(self) -> None:
        """A new engine process holds no prompt: read again the one the last warm-up read."""
        last = self.last_warm_up
        self.warm_up(last.dataset if last else None)

    def warming_up(self) -> WarmUp | None:
        """The warm-up in progress, if one is: a question sent now would wait behind it."""
        state = self.last_warm_up
        return state if state is not None and not state.done.is_set() else None

    def info(self, dataset: str) -> WarehouseInfo:
        """Row counts, time span and loads of a dataset, kept until the dataset changes: a load,
        or live events committed since (read again at most every LIVE_INFO_SECONDS: the counts
        scan every table and view, and a busy collector commits twice a second)."""
        generation = live_generation(self.settings_for(dataset))
        with self._lock:
            kept = self._infos.get(dataset)
            if kept is None or (kept[0] != generation and time.monotonic() - kept[1] >= LIVE_INFO_SECONDS):
                info = self.assistant(dataset).ctx.warehouse.info()
                self._infos[dataset] = kept = (generation, time.monotonic(), info)
            return kept[2]

    def load(
        self,
        path: Path,
        dataset: str,
        format: str | None = None,
        progress: ProgressFn | None = None,
        name: str | None = None,
    ) -> LoadReport:
        """Load a file into `dataset` (created if new). The load is one transaction: on any
        failure the dataset is as it was, and a dataset this load would have created is not
        left behind empty. Which files a browser may name is `assistant.warehouse.imports`'s
        business, checked before this."""
        if self.settings.database_url and dataset != self.default_dataset:
            raise LoadError(
                f"ShopLens runs on one server database here; load into {self.default_dataset!r}"
                f" (a new dataset {dataset!r} needs the embedded DuckDB: start without --database-url)"
            )
        with self._lock:
            self._close(dataset)
            try:
                return load_into(self.settings_for(dataset), path, format, progress, name)
            except LoadError:
                raise
            except Exception as exc:  # DuckDB: locked by another process, disk full, ...
                reason = first_line(exc)
                if "lock" in reason.lower():
                    reason = f"another program has it open ({reason})"
                raise LoadError(f"could not load into {dataset!r}: {reason}") from exc

    def fold_live(self, store: LiveStore, store_id: str, batches: list[Batch]) -> FoldReport:
        """Fold the collector's batches into the default dataset's tables (the collector of
        `launch.py --collect` calls this: the app's own connections must close for the write)."""
        with self._lock:
            self._close(self.default_dataset)
            with Warehouse(self.settings_for(self.default_dataset)) as warehouse:
                return fold(warehouse, store, store_id, batches)

    def _close(self, dataset: str) -> None:
        assistant = self._assistants.pop(dataset, None)
        self._infos.pop(dataset, None)
        if assistant is not None:
            assistant.ctx.warehouse.close()

    def close(self) -> None:
        with self._lock:
            for dataset in list(self._assistants):
                self._close(dataset)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
