"""Benchmark 2: a line printed on a host → its frame received by a WebSocket client, p50/p99.

Each session's script starts one quiet printer (a single python3 process, so no fork per line), which waits at
a :class:`~bench.barrier.Barrier` until every session of the level has reached it, then prints ``tick <i>
<time.time()>`` at a fixed rate. The host shares this machine's clock (CLOCK_REALTIME is not namespaced), so
``received − printed`` is the latency of that line. The flood level adds one session printing ``seq 1 N`` at
full speed from the same start line; its p99 is also given for just the ticks printed while the flood's lines
were arriving. Each printer's first tick comes at a random point of its first period
(``latency_phase_spread``), as independent sessions' would: with all of them in step, every tick is a burst of
one line per session at the same instant.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from bench.barrier import Barrier
from bench.config import Sizes
from bench.cpu_share import small_cpu_share
from bench.hosts import Endpoint, endpoints, fresh_hosts, plan_hosts
from bench.report import Section, verdict
from bench.service import Service, running_service
from bench.stats import fmt, median, percentile
from bench.watch import Watch, Watcher
from bench.waves import start_in_waves

TARGET_P99_MS = 25.0

# The printer is started before the start line and waits at it itself: 200 python3 start-ups at the
# release would take seconds of these 2 cores (the hosts share them) just when the ticks begin.
PRINTER = """python3 -u - <<'PY'
import random, time
{wait}
rate, count = {rate}, {count}
start = time.time() + ({spread} * random.random() / rate)
for i in range(count):
    delay = start + i / rate - time.time()
    if delay > 0:
        time.sleep(delay)
    print(f"tick {{i}} {{time.time():.6f}}", flush=True)
PY
"""
FLOOD = "{wait}\nseq 1 {lines}\n"


@dataclass
class Level:
    """The outcome of one concurrency level."""

    name: str
    sessions: int
    expected: int
    ticks: list[tuple[float, float]] = field(default_factory=list)  # (printed, latency s)
    reached: int = 0
    flood: Watch | None = None
    flood_lines: int = 0
    flood_window: tuple[float, float] = (0.0, 0.0)
    watches: list[Watch] = field(default_factory=list)
    cpu_seconds: float = 0.0  # the service's CPU from the start line to every session's end


async def _run_level(
    service: Service,
    targets: list[Endpoint],
    flood_target: Endpoint | None,
    sizes: Sizes,
    name: str,
) -> Level:
    count = int(sizes.latency_rate * sizes.latency_seconds)
    level = Level(name, len(targets), len(targets) * count)
    flood_digits: list[float] = []

    def on_tick(_seq: int, line: str, _frame: dict[str, Any], now: float) -> None:
        if line.startswith("tick "):
            printed = float(line.split()[2])
            level.ticks.append((printed, now - printed))

    def on_flood(_seq: int, line: str, _frame: dict[str, Any], now: float) -> None:
        if line.isdigit():
            flood_digits.append(now)

    async with Barrier() as barrier:
        printer = PRINTER.format(
            wait=barrier.wait_code(), rate=sizes.latency_rate, count=count, spread=sizes.latency_phase_spread
        )
        jobs: list[tuple[Endpoint, str, Watcher]] = [
            (target, printer, Watcher(service, str(uuid.uuid4()), on_tick)) for target in targets
        ]
        if flood_target is not None:
            script = FLOOD.format(wait=barrier.wait_snippet(), lines=sizes.latency_flood_lines)
            jobs.append((flood_target, script, Watcher(service, str(uuid.uuid4()), on_flood)))
        tasks = [asyncio.create_task(watcher.run()) for _, _, watcher in jobs]
        try:
            level.reached = await start_in_waves(service, jobs, tasks, barrier, sizes.session_timeout)
            cpu_before = service.cpu_seconds()
            barrier.release()
            done, pending = await asyncio.wait(tasks, timeout=sizes.session_timeout)
            level.cpu_seconds = service.cpu_seconds() - cpu_before
            if pending:
                stuck = [w.watch.session_id for t, (_, _, w) in zip(tasks, jobs, strict=True) if t in pending]
                details = [await service.describe_stuck(session_id) for session_id in stuck[:3]]
                raise RuntimeError(
                    f"{len(pending)} session(s) of level {name} did not complete in time: {details}"
                )
            level.watches = [task.result() for task in done]
        finally:
            for task in tasks:
                task.cancel()
    if flood_target is not None:
        level.flood = jobs[-1][2].watch
        level.flood_lines = len(flood_digits)
        if flood_digits:
            level.flood_window = (flood_digits[0], flood_digits[-1])
    return level


def _row(level: Level) -> list[str]:
    latencies = [lat * 1000 for _, lat in level.ticks]
    cells = [
        level.name,
        str(level.sessions),
        f"{len(latencies):,} / {level.expected:,}",
        fmt(median(latencies)),
        fmt(percentile(latencies, 99)),
        fmt(max(latencies) if latencies else float("nan")),
        f"{level.cpu_seconds:.2f}",
    ]
    if level.flood is not None:
        start, end = level.flood_window
        during = [lat * 1000 for printed, lat in level.ticks if start <= printed <= end]
        cells.append(
            f"p99 {fmt(percentile(during, 99))} ms over {len(during):,} ticks; "
            f"flood {level.flood_lines:,} lines "
            f"in {end - start:.1f} s, {level.flood.reconnects} reconnect(s)"
        )
    else:
        cells.append("")
    return cells


async def run(sizes: Sizes) -> Section:
    """Every level on one service (in-process bus), with hosts shared by the levels."""
    section = Section(
        title="line printed on the host → frame received",
        target=f"p99 ≤ {TARGET_P99_MS:.0f} ms at {' and '.join(map(str, sizes.latency_levels[1:]))} "
        "sessions, also beside a flood",
    )
    biggest = max(*sizes.latency_levels, sizes.latency_flood_beside + 1)
    host_count, per_host = plan_hosts(biggest, sizes.max_hosts)
    levels: list[Level] = []
    async with AsyncExitStack() as stack:
        hosts_began = time.monotonic()
        hosts = await stack.enter_async_context(fresh_hosts(host_count, ports_per_host=per_host))
        hosts_s = time.monotonic() - hosts_began
        if sizes.latency_hosts_cpu_share:
            weight = stack.enter_context(small_cpu_share(hosts, sizes.latency_hosts_cpu_share))
            section.notes.append(
                f"The printers' hosts ran in one control group of CPU weight {weight} (a default group: 1024 "
                "in cgroup v1): servers of their own, as far as the service's CPU goes (bench/cpu_share.py)."
            )
        service = await stack.enter_async_context(running_service("latency", "sqlite"))
        pool = endpoints(hosts, per_host)
        section.commands = [
            service.command(),
            f"{host_count} fresh testbed host(s), {per_host} sshd port(s) each; "
            "each session: POST auto-setup "
            f"(packages: [], script: barrier, then python3 printing `tick <i> <time.time()>` at "
            f"{sizes.latency_rate:g}/s for {sizes.latency_seconds:g} s); "
            f"the flood: `seq 1 {sizes.latency_flood_lines}`",
        ]
        # Warm-up: one setup per host installs ufw and fills the apt lists (not measured).
        await _run_level(
            service, pool[:host_count], None, Sizes(latency_rate=20, latency_seconds=0.1), "warm-up"
        )
        for n in sizes.latency_levels:
            levels.append(await _run_level(service, pool[:n], None, sizes, f"{n} session(s)"))
        n = sizes.latency_flood_beside
        levels.append(await _run_level(service, pool[:n], pool[n], sizes, f"{n} + flood"))
        problems = service.log_problems()
    table = [
        [
            "level",
            "printers",
            "ticks received / printed",
            "p50 ms",
            "p99 ms",
            "max ms",
            "serve CPU s (start line → every session ended)",
            "beside the flood",
        ]
    ]
    table += [_row(level) for level in levels]
    section.tables.append(table)
    met = True
    for level in levels:
        latencies = [lat * 1000 for _, lat in level.ticks]
        lost = level.expected - len(latencies)
        if lost:
            section.notes.append(f"{level.name}: {lost} tick(s) not received")
        if level.reached < level.sessions + (1 if level.flood is not None else 0):
            section.notes.append(f"{level.name}: only {level.reached} session(s) reached their script")
        if level.sessions > 1 and percentile(latencies, 99) > TARGET_P99_MS:
            met = False
        failed = [w for w in level.watches if w.status != "succeeded"]
        if failed:
            first = failed[0].complete or {}
            section.notes.append(
                f"{level.name}: {len(failed)} session(s) did not succeed: {failed[0].status}: "
                f"{str(first.get('message', ''))[:300]}"
            )
    section.verdict = verdict(met and not any(level.expected - len(level.ticks) for level in levels))
    if per_host > 1:
        section.notes.append(
            f"{host_count} hosts with {per_host} sshd listeners each (not one host per session): "
            "the testbed's "
            "200 slots are shared with test runs, and all hosts share this machine's cores anyway."
        )
    section.notes.append(f"{host_count} fresh hosts ready in {hosts_s:.0f} s (6 started at a time).")
    if problems:
        section.notes.append(
            f"the service logged {len(problems)} error line(s), first: `{problems[0][:200]}`"
        )
    section.notes.append(f"Run at {time.strftime('%H:%M:%S UTC', time.gmtime())}; ticks counted per line.")
    return section
