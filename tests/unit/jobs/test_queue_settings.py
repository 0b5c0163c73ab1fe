"""Which configurations use the job queue, and the ones refused before anything starts."""

from __future__ import annotations

from setupwizard.cli.worker import worker_problem
from setupwizard.config import Settings
from setupwizard.jobs.queue import libpq_url, run_jobs_problem, uses_queue
from setupwizard.jobs.stalled import check_cron

PG = "postgresql+asyncpg://sw:secret@db.example:5432/setupwizard"


def test_postgresql_uses_the_queue_and_sqlite_does_not() -> None:
    assert uses_queue(Settings(database_url=PG))
    assert not uses_queue(Settings(database_url=""))


def test_procrastinate_gets_the_same_database_without_the_asyncpg_driver() -> None:
    assert libpq_url(PG) == "postgresql://sw:secret@db.example:5432/setupwizard"


def test_serve_without_jobs_needs_redis_and_a_worker_needs_both() -> None:
    assert run_jobs_problem(Settings(database_url=PG, run_jobs=False)) is not None
    assert run_jobs_problem(Settings(database_url=PG, run_jobs=False, redis_url="redis://r")) is None
    assert run_jobs_problem(Settings(database_url="", run_jobs=False)) is None  # SQLite has no queue
    assert worker_problem(Settings(database_url=PG)) is not None
    assert worker_problem(Settings(database_url="", redis_url="redis://r")) is not None
    assert worker_problem(Settings(database_url=PG, redis_url="redis://r")) is None


def test_the_stalled_job_check_runs_every_sweep_interval_in_whole_seconds() -> None:
    assert check_cron(Settings(sweep_interval_seconds=10)) == "*/10 * * * * *"
    assert check_cron(Settings(sweep_interval_seconds=0.5)) == "*/1 * * * * *"
