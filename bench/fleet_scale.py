"""Fleets (issue 19 §4): a big fleet on the job queue (PostgreSQL + Redis), one ``serve`` that runs no job
(``SETUPWIZARD_RUN_JOBS=false``) and ``setupwizard worker`` processes, while a watcher follows one more
session's lines.

The fleet's targets are testbed hosts × sshd ports (the testbed's 200 slots are shared with test runs):
``parallel`` hosts with as many ports each as needed, listed port by port, so target *i* is on host
``i % parallel`` and in lane ``i % parallel`` (docs/deploy.md, "Fleets on the queue"): one host's targets
run one after another in one lane, never two apt runs on one host at once. The plan allows every sshd
port besides 80, so enabling ufw locks no later target out.

Before the fleet is posted, one setup on a separate host starts a tick printer (benchmark 2's) and a
WebSocket watcher follows it through ``serve``; the ticks printed while the fleet runs give the line
latency beside the fleet (printed on the host → received by the watcher, across the worker, Redis and
``serve``). The printer is cancelled once the fleet ended.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

from bench.config import Sizes
from bench.cpu_share import small_cpu_share
from bench.fleet import UFW_PLAN, fleet_body, run_fleet, save_slowest_log
from bench.hosts import EXTRA_PORT_BASE, Endpoint, endpoints, fresh_hosts, ssh_key
from bench.latency import PRINTER
from bench.peers import end_state, warm_apt_proxy
from bench.report import Section, verdict
from bench.service import OUT_DIR, Service, running_cluster
from bench.stats import fmt, median, percentile
from bench.watch import Watcher

TARGET_MIB = 300.0
TARGET_P99_MS = 25.0
TICK_RATE = 20.0
BASELINE_SECONDS = 5.0  # ticks before the fleet's POST: the same path on an idle cluster
WINDOW_SECONDS = 20.0
RAN = re.compile(r"Fleet (\S+) host (\d+) \(session \S+\) runs on worker")
LIGHT_PLAN: dict[str, Any] = {"packages": [], "apt_update": False, "firewall": False, "script": "seq 1 100\n"}


async def _sample_rss(processes: tuple[Service, ...], high: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for index, process in enumerate(processes):
            high[index] = max(high[index], process.rss_mib())
        try:
            await asyncio.wait_for(stop.wait(), 0.25)
        except TimeoutError:
            pass


def stamp_seconds(frame: dict[str, Any]) -> float | None:
    """The frame's ``timestamp`` (when the engine made the event, UTC without a zone) as epoch seconds."""
    text = frame.get("timestamp")
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def layout(targets: int, parallel: int) -> tuple[int, int]:
    """(hosts, sshd ports per host) so that the targets of one host share one lane: ``parallel`` hosts."""
    hosts = min(targets, parallel)
    return hosts, -(-targets // hosts)


def plan_of(sizes: Sizes, ports_per_host: int) -> dict[str, Any]:
    """The fleet's plan: the default one with ufw (every sshd port allowed too), or the light one."""
    if not sizes.fleet_scale_default_plan:
        return dict(LIGHT_PLAN)
    extra = [f"{EXTRA_PORT_BASE + index}/tcp" for index in range(1, ports_per_host)]
    return {**UFW_PLAN, "firewall_ports": [*UFW_PLAN["firewall_ports"], *extra]}


async def run(sizes: Sizes) -> Section:
    """Start the cluster and hosts, the watched printer, then the fleet; report what each process did."""
    n, parallel, workers = sizes.fleet_scale_hosts, sizes.fleet_scale_parallel, sizes.fleet_scale_workers
    host_count, per_host = layout(n, parallel)
    plan = plan_of(sizes, per_host)
    section = Section(
        title=f"a fleet of {n} targets, parallel {parallel}, on PostgreSQL + Redis with {workers} workers",
        target=f"every host completes; peak RSS ≤ {TARGET_MIB:.0f} MB per process; a watcher's line "
        f"latency p99 ≤ {TARGET_P99_MS:.0f} ms meanwhile",
    )
    worker_env = {"SETUPWIZARD_WORKER_CONCURRENCY": str(sizes.fleet_scale_worker_concurrency)}
    with ssh_key() as key:
        async with AsyncExitStack() as stack:
            if sizes.fleet_scale_default_plan:
                await warm_apt_proxy()
            began = time.monotonic()
            hosts = await stack.enter_async_context(fresh_hosts(host_count, ports_per_host=per_host, key=key))
            [printer_host] = await stack.enter_async_context(fresh_hosts(1))
            if sizes.fleet_scale_hosts_cpu_share:
                weight = stack.enter_context(small_cpu_share(hosts, sizes.fleet_scale_hosts_cpu_share))
            hosts_s = time.monotonic() - began
            serve, worker_list = await stack.enter_async_context(
                running_cluster(
                    "fleet-scale",
                    workers=workers,
                    serve_env={"SETUPWIZARD_RUN_JOBS": "false"},
                    worker_env=worker_env,
                )
            )
            targets = endpoints(hosts, per_host)[:n]
            rss_idle = [p.rss_mib() for p in (serve, *worker_list)]
            # The watched printer: one more session, on its own host, ticking until cancelled.
            ticks: list[tuple[float, float]] = []  # (printed, latency s)
            legs: list[tuple[float, float, float]] = []  # (printed, to the worker's stamp s, from it s)

            def on_tick(_seq: int, line: str, frame: dict[str, Any], now: float) -> None:
                if line.startswith("tick "):
                    printed = float(line.split()[2])
                    ticks.append((printed, now - printed))
                    stamped = stamp_seconds(frame)
                    if stamped is not None:
                        legs.append((printed, stamped - printed, now - stamped))

            watcher = Watcher(serve, str(uuid.uuid4()), on_tick)
            watch_task = asyncio.create_task(watcher.run())
            await asyncio.wait_for(watcher.connected.wait(), 60)
            count = int(TICK_RATE * sizes.session_timeout * 2)
            script = PRINTER.format(wait="", rate=TICK_RATE, count=count, spread=1.0)
            body = Endpoint(printer_host, 22, (22,)).setup_body(
                script=script, session_id=watcher.watch.session_id, apt_update=False, firewall=False
            )
            await serve.start_setup(**body)
            deadline = time.monotonic() + 120
            while not ticks:
                if watch_task.done() or time.monotonic() > deadline:
                    stuck = await serve.describe_stuck(watcher.watch.session_id)
                    raise RuntimeError(f"the printer never ticked: {stuck}")
                await asyncio.sleep(0.1)
            await asyncio.sleep(BASELINE_SECONDS)
            processes = (serve, *worker_list)
            sampled = [p.rss_mib() for p in processes]
            cpu_before = [p.cpu_seconds() for p in processes]
            stop = asyncio.Event()
            sampler = asyncio.create_task(_sample_rss(processes, sampled, stop))
            try:
                fleet = await run_fleet(
                    serve,
                    fleet_body([(t.address, t.port) for t in targets], plan, key, parallel),
                    sizes.session_timeout,
                )
            finally:
                stop.set()
                await sampler
                cpu = [p.cpu_seconds() - before for p, before in zip(processes, cpu_before, strict=True)]
                await serve.client.post(f"/api/setup/sessions/{watcher.watch.session_id}/cancel")
                try:
                    await asyncio.wait_for(watch_task, 60)
                except Exception:  # the ticks so far still count
                    watch_task.cancel()
            peaks = [p.peak_rss_mib() for p in (serve, *worker_list)]
            slowest = await save_slowest_log(serve, fleet, OUT_DIR / "fleet_scale-slowest-host.log")
            ran = []
            printer_on = "?"
            for index, worker in enumerate(worker_list, 1):
                text = worker.log_path.read_text(errors="replace")
                ran.append(sum(1 for m in RAN.finditer(text) if m.group(1) == fleet.fleet_id))
                if f"of session {watcher.watch.session_id} runs on worker" in text:
                    printer_on = f"worker {index}"
            problems = {p.name: p.log_problems() for p in (serve, *worker_list)}
            commands = [serve.command(), *(w.command() for w in worker_list)]
            broken = []
            if sizes.fleet_scale_default_plan:
                for host in hosts:
                    status = (await asyncio.to_thread(host.run_root, "ufw status")).stdout
                    if not end_state(status):
                        broken.append(host.name)
    section.commands = [
        *commands,
        f"{host_count} fresh testbed hosts × {per_host} sshd port(s) = {len(targets)} targets; POST "
        f"/api/fleets {{plan: {plan}, root + key, parallel: {parallel}, accept_new_host_keys: true}}",
        f"beside it: 1 more host, POST auto-setup (apt_update/firewall false, script: python3 printing "
        f"`tick <i> <time.time()>` at {TICK_RATE:g}/s), its progress WebSocket watched through serve",
    ]
    counts = fleet.counts
    during = [lat * 1000 for printed, lat in ticks if fleet.posted_at <= printed <= fleet.ended_at]
    names = ["serve", *(f"worker {i}" for i in range(1, len(worker_list) + 1))]
    section.tables.append(
        [
            ["targets", "fleet wall time", "host statuses", "hosts per worker"],
            [
                str(len(targets)),
                f"{fleet.seconds:.1f} s ({len(targets) / fleet.seconds * 60:.0f} hosts/min)",
                ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())),
                ", ".join(f"{name}: {count}" for name, count in zip(names[1:], ran, strict=True)),
            ],
        ]
    )
    section.tables.append(
        [
            [
                "process",
                "RSS idle MiB",
                "RSS max during the fleet (sampled 4/s)",
                "peak RSS MiB (VmHWM, since start)",
                "CPU s during the fleet",
            ]
        ]
        + [
            [
                name,
                f"{idle:.0f}",
                f"{high:.0f}",
                f"{peak:.0f}",
                f"{used:.1f} ({used / fleet.seconds:.0%} of a core)",
            ]
            for name, idle, high, peak, used in zip(names, rss_idle, sampled, peaks, cpu, strict=True)
        ]
    )
    before = [lat * 1000 for printed, lat in ticks if printed < fleet.posted_at]
    windows = [("before the POST (idle cluster)", before), ("during the fleet", during)]
    start = fleet.posted_at
    while start < fleet.ended_at:
        end = min(start + WINDOW_SECONDS, fleet.ended_at)
        part = [lat * 1000 for printed, lat in ticks if start <= printed < end]
        windows.append((f"  {start - fleet.posted_at:.0f}–{end - fleet.posted_at:.0f} s", part))
        start = end
    section.tables.append(
        [["watcher's ticks", "count", "p50 ms", "p99 ms", "max ms"]]
        + [
            [
                label,
                f"{len(part):,}",
                fmt(median(part)),
                fmt(percentile(part, 99)),
                fmt(max(part, default=float("nan"))),
            ]
            for label, part in windows
        ]
    )
    in_fleet = [(to, since) for printed, to, since in legs if fleet.posted_at <= printed <= fleet.ended_at]
    section.tables.append(
        [["the ticks during the fleet, by leg", "p50 ms", "p99 ms", "max ms"]]
        + [
            [label, fmt(median(part)), fmt(percentile(part, 99)), fmt(max(part, default=float("nan")))]
            for label, part in (
                (
                    "printed → the worker's event timestamp (host, sshd, SSH, the worker's read)",
                    [to * 1000 for to, _ in in_fleet],
                ),
                (
                    "the worker's event timestamp → received (publish, Redis, serve, WebSocket)",
                    [since * 1000 for _, since in in_fleet],
                ),
            )
        ]
    )
    gaps = watcher.watch.gaps + watcher.watch.duplicates
    section.notes.append(f"The printer's session ran on {printer_on}; {slowest} (bench/out).")
    section.notes.append(
        f"fleet {fleet.fleet_id} ended `{fleet.fleet.get('status')}`; the watched session ended "
        f"{watcher.watch.status} (cancelled by the benchmark after the fleet), {watcher.watch.reconnects} "
        f"reconnect(s), {gaps} line(s) lost or doubled; {fleet.spread()}."
    )
    if not sizes.fleet_scale_default_plan:
        section.notes.append("The light plan (connect, sudo check, `seq 1 100`): not the default plan.")
    if sizes.fleet_scale_hosts_cpu_share:
        section.notes.append(
            f"The fleet's hosts ran in one control group of CPU weight {weight} (a default group: 1024 in "
            "cgroup v1), every process of theirs and every command the fleet started there: servers of their "
            "own, as far as the service's CPU goes (bench/cpu_share.py). The watched host, the service and "
            "the watcher at the default weight."
        )
    if broken:
        section.notes.append(f"ufw end state missing on {len(broken)} host(s), first {broken[0]}")
    section.notes.append(
        f"{host_count + 1} fresh hosts ready in {hosts_s:.0f} s; SETUPWIZARD_WORKER_CONCURRENCY="
        f"{sizes.fleet_scale_worker_concurrency} per worker (the default 20 would leave lanes waiting: "
        "two workers × 20 < 50 lanes + the printer)."
    )
    for name, lines in problems.items():
        if lines:
            section.notes.append(f"{name} logged {len(lines)} error line(s), first: `{lines[0][:200]}`")
    all_done = counts.get("succeeded", 0) == len(targets)
    met = all_done and max(peaks) <= TARGET_MIB and percentile(during, 99) <= TARGET_P99_MS and not broken
    section.verdict = verdict(met and gaps == 0)
    return section
