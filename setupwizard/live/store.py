"""The event log's store: every SQL statement about a session's events. Callers own the transaction.

Events are read with SQLAlchemy Core (plain row tuples). They are written on the driver's own
connection, inside the session's transaction: one prepared ``executemany`` on SQLite (aiosqlite), one
binary ``COPY`` on PostgreSQL (asyncpg), with rows built as plain tuples. A chatty run stores hundreds
of thousands of them, and SQLAlchemy's per-row parameter processing (the datetime and JSON bind
processors), which runs on the event loop, held every other session's lines up for hundreds of
milliseconds under a flood (``bench/latency.py``).

**A run of output lines is one row.** A ``log`` event of several lines (what one chunk of a server's output
becomes), and consecutive such events of one write with the same level, step and timestamp and no ``data``,
``code`` or ``params``, are stored as one row: ``first_seq`` = F, ``seq`` = L, ``message`` = the lines F..L
joined by ``"\n"`` (a line never holds ``"\n"``; a run in which one does is stored a row per event). Any other
event, and every row stored before revision 0006, is one row with ``first_seq`` NULL. At most
:data:`MAX_LINES_PER_ROW` lines share a row. A flood is a row per chunk of output instead of a row per line
(the per-row insert was most of the service's time; ``bench/event_store.py`` measures it).

Readers never see rows: :mod:`setupwizard.live.event_reads` expands them into one :class:`SessionEvent`
per seq, exactly as they were written (``since``/``until``/``limit`` count events and may fall inside a
row), so the history, ``log.txt``, the WebSocket replay and the stalled-job pass are unchanged.

Writing a batch also advances the session row's ``last_seq`` (the event log's high-water mark, which a
reader compares with its ``since``); that one column of ``setup_sessions`` is written only here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.db.models import SetupSession, SetupSessionEvent
from setupwizard.provisioning.events import EventType, SessionEvent, continues, run_key

MAX_SEQ = 2**31 - 1
"""The highest seq a session can have: ``session_events.seq`` is an INTEGER column (32 bits on PostgreSQL)."""

MAX_LINES_PER_ROW = 5000
"""At most this many lines share one row. Readers rely on it to bound their index range (a row that begins
at or before seq S ends before S + MAX_LINES_PER_ROW), so it may grow in a later version, never shrink."""


class CorruptEventRowError(RuntimeError):
    """A stored row of several lines does not hold one line per seq of its range."""


_EVENTS: Table = SetupSessionEvent.__table__  # type: ignore[assignment]  # a Table, typed FromClause


# Constant statements (no value is ever formatted into them): the values go as parameters. The columns
# are the table's, in the order :func:`_rows` builds them; a test holds them together (a column added to
# the model must be added here and in _rows).
_SQLITE_INSERT = (
    "INSERT INTO session_events (session_id, seq, type, level, message, timestamp, step_id, step_index,"
    " step_total, data, code, params, first_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
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
    "first_seq",
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
        rows = [dict(zip(_COLUMNS, row, strict=True)) for row in _batch_rows(batches, _same, _same)]
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


def _batch_rows(
    batches: Sequence[tuple[str, Sequence[SessionEvent]]], stamp: Any, dump: Any = None
) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for session_id, events in batches:
        rows.extend(_rows(session_id, events, stamp, dump or _json_text))
    return rows


def _same(value: Any) -> Any:
    return value


def _json_text(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _sqlite_time(moment: datetime) -> str:
    """What SQLAlchemy's SQLite ``DATETIME`` stores for the column's naive UTC value."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _rows(
    session_id: str, events: Sequence[SessionEvent], stamp: Any, dump: Any = _json_text
) -> list[tuple[Any, ...]]:
    """Plain parameter tuples in :data:`_COLUMNS` order: a run of plain output lines is one row (see the
    module doc), any other event a row of its own. A batch's lines share one timestamp, so it is
    converted once; ``dump`` turns ``data``/``params`` into what the driver takes."""
    if any(event.size > MAX_LINES_PER_ROW for event in events):
        events = _within_row_limit(events)
    rows: list[tuple[Any, ...]] = []
    last_moment: datetime | None = None
    last_stamp: Any = None
    empty_data = dump({})
    log = EventType.LOG
    count = len(events)
    start = 0
    while start < count:
        event = events[start]
        moment = event.timestamp
        if moment is not last_moment:
            last_moment, last_stamp = moment, stamp(moment)
        end = start + 1
        if run_key(event) is not None:
            # Extend the run while the next event continues it (the join rule, provisioning/events.py)
            # at the same moment (a row keeps one timestamp) and the row has room.
            seq, lines, last = event.seq, event.size, event
            while end < count:
                other = events[end]
                if (
                    lines + other.size > MAX_LINES_PER_ROW
                    or (other.timestamp is not moment and other.timestamp != moment)
                    or not continues(last, other)
                ):
                    break
                seq, lines, last = other.seq, lines + other.size, other
                end += 1
            if lines > 1:
                message = (
                    event.message if end - start == 1 else "\n".join([e.message for e in events[start:end]])
                )
                if message.count("\n") == lines - 1:
                    rows.append(
                        (
                            session_id,
                            seq,
                            log.value,
                            event.level.value,
                            message,
                            last_stamp,
                            event.step_id,
                            event.step_index,
                            event.step_total,
                            empty_data,
                            None,
                            None,
                            event.start,
                        )
                    )
                    start = end
                    continue
        for event in events[start:end]:  # one event alone, or a run in which a line holds "\n"
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
                    dump(event.data) if event.data else empty_data,
                    event.code,
                    None if event.params is None else dump(event.params),
                    event.first_seq,
                )
            )
        start = end
    return rows


def _within_row_limit(events: Sequence[SessionEvent]) -> list[SessionEvent]:
    """``events`` with every event of more than ``MAX_LINES_PER_ROW`` lines cut into parts that fit."""
    out: list[SessionEvent] = []
    for event in events:
        low = event.start
        while event.seq - low + 1 > MAX_LINES_PER_ROW:
            out.append(event.part(low, low + MAX_LINES_PER_ROW - 1))
            low += MAX_LINES_PER_ROW
        out.append(event.part(low, event.seq))
    return out
