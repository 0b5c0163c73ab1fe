"""``setupwizard serve``: run the web service, in one process or several workers."""

from __future__ import annotations

import gc

import typer
from fastapi import FastAPI

from setupwizard.cli.root import app
from setupwizard.config import get_settings
from setupwizard.core.log_format import uvicorn_log_config
from setupwizard.metrics.listener import metrics_address_problem
from setupwizard.setup.worker_guard import (
    DataDirLock,
    SecondWorkerError,
    several_workers_problem,
    sqlite_lock_path,
)


def app_from_environment() -> FastAPI:
    """The app built from the environment's settings (uvicorn's factory in each worker process)."""
    from setupwizard.app import create_app

    built = create_app(get_settings())
    calm_garbage_collector()
    return built


def calm_garbage_collector() -> None:
    """Keep the cyclic GC's full collections short: they stop the event loop, every session's lines too.

    Everything loaded so far (modules, classes, the app: ~150,000 objects) is moved out of the
    collector's sight (``gc.freeze``); a full collection scanned it each time and took 80-150 ms on this
    machine under a flood (measured with ``gc.callbacks``, issue E bench 2). Young collections run less
    often too. Process-wide, so it is done here, in the server process, not in the app.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(5_000, 5, 50)


@app.command()
def serve(
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        help="Worker processes. More than one needs PostgreSQL and Redis (SETUPWIZARD_DATABASE_URL, "
        "SETUPWIZARD_REDIS_URL).",
    ),
) -> None:
    """Start the web service (http://127.0.0.1:8000 by default)."""
    import uvicorn

    from setupwizard.core.serving import server_options

    settings = get_settings()
    problem = several_workers_problem(settings, workers) or metrics_address_problem(settings, workers)
    if problem:
        typer.echo(problem, err=True)
        raise typer.Exit(2)
    lock_path = sqlite_lock_path(settings)
    if lock_path is not None:  # say it plainly before uvicorn starts (the app's lifespan holds the lock)
        probe = DataDirLock(lock_path)
        try:
            probe.acquire()
        except SecondWorkerError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        probe.release()
    options = {"host": settings.host, "port": settings.port, "log_level": settings.log_level}
    options.update(server_options(settings))  # hardening: trusted proxies only, wsproto
    options["log_config"] = uvicorn_log_config(settings.log_format)  # JSON from the first line on
    if workers == 1:
        uvicorn.run(app_from_environment(), **options)  # type: ignore[arg-type]
    else:
        uvicorn.run("setupwizard.cli.serve:app_from_environment", factory=True, workers=workers, **options)  # type: ignore[arg-type]
