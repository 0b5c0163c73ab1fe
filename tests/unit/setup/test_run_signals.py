"""Two services on one database and the real Redis, without a job queue: a cancel or a confirmation sent
to the other one reaches the run through the Redis relay. (With the queue, a cancel is procrastinate's
abort and a dead worker's setups are stalled jobs: ``tests/integration/jobs``, ``.../scaleout``.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from setupwizard.config import Settings
from setupwizard.core.errors import ConflictError
from setupwizard.db.database import Database
from setupwizard.live.redis import RedisBus
from setupwizard.provisioning.known_hosts import MemoryKnownHosts
from setupwizard.setup.locks import MemoryHostLocks
from setupwizard.setup.run_signals import MemoryRunSignals, RedisRunSignals
from setupwizard.setup.service import SetupService
from tests.support import REDIS_URL, redis_namespace

from .test_service import FakeEngine, MemorySudoStore, request, validate

MakeUser = Callable[[], Awaitable[int]]


class Worker:
    """One worker's parts, all on its own Redis client."""

    def __init__(self, db: Database, prefix: str) -> None:
        self.redis = Redis.from_url(REDIS_URL)
        self.engine = FakeEngine()
        self.bus = RedisBus(self.redis, prefix=prefix)
        self.signals = RedisRunSignals(self.redis, prefix=prefix)
        self.service = SetupService(
            settings=Settings(event_flush_seconds=0.05),
            db=db,
            bus=self.bus,
            locks=MemoryHostLocks(),
            known_hosts=MemoryKnownHosts(),
            sudo_store=MemorySudoStore(),
            runner=self.engine,
            validate=validate,
            signals=self.signals,
        )

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


async def test_memory_signals_cancel_only_what_this_process_runs() -> None:
    signals = MemoryRunSignals()
    cancel = asyncio.Event()
    await signals.track("a", cancel)
    await signals.request_cancel("b")
    assert not cancel.is_set()
    await signals.request_cancel("a")
    assert cancel.is_set()
    signals.untrack("a")
    cancel.clear()
    await signals.request_cancel("a")
    assert not cancel.is_set()
