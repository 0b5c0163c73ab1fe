"""Every SQL statement about setup sessions and their events. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.db.models import SetupSession, SetupSessionEvent, utc_now
from setupwizard.provisioning.events import EventType, Level, SessionEvent

RUNNING = "running"
INTERRUPTED = "interrupted"


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
        status=RUNNING,
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
    statement = select(SetupSession).where(SetupSession.status == RUNNING).order_by(SetupSession.created_at)
    return (await session.scalars(statement)).all()


async def add_events(session: AsyncSession, session_id: str, events: Sequence[SessionEvent]) -> None:
    """Store a batch of events and advance the session's ``last_seq``."""
    if not events:
        return
    session.add_all(_to_row(session_id, event) for event in events)
    await session.flush()
    await session.execute(
        update(SetupSession)
        .where(SetupSession.id == session_id, SetupSession.last_seq < events[-1].seq)
        .values(last_seq=events[-1].seq)
    )


async def events_after(
    session: AsyncSession, session_id: str, since: int = 0, until: int | None = None
) -> list[SessionEvent]:
    """Stored events with ``since < seq`` (and ``seq < until`` when given), in order."""
    statement = (
        select(SetupSessionEvent)
        .where(SetupSessionEvent.session_id == session_id, SetupSessionEvent.seq > since)
        .order_by(SetupSessionEvent.seq)
    )
    if until is not None:
        statement = statement.where(SetupSessionEvent.seq < until)
    return [_from_row(row) for row in (await session.scalars(statement)).all()]


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


def _to_row(session_id: str, event: SessionEvent) -> SetupSessionEvent:
    return SetupSessionEvent(
        session_id=session_id,
        seq=event.seq,
        type=event.type.value,
        level=event.level.value,
        message=event.message,
        timestamp=event.timestamp,
        step_id=event.step_id,
        step_index=event.step_index,
        step_total=event.step_total,
        data=event.data,
    )


def _from_row(row: SetupSessionEvent) -> SessionEvent:
    return SessionEvent(
        seq=row.seq,
        type=EventType(row.type),
        level=Level(row.level),
        message=row.message,
        timestamp=row.timestamp,
        step_id=row.step_id,
        step_index=row.step_index,
        step_total=row.step_total,
        data=dict(row.data or {}),
    )
