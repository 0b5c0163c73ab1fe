"""The procrastinate app of one process: its psycopg connector on our database, and the setup task.

Also the queue's upkeep, two periodic tasks of any live worker: the stalled-job pass (``jobs/stalled.py``)
and the hourly prune of finished jobs older than ``SETUPWIZARD_JOB_RETENTION_HOURS``.

Whether a configuration uses the queue: PostgreSQL (``SETUPWIZARD_DATABASE_URL``) does, every setup is a
job; SQLite (the embedded default) does not, its setups run as tasks of the serve process.
"""

from __future__ import annotations

from procrastinate import App, JobContext, PsycopgConnector
from procrastinate.types import JSONValue
from sqlalchemy.engine import make_url

from setupwizard.config import Settings
from setupwizard.fleets.host_job import run_fleet_host
from setupwizard.jobs.fence import HeartbeatJobManager
from setupwizard.jobs.repository import FLEET_TASK, QUEUE, TASK
from setupwizard.jobs.stalled import STALLED_TASK, UPKEEP_QUEUE, check_cron, end_stalled_setups
from setupwizard.jobs.task import run_setup_job

PRUNE_TASK = "setupwizard.remove_finished_jobs"
PRUNE_CRON = "41 * * * *"
"""Finished jobs are pruned once an hour (at a minute no other hourly chore is likely to pick)."""

POOL_MAX_SIZE = 10
"""Connections of the queue's pool: the worker's listener, fetches, heartbeats, finishing jobs."""


async def remove_finished_jobs(context: JobContext, timestamp: int, max_hours: int) -> None:
    """The periodic prune: delete the jobs (and their procrastinate events) that ended more than
    ``max_hours`` ago, whatever their end. procrastinate's builtin ``remove_old_jobs`` does the same with
    the same ``delete_old_jobs``, but cannot be periodic (a periodic task also gets ``timestamp``)."""
    await context.app.job_manager.delete_old_jobs(
        nb_hours=max_hours, include_failed=True, include_cancelled=True, include_aborted=True
    )


def uses_queue(settings: Settings) -> bool:
    """Whether setups are jobs of the queue (the database is PostgreSQL)."""
    return make_url(settings.effective_database_url).get_backend_name() == "postgresql"


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+asyncpg://…``) as libpq takes it (``postgresql://…``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def build_app(settings: Settings) -> App:
    """The procrastinate app on the configured PostgreSQL, with the setup task registered (not opened)."""
    connector = PsycopgConnector(
        conninfo=libpq_url(settings.effective_database_url), min_size=1, max_size=POOL_MAX_SIZE
    )
    app = App(connector=connector)
    app.job_manager = HeartbeatJobManager(connector)  # the fence watches its heartbeats (jobs/fence.py)
    app.task(name=TASK, queue=QUEUE, pass_context=True)(run_setup_job)
    app.task(name=FLEET_TASK, queue=QUEUE, pass_context=True)(run_fleet_host)
    upkeep = app.task(name=STALLED_TASK, queue=UPKEEP_QUEUE, pass_context=True)(end_stalled_setups)
    app.periodic(cron=check_cron(settings), periodic_id="stalled")(upkeep)
    prune = app.task(name=PRUNE_TASK, queue=UPKEEP_QUEUE, pass_context=True)(remove_finished_jobs)
    retention: dict[str, JSONValue] = {"max_hours": settings.job_retention_hours}
    app.periodic(cron=PRUNE_CRON, periodic_id="prune", task_kwargs=retention)(prune)
    return app


def run_jobs_problem(settings: Settings) -> str | None:
    """Why ``serve`` with these settings would leave every setup waiting forever, or None: PostgreSQL
    without Redis is one process (no ``setupwizard worker`` can join it), so it must run the jobs itself."""
    if uses_queue(settings) and not settings.redis_url and not settings.run_jobs:
        return (
            "SETUPWIZARD_RUN_JOBS=false needs SETUPWIZARD_REDIS_URL: without Redis no `setupwizard worker` "
            "can run this service's setups, so they would wait forever. Set both, or leave RUN_JOBS true."
        )
    return None
