"""Benchmark 4: 200 concurrent setups followed by 2,000 WebSocket watchers (10 per setup), one service.

Every watcher connects first (as the page does), then all setups are POSTed at once. Each setup's script
prints ``seq 1 N``. Every watcher must reach its ``complete`` frame with no line lost or doubled; the
service's peak resident memory is the kernel's high-water mark (VmHWM) of its process.
"""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from contextlib import AsyncExitStack

from bench.barrier import Barrier
from bench.config import Sizes
from bench.hosts import endpoints, fresh_hosts, plan_hosts
from bench.report import Section, verdict
from bench.service import Service, running_service
from bench.watch import Watcher
from bench.waves import start_in_waves

TARGET_MIB = 500.0
CONNECT_PARALLEL = 100


def steps_of(sizes: Sizes) -> dict[str, object]:
    """The setups' step choice: the default plan, or connect + sudo check + script (see Sizes)."""
    return {} if sizes.scale_default_steps else {"apt_update": False, "firewall": False}


def _steps_text(sizes: Sizes) -> str:
    if sizes.scale_default_steps:
        return "the default steps"
    return "apt_update: false, firewall: false — connect, sudo check, script"


async def _sample_rss(service: Service, peak: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], service.rss_mib())
        try:
            await asyncio.wait_for(stop.wait(), 0.25)
        except TimeoutError:
            pass


async def run(sizes: Sizes) -> Section:
    """All setups at once; report completion, losses and memory."""
    setups, per_setup = sizes.scale_setups, sizes.scale_watchers_per_setup
    section = Section(
        title=f"{setups} concurrent setups with {setups * per_setup:,} WebSocket watchers",
        target=f"all complete; peak RSS ≤ {TARGET_MIB:.0f} MB",
    )
    host_count, per_host = plan_hosts(setups, sizes.max_hosts)
    async with AsyncExitStack() as stack:
        hosts_began = time.monotonic()
        hosts = await stack.enter_async_context(fresh_hosts(host_count, ports_per_host=per_host))
        hosts_s = time.monotonic() - hosts_began
        service = await stack.enter_async_context(running_service("scale", "sqlite"))
        targets = endpoints(hosts, per_host)[:setups]
        section.commands = [
            service.command(),
            f"{host_count} fresh testbed host(s) × {per_host} sshd port(s); "
            f"{setups} × POST auto-setup (packages: [], {_steps_text(sizes)}, "
            f"script: barrier, then `seq 1 {sizes.scale_script_lines}`, wait: false), "
            f"{per_setup} watchers each connected before the POST; POSTed in waves per sshd port, then "
            "every script started at once",
        ]
        idle_rss = service.rss_mib()
        watchers = [Watcher(service, str(uuid.uuid4())) for _ in targets for _ in range(per_setup)]
        for index, watcher in enumerate(watchers):  # the watchers of one setup share its session id
            watcher.watch.session_id = watchers[index - index % per_setup].watch.session_id
        peak = [idle_rss]
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample_rss(service, peak, stop))
        connect_gate = asyncio.Semaphore(CONNECT_PARALLEL)

        async def follow(watcher: Watcher) -> None:
            async with connect_gate:
                first = asyncio.create_task(watcher.connected.wait())
                running = asyncio.create_task(watcher.run())
                await asyncio.wait({first, running}, return_when=asyncio.FIRST_COMPLETED)
                first.cancel()
            await running

        began = time.monotonic()
        tasks = [asyncio.create_task(follow(w)) for w in watchers]
        try:
            await asyncio.wait_for(
                asyncio.gather(*(w.connected.wait() for w in watchers)), sizes.session_timeout
            )
            connected_s = time.monotonic() - began
            async with Barrier() as barrier:
                script = f"{barrier.wait_snippet()}\nseq 1 {sizes.scale_script_lines}\n"
                jobs = [(target, script, watchers[i * per_setup]) for i, target in enumerate(targets)]
                posted = time.monotonic()
                reached = await start_in_waves(
                    service, jobs, tasks[::per_setup], barrier, sizes.session_timeout, steps_of(sizes)
                )
                waves_s = time.monotonic() - posted
                running_rss = service.rss_mib()
                barrier.release()
                released = time.monotonic()
                _done, pending = await asyncio.wait(tasks, timeout=sizes.session_timeout)
                all_done_s = time.monotonic() - released
        finally:
            stop.set()
            await sampler
            for task in tasks:
                task.cancel()
        peak_hwm = service.peak_rss_mib()
        problems = service.log_problems()
    watches = [w.watch for w in watchers]
    complete = [w for w in watches if w.complete is not None]
    statuses = collections.Counter(w.status for w in watches[::per_setup])
    lost = sum(w.gaps for w in watches)
    doubled = sum(w.duplicates for w in watches)
    section.tables.append(
        [
            [
                "setups",
                "watchers",
                "watchers connected in",
                "POST → all at the start line",
                "start → every watcher complete",
                "watchers with `complete`",
                "session statuses",
                "lost / doubled lines",
                "reconnects",
                "RSS idle",
                "peak RSS (VmHWM)",
            ],
            [
                str(len(targets)),
                f"{len(watchers):,}",
                f"{connected_s:.1f} s",
                f"{waves_s:.1f} s ({reached} / {len(targets)} arrived, RSS {running_rss:.0f} MiB)",
                f"{all_done_s:.1f} s" + (f" ({len(pending)} unfinished)" if pending else ""),
                f"{len(complete):,} / {len(watchers):,}",
                ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())),
                f"{lost} / {doubled}",
                str(sum(w.reconnects for w in watches)),
                f"{idle_rss:.0f} MiB",
                f"{peak_hwm:.0f} MiB (sampled max {peak[0]:.0f})",
            ],
        ]
    )
    failed = [w for w in watches[::per_setup] if w.status != "succeeded" and w.complete is not None]
    if failed:
        message = str((failed[0].complete or {}).get("message"))[:300]
        section.notes.append(f"{len(failed)} setup(s) did not succeed; first: {message}")
    if per_host > 1:
        section.notes.append(
            f"{host_count} hosts with {per_host} sshd listeners each (one setup per host:port)."
        )
    section.notes.append(f"{host_count} fresh hosts ready in {hosts_s:.0f} s (6 started at a time).")
    if problems:
        section.notes.append(
            f"the service logged {len(problems)} error line(s), first: `{problems[0][:200]}`"
        )
    section.verdict = verdict(len(complete) == len(watchers) and peak_hwm <= TARGET_MIB and lost == 0)
    return section
