"""Which host of a fleet starts when: at most ``parallel`` at once, none after ``stop_after_failures``.

The embedded scheduler runs inside the serve process and holds the fleet's credentials in memory only
(:class:`FleetJob` is never stored). It sits behind :class:`FleetDispatch`, so its dispatch can become a
queue job (the job's secrets encrypted) without the service or the routes changing.

Order of one fleet: hosts start in the request's order. A host takes a slot before it starts and gives it
back when its session has ended (its final row is stored), so the session rows of a fleet never overlap
more than ``parallel`` deep. Before each start the scheduler looks at the fleet: cancelled → the host ends
``cancelled`` without a session run; K failures reached → it ends ``skipped``. A host whose own session is
cancelled while it waits ends ``cancelled`` at once and is passed over (:meth:`cancel_queued`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from setupwizard.db.models import FleetHost
from setupwizard.provisioning.result import SessionStatus
from setupwizard.setup.schemas import AutoSetupRequest

log = logging.getLogger(__name__)

FAILED_STATUSES = frozenset({SessionStatus.FAILED, SessionStatus.INTERRUPTED})
"""What counts towards ``stop_after_failures`` (a cancelled host was stopped by its person, not failing)."""


@dataclass
class HostJob:
    """One host to run: its place in the fleet and auto-setup's body (credentials in memory only)."""

    position: int
    request: AutoSetupRequest = field(repr=False)


@dataclass
class FleetJob:
    """A fleet's hosts to run now (all of them, or a retry's)."""

    fleet_id: str
    owner_id: int
    parallel: int
    stop_after_failures: int | None
    hosts: list[HostJob] = field(repr=False)
    cancelled: bool = False
    failures: int = 0
    running: int = 0
    peak: int = 0  # the most hosts this job ran at once (a probe for tests and logs)
    decided: set[int] = field(default_factory=set)  # positions the scheduler started or ended
    dropped: set[int] = field(default_factory=set)  # positions cancelled while queued: never started
    dropping: list[asyncio.Task[None]] = field(default_factory=list)  # their ends being written


RunHost = Callable[[FleetJob, HostJob], Awaitable[str]]
"""Start the host's session and wait for its end; answers its final status."""
EndUnstarted = Callable[[FleetJob, HostJob, str, str], Awaitable[None]]
"""End a host that never starts: (job, host, status, reason)."""
EndFleet = Callable[[FleetJob], Awaitable[None]]


class FleetDispatch(Protocol):
    """Runs fleets' hosts. The embedded one runs them in this process; a queue's would enqueue them."""

    async def submit(self, job: FleetJob) -> None:
        """Start running the job's hosts (returns at once)."""
        ...

    def cancel(self, fleet_id: str) -> FleetJob | None:
        """No host of the fleet starts any more; the job when it runs here (its running hosts to stop)."""
        ...

    def job(self, fleet_id: str) -> FleetJob | None:
        """The fleet's job running here, if any."""
        ...

    async def cancel_queued(self, host: FleetHost) -> bool:
        """End a host still waiting for its turn ``cancelled``, without connecting (its own session's
        cancel); False when it has started or is starting (its session's cancel stops it then)."""
        ...

    def fleet_ids(self) -> list[str]:
        """The fleets running here."""
        ...

    async def close(self) -> None:
        """Stop: hosts not started end when the service's setups do (interrupted)."""
        ...


class EmbeddedScheduler:
    """Runs each fleet as one asyncio task of this process, bounded by a semaphore of ``parallel``."""

    def __init__(self, run_host: RunHost, end_unstarted: EndUnstarted, end_fleet: EndFleet) -> None:
        self._run_host = run_host
        self._end_unstarted = end_unstarted
        self._end_fleet = end_fleet
        self._jobs: dict[str, FleetJob] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def submit(self, job: FleetJob) -> None:
        self._jobs[job.fleet_id] = job
        task = asyncio.create_task(self._drive(job), name=f"fleet-{job.fleet_id}")
        self._tasks[job.fleet_id] = task

    def cancel(self, fleet_id: str) -> FleetJob | None:
        job = self._jobs.get(fleet_id)
        if job is not None:
            job.cancelled = True
        return job

    def job(self, fleet_id: str) -> FleetJob | None:
        return self._jobs.get(fleet_id)

    async def cancel_queued(self, host: FleetHost) -> bool:
        job = self._jobs.get(host.fleet_id)
        waiting = next((h for h in job.hosts if h.position == host.position), None) if job else None
        if job is None or waiting is None or host.position in job.decided | job.dropped:
            return False
        job.dropped.add(host.position)  # decided in this step of the loop: _drive will not start it

        async def end() -> None:
            await self._end_unstarted(job, waiting, SessionStatus.CANCELLED, "cancelled")

        ending = asyncio.create_task(end())
        job.dropping.append(ending)  # the fleet ends after it
        await asyncio.shield(ending)
        return True

    def fleet_ids(self) -> list[str]:
        return list(self._jobs)

    async def _drive(self, job: FleetJob) -> None:
        slots = asyncio.Semaphore(job.parallel)
        runs: list[asyncio.Task[None]] = []
        try:
            for host in job.hosts:
                if host.position in job.dropped:  # its own cancel ended it: it needs no slot
                    continue
                await slots.acquire()
                if host.position in job.dropped:
                    slots.release()
                    continue
                job.decided.add(host.position)
                if job.cancelled or self._stopped(job):
                    slots.release()
                    if job.cancelled:
                        await self._end_unstarted(job, host, SessionStatus.CANCELLED, "fleet_cancelled")
                    else:
                        await self._end_unstarted(job, host, SessionStatus.SKIPPED, "stop_after_failures")
                    continue
                job.running += 1
                job.peak = max(job.peak, job.running)
                runs.append(
                    asyncio.create_task(self._one(job, host, slots), name=f"fleet-host-{host.position}")
                )
            await asyncio.gather(*runs, return_exceptions=True)
            await asyncio.gather(*job.dropping, return_exceptions=True)
            await self._end_fleet(job)
        except asyncio.CancelledError:
            for run in runs:
                run.cancel()
            await asyncio.gather(*runs, return_exceptions=True)
            raise
        except Exception:
            log.exception("Fleet %s: its scheduler failed", job.fleet_id)
        finally:
            self._jobs.pop(job.fleet_id, None)
            self._tasks.pop(job.fleet_id, None)

    @staticmethod
    def _stopped(job: FleetJob) -> bool:
        return job.stop_after_failures is not None and job.failures >= job.stop_after_failures

    async def _one(self, job: FleetJob, host: HostJob, slots: asyncio.Semaphore) -> None:
        status: str = SessionStatus.INTERRUPTED
        try:
            status = await self._run_host(job, host)
        except Exception:
            log.exception("Fleet %s: host %d failed to run", job.fleet_id, host.position)
            status = SessionStatus.FAILED
        finally:
            if status in FAILED_STATUSES:
                job.failures += 1  # counted before the slot is free: the next start sees it
            job.running -= 1
            slots.release()

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
