"""Fleets (issue 19 §4): job pick-up. ``POST /api/setup/auto-setup`` → the session's first line on its
WebSocket, in the embedded mode (SQLite: the setup is a task of ``serve``) and on the job queue
(PostgreSQL + Redis: the POST defers a procrastinate job, a worker hears the NOTIFY, takes the job, unseals
the request and runs it; its lines reach ``serve``'s socket through Redis).

Sequential samples, each on an idle service: the watcher connects first (as the page does), then the POST
is sent; times are the client's ``time.time()`` from just before the POST to (a) the 202, (b) the first line
of the session received on the socket (the run's first event: a job picked up and started), (c) the script's
own line, printed on the host after connect and the sudo check. The plan is connect, sudo check, script.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.config import Sizes
from bench.hosts import Endpoint, fresh_hosts
from bench.report import Section, verdict
from bench.service import Service, running_cluster, running_service
from bench.stats import fmt, median, percentile
from bench.watch import Watcher

TARGET_MS = 20.0  # the queue's median pick-up cost over the embedded mode's
HOSTS = 2  # sessions alternate between them, so a server's lock from the last sample never delays the next
WARM_UP = 2
MARKER = "pickup-marker"
BUSY_RETRY_SECONDS = 0.05


@dataclass
class Mode:
    """One way to run the service, and its samples (ms)."""

    name: str
    label: str
    open: Callable[[], AbstractAsyncContextManager[tuple[Service, list[str]]]]
    answered: list[float] = field(default_factory=list)
    first_line: list[float] = field(default_factory=list)
    script_line: list[float] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    busy_retries: int = 0


@asynccontextmanager
async def _embedded() -> AsyncIterator[tuple[Service, list[str]]]:
    async with running_service("pickup", "sqlite") as serve:
        yield serve, [serve.command()]


@asynccontextmanager
async def _queue(run_jobs: bool, workers: int) -> AsyncIterator[tuple[Service, list[str]]]:
    serve_env = {"SETUPWIZARD_RUN_JOBS": "true" if run_jobs else "false"}
    async with running_cluster("pickup", workers=workers, serve_env=serve_env) as (serve, started):
        yield serve, [serve.command(), *(worker.command() for worker in started)]


async def _sample(service: Service, target: Endpoint, mode: Mode, keep: bool) -> None:
    marks: dict[str, float] = {}

    def on_line(_seq: int, line: str, _frame: dict[str, Any], now: float) -> None:
        if line.strip() == MARKER:
            marks.setdefault("script", now)

    watcher = Watcher(service, str(uuid.uuid4()), on_line)
    task = asyncio.create_task(watcher.run())
    try:
        await asyncio.wait_for(watcher.connected.wait(), 60)
        body = target.setup_body(
            script=f"echo {MARKER}\n", session_id=watcher.watch.session_id, apt_update=False, firewall=False
        )
        body["wait"] = False
        while True:
            posted = time.time()
            answer = await service.client.post("/api/setup/auto-setup", json=body)
            answered = time.time()
            if answer.status_code != 409:
                break
            mode.busy_retries += 1  # the last sample's server lock not yet released: ask again
            await asyncio.sleep(BUSY_RETRY_SECONDS)
        if answer.status_code != 202:
            raise RuntimeError(f"auto-setup answered {answer.status_code}: {answer.text[:300]}")
        watch = await asyncio.wait_for(task, 120)
    finally:
        task.cancel()
    if watch.status != "succeeded":
        raise RuntimeError(f"{mode.name}: the sample's setup ended {watch.status}: {watch.complete}")
    if keep:
        mode.answered.append((answered - posted) * 1000)
        mode.first_line.append((watch.first_line_at - posted) * 1000)
        mode.script_line.append((marks.get("script", float("nan")) - posted) * 1000)


async def run(sizes: Sizes) -> Section:
    """Each mode on a fresh service, the same hosts, samples one after another."""
    modes = [
        Mode("sqlite", "embedded: SQLite, serve runs the setup", _embedded),
        Mode(
            "queue",
            "PostgreSQL + Redis: serve (SETUPWIZARD_RUN_JOBS=false) + 1 setupwizard worker",
            lambda: _queue(False, 1),
        ),
        Mode(
            "queue, serve runs jobs",
            "PostgreSQL + Redis: one serve that runs the jobs itself",
            lambda: _queue(True, 0),
        ),
    ]
    section = Section(
        title="job pick-up: POST auto-setup → the session's first line on its WebSocket",
        target=f"the queue adds ≤ {TARGET_MS:g} ms (median, PostgreSQL mode − SQLite mode)",
    )
    async with AsyncExitStack() as stack:
        hosts = await stack.enter_async_context(fresh_hosts(HOSTS))
        targets = [Endpoint(host, 22, (22,)) for host in hosts]
        for mode in modes:
            async with mode.open() as (service, mode.command):
                for index in range(WARM_UP + sizes.pickup_samples):
                    await _sample(service, targets[index % len(targets)], mode, index >= WARM_UP)
    section.commands = [
        *(f"{line}  # {mode.name}" for mode in modes for line in mode.command),
        f"{sizes.pickup_samples} samples per mode (after {WARM_UP} not counted), one after another on "
        f"{HOSTS} fresh hosts in turn: WebSocket connected, then POST auto-setup {{root, password, "
        f"apt_update: false, firewall: false, packages: [], script: `echo {MARKER}`, wait: false}}",
    ]
    table = [
        [
            "mode",
            "POST → 202, median ms",
            "POST → first line, median ms",
            "p90 ms",
            "POST → the script's line, median ms",
            "first line − SQLite's, ms",
        ]
    ]
    base = median(modes[0].first_line)
    for mode in modes:
        table.append(
            [
                mode.label,
                fmt(median(mode.answered)),
                fmt(median(mode.first_line)),
                fmt(percentile(mode.first_line, 90)),
                fmt(median(mode.script_line)),
                f"{median(mode.first_line) - base:+.1f}",
            ]
        )
    section.tables.append(table)
    retries = {mode.name: mode.busy_retries for mode in modes if mode.busy_retries}
    if retries:
        section.notes.append(f"POSTs answered 409 (the previous sample's lock) and asked again: {retries}")
    section.notes.append(
        "All figures are the client's clock (time.time() before the POST → frame received), the service "
        "on the same machine; the first line is the run's first event (written by the process that runs "
        "the setup, before it connects)."
    )
    section.verdict = verdict(median(modes[1].first_line) - base <= TARGET_MS)
    return section
