"""The fence's own logic on procrastinate's in-memory connector (the real PostgreSQL cut-off is
``tests/integration/jobs/test_fencing.py``): the margin, the trip, a failed heartbeat that does not stop the
worker, and procrastinate's refused finish of a fenced job taken over elsewhere."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from procrastinate import jobs as procrastinate_jobs
from procrastinate.exceptions import ConnectorException
from procrastinate.jobs import Status
from procrastinate.testing import InMemoryConnector

from setupwizard.jobs.fence import HEARTBEAT, Fence, HeartbeatJobManager, fence_seconds
from setupwizard.setup.running import RunningSetup


class CutOffConnector(InMemoryConnector):
    """procrastinate's in-memory connector whose heartbeats hang (``silent``) or fail (``failing``)."""

    def __init__(self) -> None:
        super().__init__()
        self.silent = False
        self.failing = False
        self.held = 0.0  # the next heartbeat is held this long (PostgreSQL unreachable, then back)
        self.beats = 0
        self.reverse_queries[HEARTBEAT] = "heartbeat_or_register"

    async def heartbeat_or_register_all(self, worker_id: int) -> list[dict[str, Any]]:
        """Our heartbeat statement (``jobs/fence.py`` ``HEARTBEAT``) on this connector: the heartbeat, and a
        row when it had to put the worker's row back."""
        known = worker_id in self.workers
        await self.update_heartbeat_run(worker_id)
        return [] if known else [{"id": worker_id}]

    async def update_heartbeat_run(self, worker_id: int) -> None:
        self.beats += 1
        if self.held:
            held, self.held = self.held, 0.0
            await asyncio.sleep(held)
        if self.failing:
            raise ConnectorException("connection refused")
        if self.silent:
            await asyncio.Event().wait()
        await super().update_heartbeat_run(worker_id)

    async def finish_job_run(self, job_id: int, status: str, delete_job: bool) -> None:
        if self.jobs[job_id]["status"] != "doing":  # as procrastinate_finish_job_v1 refuses
            raise ConnectorException("Job was not found or not in doing status")
        await super().finish_job_run(job_id, status, delete_job)


def a_run() -> RunningSetup:
    return RunningSetup(session_id="s-1", owner_id=1, host="192.0.2.1", port=22)


def test_the_fence_trips_a_third_of_a_lease_before_the_stalled_limit() -> None:
    assert fence_seconds(30.0) == pytest.approx(20.0)
    assert 30.0 - fence_seconds(30.0) == pytest.approx(30.0 / 3)


async def test_a_worker_whose_heartbeat_hangs_fences_its_running_setups() -> None:
    connector = CutOffConnector()
    manager = HeartbeatJobManager(connector)
    worker_id = await manager.register_worker()
    fence = Fence(manager, lease_seconds=0.3)
    run = a_run()
    with fence.guard(7, run):
        fence.start()
        try:
            connector.silent = True
            beat = asyncio.create_task(manager.update_heartbeat(worker_id))
            await asyncio.wait_for(run.cancel.wait(), timeout=60)  # a bound against a hang, not a speed
            assert run.fenced and fence.is_fenced(7)
            assert 7 in manager.fenced_jobs
            beat.cancel()
        finally:
            await fence.stop()
    assert not fence.is_fenced(7)


async def test_a_failed_heartbeat_is_logged_and_does_not_count_as_one(caplog: Any) -> None:
    connector = CutOffConnector()
    manager = HeartbeatJobManager(connector)
    worker_id = await manager.register_worker()
    before = manager.last_beat
    connector.failing = True
    await manager.update_heartbeat(worker_id)  # not raised: procrastinate would stop the worker
    assert manager.last_beat == before
    assert "heartbeat failed" in caplog.text
    connector.failing = False
    await manager.update_heartbeat(worker_id)
    assert manager.last_beat > before


async def test_a_heartbeat_held_up_is_sent_again_at_once_so_the_fence_counts_from_a_fresh_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("setupwizard.jobs.fence.SLOW_HEARTBEAT_SECONDS", 0.05)
    connector = CutOffConnector()
    manager = HeartbeatJobManager(connector)
    worker_id = await manager.register_worker()
    connector.held = 0.2
    await manager.update_heartbeat(worker_id)
    assert connector.beats >= 2  # the held one, then a fresh one


async def test_procrastinates_refused_finish_is_expected_only_for_a_fenced_job() -> None:
    connector = CutOffConnector()
    manager = HeartbeatJobManager(connector)
    deferred = []
    for _ in range(2):
        job = procrastinate_jobs.Job(id=None, queue="setups", task_name="t", lock=None, queueing_lock=None)
        deferred.append(await manager.defer_job_async(job))
    for job in deferred:  # claimed by another worker's stalled pass
        assert job.id is not None
        connector.jobs[job.id]["status"] = "doing"
        await manager.finish_job_by_id_async(job.id, status=Status.FAILED, delete_job=False)
    fenced, plain = deferred
    assert fenced.id is not None
    manager.fenced_jobs.add(fenced.id)
    await manager.finish_job(fenced, status=Status.SUCCEEDED, delete_job=False)  # logged, not raised
    assert fenced.id not in manager.fenced_jobs
    with pytest.raises(ConnectorException):
        await manager.finish_job(plain, status=Status.SUCCEEDED, delete_job=False)
