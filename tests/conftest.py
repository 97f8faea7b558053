"""Shared fixtures: a fresh settings object and warehouse per test, and the real data samples.

Tiers (markers, pyproject.toml): `model` starts the real LLM engine, `engines` tests the engines
themselves, `browser` drives Chromium, `real_data` reads ../shared/data/real through `real()`,
`slow` takes over 10 s. `make test-fast` runs all but model, engines, browser and slow.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import hypothesis
import pytest

from assistant.embeddings import Encoder
from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from assistant.warehouse.demo import generate

# The CLI's rich console takes its width from COLUMNS when it is made; pytest-xdist's workers (make
# test-fast) set COLUMNS=80, which would wrap the lines the CLI tests read.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["COLUMNS"] = "200"

# The property tests try 400 generated cases each (`make test`, CI); `make test-fast` passes
# --hypothesis-profile dev for 50, enough to catch a broken property in the inner loop.
hypothesis.settings.register_profile("ci", max_examples=400)
hypothesis.settings.register_profile("dev", max_examples=50)
hypothesis.settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The real samples live beside the checkout (../shared/data/real), never in the repository.
REAL = Path(os.environ.get("SHOPLENS_REAL_DATA", REPO.parent / "shared" / "data" / "real"))


_running: pytest.Item | None = None


def pytest_runtest_setup(item: pytest.Item) -> None:
    global _running
    _running = item  # before the item's fixtures, module-scoped ones included, are set up


def real(relative: str) -> Path:
    """A real sample file; in CI its absence fails the test, elsewhere it skips it."""
    if _running is not None and _running.get_closest_marker("real_data") is None:
        warnings.warn(
            pytest.PytestWarning(f"{_running.nodeid} reads a real sample: mark it real_data"), stacklevel=2
        )
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


class _LazyEncoder:
    """The packaged sentence encoder, loaded on first use: a test that never embeds anything
    does not wait the seconds it takes to load."""

    def __init__(self) -> None:
        self._encoder: Encoder | None = None

    def __getattr__(self, name: str) -> Any:
        if self._encoder is None:
            self._encoder = Encoder()
        return getattr(self._encoder, name)


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """One encoder for the whole run."""
    return cast(Encoder, _LazyEncoder())


@pytest.fixture
def warehouse(settings: Settings) -> Iterator[Warehouse]:
    with Warehouse(settings) as wh:
        wh.ensure_schema()
        yield wh


class DemoShops:
    """Demo shops generated once per run (per xdist worker) and copied into each test's data dir:
    the 300k-event shop takes over a second to generate, a copy a few milliseconds."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def copy(self, data_dir: Path, events: int, seed: int) -> dict[str, Any]:
        """The demo shop of `events` and `seed` as dataset "shop" (the default) of `data_dir`; its manifest."""
        made = self.root / f"{events}-{seed}"
        if not made.exists():
            with Warehouse(Settings(data_dir=made / "tmp", warehouse="shop")) as writer:
                generate(writer, events, seed=seed)
            (made / "tmp").rename(made / "data")
        data_dir.mkdir(parents=True, exist_ok=True)
        for path in (made / "data").iterdir():
            shutil.copy2(path, data_dir / path.name)
        return json.loads((data_dir / "shop.demo-manifest.json").read_text())


@pytest.fixture(scope="session")
def demo_shops(tmp_path_factory: pytest.TempPathFactory) -> DemoShops:
    return DemoShops(tmp_path_factory.mktemp("demo-shops"))


def free_port() -> int:
    """A TCP port nothing listens on now (for an engine a test starts)."""
    from assistant.llm.server import free_port as unused_port

    return unused_port()


@pytest.fixture(scope="session")
def llama_server(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The default model on llama.cpp, on a free port, for all the tests of a run (tier `model`).
    One engine for the run: the system prompts of consecutive tests share their tools and
    examples, which it then reads once (minutes on 2 slow cores), and reads saved by a warm-up
    go to the store in pytest's cache. The weights are kept there too, pulled once per checkout."""
    from assistant.llm.engines import LlamaCppEngine
    from assistant.llm.models import DEFAULT_MODEL
    from assistant.llm.server import ManagedServer

    settings = Settings(
        data_dir=request.config.cache.mkdir("shoplens-models"), model=DEFAULT_MODEL, llm_port=free_port()
    )
    llama = LlamaCppEngine(settings)
    llama.prepare()
    with ManagedServer(llama, settings.data_dir / "logs") as server:
        yield server


@pytest.fixture(scope="session")
def spark_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local Spark Thrift Server (assistant/warehouse/spark.py) for the tests of one run (per
    xdist worker). Without pyspark or Java the test skips, except in CI, where it fails."""
    import shutil

    from assistant.warehouse import spark

    try:
        spark.spark_home()
        if shutil.which("java") is None:
            raise RuntimeError("Java is not installed")
    except RuntimeError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Spark is required in CI ({exc}): make install-spark")
        pytest.skip(f"Spark is not installed ({exc}): make install-spark")
    with spark.thrift_server(tmp_path_factory.mktemp("spark")) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway local PostgreSQL (eval/bench/postgres.py) for the tests of one run (per xdist worker).
    Without Debian's server binaries the test skips, except in CI, where it fails."""
    from eval.bench.postgres import local_postgres, postgres_bindir

    if postgres_bindir() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is required in CI: make install-postgres")
        pytest.skip("PostgreSQL is not installed: make install-postgres")
    with local_postgres(free_port()) as url:
        yield url
