"""SQLite's one write lock, taken in order: this process's writers queue on an asyncio lock, not in SQLite.

SQLite lets one connection write at a time. Without a gate, every pooled connection that wants to write
waits in SQLite's busy handler, which polls the file lock with sleeps and serves nobody in order: on a
machine loaded by 200 setups, a transaction holds the lock for a few event-loop turns, and one unlucky
writer (an audit row, a setup's own session row) waited out the 30 s ``busy_timeout`` behind hundreds of
others and failed with ``database is locked`` (503). With the gate, a connection takes an asyncio lock
(first come, first served) at its first write statement and gives it back as its transaction commits
or rolls back, so
this process's writers never meet in SQLite at all; the busy timeout is left for other processes (the
``setupwizard users`` CLI). Readers are never gated (WAL: they do not block the writer).

A writer that waits longer than :data:`GATE_TIMEOUT_SECONDS` (a transaction that never ends, or a
coroutine that writes in a second session while its first holds the gate) fails like SQLite would:
``OperationalError: database is locked``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import await_

from setupwizard.core.ratelog import ReportGate

GATE_TIMEOUT_SECONDS = 120.0
SLOW_HOLD_SECONDS = 1.0
"""A transaction that holds the gate this long is logged (at most once a minute)."""
_slow_report = ReportGate(60.0)
log = logging.getLogger(__name__)
LISTENER_ATTRIBUTE = "_setupwizard_write_gate_listener"
"""Where the engine keeps its gate's statement listener (a test removes it to show what it prevents)."""
_HELD = "setupwizard_write_gate"
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)


class _Gates:
    """One lock per event loop (tests run several loops against one engine)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def for_running_loop(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock


async def _acquire(lock: asyncio.Lock, seconds: float) -> None:
    await asyncio.wait_for(lock.acquire(), seconds)


def install_write_gate(engine: AsyncEngine) -> None:
    """Gate every write of ``engine`` (a SQLite engine) as the module doc says."""
    gates = _Gates()

    def before_execute(
        conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if _HELD in conn.info or not _WRITE.match(statement):
            return
        lock = gates.for_running_loop()
        try:
            await_(_acquire(lock, GATE_TIMEOUT_SECONDS))
        except TimeoutError:
            raise OperationalError(
                statement,
                parameters,
                sqlite3.OperationalError(
                    f"database is locked (waited {GATE_TIMEOUT_SECONDS:.0f} s for this service's writers)"
                ),
            ) from None
        conn.info[_HELD] = (lock, time.monotonic(), statement)

    def transaction_ends(conn: Any) -> None:
        _release(conn.info)

    def checked_in(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
        _release(record.info)

    event.listen(engine.sync_engine, "before_cursor_execute", before_execute)
    setattr(engine.sync_engine, LISTENER_ATTRIBUTE, before_execute)
    # Given back as the transaction ends. The commit/rollback events fire just before the COMMIT goes to
    # the connection's thread, in the same loop turn; the next writer resumes a turn later, by when the
    # COMMIT has almost always run (if not, its statement waits in SQLite's busy handler for that moment).
    # Waiting for the pool's checkin instead kept the gate two more loop turns per write: on a loaded
    # machine that halved the writes per second.
    event.listen(engine.sync_engine, "commit", transaction_ends)
    event.listen(engine.sync_engine, "rollback", transaction_ends)
    event.listen(engine.sync_engine.pool, "checkin", checked_in)  # a connection that left mid-transaction
    event.listen(engine.sync_engine.pool, "invalidate", checked_in)


def _release(info: dict[Any, Any]) -> None:
    held = info.pop(_HELD, None)
    if held is None:
        return
    lock, since, statement = held
    if lock.locked():
        lock.release()
    seconds = time.monotonic() - since
    if seconds >= SLOW_HOLD_SECONDS and _slow_report.due():
        log.warning(
            "A SQLite write transaction held the write lock for %.1f s (it began with: %.80s); "
            "every other write waited for it",
            seconds,
            " ".join(statement.split()),
        )
