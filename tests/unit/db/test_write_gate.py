"""SQLite writers of one process take the write lock in turn (an asyncio gate), not in the busy loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from setupwizard.config import Settings
from setupwizard.db import write_gate
from setupwizard.db.database import Database


@pytest.fixture
async def impatient_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A real SQLite database whose connections give up soon on a held write lock (busy_timeout 0.5 s, not
    30 s), so writers that queue inside SQLite behind several slow transactions fail 'database is locked'."""
    db = Database(Settings(data_dir=tmp_path))
    await db.migrate()
    await db.dispose()

    def no_patience(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=500")
        cursor.close()

    event.listen(db.engine.sync_engine, "connect", no_patience)
    async with db.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE gate_probe (writer INTEGER, step INTEGER)"))
    yield db
    await db.dispose()


async def write_slowly(db: Database, writer: int) -> None:
    """A transaction that spans several event-loop turns between its first write and its commit."""
    async with db.session() as session:
        for step in range(3):
            await session.execute(text("INSERT INTO gate_probe VALUES (:w, :s)"), {"w": writer, "s": step})
            await asyncio.sleep(0.05)


async def test_concurrent_writers_all_succeed_one_after_another(impatient_db: Database) -> None:
    await asyncio.gather(*(write_slowly(impatient_db, writer) for writer in range(20)))  # ≥ 3 s in all
    async with impatient_db.session() as session:
        rows = (await session.execute(text("SELECT writer, step FROM gate_probe ORDER BY rowid"))).all()
    assert len(rows) == 60
    # in turn: each writer's three rows are together, not interleaved with another's
    assert all(rows[i][0] == rows[i + 1][0] == rows[i + 2][0] for i in range(0, 60, 3))


async def test_without_the_gate_the_same_writers_meet_in_sqlite(tmp_path: Path) -> None:
    """The control: the failure the gate prevents is real on this SQLite (so the test above can fail)."""
    settings = Settings(data_dir=tmp_path)
    db = Database(settings)
    await db.migrate()
    await db.dispose()
    event.remove(db.engine.sync_engine, "before_cursor_execute", _gate_listener(db))

    def no_patience(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=500")

    event.listen(db.engine.sync_engine, "connect", no_patience)
    async with db.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE gate_probe (writer INTEGER, step INTEGER)"))
    results = await asyncio.gather(*(write_slowly(db, w) for w in range(20)), return_exceptions=True)
    await db.dispose()
    assert any(isinstance(r, OperationalError) and "locked" in str(r) for r in results)


def _gate_listener(db: Database) -> Any:
    listener: Any = getattr(db.engine.sync_engine, write_gate.LISTENER_ATTRIBUTE)
    return listener


async def test_a_writer_stuck_behind_its_own_open_transaction_fails_like_sqlite_would(
    impatient_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_gate, "GATE_TIMEOUT_SECONDS", 0.2)
    async with impatient_db.session() as outer:
        await outer.execute(text("INSERT INTO gate_probe VALUES (1, 1)"))
        with pytest.raises(OperationalError, match="database is locked"):
            await write_slowly(impatient_db, 2)  # a second session's write while this one holds the gate
    async with impatient_db.session() as session:
        count = (await session.execute(text("SELECT COUNT(*) FROM gate_probe"))).scalar_one()
    assert count == 1
    await write_slowly(impatient_db, 3)  # the gate was given back
