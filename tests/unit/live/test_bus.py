"""One behaviour, two buses: every test runs on the in-process bus and on Redis Streams."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from setupwizard.live.bus import OutOfOrderEventError, ProgressBus
from setupwizard.provisioning.events import EventType, Level, SessionEvent


def event(seq: int, *, complete: bool = False, message: str | None = None) -> SessionEvent:
    return SessionEvent(
        seq=seq,
        type=EventType.COMPLETE if complete else EventType.LOG,
        level=Level.SUCCESS if complete else Level.INFO,
        message=message if message is not None else f"line {seq} ✓ 中文",
        timestamp=datetime.now(UTC),
        data={"success": True} if complete else {},
    )


def new_session() -> str:
    return str(uuid.uuid4())


async def collect(bus: ProgressBus, session_id: str, since: int = 0) -> list[SessionEvent]:
    return [e async for batch in bus.subscribe(session_id, since=since) for e in batch]


async def publish_session(bus: ProgressBus, session_id: str, count: int) -> None:
    for seq in range(1, count + 1):
        await bus.publish(session_id, [event(seq)])
    await bus.publish(session_id, [event(count + 1, complete=True)])


async def test_subscriber_receives_every_event_in_order_and_ends_after_complete(bus: ProgressBus) -> None:
    session_id = new_session()
    reader = asyncio.create_task(collect(bus, session_id))
    await asyncio.sleep(0.05)
    await publish_session(bus, session_id, 50)
    events = await asyncio.wait_for(reader, 30)
    assert [e.seq for e in events] == list(range(1, 52))
    assert events[-1].type is EventType.COMPLETE
    assert events[0].message == "line 1 ✓ 中文"
    assert events[-1].data == {"success": True}


async def test_late_joiner_receives_whole_session_so_far_then_live(bus: ProgressBus) -> None:
    session_id = new_session()
    for seq in range(1, 11):
        await bus.publish(session_id, [event(seq)])
    reader = asyncio.create_task(collect(bus, session_id))
    await asyncio.sleep(0.05)
    for seq in range(11, 21):
        await bus.publish(session_id, [event(seq)])
    await bus.publish(session_id, [event(21, complete=True)])
    events = await asyncio.wait_for(reader, 30)
    assert [e.seq for e in events] == list(range(1, 22))


async def test_since_replays_only_later_events(bus: ProgressBus) -> None:
    session_id = new_session()
    await publish_session(bus, session_id, 30)
    events = await asyncio.wait_for(collect(bus, session_id, since=17), 30)
    assert [e.seq for e in events] == list(range(18, 32))


async def test_since_at_the_live_edge_continues_without_gap_or_duplicate(bus: ProgressBus) -> None:
    session_id = new_session()
    for seq in range(1, 6):
        await bus.publish(session_id, [event(seq)])
    first = bus.subscribe(session_id)
    seen = (await anext(first))[:2]
    await first.aclose()  # type: ignore[attr-defined]
    resumed = asyncio.create_task(collect(bus, session_id, since=seen[-1].seq))
    await asyncio.sleep(0.05)
    await bus.publish(session_id, [event(6)])
    await bus.publish(session_id, [event(7, complete=True)])
    rest = await asyncio.wait_for(resumed, 30)
    assert [e.seq for e in seen + rest] == list(range(1, 8))


async def test_subscriber_waiting_before_the_first_event_gets_everything(bus: ProgressBus) -> None:
    session_id = new_session()
    readers = [asyncio.create_task(collect(bus, session_id)) for _ in range(3)]
    await asyncio.sleep(0.1)
    assert await bus.last_seq(session_id) is None
    await publish_session(bus, session_id, 5)
    for reader in readers:
        assert [e.seq for e in await asyncio.wait_for(reader, 30)] == [1, 2, 3, 4, 5, 6]


async def test_concurrent_publishers_on_different_sessions_never_mix(bus: ProgressBus) -> None:
    sessions = [new_session() for _ in range(4)]
    readers = {s: asyncio.create_task(collect(bus, s)) for s in sessions}
    await asyncio.sleep(0.05)

    async def publisher(session_id: str) -> None:
        for seq in range(1, 101):
            await bus.publish(session_id, [event(seq, message=f"{session_id}:{seq}")])
            if seq % 7 == 0:
                await asyncio.sleep(0)
        await bus.publish(session_id, [event(101, complete=True, message=f"{session_id}:end")])

    await asyncio.gather(*(publisher(s) for s in sessions))
    for session_id, reader in readers.items():
        events = await asyncio.wait_for(reader, 30)
        assert [e.seq for e in events] == list(range(1, 102))
        assert all(e.message.startswith(session_id) for e in events)


async def test_slow_subscriber_does_not_hold_up_the_publisher(bus: ProgressBus) -> None:
    session_id = new_session()
    release = asyncio.Event()
    slow_seen: list[int] = []

    async def slow_reader() -> None:
        async for batch in bus.subscribe(session_id):
            slow_seen.extend(e.seq for e in batch)
            if slow_seen == [1]:
                await release.wait()  # stuck, like a client that stopped reading

    slow = asyncio.create_task(slow_reader())
    fast = asyncio.create_task(collect(bus, session_id))
    await asyncio.sleep(0.05)
    await bus.publish(session_id, [event(1)])
    for _ in range(600):
        if slow_seen:
            break
        await asyncio.sleep(0.05)
    assert slow_seen == [1]
    for seq in range(2, 2001):
        await bus.publish(session_id, [event(seq)])
    await bus.publish(session_id, [event(2001, complete=True)])
    # The publisher finished every event while the slow reader was still stuck after its first one.
    assert slow_seen == [1]
    assert [e.seq for e in await asyncio.wait_for(fast, 60)] == list(range(1, 2002))
    assert slow_seen == [1]
    release.set()
    await asyncio.wait_for(slow, 60)
    assert slow_seen == list(range(1, 2002))


async def test_publishing_a_seq_not_above_the_last_is_refused(bus: ProgressBus) -> None:
    session_id = new_session()
    await bus.publish(session_id, [event(1)])
    await bus.publish(session_id, [event(2)])
    with pytest.raises(OutOfOrderEventError):
        await bus.publish(session_id, [event(2)])
    with pytest.raises(OutOfOrderEventError):
        await bus.publish(session_id, [event(1)])
    assert await bus.last_seq(session_id) == 2


async def test_finished_session_is_dropped_after_retention(bus: ProgressBus) -> None:
    session_id = new_session()
    running = new_session()
    await publish_session(bus, session_id, 3)
    await bus.publish(running, [event(1)])
    assert await bus.last_seq(session_id) == 4
    for _ in range(200):
        if await bus.last_seq(session_id) is None:
            break
        await asyncio.sleep(0.05)
    assert await bus.last_seq(session_id) is None
    # a running session is not subject to the short retention
    assert await bus.last_seq(running) == 1


async def test_a_batch_arrives_whole_and_since_inside_it_is_exact(bus: ProgressBus) -> None:
    session_id = new_session()
    reader = asyncio.create_task(collect(bus, session_id))
    await asyncio.sleep(0.05)
    await bus.publish(session_id, [event(seq) for seq in range(1, 11)])  # one chunk of output
    await bus.publish(session_id, [event(seq) for seq in range(11, 21)] + [event(21, complete=True)])
    assert [e.seq for e in await asyncio.wait_for(reader, 30)] == list(range(1, 22))
    assert await bus.last_seq(session_id) == 21
    for since in (0, 1, 4, 10, 11, 15, 20, 21):
        rest = await asyncio.wait_for(collect(bus, session_id, since=since), 30)
        assert [e.seq for e in rest] == list(range(since + 1, 22)), since
        assert [e.message for e in rest] == [event(seq).message for seq in range(since + 1, 21)] + (
            [] if since == 21 else ["line 21 ✓ 中文"]
        )


async def test_a_batch_whose_seqs_do_not_rise_is_refused_whole(bus: ProgressBus) -> None:
    session_id = new_session()
    await bus.publish(session_id, [event(1), event(2)])
    with pytest.raises(OutOfOrderEventError):
        await bus.publish(session_id, [event(3), event(3)])
    with pytest.raises(OutOfOrderEventError):
        await bus.publish(session_id, [event(2), event(3)])
    await bus.publish(session_id, [])  # nothing to do
    assert await bus.last_seq(session_id) == 2


def run_of(first: int, last: int) -> SessionEvent:
    """One event carrying the lines ``first..last`` (what one chunk of output becomes)."""
    lines = [f"line {seq} ✓ 中文" for seq in range(first, last + 1)]
    return SessionEvent(
        last, EventType.LOG, Level.INFO, "\n".join(lines), datetime.now(UTC), "script", 3, 4, first_seq=first
    )


async def test_since_inside_a_multi_line_event_gets_exactly_its_later_lines(bus: ProgressBus) -> None:
    session_id = new_session()
    await bus.publish(session_id, [run_of(1, 10)])
    await bus.publish(session_id, [event(11), run_of(12, 20), event(21, complete=True)])
    for since in range(0, 22):
        rest = await asyncio.wait_for(collect(bus, session_id, since=since), 30)
        lines = [(line.seq, line.message) for e in rest for line in e.per_line()]
        want = [(seq, f"line {seq} ✓ 中文") for seq in range(since + 1, 21)] + (
            [] if since == 21 else [(21, "line 21 ✓ 中文")]
        )
        assert lines == want, since
        if rest:
            assert rest[0].start == since + 1  # the event holding `since` comes cut, not whole
            assert rest[0].step_id in ("script", None)


async def test_a_multi_line_event_overlapping_the_last_seq_is_refused(bus: ProgressBus) -> None:
    session_id = new_session()
    await bus.publish(session_id, [run_of(1, 5)])
    with pytest.raises(OutOfOrderEventError):
        await bus.publish(session_id, [run_of(5, 9)])
    with pytest.raises(OutOfOrderEventError):
        await bus.publish(session_id, [event(6), run_of(6, 8)])
    assert await bus.last_seq(session_id) == 5


async def test_a_heartbeat_subscriber_gets_an_empty_batch_while_quiet_and_every_event_after(
    bus: ProgressBus,
) -> None:
    session_id = new_session()
    got: list[list[SessionEvent]] = []

    async def read() -> None:
        async for batch in bus.subscribe(session_id, heartbeat=0.1):
            got.append(batch)
            if len([b for b in got if not b]) >= 2 and not any(got):
                await bus.publish(session_id, [event(1), event(2)])
                await bus.publish(session_id, [event(3, complete=True)])

    await asyncio.wait_for(read(), 30)
    assert [b for b in got[:2]] == [[], []]  # quiet: empty batches, not an endless wait
    assert [e.seq for b in got for e in b] == [1, 2, 3]
    # without a heartbeat nothing empty ever comes
    assert [len(b) for b in [b async for b in bus.subscribe(session_id)]] == [len(b) for b in got if b]
