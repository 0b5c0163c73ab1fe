"""Live service for the setup tests: a real ``setupwizard serve`` child process on SQLite or PostgreSQL.

Every module using ``live`` runs twice, once per database. PostgreSQL gets a fresh database per module.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from setupwizard.config import Settings
from tests.integration.web.live import ADMIN_PASSWORD, ADMIN_USER, Login, ProcessServer
from tests.support import missing_dependency

PG_ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-v", "ON_ERROR_STOP=1", "-qc"]


@dataclass(frozen=True)
class Store:
    """Where a live server keeps its data."""

    kind: str  # sqlite | postgresql
    url: str
    data_dir: Path
    pg_database: str | None = None

    def dump(self) -> bytes:
        """Everything the database holds, as bytes (the SQLite files, or a pg_dump)."""
        if self.pg_database is None:
            return b"".join(p.read_bytes() for p in sorted(self.data_dir.glob("setupwizard.db*")))
        return subprocess.run(
            ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "--data-only", self.pg_database],
            check=True,
            capture_output=True,
        ).stdout


def _psql(sql: str) -> None:
    subprocess.run([*PG_ADMIN, sql], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    data_dir = tmp_path_factory.mktemp(f"setup-{request.param}")
    if request.param == "sqlite":
        yield Store("sqlite", "", data_dir)
        return
    name = f"swtest_{uuid.uuid4().hex[:12]}"
    try:
        _psql(f"CREATE DATABASE {name}")
    except (OSError, subprocess.CalledProcessError) as exc:
        missing_dependency("PostgreSQL on 127.0.0.1:5432", f"start it (scripts/ensure-services.sh): {exc}")
    yield Store("postgresql", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", data_dir, name)
    _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def settings_for(store: Store) -> Settings:
    return Settings(
        data_dir=store.data_dir,
        database_url=store.url,
        admin_user=ADMIN_USER,
        admin_password=ADMIN_PASSWORD,
        event_flush_seconds=0.2,
        log_level="info",
    )


@pytest.fixture(scope="module")
def live(store: Store) -> Iterator[ProcessServer]:
    server = ProcessServer(settings_for(store), store.data_dir / "server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def owner(live: ProcessServer) -> Login:
    return live.create_user("owner", "owner-password-1234")


@pytest.fixture(scope="module")
def other(live: ProcessServer) -> Login:
    return live.create_user("other", "other-password-1234")
