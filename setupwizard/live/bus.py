"""The progress bus: an ordered, replayable stream of events per setup session.

Every event of a session gets a place in one stream, numbered by its ``seq`` (1, 2, 3…). A subscriber asks
for everything after a ``seq`` it already has (``since``): retained events are replayed first, then new ones
arrive live, and the iteration ends after the session's ``complete`` event. Publishing never waits for a
subscriber: a slow reader falls behind, it does not hold anyone up.

Two implementations share this protocol and one test module: :class:`~setupwizard.live.memory.MemoryBus`
(one process, the embedded default) and :class:`~setupwizard.live.redis.RedisBus` (Redis Streams, for
several workers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from setupwizard.provisioning.events import SessionEvent

DEFAULT_RETENTION_SECONDS = 600.0
"""How long a finished session's events stay on the bus (afterwards readers use the database)."""


class OutOfOrderEventError(ValueError):
    """An event was published with a ``seq`` not above the session's last one (a bug in the caller)."""


class ProgressBus(Protocol):
    """Publishes session events and lets any number of readers follow them, in order, without loss."""

    async def publish(self, session_id: str, event: SessionEvent) -> None:
        """Append ``event`` to the session's stream and wake its subscribers.

        ``event.seq`` must be above the last published seq of the session. Never waits on subscribers.
        Publishing the ``complete`` event starts the retention clock of the session.
        """
        ...

    def subscribe(self, session_id: str, since: int = 0) -> AsyncIterator[SessionEvent]:
        """Every retained event with ``seq > since`` in order, then live ones, ending after ``complete``.

        Subscribing to a session nothing was published for yet waits for its first event. The iterator
        never yields a seq twice and never skips one the bus still retains.
        """
        ...

    async def last_seq(self, session_id: str) -> int | None:
        """The highest published seq of the session, or None when the bus holds nothing for it."""
        ...

    async def close(self) -> None:
        """Release connections and timers. Subscribers still iterating end."""
        ...
