"""Folder watch (`shoplens data watch`, `launch.py --watch-folder`): export files are loaded as
they land, each once; a changed file replaces its rows; nothing half-written or temporary loads."""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import pytest

from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from assistant.warehouse.folder_watch import FolderWatch, WatchedFile, record_path, watching
from assistant.warehouse.load import LoadReport, load_into

from .conftest import real
from .test_cli import shoplens

HEADER = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n"


def view(second: int, user: int = 7, price: str = "10.50") -> str:
    return f"2019-10-01 00:00:{second:02d} UTC,view,{1000 + second},1,electronics.audio,sony,{price},{user},s{user}\n"


def export(path: Path, text: str, age_seconds: float = 60.0) -> Path:
    """A file as an exporter leaves it: written, then untouched for `age_seconds`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    settled = time.time() - age_seconds
    os.utime(path, (settled, settled))
    return path


def make_watch(settings: Settings, folder: Path, **options: float) -> FolderWatch:
    folder.mkdir(parents=True, exist_ok=True)
    return FolderWatch(
        folder,
        record_path(settings, folder),
        lambda path, name: load_into(settings, path, name=name),
        **options,
    )


def scalar(settings: Settings, sql: str) -> object:
    with Warehouse(settings, read_only=True) as reader:
        return reader.scalar(sql)


def loaded(entries: list[WatchedFile]) -> list[str]:
    return [e.name for e in entries if e.report is not None]


@pytest.mark.real_data
def test_hourly_exports_load_once_each_and_add_up_to_the_whole_file(
    settings: Settings, tmp_path: Path
) -> None:
    """The real REES46 sample cut into hourly exports, each named events.csv in its own hour's
    folder (as trackers write them): the watch loads each once, and the dataset ends with what
    loading the whole file gives."""
    source = real("rees46/rees46_2019-Oct_phamhoa2416_sample.csv")
    with source.open(newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader)
        hours: dict[str, list[list[str]]] = {}
        for row in reader:
            hours.setdefault(row[0][:13].replace(" ", "T"), []).append(row)
    assert len(hours) == 3  # 00:00-02:28
    folder = tmp_path / "exports"
    for hour, rows in hours.items():
        path = folder / hour / "events.csv"
        path.parent.mkdir(parents=True)
        with path.open("w", newline="") as out:
            csv.writer(out).writerows([header, *rows])
        os.utime(path, (time.time() - 60, time.time() - 60))

    watch = make_watch(settings, folder)
    first = watch.scan()
    assert loaded(first) == [f"{hour}/events.csv" for hour in sorted(hours)]
    assert all(e.error is None for e in first)
    assert watch.scan() == []  # nothing new
    assert make_watch(settings, folder).scan() == []  # nor after a restart (the record is kept)

    whole = settings.with_overrides(warehouse="whole")
    load_into(whole, source)
    figures = (
        "SELECT count(*) || ' ' || count(DISTINCT user_id) || ' ' || round(sum(price), 2)"
        " || ' ' || (SELECT count(*) FROM rejected_rows) FROM events"
    )
    assert scalar(settings, figures) == scalar(whole, figures)
    assert scalar(settings, figures).startswith("4999 ")
    labels = scalar(settings, "SELECT string_agg(source_dataset, ',' ORDER BY source_dataset) FROM loads")
    assert labels.split(",") == [f"rees46:{hour}/events.csv" for hour in sorted(hours)]


def test_a_changed_export_replaces_its_rows_and_a_touched_one_is_not_loaded_again(
    settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    path = export(folder / "hour-00.csv", HEADER + view(1) + view(2))
    watch = make_watch(settings, folder)
    assert loaded(watch.scan()) == ["hour-00.csv"]
    assert scalar(settings, "SELECT count(*) FROM events") == 2

    export(path, HEADER + view(1) + view(2) + view(3), age_seconds=30)  # a corrected export
    assert loaded(watch.scan()) == ["hour-00.csv"]
    assert scalar(settings, "SELECT count(*) FROM events") == 3  # replaced, not 5

    os.utime(path, (time.time() - 10, time.time() - 10))  # touched, content unchanged
    assert watch.scan() == []
    assert watch.record.files["hour-00.csv"].mtime_ns == path.stat().st_mtime_ns


def test_files_still_being_written_and_temporary_names_are_left_alone(
    settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    fresh = export(folder / "hour-01.csv", HEADER + view(1), age_seconds=0)
    for name in ("hour-02.csv.part", ".hour-03.csv", "hour-04.csv.tmp", "~lock.csv", ".staging/hour-05.csv"):
        export(folder / name, HEADER + view(5))
    watch = make_watch(settings, folder, settle_seconds=5)
    assert watch.scan() == []  # the one real export is too fresh: its writer may not be done
    assert loaded(watch.scan(now=time.time() + 6)) == ["hour-01.csv"]
    assert scalar(settings, "SELECT count(*) FROM events") == 1
    (folder / "hour-02.csv.part").rename(folder / "hour-02.csv")  # the exporter's final rename
    assert loaded(watch.scan(now=time.time() + 6)) == ["hour-02.csv"]
    assert fresh.exists()


def test_a_copy_of_a_loaded_export_under_another_name_is_not_loaded_twice(
    settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    export(folder / "hour-00.csv", HEADER + view(1) + view(2))
    watch = make_watch(settings, folder)
    watch.scan()
    export(folder / "hour-00 (1).csv", HEADER + view(1) + view(2))  # the same export sent again
    [entry] = watch.scan()
    assert entry.report is None and entry.skipped and "same content as hour-00.csv" in entry.skipped
    assert scalar(settings, "SELECT count(*) FROM events") == 2


def test_a_bad_file_is_recorded_and_tried_again_later_while_the_others_load(
    settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    bad = export(folder / "a-broken.csv", "this is not an export\x00\x01 of any kind\n" * 3)
    export(folder / "b-hour.csv", HEADER + view(1))
    watch = make_watch(settings, folder, retry_seconds=60)
    now = time.time()
    tried = {e.name: e for e in watch.scan(now=now)}
    assert tried["b-hour.csv"].report is not None
    assert tried["a-broken.csv"].error and tried["a-broken.csv"].failures == 1
    assert watch.scan(now=now + 30) == []  # not due yet: a broken file is not re-read every look
    [again] = watch.scan(now=now + 61)
    assert (
        again.name == "a-broken.csv"
        and again.failures == 2
        and again.retry_at == pytest.approx(now + 61 + 120)
    )
    export(bad, HEADER + view(9), age_seconds=20)  # fixed by its sender
    assert loaded(watch.scan(now=now + 62)) == ["a-broken.csv"]
    assert scalar(settings, "SELECT count(*) FROM events") == 2
    assert watch.record.files["a-broken.csv"].error is None


def test_a_crash_before_the_record_is_saved_loads_the_file_again_without_doubling_it(
    settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    export(folder / "hour-00.csv", HEADER + view(1) + view(2))
    watch = make_watch(settings, folder)
    watch.scan()
    watch.record_file.unlink()  # as if killed between the load's commit and the record's write
    assert loaded(make_watch(settings, folder).scan()) == ["hour-00.csv"]
    assert scalar(settings, "SELECT count(*) FROM events") == 2


def test_the_cli_loads_what_landed_and_then_nothing_new(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    export(folder / "hour-00.csv", HEADER + view(1) + view(2) + "2019-10-01 00:00:03 UTC,click,1,1,,,1,7,s\n")
    code, out = shoplens(tmp_path / "data", "data", "watch", str(folder), "--once")
    assert code == 0, out
    assert "rees46:hour-00.csv" in out and "2 loaded" in out and "1 rejected" in out
    code, out = shoplens(tmp_path / "data", "data", "watch", str(folder), "--once")
    assert code == 0 and "nothing new" in out, out
    export(folder / "junk.csv", "\x00\x01\x02 not data\n")
    code, out = shoplens(tmp_path / "data", "data", "watch", str(folder), "--once")
    assert code == 1 and "junk.csv" in out and "tried again later" in out, out
    code, out = shoplens(tmp_path / "data", "data", "watch", str(tmp_path / "nowhere"), "--once")
    assert code != 0 and "no such folder" in out, out


@pytest.mark.slow  # opening the dataset in the workspace takes 10-20 s here
def test_the_app_loads_watched_files_while_it_holds_the_dataset_open(
    settings: Settings, tmp_path: Path
) -> None:
    """In the app's process (`launch.py --watch-folder`) the loads go through the workspace,
    which closes its own read-only hold for the load: the status line's counts follow."""
    from assistant.workspace import Workspace

    from .test_agent_units import ENDPOINT

    folder = tmp_path / "exports"
    export(folder / "hour-00.csv", HEADER + view(1))
    load_into(settings, folder / "hour-00.csv")
    with Workspace(settings, ENDPOINT, encoder=None) as ws:
        dataset = ws.default_dataset
        assert next(t.rows for t in ws.info(dataset).tables if t.name == "events") == 1  # held open now
        export(folder / "hour-01.csv", HEADER + view(2, user=8) + view(3, user=8))

        def load(path: Path, name: str) -> LoadReport:
            return ws.load(path, dataset, name=name)

        with watching(settings.with_overrides(watch_folder=folder, watch_folder_seconds=0.2), load) as watch:
            deadline = time.monotonic() + 30
            while next(t.rows for t in ws.info(dataset).tables if t.name == "events") != 3:
                assert time.monotonic() < deadline, "the watched files never showed in the app"
                time.sleep(0.2)
            assert watch is not None and sorted(loaded(list(watch.record.files.values()))) == [
                "hour-00.csv",
                "hour-01.csv",
            ]
    # hour-00.csv, loaded by hand before under the same name, was replaced: 1 + 2 events, not 4.
    assert scalar(settings, "SELECT count(*) FROM events") == 3


def test_launch_refuses_a_watch_folder_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import launch

    with pytest.raises(SystemExit) as stopped:
        launch.main(["--data-dir", str(tmp_path), "--watch-folder", str(tmp_path / "nowhere"), "--no-engine"])
    assert stopped.value.code == 2
    assert "--watch-folder: no such folder" in capsys.readouterr().err
