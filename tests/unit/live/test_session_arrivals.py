"""Sockets that connect before their session exists wait in one place, not one database poll each."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence

import pytest

from setupwizard.db.database import Database
from setupwizard.live import arrivals as arrivals_module
from setupwizard.live.arrivals import SessionArrivals
from setupwizard.live.sessions import SessionState
from setupwizard.setup import repository
from setupwizard.setup.session_lookup import DatabaseSessions

MakeUser = Callable[[], Awaitable[int]]


async def insert(db: Database, session_id: str, owner_id: int) -> None:
    async with db.session() as session:
        await repository.insert_session(
            session, session_id=session_id, owner_id=owner_id, host="198.18.0.9", port=22, username="bob"
        )


def count_queries(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of ids each poll asked for (one query each)."""
    asked: list[int] = []
    existing = DatabaseSessions.existing

    async def counting(self: DatabaseSessions, ids: Sequence[str]) -> list[SessionState]:
        asked.append(len(ids))
        return await existing(self, ids)

    monkeypatch.setattr(DatabaseSessions, "existing", counting)
    return asked


async def test_this_process_s_new_session_wakes_its_sockets_without_a_query(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = count_queries(monkeypatch)
    arrivals = SessionArrivals(DatabaseSessions(db), poll_seconds=30.0)
    session_id = str(uuid.uuid4())
    waiters = [asyncio.create_task(arrivals.wait(session_id, 10.0)) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert not any(w.done() for w in waiters)
    row = SessionState(session_id=session_id, owner_id=7, running=True, last_seq=0)
    arrivals.arrived(row)
    assert await asyncio.gather(*waiters) == [row, row, row]
    assert asked == []
    await arrivals.close()


async def test_many_sockets_waiting_for_another_worker_s_sessions_share_one_poll(
    db: Database, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = count_queries(monkeypatch)
    monkeypatch.setattr(arrivals_module, "QUERY_CHUNK", 150)
    owner = await make_user()
    arrivals = SessionArrivals(DatabaseSessions(db), poll_seconds=0.05)
    ids = [str(uuid.uuid4()) for _ in range(200)]
    waiters = [asyncio.create_task(arrivals.wait(sid, 20.0)) for sid in ids for _ in range(5)]  # 1,000
    await asyncio.sleep(0.2)
    for sid in ids[:100]:  # "another worker" creates half of them
        await insert(db, sid, owner)
    for _ in range(200):
        await asyncio.sleep(0.05)
        if sum(w.done() for w in waiters) == 500:
            break
    rows = [w.result() for w in waiters[:500]]
    assert [row.session_id if row else None for row in rows] == [sid for sid in ids[:100] for _ in range(5)]
    assert {row.owner_id if row else None for row in rows} == {owner}
    assert not any(w.done() for w in waiters[500:])
    polls = len(asked)
    # every poll asked for every parked id in chunks of 150: 1,000 sockets cost 2 queries per poll
    assert polls >= 2 and all(n <= 150 for n in asked)
    assert sum(asked) / polls > 50, asked  # ids are asked for together, not one query per socket
    for waiter in waiters[500:]:
        waiter.cancel()
    await asyncio.gather(*waiters[500:], return_exceptions=True)
    await arrivals.close()


async def test_a_session_that_never_comes_times_out_and_leaves_nothing_parked(db: Database) -> None:
    arrivals = SessionArrivals(DatabaseSessions(db), poll_seconds=0.02)
    assert await arrivals.wait(str(uuid.uuid4()), 0.1) is None
    assert arrivals._parked == {}
    await arrivals.close()
