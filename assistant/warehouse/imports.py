"""Which files on the server the app may load: the rule between a browser and the file system.

The app's Data tab takes an upload (Gradio has already stored it in its upload folder) or a path
typed by the browser user. A typed path is resolved (symlinks, `..`, `~`; a relative one is taken
from the first import folder) and accepted only inside the import folders, `settings.import_dirs`
(default `<data dir>/imports`, created on demand). A refusal says which folders are allowed and how
to change them, and is the same words whether the path exists or not, so it tells nothing about
the rest of the machine.

Whatever the import folders are, nothing in the data dir outside `<data dir>/imports` is ever
loadable from the app: the data dir holds `pii.key` (the secret behind personal-data pseudonyms),
the audit log, the datasets and the CSV exports. Refused also: a hard link to a file at the top of
the data dir, anything that is not a regular file or a folder (a pipe would block the reader, a
device never end), and a folder holding any of these or a symlink out of the import folders.

The command line (`shoplens data load`) is the machine owner's and takes any path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from assistant.settings import Settings
from assistant.warehouse.load import LoadError

IMPORTS = "imports"  # <data dir>/imports: the default import folder, and the data dir's one exception


class SourceRefused(LoadError):
    """A file the app may not load; the message never says whether the path exists."""


def import_folders(settings: Settings) -> list[Path]:
    """The folders a typed path may resolve into, resolved themselves; the default one is created."""
    if settings.import_dirs:
        return [Path(folder).expanduser().resolve() for folder in settings.import_dirs]
    default = settings.data_dir / IMPORTS
    default.mkdir(parents=True, exist_ok=True)
    return [default.resolve()]


def allowed_source(text: str | Path, settings: Settings, roots: Sequence[Path] | None = None) -> Path:
    """The resolved file or folder `text` names, if the app may load it; else `SourceRefused`.

    `roots` are the folders it must resolve into: the import folders unless given (the app passes
    Gradio's upload folder for uploads)."""
    folders = [Path(r).resolve() for r in roots] if roots is not None else import_folders(settings)
    try:
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = folders[0] / path
        path = path.resolve()
    except (OSError, RuntimeError, ValueError):  # a NUL byte, a symlink loop, an unknown ~user
        raise _outside(folders, roots is None) from None
    if not any(path.is_relative_to(folder) for folder in folders):
        raise _outside(folders, roots is None)
    _refuse_data_dir(path, settings)
    if not path.exists():
        raise SourceRefused(f"there is no file or folder {path.name!r} in {_names(folders)}")
    if path.is_dir():
        for child in _children(path):
            inner = child.resolve()
            if not any(inner.is_relative_to(folder) for folder in folders):
                raise SourceRefused(f"{path.name}/{child.name} links outside {_names(folders)}: refused")
            _refuse_data_dir(inner, settings)
            if not (inner.is_dir() or _regular(inner)):
                raise SourceRefused(f"{path.name}/{child.name} is not a regular file: refused")
    elif not _regular(path):
        raise SourceRefused(f"{path.name} is not a regular file or a folder (a pipe, socket or device)")
    return path


def _outside(folders: list[Path], typed: bool) -> SourceRefused:
    if not typed:
        return SourceRefused("that file was not uploaded through this app")
    return SourceRefused(
        f"the app loads files only from {_names(folders)}: put the file (or its folder) there and type "
        "its name, or upload it. The machine's owner can allow other folders with SHOPLENS_IMPORT_DIRS "
        f"(folders separated by '{os.pathsep}')."
    )


def _names(folders: list[Path]) -> str:
    return ", ".join(str(folder) for folder in folders)


def _refuse_data_dir(path: Path, settings: Settings) -> None:
    """Nothing in the data dir but its imports folder; no hard link to a file at its top."""
    data_dir = settings.data_dir.expanduser().resolve()
    imports = data_dir / IMPORTS
    if path.is_relative_to(data_dir) and not path.is_relative_to(imports):
        raise SourceRefused(
            f"{path.name} is in the data dir, which holds the app's secrets and datasets; "
            f"only its {IMPORTS} folder ({imports}) can be loaded from"
        )
    if not _regular(path):
        return
    here = path.stat()
    try:
        tops = list(os.scandir(data_dir))
    except OSError:
        return
    for entry in tops:
        try:
            if entry.is_file(follow_symlinks=False):
                there = entry.stat(follow_symlinks=False)
                if (there.st_dev, there.st_ino) == (here.st_dev, here.st_ino):
                    raise SourceRefused(f"{path.name} is a link to a file of the data dir: refused")
        except OSError:
            continue


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError as exc:
        raise SourceRefused(f"{folder.name} cannot be listed ({type(exc).__name__})") from None


def _regular(path: Path) -> bool:
    try:
        return path.is_file()  # follows a symlink; False for a pipe, socket or device
    except OSError:
        return False
