"""How often a user may make the service connect to servers.

test-connection, auto-setup and trusting a new host key make the service itself open a TCP connection.
Which addresses it refuses is the deny list's (``core/networks.py``, ``SETUPWIZARD_TARGET_DENY``);
:class:`ConnectAttempts` limits how many connections a user may ask for per minute.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable


class ConnectAttempts:
    """A sliding window of connection attempts per user (in memory, per process).

    :param per_minute: attempts a user may start in any 60 seconds.
    :param clock: monotonic seconds (tests pass a fake one).
    """

    WINDOW_SECONDS = 60.0
    MAX_USERS_TRACKED = 10_000

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._attempts: OrderedDict[int, deque[float]] = OrderedDict()

    def take(self, user_id: int) -> float | None:
        """Count one attempt; None when allowed, else the seconds until the next one is (not counted)."""
        now = self.clock()
        times = self._attempts.get(user_id, deque())
        while times and times[0] <= now - self.WINDOW_SECONDS:
            times.popleft()
        if len(times) >= self.per_minute:
            return times[0] + self.WINDOW_SECONDS - now
        times.append(now)
        self._attempts[user_id] = times
        self._attempts.move_to_end(user_id)
        while len(self._attempts) > self.MAX_USERS_TRACKED:
            self._attempts.popitem(last=False)
        return None
