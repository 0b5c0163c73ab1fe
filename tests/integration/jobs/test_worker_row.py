"""A worker whose row procrastinate pruned while it was cut off from PostgreSQL (a starting worker deletes
the rows of workers whose heartbeat is older than the stalled timeout) gets its row back under its own id,
so its heartbeats count again and the jobs it fetches keep their foreign key to it. Real PostgreSQL with
procrastinate's schema."""

from __future__ import annotations

import logging

import pytest
from procrastinate import App

from setupwizard.jobs.fence import HeartbeatJobManager
from setupwizard.jobs.repository import QUEUE, TASK

from .conftest import psql


def worker_rows(database: str) -> list[int]:
    return [int(line) for line in psql(database, "SELECT id FROM procrastinate_workers ORDER BY id").split()]


async def pruned_worker(app: App, database: str) -> tuple[HeartbeatJobManager, int]:
    """A registered worker whose row another worker's start has pruned as stalled."""
    manager = app.job_manager
    assert isinstance(manager, HeartbeatJobManager)
    worker_id = await manager.register_worker()
    assert worker_rows(database) == [worker_id]
    assert await manager.prune_stalled_workers(0) == [
        worker_id
    ]  # what a starting worker does to stalled ones
    assert worker_rows(database) == []
    return manager, worker_id


async def test_the_heartbeat_of_a_pruned_worker_registers_it_again_under_its_own_id(
    queue_app: tuple[App, str], caplog: pytest.LogCaptureFixture
) -> None:
    app, database = queue_app
    manager, worker_id = await pruned_worker(app, database)
    with caplog.at_level(logging.WARNING, logger="setupwizard.jobs.fence"):
        await manager.update_heartbeat(worker_id)
    assert worker_rows(database) == [worker_id]
    assert [r.getMessage() for r in caplog.records if "registered again" in r.getMessage()] != []
    caplog.clear()
    # From then on an ordinary heartbeat: it moves the row's time and says nothing.
    before = psql(database, f"SELECT last_heartbeat FROM procrastinate_workers WHERE id = {worker_id}")
    with caplog.at_level(logging.WARNING, logger="setupwizard.jobs.fence"):
        await manager.update_heartbeat(worker_id)
    after = psql(database, f"SELECT last_heartbeat FROM procrastinate_workers WHERE id = {worker_id}")
    assert after > before
    assert worker_rows(database) == [worker_id]
    assert not caplog.records
    # A worker registered afterwards gets a new id, not the restored one.
    assert await manager.register_worker() > worker_id


async def test_a_pruned_worker_still_fetches_jobs_and_they_are_its_own(queue_app: tuple[App, str]) -> None:
    app, database = queue_app
    manager, worker_id = await pruned_worker(app, database)
    job_id = await app.configure_task(TASK, queue=QUEUE).defer_async(session_id="s-1")
    job = await manager.fetch_job(queues=[QUEUE], worker_id=worker_id)
    assert job is not None and job.id == job_id
    row = psql(database, f"SELECT status, worker_id FROM procrastinate_jobs WHERE id = {job_id}").strip()
    assert row == f"doing|{worker_id}"
    assert worker_rows(database) == [worker_id]
