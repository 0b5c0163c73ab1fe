"""Both buses for the live tests: every test taking ``bus`` runs on the in-process bus and on Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from setupwizard.live.bus import ProgressBus
from setupwizard.live.memory import MemoryBus
from setupwizard.live.redis import RedisBus
from tests.support import REDIS_URL, redis_namespace

RETENTION = 1.0


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[ProgressBus]:
    if request.param == "memory":
        memory = MemoryBus(retention_seconds=RETENTION)
        yield memory
        await memory.close()
        return
    async with redis_namespace() as prefix:
        redis_bus = RedisBus(Redis.from_url(REDIS_URL), prefix=prefix, retention_seconds=RETENTION)
        yield redis_bus
        await redis_bus.close()
