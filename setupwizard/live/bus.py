"""The progress bus: an ordered, replayable stream of events per setup session, a batch at a time.

Every event of a session gets a place in one stream, numbered by its ``seq`` (1, 2, 3…). The engine hands
events over in batches (one chunk of output read from a server is one batch), and the bus keeps that
shape: one :meth:`ProgressBus.publish` per batch, and a subscriber receives lists of events. A subscriber
asks for everything after a ``seq`` it already has (``since``, exact per event even when that seq sits in
the middle of a published batch): retained events are replayed first, then new ones arrive live, and the
iteration ends after the session's ``complete`` event. Publishing never waits for a subscriber: a slow
reader falls behind, it does not hold anyone up.

Two implementations share this protocol and one test module: :class:`~setupwizard.live.memory.MemoryBus`
(one process, the embedded default) and :class:`~setupwizard.live.redis.RedisBus` (Redis Streams, for
several workers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from setupwizard.provisioning.events import SessionEvent

DEFAULT_RETENTION_SECONDS = 600.0
"""How long a finished session's events stay on the bus (afterwards readers use the database)."""

READ_BATCH = 500
"""At most this many events per batch a subscriber receives (a long history comes in slices; an event may
carry many lines)."""


class OutOfOrderEventError(ValueError):
    """An event was published with a ``seq`` not above the session's last one (a bug in the caller)."""


def check_order(session_id: str, last_seq: int, events: Sequence[SessionEvent]) -> None:
    """Raise :class:`OutOfOrderEventError` unless the seqs of ``events`` rise above ``last_seq``."""
    previous = last_seq
    for event in events:
        if event.start <= previous or event.seq < event.start:
            raise OutOfOrderEventError(f"session {session_id}: seq {event.start} published after {previous}")
        previous = event.seq


class ProgressBus(Protocol):
    """Publishes session events and lets any number of readers follow them, in order, without loss."""

    async def publish(self, session_id: str, events: Sequence[SessionEvent]) -> None:
        """Append a batch of events to the session's stream, in one step, and wake its subscribers.

        Seqs must rise, starting above the last published seq of the session; an empty batch does
        nothing. Never waits on subscribers. A batch ending in the ``complete`` event starts the
        retention clock of the session.
        """
        ...

    def subscribe(
        self, session_id: str, since: int = 0, *, heartbeat: float | None = None
    ) -> AsyncIterator[list[SessionEvent]]:
        """Every retained event with ``seq > since`` in order, in non-empty batches; then live ones.

        With ``heartbeat``, an empty batch comes whenever nothing arrived for about that many seconds, so
        the reader gets a turn to look elsewhere without a task and a timer of its own per batch.

        An event of several lines that holds ``since`` comes cut to its lines after ``since``.

        Ends after the batch holding ``complete``, or at once when ``since`` is at or past it.
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
