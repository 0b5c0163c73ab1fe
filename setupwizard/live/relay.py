"""Moves a session's events to one client at the client's pace, without letting it hold anyone up.

A pump reads the feed's batches into a small per-connection buffer; a sender writes the buffer to the
socket, one frame at a time.

- **Frames.** Every frame names the seqs it carries: ``first_seq`` and ``seq`` (the same for one line). A
  ``log`` event of several lines (one chunk of output) is one frame already. When several ``log`` events of
  the same step and level are waiting, the sender joins them into one frame (``message`` = their messages
  joined by ``"\\n"``, ``first_seq`` = the first one's seq, ``seq`` and ``timestamp`` = the last one's), up
  to ``MAX_FRAME_CHARS``. Nothing waits to be joined: the sender takes whatever is buffered the moment the
  socket is free, so a client that keeps up gets each chunk of output as it was read (a line alone when the
  server prints one at a time), at once, and one that falls behind catches up in fewer, larger frames.
- **History** (events that already existed when the client connected, ``seq <= live_after``) is read only
  as fast as the client takes it: the pump waits while ``replay_window`` lines are buffered. The events
  stay on the bus and in the database meanwhile, so a large history costs this connection nothing.
- **Live events** never wait: the pump buffers them at once. When more than ``max_lag`` lines are waiting
  behind the next event to send (one chunk of output may be larger than ``max_lag`` on its own), the
  client is too far behind and the relay ends with ``TOO_SLOW`` (it can resume with ``since``).
- A client that takes nothing for ``stall_seconds`` (one send does not complete, or the history does not
  move) is ``TOO_SLOW`` too.

The publisher and other clients never wait for this client: the bus is read by index, not pushed to.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from enum import Enum
from typing import Any

from setupwizard.metrics import registry as metrics
from setupwizard.provisioning.events import (
    EventType,
    SessionEvent,
    continues,
    format_timestamp,
    run_key,
    seq_count,
)

STALL_SECONDS = 60.0
REPLAY_WINDOW = 256
MAX_FRAME_CHARS = 64_000
"""A joined frame stops growing past this many characters of ``message`` (a frame always holds one
event at least), so clients with a default frame limit (1 MiB in Python's ``websockets``) read it."""


class RelayEnd(Enum):
    """How a relay ended."""

    COMPLETE = "complete"  # the complete frame was sent
    TOO_SLOW = "too_slow"  # the client fell too far behind, or stopped reading
    ENDED = "ended"  # the feed ended without a complete event (service shutting down)


def take_frame(waiting: deque[SessionEvent | None]) -> tuple[dict[str, Any], SessionEvent]:
    """Pop the next frame's events off ``waiting`` (its head must be an event); the frame and its last event.

    A run of lines (the join rule: :func:`~setupwizard.provisioning.events.continues`) joins the head's
    frame (see the module doc).
    Followers are judged by their fields, not by building their frames: a frame of thousands of short
    lines is cheap to form. A head of many lines longer than ``MAX_FRAME_CHARS`` is split: its first
    lines go now, the rest stays at the head of ``waiting``.
    """
    head = waiting.popleft()
    assert head is not None
    if head.first_seq is not None and len(head.message) > MAX_FRAME_CHARS:
        head = _split_head(head, waiting)
    frame = head.to_frame()
    frame["first_seq"] = head.start
    if not waiting or run_key(head) is None:
        return frame, head
    lines = [head.message]
    size = len(head.message)
    last = head
    while waiting:
        follower = waiting[0]
        if (
            follower is None
            or not continues(last, follower)  # the join rule (provisioning/events.py)
            or size + len(follower.message) + 1 > MAX_FRAME_CHARS
        ):
            break
        waiting.popleft()
        lines.append(follower.message)
        size += len(follower.message) + 1
        last = follower
    if last is not head:
        frame["message"] = "\n".join(lines)
        frame["seq"] = last.seq
        frame["timestamp"] = format_timestamp(last.timestamp)
    return frame, last


def _next_size(waiting: deque[SessionEvent | None]) -> int:
    """Lines of the event the sender takes next: one chunk of output may be larger than ``max_lag`` on
    its own, and is the server's grain, not the client's lag."""
    head = waiting[0]
    return 0 if head is None else head.size


def _split_head(head: SessionEvent, waiting: deque[SessionEvent | None]) -> SessionEvent:
    """The first lines of ``head`` that fit in ``MAX_FRAME_CHARS`` (one at least); the rest go back on
    ``waiting``."""
    lines = head.lines()
    size = len(lines[0])
    count = 1
    while count < len(lines) and size + len(lines[count]) + 1 <= MAX_FRAME_CHARS:
        size += len(lines[count]) + 1
        count += 1
    if count < len(lines):
        waiting.appendleft(head.part(head.start + count, head.seq))
    return head.part(head.start, head.start + count - 1)


async def relay(
    events: AsyncIterator[Sequence[SessionEvent]],
    send: Callable[[str], Awaitable[None]],
    *,
    max_lag: int,
    live_after: int = 0,
    stall_seconds: float = STALL_SECONDS,
    replay_window: int = REPLAY_WINDOW,
) -> RelayEnd:
    """Send every event of the batches of ``events`` through ``send`` as JSON frames, in order.

    See the module doc for how frames are formed and when a client is ``TOO_SLOW``.
    """
    window = max(1, min(replay_window, max_lag // 2))
    waiting: deque[SessionEvent | None] = deque()
    backlog = 0  # seqs (lines) waiting: an event may carry many
    ready = asyncio.Event()
    drained = asyncio.Event()
    lag = metrics.watch_lag(lambda: backlog)  # the slowest client's lag, read at scrape time

    async def room_for_history() -> bool:
        while backlog >= window:
            drained.clear()
            try:
                await asyncio.wait_for(drained.wait(), stall_seconds)
            except TimeoutError:
                return False
        return True

    async def pump() -> RelayEnd:
        nonlocal backlog
        async for batch in events:
            if not batch:
                continue
            count = seq_count(batch)
            if batch[0].seq <= live_after:
                if not await room_for_history():
                    return RelayEnd.TOO_SLOW
            elif waiting and backlog + count - _next_size(waiting) > max_lag:
                return RelayEnd.TOO_SLOW
            waiting.extend(batch)
            backlog += count
            ready.set()
            if batch[-1].type is EventType.COMPLETE:
                return RelayEnd.COMPLETE
        waiting.append(None)
        ready.set()
        return RelayEnd.ENDED

    loop = asyncio.get_running_loop()
    send_began: float | None = None  # when the send under way began (None: not sending)

    async def sender() -> RelayEnd:
        nonlocal backlog, send_began
        while True:
            while not waiting:
                ready.clear()
                await ready.wait()
            if waiting[0] is None:
                return RelayEnd.ENDED
            frame, last = take_frame(waiting)
            backlog = max(0, backlog - (last.seq - frame["first_seq"] + 1))
            drained.set()
            send_began = loop.time()
            await send(json.dumps(frame, ensure_ascii=False))
            metrics.frame_sent(last.seq - frame["first_seq"] + 1)
            send_began = None
            if last.type is EventType.COMPLETE:
                return RelayEnd.COMPLETE

    async def watchdog() -> RelayEnd:
        """TOO_SLOW once one send has not completed for ``stall_seconds`` (the socket's buffer stayed full:
        the client stopped reading). One timer per connection, not one per frame."""
        while True:
            began = send_began
            wait = stall_seconds if began is None else began + stall_seconds - loop.time()
            if wait <= 0:
                return RelayEnd.TOO_SLOW
            await asyncio.sleep(wait)

    pumping = asyncio.create_task(pump())
    sending = asyncio.create_task(sender())
    watching = asyncio.create_task(watchdog())
    try:
        done, _ = await asyncio.wait({pumping, sending, watching}, return_when=asyncio.FIRST_COMPLETED)
        if sending in done:
            return sending.result()
        if watching in done or pumping.result() is RelayEnd.TOO_SLOW:
            return RelayEnd.TOO_SLOW
        # the pump is done; the sender drains the rest (or the watchdog finds the client stuck)
        done, _ = await asyncio.wait({sending, watching}, return_when=asyncio.FIRST_COMPLETED)
        return sending.result() if sending in done else RelayEnd.TOO_SLOW
    finally:
        metrics.unwatch_lag(lag)
        for task in (pumping, sending, watching):
            task.cancel()
        await asyncio.gather(pumping, sending, watching, return_exceptions=True)
