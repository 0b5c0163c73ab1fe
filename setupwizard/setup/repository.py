"""Every SQL statement about setup sessions and their events. Callers own the transaction.

Events are read with SQLAlchemy Core (plain row tuples). They are written on the driver's own
connection, inside the session's transaction: one prepared ``executemany`` on SQLite (aiosqlite), one
binary ``COPY`` on PostgreSQL (asyncpg), with rows built as plain tuples. A chatty run stores hundreds
of thousands of them, and SQLAlchemy's per-row parameter processing (the datetime and JSON bind
processors), which runs on the event loop, held every other session's lines up for hundreds of
milliseconds under a flood (issue E, bench 2).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.core.errors import NotFoundError
from setupwizard.db.models import SetupSession, SetupSessionEvent, utc_now
from setupwizard.provisioning.events import EventType, Level, SessionEvent
from setupwizard.provisioning.result import SessionStatus

MAX_SEQ = 2**31 - 1
"""The highest seq a session can have: ``session_events.seq`` is an INTEGER column (32 bits on PostgreSQL)."""


class ForeignSessionError(NotFoundError):
    """The session exists but belongs to another user: a 404 like a missing one, except where told apart."""


async def insert_session(
    session: AsyncSession, *, session_id: str, owner_id: int, host: str, port: int, username: str
) -> SetupSession:
    """Add a ``running`` session row (flushed, so a duplicate id fails here)."""
    row = SetupSession(
        id=session_id,
        owner_id=owner_id,
        host=host,
        port=port,
        username=username,
        status=SessionStatus.RUNNING,
        message="",
        created_at=utc_now(),
        last_seq=0,
    )
    session.add(row)
    await session.flush()
    return row


async def get_session(session: AsyncSession, session_id: str) -> SetupSession | None:
    """The session row, or None."""
    return await session.get(SetupSession, session_id, populate_existing=True)


async def get_owned_session(session: AsyncSession, session_id: str, owner_id: int) -> SetupSession:
    """The session row if ``owner_id`` owns it: the one owner check of every route, socket and service.

    Raises :class:`NotFoundError` (404 ``session_not_found``) when there is no such session, and its
    subclass :class:`ForeignSessionError` when another user owns it (the same answer, unless the caller
    tells them apart, as the WebSocket's 4403 does).
    """
    row = await get_session(session, session_id)
    if row is None:
        raise NotFoundError("没有这个设置会话", code="session_not_found")
    if row.owner_id != owner_id:
        raise ForeignSessionError("没有这个设置会话", code="session_not_found")
    return row


async def running_session_on(session: AsyncSession, host: str, port: int) -> SetupSession | None:
    """The newest ``running`` session on host:port, or None."""
    statement = (
        select(SetupSession)
        .where(
            SetupSession.status == SessionStatus.RUNNING,
            SetupSession.host == host,
            SetupSession.port == port,
        )
        .order_by(SetupSession.created_at.desc())
        .limit(1)
    )
    return (await session.scalars(statement)).first()


async def list_sessions(session: AsyncSession, owner_id: int, limit: int = 100) -> Sequence[SetupSession]:
    """The owner's sessions, newest first."""
    statement = (
        select(SetupSession)
        .where(SetupSession.owner_id == owner_id)
        .order_by(SetupSession.created_at.desc(), SetupSession.id)
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


async def running_sessions(session: AsyncSession) -> Sequence[SetupSession]:
    """Every session whose row still says ``running``."""
    statement = (
        select(SetupSession)
        .where(SetupSession.status == SessionStatus.RUNNING)
        .order_by(SetupSession.created_at)
    )
    return (await session.scalars(statement)).all()


_EVENTS: Table = SetupSessionEvent.__table__  # type: ignore[assignment]  # a Table, typed FromClause
_EVENT_COLUMNS = (
    _EVENTS.c.seq,
    _EVENTS.c.type,
    _EVENTS.c.level,
    _EVENTS.c.message,
    _EVENTS.c.timestamp,
    _EVENTS.c.step_id,
    _EVENTS.c.step_index,
    _EVENTS.c.step_total,
    _EVENTS.c.data,
    _EVENTS.c.code,
    _EVENTS.c.params,
)


# Constant statements (no value is ever formatted into them): the values go as parameters. The columns
# are _to_row's keys, in the same order, and :func:`_rows` builds the same values; a test holds them
# together (a column added to _to_row must be added here and in _rows).
_SQLITE_INSERT = (
    "INSERT INTO session_events (session_id, seq, type, level, message, timestamp, step_id, step_index,"
    " step_total, data, code, params) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_COLUMNS = (
    "session_id",
    "seq",
    "type",
    "level",
    "message",
    "timestamp",
    "step_id",
    "step_index",
    "step_total",
    "data",
    "code",
    "params",
)


async def add_events(session: AsyncSession, session_id: str, events: Sequence[SessionEvent]) -> None:
    """Store a batch of one session's events; see :func:`add_event_batches`."""
    await add_event_batches(session, [(session_id, events)])


async def add_event_batches(
    session: AsyncSession, batches: Sequence[tuple[str, Sequence[SessionEvent]]]
) -> None:
    """Store batches of several sessions' events in the session's transaction: one ``executemany``
    insert for all of them, and each session's ``last_seq`` advanced (one statement, executemany).

    The insert is a prepared statement on the driver connection (PostgreSQL: a binary ``COPY``; see the
    module doc); the ``last_seq`` update goes first, through SQLAlchemy, so the transaction is open when
    the raw insert joins it.
    """
    batches = [(session_id, events) for session_id, events in batches if events]
    if not batches:
        return
    await session.execute(
        _ADVANCE_LAST_SEQ, [{"sid": session_id, "new_seq": events[-1].seq} for session_id, events in batches]
    )
    connection = await session.connection()
    dialect = connection.dialect.name
    if dialect not in ("sqlite", "postgresql"):  # any other database: the portable (slower) way
        rows = [_to_row(session_id, event) for session_id, events in batches for event in events]
        await session.execute(insert(_EVENTS), rows)
        return
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    if dialect == "sqlite":
        await driver.executemany(_SQLITE_INSERT, _batch_rows(batches, _sqlite_time))
    else:  # binary COPY: several times faster than an INSERT per row, even pipelined
        await driver.copy_records_to_table(
            "session_events", records=_batch_rows(batches, _utc), columns=_COLUMNS
        )


_SESSIONS: Table = SetupSession.__table__  # type: ignore[assignment]  # a Table, typed FromClause
_ADVANCE_LAST_SEQ = (
    update(_SESSIONS)
    .where(_SESSIONS.c.id == bindparam("sid"), _SESSIONS.c.last_seq < bindparam("new_seq"))
    .values(last_seq=bindparam("new_seq"))
)


def _batch_rows(batches: Sequence[tuple[str, Sequence[SessionEvent]]], stamp: Any) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for session_id, events in batches:
        rows.extend(_rows(session_id, events, stamp))
    return rows


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _sqlite_time(moment: datetime) -> str:
    """What SQLAlchemy's SQLite ``DATETIME`` stores for the column's naive UTC value."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _rows(session_id: str, events: Sequence[SessionEvent], stamp: Any) -> list[tuple[Any, ...]]:
    """Plain parameter tuples; a batch's lines share one timestamp, so it is converted once."""
    rows: list[tuple[Any, ...]] = []
    last_moment: datetime | None = None
    last_stamp: Any = None
    for event in events:
        if event.timestamp is not last_moment:
            last_moment, last_stamp = event.timestamp, stamp(event.timestamp)
        rows.append(
            (
                session_id,
                event.seq,
                event.type.value,
                event.level.value,
                event.message,
                last_stamp,
                event.step_id,
                event.step_index,
                event.step_total,
                json.dumps(event.data, ensure_ascii=False) if event.data else "{}",
                event.code,
                None if event.params is None else json.dumps(event.params, ensure_ascii=False),
            )
        )
    return rows


async def events_after(
    session: AsyncSession,
    session_id: str,
    since: int = 0,
    until: int | None = None,
    *,
    limit: int | None = None,
) -> list[SessionEvent]:
    """Stored events with ``since < seq`` (and ``seq < until`` when given), in order, at most ``limit``."""
    statement = (
        select(*_EVENT_COLUMNS)
        .where(_EVENTS.c.session_id == session_id, _EVENTS.c.seq > since)
        .order_by(_EVENTS.c.seq)
    )
    if until is not None:
        statement = statement.where(_EVENTS.c.seq < until)
    if limit is not None:
        statement = statement.limit(limit)
    return [_from_row(row) for row in await session.execute(statement)]


async def max_event_seq(session: AsyncSession, session_id: str) -> int:
    """The highest stored seq of the session (0 when none)."""
    statement = select(func.max(SetupSessionEvent.seq)).where(SetupSessionEvent.session_id == session_id)
    return int((await session.scalar(statement)) or 0)


async def finish_session(
    session: AsyncSession,
    session_id: str,
    *,
    status: str,
    message: str,
    result: dict[str, Any] | None,
    finished_at: datetime | None = None,
) -> None:
    """Record how the session ended."""
    await session.execute(
        update(SetupSession)
        .where(SetupSession.id == session_id)
        .values(status=status, message=message, result=result, finished_at=finished_at or utc_now())
    )


def _to_row(session_id: str, event: SessionEvent) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "seq": event.seq,
        "type": event.type.value,
        "level": event.level.value,
        "message": event.message,
        "timestamp": event.timestamp,
        "step_id": event.step_id,
        "step_index": event.step_index,
        "step_total": event.step_total,
        "data": event.data,
        "code": event.code,
        "params": event.params,
    }


def _from_row(row: Sequence[Any]) -> SessionEvent:
    seq, type_, level, message, timestamp, step_id, step_index, step_total, data, code, params = row
    return SessionEvent(
        seq=seq,
        type=EventType(type_),
        level=Level(level),
        message=message,
        timestamp=timestamp,
        step_id=step_id,
        step_index=step_index,
        step_total=step_total,
        data=dict(data or {}),
        code=code,
        params=params,
    )
