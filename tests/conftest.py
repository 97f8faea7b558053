"""Shared fixtures: a fresh settings object and warehouse per test, and the real data samples."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.settings import Settings
from assistant.warehouse.db import Warehouse

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The real samples live beside the checkout (../shared/data/real), never in the repository.
REAL = Path(os.environ.get("SHOPLENS_REAL_DATA", REPO.parent / "shared" / "data" / "real"))


def real(relative: str) -> Path:
    """A real sample file; in CI its absence fails the test, elsewhere it skips it."""
    path = REAL / relative
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"real sample missing in CI: {path}")
        pytest.skip(f"real sample not found: {path} (set SHOPLENS_REAL_DATA)")
    return path


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in list(os.environ):
        if key.startswith("SHOPLENS_") and key != "SHOPLENS_REAL_DATA":
            monkeypatch.delenv(key)
    return Settings(data_dir=tmp_path / "data", duckdb_memory_limit="1GB")


@pytest.fixture
def warehouse(settings: Settings) -> Iterator[Warehouse]:
    with Warehouse(settings) as wh:
        wh.ensure_schema()
        yield wh
