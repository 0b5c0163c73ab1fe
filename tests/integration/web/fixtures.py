"""Fixtures with the real databases and a real uvicorn, shared by every web-facing test.

Registered for the whole suite in ``tests/conftest.py`` (``pytest_plugins``):

- ``db_url``: parametrized ``sqlite`` / ``postgres``. SQLite is a file in the test's tmp dir; PostgreSQL is
  a fresh database created for the test on 127.0.0.1:5432 and dropped afterwards (concurrent runs never
  collide). PostgreSQL missing → skipped locally, failed under CI=true (tests.support.missing_dependency).
- ``make_settings``: build Settings for a test (tmp data dir, ``db_url``, the test admin) with overrides.
- ``live_server``: a started :class:`ThreadServer` on ``db_url``; ``live_server_factory`` starts more
  (``process=True`` for a child process that can be SIGKILLed).
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
from sqlalchemy.engine import make_url

from setupwizard.config import Settings
from tests.integration.web.live import ADMIN_PASSWORD, ADMIN_USER, LiveServer, ProcessServer, ThreadServer
from tests.support import missing_dependency

T = TypeVar("T")

POSTGRES_URL = os.environ.get(
    "SETUPWIZARD_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
POSTGRES_HOW = (
    "start PostgreSQL on 127.0.0.1:5432 with trust auth (`make services`), "
    "or set SETUPWIZARD_TEST_POSTGRES_URL"
)


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a private loop in a worker thread (safe inside any test)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(factory())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy ``postgresql+asyncpg://`` URL as a plain DSN for asyncpg.connect."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_execute(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(asyncpg_dsn(url), timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    """Whether PostgreSQL answers (checked once per session)."""
    try:
        run_sync(lambda: _pg_execute(POSTGRES_URL, "SELECT 1"))
    except Exception:
        return False
    return True


@pytest.fixture
def postgres_url(postgres_available: bool) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test (dropped at the end), as an asyncpg URL."""
    if not postgres_available:
        missing_dependency("PostgreSQL", POSTGRES_HOW)
    name = f"sw_test_{uuid.uuid4().hex[:16]}"
    run_sync(lambda: _pg_execute(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        run_sync(lambda: _pg_execute(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for this test: SQLite in tmp_path, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'setupwizard.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


class SettingsFactory(Protocol):
    """``make_settings(**overrides) -> Settings``."""

    def __call__(self, **overrides: Any) -> Settings: ...


@pytest.fixture
def make_settings(db_url: str, tmp_path: Path) -> SettingsFactory:
    """Settings for this test: data dir under tmp_path, ``db_url``, the test admin; override any field.

    Values are passed explicitly, so the developer's own SETUPWIZARD_* variables cannot change a test.
    """

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": db_url,
            "admin_user": ADMIN_USER,
            "admin_password": ADMIN_PASSWORD,
            "redis_url": "",
            "secret_key": "",
            "allowed_origins": [],
        }
        values.update(overrides)
        return Settings(**values)

    return make


class LiveServerFactory(Protocol):
    """``live_server_factory(settings=None, *, process=False) -> LiveServer`` (started)."""

    def __call__(self, settings: Settings | None = None, *, process: bool = False) -> LiveServer: ...


@pytest.fixture
def live_server_factory(make_settings: SettingsFactory, tmp_path: Path) -> Iterator[LiveServerFactory]:
    """Start live servers (thread by default, ``process=True`` for a child process); all stop at the end."""
    started: list[LiveServer] = []

    def start(settings: Settings | None = None, *, process: bool = False) -> LiveServer:
        settings = settings or make_settings()
        server: LiveServer
        if process:
            server = ProcessServer(settings, tmp_path / f"server-{len(started)}.log")
        else:
            server = ThreadServer(settings)
        server.start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def live_server(live_server_factory: LiveServerFactory) -> LiveServer:
    """A running service on ``db_url`` with admin ``admin`` / ``admin-password-for-tests``."""
    return live_server_factory()
