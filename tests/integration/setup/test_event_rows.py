"""Runs of output lines stored as one row each (revision 0006) read back as one event per seq, on both DBs.

Every test writes through the repository and reads through its readers (``events_after`` with ``since``,
``until`` and ``limit``, ``max_event_seq``, ``count_events``, the feed), and also counts the raw rows, so
a writer that stopped grouping (or grouped what it must not) fails here, not only a reader.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, text

from setupwizard.auth.service import create_user
from setupwizard.db.database import Database, alembic_config
from setupwizard.live import event_reads, feed, store
from setupwizard.live.memory import MemoryBus
from setupwizard.provisioning.events import EventType, Level, SessionEvent
from setupwizard.setup import repository
from setupwizard.setup.session_lookup import DatabaseSessions
from tests.integration.web.fixtures import SettingsFactory

MOMENT = datetime(2026, 11, 27, 3, 4, 5, 123456, tzinfo=UTC)


def line(seq: int, message: str | None = None, **fields: object) -> SessionEvent:
    values: dict[str, object] = {
        "level": Level.INFO,
        "timestamp": MOMENT,
        "step_id": "script",
        "step_index": 3,
        "step_total": 4,
    }
    values.update(fields)
    return SessionEvent(
        seq=seq,
        type=EventType.LOG,
        message=f"line {seq}" if message is None else message,
        **values,  # type: ignore[arg-type]
    )


@pytest.fixture
async def db(make_settings: SettingsFactory) -> AsyncIterator[Database]:
    database = Database(make_settings())
    await database.migrate()
    yield database
    await database.dispose()


async def new_session(db: Database) -> str:
    session_id = str(uuid.uuid4())
    async with db.session() as session:
        user = await create_user(session, f"u{uuid.uuid4().hex[:10]}", "a-long-password-123")
        await repository.insert_session(
            session, session_id=session_id, owner_id=user.id, host="198.18.0.9", port=22, username="bob"
        )
    return session_id


async def old_session(db: Database) -> str:
    """A session row in the 0005 shape (the model has columns added since)."""
    session_id = str(uuid.uuid4())
    async with db.session() as session:
        user = await create_user(session, f"u{uuid.uuid4().hex[:10]}", "a-long-password-123")
    async with db.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO setup_sessions (id, owner_id, host, port, username, status, message,"
                " created_at, last_seq) VALUES (:id, :owner, '198.18.0.9', 22, 'bob', 'running', '', :t, 0)"
            ),
            {"id": session_id, "owner": user.id, "t": MOMENT.replace(tzinfo=None)},
        )
    return session_id


async def write(db: Database, session_id: str, *batches: Sequence[SessionEvent]) -> None:
    for batch in batches:
        async with db.session() as session:
            await store.add_event_batches(session, [(session_id, batch)])


async def read(
    db: Database, session_id: str, since: int = 0, until: int | None = None, limit: int | None = None
) -> list[SessionEvent]:
    async with db.session() as session:
        return await event_reads.events_after(session, session_id, since, until, limit=limit)


async def raw_rows(db: Database, session_id: str) -> list[tuple[int | None, int]]:
    """``(first_seq, seq)`` of each stored row, by seq."""
    async with db.session() as session:
        result = await session.execute(
            text("SELECT first_seq, seq FROM session_events WHERE session_id = :s ORDER BY seq"),
            {"s": session_id},
        )
        return [(row[0], row[1]) for row in result]


async def test_a_mixed_batch_stores_runs_as_rows_and_reads_back_event_for_event(db: Database) -> None:
    session_id = await new_session(db)
    later = MOMENT + timedelta(milliseconds=3)
    events = [
        SessionEvent(
            1, EventType.STEP, Level.INFO, "[3/4] script", MOMENT, "script", 3, 4, {"status": "running"}
        ),
        line(2, "Get:1 http://deb ✓ 'quoted' \"x\""),
        line(3, ""),  # empty lines survive, also at the edges of a row
        line(4, "中文 · emoji 🎉 · tab\there · cr\rthere"),
        line(5, ""),
        line(6, "W: a warning", level=Level.WARNING),  # a level change breaks the run
        line(7, "W: another"),
        line(8, "E: err", level=Level.INFO, code="engine.some_code", params={"n": 1}),  # a code: alone
        line(9, "after the code"),
        line(10, "same level, later chunk", timestamp=later),  # another chunk's timestamp: a new row
        line(11, "", timestamp=later),
        line(12, "other step", step_id="firewall", step_index=4, timestamp=later),
        line(13, "with data", data={"k": "v"}, timestamp=later),
        line(14, "has a\nnewline", timestamp=later),  # never from the engine; stored row by row
        line(15, "next to it", timestamp=later),
        SessionEvent(16, EventType.COMPLETE, Level.SUCCESS, "✓ done", later, data={"status": "succeeded"}),
    ]
    await write(db, session_id, events)
    assert await read(db, session_id) == events
    assert await raw_rows(db, session_id) == [
        (None, 1),
        (2, 5),
        (None, 6),
        (None, 7),
        (None, 8),
        (None, 9),
        (10, 11),
        (None, 12),
        (None, 13),
        (None, 14),
        (None, 15),
        (None, 16),
    ]
    async with db.session() as session:
        assert await event_reads.max_event_seq(session, session_id) == 16
        assert await event_reads.count_events(session, session_id) == 16
        row = await repository.get_session(session, session_id)
    assert row is not None and row.last_seq == 16


async def test_since_until_and_limit_may_fall_inside_a_row(db: Database) -> None:
    session_id = await new_session(db)
    events = [line(seq, "" if seq % 5 == 0 else None) for seq in range(1, 25)]
    await write(db, session_id, events[:10], events[10:])  # rows 1..10 and 11..24
    assert await raw_rows(db, session_id) == [(1, 10), (11, 24)]
    for since in range(0, 26):
        assert await read(db, session_id, since) == events[since:], since
        for until in range(since + 1, 27, 3):
            assert await read(db, session_id, since, until) == events[since : until - 1], (since, until)
        for limit in (1, 2, 7, 13, 30):
            assert await read(db, session_id, since, limit=limit) == events[since : since + limit]
            assert await read(db, session_id, since, 20, limit=limit) == events[since:19][:limit]


async def test_rows_written_before_0006_read_as_before_and_new_runs_follow(
    make_settings: SettingsFactory,
) -> None:
    db = Database(make_settings())
    try:

        def upgrade(connection: Connection, revision: str) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)

        async with db.engine.begin() as connection:
            await connection.run_sync(upgrade, "0005")
        session_id = await old_session(db)
        old = [line(seq, f"old {seq}") for seq in range(1, 6)]
        async with db.engine.begin() as connection:  # the 0005 shape: one row per event, no first_seq
            await connection.execute(
                text(
                    "INSERT INTO session_events (session_id, seq, type, level, message, timestamp,"
                    " step_id, step_index, step_total, data) VALUES"
                    " (:s, :seq, 'log', 'info', :m, :t, 'script', 3, 4, '{}')"
                ),
                [
                    {"s": session_id, "seq": e.seq, "m": e.message, "t": MOMENT.replace(tzinfo=None)}
                    for e in old
                ],
            )
        await db.migrate()
        new = [line(seq) for seq in range(6, 12)]
        await write(db, session_id, new)
        assert await raw_rows(db, session_id) == [(None, seq) for seq in range(1, 6)] + [(6, 11)]
        assert await read(db, session_id) == old + new
        assert await read(db, session_id, 3, 9) == (old + new)[3:8]
        assert await read(db, session_id, 2, limit=5) == (old + new)[2:7]
        async with db.session() as session:
            assert await event_reads.count_events(session, session_id) == 11
    finally:
        await db.dispose()


async def test_downgrade_to_0005_expands_the_rows(make_settings: SettingsFactory) -> None:
    db = Database(make_settings())
    try:
        await db.migrate()
        session_id = await new_session(db)
        events = [line(seq, "" if seq == 3 else f"ü {seq}") for seq in range(1, 8)]
        await write(db, session_id, events)
        assert await raw_rows(db, session_id) == [(1, 7)]

        def downgrade(connection: Connection) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0005")

        async with db.engine.begin() as connection:
            await connection.run_sync(downgrade)
            result = await connection.execute(
                text(
                    "SELECT seq, message, level, step_id FROM session_events"
                    " WHERE session_id = :s ORDER BY seq"
                ),
                {"s": session_id},
            )
            rows = [tuple(row) for row in result]
        assert rows == [(e.seq, e.message, "info", "script") for e in events]
        await db.migrate()  # and up again: the expanded rows read as single events
        assert await read(db, session_id) == events
    finally:
        await db.dispose()


async def test_a_row_with_the_wrong_number_of_lines_is_refused(db: Database) -> None:
    session_id = await new_session(db)
    await write(db, session_id, [line(seq) for seq in range(1, 5)])
    async with db.session() as session:
        await session.execute(
            text("UPDATE session_events SET message = 'a\nb' WHERE session_id = :s"), {"s": session_id}
        )
    with pytest.raises(store.CorruptEventRowError, match=r"1\.\.4 holds 2 lines"):
        await read(db, session_id)


async def test_a_long_run_is_split_at_the_row_limit(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "MAX_LINES_PER_ROW", 4)
    session_id = await new_session(db)
    events = [line(seq) for seq in range(1, 11)]
    await write(db, session_id, events)
    assert await raw_rows(db, session_id) == [(1, 4), (5, 8), (9, 10)]
    for since in range(11):
        assert await read(db, session_id, since, limit=3) == events[since : since + 3]
        assert await read(db, session_id, since, since + 5) == events[since : since + 4]


async def test_the_feed_pages_through_rows_exactly(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed, "STORED_PAGE", 7)
    session_id = await new_session(db)
    events = [line(seq) for seq in range(1, 40)]
    events.append(SessionEvent(40, EventType.COMPLETE, Level.SUCCESS, "done", MOMENT, data={"status": "ok"}))
    await write(db, session_id, events[:17], events[17:])
    async with db.session() as session:
        await repository.finish_session(session, session_id, status="succeeded", message="ok", result={})
    bus = MemoryBus()
    try:
        for since in (0, 1, 6, 7, 16, 17, 18, 38, 39):
            got = [
                e
                async for batch in feed.session_events(
                    db, bus, session_id, since, sessions=DatabaseSessions(db)
                )
                for e in batch
            ]
            assert got == events[since:], since
    finally:
        await bus.close()


def random_events(rng: random.Random, count: int) -> list[SessionEvent]:
    """Mostly runs of plain lines, with the other kinds of events and the edges mixed in."""
    events: list[SessionEvent] = []
    moment = MOMENT
    step = ("connect", 1, 3)
    seq = 0
    while len(events) < count:
        seq += 1 + (rng.random() < 0.03) * rng.randint(1, 4)  # a few holes, as a lost write leaves
        roll = rng.random()
        if roll < 0.1:
            moment = moment + timedelta(microseconds=rng.randint(1, 10_000))  # the next chunk
        if roll < 0.02:
            step = rng.choice([("connect", 1, 3), ("apt", 2, 3), ("script", 3, 3)])
            events.append(
                SessionEvent(seq, EventType.STEP, Level.INFO, step[0], moment, *step, {"status": "x"})
            )
            continue
        level = Level.WARNING if rng.random() < 0.05 else Level.INFO
        message = rng.choice(["", "x", "ü · 中文 🎉", "a\rb", "  spaced  ", f"line {seq}", "\t", "\\n"])
        extra: dict[str, object] = {}
        if rng.random() < 0.02:
            extra["data"] = {"k": seq}
        if rng.random() < 0.02:
            extra["code"], extra["params"] = "engine.code", {"seq": seq}
        events.append(
            line(
                seq,
                message,
                level=level,
                timestamp=moment,
                step_id=step[0],
                step_index=step[1],
                step_total=step[2],
                **extra,
            )
        )
    return events


def reference(
    events: list[SessionEvent], since: int, until: int | None, limit: int | None
) -> list[SessionEvent]:
    wanted = [e for e in events if e.seq > since and (until is None or e.seq < until)]
    return wanted if limit is None else wanted[:limit]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_writes_read_back_exactly(
    db: Database, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    per_row = rng.choice([3, 50, 5000])
    monkeypatch.setattr(store, "MAX_LINES_PER_ROW", per_row)
    session_id = await new_session(db)
    events = random_events(rng, 600)
    cuts = sorted(rng.sample(range(1, len(events)), 12))
    batches = [events[a:b] for a, b in zip([0, *cuts], [*cuts, len(events)], strict=True)]
    await write(db, session_id, *batches)
    rows = await raw_rows(db, session_id)
    assert len(rows) < len(events) * (0.6 if per_row == 3 else 0.3), "runs of lines were not grouped"
    assert await read(db, session_id) == events
    last = events[-1].seq
    async with db.session() as session:
        assert await event_reads.count_events(session, session_id) == len(events)
        assert await event_reads.max_event_seq(session, session_id) == last
    for _ in range(60):
        since = rng.randint(0, last + 1)
        until = rng.choice([None, rng.randint(since, last + 2)])
        limit = rng.choice([None, 1, rng.randint(1, 40), rng.randint(1, 700)])
        got = await read(db, session_id, since, until, limit)
        assert got == reference(events, since, until, limit), (since, until, limit)


async def test_several_sessions_in_one_write_each_get_their_rows(db: Database) -> None:
    sessions = [await new_session(db) for _ in range(3)]

    def lines_of(index: int, seqs: range) -> list[SessionEvent]:
        return [line(seq, f"s{index} {seq}") for seq in seqs]

    async with db.session() as session:
        await store.add_event_batches(
            session, [(sessions[0], lines_of(0, range(1, 4))), (sessions[1], lines_of(1, range(1, 8)))]
        )
    async with db.session() as session:
        await store.add_event_batches(session, [(sessions[0], lines_of(0, range(4, 6)))])
    assert await read(db, sessions[0]) == lines_of(0, range(1, 6))
    assert await read(db, sessions[1]) == lines_of(1, range(1, 8))
    assert await read(db, sessions[2]) == []
    assert await raw_rows(db, sessions[0]) == [(1, 3), (4, 5)]
    assert await raw_rows(db, sessions[1]) == [(1, 7)]


async def test_a_write_retried_after_its_commit_was_lost_reads_each_seq_once(db: Database) -> None:
    """A write that committed although the writer saw it fail is retried with more lines behind it: the
    retried run is a longer row with another last seq, so the primary key does not refuse it, and the
    readers skip the seqs they already gave."""
    session_id = await new_session(db)
    events = [line(seq) for seq in range(1, 8)]
    await write(db, session_id, events[:3], events[:5], events[5:])
    assert await raw_rows(db, session_id) == [(1, 3), (1, 5), (6, 7)]
    assert await read(db, session_id) == events
    for since in range(8):
        assert await read(db, session_id, since) == events[since:]
        assert await read(db, session_id, since, limit=2) == events[since : since + 2]
        assert await read(db, session_id, since, 5) == events[since:4]


async def test_the_same_run_written_twice_is_refused(db: Database) -> None:
    session_id = await new_session(db)
    events = [line(seq) for seq in range(1, 4)]
    await write(db, session_id, events)
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await write(db, session_id, events)
    assert await read(db, session_id) == events


def lines_event(first: int, last: int, **fields: object) -> SessionEvent:
    """One engine event carrying the lines ``first..last`` (one chunk of output)."""
    message = "\n".join(f"line {seq}" for seq in range(first, last + 1))
    return line(last, message, first_seq=first, **fields)


async def test_multi_line_events_are_rows_and_read_back_line_by_line(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "MAX_LINES_PER_ROW", 6)
    session_id = await new_session(db)
    later = MOMENT + timedelta(milliseconds=3)
    events = [
        lines_event(1, 3),
        lines_event(4, 5),  # the next lines, same kind and chunk time: joins the row
        line(6, "W: warn", level=Level.WARNING),
        lines_event(7, 20, timestamp=later),  # 14 lines: cut at the row limit
        lines_event(21, 22, timestamp=later),  # joins the last part while it has room
        SessionEvent(23, EventType.COMPLETE, Level.SUCCESS, "✓ done", later, data={"status": "succeeded"}),
    ]
    await write(db, session_id, events)
    assert await raw_rows(db, session_id) == [(1, 5), (None, 6), (7, 12), (13, 18), (19, 22), (None, 23)]
    expanded = [one for event in events for one in event.per_line()]
    assert [e.seq for e in expanded] == list(range(1, 24))
    assert await read(db, session_id) == expanded
    for since in range(24):
        assert await read(db, session_id, since, limit=4) == expanded[since : since + 4]
    async with db.session() as session:
        assert await event_reads.count_events(session, session_id) == 23
        assert await event_reads.max_event_seq(session, session_id) == 23


async def test_a_page_read_while_rows_are_committed_skips_no_line(db: Database) -> None:
    """A page that found fewer lines than asked looks for the next row after the last line it read: rows
    a running session's recorder commits between the two statements must not be jumped over."""
    session_id = await new_session(db)
    await write(db, session_id, [lines_event(1, 30)])
    async with db.session() as session:
        real_scalar = session.scalar
        calls = 0

        async def scalar_after_a_commit(statement: Any, *args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == 1:
                await write(db, session_id, [lines_event(31, 60)], [lines_event(61, 90)])  # meanwhile
            return await real_scalar(statement, *args, **kwargs)

        session.scalar = scalar_after_a_commit  # type: ignore[method-assign]
        got = await event_reads.events_after(session, session_id, 10, limit=2000)
    assert [e.seq for e in got] == list(range(11, 91))
