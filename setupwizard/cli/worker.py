"""``setupwizard worker``: a process that only runs setup jobs (PostgreSQL and Redis; docs/deploy.md).

Any number of them, on any machine that reaches PostgreSQL, Redis and the servers. It is the service's
own start and stop without the HTTP listener: the same database migration, secret key, progress bus,
setup service and job worker as ``setupwizard serve`` (whose worker ``SETUPWIZARD_RUN_JOBS=false`` turns
off). SIGTERM or SIGINT stops it: it takes no new job, ends its running setups ``interrupted``, and exits.
"""

from __future__ import annotations

import asyncio
import signal

import typer

from setupwizard.cli.root import app
from setupwizard.config import Settings, get_settings


def worker_problem(settings: Settings) -> str | None:
    """Why this configuration cannot run a separate worker, or None."""
    from setupwizard.jobs.queue import uses_queue

    if not uses_queue(settings) or not settings.redis_url:
        return (
            "setupwizard worker needs PostgreSQL (SETUPWIZARD_DATABASE_URL) and Redis "
            "(SETUPWIZARD_REDIS_URL): its setups' lines reach the service through Redis. With SQLite, "
            "`setupwizard serve` runs every setup itself."
        )
    return None


async def _run(settings: Settings) -> None:
    from setupwizard.app import create_app

    service = create_app(settings.model_copy(update={"run_jobs": True, "metrics_address": ""}))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    async with service.router.lifespan_context(service):
        await stop.wait()


@app.command()
def worker() -> None:
    """Run setup jobs only (no web service): PostgreSQL and Redis; any number of workers."""
    settings = get_settings()
    problem = worker_problem(settings)
    if problem:
        typer.echo(problem, err=True)
        raise typer.Exit(2)
    asyncio.run(_run(settings))
