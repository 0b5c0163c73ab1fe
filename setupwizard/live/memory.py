"""The in-process progress bus: one shared list of events per session and a condition to wake readers.

Publishing a batch extends the list and notifies once: it never waits for anyone. Each subscriber keeps
its own index into the shared list, so there is no per-subscriber queue to fill up; a reader that falls
behind simply reads older entries later, in larger batches (the WebSocket layer decides when a reader is
too far behind).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from functools import partial

from setupwizard.live.bus import DEFAULT_RETENTION_SECONDS, READ_BATCH, check_order
from setupwizard.provisioning.events import EventType, SessionEvent


@dataclass
class _Channel:
    events: list[SessionEvent] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    subscribers: int = 0
    complete: bool = False
    expiry: asyncio.TimerHandle | None = None

    @property
    def last_seq(self) -> int:
        return self.events[-1].seq if self.events else 0

    def index_after(self, seq: int) -> int:
        """Position of the first event with a seq above ``seq`` (events are sorted by seq)."""
        lo, hi = 0, len(self.events)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.events[mid].seq <= seq:
                lo = mid + 1
            else:
                hi = mid
        return lo


class MemoryBus:
    """A :class:`~setupwizard.live.bus.ProgressBus` living in this process.

    :param retention_seconds: how long a finished session's events are kept after its ``complete`` event.
    """

    def __init__(self, retention_seconds: float = DEFAULT_RETENTION_SECONDS) -> None:
        self.retention_seconds = retention_seconds
        self._channels: dict[str, _Channel] = {}
        self._closed = False

    def _channel(self, session_id: str) -> _Channel:
        channel = self._channels.get(session_id)
        if channel is None:
            channel = self._channels[session_id] = _Channel()
        return channel

    async def publish(self, session_id: str, events: Sequence[SessionEvent]) -> None:
        """Append the batch and wake the session's subscribers once (see the protocol)."""
        if not events:
            return
        channel = self._channel(session_id)
        check_order(session_id, channel.last_seq, events)
        channel.events.extend(events)
        if events[-1].type is EventType.COMPLETE:
            channel.complete = True
            channel.expiry = asyncio.get_running_loop().call_later(
                self.retention_seconds, self._expire, session_id, channel
            )
        async with channel.changed:
            channel.changed.notify_all()

    def _expire(self, session_id: str, channel: _Channel) -> None:
        if self._channels.get(session_id) is channel:
            del self._channels[session_id]

    async def subscribe(
        self, session_id: str, since: int = 0, *, heartbeat: float | None = None
    ) -> AsyncIterator[list[SessionEvent]]:
        """Retained events with ``seq > since``, then live ones, in batches, until ``complete``; an empty
        batch after ``heartbeat`` quiet seconds (see the protocol)."""
        channel = self._channel(session_id)
        channel.subscribers += 1
        try:
            position = channel.index_after(since)
            first = True
            while not self._closed:
                while position < len(channel.events):
                    batch = channel.events[position : position + READ_BATCH]
                    position += len(batch)
                    if first:  # the first event may hold ``since`` among its lines
                        first = False
                        head = batch[0].after(since)
                        assert head is not None  # its seq is above since
                        batch[0] = head
                    yield batch
                    if batch[-1].type is EventType.COMPLETE:
                        return
                if channel.complete:  # ``since`` was at or past the complete event: nothing will come
                    return
                async with channel.changed:
                    try:
                        async with asyncio.timeout(heartbeat):  # None: no heartbeat, wait for good
                            await channel.changed.wait_for(partial(self._readable, channel, position))
                        continue
                    except TimeoutError:
                        pass
                yield []  # quiet for `heartbeat` seconds (outside the lock)
        finally:
            channel.subscribers -= 1
            # A reader that waited for a session that never started leaves no empty channel behind.
            if not channel.events and not channel.subscribers and self._channels.get(session_id) is channel:
                del self._channels[session_id]

    def _readable(self, channel: _Channel, position: int) -> bool:
        return self._closed or position < len(channel.events)

    async def last_seq(self, session_id: str) -> int | None:
        """The highest published seq, or None when nothing is held for the session."""
        channel = self._channels.get(session_id)
        if channel is None or not channel.events:
            return None
        return channel.last_seq

    async def close(self) -> None:
        """Drop every session and end waiting subscribers."""
        self._closed = True
        channels = list(self._channels.values())
        self._channels.clear()
        for channel in channels:
            if channel.expiry is not None:
                channel.expiry.cancel()
            async with channel.changed:
                channel.changed.notify_all()
