from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant.settings import Settings


def test_defaults_point_at_the_embedded_duckdb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPLENS_DATA_DIR", raising=False)
    settings = Settings()
    assert settings.data_dir == Path("~/.shoplens").expanduser()
    assert settings.db_url == f"duckdb:///{Path('~/.shoplens').expanduser()}/shop.duckdb"


def test_env_vars_override_defaults_and_flags_override_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SHOPLENS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHOPLENS_WAREHOUSE", "rees46")
    monkeypatch.setenv("SHOPLENS_UI_PORT", "9000")
    settings = Settings()
    assert settings.db_url == f"duckdb:///{tmp_path}/rees46.duckdb"
    assert settings.ui_port == 9000
    flagged = settings.with_overrides(ui_port=9100, warehouse=None)
    assert flagged.ui_port == 9100
    assert flagged.warehouse == "rees46"  # None means "flag not given"


def test_database_url_wins_over_warehouse_name(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="sqlite:///x.db")
    assert settings.db_url == "sqlite:///x.db"


@pytest.mark.parametrize("name", ["../etc", "a b", ""])
def test_warehouse_names_cannot_escape_the_data_dir(name: str) -> None:
    with pytest.raises(ValidationError):
        Settings(warehouse=name)
