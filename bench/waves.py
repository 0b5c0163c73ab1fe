"""Start many setups whose scripts wait at a :class:`~bench.barrier.Barrier`, one wave per sshd port.

Setups on the same host must not run apt at the same time: two ``apt-get update`` at once fail with
"Unable to lock directory /var/lib/apt/lists/" (the product's ``DPkg::Lock::Timeout`` does not cover
that lock). So the setups on port 22 of every host go first; the next port's wave is POSTed once the
previous wave waits at the barrier (past apt and ufw). After the last wave every setup is running at
once, holding its script at the start line until :meth:`Barrier.release`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from bench.barrier import Barrier
from bench.hosts import Endpoint
from bench.service import Service
from bench.watch import Watcher

CONNECT_TIMEOUT = 120.0
POST_PARALLEL = 50


async def start_in_waves(
    service: Service,
    jobs: Sequence[tuple[Endpoint, str, Watcher]],
    tasks: Sequence[asyncio.Task[object]],
    barrier: Barrier,
    phase_seconds: float,
    steps: dict[str, object] | None = None,
) -> int:
    """POST every job wave by wave; return how many scripts reached the barrier."""
    gate = asyncio.Semaphore(POST_PARALLEL)

    async def start(target: Endpoint, script: str, watcher: Watcher) -> None:
        async with gate:
            await asyncio.wait_for(watcher.connected.wait(), CONNECT_TIMEOUT)
            body = target.setup_body(script=script, session_id=watcher.watch.session_id, **(steps or {}))
            await service.start_setup(**body)

    ports = sorted({job[0].port for job in jobs})
    posted = 0
    reached = 0
    for port in ports:
        wave = [job for job in jobs if job[0].port == port]
        await asyncio.gather(*(start(*job) for job in wave))
        posted += len(wave)
        deadline = time.monotonic() + phase_seconds
        while time.monotonic() < deadline:  # a session that ended before its script never arrives
            reached = await barrier.wait_for(posted, 1.0)
            if reached + sum(task.done() for task in tasks) >= posted:
                break
    return reached
