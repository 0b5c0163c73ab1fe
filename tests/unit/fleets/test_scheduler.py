"""The embedded scheduler's rules, with small fakes for the host runs (pure logic: slots and policy)."""

from __future__ import annotations

import asyncio

from setupwizard.db.models import FleetHost
from setupwizard.fleets.scheduler import EmbeddedScheduler, FleetJob, HostJob
from setupwizard.provisioning.result import SessionStatus
from setupwizard.setup.schemas import AutoSetupRequest


class Fakes:
    """Host runs that end with the status given per position, recording what happened."""

    def __init__(self, statuses: dict[int, str] | None = None, gate: asyncio.Event | None = None) -> None:
        self.statuses = statuses or {}
        self.gate = gate
        self.running = 0
        self.peak = 0
        self.started: list[int] = []
        self.unstarted: list[tuple[int, str, str]] = []
        self.ended = asyncio.Event()

    async def run(self, job: FleetJob, host: HostJob) -> str:
        self.started.append(host.position)
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            for _ in range(3):
                await asyncio.sleep(0)
            if self.gate is not None:
                await self.gate.wait()
        finally:
            self.running -= 1
        return self.statuses.get(host.position, SessionStatus.SUCCEEDED)

    async def end_unstarted(self, job: FleetJob, host: HostJob, status: str, reason: str) -> None:
        self.unstarted.append((host.position, status, reason))

    async def end_fleet(self, job: FleetJob) -> None:
        self.ended.set()


def job(hosts: int, parallel: int, stop_after: int | None = None) -> FleetJob:
    request = AutoSetupRequest.model_construct(host="h", username="u")
    return FleetJob("f", 1, parallel, stop_after, [HostJob(i, request) for i in range(hosts)])


async def test_never_more_than_parallel_hosts_at_once() -> None:
    fakes = Fakes()
    scheduler = EmbeddedScheduler(fakes.run, fakes.end_unstarted, fakes.end_fleet)
    one = job(10, 3)
    await scheduler.submit(one)
    await fakes.ended.wait()
    assert fakes.started == list(range(10))
    assert fakes.peak == 3 and one.peak == 3
    assert fakes.unstarted == []


async def test_after_k_failures_the_rest_are_skipped() -> None:
    fakes = Fakes({0: SessionStatus.FAILED, 1: SessionStatus.INTERRUPTED, 2: SessionStatus.CANCELLED})
    scheduler = EmbeddedScheduler(fakes.run, fakes.end_unstarted, fakes.end_fleet)
    await scheduler.submit(job(6, 1, stop_after=2))
    await fakes.ended.wait()
    assert fakes.started == [0, 1]
    assert fakes.unstarted == [(p, SessionStatus.SKIPPED, "stop_after_failures") for p in range(2, 6)]


async def test_a_cancelled_host_does_not_count_as_a_failure() -> None:
    fakes = Fakes({0: SessionStatus.CANCELLED})
    scheduler = EmbeddedScheduler(fakes.run, fakes.end_unstarted, fakes.end_fleet)
    await scheduler.submit(job(3, 1, stop_after=1))
    await fakes.ended.wait()
    assert fakes.started == [0, 1, 2]


async def test_cancel_ends_queued_hosts_without_starting_them() -> None:
    gate = asyncio.Event()
    fakes = Fakes(gate=gate)
    scheduler = EmbeddedScheduler(fakes.run, fakes.end_unstarted, fakes.end_fleet)
    await scheduler.submit(job(5, 2))
    while len(fakes.started) < 2:
        await asyncio.sleep(0)
    cancelled = scheduler.cancel("f")
    assert cancelled is not None and cancelled.cancelled
    gate.set()
    await fakes.ended.wait()
    assert fakes.started == [0, 1]
    assert fakes.unstarted == [(p, SessionStatus.CANCELLED, "fleet_cancelled") for p in range(2, 5)]
    assert scheduler.job("f") is None


def fleet_host(position: int) -> FleetHost:
    return FleetHost(fleet_id="f", position=position, session_id=f"s{position}", status="queued")


async def test_a_queued_hosts_own_cancel_ends_it_at_once_and_the_rest_run() -> None:
    gate = asyncio.Event()
    fakes = Fakes(gate=gate)
    scheduler = EmbeddedScheduler(fakes.run, fakes.end_unstarted, fakes.end_fleet)
    await scheduler.submit(job(3, 1))
    while fakes.started != [0]:
        await asyncio.sleep(0)
    assert await scheduler.cancel_queued(fleet_host(0)) is False  # started: its session's cancel stops it
    assert await scheduler.cancel_queued(fleet_host(2)) is True
    assert fakes.unstarted == [(2, SessionStatus.CANCELLED, "cancelled")]  # at once, not at its turn
    assert await scheduler.cancel_queued(fleet_host(2)) is False  # once
    gate.set()
    await fakes.ended.wait()
    assert fakes.started == [0, 1]
    assert fakes.unstarted == [(2, SessionStatus.CANCELLED, "cancelled")]


async def test_the_fleet_ends_only_after_a_dropped_hosts_end_is_written() -> None:
    fakes = Fakes()
    written = asyncio.Event()

    async def slow_end(job: FleetJob, host: HostJob, status: str, reason: str) -> None:
        await written.wait()
        await fakes.end_unstarted(job, host, status, reason)

    scheduler = EmbeddedScheduler(fakes.run, slow_end, fakes.end_fleet)
    await scheduler.submit(job(2, 1))
    cancel = asyncio.create_task(scheduler.cancel_queued(fleet_host(1)))
    while fakes.started != [0]:
        await asyncio.sleep(0)
    for _ in range(20):  # host 0 ends meanwhile; the fleet waits for host 1's end
        await asyncio.sleep(0)
    assert not fakes.ended.is_set()
    written.set()
    assert await cancel is True
    await fakes.ended.wait()
    assert fakes.unstarted == [(1, SessionStatus.CANCELLED, "cancelled")]
