"""``setupwizard serve``: run the web service, in one process or several workers."""

from __future__ import annotations

import asyncio
import gc

import typer
from fastapi import FastAPI

from setupwizard.cli.root import app
from setupwizard.config import Settings, get_settings
from setupwizard.core.log_format import uvicorn_log_config
from setupwizard.core.secretbox import KEY_FILE_NAME, SecretKeyFileError, secretbox_from_settings
from setupwizard.db.database import Database, DatabaseNotWritableError
from setupwizard.db.faults import HANDLED_ERRORS, describe, is_database_fault
from setupwizard.db.worker_guard import (
    DataDirLock,
    SecondWorkerError,
    several_workers_problem,
    sqlite_lock_path,
)
from setupwizard.metrics.listener import metrics_address_problem


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
    machine under a flood (measured with ``gc.callbacks`` in ``bench/latency.py``). Young collections run
    less often too. Process-wide, so it is done here, in the server process, not in the app.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(5_000, 5, 50)


def first_start_problem(settings: Settings) -> str | None:
    """What stops the start before the app runs (a full disk, a read-only data directory or database), as
    one line naming the file and the cause, or None. The app's own start does the same steps again; they
    only fail there with a traceback that says less, so an operator reads the cause here."""
    key_file = settings.data_dir / KEY_FILE_NAME
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        secretbox_from_settings(settings)
    except OSError as exc:
        return f"Cannot start: writing {exc.filename or key_file} failed ({exc.strerror})."
    except SecretKeyFileError as exc:  # a key file others can read, or not a key: its message says the fix
        return f"Cannot start: {exc}"
    db = Database(settings)

    async def open_database() -> None:
        try:
            db.check_file_writable()
            await db.migrate()
            await db.probe_write()
        finally:
            await db.dispose()

    try:
        asyncio.run(open_database())
    except DatabaseNotWritableError as exc:
        return f"Cannot start: {exc}"
    except OSError as exc:
        return f"Cannot start: writing {exc.filename or db.describe()} failed ({exc.strerror})."
    except HANDLED_ERRORS as exc:
        if not is_database_fault(exc):
            raise
        return f"Cannot start: the database {db.describe()} cannot be written ({describe(exc)})."
    return None


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

    from setupwizard.web.serving import server_options

    settings = get_settings()
    from setupwizard.jobs.queue import run_jobs_problem

    problem = (
        several_workers_problem(settings, workers)
        or metrics_address_problem(settings, workers)
        or run_jobs_problem(settings)
    )
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
        except OSError as exc:  # a full disk or a read-only data dir: one line, not a traceback
            probe.release()
            where = exc.filename or lock_path
            typer.echo(f"Cannot start: writing {where} failed ({exc.strerror}).", err=True)
            raise typer.Exit(2) from None
        problem = first_start_problem(settings)
        probe.release()
        if problem:
            typer.echo(problem, err=True)
            raise typer.Exit(2)
    options = {"host": settings.host, "port": settings.port, "log_level": settings.log_level}
    options.update(server_options(settings))  # hardening: trusted proxies only, wsproto
    options["log_config"] = uvicorn_log_config(settings.log_format)  # JSON from the first line on
    if workers == 1:
        uvicorn.run(app_from_environment(), **options)  # type: ignore[arg-type]
    else:
        uvicorn.run("setupwizard.cli.serve:app_from_environment", factory=True, workers=workers, **options)  # type: ignore[arg-type]
