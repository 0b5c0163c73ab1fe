"""Batched event storage, and the reader's feed merged from the database and the bus without gap or dupe."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.db.database import Database
from setupwizard.db.models import SetupSessionEvent
from setupwizard.live import event_reads
from setupwizard.live import feed as feed_module
from setupwizard.live import recorder as recorder_module
from setupwizard.live import store as event_store
from setupwizard.live.feed import session_events
from setupwizard.live.memory import MemoryBus
from setupwizard.live.recorder import EventStore
from setupwizard.live.sessions import SessionLookup
from setupwizard.provisioning.events import EventType, Level, SessionEvent
from setupwizard.setup import repository
from setupwizard.setup.session_lookup import DatabaseSessions

MakeUser = Callable[[], Awaitable[int]]


def event(seq: int, complete: bool = False) -> SessionEvent:
    kind = EventType.COMPLETE if complete else EventType.LOG
    return SessionEvent(seq, kind, Level.INFO, f"line {seq} ✓", datetime.now(UTC), data={"n": seq})


async def new_session(db: Database, owner_id: int) -> str:
    session_id = str(uuid.uuid4())
    async with db.session() as session:
        await repository.insert_session(
            session, session_id=session_id, owner_id=owner_id, host="198.18.0.9", port=22, username="bob"
        )
    return session_id


async def store_events(db: Database, session_id: str, events: list[SessionEvent]) -> None:
    async with db.session() as session:
        await event_store.add_events(session, session_id, events)


async def finish(db: Database, session_id: str) -> None:
    async with db.session() as session:
        await repository.finish_session(session, session_id, status="succeeded", message="ok", result={})


async def collect(feed: AsyncIterator[list[SessionEvent]]) -> list[int]:
    return [e.seq async for batch in feed for e in batch]


async def stored_seq(db: Database, session_id: str) -> int:
    async with db.session() as session:
        return await event_reads.max_event_seq(session, session_id)


Batches = Sequence[tuple[str, Sequence[SessionEvent]]]


def counting_writes(counts: list[int]) -> Callable[[AsyncSession, Batches], Awaitable[None]]:
    """The repository's writer, noting the events of each write (one transaction, one executemany)."""
    add_event_batches = event_store.add_event_batches

    async def counting(session: AsyncSession, batches: Batches) -> None:
        counts.append(sum(len(events) for _, events in batches))
        await add_event_batches(session, batches)

    return counting


async def test_recorder_writes_in_batches_not_per_event(
    db: Database, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = await new_session(db, await make_user())
    inserts: list[int] = []  # events per write (one executemany each, see the repository)
    monkeypatch.setattr(recorder_module, "add_event_batches", counting_writes(inserts))
    store = EventStore(db, flush_seconds=30.0, batch_size=100)
    recorder = store.open(session_id)
    for first in range(1, 251, 10):  # the engine's shape: one batch per chunk of output
        recorder.add([event(seq) for seq in range(first, first + 10)])
    for _ in range(200):  # a full batch goes out at once, not after the 30 s timer
        await asyncio.sleep(0.02)
        if await stored_seq(db, session_id) == 250:
            break
    assert await stored_seq(db, session_id) == 250
    recorder.add([event(seq) for seq in range(251, 301)])  # fewer than a batch: they wait
    await asyncio.sleep(0.3)
    assert await stored_seq(db, session_id) == 250
    await recorder.close()
    assert await stored_seq(db, session_id) == 300
    assert inserts == [250, 50], inserts  # 26 batches in, two writes out
    async with db.session() as session:
        stored = await event_reads.events_after(session, session_id)
        row = await repository.get_session(session, session_id)
    assert [e.seq for e in stored] == list(range(1, 301))
    assert stored[0].message == "line 1 ✓"
    assert stored[0].data == {"n": 1}
    assert row is not None and row.last_seq == 300


async def test_finished_session_is_read_from_the_database_alone(db: Database, make_user: MakeUser) -> None:
    session_id = await new_session(db, await make_user())
    await store_events(db, session_id, [event(1), event(2), event(3, complete=True)])
    await finish(db, session_id)
    bus = MemoryBus()  # knows nothing of the session (expired, or another process ran it)
    assert await asyncio.wait_for(
        collect(session_events(db, bus, session_id, sessions=DatabaseSessions(db))), 10
    ) == [1, 2, 3]
    assert await asyncio.wait_for(
        collect(session_events(db, bus, session_id, since=1, sessions=DatabaseSessions(db))), 10
    ) == [2, 3]
    await bus.close()


async def test_stored_then_live_events_come_once_each(db: Database, make_user: MakeUser) -> None:
    session_id = await new_session(db, await make_user())
    bus = MemoryBus()
    for seq in range(1, 7):
        await bus.publish(session_id, [event(seq)])
    await store_events(db, session_id, [event(1), event(2), event(3)])  # the recorder lags behind the bus
    reader = asyncio.create_task(collect(session_events(db, bus, session_id, sessions=DatabaseSessions(db))))
    await asyncio.sleep(0.05)
    await bus.publish(session_id, [event(7)])
    await bus.publish(session_id, [event(8, complete=True)])
    assert await asyncio.wait_for(reader, 10) == list(range(1, 9))
    await bus.close()


async def test_hole_in_the_bus_is_filled_from_the_database(db: Database, make_user: MakeUser) -> None:
    session_id = await new_session(db, await make_user())
    bus = MemoryBus()
    for seq in (5, 6):  # the bus lost 1..4 (say Redis restarted); the database has them
        await bus.publish(session_id, [event(seq)])
    reader = asyncio.create_task(
        collect(session_events(db, bus, session_id, since=2, sessions=DatabaseSessions(db)))
    )
    await asyncio.sleep(0.05)
    await store_events(db, session_id, [event(1), event(2), event(3), event(4)])
    await bus.publish(session_id, [event(7, complete=True)])
    assert await asyncio.wait_for(reader, 10) == [3, 4, 5, 6, 7]
    await bus.close()


async def test_feed_notices_a_session_that_ended_without_the_bus(db: Database, make_user: MakeUser) -> None:
    session_id = await new_session(db, await make_user())
    bus = MemoryBus()
    await bus.publish(session_id, [event(1)])
    reader = asyncio.create_task(
        collect(session_events(db, bus, session_id, recheck_seconds=0.1, sessions=DatabaseSessions(db)))
    )
    await asyncio.sleep(0.05)
    # e.g. crash recovery in another process wrote the end straight to the database
    await store_events(db, session_id, [event(1), event(2, complete=True)])
    await finish(db, session_id)
    assert await asyncio.wait_for(reader, 10) == [1, 2]
    await bus.close()


async def test_a_quiet_session_running_in_this_process_is_not_rechecked_in_the_database(
    db: Database, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = await new_session(db, await make_user())
    bus = MemoryBus()
    await bus.publish(session_id, [event(1)])
    checks: list[str] = []
    finished = feed_module._finished

    async def counting(lookup: SessionLookup, sid: str) -> bool:
        checks.append(sid)
        return await finished(lookup, sid)

    monkeypatch.setattr(feed_module, "_finished", counting)
    here = {session_id}
    sessions = DatabaseSessions(db)
    feed = session_events(
        db, bus, session_id, sessions=sessions, recheck_seconds=0.02, running_here=here.__contains__
    )
    reader = asyncio.create_task(collect(feed))
    await asyncio.sleep(0.3)  # quiet: ~15 rechecks, none of them asks the database
    assert checks == []
    here.clear()  # the run left this process (e.g. it ended): a quiet bus is checked again
    for _ in range(100):
        await asyncio.sleep(0.02)
        if checks:
            break
    assert checks and set(checks) == {session_id}
    await bus.publish(session_id, [event(2, complete=True)])
    assert await asyncio.wait_for(reader, 10) == [1, 2]
    await bus.close()


async def test_a_flood_is_written_in_slices_so_no_write_holds_the_loop_long(
    db: Database, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = await new_session(db, await make_user())
    writes: list[int] = []
    monkeypatch.setattr(recorder_module, "add_event_batches", counting_writes(writes))
    monkeypatch.setattr(recorder_module, "WRITE_SLICE", 300)
    recorder = EventStore(db, flush_seconds=30.0, batch_size=100_000).open(session_id)
    recorder.add([event(seq) for seq in range(1, 1001)])
    await recorder.flush()
    assert writes == [300, 300, 300, 100]
    assert await stored_seq(db, session_id) == 1000


async def test_many_sessions_share_one_transaction_per_tick(
    db: Database, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await make_user()
    sessions = [await new_session(db, owner) for _ in range(30)]
    writes: list[int] = []
    monkeypatch.setattr(recorder_module, "add_event_batches", counting_writes(writes))
    store = EventStore(db, flush_seconds=0.05, batch_size=100_000)
    recorders = [store.open(session_id) for session_id in sessions]
    for first in range(1, 41, 2):  # 30 quiet sessions, 2 lines at a time each
        for recorder in recorders:
            recorder.add([event(first), event(first + 1)])
    await asyncio.gather(*(recorder.close() for recorder in recorders))
    await store.close()
    assert sum(writes) == 30 * 40
    assert len(writes) <= 3, writes  # one transaction for all sessions, not one per session
    for session_id in sessions:
        assert await stored_seq(db, session_id) == 40


async def test_one_sessions_failing_write_does_not_hold_the_others(db: Database, make_user: MakeUser) -> None:
    owner = await make_user()
    good, doomed = await new_session(db, owner), await new_session(db, owner)
    store = EventStore(db, flush_seconds=30.0, batch_size=100_000)
    good_recorder, doomed_recorder = store.open(good), store.open(doomed)
    doomed_recorder.add([event(1), event(1)])  # the same seq twice: the primary key refuses the batch
    good_recorder.add([event(seq) for seq in range(1, 51)])
    await good_recorder.flush()
    assert await stored_seq(db, good) == 50
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await doomed_recorder.flush()
    assert await stored_seq(db, doomed) == 0
    good_recorder.add([event(51)])  # the store goes on writing for the healthy session
    await good_recorder.close()
    assert await stored_seq(db, good) == 51
    await store.close()


def test_the_raw_insert_stores_every_column_of_the_table() -> None:
    sample = event(7)
    table_columns = [column.name for column in SetupSessionEvent.__table__.columns]
    assert sorted(event_store._COLUMNS) == sorted(table_columns)
    assert event_store._SQLITE_INSERT.split("(")[1].split(")")[0].split(", ") == list(event_store._COLUMNS)
    (raw,) = event_store._rows("s", [sample], event_store._utc)
    assert dict(zip(event_store._COLUMNS, raw, strict=True)) == {
        "session_id": "s",
        "seq": 7,
        "type": "log",
        "level": "info",
        "message": sample.message,
        "timestamp": sample.timestamp,
        "step_id": None,
        "step_index": None,
        "step_total": None,
        "data": '{"n": 7}',
        "code": None,
        "params": None,
        "first_seq": None,
    }
