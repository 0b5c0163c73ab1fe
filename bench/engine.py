"""Line latency of the engine on the real testbed: remote print → event emitted.

The remote script prints its own clock (the testbed shares this machine's kernel clock), so the latency of
each line is ``event received − remote print time`` with no clock skew.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

from setupwizard.provisioning import (
    EventEmitter,
    EventType,
    MemoryKnownHosts,
    SessionEvent,
    SetupOptions,
    Target,
    run_setup,
)
from setupwizard.testbed import Testbed

LINES = 50
SCRIPT = f'for i in $(seq 1 {LINES}); do echo "tick $(date +%s.%N)"; sleep 0.05; done\n'


async def run() -> dict[str, float]:
    """Start a fresh testbed host, run the plan with a ticking script, measure each tick's latency."""
    started = time.perf_counter()
    host = Testbed.ensure().new_host()
    host_up = time.perf_counter() - started
    latencies: list[float] = []

    async def sink(events: Sequence[SessionEvent]) -> None:
        now = time.time()
        for event in events:
            if event.type is EventType.LOG and event.message.startswith("tick "):
                latencies.append(now - float(event.message.split()[1]))

    try:
        target = Target(host=host.address, username="root", password=host.root.password)
        options = SetupOptions(packages=["ufw"], script=SCRIPT)
        begin = time.perf_counter()
        result = await run_setup(target, options, EventEmitter(sink, target.secrets()), MemoryKnownHosts())
        whole = time.perf_counter() - begin
    finally:
        host.stop()
    if not result.success or len(latencies) != LINES:
        raise RuntimeError(f"bench run failed: {result.message} ({len(latencies)} ticks)")
    ordered = sorted(latencies)
    return {
        "fresh_host_s": host_up,
        "whole_plan_s": whole,
        "line_latency_median_ms": statistics.median(ordered) * 1000,
        "line_latency_p95_ms": ordered[int(len(ordered) * 0.95) - 1] * 1000,
        "line_latency_max_ms": ordered[-1] * 1000,
    }
