"""PostgreSQL mode with the queue on real processes: one ``setupwizard serve`` that runs no job
(``SETUPWIZARD_RUN_JOBS=false``) and one ``setupwizard worker`` that runs them, sharing a PostgreSQL
database of their own (dropped afterwards) and a Redis prefix of their own (deleted afterwards)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from procrastinate import App

from setupwizard.config import Settings
from setupwizard.jobs.queue import build_app
from tests.integration.web.live import ADMIN_PASSWORD, ADMIN_USER, Login, ProcessServer, settings_env
from tests.support import REDIS_URL, missing_dependency, redis_namespace

PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qAt"]
READY_LINE = "takes setups"
START_DEADLINE = 120.0  # generous: polling for readiness, not a speed assertion


def psql(database: str, sql: str) -> str:
    """Run ``sql`` on ``database``; its rows as psql's unaligned text."""
    done = subprocess.run([*PSQL, "-d", database, "-c", sql], check=True, capture_output=True, timeout=60)
    return done.stdout.decode()


class WorkerProcess:
    """``setupwizard worker`` in a child process; ``kill()`` is a crash (SIGKILL)."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SETUPWIZARD_")}
        env.update(settings_env(self.settings))
        code = "from setupwizard.cli import main; main()"
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_DEADLINE
        while READY_LINE not in self.log_path.read_text(errors="replace")[offset:]:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self) -> int | None:
        """SIGTERM, then wait; the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        code = self.process.returncode
        self.process = None
        return code

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process = None


@dataclass
class QueueCluster:
    """The API process, the worker, the database's name and a user logged in."""

    serve: ProcessServer
    worker: WorkerProcess
    database: str
    owner: Login | None = None

    def sql(self, statement: str) -> str:
        return psql(self.database, statement)


def queue_settings(database_url: str, prefix: str, data_dir: Path, *, run_jobs: bool) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        run_jobs=run_jobs,
        worker_concurrency=4,
        secret_key="queue-test-key-shared-by-serve-and-worker",
        admin_user=ADMIN_USER,
        admin_password=ADMIN_PASSWORD,
        event_flush_seconds=0.2,
        log_level="info",
    )


@pytest.fixture(scope="module")
async def queue_cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[QueueCluster]:
    name = f"sw_queue_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        await asyncio.to_thread(psql, "test", f"CREATE DATABASE {name}")
    except (OSError, subprocess.CalledProcessError) as exc:
        missing_dependency("PostgreSQL on 127.0.0.1:5432", f"start it (scripts/ensure-services.sh): {exc}")
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        async with redis_namespace() as prefix:
            root = tmp_path_factory.mktemp("queue")
            serve = ProcessServer(
                queue_settings(url, prefix, root / "serve", run_jobs=False), root / "serve.log"
            )
            worker = WorkerProcess(
                queue_settings(url, prefix, root / "worker", run_jobs=True), root / "worker.log"
            )
            cluster = QueueCluster(serve, worker, name)
            try:
                await asyncio.to_thread(serve.start)
                await asyncio.to_thread(worker.start)
                cluster.owner = await asyncio.to_thread(
                    serve.create_user, "queue-owner", "queue-password-1234"
                )
                yield cluster
            finally:
                await asyncio.to_thread(worker.stop)
                await asyncio.to_thread(serve.stop)
    finally:
        await asyncio.to_thread(psql, "test", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def queue_app(tmp_path: Path) -> AsyncIterator[tuple[App, str]]:
    """Our procrastinate app (``build_app``) opened on a PostgreSQL database of its own with procrastinate's
    schema, and the database's name; the database is dropped afterwards."""
    name = f"sw_queue_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        await asyncio.to_thread(psql, "test", f"CREATE DATABASE {name}")
    except (OSError, subprocess.CalledProcessError) as exc:
        missing_dependency("PostgreSQL on 127.0.0.1:5432", f"start it (scripts/ensure-services.sh): {exc}")
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
        job_retention_hours=2,
    )
    app = build_app(settings)
    try:
        await app.open_async()
        await app.schema_manager.apply_schema_async()
        yield app, name
    finally:
        await app.close_async()
        await asyncio.to_thread(psql, "test", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
