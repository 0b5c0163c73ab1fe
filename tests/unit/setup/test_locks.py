"""One setup per server in one process (with PostgreSQL the job queue's lock: tests/integration/jobs)."""

from __future__ import annotations

import pytest

from setupwizard.setup.locks import HostLocks, MemoryHostLocks, lock_name


@pytest.fixture
def locks() -> HostLocks:
    return MemoryHostLocks()


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
