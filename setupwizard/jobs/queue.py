"""The procrastinate app of one process: its psycopg connector on our database, and the setup task.

Whether a configuration uses the queue: PostgreSQL (``SETUPWIZARD_DATABASE_URL``) does, every setup is a
job; SQLite (the embedded default) does not, its setups run as tasks of the serve process.
"""

from __future__ import annotations

from procrastinate import App, PsycopgConnector
from sqlalchemy.engine import make_url

from setupwizard.config import Settings
from setupwizard.fleets.host_job import run_fleet_host
from setupwizard.jobs.repository import FLEET_TASK, QUEUE, TASK
from setupwizard.jobs.stalled import STALLED_TASK, UPKEEP_QUEUE, check_cron, end_stalled_setups
from setupwizard.jobs.task import run_setup_job

POOL_MAX_SIZE = 10
"""Connections of the queue's pool: the worker's listener, fetches, heartbeats, finishing jobs."""


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
    app.task(name=TASK, queue=QUEUE, pass_context=True)(run_setup_job)
    app.task(name=FLEET_TASK, queue=QUEUE, pass_context=True)(run_fleet_host)
    upkeep = app.task(name=STALLED_TASK, queue=UPKEEP_QUEUE, pass_context=True)(end_stalled_setups)
    app.periodic(cron=check_cron(settings), periodic_id="stalled")(upkeep)
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
