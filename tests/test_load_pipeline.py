"""The load pipeline on bad input: nothing is dropped silently, nothing is half-written."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import sqlalchemy as sa

from assistant.settings import Settings
from assistant.warehouse import load as load_module
from assistant.warehouse.db import Warehouse
from assistant.warehouse.load import LoadError, load_file
from assistant.warehouse.loaders import UnknownFormat

from .conftest import FIXTURES, REPO, real

REES46_HEADER = (
    "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n"
)
GOOD = "2019-10-01 00:00:0{s} UTC,view,100{s},1,electronics.audio,sony,10.50,7,sess\n"


def write(path: Path, text: str, bom: bool = False) -> Path:
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return path


def counts(warehouse: Warehouse) -> dict[str, int]:
    return {t.name: t.rows for t in warehouse.info().tables}


def test_every_bad_row_is_rejected_with_its_reason_and_the_rest_loads(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "messy.csv",
        REES46_HEADER
        + GOOD.format(s=1)
        + "2019-10-01 00:00:02 UTC,view,1002\n"  # too few fields
        + "2019-10-01 00:00:03 UTC,view,1003,1,,,1.0,7,sess,EXTRA\n"  # too many
        + "yesterday,view,1004,1,,,1.0,7,sess\n"
        + "2019-10-01 00:00:05 UTC,click,1005,1,,,1.0,7,sess\n"
        + "2019-10-01 00:00:06 UTC,view,1006,1,,,-3.0,7,sess\n"
        + "2019-10-01 00:00:07 UTC,view,1007,1,,,1.0,,sess\n"
        + "2019-10-01 00:00:08 UTC,view,1008,1,,,abc,7,sess\n"
        + "1970-01-01 00:00:09 UTC,view,1009,1,,,1.0,7,sess\n"
        + GOOD.format(s=9)
        + "2019-10-01 00:00:10 UTC,purch",  # truncated last line, no newline
        bom=True,
    )
    report = load_file(warehouse, path)
    assert report.rows_loaded == 2
    assert report.rejected_by_reason == {
        "malformed row: missing columns": 2,
        "malformed row: too many columns": 1,
        "missing or unparseable event_time": 1,
        "unknown event_type": 1,
        "negative price": 1,
        "missing user_id": 1,
        "unparseable price": 1,
        "event_time out of range (before 1990 or in the future)": 1,
    }
    assert report.rows_read == 11
    with warehouse.engine.connect() as conn:
        raw = dict(
            conn.execute(sa.text("SELECT reason, raw FROM rejected_rows WHERE reason LIKE 'unknown%'")).all()
        )
        lines = conn.execute(
            sa.text("SELECT line_number, raw FROM rejected_rows WHERE reason LIKE 'malformed%' ORDER BY 1")
        ).all()
        first = conn.execute(sa.text("SELECT event_time FROM events ORDER BY 1 LIMIT 1")).scalar()
    assert raw["unknown event_type"] == "2019-10-01 00:00:05 UTC,click,1005,1,,,1.0,7,sess"
    assert [n for n, _ in lines] == [3, 4, 12]  # line numbers in the file (the header is line 1)
    assert lines[-1][1] == "2019-10-01 00:00:10 UTC,purch"
    assert str(first) == "2019-10-01 00:00:01"  # the BOM did not eat the first column


def test_a_failure_midway_leaves_the_warehouse_as_it_was(
    warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_file(warehouse, write(tmp_path / "a.csv", REES46_HEADER + GOOD.format(s=1)))
    before = counts(warehouse)

    def broken(*args: object) -> str:
        raise OSError("No space left on device")

    monkeypatch.setattr(load_module, "_upsert_users", broken)
    with pytest.raises(
        LoadError, match="failed and was rolled back, the warehouse is as it was: No space left"
    ):
        load_file(warehouse, write(tmp_path / "b.csv", REES46_HEADER + GOOD.format(s=2) + GOOD.format(s=3)))
    assert counts(warehouse) == before
    monkeypatch.undo()
    # The same reload after the failure works: the earlier attempt left nothing behind.
    assert load_file(warehouse, tmp_path / "b.csv").rows_loaded == 2
    assert counts(warehouse)["events"] == 3


def test_unknown_files_get_a_clear_error_and_change_nothing(warehouse: Warehouse, tmp_path: Path) -> None:
    with pytest.raises(UnknownFormat, match=r"could not tell the format of notes\.txt .*pass --format"):
        load_file(warehouse, write(tmp_path / "notes.txt", "dear diary\nit rained\n"))
    with pytest.raises(UnknownFormat, match="unknown format 'excel'"):
        load_file(warehouse, tmp_path / "notes.txt", format="excel")
    with pytest.raises(LoadError, match="no such file"):
        load_file(warehouse, tmp_path / "missing.csv")
    with pytest.raises(UnknownFormat, match="empty file"):
        load_file(warehouse, write(tmp_path / "empty.csv", ""))
    with pytest.raises(UnknownFormat, match="empty file"):
        load_file(warehouse, tmp_path / "empty.csv", format="rees46")
    assert counts(warehouse)["events"] == 0


@pytest.mark.real_data
def test_forcing_the_wrong_format_is_refused_and_loads_nothing(warehouse: Warehouse) -> None:
    with pytest.raises(LoadError, match=r"none of the 5,000 rows .* could be read .*too many columns"):
        load_file(warehouse, real("rees46/rees46_2019-Oct_phamhoa2416_sample.csv"), format="taobao")
    assert counts(warehouse) == {name: 0 for name in counts(warehouse)}


def test_retailrocket_folder_with_properties_and_category_tree(warehouse: Warehouse) -> None:
    report = load_file(warehouse, FIXTURES / "retailrocket")
    assert report.format == "retailrocket"
    assert report.source_dataset == "retailrocket:retailrocket"
    assert report.rows_loaded == 19
    assert report.rejected_by_reason == {
        "malformed row: missing columns": 1,
        "missing visitorid": 1,
        "unknown event": 1,
        "unparseable timestamp": 1,
    }
    with warehouse.engine.connect() as conn:
        paths = dict(conn.execute(sa.text("SELECT product_id, category_path FROM products")).all())
        orders = dict(conn.execute(sa.text("SELECT order_id, distinct_products FROM orders")).all())
        sessions = conn.execute(
            sa.text("SELECT session_id, events FROM sessions WHERE user_id = '257597' ORDER BY session_start")
        ).all()
    # 248676's latest categoryid (part 2) is 1509, a child of root 140.
    assert paths["248676"] == "140 > 1509"
    assert paths["318965"] == "140 > 1509 > 1277"
    assert paths["355908"] == "140 > 805 > 1173"
    assert paths["999999"] is None  # no properties for it
    assert orders == {"4000": 2, "4001": 1}
    # 32 minutes without an event start a new session.
    assert [tuple(s) for s in sessions] == [("257597#1", 1), ("257597#2", 4)]


def test_loading_through_events_csv_of_the_folder_is_the_same_load(warehouse: Warehouse) -> None:
    load_file(warehouse, FIXTURES / "retailrocket")
    report = load_file(warehouse, FIXTURES / "retailrocket" / "events.csv")
    assert report.source_dataset == "retailrocket:retailrocket"
    assert counts(warehouse)["events"] == 19


def test_compressed_and_oddly_named_files_load(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "it's; DROP TABLE events; --.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(REES46_HEADER + GOOD.format(s=1) + GOOD.format(s=2))
    report = load_file(warehouse, path)
    assert report.rows_loaded == 2
    assert report.source_dataset == "rees46:it's; DROP TABLE events; --.csv.gz"
    assert counts(warehouse)["events"] == 2


@pytest.mark.real_data
def test_progress_is_reported_from_start_to_end(warehouse: Warehouse) -> None:
    seen: list[tuple[str, float | None]] = []
    load_file(
        warehouse,
        real("taobao/UserBehavior_rdav27_flink_ecommerce.csv"),
        progress=lambda s, f: seen.append((s, f)),
    )
    reading = [f for s, f in seen if s == "reading"]
    assert reading[0] == 0.0 and reading[-1] == 1.0
    assert reading == sorted(reading)
    assert [s for s, _ in seen][-1] == "updating products and users"


@pytest.mark.real_data
def test_loading_into_another_database_gives_the_same_tables(tmp_path: Path) -> None:
    path = real("taobao/UserBehavior_fattydelivery.csv")
    results = []
    for url in (None, f"sqlite:///{tmp_path / 'shop.sqlite'}"):
        settings = Settings(data_dir=tmp_path / "d", database_url=url)
        with Warehouse(settings) as wh:
            wh.ensure_schema()
            load_file(wh, path)
            load_file(wh, path)  # idempotent there too
            info = wh.info()
            results.append(({t.name: t.rows for t in info.tables}, [s.model_dump() for s in info.funnel]))
    duck, sqlite = results
    assert duck == sqlite
    assert duck[0]["events"] == 4_320


@pytest.mark.real_data
def test_instacart_event_times_keep_the_gaps_between_orders(warehouse: Warehouse) -> None:
    load_file(warehouse, real("instacart/df_sample.csv"))
    with warehouse.engine.connect() as conn:
        # user 1: orders 1..10 with days_since_prior_order 15, 21, 29, 28, 19, 20, 14, 0, 30
        days = (
            conn.execute(
                sa.text(
                    """SELECT date_diff('day', lag(t) OVER (ORDER BY t), t) FROM
                   (SELECT min(event_time)::DATE t FROM events WHERE user_id = '1' GROUP BY order_id) ORDER BY t"""
                )
            )
            .scalars()
            .all()
        )
    assert days[1:] == [15, 21, 29, 28, 19, 20, 14, 0, 30]


FULL_DISK_LOAD = """
import resource, signal, sys
from pathlib import Path
from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from assistant.warehouse.load import LoadError, load_file

data, limit, source = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
# The disk "fills" when the warehouse file would grow past `limit` bytes (EFBIG instead of ENOSPC,
# same failure for DuckDB, and no privileges needed).
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
with Warehouse(Settings(data_dir=data, duckdb_memory_limit="1GB")) as warehouse:
    try:
        load_file(warehouse, source)
        print("loaded")
    except LoadError as exc:
        print(exc)
"""


@pytest.mark.real_data
def test_a_disk_that_fills_during_a_load_leaves_the_warehouse_as_it_was(tmp_path: Path) -> None:
    import subprocess
    import sys

    settings = Settings(data_dir=tmp_path, duckdb_memory_limit="1GB")
    with Warehouse(settings) as warehouse:
        warehouse.ensure_schema()
        load_file(warehouse, real("rees46/rees46_2019-Oct_phamhoa2416_sample.csv"))
        before = warehouse.info()
    file = tmp_path / "shop.duckdb"
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK_LOAD, str(tmp_path), str(file.stat().st_size + 200_000),
         str(real("taobao/UserBehavior_rdav27_flink_ecommerce.csv"))],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert "failed and was rolled back, the warehouse is as it was" in done.stdout, done.stdout + done.stderr
    with Warehouse(settings, read_only=True) as warehouse:
        after = warehouse.info()
    assert [(t.name, t.rows) for t in after.tables] == [(t.name, t.rows) for t in before.tables]
    assert [load.source_dataset for load in after.loads] == ["rees46:rees46_2019-Oct_phamhoa2416_sample.csv"]
