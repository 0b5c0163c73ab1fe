"""Benchmark 1: 200,000 lines over the WebSocket, and stored, ÷ plain ``ssh host 'seq 1 200000'``.

Per round, on one fresh host, side by side: plain OpenSSH prints the lines; then for each backend a
setup with a script ``true`` and the same setup with ``seq 1 N`` (each timed from the POST to the
``complete`` frame, which the service sends only once every event is stored). The pipeline's cost is
the difference of the two setups; the ratio divides it by the plain ssh time, as issue E states it.
Every number 1..N must arrive exactly once and every event must be in the database.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.config import Sizes
from bench.hosts import Endpoint, endpoints, fresh_hosts, ssh_key
from bench.report import Section, verdict
from bench.service import Service, running_service, running_workers
from bench.stats import fmt, median
from bench.watch import Watcher

TARGETS = {"sqlite": 1.5, "redis": 2.0}


def ssh_argv(key: Path, address: str, command: str, port: int = 22) -> list[str]:
    """Plain OpenSSH with the bench key and no host-key bookkeeping."""
    return [
        "ssh",
        "-i",
        str(key),
        "-p",
        str(port),
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        f"root@{address}",
        command,
    ]


def plain_ssh(key: Path, address: str, lines: int) -> float:
    """Seconds for ``ssh host 'seq 1 N'`` with its output read through a pipe; checks the line count."""
    start = time.perf_counter()
    result = subprocess.run(
        ssh_argv(key, address, f"seq 1 {lines}"), capture_output=True, check=True, timeout=300
    )
    elapsed = time.perf_counter() - start
    got = result.stdout.count(b"\n")
    if got != lines:
        raise RuntimeError(f"plain ssh printed {got} lines, not {lines}")
    return elapsed


async def timed_setup(
    service: Service,
    endpoint: Endpoint,
    script: str,
    lines: int,
    timeout: float,
    watch_on: Service | None = None,
) -> dict[str, Any]:
    """One setup from POST to ``complete``, with the WebSocket connected first (as the page does).

    ``watch_on``: another worker of the same deployment that serves the WebSocket (default: ``service``).
    """
    numbers: list[int] = []

    def on_line(_seq: int, line: str, _frame: dict[str, Any], _now: float) -> None:
        if line.isdigit():
            numbers.append(int(line))

    session_id = str(uuid.uuid4())
    watcher = Watcher(watch_on or service, session_id, on_line)
    following = asyncio.create_task(watcher.run())
    try:
        await asyncio.wait_for(watcher.connected.wait(), 60)
        start = time.time()
        await service.start_setup(**endpoint.setup_body(script=script, session_id=session_id))
        watch = await asyncio.wait_for(following, timeout)
    finally:
        following.cancel()
    stored = await service.backend.count_events(session_id)
    in_range = [n for n in numbers if 1 <= n <= lines]
    return {
        "seconds": watch.complete_at - start,
        "script_seconds": watch.complete_at - watch.step_at.get("script", float("nan")),
        "status": watch.status,
        "lost": lines - len(set(in_range)) if lines else 0,
        "doubled": len(in_range) - len(set(in_range)),
        "in_order": in_range == sorted(in_range),
        "ws_gaps": watch.gaps,
        "ws_duplicates": watch.duplicates,
        "shape_errors": watch.shape_errors,
        "events": watch.last_seq,
        "stored": stored,
        "frames": watch.frames,
        "multi_line_frames": watch.multi_line_frames,
        "reconnects": watch.reconnects,
    }


@dataclass(frozen=True)
class Variant:
    """One way to deploy: where the setup is POSTed and where its WebSocket is read."""

    name: str
    post: Service
    watch: Service
    target: float


async def _variants(stack: AsyncExitStack, backends: tuple[str, ...]) -> list[Variant]:
    variants = []
    if "sqlite" in backends:
        service = await stack.enter_async_context(running_service("throughput-sqlite", "sqlite"))
        variants.append(Variant("in-process bus, SQLite", service, service, TARGETS["sqlite"]))
    if "redis" in backends:
        first, second = await stack.enter_async_context(running_workers("throughput-redis", "redis", 2))
        variants += [
            Variant("Redis bus, PostgreSQL", first, first, TARGETS["redis"]),
            Variant("Redis, POST on worker 1, WebSocket on worker 2", first, second, TARGETS["redis"]),
        ]
    return variants


async def run(sizes: Sizes, backends: tuple[str, ...] = ("sqlite", "redis")) -> Section:
    """All rounds, every variant, one host."""
    lines = sizes.throughput_lines
    section = Section(
        title=f"{lines:,} lines over the WebSocket and stored ÷ plain ssh",
        target="≤ 1.5× in-process, ≤ 2× Redis, 0 lost",
    )
    with ssh_key() as key:
        async with AsyncExitStack() as stack:
            hosts = await stack.enter_async_context(fresh_hosts(1, key=key))
            endpoint = endpoints(hosts, 1)[0]
            variants = await _variants(stack, backends)
            by_id = {id(v.post): v.post for v in variants} | {id(v.watch): v.watch for v in variants}
            services = list(by_id.values())
            section.commands = [
                " ".join(ssh_argv(key, endpoint.address, f"seq 1 {lines}")).replace(str(key), "KEY"),
                *(f"{s.command()}  # {s.name}" for s in services),
                f"POST /api/setup/auto-setup {{root@{endpoint.address}, packages: [], script: 'true' | "
                f"'seq 1 {lines}', wait: false}} with the WebSocket connected first; "
                "timed to the complete frame",
            ]
            for variant in variants:  # warm-up (installs ufw, fills the apt proxy): not timed
                await timed_setup(variant.post, endpoint, "true", 0, sizes.session_timeout, variant.watch)
            ssh_times: list[float] = []
            runs: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {v.name: [] for v in variants}
            for _ in range(sizes.throughput_rounds):
                ssh_times.append(await asyncio.to_thread(plain_ssh, key, endpoint.address, lines))
                for variant in variants:
                    empty = await timed_setup(
                        variant.post, endpoint, "true", 0, sizes.session_timeout, variant.watch
                    )
                    full = await timed_setup(
                        variant.post, endpoint, f"seq 1 {lines}", lines, sizes.session_timeout, variant.watch
                    )
                    runs[variant.name].append((empty, full))
            notes = {note for s in services for note in s.backend.notes}
            section.notes += sorted(notes)
            for service in services:
                problems = service.log_problems()
                if problems:
                    section.notes.append(
                        f"{service.name}: the service logged {len(problems)} error line(s), first: "
                        f"`{problems[0][:200]}` (bench/out/service-{service.name}.log)"
                    )
    targets = {v.name: v.target for v in variants}
    ssh_median = median(ssh_times)
    table = [
        [
            "deployment",
            "plain ssh (median)",
            "setup, script `true`",
            f"setup, `seq 1 {lines}`",
            "whole-setup diff",
            "pipeline cost (script step diff)",
            "ratio",
            "target",
            "lines/s",
            "lost",
            "stored / events",
            "frames (multi-line)",
            "reconnects",
        ]
    ]
    all_met = True
    for name, pairs in runs.items():
        diffs = [full["script_seconds"] - empty["script_seconds"] for empty, full in pairs]
        whole_diffs = [full["seconds"] - empty["seconds"] for empty, full in pairs]
        cost = median(diffs)
        ratio = cost / ssh_median
        target = targets[name]
        lost = sum(full["lost"] + full["ws_gaps"] for _, full in pairs)
        stored_ok = all(full["stored"] == full["events"] for _, full in pairs)
        met = ratio <= target and lost == 0 and stored_ok
        all_met = all_met and met
        last = pairs[-1][1]
        table.append(
            [
                name,
                f"{ssh_median:.3f} s",
                f"{median([e['seconds'] for e, _ in pairs]):.2f} s",
                f"{median([f['seconds'] for _, f in pairs]):.2f} s",
                f"{median(whole_diffs):.2f} s",
                f"{cost:.2f} s",
                f"{ratio:.1f}×",
                f"≤ {target}×",
                fmt(lines / cost if cost > 0 else float("nan"), 0),
                str(lost),
                " ".join(f"{f['stored']}/{f['events']}" for _, f in pairs),
                f"{last['frames']:,} ({last['multi_line_frames']:,})",
                str(sum(f["reconnects"] for _, f in pairs)),
            ]
        )
        bad = [
            f
            for _, f in pairs
            if f["status"] != "succeeded" or not f["in_order"] or f["doubled"] or f["ws_duplicates"]
        ]
        if bad:
            section.notes.append(f"{name}: {len(bad)} run(s) not clean: {bad}")
    section.tables.append(table)
    section.notes.append(
        "The pipeline cost is the paired difference, per round, of the time from the script step's first "
        "`step` frame to the `complete` frame (the `complete` frame is sent once every event is stored): the "
        "same as the whole-setup difference, without the seconds of apt-get update noise before the script."
    )
    section.notes.append(
        f"{sizes.throughput_rounds} round(s); each round runs plain ssh and both setups of each deployment "
        "side by side on the same fresh host. 'lost' counts numbers 1..N never received plus seq gaps "
        "on the socket; "
        "'stored / events' compares the lines stored in session_events with the last seq seen."
    )
    section.verdict = verdict(all_met)
    return section
