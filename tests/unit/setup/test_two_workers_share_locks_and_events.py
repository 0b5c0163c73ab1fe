"""Two service workers sharing one database and one Redis agree on locks and see each other's events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from setupwizard.config import Settings
from setupwizard.core.errors import ConflictError
from setupwizard.db.database import Database
from setupwizard.live.feed import session_events
from setupwizard.live.redis import RedisBus
from setupwizard.provisioning.events import SessionEvent
from setupwizard.provisioning.known_hosts import MemoryKnownHosts
from setupwizard.setup.locks import RedisHostLocks
from setupwizard.setup.service import SetupService
from setupwizard.setup.session_end import recover_interrupted
from setupwizard.setup.session_lookup import DatabaseSessions
from tests.support import REDIS_URL, redis_namespace

from .test_service import FakeEngine, MemorySudoStore, request, validate

MakeUser = Callable[[], Awaitable[int]]
Worker = tuple[SetupService, FakeEngine]


@pytest.fixture
async def workers(db: Database) -> AsyncIterator[tuple[Worker, Worker]]:
    async with redis_namespace() as prefix:
        built: list[Worker] = []
        for _ in range(2):
            client = Redis.from_url(REDIS_URL)
            engine = FakeEngine()
            service = SetupService(
                settings=Settings(event_flush_seconds=0.05),
                db=db,
                bus=RedisBus(client, prefix=prefix),
                locks=RedisHostLocks(client, prefix=prefix),
                known_hosts=MemoryKnownHosts(),
                sudo_store=MemorySudoStore(),
                runner=engine,
                validate=validate,
            )
            built.append((service, engine))
        yield built[0], built[1]
        for service, engine in built:
            engine.release.set()
            await service.close()
            await service.bus.close()


async def test_a_server_busy_in_one_worker_is_409_in_the_other_and_its_events_stream_there(
    workers: tuple[Worker, Worker], make_user: MakeUser, db: Database
) -> None:
    (first, first_engine), (second, second_engine) = workers
    owner = await make_user()
    run = await first.start(owner, request("198.18.0.70"))
    with pytest.raises(ConflictError):
        await second.start(owner, request("198.18.0.70"))
    assert second_engine.calls == []
    # The other worker never ran this session, yet its feed (database + Redis) follows it to the end.
    reader = asyncio.create_task(
        collect(session_events(db, second.bus, run.session_id, sessions=DatabaseSessions(db)))
    )
    await asyncio.sleep(0.1)
    # Startup recovery in the other worker leaves a session alone while its runner holds the lock.
    assert run.session_id not in await recover_interrupted(db, second.locks)
    first_engine.release.set()
    assert run.task is not None
    response = await asyncio.wait_for(run.task, 10)
    events = await asyncio.wait_for(reader, 10)
    assert [e.seq for e in events] == [1, 2, 3]
    assert [e.message for e in events] == response.logs
    again = await second.start(owner, request("198.18.0.70"))  # free again, from either worker
    second_engine.release.set()
    assert again.task is not None
    assert (await asyncio.wait_for(again.task, 10)).success


async def collect(feed: AsyncIterator[list[SessionEvent]]) -> list[SessionEvent]:
    return [e async for batch in feed for e in batch]
