"""A throwaway PostgreSQL server for the tests and the load benchmark: Debian's binaries
(`make install-postgres`), a fresh cluster in a temporary folder, reachable only on a Unix socket
there, stopped and removed afterwards. Run as the `postgres` system user when the tests run as
root (initdb refuses root)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are: PATH, else Debian's versioned folder (newest first)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    folders = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True
    )
    return Path(folders[0]) if folders else None


@contextmanager
def local_postgres(port: int) -> Iterator[str]:
    """A running server; yields its SQLAlchemy URL (database `postgres`, superuser `shoplens`)."""
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed: make install-postgres")
    root = Path(tempfile.mkdtemp(prefix="shoplens-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log = root / "data", root / "server.log"

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "shoplens", "--auth=trust", "-E", "UTF8", "--no-sync")
    options = f"-k {root} -p {port} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
    try:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o", options, "start")
        yield f"postgresql+psycopg://shoplens@/postgres?host={root}&port={port}"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(url: str, name: str) -> str:
    """An empty database `name` on the server of `url` (dropped first if there); its URL. Tests
    that load their own data use one each, and leave the others' alone."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
