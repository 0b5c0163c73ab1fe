"""The engine, the session factory and the migrations runner of one service instance."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from setupwizard.config import Settings
from setupwizard.db.write_gate import install_write_gate

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Alembic keeps its context in module globals: one upgrade at a time per process (tests run several apps).
_ALEMBIC_LOCK = threading.Lock()
# Several instances starting at once against one PostgreSQL: only one migrates, the others wait.
_PG_MIGRATION_LOCK_ID = 0x5E7A9_0001
SQLITE_POOL_SIZE = 32


def alembic_config(url: str | None = None) -> Config:
    """An Alembic Config pointing at the packaged migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL: readers never block the writer, so a long request cannot stall event batches.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _create_private_file(path: Path) -> None:
    """Create the SQLite file owner-only (0600) before SQLite does; its -wal/-shm files follow its mode.

    The database holds password hashes, encrypted sudo passwords and setup logs: not for other local users.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def create_engine_for(url: str) -> AsyncEngine:
    """An async engine for ``url`` (SQLite via aiosqlite, PostgreSQL via asyncpg)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_private_file(Path(parsed.database))
        # A pool as large as the writers a busy service has at once (a recorder per running session, the
        # sockets' reads): past pool_size, SQLAlchemy opens and closes a connection per use, and opening
        # an aiosqlite connection starts a thread and waits for it on the event loop (measured: 128 ms
        # stalls for every session under a flood with the default pool of 5).
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_SIZE
        )
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        install_write_gate(engine)  # this process's writers take SQLite's one write lock in turn
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def _upgrade(connection: Connection, cfg: Config) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_MIGRATION_LOCK_ID})
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


class DatabaseNotWritableError(RuntimeError):
    """The database cannot be written: the service refuses to start (the message names the file)."""


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _check_sqlite_file_writable(path: Path) -> None:
    """Open the file and its directory for writing the way SQLite will (root ignores the mode bits,
    so ``os.access`` is not enough)."""
    fix = "make it writable by the service's user (chmod/chown, or a read-write mount), then start again"
    try:
        os.close(os.open(path, os.O_RDWR))
    except OSError as exc:
        raise DatabaseNotWritableError(
            f"The database file {path} is not writable ({exc.strerror}): nobody could log in. {fix}"
        ) from None
    try:
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise DatabaseNotWritableError(
            f"The directory {path.parent} of the database file {path} is not writable ({exc.strerror}); "
            f"SQLite keeps its -wal and -shm files there. {fix}"
        ) from None


class Database:
    """One service instance's database: ``engine``, ``sessionmaker``, ``session()``, ``migrate()``.

    :param settings: the service settings; ``settings.effective_database_url`` picks the database.
    """

    def __init__(self, settings: Settings) -> None:
        self.url = settings.effective_database_url
        self.engine: AsyncEngine = create_engine_for(self.url)
        self.sessionmaker: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session that commits when the block ends normally and rolls back on an exception.

        For background tasks and WebSocket handlers; requests use ``SessionDep`` instead.
        """
        async with self.sessionmaker() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            await session.commit()

    async def migrate(self) -> None:
        """Bring the schema to the newest revision (Alembic ``upgrade head``), in one transaction."""
        cfg = alembic_config()
        # Taken in a worker thread: blocking this loop on a lock another coroutine of it holds would hang.
        await asyncio.to_thread(_ALEMBIC_LOCK.acquire)
        try:
            async with self.engine.begin() as connection:
                await connection.run_sync(_upgrade, cfg)
        finally:
            _ALEMBIC_LOCK.release()
        log.info("Database schema is up to date (%s)", self.dialect)

    def describe(self) -> str:
        """Where the database is, for messages: the SQLite file, or the URL without its password."""
        path = sqlite_file(self.url)
        return str(path) if path else make_url(self.url).render_as_string(hide_password=True)

    def check_file_writable(self) -> None:
        """Before the first connection: a SQLite file (and its directory) the service cannot write stops
        the start with :class:`DatabaseNotWritableError` naming the file. Nothing to check for PostgreSQL."""
        path = sqlite_file(self.url)
        if path is not None:
            _check_sqlite_file_writable(path)

    async def probe_write(self) -> None:
        """Write one row in a transaction (a no-op update): raises when the database is read-only, full or
        away. Used at start (after migrating) and by ``/api/health`` while a fault lasts."""
        async with self.engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = version_num"))

    async def ping(self) -> None:
        """One ``SELECT 1``: raises when the database cannot be reached."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
