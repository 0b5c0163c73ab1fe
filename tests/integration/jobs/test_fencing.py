"""Self-fencing on real processes: a ``setupwizard worker`` that reaches PostgreSQL through a loopback proxy
is cut off mid-setup (the proxy stops forwarding; the worker keeps running). Its setup stops on the host
before the other worker retries it, the retry succeeds there, the session history stays single and
consistent once the cut-off worker's PostgreSQL comes back, and no credential reaches a log or a row."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from setupwizard.config import Settings
from setupwizard.testbed.host import TestHost
from tests.integration.fleets.conftest import wait_until
from tests.integration.setup.clients import events, open_progress, read_to_close
from tests.integration.web.live import Login, ProcessServer
from tests.support import REDIS_URL, missing_dependency, redis_namespace

from .conftest import WorkerProcess, psql, queue_settings
from .pg_proxy import PausableProxy

LEASE_SECONDS = 12.0  # fence after 8 s without a heartbeat (one every 2 s); stalled (and retried) after 12 s
TICKS = 20
MAX_TICKS = 4800  # the hold file is removed long before (20 minutes): a bound, not an expectation


def marker_script(tag: str) -> str:
    """Appends ``<run id> <n> <host time>`` to a file on the host every 0.25 s (which run touched the
    server, and in what order), while the test's hold file exists and at least ``TICKS`` times, then
    ``<run id> end <host time>``."""
    marker = f"/tmp/fence-{tag}"
    return (
        "run=$(cat /proc/sys/kernel/random/uuid)\n"
        "i=0\n"
        f"while [ $i -lt {TICKS} ] || [ -e {marker}.hold ]; do\n"
        "  i=$((i+1))\n"
        f'  echo "$run $i $(date +%s.%N)" >> {marker}\n'
        f'  echo "tick-{tag} $i"\n'
        "  sleep 0.25\n"
        f"  [ $i -ge {MAX_TICKS} ] && break\n"
        "done\n"
        f'echo "$run end $(date +%s.%N)" >> {marker}\n'
        f"echo done-{tag}\n"
    )


def marker_lines(host: TestHost, tag: str) -> list[tuple[str, str, float]]:
    done = host.run_root(f"cat /tmp/fence-{tag} 2>/dev/null || true")
    rows = []
    for line in done.stdout.splitlines():
        run, tick, at = line.split()
        rows.append((run, tick, float(at)))
    return rows


@dataclass
class FenceCluster:
    """``serve`` and a second worker on PostgreSQL directly; the worker under test through the proxy."""

    serve: ProcessServer
    fenced: WorkerProcess
    other: WorkerProcess
    proxy: PausableProxy
    owner: Login
    sql: Callable[[str], str]


@asynccontextmanager
async def fence_cluster(tmp_path: Path) -> AsyncIterator[FenceCluster]:
    """Started: ``serve`` and the worker behind the proxy (alone, so it takes the next setup)."""
    name = f"sw_fence_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        await asyncio.to_thread(psql, "test", f"CREATE DATABASE {name}")
    except (OSError, subprocess.CalledProcessError) as exc:
        missing_dependency("PostgreSQL on 127.0.0.1:5432", f"start it (scripts/ensure-services.sh): {exc}")
    assert REDIS_URL
    direct = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"

    def sql(statement: str) -> str:
        return psql(name, statement).strip()

    def settings(url: str, where: str, run_jobs: bool) -> Settings:
        made = queue_settings(url, prefix, tmp_path / where, run_jobs=run_jobs)
        update = {"lease_seconds": LEASE_SECONDS, "sweep_interval_seconds": 1.0, "worker_concurrency": 2}
        return made.model_copy(update=update)

    try:
        async with redis_namespace() as prefix:
            with PausableProxy() as proxy:
                cut = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/{name}"
                serve = ProcessServer(settings(direct, "serve", False), tmp_path / "serve.log")
                fenced = WorkerProcess(settings(cut, "fenced", True), tmp_path / "fenced.log")
                other = WorkerProcess(settings(direct, "other", True), tmp_path / "other.log")
                try:
                    await asyncio.to_thread(serve.start)
                    await asyncio.to_thread(fenced.start)
                    owner = await asyncio.to_thread(serve.create_user, "fence-owner", "fence-password-1234")
                    yield FenceCluster(serve, fenced, other, proxy, owner, sql)
                finally:
                    proxy.resume()
                    for process in (fenced, other):
                        await asyncio.to_thread(process.stop)
                    await asyncio.to_thread(serve.stop)
    finally:
        await asyncio.to_thread(psql, "test", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def post_marker_setup(cluster: FenceCluster, host: TestHost, tag: str, canary: str) -> str:
    """Queue the marker script on ``host`` (held running) and wait until it runs there; its session id."""
    session_id = str(uuid.uuid4())
    account = host.sudo_nopasswd
    body = {
        "host": host.address,
        "port": host.port,
        "username": account.username,
        "password": account.password,
        "sudo_password": canary,  # sealed with the request (this account's sudo never asks)
        "packages": [],
        "script": marker_script(tag),
        "session_id": session_id,
        "wait": False,
    }
    host.run_root(f"touch /tmp/fence-{tag}.hold")  # the first run goes on until it is stopped
    async with cluster.serve.async_client(cluster.owner) as client:
        answer = await client.post("/api/setup/auto-setup", json=body, timeout=300)
    assert answer.status_code in (200, 202), answer.text
    await asyncio.to_thread(wait_until, lambda: len(marker_lines(host, tag)) >= 3, 600)
    return session_id


def two_runs_in_order(lines: list[tuple[str, str, float]]) -> tuple[str, str]:
    """The original run and its retry as the host saw them: the original's lines all before the retry's
    first (no overlap, nothing after), the original stopped (no ``end``), the retry whole."""
    runs = list(dict.fromkeys(run for run, _, _ in lines))
    assert len(runs) == 2, runs
    original, retry = runs
    first = next(i for i, (run, _, _) in enumerate(lines) if run == retry)
    assert all(run == original for run, _, _ in lines[:first]), "the two runs overlapped on the host"
    assert all(run == retry for run, _, _ in lines[first:]), "the original touched the host again"
    assert (original, "end") not in {(run, tick) for run, tick, _ in lines}, "the original was not stopped"
    ticks = [tick for run, tick, _ in lines if run == retry]
    assert ticks[-1] == "end" and ticks[:-1] == [str(n) for n in range(1, len(ticks))], ticks
    return original, retry


def retried(cluster: FenceCluster, session_id: str) -> str:
    """The session's retry once it ended ``interrupted`` naming one, else ''."""
    row = cluster.sql(
        f"SELECT status, coalesce(result->>'retried_as', '') FROM setup_sessions WHERE id = '{session_id}'"
    )
    status, retry = row.split("|")
    return retry if status == "interrupted" and retry else ""


def ended(cluster: FenceCluster, session_id: str) -> str:
    status = cluster.sql(f"SELECT status FROM setup_sessions WHERE id = '{session_id}'")
    return status if status != "running" else ""


def assert_one_end_each(cluster: FenceCluster, session_id: str, retry_id: str, canary: str) -> None:
    """One final outcome per session, the retry named, the jobs as claimed, no request left, no canary."""
    for sid, status in ((session_id, "interrupted"), (retry_id, "succeeded")):
        assert cluster.sql(f"SELECT status FROM setup_sessions WHERE id = '{sid}'") == status
        completes = cluster.sql(
            f"SELECT count(*) FROM session_events WHERE session_id = '{sid}' AND type = 'complete'"
        )
        assert completes == "1", f"session {sid} ended {completes} times"
        last = cluster.sql(
            f"SELECT type FROM session_events WHERE session_id = '{sid}' ORDER BY seq DESC LIMIT 1"
        )
        assert last == "complete", f"a line of {sid} was stored after its end"
    jobs = cluster.sql(
        "SELECT args->>'session_id', status FROM procrastinate_jobs "
        f"WHERE args->>'session_id' IN ('{session_id}', '{retry_id}') ORDER BY id"
    ).splitlines()
    assert jobs == [f"{session_id}|failed", f"{retry_id}|succeeded"], jobs
    assert cluster.sql("SELECT count(*) FROM setup_job_secrets") == "0", "a sealed request outlived its job"
    assert cluster.fenced.process is not None and cluster.fenced.process.poll() is None, "the worker died"
    everything = cluster.sql(
        "SELECT (SELECT coalesce(string_agg(row_to_json(j)::text, ''), '') FROM procrastinate_jobs j) "
        "|| (SELECT coalesce(string_agg(row_to_json(s)::text, ''), '') FROM setup_sessions s) "
        "|| (SELECT coalesce(string_agg(row_to_json(v)::text, ''), '') FROM session_events v)"
    )
    assert canary not in everything
    logs = [cluster.fenced.log_path, cluster.other.log_path, cluster.serve.log_path]
    assert canary not in "".join(p.read_text(errors="replace") for p in logs if p.exists())


async def test_a_worker_cut_off_from_postgresql_stops_its_setup_before_the_retry_runs_elsewhere(
    test_host: TestHost, tmp_path: Path
) -> None:
    async with fence_cluster(tmp_path) as cluster:
        await _cut_off_mid_setup(test_host, cluster)


async def test_a_worker_whose_postgresql_comes_back_before_the_lease_ends_and_retries_its_fenced_setup(
    test_host: TestHost, tmp_path: Path
) -> None:
    async with fence_cluster(tmp_path) as cluster:  # no other worker: no stalled pass can take the job
        tag = secrets.token_hex(4)
        canary = f"Canary-{secrets.token_hex(6)}"
        session_id = await post_marker_setup(cluster, test_host, tag, canary)
        cluster.proxy.pause()
        fencing = "fencing 1 running setup"
        await asyncio.to_thread(wait_until, lambda: fencing in cluster.fenced.log_path.read_text(), 600)
        cluster.proxy.resume()  # before the lease: the worker's own heartbeat goes on, its job is not stalled
        retry_id = await asyncio.to_thread(wait_until, lambda: retried(cluster, session_id), 600)
        test_host.run_root(f"rm -f /tmp/fence-{tag}.hold")
        assert await asyncio.to_thread(wait_until, lambda: ended(cluster, retry_id), 600) == "succeeded"
        log = cluster.fenced.log_path.read_text(errors="replace")
        # on a slow machine the worker's own stalled pass may still find the job first: either claim is one
        assert "ending and retrying it here" in log or "was taken over by the stalled-job pass" in log
        lines = marker_lines(test_host, tag)
        original, _ = two_runs_in_order(lines)
        created = cluster.sql(f"SELECT created_at FROM setup_sessions WHERE id = '{retry_id}'")
        stopped_at = max(at for run, _, at in lines if run == original)
        assert stopped_at < datetime.fromisoformat(created).timestamp(), "it ran on when its retry was queued"
        assert f"of session {retry_id} runs on worker" in log
        assert_one_end_each(cluster, session_id, retry_id, canary)


async def _cut_off_mid_setup(host: TestHost, cluster: FenceCluster) -> None:
    tag = secrets.token_hex(4)
    canary = f"Canary-{secrets.token_hex(6)}"
    session_id = await post_marker_setup(cluster, host, tag, canary)
    watcher = await open_progress(cluster.serve, cluster.owner, session_id, since=0)
    await asyncio.to_thread(cluster.other.start)  # started now, so the setup is the cut-off worker's
    cluster.proxy.pause()  # the cut-off worker keeps running, its connections stay open and silent
    retry_id = await asyncio.to_thread(wait_until, lambda: retried(cluster, session_id), 600)
    host.run_root(f"rm -f /tmp/fence-{tag}.hold")  # the retry may end now
    assert await asyncio.to_thread(wait_until, lambda: ended(cluster, retry_id), 600) == "succeeded"
    seen = events((await read_to_close(watcher))[0])

    # (a) the original run stopped touching the host before its retry existed, let alone ran there
    lines = marker_lines(host, tag)
    original, _ = two_runs_in_order(lines)
    stopped_at = max(at for run, _, at in lines if run == original)
    created = cluster.sql(f"SELECT created_at FROM setup_sessions WHERE id = '{retry_id}'")
    assert stopped_at < datetime.fromisoformat(created).timestamp(), (
        "the original ran when its retry was queued"
    )
    assert "fencing 1 running setup" in cluster.fenced.log_path.read_text(errors="replace")
    # (b) the retry ran on the other worker, in full
    assert f"of session {retry_id} runs on worker" in cluster.other.log_path.read_text(errors="replace")

    # the cut-off worker's PostgreSQL comes back: it finds its job taken over and writes nothing more
    cluster.proxy.resume()
    taken = "was taken over by the stalled-job pass"
    await asyncio.to_thread(wait_until, lambda: taken in cluster.fenced.log_path.read_text(), 600)

    # (c) one final outcome per session, the retry named, every line shown live stored as shown; (d) canary
    assert seen[-1]["type"] == "complete" and seen[-1]["data"]["retried_as"] == retry_id, seen[-1]
    replay = await open_progress(cluster.serve, cluster.owner, session_id, since=0)
    stored = events((await read_to_close(replay))[0])
    assert stored == seen, "a line shown live is not stored (or was changed)"
    assert any(f"tick-{tag}" in event["message"] for event in stored)
    assert_one_end_each(cluster, session_id, retry_id, canary)
