"""Personal data planted in a real sample is masked on load: nothing personal is stored, so
nothing personal can reach the model, the app or the logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from assistant.warehouse.load import load_file

from .conftest import real

REES46 = "rees46/rees46_2019-Oct_phamhoa2416_sample.csv"


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """The REES46 sample's first 200 rows, with e-mails as user ids, a phone in a brand, an IP in
    a session id and an e-mail in a line too broken to parse."""
    lines = real(REES46).read_text(encoding="utf-8-sig").splitlines()[:201]
    out = [lines[0]]
    for i, line in enumerate(lines[1:]):
        fields = line.split(",")
        if i % 10 == 0:
            fields[7] = "jane.doe@example.com"  # user_id
        if i == 5:
            fields[5] = "call +1 (555) 123-4567"  # brand
        if i == 7:
            fields[8] = "session-from-192.168.10.77"
        out.append(",".join(fields))
    out.append("2019-10-01 00:00:09 UTC,view,broken line of bob@example.org")
    path = tmp_path / "planted.csv"
    path.write_text("\n".join(out) + "\n")
    return path


def _all_text(warehouse: Warehouse) -> str:
    with warehouse.engine.connect() as conn:
        return "\n".join(
            str(row)
            for table in ("events", "users", "products", "rejected_rows")
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}").fetchall()
        )


def test_personal_data_is_masked_before_it_is_stored(tmp_path: Path, planted: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", duckdb_memory_limit="1GB")
    with Warehouse(settings) as warehouse:
        warehouse.ensure_schema()
        report = load_file(warehouse, planted)
        stored = _all_text(warehouse)
        pseudonyms = (
            warehouse.engine.connect()
            .exec_driver_sql("SELECT DISTINCT user_id FROM events WHERE user_id LIKE 'pii_%'")
            .fetchall()
        )
    leaks = [
        line for line in stored.splitlines() if "@" in line or "123-4567" in line or "192.168.10.77" in line
    ]
    assert leaks == []
    assert len(pseudonyms) == 1  # one person, one pseudonym: counts per user still hold
    assert "541312140" in stored  # numeric ids are not phone numbers
    assert "[email]" in stored and "call [phone]" in stored  # spans in free text
    assert stored.count("'pii_") > 20  # whole values in id columns (the IP's session id too)
    assert report.pii_masked == {
        "user_id: email": 20,
        "session_id: ip": 1,
        "brand: phone": 1,
        "raw: email": 1,
    }
    assert report.rows_loaded == 200 and report.rows_rejected == 1


def test_pseudonyms_are_stable_across_loads_and_masking_can_be_turned_off(
    tmp_path: Path, planted: Path
) -> None:
    data = tmp_path / "data"
    ids = []
    for name in ("a", "b"):
        with Warehouse(Settings(data_dir=data, warehouse=name)) as warehouse:
            warehouse.ensure_schema()
            load_file(warehouse, planted)
            ids.append(warehouse.scalar("SELECT min(user_id) FROM events WHERE user_id LIKE 'pii_%'"))
    assert ids[0] == ids[1] and (data / "pii.key").stat().st_mode & 0o077 == 0
    with Warehouse(Settings(data_dir=tmp_path / "other", pii_masking=False)) as warehouse:
        warehouse.ensure_schema()
        report = load_file(warehouse, planted)
        assert report.pii_masked == {}
        assert warehouse.scalar("SELECT count(*) FROM events WHERE user_id = 'jane.doe@example.com'") == 20
