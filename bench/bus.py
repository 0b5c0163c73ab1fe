"""Progress bus throughput: publish N events to one session while one subscriber follows.

Reports publish rate and the time until the subscriber has seen the last event, for the in-process bus
and (when reachable) the Redis Streams bus.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from setupwizard.live.bus import ProgressBus
from setupwizard.live.memory import MemoryBus
from setupwizard.live.redis import RedisBus
from setupwizard.provisioning.events import EventType, Level, SessionEvent, utc_now


def _event(seq: int, total: int) -> SessionEvent:
    kind = EventType.COMPLETE if seq == total else EventType.LOG
    return SessionEvent(seq, kind, Level.INFO, f"line {seq} " + "x" * 60, utc_now())


async def measure(bus: ProgressBus, total: int) -> dict[str, float]:
    """Publish ``total`` events; return events/s published and seconds until all were delivered."""
    session = f"bench-{uuid.uuid4()}"
    seen = 0

    async def follow() -> None:
        nonlocal seen
        async for batch in bus.subscribe(session):
            seen += len(batch)

    reader = asyncio.create_task(follow())
    await asyncio.sleep(0.05)
    start = time.perf_counter()
    for seq in range(1, total + 1):
        await bus.publish(session, [_event(seq, total)])
    published = time.perf_counter() - start
    await asyncio.wait_for(reader, timeout=120)
    delivered = time.perf_counter() - start
    assert seen == total, f"subscriber saw {seen} of {total}"
    return {"events": total, "publish_per_s": total / published, "all_delivered_s": delivered}


async def run(total: int = 20_000) -> dict[str, dict[str, float]]:
    """Both buses; Redis is skipped (reported as such) when it is not reachable."""
    results: dict[str, dict[str, float]] = {}
    memory = MemoryBus()
    results["memory"] = await measure(memory, total)
    await memory.close()
    redis_bus = RedisBus.from_url("redis://127.0.0.1:6379/0")
    try:
        results["redis"] = await measure(redis_bus, total)
    except OSError as exc:
        print(f"redis bus skipped: {exc}")
    finally:
        await redis_bus.close()
    return results
