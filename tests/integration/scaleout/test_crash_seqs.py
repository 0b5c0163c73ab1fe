"""Redis mode: a seq shown live is never reused when a survivor ends a killed worker's session (its stalled
job), even when Redis lost the session's stream.

Both workers store events a minute after they show them (``event_flush_seconds``), so when the one running
the job is killed with SIGKILL the lines a client saw are on the bus only; the stream is then deleted, as a
Redis restarted without persistence would. The survivor must number the final event above every seq the
client saw, so the client that watched and one resuming with ``?since=<last seen>`` both get it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from setupwizard.testbed.host import TestHost
from tests.integration.setup.clients import frames, open_progress, read_to_close, seqs
from tests.integration.web.live import ProcessServer
from tests.support import REDIS_URL, missing_dependency, redis_namespace

from .conftest import Cluster, _psql, runner_of, worker_settings
from .test_two_workers import post_setup, session_detail, wait_for_status

SLOW_FLUSH_SECONDS = 60.0


@pytest.fixture(scope="module")
async def slow_cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Cluster, str]]:
    """Both workers store events only every minute. Yields the cluster and its prefix."""
    name = f"sw_seqs_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        await asyncio.to_thread(_psql, f"CREATE DATABASE {name}")
    except (OSError, subprocess.CalledProcessError) as exc:
        missing_dependency("PostgreSQL on 127.0.0.1:5432", f"start it (scripts/ensure-services.sh): {exc}")
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        async with redis_namespace() as prefix:
            root = tmp_path_factory.mktemp("seqs")
            slow = worker_settings(url, prefix, root / "a").model_copy(
                update={"event_flush_seconds": SLOW_FLUSH_SECONDS}
            )
            cluster = Cluster(
                ProcessServer(slow, root / "worker-a.log"),
                ProcessServer(slow.model_copy(update={"data_dir": root / "b"}), root / "worker-b.log"),
            )
            try:
                await asyncio.to_thread(cluster.ensure_running)
                cluster.owner = await asyncio.to_thread(
                    cluster.a.create_user, "seqs-owner", "seqs-password-1234"
                )
                yield cluster, prefix
            finally:
                await asyncio.to_thread(cluster.stop)
    finally:
        await asyncio.to_thread(_psql, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_the_survivor_numbers_the_final_event_above_what_was_shown_even_when_redis_lost_the_stream(
    slow_cluster: tuple[Cluster, str], test_host: TestHost
) -> None:
    cluster, prefix = slow_cluster
    assert cluster.owner is not None
    line = f"shown-not-stored-{secrets.token_hex(4)}"
    session_id = str(uuid.uuid4())
    script = "".join(f"echo early-{n}\n" for n in range(30)) + f"echo {line}\nsleep 119\n"
    await post_setup(cluster.a, cluster.owner, test_host, script, session_id)
    runner, survivor = await asyncio.to_thread(runner_of, cluster, session_id)
    ws = await open_progress(survivor, cluster.owner, session_id)  # replays from the first line
    seen: list[dict[str, Any]] = []
    async for frame in frames(ws):
        seen.append(frame)
        if line in frame.get("message", ""):
            break
    last_seen = seqs(seen)[-1]
    assert (await session_detail(survivor, cluster.owner, session_id))["last_seq"] < last_seen

    await asyncio.to_thread(runner.kill)  # SIGKILL: its unstored lines live on the bus only
    redis = Redis.from_url(REDIS_URL)
    try:
        assert await redis.delete(f"{prefix}events:{session_id}") == 1  # as a Redis restarted empty
    finally:
        await redis.aclose()

    rest, code = await read_to_close(ws)  # the survivor finds the stalled job and ends the session
    assert code == 1000
    assert rest, "the watching client got no end: the final event reused a seq it had already seen"
    assert rest[-1]["type"] == "complete" and rest[-1]["seq"] > last_seen
    detail = await wait_for_status(survivor, cluster.owner, session_id, "interrupted")
    assert detail["status"] == "interrupted"
    resumed, code = await read_to_close(
        await open_progress(survivor, cluster.owner, session_id, since=last_seen)
    )
    assert code == 1000
    assert resumed and resumed[-1]["type"] == "complete" and resumed[-1]["seq"] > last_seen
    retry_id = rest[-1]["data"]["retried_as"]  # retried once: stop it, it would sleep two minutes
    async with survivor.async_client(cluster.owner) as client:
        assert (await client.post(f"/api/setup/sessions/{retry_id}/cancel")).status_code == 202
    retried = await wait_for_status(survivor, cluster.owner, retry_id, "cancelled")
    assert retried["status"] == "cancelled"
