"""The event store's write path (a prepared executemany on the driver) reads back exactly, on both DBs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from setupwizard.auth.service import create_user
from setupwizard.db.database import Database
from setupwizard.live import event_reads, store
from setupwizard.provisioning.events import EventType, Level, SessionEvent
from setupwizard.setup import repository
from tests.integration.web.fixtures import SettingsFactory


async def test_stored_events_read_back_field_for_field(make_settings: SettingsFactory) -> None:
    db = Database(make_settings())
    await db.migrate()
    try:
        session_id = str(uuid.uuid4())
        async with db.session() as session:
            user = await create_user(session, f"u{uuid.uuid4().hex[:10]}", "a-long-password-123")
            await repository.insert_session(
                session, session_id=session_id, owner_id=user.id, host="198.18.0.9", port=22, username="bob"
            )
        moment = datetime(2026, 11, 27, 1, 2, 3, 456789, tzinfo=UTC)
        elsewhere = moment + timedelta(microseconds=1)
        events = [
            SessionEvent(
                1, EventType.STEP, Level.INFO, "[1/2] 连接 …", moment, "connect", 1, 2, {"status": "running"}
            ),
            SessionEvent(
                2, EventType.LOG, Level.INFO, "Get:1 http://deb ✓ 'quoted' \"x\"", moment, "connect", 1, 2
            ),
            SessionEvent(3, EventType.LOG, Level.WARNING, "W: 警告", elsewhere, "connect", 1, 2),
            SessionEvent(4, EventType.COMPLETE, Level.SUCCESS, "✓ done", elsewhere, data={"a": [1, "二"]}),
        ]
        async with db.session() as session:
            await store.add_events(session, session_id, events[:3])
        async with db.session() as session:
            await store.add_events(session, session_id, events[3:])
        async with db.session() as session:
            stored = await event_reads.events_after(session, session_id)
            row = await repository.get_session(session, session_id)
        assert stored == events
        assert row is not None and row.last_seq == 4
    finally:
        await db.dispose()


async def test_one_write_stores_several_sessions_and_advances_each_last_seq(
    make_settings: SettingsFactory,
) -> None:
    db = Database(make_settings())
    await db.migrate()
    try:
        sessions = [str(uuid.uuid4()) for _ in range(3)]
        async with db.session() as session:
            user = await create_user(session, f"u{uuid.uuid4().hex[:10]}", "a-long-password-123")
            for session_id in sessions:
                await repository.insert_session(
                    session, session_id=session_id, owner_id=user.id, host="198.18.0.9", port=22, username="b"
                )
        moment = datetime(2026, 11, 27, 1, 2, 3, tzinfo=UTC)

        def lines(session_index: int, seqs: range) -> list[SessionEvent]:
            return [
                SessionEvent(seq, EventType.LOG, Level.INFO, f"s{session_index} {seq}", moment)
                for seq in seqs
            ]

        async with db.session() as session:
            await store.add_event_batches(
                session,
                [
                    (sessions[0], lines(0, range(1, 4))),
                    (sessions[1], lines(1, range(1, 8))),
                    (sessions[2], []),
                ],
            )
        async with db.session() as session:
            await store.add_event_batches(session, [(sessions[0], lines(0, range(4, 6)))])
        async with db.session() as session:
            first = await event_reads.events_after(session, sessions[0])
            second = await event_reads.events_after(session, sessions[1])
            rows = [await repository.get_session(session, session_id) for session_id in sessions]
        assert [e.message for e in first] == [f"s0 {seq}" for seq in range(1, 6)]
        assert [e.message for e in second] == [f"s1 {seq}" for seq in range(1, 8)]
        assert [row.last_seq if row else None for row in rows] == [5, 7, 0]
    finally:
        await db.dispose()
