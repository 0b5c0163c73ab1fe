"""Slows password guessing: too many failed logins for a name from one address, or from one address at all,
and that address waits. In memory, per process (a restart forgets; several instances count separately)."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_FAILURES_PER_USER = 10
MAX_FAILURES_PER_ADDRESS = 50
WINDOW_SECONDS = 300.0
MAX_TRACKED_KEYS = 10_000


class LoginThrottle:
    """Counts failed logins in a sliding window per (username, address) and per address.

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

    def retry_after(self, username: str, address: str) -> float | None:
        """Seconds to wait before another attempt is allowed, or None when it may go ahead."""
        waits = []
        for key, kind in self._keys(username, address):
            times = self._recent(key)
            if len(times) >= self._limits[kind]:
                waits.append(times[0] + self._window - self._clock())
        return max(waits) if waits else None

    def failure(self, username: str, address: str) -> None:
        """Record a failed attempt."""
        now = self._clock()
        for key, _ in self._keys(username, address):
            times = self._recent(key)
            times.append(now)
            self._failures[key] = times
            self._failures.move_to_end(key)
        while len(self._failures) > MAX_TRACKED_KEYS:
            self._failures.popitem(last=False)

    def success(self, username: str, address: str) -> None:
        """A correct password clears the name's count from that address (not the address-wide one)."""
        self._failures.pop(self._keys(username, address)[0][0], None)
