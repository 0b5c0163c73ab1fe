"""Faults of the service's own backing stores, in scale-out mode (PostgreSQL + Redis): Redis restarted
empty mid-run, PostgreSQL unavailable for a few seconds mid-run. Both on instances of the suite's own."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from setupwizard.testbed.host import TestHost
from tests.integration.setup.clients import open_progress, read_to_close
from tests.integration.web.live import Login, ProcessServer
from tests.support import missing_dependency

from .backends import OwnPostgres, OwnRedis
from .conftest import fault_settings
from .outcome import Outcome
from .watch import Fault, describe, lines_lost, lines_of, stored_session, watch_setup

LINES = 120


@pytest.fixture(scope="module")
def stores() -> Iterator[tuple[OwnPostgres, OwnRedis]]:
    directory = Path(tempfile.mkdtemp(prefix="sw-faults-"))
    os.chmod(directory, 0o755)  # PostgreSQL runs as its own system user
    postgres, redis = OwnPostgres(directory), OwnRedis(directory)
    try:
        postgres.init()
        redis.start()
    except Exception as exc:
        postgres.destroy()
        redis.kill()
        missing_dependency("an own PostgreSQL cluster and redis-server", str(exc))
    try:
        yield postgres, redis
    finally:
        redis.kill()
        postgres.destroy()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def service(
    stores: tuple[OwnPostgres, OwnRedis], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProcessServer]:
    postgres, redis = stores
    root = tmp_path_factory.mktemp("faults-scaleout")
    settings = fault_settings(
        root / "data",
        database_url=postgres.url,
        redis_url=redis.url,
        secret_key="fault-suite-scale-out-key-0123456789",
        # A worker that cannot reach PostgreSQL for 2/3 of a lease fences itself (jobs/fence.py): the 4 s
        # outage below, plus stopping and starting the cluster and up to a heartbeat interval before it, must
        # stay under that, or the run ends interrupted and is retried by design (jobs/test_fencing.py).
        lease_seconds=20.0,
        sweep_interval_seconds=1.0,
    )
    server = ProcessServer(settings, root / "service.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def body(host: TestHost, tag: str) -> dict[str, Any]:
    script = f"for i in $(seq 1 {LINES}); do echo {tag}-$i; sleep 0.05; done\necho {tag}-done\n"
    return {
        "host": host.address,
        "username": "root",
        "password": host.root.password,
        "packages": [],
        "script": script,
    }


async def run_with(
    service: ProcessServer, owner: Login, host: TestHost, tag: str, fault: Fault
) -> tuple[Any, Any, int, bool]:
    watched = await watch_setup(service, owner, body(host, tag), when=f"{tag}-20", fault=fault)
    first_close = watched.close_code
    if watched.final is None:  # cut off before the end: resume as the page does, from the last seq seen
        seen = [seq for seq, _ in lines_of(watched.frames)]
        ws = await open_progress(service, owner, watched.session_id, since=seen[-1] if seen else 0)
        rest, watched.close_code = await read_to_close(ws)
        watched.frames.extend(rest)
    watched.first_close = first_close
    stored = await stored_session(service, owner, watched.session_id)
    printed = [f"{tag}-{i}" for i in range(1, LINES + 1)]
    lost = lines_lost(watched, stored, printed)
    shown = [line for _, line in lines_of(watched.frames)]
    complete = all(line in shown for line in printed) and watched.final is not None
    return watched, stored, lost, complete


async def test_redis_restarted_empty_mid_run_loses_no_line(
    service: ProcessServer, owner: Login, test_host: TestHost, stores: tuple[OwnPostgres, OwnRedis]
) -> None:
    _, redis = stores

    async def restart_redis() -> None:
        await asyncio.to_thread(redis.kill)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(redis.start)

    watched, stored, lost, complete = await run_with(
        service, owner, test_host, "redis-restart", restart_redis
    )
    first_close = watched.first_close
    ok = stored.status == "succeeded" and lost == 0 and complete and first_close != 1006
    Outcome(
        "backend.01-redis-restart",
        "Redis (scale-out bus and locks) killed mid-run and started again empty a second later",
        "run succeeds; the watching client is kept, or closed with a code and resumes with since; "
        "it gets every line and the end; nothing lost",
        f"{describe(stored, watched)}; first socket closed {first_close}; "
        f"after resume the client had every line and the end: {complete}",
        lost,
        0,
        ok,
    ).write()
    assert stored.status == "succeeded", stored.message
    assert lost == 0 and complete
    # BUG (live/socket.py): a Redis error in the relay is taken for the client leaving
    # ("the client left (network:ConnectionError)") and the socket is dropped without a close frame.
    assert first_close != 1006, "the progress socket was dropped without a close frame"


async def test_postgresql_unavailable_for_seconds_mid_run_loses_no_line(
    service: ProcessServer, owner: Login, test_host: TestHost, stores: tuple[OwnPostgres, OwnRedis]
) -> None:
    postgres, _ = stores

    async def pause_postgres() -> None:
        await asyncio.to_thread(postgres.stop)
        await asyncio.sleep(4.0)
        await asyncio.to_thread(postgres.start)

    watched, stored, lost, complete = await run_with(service, owner, test_host, "pg-pause", pause_postgres)
    ok = stored.status == "succeeded" and lost == 0 and complete
    Outcome(
        "backend.02-postgres-unavailable",
        "PostgreSQL stopped for 4 s mid-run, then started again",
        "run succeeds; every line stored once the database is back; nothing lost",
        f"{describe(stored, watched)}; client saw every line and the end: {complete}",
        lost,
        0,
        ok,
    ).write()
    assert stored.status == "succeeded", stored.message
    assert lost == 0 and complete
