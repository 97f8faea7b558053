"""Folder watch: export files that land in a folder are loaded as they arrive, each once.

Shops export behavior data on a schedule (an hourly CSV from the tracker, a nightly catalog); the
watcher loads each such file into the dataset with the ordinary loader, so every format, check
and rejected-row rule of `shoplens data load` holds. Rules:

- A file is loaded once it has settled: unchanged for `settle_seconds`, so an export still being
  written is left for a later look. Hidden files and the temporary names exporters write under
  (`.part`, `.tmp`, `.crdownload`, …) are never loaded; rename them when they are complete.
- A file's rows carry its path inside the folder as their load name (`rees46:2026/12/04/13.csv`),
  so loading the same name again replaces its rows instead of adding them. That makes the watch
  idempotent in effect: a corrected export under the same name replaces the first one, and a
  crash between a load's commit and the watcher's record of it only loads the file once more.
- Content decides, not the clock: a file touched but unchanged (same SHA-256) is not loaded
  again, nor is a copy of an already loaded file under another name (a re-sent export).
- A file that cannot be loaded is recorded with the reason; it is tried again when it changes,
  or after a wait that doubles with each failure (a warehouse locked by another program clears).
- A deleted file's rows stay (the warehouse keeps what it was given).

What was loaded is kept in a JSON record in the dataset's live folder (the watched folder may
be read-only), written atomically after each file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from assistant.settings import Settings
from assistant.warehouse.live import live_dir
from assistant.warehouse.load import LoadReport, first_line

log = logging.getLogger(__name__)

# Names exporters and browsers give files they are still writing.
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".filepart", ".download", ".swp")
MAX_RETRY_SECONDS = 3600.0

# Loads one file; the second argument is the file's name inside the watched folder.
LoadFn = Callable[[Path, str], LoadReport]


class WatchedFile(BaseModel):
    """What the watcher knows of one file in the folder."""

    name: str  # path inside the folder, with '/'
    size: int
    mtime_ns: int
    sha256: str
    loaded_at: datetime | None = None  # of the content with this sha256
    report: LoadReport | None = None
    skipped: str | None = None  # why a settled file was not loaded (a copy of another)
    error: str | None = None
    failures: int = 0
    retry_at: float | None = None  # time.time() of the next try after a failure


class WatchRecord(BaseModel):
    folder: str
    files: dict[str, WatchedFile] = {}


def record_path(settings: Settings, folder: Path) -> Path:
    """Where the watch of `folder` into the dataset keeps its record (one per folder)."""
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    return live_dir(settings) / "watched" / f"{key}.json"


def is_partial(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.startswith((".", "~")) or base.lower().endswith(PARTIAL_SUFFIXES)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class FolderWatch:
    """Loads the settled, new or changed files of `folder` (and its subfolders) with `load`."""

    def __init__(
        self,
        folder: Path,
        record: Path,
        load: LoadFn,
        settle_seconds: float = 5.0,
        retry_seconds: float = 60.0,
    ) -> None:
        self.folder = folder.expanduser().resolve()
        if not self.folder.is_dir():
            raise FileNotFoundError(f"no such folder to watch: {self.folder}")
        self.record_file = record
        self.load = load
        self.settle_seconds = settle_seconds
        self.retry_seconds = retry_seconds
        self.record = (
            WatchRecord.model_validate_json(record.read_text())
            if record.exists()
            else WatchRecord(folder=str(self.folder))
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _files(self) -> Iterator[tuple[str, Path, os.stat_result]]:
        for path in sorted(self.folder.rglob("*")):
            name = path.relative_to(self.folder).as_posix()
            if any(is_partial(part) for part in name.split("/")) or not path.is_file():
                continue
            try:
                yield name, path, path.stat()
            except FileNotFoundError:  # renamed or removed while we looked
                continue

    def scan(self, now: float | None = None) -> list[WatchedFile]:
        """One look at the folder: load what is ready, oldest first; returns the files tried."""
        now = time.time() if now is None else now
        ready = []
        for name, path, stat in self._files():
            if now - stat.st_mtime < self.settle_seconds:
                continue  # still being written, perhaps
            known = self.record.files.get(name)
            if known is not None and (known.size, known.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
                if known.error is None or (known.retry_at or 0) > now:
                    continue  # loaded (or skipped), or failed and not due again yet
            ready.append((stat.st_mtime, name, path, stat))
        tried = []
        for _, name, path, stat in sorted(ready):
            entry = self._consider(name, path, stat, now)
            if entry is not None:
                tried.append(entry)
        return tried

    def _consider(self, name: str, path: Path, stat: os.stat_result, now: float) -> WatchedFile | None:
        known = self.record.files.get(name)
        try:
            digest = _sha256(path)
        except OSError as exc:
            log.warning("could not read %s: %s", path, exc)
            return None
        entry = WatchedFile(name=name, size=stat.st_size, mtime_ns=stat.st_mtime_ns, sha256=digest)
        if known is not None and known.sha256 == digest and known.error is None:
            # Touched, not changed: keep what was loaded, note the new stat.
            self.record.files[name] = known.model_copy(
                update={"size": entry.size, "mtime_ns": entry.mtime_ns}
            )
            self._save()
            return None
        twin = next(
            (f for f in self.record.files.values() if f.name != name and f.sha256 == digest and f.report),
            None,
        )
        if twin is not None:
            entry.skipped = f"same content as {twin.name}, loaded {twin.loaded_at:%Y-%m-%d %H:%M} UTC"
            log.info("%s not loaded: %s", name, entry.skipped)
        else:
            try:
                entry.report = self.load(path, name)
                entry.loaded_at = datetime.now(UTC).replace(tzinfo=None)
                log.info(
                    "loaded %s: %d rows, %d rejected",
                    name,
                    entry.report.rows_loaded,
                    entry.report.rows_rejected,
                )
            except Exception as exc:  # the load was rolled back; the file waits for a retry
                failures = (known.failures if known is not None and known.sha256 == digest else 0) + 1
                entry.error = first_line(exc)
                entry.failures = failures
                entry.retry_at = now + min(self.retry_seconds * 2 ** (failures - 1), MAX_RETRY_SECONDS)
                log.warning("could not load %s (try %d): %s", name, failures, entry.error)
        self.record.files[name] = entry
        self._save()
        return entry

    def _save(self) -> None:
        self.record_file.parent.mkdir(parents=True, exist_ok=True)
        scratch = self.record_file.with_name(f".{self.record_file.name}.{os.getpid()}")
        scratch.write_text(self.record.model_dump_json(indent=1))
        os.replace(scratch, self.record_file)

    def start(
        self, every_seconds: float, on_file: Callable[[WatchedFile], None] | None = None
    ) -> FolderWatch:
        """Look every `every_seconds` in a background thread until `stop()`."""

        def run() -> None:
            while True:
                try:
                    for entry in self.scan():
                        if on_file is not None:
                            on_file(entry)
                except Exception:  # one failed look must not end the watch
                    log.exception("watching %s failed", self.folder)
                if self._stop.wait(every_seconds):
                    return

        self._thread = threading.Thread(target=run, name="folder-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)


@contextmanager
def watching(settings: Settings, load: LoadFn) -> Iterator[FolderWatch | None]:
    """Watch `settings.watch_folder` (when set) in the background while the block runs."""
    if settings.watch_folder is None:
        yield None
        return
    watch = FolderWatch(settings.watch_folder, record_path(settings, settings.watch_folder), load)
    watch.start(settings.watch_folder_seconds)
    try:
        yield watch
    finally:
        watch.stop()
