"""``setupwizard setup HOST HOST … | --inventory FILE``: the same setup on many servers from a terminal.

Locally, with no service: every host runs through the same engine as the one-host command
(:func:`~setupwizard.provisioning.run_setup`), at most ``parallel`` at once, with the login secrets given
once for all of them. Each host's lines go to its own file in the log directory (redacted, as everywhere);
the terminal shows a live table of the hosts (plain lines when stdout is no terminal), then a recap.

Failure policy: after ``stop_after_failures`` failed hosts no new host starts; those not started end
``skipped``. Running hosts finish. Ctrl-C cancels the running hosts and skips the rest.

Host keys are those of the one-host command (``known_hosts.json``, accept-new): a host whose recorded key
changed fails, on its own; the others go on.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol, TextIO

from rich.console import Console

from setupwizard.cli.credentials import known_hosts_path
from setupwizard.provisioning import (
    EventEmitter,
    EventType,
    FileKnownHosts,
    SessionEvent,
    SetupOptions,
    Target,
)
from setupwizard.provisioning.messages import Lang, render
from setupwizard.provisioning.result import SessionStatus, SetupResult, StepStatus
from setupwizard.provisioning.runner import run_setup
from setupwizard.provisioning.summary import step_name


class ProgressView(Protocol):
    """What :func:`run_host` tells about progress (the live table or plain lines)."""

    def changed(self, host: FleetHost) -> None:
        """``host``'s status or step changed."""


class HostStatus(StrEnum):
    """Where one host of a many-host run stands."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    WARNING = "warning"  # succeeded, with at least one step ending in a warning
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"  # never started: the failure limit was reached, or the run was cancelled

    @property
    def ok(self) -> bool:
        """The host is set up."""
        return self in (HostStatus.SUCCEEDED, HostStatus.WARNING)


@dataclass
class FleetHost:
    """One server of the run and what is known of its progress."""

    name: str
    target: Target
    log_path: Path
    status: HostStatus = HostStatus.QUEUED
    step_index: int = 0
    step_total: int = 0
    step: str = ""
    started: float | None = None
    ended: float | None = None
    result: SetupResult | None = field(default=None, repr=False)
    step_names: dict[str, str] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        """Seconds since it started (until it ended); None before it started."""
        if self.started is None:
            return None
        return (self.ended if self.ended is not None else time.monotonic()) - self.started


@dataclass
class RunSettings:
    """How a many-host run goes."""

    parallel: int = 10
    stop_after_failures: int | None = None
    forget_host_key: bool = False
    connect_timeout: float = 10.0
    lang: Lang = "zh"


def new_log_dir(base: Path, now: datetime | None = None) -> Path:
    """A new directory named for this run (``setupwizard-run-YYYYmmdd-HHMMSS``, ``-2``… if taken)."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    candidate = base / f"setupwizard-run-{stamp}"
    number = 2
    while candidate.exists():
        candidate = base / f"setupwizard-run-{stamp}-{number}"
        number += 1
    return candidate


def log_file_names(names: Sequence[str]) -> list[str]:
    """A file name per host, safe on any file system and distinct (``web1.log``, ``2001_db8__1.log``)."""
    taken: set[str] = set()
    out: list[str] = []
    for name in names:
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", name).strip(".") or "host"
        candidate, number = f"{stem}.log", 2
        while candidate in taken:
            candidate, number = f"{stem}-{number}.log", number + 1
        taken.add(candidate)
        out.append(candidate)
    return out


def final_status(result: SetupResult) -> HostStatus:
    """The host's status from the engine's result."""
    if result.status is SessionStatus.SUCCEEDED:
        warned = any(step.status is StepStatus.WARNING for step in result.steps)
        return HostStatus.WARNING if warned else HostStatus.SUCCEEDED
    if result.status is SessionStatus.CANCELLED:
        return HostStatus.CANCELLED
    return HostStatus.FAILED


class FailureLimit:
    """After ``limit`` failed hosts, no new host may start (no limit: None)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.failures = 0

    def record(self, status: HostStatus) -> None:
        if status is HostStatus.FAILED:
            self.failures += 1

    @property
    def reached(self) -> bool:
        return self.limit is not None and self.failures >= self.limit


def outcome_text(result: SetupResult, lang: Lang) -> str:
    """The run's closing message in ``lang`` (redacted by the engine, as every message)."""
    return render(result.code, result.params, lang) if result.code else result.message


def event_text(event: SessionEvent, lang: Lang) -> str:
    """The event's line in ``lang``: a coded event is rendered from the catalogue, output lines as printed."""
    if event.code is None or lang == "zh":
        return event.message
    return render(event.code, event.params, lang)


async def run_fleet(
    hosts: Sequence[FleetHost], options: SetupOptions, settings: RunSettings, console: Console
) -> bool:
    """Set up every host (at most ``settings.parallel`` at once); True when every one succeeded."""
    from setupwizard.cli.fleet_view import FleetView  # Rich's live table: loaded for many-host runs only

    # One file for every host: its reads and writes never await, so hosts on this loop cannot interleave them.
    store = FileKnownHosts(known_hosts_path())
    cancel = asyncio.Event()
    loop = asyncio.get_running_loop()
    with suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, cancel.set)
    slots = asyncio.Semaphore(settings.parallel)
    limit = FailureLimit(settings.stop_after_failures)
    view = FleetView(hosts, console, settings.lang)

    async def one(host: FleetHost) -> None:
        async with slots:  # FIFO: hosts start in the order given
            if cancel.is_set() or limit.reached:
                host.status = HostStatus.SKIPPED
                view.changed(host)
                return
            try:
                await run_host(host, options, settings, store, cancel, view)
            except OSError as exc:  # its log file could not be written: this host fails, the others go on
                host.status, host.ended = HostStatus.FAILED, time.monotonic()
                view.changed(host)
                console.print(f"{host.name}: cannot write {host.log_path}: {exc.strerror}", highlight=False)
            limit.record(host.status)

    started = time.monotonic()
    with view.live():
        await asyncio.gather(*(one(host) for host in hosts))
    view.recap(time.monotonic() - started)
    return all(host.status.ok for host in hosts)


async def run_host(
    host: FleetHost,
    options: SetupOptions,
    settings: RunSettings,
    store: FileKnownHosts,
    cancel: asyncio.Event,
    view: ProgressView,
) -> None:
    """Set up one host, its lines to its own log file, its progress to ``view``."""
    host.status, host.started = HostStatus.RUNNING, time.monotonic()
    view.changed(host)
    target = host.target
    with host.log_path.open("w", encoding="utf-8") as log:
        _write(log, f"setupwizard setup {target.username}@{target.host}:{target.port} ({host.name})")
        if settings.forget_host_key and await store.forget(target.host, target.port):
            _write(log, f"Forgot the recorded host key of {target.host}:{target.port}.")

        async def sink(events: Sequence[SessionEvent]) -> None:
            for event in events:
                _write(log, event_text(event, settings.lang), event.timestamp, flush=False)
                if _follow(host, event, settings.lang):
                    view.changed(host)
            log.flush()  # once a batch: a person may `tail -f` it while the run goes on

        try:
            host.result = await run_setup(
                target,
                options,
                EventEmitter(sink),
                store,
                cancel=cancel,
                connect_timeout=settings.connect_timeout,
            )
            host.status = final_status(host.result)
        except Exception as exc:  # run_setup promises none; one host's surprise must not end the others
            _write(log, f"internal error: {type(exc).__name__}")
            host.status = HostStatus.FAILED
        host.ended = time.monotonic()
        _write(log, f"status: {host.status.value} ({host.duration or 0:.1f}s)")
    view.changed(host)


def _follow(host: FleetHost, event: SessionEvent, lang: Lang) -> bool:
    """Keep ``host``'s step n/N and current step name up to date; True when they changed."""
    if event.type is EventType.INFO and isinstance(event.data.get("steps"), list):
        host.step_names = {str(s["id"]): str(s["name"]) for s in event.data["steps"] if isinstance(s, dict)}
        host.step_total = len(host.step_names)
        return False  # the table shows it at its next redraw; no plain line of its own
    if event.type is EventType.STEP and event.data.get("status") == "running" and event.step_id:
        host.step_index = event.step_index or host.step_index
        host.step_total = event.step_total or host.step_total
        name = host.step_names.get(event.step_id, event.step_id)
        host.step = step_name(event.step_id, name).text(lang)
        return True
    return False


def _write(log: TextIO, text: str, when: datetime | None = None, *, flush: bool = True) -> None:
    stamp = (when or datetime.now()).astimezone().strftime("%H:%M:%S")  # local time, as the terminal's
    log.write(f"{stamp} {text}\n")
    if flush:
        log.flush()
