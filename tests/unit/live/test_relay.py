"""The relay between a session's feed and one client: frames, order, pace, and when a client is too slow."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from setupwizard.live.bus import ProgressBus
from setupwizard.live.memory import MemoryBus
from setupwizard.live.relay import MAX_FRAME_CHARS, RelayEnd, relay
from setupwizard.provisioning.events import EventType, Level, SessionEvent


def event(
    seq: int,
    complete: bool = False,
    *,
    kind: EventType = EventType.LOG,
    level: Level = Level.INFO,
    step: str | None = "apt",
    message: str | None = None,
) -> SessionEvent:
    if complete:
        return SessionEvent(
            seq, EventType.COMPLETE, Level.SUCCESS, "✓ done", datetime.now(UTC), data={"a": 1}
        )
    text = message if message is not None else f"line {seq}"
    return SessionEvent(seq, kind, level, text, datetime.now(UTC), step_id=step, step_index=1, step_total=3)


async def history(count: int, batch: int = 1) -> AsyncIterator[list[SessionEvent]]:
    events = [event(seq) for seq in range(1, count)] + [event(count, complete=True)]
    for start in range(0, count, batch):
        yield events[start : start + batch]


async def batches(*groups: Sequence[SessionEvent]) -> AsyncIterator[list[SessionEvent]]:
    for group in groups:
        yield list(group)


class Client:
    """Records frames; can be told to stop reading (its send then blocks, like a full TCP window)."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.frames: list[dict[str, Any]] = []
        self.stop_after = stop_after
        self.unblock = asyncio.Event()

    async def send(self, text: str) -> None:
        if self.stop_after is not None and len(self.frames) >= self.stop_after:
            await self.unblock.wait()
        self.frames.append(json.loads(text))


def lines(frames: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(seq, line) of every event the frames carry, checking each frame's first_seq/seq against its lines."""
    out: list[tuple[int, str]] = []
    for frame in frames:
        parts = frame["message"].split("\n")
        assert frame["seq"] - frame["first_seq"] + 1 == len(parts), frame
        out += list(zip(range(frame["first_seq"], frame["seq"] + 1), parts, strict=True))
    return out


async def test_fast_client_gets_every_line_in_order_and_complete_last() -> None:
    client = Client()
    end = await relay(history(50), client.send, max_lag=10, live_after=50)
    assert end is RelayEnd.COMPLETE
    assert [seq for seq, _ in lines(client.frames)] == list(range(1, 51))
    assert client.frames[-1]["type"] == "complete"


async def test_lines_queued_together_share_one_frame_and_keep_their_seqs() -> None:
    client = Client()
    chunk = [event(seq) for seq in range(1, 6)]
    end = await relay(batches(chunk, [event(6, complete=True)]), client.send, max_lag=100)
    assert end is RelayEnd.COMPLETE
    first, complete = client.frames
    assert first["message"] == "line 1\nline 2\nline 3\nline 4\nline 5"
    assert (first["first_seq"], first["seq"]) == (1, 5)
    assert first["step_id"] == "apt" and first["type"] == "log" and first["level"] == "info"
    assert first["timestamp"] == chunk[-1].to_frame()["timestamp"]
    assert (complete["first_seq"], complete["seq"], complete["type"]) == (6, 6, "complete")
    assert complete["data"] == {"a": 1}


async def test_only_log_lines_of_one_step_and_level_are_joined() -> None:
    client = Client()
    events = [
        event(1),
        event(2),
        event(3, level=Level.WARNING),
        event(4, level=Level.WARNING),
        event(5, step="ufw"),
        event(6, kind=EventType.STEP),
        event(7, kind=EventType.STEP),
        event(8, step="ufw"),
        event(9, step=None),
        event(10, step=None),
        event(11, complete=True),
    ]
    assert await relay(batches(events), client.send, max_lag=100) is RelayEnd.COMPLETE
    spans = [(f["first_seq"], f["seq"]) for f in client.frames]
    assert spans == [(1, 2), (3, 4), (5, 5), (6, 6), (7, 7), (8, 8), (9, 10), (11, 11)]
    assert [seq for seq, _line in lines(client.frames)] == list(range(1, 12))


async def test_a_joined_frame_stays_under_the_size_cap() -> None:
    client = Client()
    long_line = "x" * 1000
    events = [event(seq, message=long_line) for seq in range(1, 201)] + [event(201, complete=True)]
    assert await relay(batches(events), client.send, max_lag=1000) is RelayEnd.COMPLETE
    assert len(client.frames) > 3
    assert all(len(f["message"]) <= MAX_FRAME_CHARS for f in client.frames)
    assert [seq for seq, _ in lines(client.frames)] == list(range(1, 202))


async def test_a_client_that_keeps_up_gets_each_line_alone_at_once() -> None:
    bus = MemoryBus()
    client = Client()
    relaying = asyncio.create_task(relay(bus.subscribe("s"), client.send, max_lag=100))
    for seq in range(1, 21):
        await bus.publish("s", [event(seq)])
        for _ in range(100):  # no timer: the frame is out before the next line is printed
            if len(client.frames) == seq:
                break
            await asyncio.sleep(0)
        assert len(client.frames) == seq
        assert client.frames[-1]["first_seq"] == client.frames[-1]["seq"] == seq
        assert client.frames[-1]["message"] == f"line {seq}"
    await bus.publish("s", [event(21, complete=True)])
    assert await asyncio.wait_for(relaying, 30) is RelayEnd.COMPLETE
    await bus.close()


async def test_a_lagging_client_gets_multi_line_frames_and_since_inside_one_is_exact(
    bus: ProgressBus,
) -> None:
    session_id = str(uuid.uuid4())
    client = Client(stop_after=1)  # takes one frame, then stalls while output floods in
    relaying = asyncio.create_task(relay(bus.subscribe(session_id), client.send, max_lag=10_000))
    await bus.publish(session_id, [event(1)])
    for _ in range(200):
        if client.frames:
            break
        await asyncio.sleep(0.01)
    for first in range(2, 302, 3):  # lines arrive one at a time and in small chunks
        await bus.publish(session_id, [event(seq) for seq in range(first, first + 3)])
    await bus.publish(session_id, [event(302, complete=True)])
    await asyncio.sleep(0.2)
    client.unblock.set()
    assert await asyncio.wait_for(relaying, 30) is RelayEnd.COMPLETE
    assert lines(client.frames) == [(seq, f"line {seq}") for seq in range(1, 302)] + [(302, "✓ done")]
    assert len(client.frames) < 20  # caught up in a few frames, not 302
    joined = next(f for f in client.frames if f["seq"] > f["first_seq"] + 2)
    middle = joined["first_seq"] + 1
    resumed = Client()
    assert (
        await asyncio.wait_for(
            relay(bus.subscribe(session_id, since=middle), resumed.send, max_lag=10_000), 30
        )
        is RelayEnd.COMPLETE
    )
    assert [seq for seq, _ in lines(resumed.frames)] == list(range(middle + 1, 303))


async def test_a_history_far_larger_than_max_lag_is_not_too_slow() -> None:
    client = Client()
    end = await relay(history(5000, batch=7), client.send, max_lag=10, live_after=5000)
    assert end is RelayEnd.COMPLETE
    assert [seq for seq, _ in lines(client.frames)] == list(range(1, 5001))


async def test_client_that_stops_reading_live_events_is_dropped_and_the_publisher_never_waits() -> None:
    bus = MemoryBus()
    client = Client(stop_after=1)
    relaying = asyncio.create_task(relay(bus.subscribe("s"), client.send, max_lag=20, live_after=0))
    other = asyncio.create_task(collect(bus.subscribe("s")))
    await asyncio.sleep(0)
    for seq in range(1, 101):
        await bus.publish("s", [event(seq)])
        await asyncio.sleep(0)  # let the relay's pump run between publishes, as a live run would
    assert await asyncio.wait_for(relaying, 30) is RelayEnd.TOO_SLOW
    assert len(client.frames) == 1
    await bus.publish("s", [event(101, complete=True)])
    assert [e.seq for e in await asyncio.wait_for(other, 30)] == list(range(1, 102))
    await bus.close()


async def test_a_send_that_never_completes_ends_too_slow_even_while_the_session_is_quiet() -> None:
    async def quiet_after_one() -> AsyncIterator[list[SessionEvent]]:
        yield [event(1)]
        await asyncio.Event().wait()  # the session prints nothing more for a long time
        yield [event(2)]

    client = Client(stop_after=0)  # the socket's buffer is full and stays full
    end = await asyncio.wait_for(relay(quiet_after_one(), client.send, max_lag=100, stall_seconds=0.2), 30)
    assert end is RelayEnd.TOO_SLOW
    assert client.frames == []


async def test_client_that_stops_reading_history_is_dropped_after_the_stall_time() -> None:
    client = Client(stop_after=3)
    end = await relay(history(1000), client.send, max_lag=100, live_after=1000, stall_seconds=0.2)
    assert end is RelayEnd.TOO_SLOW
    assert len(client.frames) == 3


async def test_a_slow_but_progressing_client_is_kept() -> None:
    seen: list[tuple[int, int]] = []

    async def slow_send(text: str) -> None:
        await asyncio.sleep(0.01)
        frame = json.loads(text)
        seen.append((frame["first_seq"], frame["seq"]))

    end = await relay(history(30), slow_send, max_lag=4, live_after=30, stall_seconds=0.5)
    assert end is RelayEnd.COMPLETE
    assert [seq for first, last in seen for seq in range(first, last + 1)] == list(range(1, 31))


async def test_feed_ending_without_complete_ends_the_relay() -> None:
    client = Client()
    assert await relay(batches([event(1), event(2)], [event(3)]), client.send, max_lag=10) is RelayEnd.ENDED
    assert [seq for seq, _ in lines(client.frames)] == [1, 2, 3]


async def collect(events: AsyncIterator[list[SessionEvent]]) -> list[SessionEvent]:
    return [e async for batch in events for e in batch]


def chunk(first: int, last: int, text: str = "line {}") -> SessionEvent:
    """One event carrying the lines ``first..last`` (what one chunk of output becomes)."""
    message = "\n".join(text.format(seq) for seq in range(first, last + 1))
    return SessionEvent(
        last, EventType.LOG, Level.INFO, message, datetime.now(UTC), "apt", 1, 3, first_seq=first
    )


async def test_multi_line_events_join_followers_and_an_oversized_one_is_split() -> None:
    client = Client()
    long = "y" * 900 + " {}"  # 200 such lines: ~180,000 characters in one event
    events = [chunk(1, 3), event(4), chunk(5, 204, long), chunk(205, 206), event(207, complete=True)]
    assert await relay(batches(events), client.send, max_lag=1000) is RelayEnd.COMPLETE
    assert all(len(f["message"]) <= MAX_FRAME_CHARS for f in client.frames)
    want = [(seq, f"line {seq}") for seq in range(1, 5)] + [(seq, long.format(seq)) for seq in range(5, 205)]
    want += [(205, "line 205"), (206, "line 206"), (207, "✓ done")]
    assert lines(client.frames) == want
    assert (client.frames[0]["first_seq"], client.frames[0]["seq"]) == (1, 4)  # a chunk and a line joined
    assert len(client.frames) >= 4  # the big chunk went in several frames


async def test_max_lag_counts_lines_not_events() -> None:
    bus = MemoryBus()
    client = Client(stop_after=1)
    relaying = asyncio.create_task(relay(bus.subscribe("s"), client.send, max_lag=50, live_after=0))
    await bus.publish("s", [event(1)])
    await asyncio.sleep(0.05)
    await bus.publish("s", [chunk(2, 40)])  # taken by the sender, whose send now blocks
    await asyncio.sleep(0.05)
    await bus.publish("s", [chunk(41, 80)])  # 40 lines waiting: within the lag
    await bus.publish("s", [chunk(81, 130)])  # 50 behind the next chunk: still within
    await asyncio.sleep(0.05)
    assert not relaying.done()
    await bus.publish("s", [chunk(131, 140)])  # 60 lines behind the next chunk, in two events: too far
    assert await asyncio.wait_for(relaying, 30) is RelayEnd.TOO_SLOW
    await bus.close()
