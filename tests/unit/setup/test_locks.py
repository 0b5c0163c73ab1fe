"""One setup per server: the same rules for the in-process locks and the Redis ones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from setupwizard.setup.locks import HostLocks, MemoryHostLocks, RedisHostLocks, lock_name
from tests.support import REDIS_URL, redis_namespace


@pytest.fixture(params=["memory", "redis"])
async def locks(request: pytest.FixtureRequest) -> AsyncIterator[HostLocks]:
    if request.param == "memory":
        yield MemoryHostLocks()
        return
    async with redis_namespace() as prefix:
        client = Redis.from_url(REDIS_URL)
        yield RedisHostLocks(client, prefix=prefix, ttl=1.5)
        await client.aclose()


def test_one_name_per_server_however_it_is_spelled() -> None:
    assert lock_name("Example.COM.", 22) == lock_name("example.com", 22)
    assert lock_name("2001:db8::1", 22) == lock_name("2001:0db8:0:0::1", 22)
    assert lock_name("198.18.0.5", 22) != lock_name("198.18.0.5", 2222)


async def test_a_held_server_cannot_be_taken_until_released(locks: HostLocks) -> None:
    lease = await locks.acquire("198.18.0.7", 22)
    assert lease is not None
    assert await locks.is_held("198.18.0.7", 22)
    assert await locks.acquire("198.18.0.7", 22) is None
    other = await locks.acquire("198.18.0.8", 22)
    assert other is not None
    await lease.release()
    assert not await locks.is_held("198.18.0.7", 22)
    again = await locks.acquire("198.18.0.7", 22)
    assert again is not None
    await again.release()
    await other.release()


async def test_a_long_setup_keeps_its_lock_past_the_ttl(locks: HostLocks) -> None:
    lease = await locks.acquire("198.18.0.9", 22)
    assert lease is not None
    await asyncio.sleep(2.5)  # longer than the Redis TTL of 1.5 s: the holder renews it
    assert await locks.is_held("198.18.0.9", 22)
    assert await locks.acquire("198.18.0.9", 22) is None
    await lease.release()
