"""Seqs are reserved ahead of publishing: a publish waits for the database only when it has caught up with
the reservation, and whatever it returns from, its seq is reserved in the row (setup/seq_ceiling.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.db.database import Database
from setupwizard.setup import repository
from setupwizard.setup.seq_ceiling import FIRST_RESERVATION, CeilingWriter, SeqCeiling


class GatedDatabase:
    """The real database, whose sessions open only while ``gate`` is set (a slow write gate)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.gate = asyncio.Event()
        self.asked = 0
        self.opened = 0

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        self.asked += 1
        await self.gate.wait()
        self.opened += 1
        async with self.db.session() as session:
            yield session


async def new_sessions(db: Database, make_user: Callable[[], Awaitable[int]], count: int) -> list[str]:
    """``count`` running sessions of one new user, inserted in one transaction (one commit, not ``count``)."""
    session_ids = [str(uuid.uuid4()) for _ in range(count)]
    owner = await make_user()
    async with db.session() as session:
        for session_id in session_ids:
            await repository.insert_session(
                session,
                session_id=session_id,
                owner_id=owner,
                host="192.0.2.1",
                port=22,
                username="root",
                seq_ceiling=FIRST_RESERVATION,
            )
    return session_ids


async def new_session(db: Database, make_user: Callable[[], Awaitable[int]]) -> str:
    [session_id] = await new_sessions(db, make_user, 1)
    return session_id


async def stored_ceiling(db: Database, session_id: str) -> int:
    async with db.session() as session:
        row = await repository.get_session(session, session_id)
    assert row is not None
    return row.seq_ceiling


async def test_a_new_session_publishes_its_first_events_without_a_write(
    db: Database, make_user: Callable[[], Awaitable[int]]
) -> None:
    session_id = await new_session(db, make_user)
    assert await stored_ceiling(db, session_id) == FIRST_RESERVATION
    gated = GatedDatabase(db)
    ceiling = SeqCeiling(CeilingWriter(gated), session_id, ceiling=FIRST_RESERVATION)  # type: ignore[arg-type]
    await asyncio.wait_for(ceiling.cover(FIRST_RESERVATION // 2), 5)  # the gate is shut: no write needed
    assert gated.asked == 0


async def test_the_next_reservation_is_written_ahead_and_a_publish_waits_only_once_caught_up(
    db: Database, make_user: Callable[[], Awaitable[int]]
) -> None:
    session_id = await new_session(db, make_user)
    gated = GatedDatabase(db)
    ceiling = SeqCeiling(CeilingWriter(gated), session_id, ceiling=FIRST_RESERVATION)  # type: ignore[arg-type]
    past_half = FIRST_RESERVATION // 2 + 1
    await asyncio.wait_for(ceiling.cover(past_half), 5)  # starts the next reservation, does not wait for it
    await asyncio.sleep(0)
    assert gated.asked == 1, "half the reservation is used, but the next one was not asked for"
    await asyncio.wait_for(ceiling.cover(FIRST_RESERVATION), 5)  # still under the old ceiling
    behind = asyncio.create_task(ceiling.cover(FIRST_RESERVATION + 1))
    await asyncio.sleep(0.05)
    assert not behind.done(), "a seq above the ceiling was let through before it was reserved"
    gated.gate.set()
    await asyncio.wait_for(behind, 5)
    assert await stored_ceiling(db, session_id) >= FIRST_RESERVATION + 1
    assert ceiling.ceiling == await stored_ceiling(db, session_id)
    assert gated.opened == 1, "the publish that caught up should have waited for the write under way"


async def test_every_covered_seq_is_in_the_row_through_a_long_run(
    db: Database, make_user: Callable[[], Awaitable[int]]
) -> None:
    session_id = await new_session(db, make_user)
    gated = GatedDatabase(db)
    gated.gate.set()
    ceiling = SeqCeiling(CeilingWriter(gated), session_id, ceiling=FIRST_RESERVATION)  # type: ignore[arg-type]
    for seq in range(1, 100_001, 37):
        await ceiling.cover(seq)
        assert seq <= ceiling.ceiling
    await ceiling.close()
    assert await stored_ceiling(db, session_id) == ceiling.ceiling >= 100_000
    assert gated.opened <= 20, f"{gated.opened} writes for 100,000 seqs"


async def test_sessions_that_cross_together_share_one_write(
    db: Database, make_user: Callable[[], Awaitable[int]]
) -> None:
    """200 sessions started together cross half of their first reservation together: their reservations
    must not become 200 transactions on SQLite's one write lock (bench/results.md, "Bisecting")."""
    session_ids = await new_sessions(db, make_user, 200)
    gated = GatedDatabase(db)
    writer = CeilingWriter(gated)  # type: ignore[arg-type]
    ceilings = [SeqCeiling(writer, session_id, ceiling=FIRST_RESERVATION) for session_id in session_ids]
    past_half = FIRST_RESERVATION // 2 + 1
    for ceiling in ceilings:  # each starts its next reservation in the background
        await asyncio.wait_for(ceiling.cover(past_half), 5)
    await asyncio.sleep(0.05)
    assert gated.asked == 1, "the first write is under way; the others should wait to join the next one"
    caught_up = [asyncio.create_task(ceiling.cover(FIRST_RESERVATION + 1)) for ceiling in ceilings]
    await asyncio.sleep(0.05)
    assert not any(task.done() for task in caught_up), "a seq above the ceiling was let through unreserved"
    gated.gate.set()
    await asyncio.wait_for(asyncio.gather(*caught_up), 10)
    assert gated.opened == writer.writes == 2, f"{gated.opened} transactions for 200 sessions' reservations"
    for ceiling, session_id in zip(ceilings, session_ids, strict=True):
        assert ceiling.ceiling == await stored_ceiling(db, session_id) > FIRST_RESERVATION


async def test_a_failed_shared_write_is_reported_to_each_session_and_tried_again(
    db: Database, make_user: Callable[[], Awaitable[int]]
) -> None:
    """A write that fails (the database refuses) lets publishing go on, and the next cover tries again."""
    session_ids = await new_sessions(db, make_user, 3)

    class Refusing(GatedDatabase):
        refuse = True

        @asynccontextmanager
        async def session(self) -> AsyncIterator[AsyncSession]:
            self.asked += 1
            if self.refuse:
                raise OSError("disk full")
            async with self.db.session() as session:
                yield session

    refusing = Refusing(db)
    writer = CeilingWriter(refusing)  # type: ignore[arg-type]
    ceilings = [SeqCeiling(writer, session_id, ceiling=FIRST_RESERVATION) for session_id in session_ids]
    beyond = FIRST_RESERVATION + 10
    await asyncio.wait_for(asyncio.gather(*(ceiling.cover(beyond) for ceiling in ceilings)), 5)
    assert [c.ceiling for c in ceilings] == [FIRST_RESERVATION] * 3, "a failed write raised no ceiling"
    for ceiling, session_id in zip(ceilings, session_ids, strict=True):
        assert await stored_ceiling(db, session_id) == FIRST_RESERVATION
        ceiling._retry_at = 0.0  # the retry pause is over
    refusing.refuse = False
    await asyncio.wait_for(asyncio.gather(*(ceiling.cover(beyond) for ceiling in ceilings)), 5)
    for ceiling, session_id in zip(ceilings, session_ids, strict=True):
        assert ceiling.ceiling == await stored_ceiling(db, session_id) >= beyond
