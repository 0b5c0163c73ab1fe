"""Several workers on one database and the real Redis: a cancel reaches the run in the other worker, and
the dead-worker sweep ends only the sessions no worker runs (keeping, and completing, their logs)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from setupwizard.config import Settings
from setupwizard.core.errors import ConflictError
from setupwizard.db.database import Database
from setupwizard.live import event_reads, store
from setupwizard.live.redis import RedisBus
from setupwizard.provisioning.events import EventType, Level, SessionEvent, utc_now
from setupwizard.provisioning.known_hosts import MemoryKnownHosts
from setupwizard.provisioning.result import INTERRUPTED_MESSAGE, SessionStatus
from setupwizard.setup import repository
from setupwizard.setup.locks import RedisHostLocks
from setupwizard.setup.run_signals import MemoryRunSignals, RedisRunSignals
from setupwizard.setup.service import SetupService
from setupwizard.setup.sweep import DeadRunSweep
from tests.support import REDIS_URL, redis_namespace

from .test_service import FakeEngine, MemorySudoStore, request, validate

MakeUser = Callable[[], Awaitable[int]]


class Worker:
    """One worker's parts, all on its own Redis client."""

    def __init__(self, db: Database, prefix: str) -> None:
        self.redis = Redis.from_url(REDIS_URL)
        self.engine = FakeEngine()
        self.bus = RedisBus(self.redis, prefix=prefix)
        self.signals = RedisRunSignals(self.redis, prefix=prefix, lease_seconds=1.5)
        self.service = SetupService(
            settings=Settings(event_flush_seconds=0.05),
            db=db,
            bus=self.bus,
            locks=RedisHostLocks(self.redis, prefix=prefix, ttl=1.5),
            known_hosts=MemoryKnownHosts(),
            sudo_store=MemorySudoStore(),
            runner=self.engine,
            validate=validate,
            signals=self.signals,
        )
        self.sweep = DeadRunSweep(db, self.bus, self.signals, interval=0.2, grace=0)

    async def close(self) -> None:
        self.engine.release.set()
        await self.service.close()
        await self.signals.close()
        await self.bus.close()


@pytest.fixture
async def workers(db: Database) -> AsyncIterator[tuple[Worker, Worker]]:
    async with redis_namespace() as prefix:
        first, second = Worker(db, prefix), Worker(db, prefix)
        await first.signals.start()
        await second.signals.start()
        yield first, second
        await first.close()
        await second.close()


async def test_a_cancel_sent_to_the_other_worker_stops_the_run(
    workers: tuple[Worker, Worker], make_user: MakeUser
) -> None:
    first, second = workers
    owner = await make_user()
    run = await first.service.start(owner, request("198.18.0.80"))
    await second.service.cancel(owner, run.session_id)  # second never ran it: 202, not 409
    assert run.task is not None
    response = await asyncio.wait_for(run.task, 10)
    assert response.status == "cancelled"
    with pytest.raises(ConflictError):
        await second.service.cancel(owner, run.session_id)
    assert not await second.signals.is_alive(run.session_id)


async def test_a_cancel_waiting_in_redis_reaches_a_run_that_registers_late(
    workers: tuple[Worker, Worker],
) -> None:
    first, second = workers
    session_id = str(uuid.uuid4())
    await second.signals.request_cancel(session_id)  # no worker runs it yet: the request waits as a key
    cancel = asyncio.Event()
    await first.signals.track(session_id, cancel)
    assert cancel.is_set()
    first.signals.untrack(session_id)


async def test_the_sweep_leaves_a_live_run_alone_and_ends_a_dead_workers_session_with_its_log(
    workers: tuple[Worker, Worker], make_user: MakeUser, db: Database
) -> None:
    first, second = workers
    owner = await make_user()
    alive = await first.service.start(owner, request("198.18.0.81"))
    # A dead worker's session: its row says running, nobody beats for it; it stored 2 events and had
    # published a third it never stored.
    dead = str(uuid.uuid4())
    events = [
        SessionEvent(seq=n, type=EventType.LOG, level=Level.INFO, message=f"line {n}", timestamp=utc_now())
        for n in (1, 2, 3)
    ]
    async with db.session() as session:
        await repository.insert_session(
            session, session_id=dead, owner_id=owner, host="198.18.0.82", port=22, username="alice"
        )
        await store.add_events(session, dead, events[:2])
    for event in events:
        await first.bus.publish(dead, (event,))

    assert await second.sweep.sweep() == [dead]
    assert await first.sweep.sweep() == []  # already ended; the live run is still left alone

    async with db.session() as session:
        row = await repository.get_session(session, dead)
        stored = await event_reads.events_after(session, dead)
        live_row = await repository.get_session(session, alive.session_id)
    assert row is not None and row.status == SessionStatus.INTERRUPTED
    assert [e.message for e in stored[:3]] == ["line 1", "line 2", "line 3"]
    assert stored[-1].message.endswith(INTERRUPTED_MESSAGE)
    assert [e.seq for e in stored] == [1, 2, 3, 4]
    assert stored[-1].data["status"] == "interrupted"
    assert live_row is not None and live_row.status == SessionStatus.RUNNING
    watched = [e async for batch in first.bus.subscribe(dead, since=3) for e in batch]  # ends with it
    assert [e.type for e in watched] == [EventType.COMPLETE]

    first.engine.release.set()
    assert alive.task is not None
    assert (await asyncio.wait_for(alive.task, 10)).success


async def test_memory_signals_cancel_only_what_this_process_runs() -> None:
    signals = MemoryRunSignals()
    cancel = asyncio.Event()
    await signals.track("a", cancel)
    assert await signals.is_alive("a") and not await signals.is_alive("b")
    await signals.request_cancel("b")
    assert not cancel.is_set()
    await signals.request_cancel("a")
    assert cancel.is_set()
    signals.untrack("a")
    assert not await signals.is_alive("a")


async def test_a_heartbeat_lost_with_a_redis_restart_comes_back_and_ends_nothing(
    workers: tuple[Worker, Worker], make_user: MakeUser, db: Database
) -> None:
    first, second = workers
    owner = await make_user()
    run = await first.service.start(owner, request("198.18.0.83"))
    # lease 1.5 s: the runner beats every 0.5 s; a missing beat must persist 0.75 s to count
    sweep = DeadRunSweep(db, second.bus, second.signals, interval=0.2, grace=0, confirm_after=0.75)
    await second.redis.delete(second.signals.run_key(run.session_id))  # as if Redis restarted empty
    assert await sweep.sweep() == []  # noted as missing, not ended
    await asyncio.sleep(0.8)  # the runner's next beat writes the key again
    assert await sweep.sweep() == []
    async with db.session() as session:
        row = await repository.get_session(session, run.session_id)
    assert row is not None and row.status == SessionStatus.RUNNING
    first.engine.release.set()
    assert run.task is not None
    assert (await asyncio.wait_for(run.task, 10)).success


async def test_a_missing_heartbeat_ends_the_session_only_once_confirmed_at_a_later_pass(
    workers: tuple[Worker, Worker], make_user: MakeUser, db: Database
) -> None:
    _first, second = workers
    owner = await make_user()
    dead = str(uuid.uuid4())
    async with db.session() as session:
        await repository.insert_session(
            session, session_id=dead, owner_id=owner, host="198.18.0.84", port=22, username="alice"
        )
    sweep = DeadRunSweep(db, second.bus, second.signals, interval=0.2, grace=0, confirm_after=0.3)
    assert await sweep.sweep() == []
    await asyncio.sleep(0.35)
    assert await sweep.sweep() == [dead]
