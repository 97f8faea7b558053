"""Hostile files through both doors a file comes in by: `shoplens data load` (the machine's owner)
and the Data tab's handler `App.load` (a browser: a path typed there, or an upload).

Every case asserts a clean error, or a correct load with its rejects counted; that no byte of the
planted secrets (the data dir's `pii.key`, a CSV inside the data dir, one beside it and one in /tmp,
each with a random marker, the CSVs loadable so that a slip would store them) reaches any message,
result, log line or warehouse; that a refused load leaves no new dataset behind and the existing
one unchanged. Paths a browser types that lead out of the import folders are refused with the same
words whether they exist or not.
"""

from __future__ import annotations

import csv
import gzip
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import duckdb
import pytest
from typer.testing import CliRunner

from assistant.answer import Table
from assistant.cli import app as cli_app
from assistant.embeddings import Encoder
from assistant.export import spreadsheet_safe
from assistant.settings import Settings
from assistant.warehouse import schema
from assistant.warehouse.imports import import_folders
from assistant.warehouse.load import LINE_TOO_LONG
from assistant.workspace import Workspace

if TYPE_CHECKING:  # gradio takes seconds to import: only the tests that make an App pay them
    from assistant.ui import App

from .conftest import FIXTURES
from .test_agent_units import ENDPOINT

HEADER = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n"


def row(n: int, brand: str = "sony", session: str = "sess", code: str = "electronics.audio") -> str:
    return f"2019-10-01 00:00:{n:02d} UTC,view,{1000 + n},1,{code},{brand},10.50,7,{session}\n"


def rees46(*rows: str) -> bytes:
    return (HEADER + "".join(rows)).encode()


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


MB = 1_000_000
NO_ENCODER = cast(Encoder, object())  # loading never encodes; the real encoder takes seconds to load


# ---------------------------------------------------------------- the world a case runs in


@dataclass
class World:
    root: Path
    data: Path
    imports: Path
    uploads: Path
    app: App
    markers: dict[str, str]  # what must never show: secret name -> its text
    secret_files: dict[str, Path]
    apps: list[App] = field(default_factory=list)

    def app_with(self, **overrides: Any) -> App:
        """Another app on the same data dir with other settings (import folders)."""
        settings = self.app.ws.settings.model_copy(update=overrides)
        from assistant.ui import App

        app = App(Workspace(settings, ENDPOINT, encoder=NO_ENCODER))
        self.apps.append(app)
        return app

    def datasets(self) -> set[str]:
        """Every warehouse file (and WAL) in the data dir."""
        return {p.name for p in self.data.glob("*.duckdb*")}

    def fingerprint(self, dataset: str) -> dict[str, tuple]:
        con = duckdb.connect(str(self.data / f"{dataset}.duckdb"), read_only=True)
        try:
            return {
                t.name: con.execute(f"SELECT count(*), sum(hash(x::VARCHAR)) FROM {t.name} x").fetchone()
                for t in schema.TABLES
            }
        finally:
            con.close()

    def stored_text(self) -> str:
        """Every row of every table of every dataset, as text, and the files' raw bytes."""
        parts = []
        for file in sorted(self.data.glob("*.duckdb")):
            con = duckdb.connect(str(file), read_only=True)
            try:
                for t in schema.TABLES:
                    parts.append(str(con.execute(f"SELECT list(x::VARCHAR) FROM {t.name} x").fetchone()[0]))
            finally:
                con.close()
            parts.append(file.read_bytes().decode("latin-1"))
        return "\n".join(parts)

    def assert_nothing_leaked(self, *texts: str, caplog: pytest.LogCaptureFixture) -> None:
        seen = {"message or result": "\n".join(texts), "log": caplog.text, "warehouse": self.stored_text()}
        for secret, marker in self.markers.items():
            for where, text in seen.items():
                assert marker not in text, f"{secret} leaked into the {where}"


def secret_csv(marker: str) -> bytes:
    """A secret that is a valid REES46 file: were it ever read, its marker would be stored."""
    return rees46(row(1, brand=marker, session=marker), row(2, brand=marker, session=marker))


@pytest.fixture
def world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[World]:
    for key in list(os.environ):
        if key.startswith("SHOPLENS_") and key != "SHOPLENS_REAL_DATA":
            monkeypatch.delenv(key)
    uploads = tmp_path / "gradio"  # Gradio's upload folder for this test
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))
    caplog.set_level(logging.DEBUG, logger="assistant")
    data = tmp_path / "data"
    settings = Settings(data_dir=data, duckdb_memory_limit="1GB")
    from assistant.ui import App

    app = App(Workspace(settings, ENDPOINT, encoder=NO_ENCODER))
    imports = data / "imports"
    assert imports.is_dir()  # the default import folder is made on demand
    # An existing dataset, which every refused load must leave as it was (this also makes pii.key).
    app.ws.load(write(tmp_path, "seed.csv", rees46(row(1), row(2))), "mine")
    markers = {"data dir's pii.key": (data / "pii.key").read_text().strip()}
    files = {"data dir's pii.key": data / "pii.key"}
    places = {
        "CSV in the data dir": data / "notes.csv",
        "CSV beside the data dir": tmp_path / "beside-secret.csv",
        "CSV in /tmp": Path(tempfile.gettempdir()) / f"shoplens-secret-{secrets.token_hex(6)}.csv",
    }
    for name, path in places.items():
        markers[name] = f"SECRET{secrets.token_hex(12)}"
        path.write_bytes(secret_csv(markers[name]))
        files[name] = path
    world = World(tmp_path, data, imports, uploads, app, markers, files)
    try:
        yield world
    finally:
        for each in [app, *world.apps]:
            each.ws.close()
        places["CSV in /tmp"].unlink(missing_ok=True)


# ---------------------------------------------------------------- the two doors


@dataclass
class Outcome:
    ok: bool
    message: str  # the error, or the result text
    counts: tuple[int, int, int] | None = None  # read, loaded, rejected
    reasons: dict[str, int] = field(default_factory=dict)


def through_app(
    app: App, *, typed: str = "", upload: str | None = None, fmt: str = "auto-detect", name: str = ""
) -> Outcome:
    import gradio as gr

    try:
        _, text, _, rejects = app.load(upload, typed, fmt, name, None, progress=lambda *a, **k: None)
    except gr.Error as exc:
        assert "Traceback" not in exc.message
        return Outcome(False, exc.message)
    numbers = re.search(r"\| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \|", text)
    assert numbers, text
    frame = rejects["value"]
    reasons = dict(zip(frame["reason"], frame["rows"], strict=True)) if frame is not None else {}
    counts = cast(tuple[int, int, int], tuple(int(n.replace(",", "")) for n in numbers.groups()))
    return Outcome(True, text, counts, reasons)


runner = CliRunner()


def through_cli(world: World, path: Path | str, *args: str, warehouse: str = "fresh") -> Outcome:
    result = runner.invoke(
        cli_app,
        ["--data-dir", str(world.data), "--warehouse", warehouse, "data", "load", str(path), *args],
        env={"COLUMNS": "250"},
    )
    out = result.output
    assert "Traceback" not in out, out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if result.exit_code != 0:
        return Outcome(False, out)
    numbers = re.search(r"([\d,]+) read, ([\d,]+) loaded, ([\d,]+) rejected", out)
    assert numbers, out
    counts = cast(tuple[int, int, int], tuple(int(n.replace(",", "")) for n in numbers.groups()))
    return Outcome(True, out, counts)


# ---------------------------------------------------------------- hostile files


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], Path]  # writes the file(s) into a folder; returns what to load
    refused: str | None = None  # regex of the error
    counts: tuple[int, int, int] | None = None  # read, loaded, rejected
    reasons: dict[str, int] = field(default_factory=dict)
    fmt: str | None = None
    content: str | None = None  # a piece of the file that no error may quote
    upload: bool = True  # a browser can upload it (not a folder, not a pipe)


def long_line(size: int) -> Callable[[Path], Path]:
    return lambda f: write(f, f"long-{size}.csv", rees46(row(1), row(2)[:-1] + "x" * size + "\n", row(3)))


def gzip_bomb(folder: Path) -> Path:
    """A small .gz that expands to a 64 MB line between two good rows."""
    path = folder / "bomb.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(rees46(row(1), row(2)[:-1]))
        chunk = b"0" * MB
        for _ in range(64):
            out.write(chunk)
        out.write(b"\n" + row(3).encode())
    assert path.stat().st_size < MB
    return path


def headerless_bomb(folder: Path) -> Path:
    path = folder / "zeros.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        for _ in range(64):
            out.write(b"\0" * MB)
    return path


def truncated_gzip(size: int) -> Callable[[Path], Path]:
    """A gzip file cut in half: within the first lines (detection fails) or after them (the reader)."""

    def build(folder: Path) -> Path:
        whole = gzip.compress(rees46(*(row(n % 60) for n in range(size))))
        return write(folder, f"cut-{size}.csv.gz", whole[: len(whole) // 2])

    return build


def glob_named(name: str, siblings: tuple[str, ...]) -> Callable[[Path], Path]:
    """A file whose name is a pattern, beside files the pattern would match: only it may load."""

    def build(folder: Path) -> Path:
        for n, sibling in enumerate(siblings):
            write(folder, sibling, rees46(row(10 + n), row(20 + n)))
        return write(folder, name, rees46(row(1)))

    return build


def named(name: str) -> Callable[[Path], Path]:
    return lambda f: write(f, name, rees46(row(1)))


def folder_without_known_files(folder: Path) -> Path:
    write(folder, "odd/readme.txt", "CONTENT-odd-folder\n")
    return folder / "odd"


def retailrocket(folder: Path) -> Path:
    shutil.copytree(FIXTURES / "retailrocket", folder / "rr")
    return folder / "rr"


def fifo(folder: Path) -> Path:
    path = folder / "pipe.csv"
    os.mkfifo(path)
    return path


CASES = [
    Case(
        "line-40MB-over-the-reader-buffer", long_line(40 * MB), counts=(3, 2, 1), reasons={LINE_TOO_LONG: 1}
    ),
    Case("line-3MB-over-the-maximum", long_line(3 * MB), counts=(3, 2, 1), reasons={LINE_TOO_LONG: 1}),
    Case("gzip-bomb-64MB-line", gzip_bomb, counts=(3, 2, 1), reasons={LINE_TOO_LONG: 1}),
    Case("gzip-bomb-without-a-newline", headerless_bomb, refused="could not tell the format of zeros.csv.gz"),
    Case(
        "not-gzip-named-gz",
        lambda f: write(f, "plain.csv.gz", "root:x:0:0:CONTENT-plain:/root:/bin/bash\n"),
        refused=r"plain\.csv\.gz could not be read as a gzip file",
        content="CONTENT-plain",
    ),
    Case(
        "truncated-gzip-head", truncated_gzip(20), refused=r"cut-20\.csv\.gz could not be read as a gzip file"
    ),
    Case(
        "truncated-gzip-body",
        truncated_gzip(20_000),
        refused=r"could not read rees46:cut-20000\.csv\.gz as events of that format: .*end of GZIP stream",
    ),
    Case("glob-star-name", glob_named("x*.csv", ("x1.csv", "x2.csv")), counts=(1, 1, 0)),
    Case("glob-question-name", glob_named("q?.csv", ("qq.csv",)), counts=(1, 1, 0)),
    Case("glob-class-name", glob_named("[ab].csv", ("a.csv", "b.csv")), counts=(1, 1, 0)),
    Case("glob-recursive-name", glob_named("**.csv", ("sub/deep.csv", "z.csv")), counts=(1, 1, 0)),
    Case(
        "backslash-and-glob-name",
        glob_named("a\\*.csv", ("a\\1.csv",)),
        refused=r"a\\\*\.csv: a path with a backslash and one of \* \? \[ cannot be read exactly",
    ),
    Case("backslash-name", named("back\\slash.csv"), counts=(1, 1, 0)),
    Case("quotes-in-name", named('it\'s "quoted".csv'), counts=(1, 1, 0)),
    Case("sql-in-name", named("x'); DROP TABLE events; --.csv"), counts=(1, 1, 0)),
    Case("semicolons-in-name", named("a;b;c.csv"), counts=(1, 1, 0)),
    Case("newline-in-name", named("new\nline.csv"), counts=(1, 1, 0)),
    Case("unicode-name", named("données ☃ 😀 ü.csv"), counts=(1, 1, 0)),
    Case("formula-name", named("=cmd|' calc'!A0.csv"), counts=(1, 1, 0)),
    Case("markup-name", named("[bold]x[red].csv"), counts=(1, 1, 0)),
    Case("empty", lambda f: write(f, "empty.csv", b""), refused=r"empty\.csv is an empty file"),
    Case(
        "blank-lines-only",
        lambda f: write(f, "blank.csv", " \n\n\t\n"),
        refused=r"blank\.csv is an empty file",
    ),
    Case(
        "binary-junk",
        lambda f: write(f, "junk.csv", b"CONTENT-junk\0" + secrets.token_bytes(50_000)),
        refused=r"could not tell the format of junk\.csv",
        content="CONTENT-junk",
    ),
    Case(
        "png-named-csv",
        lambda f: write(f, "photo.csv", b"\x89PNG\r\n\x1a\nCONTENT-png" + secrets.token_bytes(1000)),
        refused=r"could not tell the format of photo\.csv",
        content="CONTENT-png",
    ),
    Case("csv-named-png", lambda f: write(f, "events.png", rees46(row(1), row(2))), counts=(2, 2, 0)),
    Case(
        "utf16",
        lambda f: write(f, "wide.csv", (HEADER + row(1)).encode("utf-16")),
        refused=r"could not tell the format of wide\.csv",
    ),
    Case(
        "spreadsheet-formulas-in-cells",
        lambda f: write(
            f,
            "formulas.csv",
            rees46(row(1, brand="=1+1"), row(2, session="@sum(1+1)"), row(3, code="+cmd|' /C calc'!A0")),
        ),
        counts=(3, 3, 0),
    ),
    Case(
        "huge-header",
        lambda f: write(f, "header.csv", "CONTENT-header," + "c," * 2_500_000 + "\n" + row(1)),
        refused=r"could not tell the format of header\.csv",
        content="CONTENT-header",
    ),
    Case(
        "huge-header-forced-format",
        lambda f: write(f, "header2.csv", "CONTENT-header2," + "c," * 2_500_000 + "\n" + row(1)),
        fmt="rees46",
        counts=(1, 1, 0),
    ),
    Case(
        "nul-bytes-in-a-field",
        lambda f: write(f, "nul.csv", rees46(row(1), row(2, brand="so\0ny"), row(3))),
        counts=(3, 3, 0),
    ),
    Case(
        "mixed-encodings",
        lambda f: write(
            f, "mixed.csv", rees46(row(1)) + row(2, brand="caf\xe9").encode("latin-1") + row(3).encode()
        ),
        counts=(3, 2, 1),
        reasons={"malformed row: invalid encoding": 1},
    ),
    Case(
        "crlf-lines",
        lambda f: write(f, "crlf.csv", rees46(row(1), row(2)).replace(b"\n", b"\r\n")),
        counts=(2, 2, 0),
    ),
    Case(
        "cr-only-lines",
        lambda f: write(f, "cr.csv", rees46(row(1), row(2)).replace(b"\n", b"\r")),
        counts=(2, 2, 0),
    ),
    Case("header-only", lambda f: write(f, "header-only.csv", HEADER), counts=(0, 0, 0)),
    Case(
        "no-row-fits",
        lambda f: write(f, "bad-rows.csv", HEADER + "CONTENT-bad,1\nx,y\n"),
        refused=r"none of the 2 rows of rees46:bad-rows\.csv could be read",
        content="CONTENT-bad",
    ),
    Case(
        "unterminated-quote",
        lambda f: write(f, "quote.csv", rees46(row(1), row(2, brand='"so'), row(3))),
        counts=(2, 1, 1),
        reasons={"malformed row: unquoted value": 1},
    ),
    Case(
        "100k-fields-in-a-row",
        lambda f: write(f, "fields.csv", rees46(row(1), row(2)[:-1] + ",x" * 100_000 + "\n", row(3))),
        counts=(3, 2, 1),
        reasons={"malformed row: too many columns": 1},
    ),
    Case(
        "wrong-format-forced",
        lambda f: write(f, "events.csv", rees46(row(1), row(2))),
        fmt="taobao",
        refused=r"none of the 3 rows of taobao:events\.csv could be read",  # no header in taobao
    ),
    Case(
        "folder-of-unknown-files",
        folder_without_known_files,
        refused=r"odd is a folder with no file ShopLens knows how to read",
        content="CONTENT-odd-folder",
        upload=False,
    ),
    Case("folder-format", retailrocket, counts=(23, 19, 4), upload=False),
    Case("named-pipe", fifo, refused=r"pipe\.csv is not a regular file", upload=False),
]
assert len(CASES) >= 30


def unblocking(path: Path) -> threading.Timer:
    """Were a pipe ever opened for reading, this opens its other end after 5 s so the test fails
    (on the wrong message) instead of hanging."""
    timer = threading.Timer(5, lambda: os.close(os.open(path, os.O_RDWR)) if path.exists() else None)
    timer.daemon = True
    if path.exists() and not path.is_file() and not path.is_dir():
        timer.start()
    return timer


def check(case: Case, outcome: Outcome) -> None:
    if case.refused:
        assert not outcome.ok, outcome.message
        assert re.search(case.refused, outcome.message), outcome.message
        if case.content:
            assert case.content not in outcome.message  # the error never quotes the file
    else:
        assert outcome.ok, outcome.message
        assert outcome.counts == case.counts, outcome.message


@pytest.mark.slow  # 40 cases, over 10 s together
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_hostile_file_through_the_command_line(
    case: Case, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    (world.root / "files").mkdir()
    path = case.build(world.root / "files")
    timer = unblocking(path)
    outcome = through_cli(world, path, *(["--format", case.fmt] if case.fmt else []))
    timer.cancel()
    check(case, outcome)
    if case.refused:
        assert "fresh.duckdb" not in world.datasets()  # no empty dataset left behind
    for reason, rows in case.reasons.items():
        assert re.search(rf"{re.escape(reason)}\W+{rows}\b", outcome.message), outcome.message
    world.assert_nothing_leaked(outcome.message, caplog=caplog)


@pytest.mark.slow  # 40 cases, over 10 s together
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_hostile_file_typed_in_the_data_tab(
    case: Case, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    path = case.build(world.imports)
    before = world.fingerprint("mine")
    timer = unblocking(path)
    outcome = through_app(world.app, typed=str(path), fmt=case.fmt or "auto-detect", name="mine")
    timer.cancel()
    check(case, outcome)
    if case.refused:
        assert world.fingerprint("mine") == before  # the existing dataset is as it was
    else:
        assert all(outcome.reasons.get(r) == n for r, n in case.reasons.items()), outcome.reasons
    world.assert_nothing_leaked(outcome.message, caplog=caplog)


@pytest.mark.slow  # 37 cases, over 10 s together
@pytest.mark.parametrize("case", [c for c in CASES if c.upload], ids=lambda c: c.id)
def test_a_hostile_file_uploaded_in_the_data_tab(
    case: Case, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    folder = world.uploads / secrets.token_hex(8)  # Gradio keeps each upload in a folder of its own
    folder.mkdir(parents=True)
    path = case.build(folder)
    datasets = world.datasets()
    outcome = through_app(world.app, upload=str(path), fmt=case.fmt or "auto-detect")
    check(case, outcome)
    if case.refused:
        assert world.datasets() == datasets  # no empty dataset left behind
    else:
        assert all(outcome.reasons.get(r) == n for r, n in case.reasons.items()), outcome.reasons
    world.assert_nothing_leaked(outcome.message, caplog=caplog)


def test_a_file_named_like_a_pattern_loads_only_its_own_rows(world: World) -> None:
    glob_named("x*.csv", ("x1.csv", "x2.csv"))(world.imports)
    assert through_app(world.app, typed="x*.csv", name="globbed").counts == (1, 1, 0)
    con = duckdb.connect(str(world.data / "globbed.duckdb"), read_only=True)
    try:
        assert con.execute(
            "SELECT list(product_id ORDER BY 1), list(DISTINCT source_dataset) FROM events"
        ).fetchone() == (
            ["1001"],
            ["rees46:x*.csv"],
        )
    finally:
        con.close()


# ---------------------------------------------------------------- paths out of the import folders

OUTSIDE = "the app loads files only from"


def link(target: Path | str, name: str) -> Callable[[World], str]:
    def build(w: World) -> str:
        (w.imports / name).symlink_to(target)
        return name

    return build


def hard_link(w: World) -> str:
    os.link(w.secret_files["data dir's pii.key"], w.imports / "hard.csv")
    return "hard.csv"


def folder_with(w: World, what: str) -> str:
    """A RetailRocket folder in the import folder, one of whose files leads out (or is a pipe)."""
    folder = retailrocket(w.imports)
    if what == "link":
        (folder / "events.csv").unlink()
        (folder / "events.csv").symlink_to(w.secret_files["CSV in /tmp"])
    else:
        os.mkfifo(folder / "item_properties_x.csv")
    return folder.name


ESCAPES: list[tuple[str, Callable[[World], str], str]] = [
    ("etc-passwd", lambda w: "/etc/passwd", OUTSIDE),
    ("proc-cmdline", lambda w: "/proc/self/cmdline", OUTSIDE),
    ("home-bashrc", lambda w: "~/.bashrc", OUTSIDE),
    ("etc-shadow", lambda w: "/etc/shadow", OUTSIDE),
    ("dev-zero", lambda w: "/dev/zero", OUTSIDE),
    ("missing-outside", lambda w: "/nonexistent/nothing.csv", OUTSIDE),
    ("tmp-secret", lambda w: str(w.secret_files["CSV in /tmp"]), OUTSIDE),
    ("beside-secret", lambda w: str(w.secret_files["CSV beside the data dir"]), OUTSIDE),
    ("pii-key", lambda w: str(w.secret_files["data dir's pii.key"]), OUTSIDE),
    ("data-dir-csv", lambda w: str(w.secret_files["CSV in the data dir"]), OUTSIDE),
    ("dotdot-pii-key", lambda w: "../pii.key", OUTSIDE),
    ("dotdot-beside", lambda w: "../../beside-secret.csv", OUTSIDE),
    ("absolute-dotdot", lambda w: f"{w.imports}/../notes.csv", OUTSIDE),
    ("dotdot-tmp", lambda w: "../" * 12 + str(w.secret_files["CSV in /tmp"]).lstrip("/"), OUTSIDE),
    ("symlink-passwd", link("/etc/passwd", "passwd.csv"), OUTSIDE),
    ("symlink-shadow", link("/etc/shadow", "shadow.csv"), OUTSIDE),
    ("symlink-pii-key", lambda w: link(w.secret_files["data dir's pii.key"], "key.csv")(w), OUTSIDE),
    ("symlink-tmp-secret", lambda w: link(w.secret_files["CSV in /tmp"], "tmp.csv")(w), OUTSIDE),
    ("symlink-to-data-dir", lambda w: link(w.data, "data")(w), OUTSIDE),
    ("symlink-through-data-dir", lambda w: link(w.data, "d")(w) + "/notes.csv", OUTSIDE),
    ("symlink-loop", lambda w: link(w.imports / "loop", "loop")(w), OUTSIDE),
    ("nul-in-path", lambda w: "x\0.csv", OUTSIDE),
    ("hard-link-to-pii-key", lambda w: hard_link(w), "is a link to a file of the data dir"),
    ("folder-with-a-link-out", lambda w: folder_with(w, "link"), r"rr/events\.csv links outside"),
    ("folder-with-a-pipe", lambda w: folder_with(w, "pipe"), r"item_properties_x\.csv is not a regular file"),
]


@pytest.mark.slow  # 50 cases, 10 s together
@pytest.mark.parametrize("fmt", ["auto-detect", "rees46"])
@pytest.mark.parametrize("escape", ESCAPES, ids=lambda e: e[0])
def test_a_path_out_of_the_import_folders_is_refused(
    escape: tuple, fmt: str, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    _, build, refused = escape
    typed = build(world)
    before, datasets = world.fingerprint("mine"), world.datasets()
    for name in ("mine", ""):  # into the existing dataset, and into a new one
        outcome = through_app(world.app, typed=typed, fmt=fmt, name=name)
        assert not outcome.ok, outcome.message
        assert re.search(refused, outcome.message), outcome.message
        assert world.fingerprint("mine") == before and world.datasets() == datasets
        world.assert_nothing_leaked(outcome.message, caplog=caplog)
    if refused == OUTSIDE:  # it says where files may come from and how to allow more
        assert str(world.imports) in outcome.message and "SHOPLENS_IMPORT_DIRS" in outcome.message


def test_the_refusal_does_not_tell_whether_a_path_exists(world: World) -> None:
    typed = [
        "/etc/passwd",
        "/etc/no-such-file",
        "/etc/shadow",
        "/root",
        "/nonexistent/dir/",
        str(world.secret_files["CSV in /tmp"]),
        str(world.secret_files["CSV in /tmp"]) + ".missing",
        "../pii.key",
        "../no-such.key",
        "../../beside-secret.csv",
        "../../beside-missing.csv",
    ]
    messages = {through_app(world.app, typed=t).message for t in typed}
    assert len(messages) == 1, messages
    (message,) = messages
    assert "passwd" not in message and "pii" not in message and "beside" not in message


def test_secrets_stay_out_of_reach_whatever_the_import_folders(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    write(world.data / "exports", "result-1.csv", secret_csv(world.markers["CSV in the data dir"]))
    inside_data = world.app_with(import_dirs=[world.data])
    around_data = world.app_with(import_dirs=[world.root])
    tries = [
        (inside_data, "pii.key"),
        (inside_data, "notes.csv"),
        (inside_data, "exports/result-1.csv"),
        (inside_data, "exports"),
        (inside_data, "."),
        (around_data, "data/pii.key"),
        (around_data, "data/notes.csv"),
        (around_data, "data"),
        (around_data, "."),  # a folder holding the data dir
    ]
    for app, typed in tries:
        for fmt in ("auto-detect", "rees46"):
            outcome = through_app(app, typed=typed, fmt=fmt, name="mine")
            assert not outcome.ok and "in the data dir" in outcome.message, (typed, outcome.message)
            world.assert_nothing_leaked(outcome.message, caplog=caplog)
    # The data dir's own imports folder stays open, from either setting.
    write(world.imports, "ok.csv", rees46(row(5)))
    assert through_app(inside_data, typed="imports/ok.csv").counts == (1, 1, 0)
    assert through_app(around_data, typed="data/imports/ok.csv").counts == (1, 1, 0)
    # And a folder the owner allowed works like the default one.
    write(world.root / "drop", "mine.csv", rees46(row(6), row(7)))
    dropped = world.app_with(import_dirs=[world.root / "drop"])
    assert through_app(dropped, typed="mine.csv").counts == (2, 2, 0)
    assert OUTSIDE in through_app(dropped, typed=str(world.imports / "ok.csv")).message


def test_an_upload_must_come_from_gradios_upload_folder(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.uploads.mkdir(parents=True, exist_ok=True)
    (world.uploads / "key.csv").symlink_to(world.secret_files["data dir's pii.key"])
    for upload in (
        "/etc/passwd",
        str(world.secret_files["CSV in /tmp"]),
        str(world.uploads / ".." / "beside-secret.csv"),
        str(world.uploads / "key.csv"),
        str(world.imports / ".." / "pii.key"),
    ):
        datasets = world.datasets()
        outcome = through_app(world.app, upload=upload, fmt="rees46")
        assert not outcome.ok and "was not uploaded through this app" in outcome.message, outcome.message
        assert world.datasets() == datasets
        world.assert_nothing_leaked(outcome.message, caplog=caplog)


def test_the_command_line_never_quotes_a_file_either(world: World, caplog: pytest.LogCaptureFixture) -> None:
    key = world.secret_files["data dir's pii.key"]
    outcome = through_cli(world, key)
    assert not outcome.ok and "could not tell the format of pii.key" in outcome.message
    outcome_device = through_cli(world, "/dev/zero")
    assert not outcome_device.ok and "zero is not a regular file" in outcome_device.message
    assert "fresh.duckdb" not in world.datasets()
    world.assert_nothing_leaked(outcome.message, outcome_device.message, caplog=caplog)


def test_import_folders_come_from_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPLENS_IMPORT_DIRS", f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}")
    assert Settings(data_dir=tmp_path).import_dirs == [tmp_path / "a", tmp_path / "b"]
    monkeypatch.setenv("SHOPLENS_IMPORT_DIRS", f'["{tmp_path / "c"}"]')
    assert Settings(data_dir=tmp_path).import_dirs == [tmp_path / "c"]
    monkeypatch.delenv("SHOPLENS_IMPORT_DIRS")
    settings = Settings(data_dir=tmp_path / "data")
    assert settings.import_dirs == [] and not (tmp_path / "data" / "imports").exists()
    assert import_folders(settings) == [(tmp_path / "data" / "imports").resolve()]
    assert (tmp_path / "data" / "imports").is_dir()  # made when first needed


# ---------------------------------------------------------------- CSV downloads


HOSTILE_CELLS = [
    "=1+1",
    "+cmd|' /C calc'!A0",
    "@sum(1+1)",
    '=HYPERLINK("http://x","y")',
    "-2+3",
    "\t=1",
    "\r=1",
]
LOADABLE_CELLS = ["=1+1", "+cmd|' /C calc'!A0", "@sum(1+1)", "-2+3", "=hyperlink(x)"]  # no comma or quote


def test_csv_downloads_cannot_run_as_spreadsheet_formulas(world: World) -> None:
    table = Table(
        columns=["=label", "count", "amount", "text"],
        rows=[[cell, -2, -2.5, "plain"] for cell in HOSTILE_CELLS]
        + [["-7", 0, -3.5, "-1e5"], [None, 1, 0.0, "a=b"], ["a\r=1+1", 3, 1.5, "b\r\n@x"]],
    )
    with open(world.app._csv(table), newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == ["'=label", "count", "amount", "text"]
    assert len(rows) == len(table.rows)  # a CR inside a cell did not start a row
    assert [r[0] for r in rows[: len(HOSTILE_CELLS)]] == ["'" + c.replace("\r", "\n") for c in HOSTILE_CELLS]
    # A negative number is a number, not a formula.
    assert all(r[1:] == ["-2", "-2.5", "plain"] for r in rows[: len(HOSTILE_CELLS)])
    assert rows[-3] == ["-7", "0", "-3.5", "-1e5"] and rows[-2] == ["", "1", "0.0", "a=b"]
    assert rows[-1] == ["a\n=1+1", "3", "1.5", "b\n@x"]
    assert [spreadsheet_safe(v) for v in (-2, 1.5, None, "ok", "-0.5")] == [-2, 1.5, None, "ok", "-0.5"]


def test_formulas_loaded_as_data_stay_data_and_download_defused(world: World) -> None:
    write(
        world.imports, "formulas.csv", rees46(*(row(n, brand=cell) for n, cell in enumerate(LOADABLE_CELLS)))
    )
    assert through_app(world.app, typed="formulas.csv", name="formulas").counts == (5, 5, 0)
    con = duckdb.connect(str(world.data / "formulas.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT product_id, brand FROM events ORDER BY product_id").fetchall()
    finally:
        con.close()
    assert [brand for _, brand in rows] == [c.lower() for c in LOADABLE_CELLS]  # stored as given (lower case)
    with open(world.app._csv(Table(columns=["product_id", "brand"], rows=rows)), newline="") as handle:
        cells = [r[1] for r in list(csv.reader(handle))[1:]]
    assert cells == ["'" + c.lower() for c in LOADABLE_CELLS]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
