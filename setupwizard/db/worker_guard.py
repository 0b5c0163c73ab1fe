"""Refuses a second worker where workers cannot share: without Redis, sessions live in one process.

- SQLite (the embedded default): an exclusive ``flock`` on ``<database file>.lock`` beside the database
  (in the data directory by default), held for the life of the process. A second process on the same
  file is refused, whether it came from ``setupwizard serve`` twice or ``uvicorn --workers 2``.
- PostgreSQL without ``SETUPWIZARD_REDIS_URL``: a session-level advisory lock, held on a connection of its
  own for the life of the process, so a second instance on the same database is refused.
- PostgreSQL with Redis: nothing to guard; any number of workers share the database and Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from setupwizard.config import Settings
from setupwizard.db.database import Database

SCALE_OUT_HOW = (
    "To run several workers, use PostgreSQL (SETUPWIZARD_DATABASE_URL) and Redis (SETUPWIZARD_REDIS_URL); "
    "see docs/deploy.md, 'Several workers'."
)
_PG_SINGLE_WORKER_LOCK_ID = 0x5357_0001  # any constant; distinct from the migration lock's
_PG_RETRY_SECONDS = 5.0  # a killed predecessor's connection may take a moment to be reaped


class SecondWorkerError(RuntimeError):
    """Another worker already serves this data without Redis (the message says what to do)."""


def sqlite_lock_path(settings: Settings) -> Path | None:
    """The lock file of the SQLite database in use, or None when the database is not SQLite."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).with_name(Path(url.database).name + ".lock")


def several_workers_problem(settings: Settings, workers: int) -> str | None:
    """Why ``workers`` processes cannot share this configuration, or None when they can."""
    if workers <= 1:
        return None
    if sqlite_lock_path(settings) is not None or not settings.redis_url:
        return (
            f"Refusing to start {workers} workers: several workers need PostgreSQL "
            "(SETUPWIZARD_DATABASE_URL) and Redis (SETUPWIZARD_REDIS_URL); without them each worker "
            "would keep its own sessions, locks and live logs."
        )
    return None


class DataDirLock:
    """The exclusive ``flock`` of one SQLite database (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`SecondWorkerError`."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SecondWorkerError(
                "Another Setup Wizard process already serves the SQLite database "
                f"{self.path.with_suffix('')} (one process only; it holds {self.path}). {SCALE_OUT_HOW}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Give the lock back (also done by the kernel when the process dies)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class PostgresSingleWorkerLock:
    """A session-level advisory lock on a connection of its own (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._connection: AsyncConnection | None = None

    async def acquire(self) -> None:
        """Take the lock (retrying briefly) or raise :class:`SecondWorkerError`."""
        connection = await self.db.engine.connect()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _PG_RETRY_SECONDS
        while True:
            got = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:id)"), {"id": _PG_SINGLE_WORKER_LOCK_ID}
            )
            await connection.commit()
            if got:
                self._connection = connection
                return
            if loop.time() >= deadline:
                await connection.close()
                raise SecondWorkerError(
                    "Another Setup Wizard worker already serves this PostgreSQL database without Redis "
                    f"(SETUPWIZARD_REDIS_URL is empty). {SCALE_OUT_HOW}"
                )
            await asyncio.sleep(0.5)

    async def release(self) -> None:
        """Close the lock's connection (PostgreSQL drops the lock with it)."""
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None


@contextlib.asynccontextmanager
async def single_worker_guard(settings: Settings, db: Database) -> AsyncIterator[None]:
    """Hold the lock that refuses a second worker for as long as the block runs (nothing with Redis+PG)."""
    path = sqlite_lock_path(settings)
    if path is not None:
        lock = DataDirLock(path)
        lock.acquire()
        try:
            yield
        finally:
            lock.release()
        return
    if not settings.redis_url and db.dialect == "postgresql":
        pg_lock = PostgresSingleWorkerLock(db)
        await pg_lock.acquire()
        try:
            yield
        finally:
            await pg_lock.release()
        return
    yield
