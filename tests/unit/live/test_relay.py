"""The relay between a session's feed and one client: order, pace, and when a client is too slow."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from setupwizard.live.memory import MemoryBus
from setupwizard.live.relay import RelayEnd, relay
from setupwizard.provisioning.events import EventType, Level, SessionEvent


def event(seq: int, complete: bool = False) -> SessionEvent:
    kind = EventType.COMPLETE if complete else EventType.LOG
    return SessionEvent(seq, kind, Level.INFO, f"line {seq}", datetime.now(UTC))


async def history(count: int) -> AsyncIterator[SessionEvent]:
    for seq in range(1, count):
        yield event(seq)
    yield event(count, complete=True)


class Client:
    """Records frames; can be told to stop reading (its send then blocks, like a full TCP window)."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.frames: list[dict[str, object]] = []
        self.stop_after = stop_after
        self.unblock = asyncio.Event()

    async def send(self, text: str) -> None:
        if self.stop_after is not None and len(self.frames) >= self.stop_after:
            await self.unblock.wait()
        self.frames.append(json.loads(text))


async def test_fast_client_gets_every_frame_in_order_and_complete_last() -> None:
    client = Client()
    end = await relay(history(50), client.send, max_lag=10, live_after=50)
    assert end is RelayEnd.COMPLETE
    assert [f["seq"] for f in client.frames] == list(range(1, 51))
    assert client.frames[-1]["type"] == "complete"


async def test_a_history_far_larger_than_max_lag_is_not_too_slow() -> None:
    client = Client()
    end = await relay(history(5000), client.send, max_lag=10, live_after=5000)
    assert end is RelayEnd.COMPLETE
    assert len(client.frames) == 5000


async def test_client_that_stops_reading_live_events_is_dropped_and_the_publisher_never_waits() -> None:
    bus = MemoryBus()
    client = Client(stop_after=1)
    relaying = asyncio.create_task(relay(bus.subscribe("s"), client.send, max_lag=20, live_after=0))
    other = asyncio.create_task(collect(bus.subscribe("s")))
    await asyncio.sleep(0)
    for seq in range(1, 101):
        await bus.publish("s", event(seq))
        await asyncio.sleep(0)  # let the relay's pump run between publishes, as a live run would
    assert await asyncio.wait_for(relaying, 30) is RelayEnd.TOO_SLOW
    assert len(client.frames) == 1
    await bus.publish("s", event(101, complete=True))
    assert [e.seq for e in await asyncio.wait_for(other, 30)] == list(range(1, 102))
    await bus.close()


async def test_client_that_stops_reading_history_is_dropped_after_the_stall_time() -> None:
    client = Client(stop_after=3)
    end = await relay(history(1000), client.send, max_lag=100, live_after=1000, stall_seconds=0.2)
    assert end is RelayEnd.TOO_SLOW
    assert len(client.frames) == 3


async def test_a_slow_but_progressing_client_is_kept() -> None:
    frames: list[int] = []

    async def slow_send(text: str) -> None:
        await asyncio.sleep(0.01)
        frames.append(json.loads(text)["seq"])

    end = await relay(history(30), slow_send, max_lag=4, live_after=30, stall_seconds=0.5)
    assert end is RelayEnd.COMPLETE
    assert frames == list(range(1, 31))


async def test_feed_ending_without_complete_ends_the_relay() -> None:
    async def cut() -> AsyncIterator[SessionEvent]:
        for seq in range(1, 4):
            yield event(seq)

    client = Client()
    assert await relay(cut(), client.send, max_lag=10) is RelayEnd.ENDED
    assert [f["seq"] for f in client.frames] == [1, 2, 3]


async def collect(events: AsyncIterator[SessionEvent]) -> list[SessionEvent]:
    return [e async for e in events]
