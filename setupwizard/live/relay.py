"""Moves a session's events to one client at the client's pace, without letting it hold anyone up.

A pump reads the feed into a small per-connection buffer; a sender writes the buffer to the socket.

- History (events that already existed when the client connected, ``seq <= live_after``) is read only as
  fast as the client takes it: the pump waits while ``replay_window`` events are buffered. The events
  stay on the bus and in the database meanwhile, so a large history costs this connection nothing.
- Live events never wait: the pump buffers them at once. When more than ``max_lag`` are waiting, the
  client is too far behind and the relay ends with ``TOO_SLOW`` (it can resume with ``since``).
- A client that takes nothing at all for ``stall_seconds`` is ``TOO_SLOW`` too.

The publisher and other clients never wait for this client: the bus is read by index, not pushed to.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from enum import Enum

from setupwizard.provisioning.events import EventType, SessionEvent

STALL_SECONDS = 60.0
REPLAY_WINDOW = 256


class RelayEnd(Enum):
    """How a relay ended."""

    COMPLETE = "complete"  # the complete frame was sent
    TOO_SLOW = "too_slow"  # the client fell too far behind, or stopped reading
    ENDED = "ended"  # the feed ended without a complete event (service shutting down)


async def relay(
    events: AsyncIterator[SessionEvent],
    send: Callable[[str], Awaitable[None]],
    *,
    max_lag: int,
    live_after: int = 0,
    stall_seconds: float = STALL_SECONDS,
    replay_window: int = REPLAY_WINDOW,
) -> RelayEnd:
    """Send every event of ``events`` as a JSON frame through ``send``, in order (see the module doc)."""
    window = max(1, min(replay_window, max_lag // 2))
    waiting: deque[SessionEvent | None] = deque()
    ready = asyncio.Event()
    drained = asyncio.Event()
    progress = [0]  # frames sent so far

    async def room_for_history() -> bool:
        while len(waiting) >= window:
            drained.clear()
            try:
                await asyncio.wait_for(drained.wait(), stall_seconds)
            except TimeoutError:
                return False
        return True

    async def pump() -> RelayEnd:
        async for event in events:
            if event.seq <= live_after:
                if not await room_for_history():
                    return RelayEnd.TOO_SLOW
            elif len(waiting) >= max_lag:
                return RelayEnd.TOO_SLOW
            waiting.append(event)
            ready.set()
            if event.type is EventType.COMPLETE:
                return RelayEnd.COMPLETE
        waiting.append(None)
        ready.set()
        return RelayEnd.ENDED

    async def sender() -> RelayEnd:
        while True:
            while not waiting:
                ready.clear()
                await ready.wait()
            event = waiting.popleft()
            drained.set()
            if event is None:
                return RelayEnd.ENDED
            await send(json.dumps(event.to_frame(), ensure_ascii=False))
            progress[0] += 1
            if event.type is EventType.COMPLETE:
                return RelayEnd.COMPLETE

    pumping = asyncio.create_task(pump())
    sending = asyncio.create_task(sender())
    try:
        done, _ = await asyncio.wait({pumping, sending}, return_when=asyncio.FIRST_COMPLETED)
        if sending in done:
            return sending.result()
        if pumping.result() is RelayEnd.TOO_SLOW:
            return RelayEnd.TOO_SLOW
        # The pump is done and the sender drains the rest; one that makes no progress is stuck.
        while not sending.done():
            before = progress[0]
            await asyncio.wait({sending}, timeout=stall_seconds)
            if not sending.done() and progress[0] == before:
                return RelayEnd.TOO_SLOW
        return sending.result()
    finally:
        for task in (pumping, sending):
            task.cancel()
        await asyncio.gather(pumping, sending, return_exceptions=True)
