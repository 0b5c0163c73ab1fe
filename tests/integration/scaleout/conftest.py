"""Two real ``setupwizard serve`` processes on two loopback ports, sharing the machine's PostgreSQL (a
database of their own, dropped afterwards) and Redis (a key prefix of their own, deleted afterwards).

The lease and the stalled-job check are short (``LEASE_SECONDS``, ``SWEEP_SECONDS``) so a killed worker is
noticed quickly; tests still only poll with generous deadlines and assert no durations. Every process is
stopped in teardown, also when a test fails; a test that kills one calls :meth:`Cluster.ensure_running` first.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from setupwizard.config import Settings
from tests.integration.web.live import ADMIN_PASSWORD, ADMIN_USER, Login, ProcessServer
from tests.support import REDIS_URL, missing_dependency, redis_namespace

LEASE_SECONDS = 6.0  # a worker that misses PostgreSQL for 2/3 of it fences its setups (jobs/fence.py): 1.3 s
# (at 2.0) is a slow moment of a loaded CI machine, not an outage
SWEEP_SECONDS = 0.5
PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-v", "ON_ERROR_STOP=1", "-qc"]


def _psql(sql: str) -> None:
    subprocess.run([*PSQL, sql], check=True, capture_output=True, timeout=60)


@dataclass
class Cluster:
    """The two workers (``a``, ``b``) and a user logged in on both."""

    a: ProcessServer
    b: ProcessServer
    owner: Login | None = None

    def ensure_running(self) -> None:
        """Start whichever worker a previous test killed (same database, Redis prefix and data dir)."""
        for server in (self.a, self.b):
            if server._process is None:
                server.start()

    def stop(self) -> None:
        for server in (self.a, self.b):
            try:
                server.stop()
            except Exception:  # never leave a process behind
                server.kill()


def worker_settings(database_url: str, prefix: str, data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        lease_seconds=LEASE_SECONDS,
        sweep_interval_seconds=SWEEP_SECONDS,
        secret_key="scale-out-test-key-shared-by-both-workers",
        admin_user=ADMIN_USER,
        admin_password=ADMIN_PASSWORD,
        event_flush_seconds=0.2,
        log_level="info",
    )


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    name = f"sw_scaleout_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        await asyncio.to_thread(_psql, f"CREATE DATABASE {name}")
    except (OSError, subprocess.CalledProcessError) as exc:
        missing_dependency("PostgreSQL on 127.0.0.1:5432", f"start it (scripts/ensure-services.sh): {exc}")
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        async with redis_namespace() as prefix:
            root = tmp_path_factory.mktemp("scaleout")
            servers = [
                ProcessServer(worker_settings(url, prefix, root / label), root / f"worker-{label}.log")
                for label in ("a", "b")
            ]
            cluster = Cluster(servers[0], servers[1])
            try:
                await asyncio.to_thread(cluster.ensure_running)
                cluster.owner = await asyncio.to_thread(
                    cluster.a.create_user, "scaleout-owner", "scaleout-password-1234"
                )
                yield cluster
            finally:
                await asyncio.to_thread(cluster.stop)
    finally:
        await asyncio.to_thread(_psql, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def lines_of(frames: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """``(seq, line)`` of every event among frames; a frame carrying several lines (``first_seq`` < ``seq``,
    ``message`` joined by newlines) counts as each of its lines."""
    out: list[tuple[int, str]] = []
    for frame in frames:
        if "seq" not in frame:
            continue
        last = int(frame["seq"])
        first = int(frame.get("first_seq", last))
        texts = str(frame.get("message", "")).split("\n") if last > first else [str(frame.get("message", ""))]
        assert len(texts) == last - first + 1, frame
        out.extend(zip(range(first, last + 1), texts, strict=True))
    return out


RUNNER_DEADLINE = 120.0  # generous: polling, not a speed assertion


def runner_of(cluster: Cluster, session_id: str) -> tuple[ProcessServer, ProcessServer]:
    """(the worker whose job runs the session, the other one): a setup is a job of the queue, taken by
    whichever worker is free, so the tests that kill or avoid its runner look it up in the logs."""
    needle = f"of session {session_id} runs on worker"
    deadline = time.monotonic() + RUNNER_DEADLINE
    while time.monotonic() < deadline:
        for runner, other in ((cluster.a, cluster.b), (cluster.b, cluster.a)):
            if needle in runner.log_path.read_text(errors="replace"):
                return runner, other
        time.sleep(0.05)
    raise AssertionError(f"no worker took the job of session {session_id}")
