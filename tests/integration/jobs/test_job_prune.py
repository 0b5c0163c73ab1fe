"""The hourly prune of finished queue jobs, on a real PostgreSQL with procrastinate's own schema: jobs that
ended longer ago than ``SETUPWIZARD_JOB_RETENTION_HOURS`` go, whatever their end; recent and unfinished
ones stay."""

from __future__ import annotations

from pathlib import Path

from procrastinate import App, JobContext
from procrastinate.jobs import Status

from setupwizard.config import Settings
from setupwizard.jobs.queue import PRUNE_TASK, build_app, remove_finished_jobs
from setupwizard.jobs.repository import TASK

from .conftest import psql


def test_the_prune_is_a_periodic_upkeep_task_with_the_configured_retention(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/x",
        job_retention_hours=5,
    )
    app = build_app(settings)
    periodic = app.periodic_registry.periodic_tasks[(PRUNE_TASK, "prune")]
    assert periodic.configure_kwargs.get("task_kwargs") == {"max_hours": 5}
    assert app.tasks[PRUNE_TASK].queue == "setups-upkeep"  # the queue every worker listens to


async def test_finished_jobs_older_than_the_retention_are_deleted_and_the_rest_stay(
    queue_app: tuple[App, str],
) -> None:
    app, database = queue_app
    manager = app.job_manager
    deferrer = app.configure_task(name=TASK)
    ids = {}
    for label in ("old_succeeded", "old_failed", "old_aborted", "recent_succeeded", "old_todo"):
        ids[label] = await deferrer.defer_async(session_id=label)
    for label, status in (
        ("old_succeeded", Status.SUCCEEDED),
        ("old_failed", Status.FAILED),
        ("old_aborted", Status.ABORTED),
        ("recent_succeeded", Status.SUCCEEDED),
    ):
        await manager.finish_job_by_id_async(ids[label], status=status, delete_job=False)
    old = ",".join(str(ids[label]) for label in ids if label.startswith("old_"))
    psql(database, f"UPDATE procrastinate_events SET at = now() - interval '3 hours' WHERE job_id IN ({old})")
    job = next(iter(await manager.list_jobs_async(id=ids["old_todo"])))
    context = JobContext(app=app, job=job, start_timestamp=0.0, abort_reason=lambda: None)

    await remove_finished_jobs(context, timestamp=0, max_hours=2)

    left = psql(database, "SELECT args->>'session_id' FROM procrastinate_jobs ORDER BY id").split()
    assert left == ["recent_succeeded", "old_todo"]
