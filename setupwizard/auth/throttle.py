"""Slows password guessing: too many failed logins for a name from one address, or from one address at all,
and that address waits.

Two implementations of :class:`LoginThrottle`, chosen by :func:`login_throttle_for`:

- :class:`MemoryLoginThrottle`: in memory, one process (the embedded default; a restart forgets).
- :class:`RedisLoginThrottle`: on Redis when ``SETUPWIZARD_REDIS_URL`` is set, so every worker counts the
  same failures. One sorted set per counter (failure times), trimmed and checked by a small Lua script
  on Redis's own clock: one round trip per check, atomic, and workers' clocks do not matter. While Redis
  cannot be reached, logins are not throttled (and the error is logged): Redis down must not lock
  everybody out.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from setupwizard.config import Settings

log = logging.getLogger(__name__)

MAX_FAILURES_PER_USER = 10
MAX_FAILURES_PER_ADDRESS = 50
WINDOW_SECONDS = 300.0
MAX_TRACKED_KEYS = 10_000


class LoginThrottle(Protocol):
    """Failed logins in a sliding window, per (username, address) and per address."""

    async def retry_after(self, username: str, address: str) -> float | None:
        """Seconds to wait before another attempt is allowed, or None when it may go ahead."""
        ...

    async def failure(self, username: str, address: str) -> None:
        """Record a failed attempt."""
        ...

    async def success(self, username: str, address: str) -> None:
        """A correct password clears the name's count from that address (not the address-wide one)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def login_throttle_for(settings: Settings) -> LoginThrottle:
    """Shared on Redis when ``redis_url`` is set, else in this process."""
    if settings.redis_url:
        return RedisLoginThrottle(Redis.from_url(settings.redis_url), prefix=settings.redis_prefix)
    return MemoryLoginThrottle()


class MemoryLoginThrottle:
    """Counts failed logins in this process.

    :param clock: monotonic seconds (tests pass a fake one).
    """

    def __init__(
        self,
        per_user: int = MAX_FAILURES_PER_USER,
        per_address: int = MAX_FAILURES_PER_ADDRESS,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {"user": per_user, "address": per_address}
        self._window = window
        self._clock = clock
        self._failures: OrderedDict[tuple[str, ...], deque[float]] = OrderedDict()

    @staticmethod
    def _keys(username: str, address: str) -> list[tuple[tuple[str, ...], str]]:
        return [(("user", username.lower(), address), "user"), (("address", address), "address")]

    def _recent(self, key: tuple[str, ...]) -> deque[float]:
        now = self._clock()
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        return times

    async def retry_after(self, username: str, address: str) -> float | None:
        waits = []
        for key, kind in self._keys(username, address):
            times = self._recent(key)
            if len(times) >= self._limits[kind]:
                waits.append(times[0] + self._window - self._clock())
        return max(waits) if waits else None

    async def failure(self, username: str, address: str) -> None:
        now = self._clock()
        for key, _ in self._keys(username, address):
            times = self._recent(key)
            times.append(now)
            self._failures[key] = times
            self._failures.move_to_end(key)
        while len(self._failures) > MAX_TRACKED_KEYS:
            self._failures.popitem(last=False)

    async def success(self, username: str, address: str) -> None:
        self._failures.pop(self._keys(username, address)[0][0], None)

    async def close(self) -> None:
        self._failures.clear()


# KEYS: the counters; ARGV[1]: window (ms); ARGV[2..]: each counter's limit. Returns the wait in ms (0: go).
_RETRY_AFTER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= tonumber(ARGV[i + 1]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now)
  end
end
return wait
"""

# KEYS: the counters; ARGV[1]: window (ms); ARGV[2]: a unique member; ARGV[3..]: each counter's limit.
_FAILURE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  redis.call('ZREMRANGEBYRANK', key, 0, -(tonumber(ARGV[i + 2]) + 1))
  redis.call('PEXPIRE', key, window)
end
return 0
"""


class RedisLoginThrottle:
    """Counts failed logins on Redis, shared by every worker (same limits as the in-memory one).

    :param redis: the client (closed by :meth:`close`).
    :param prefix: key prefix of the deployment (``<prefix>login-failures:…``).
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        per_user: int = MAX_FAILURES_PER_USER,
        per_address: int = MAX_FAILURES_PER_ADDRESS,
        window: float = WINDOW_SECONDS,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self._limits = (per_user, per_address)
        self._window_ms = max(1, round(window * 1000))
        self._retry_after = redis.register_script(_RETRY_AFTER)
        self._failure = redis.register_script(_FAILURE)

    def keys(self, username: str, address: str) -> list[str]:
        """The counters of (name, address) and of the address; names hashed so a key stays short."""
        user = hashlib.sha256(f"{username.lower()}\0{address}".encode()).hexdigest()[:32]
        addr = hashlib.sha256(address.encode()).hexdigest()[:32]
        return [f"{self.prefix}login-failures:user:{user}", f"{self.prefix}login-failures:address:{addr}"]

    async def retry_after(self, username: str, address: str) -> float | None:
        keys = self.keys(username, address)
        try:
            wait_ms = int(await self._retry_after(keys=keys, args=[self._window_ms, *self._limits]))
        except (RedisError, OSError):
            log.exception("The shared login throttle cannot reach Redis; this login is not throttled")
            return None
        return wait_ms / 1000 if wait_ms > 0 else None

    async def failure(self, username: str, address: str) -> None:
        member = secrets.token_hex(8)
        keys = self.keys(username, address)
        try:
            await self._failure(keys=keys, args=[self._window_ms, member, *self._limits])
        except (RedisError, OSError):
            log.exception("The shared login throttle cannot reach Redis; a failed login went uncounted")

    async def success(self, username: str, address: str) -> None:
        try:
            await self.redis.delete(self.keys(username, address)[0])
        except (RedisError, OSError):
            log.exception("The shared login throttle cannot reach Redis")

    async def close(self) -> None:
        await self.redis.aclose()
