"""The queue's part of the setup feature's start and stop (PostgreSQL only; nothing with SQLite).

At start: open procrastinate's connector, make the service defer every setup as a job, and, unless
``SETUPWIZARD_RUN_JOBS=false``, run a worker in this process. At stop: the worker takes no new job while
the service ends the running ones (the caller's ``service.close()`` inside the block), then everything
closes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from setupwizard.config import Settings
from setupwizard.core.secretbox import SecretBox
from setupwizard.db.database import Database
from setupwizard.jobs.launcher import JobLauncher
from setupwizard.jobs.queue import build_app, uses_queue
from setupwizard.jobs.stalled import close_dead_jobs
from setupwizard.jobs.task import JobRuntime
from setupwizard.jobs.worker import JobWorker
from setupwizard.setup.service import SetupService


@asynccontextmanager
async def job_queue(
    settings: Settings, db: Database, box: SecretBox, service: SetupService, *, run_jobs: bool | None = None
) -> AsyncIterator[Callable[[], None]]:
    """Setups as jobs for the block's duration (``run_jobs``: this process runs them too; default from
    the settings). Yields what to call first at shutdown, before ``service.close()``: the worker then
    takes no new job."""
    if not uses_queue(settings):
        yield _nothing
        return
    app = build_app(settings)
    await app.open_async()
    if not settings.redis_url:  # one process: what was running died with its previous start
        await close_dead_jobs(app.job_manager, db)
    launcher = JobLauncher(db, box, service.bus, service.arrivals, app.job_manager)
    service.queue = launcher
    worker: JobWorker | None = None
    if settings.run_jobs if run_jobs is None else run_jobs:
        worker = JobWorker(
            app,
            JobRuntime(db, box, service),
            concurrency=settings.worker_concurrency,
            lease_seconds=settings.lease_seconds,
        )
        worker.start()
    try:
        yield worker.stopping if worker is not None else _nothing
    finally:
        await launcher.close()
        if worker is not None:
            await worker.stop()
        service.queue = None
        await app.close_async()


def _nothing() -> None:
    return None
