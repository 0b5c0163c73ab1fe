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
from collections.abc import Callable
from datetime import datetime
from typing import Any

from setupwizard.config import Settings
from setupwizard.testbed.host import TestHost
from tests.integration.fleets.conftest import wait_until
from tests.integration.setup.clients import events, open_progress, read_to_close
from tests.integration.web.live import ProcessServer
from tests.support import REDIS_URL, missing_dependency, redis_namespace

from .conftest import WorkerProcess, psql, queue_settings
from .pg_proxy import PausableProxy

LEASE_SECONDS = 6.0  # fence after 4 s without a heartbeat; stalled (and retried) after 6 s
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


async def test_a_worker_cut_off_from_postgresql_stops_its_setup_before_the_retry_runs_elsewhere(
    test_host: TestHost, tmp_path: Any
) -> None:
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
                    await asyncio.to_thread(fenced.start)  # alone: it takes the setup
                    owner = await asyncio.to_thread(serve.create_user, "fence-owner", "fence-password-1234")
                    await _cut_off_mid_setup(test_host, serve, owner, fenced, other, proxy, sql)
                finally:
                    proxy.resume()
                    for process in (fenced, other):
                        await asyncio.to_thread(process.stop)
                    await asyncio.to_thread(serve.stop)
    finally:
        await asyncio.to_thread(psql, "test", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def _cut_off_mid_setup(
    host: TestHost,
    serve: ProcessServer,
    owner: Any,
    fenced: WorkerProcess,
    other: WorkerProcess,
    proxy: PausableProxy,
    sql: Callable[[str], str],
) -> None:
    tag = secrets.token_hex(4)
    canary = f"Canary-{secrets.token_hex(6)}"
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
    async with serve.async_client(owner) as client:
        answer = await client.post("/api/setup/auto-setup", json=body, timeout=300)
    assert answer.status_code in (200, 202), answer.text
    await asyncio.to_thread(wait_until, lambda: len(marker_lines(host, tag)) >= 3, 600)
    watcher = await open_progress(serve, owner, session_id, since=0)
    await asyncio.to_thread(other.start)  # started now, so the setup is the cut-off worker's
    proxy.pause()  # the cut-off worker keeps running, its PostgreSQL connections stay open and silent

    def retried() -> str:
        row = sql(
            "SELECT status, coalesce(result->>'retried_as', '') FROM setup_sessions "
            f"WHERE id = '{session_id}'"
        )
        status, retry = row.split("|")
        return retry if status == "interrupted" and retry else ""

    retry_id = await asyncio.to_thread(wait_until, retried, 600)
    host.run_root(f"rm -f /tmp/fence-{tag}.hold")  # the retry may end now

    def retry_ended() -> str:
        status = sql(f"SELECT status FROM setup_sessions WHERE id = '{retry_id}'")
        return status if status != "running" else ""

    assert await asyncio.to_thread(wait_until, retry_ended, 600) == "succeeded"
    seen = events((await read_to_close(watcher))[0])

    # (a) the original run stopped touching the host before its retry existed, let alone ran there
    lines = marker_lines(host, tag)
    runs = list(dict.fromkeys(run for run, _, _ in lines))
    assert len(runs) == 2, runs
    original, retry = runs
    firsts = [i for i, (run, _, _) in enumerate(lines) if run == retry]
    assert all(run == original for run, _, _ in lines[: firsts[0]]), "the two runs overlapped on the host"
    assert all(run == retry for run, _, _ in lines[firsts[0] :]), "the original touched the host again"
    stopped_at = max(at for run, _, at in lines if run == original)
    assert (original, "end") not in {(run, tick) for run, tick, _ in lines}, "the original was not stopped"
    retry_created = datetime.fromisoformat(
        sql(f"SELECT created_at FROM setup_sessions WHERE id = '{retry_id}'")
    )
    assert stopped_at < retry_created.timestamp(), "the original still ran when its retry was queued"
    fenced_log = fenced.log_path.read_text(errors="replace")
    assert "fencing 1 running setup" in fenced_log
    # (b) the retry ran on the other worker, in full
    assert f"of session {retry_id} runs on worker" in other.log_tail()
    ticks = [tick for run, tick, _ in lines if run == retry]
    assert ticks[-1] == "end" and ticks[:-1] == [str(n) for n in range(1, len(ticks))], ticks

    # the cut-off worker's PostgreSQL comes back: it finds its job taken over and writes nothing more
    proxy.resume()
    taken = "was taken over by the stalled-job pass"
    await asyncio.to_thread(wait_until, lambda: taken in fenced.log_path.read_text(errors="replace"), 600)
    await asyncio.to_thread(wait_until, lambda: sql("SELECT count(*) FROM setup_job_secrets") == "0", 600)

    # (c) one final outcome per session, the retry named, every line shown live stored as shown
    for sid, status in ((session_id, "interrupted"), (retry_id, "succeeded")):
        assert sql(f"SELECT status FROM setup_sessions WHERE id = '{sid}'") == status
        completes = sql(
            f"SELECT count(*) FROM session_events WHERE session_id = '{sid}' AND type = 'complete'"
        )
        assert completes == "1", f"session {sid} ended {completes} times"
        last = sql(f"SELECT type FROM session_events WHERE session_id = '{sid}' ORDER BY seq DESC LIMIT 1")
        assert last == "complete", f"a line of {sid} was stored after its end"
    assert seen[-1]["type"] == "complete" and seen[-1]["data"]["retried_as"] == retry_id, seen[-1]
    replay = await open_progress(serve, owner, session_id, since=0)
    stored = events((await read_to_close(replay))[0])
    assert stored == seen, "a line shown live is not stored (or was changed)"
    assert any(f"tick-{tag}" in event["message"] for event in stored)
    jobs = sql(
        "SELECT args->>'session_id', status FROM procrastinate_jobs "
        f"WHERE args->>'session_id' IN ('{session_id}', '{retry_id}') ORDER BY id"
    ).splitlines()
    assert jobs == [f"{session_id}|failed", f"{retry_id}|succeeded"], jobs
    assert fenced.process is not None and fenced.process.poll() is None, "the cut-off worker died"

    # (d) the canary is nowhere: logs, job arguments, events, rows
    everything = sql(
        "SELECT (SELECT coalesce(string_agg(row_to_json(j)::text, ''), '') FROM procrastinate_jobs j) "
        "|| (SELECT coalesce(string_agg(row_to_json(s)::text, ''), '') FROM setup_sessions s) "
        "|| (SELECT coalesce(string_agg(row_to_json(v)::text, ''), '') FROM session_events v)"
    )
    assert canary not in everything
    logs = fenced_log + fenced.log_path.read_text(errors="replace") + other.log_tail() + serve.log_tail()
    assert canary not in logs
    assert canary not in other.log_path.read_text(errors="replace") + serve.log_path.read_text(
        errors="replace"
    )
