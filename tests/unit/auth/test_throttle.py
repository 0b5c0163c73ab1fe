"""Failed-login throttling: in memory with a fake clock, and on the real Redis shared by two workers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from setupwizard.auth.throttle import (
    LoginThrottle,
    MemoryLoginThrottle,
    RedisLoginThrottle,
    login_throttle_for,
)
from setupwizard.config import Settings
from tests.support import REDIS_URL, redis_namespace


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_name_is_blocked_from_an_address_after_too_many_failures() -> None:
    clock = Clock()
    throttle = MemoryLoginThrottle(per_user=3, per_address=100, window=60, clock=clock)
    for _ in range(3):
        assert await throttle.retry_after("admin", "10.0.0.1") is None
        await throttle.failure("admin", "10.0.0.1")
        clock.now += 1
    assert await throttle.retry_after("admin", "10.0.0.1") == 57  # the first failure leaves at 1060
    assert await throttle.retry_after("ADMIN", "10.0.0.1") == 57  # names are case-insensitive
    assert await throttle.retry_after("admin", "10.0.0.2") is None  # another address is not blocked
    assert await throttle.retry_after("alice", "10.0.0.1") is None  # nor another name
    clock.now += 57
    assert await throttle.retry_after("admin", "10.0.0.1") is None


async def test_address_is_blocked_after_too_many_failures_over_any_names() -> None:
    clock = Clock()
    throttle = MemoryLoginThrottle(per_user=100, per_address=5, window=60, clock=clock)
    for i in range(5):
        await throttle.failure(f"user{i}", "10.0.0.9")
    wait = await throttle.retry_after("someone-else", "10.0.0.9")
    assert wait is not None and wait > 0
    assert await throttle.retry_after("someone-else", "10.0.0.8") is None


async def test_success_clears_the_names_count() -> None:
    throttle = MemoryLoginThrottle(per_user=2, per_address=100, window=60, clock=Clock())
    await throttle.failure("bob", "a")
    await throttle.success("bob", "a")
    await throttle.failure("bob", "a")
    assert await throttle.retry_after("bob", "a") is None
    await throttle.failure("bob", "a")
    assert await throttle.retry_after("bob", "a") is not None


def test_redis_url_makes_the_throttle_shared() -> None:
    assert isinstance(login_throttle_for(Settings(redis_url="")), MemoryLoginThrottle)
    assert isinstance(login_throttle_for(Settings(redis_url=REDIS_URL)), RedisLoginThrottle)


@pytest.fixture
async def two_workers() -> AsyncIterator[tuple[LoginThrottle, LoginThrottle]]:
    """Two workers' throttles on the real Redis, with the test's own key prefix."""
    async with redis_namespace() as prefix:
        first = RedisLoginThrottle(Redis.from_url(REDIS_URL), prefix=prefix, per_user=3, per_address=5)
        second = RedisLoginThrottle(Redis.from_url(REDIS_URL), prefix=prefix, per_user=3, per_address=5)
        yield first, second
        await first.close()
        await second.close()


async def test_failures_counted_by_one_worker_block_the_name_on_the_other(
    two_workers: tuple[LoginThrottle, LoginThrottle],
) -> None:
    first, second = two_workers
    await first.failure("admin", "10.0.0.1")
    await second.failure("Admin", "10.0.0.1")
    assert await first.retry_after("admin", "10.0.0.1") is None
    await first.failure("admin", "10.0.0.1")
    wait = await second.retry_after("ADMIN", "10.0.0.1")
    assert wait is not None and 0 < wait <= 300
    assert await second.retry_after("admin", "10.0.0.2") is None
    assert await second.retry_after("alice", "10.0.0.1") is None


async def test_shared_address_limit_and_success_clear_only_the_name(
    two_workers: tuple[LoginThrottle, LoginThrottle],
) -> None:
    first, second = two_workers
    for i in range(2):
        await first.failure("bob", "10.0.0.7")
        await second.failure(f"user{i}", "10.0.0.7")
    await second.success("bob", "10.0.0.7")  # bob's own count is cleared...
    assert await first.retry_after("bob", "10.0.0.7") is None
    await first.failure("carol", "10.0.0.7")  # ...but the address's five failures stay
    assert await first.retry_after("bob", "10.0.0.7") is not None
    assert await second.retry_after("dave", "10.0.0.7") is not None


async def test_an_unreachable_redis_throttles_nothing_and_locks_nobody_out() -> None:
    throttle = RedisLoginThrottle(Redis.from_url("redis://127.0.0.1:1/0"), prefix="unreachable:", per_user=1)
    await throttle.failure("admin", "10.0.0.1")
    await throttle.failure("admin", "10.0.0.1")
    assert await throttle.retry_after("admin", "10.0.0.1") is None
    await throttle.success("admin", "10.0.0.1")
    await throttle.close()
