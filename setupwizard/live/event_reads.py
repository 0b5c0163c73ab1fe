"""A session's stored events, read back: one :class:`SessionEvent` per seq, however they were stored.

The write side and the row format are :mod:`setupwizard.live.store`'s. Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.db.models import SetupSessionEvent
from setupwizard.live.store import _EVENTS, MAX_LINES_PER_ROW, MAX_SEQ, CorruptEventRowError
from setupwizard.provisioning.events import EventType, Level, SessionEvent

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
    _EVENTS.c.first_seq,
)
_FIRST_SEQ = func.coalesce(_EVENTS.c.first_seq, _EVENTS.c.seq)


async def events_after(
    session: AsyncSession,
    session_id: str,
    since: int = 0,
    until: int | None = None,
    *,
    limit: int | None = None,
) -> list[SessionEvent]:
    """Stored events with ``since < seq`` (and ``seq < until`` when given), in order, at most ``limit``.

    One event per seq, whether it was stored alone or in a row of lines; ``since``, ``until`` and ``limit``
    count events, and may fall inside such a row.
    """
    events: list[SessionEvent] = []
    cursor = since  # every stored event with seq <= cursor has been read (or is not wanted)
    while True:
        statement = _rows_after(session_id, cursor, until)
        window_end = None
        if limit is not None:
            # The rows that hold the next `want` seqs, when there is no hole in the seqs: a row holds at
            # least one of them, so no more than `want` rows are needed.
            want = limit - len(events)
            window_end = min(cursor + want, MAX_SEQ)
            statement = statement.where(
                _FIRST_SEQ <= window_end, _EVENTS.c.seq <= min(window_end + MAX_LINES_PER_ROW - 1, MAX_SEQ)
            ).limit(want)
        _expand(session_id, await session.execute(statement), events, cursor, until)
        if limit is None:
            return events
        if len(events) >= limit:
            del events[limit:]
            return events
        # Fewer than asked: the end of the stored events, or a hole in the seqs. Go on from the next row
        # after the last seq read, not after the window: rows committed since the read above (a running
        # session's) may fill the window now, and skipping them lost lines under a flood.
        if events:
            cursor = max(cursor, events[-1].seq)
        if until is not None and cursor >= until - 1:
            return events
        following = (
            select(_FIRST_SEQ)
            .where(_EVENTS.c.session_id == session_id, _EVENTS.c.seq > cursor)
            .order_by(_EVENTS.c.seq)
            .limit(1)
        )
        if until is not None:
            following = following.where(_FIRST_SEQ < until)
        start = await session.scalar(following)
        if start is None:
            return events
        cursor = max(cursor, start - 1)


def _rows_after(session_id: str, since: int, until: int | None) -> Select[Any]:
    """The rows holding events ``since < seq`` (``< until``), by seq: a row of lines ends after ``since``."""
    statement = (
        select(*_EVENT_COLUMNS)
        .where(_EVENTS.c.session_id == session_id, _EVENTS.c.seq > since)
        .order_by(_EVENTS.c.seq)
    )
    if until is not None:
        statement = statement.where(
            _FIRST_SEQ < until, _EVENTS.c.seq <= min(until + MAX_LINES_PER_ROW - 2, MAX_SEQ)
        )
    return statement


def _expand(session_id: str, rows: Any, events: list[SessionEvent], after: int, until: int | None) -> None:
    """Append the events of ``rows`` (in seq order) with ``after < seq < until`` to ``events``.

    A seq already given is skipped, so rows that overlap (a write retried after its commit was reported
    failed, grouped differently) still read as one event per seq.
    """
    end = MAX_SEQ + 1 if until is None else until
    for row in rows:
        last, type_, level, message, timestamp, step_id, step_index, step_total, *_, first = row
        if first is None:
            if after < last < end:
                events.append(_from_row(row))
                after = last
            continue
        held = message.count("\n") + 1
        if held != last - first + 1:
            raise CorruptEventRowError(
                f"session {session_id}: the stored row of seqs {first}..{last} holds {held} lines"
            )
        low = max(first, after + 1)
        high = min(last, end - 1)
        if low > high:
            continue
        run = SessionEvent(
            last,
            EventType(type_),
            Level(level),
            message,
            timestamp,
            step_id,
            step_index,
            step_total,
            first_seq=first,
        )
        events.extend(run.part(low, high).per_line())
        after = high


async def max_event_seq(session: AsyncSession, session_id: str) -> int:
    """The highest stored seq of the session (0 when none); a row of lines ends at its ``seq``."""
    statement = select(func.max(SetupSessionEvent.seq)).where(SetupSessionEvent.session_id == session_id)
    return int((await session.scalar(statement)) or 0)


async def count_events(session: AsyncSession, session_id: str) -> int:
    """How many events (lines, not rows) the session has stored."""
    statement = select(func.coalesce(func.sum(_EVENTS.c.seq - _FIRST_SEQ + 1), 0)).where(
        _EVENTS.c.session_id == session_id
    )
    return int((await session.scalar(statement)) or 0)


def _from_row(row: Sequence[Any]) -> SessionEvent:
    seq, type_, level, message, timestamp, step_id, step_index, step_total, data, code, params, _ = row
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


async def last_seq_with_code(session: AsyncSession, session_id: str, code: str) -> int | None:
    """The seq of the session's last stored event with message code ``code``, or None."""
    statement = select(func.max(_EVENTS.c.seq)).where(
        _EVENTS.c.session_id == session_id, _EVENTS.c.code == code
    )
    seq = await session.scalar(statement)
    return None if seq is None else int(seq)


async def any_event_after(
    session: AsyncSession, session_id: str, seq: int, types: Sequence[EventType]
) -> bool:
    """Whether the session stored an event of one of ``types`` after ``seq``."""
    statement = (
        select(_EVENTS.c.seq)
        .where(
            _EVENTS.c.session_id == session_id,
            _EVENTS.c.seq > seq,
            _EVENTS.c.type.in_([t.value for t in types]),
        )
        .limit(1)
    )
    return await session.scalar(statement) is not None
