"""One setup per server at a time: a lock per host:port, in-process or on Redis (several workers agree).

A Redis lock has a TTL that its holder keeps renewing, so a crashed worker's lock frees itself; the same
lock tells crash recovery whether a ``running`` session still has a live runner somewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

from setupwizard.provisioning.address import canonical_host

log = logging.getLogger(__name__)

REDIS_LOCK_TTL_SECONDS = 30.0


def lock_name(host: str, port: int) -> str:
    """The lock's name for a server: one name per server however its address is spelled."""
    return f"[{canonical_host(host)}]:{port}"


class HostLease(Protocol):
    """A held lock; release it exactly once when the setup ends."""

    async def release(self) -> None:
        """Give the lock back."""
        ...


class HostLocks(Protocol):
    """Locks keyed by host:port."""

    async def acquire(self, host: str, port: int) -> HostLease | None:
        """The lease, or None when another setup holds the server. Never waits."""
        ...

    async def is_held(self, host: str, port: int) -> bool:
        """Whether any runner (in any worker) holds the server now."""
        ...


class _MemoryLease:
    def __init__(self, held: set[str], name: str) -> None:
        self._held = held
        self._name = name

    async def release(self) -> None:
        self._held.discard(self._name)


class MemoryHostLocks:
    """Locks for one process (the embedded default)."""

    def __init__(self) -> None:
        self._held: set[str] = set()

    async def acquire(self, host: str, port: int) -> HostLease | None:
        name = lock_name(host, port)
        if name in self._held:
            return None
        self._held.add(name)
        return _MemoryLease(self._held, name)

    async def is_held(self, host: str, port: int) -> bool:
        return lock_name(host, port) in self._held


class _RedisLease:
    def __init__(self, lock: Lock, refresh_every: float) -> None:
        self._lock = lock
        self._refresher = asyncio.create_task(self._refresh(refresh_every))

    async def _refresh(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self._lock.reacquire()
            except LockError:
                log.error("Lost the Redis lock %s while a setup runs", self._lock.name)
                return
            except Exception:
                log.exception("Renewing the Redis lock %s failed; retrying", self._lock.name)

    async def release(self) -> None:
        self._refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._refresher
        try:
            await self._lock.release()
        except LockError:
            log.warning("Redis lock %s had already expired", self._lock.name)


class RedisHostLocks:
    """Locks shared by every worker through Redis (``SET NX PX`` with a renewed TTL).

    :param redis: the client.
    :param prefix: key prefix shared with the bus.
    :param ttl: seconds a lock outlives its holder's last renewal.
    """

    def __init__(self, redis: Redis, *, prefix: str = "setupwizard:", ttl: float = REDIS_LOCK_TTL_SECONDS):
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl

    def key(self, host: str, port: int) -> str:
        """The Redis key of a server's lock."""
        return f"{self.prefix}host-lock:{lock_name(host, port)}"

    async def acquire(self, host: str, port: int) -> HostLease | None:
        lock = self.redis.lock(self.key(host, port), timeout=self.ttl, blocking=False)
        if not await lock.acquire():
            return None
        return _RedisLease(lock, refresh_every=self.ttl / 3)

    async def is_held(self, host: str, port: int) -> bool:
        return bool(await self.redis.exists(self.key(host, port)))
