"""PostgreSQL mode on real processes: a fleet posted to ``serve`` (``SETUPWIZARD_RUN_JOBS=false``) runs as
jobs of the queue on two ``setupwizard worker`` processes. Every host succeeds; ``parallel`` holds across
the workers (measured from the session rows' times); no credential reaches a row; ``stop_after_failures``
skips without connecting; a cancel through ``serve`` stops the running hosts on both workers and the queued
ones never start; a killed worker's hosts are rerun on the survivor, and the fleet is still told once."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
import pytest

from setupwizard.testbed.host import TestHost
from setupwizard.testbed.testbed import Testbed
from tests.integration.jobs.conftest import WorkerProcess, psql, queue_settings
from tests.integration.setup.clients import events, open_progress, read_to_close
from tests.integration.web.live import Login, ProcessServer
from tests.support import REDIS_URL, missing_dependency, redis_namespace

from ..notify.receivers import RECEIVERS_ALLOWED, webhook
from .conftest import LIGHT_PLAN, target, wait_fleet, wait_until
from .test_fleet_notify import SETTLE_SECONDS
from .test_fleet_parallel import most_at_once

HOSTS = 20
PARALLEL = 4
WORKER_CONCURRENCY = 2  # two workers x 2: the fleet's 4 lanes can run on both at once
LEASE_SECONDS = 6.0  # a killed worker's jobs are stalled after this (a live one beats every second)
RAN = re.compile(r"Fleet (\S+) host (\d+) \(session (\S+)\) runs on worker")


@dataclass
class FleetCluster:
    serve: ProcessServer
    workers: list[WorkerProcess]
    database: str
    owner: Login

    def sql(self, statement: str) -> str:
        return psql(self.database, statement)

    def ran_on(self, fleet_id: str) -> list[set[str]]:
        """The session ids of the fleet each worker ran (from its log)."""
        found: list[set[str]] = []
        for worker in self.workers:
            text = worker.log_path.read_text(errors="replace")
            found.append({m.group(3) for m in RAN.finditer(text) if m.group(1) == fleet_id})
        return found


@pytest.fixture(scope="module")
async def fleet_cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FleetCluster]:
    name = f"sw_fleetq_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        await asyncio.to_thread(psql, "test", f"CREATE DATABASE {name}")
    except (OSError, subprocess.CalledProcessError) as exc:
        missing_dependency("PostgreSQL on 127.0.0.1:5432", f"start it (scripts/ensure-services.sh): {exc}")
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    assert REDIS_URL
    try:
        async with redis_namespace() as prefix:
            root = tmp_path_factory.mktemp("fleetq")

            def settings(where: str, run_jobs: bool) -> Any:
                made = queue_settings(url, prefix, root / where, run_jobs=run_jobs)
                update = {
                    "worker_concurrency": WORKER_CONCURRENCY,
                    "lease_seconds": LEASE_SECONDS,
                    "sweep_interval_seconds": 1.0,
                    **RECEIVERS_ALLOWED,  # the killed-worker test's webhook listens on loopback
                }
                return made.model_copy(update=update)

            serve = ProcessServer(settings("serve", False), root / "serve.log")
            workers = [WorkerProcess(settings(f"w{i}", True), root / f"worker{i}.log") for i in (1, 2)]
            try:
                await asyncio.to_thread(serve.start)
                for worker in workers:
                    await asyncio.to_thread(worker.start)
                owner = await asyncio.to_thread(serve.create_user, "fleet-owner", "fleet-password-1234")
                yield FleetCluster(serve, workers, name, owner)
            finally:
                for worker in workers:
                    await asyncio.to_thread(worker.stop)
                await asyncio.to_thread(serve.stop)
    finally:
        await asyncio.to_thread(psql, "test", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def many_hosts(testbed: Testbed) -> Iterator[list[TestHost]]:
    made: list[TestHost] = []
    try:
        for _ in range(HOSTS):
            made.append(testbed.new_host())
        yield made
    finally:
        for host in made:
            host.stop()


def fleet_body(hosts: list[TestHost], script: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "workers",
        "plan": {**LIGHT_PLAN, "script": script},
        "targets": [target(h) for h in hosts],
        "defaults": {"password": TestHost.sudo_nopasswd.password},
        "parallel": PARALLEL,
        "accept_new_host_keys": True,
        **extra,
    }


def spans_of(cluster: FleetCluster, session_ids: list[str]) -> list[tuple[datetime, datetime]]:
    quoted = ",".join(f"'{s}'" for s in session_ids)
    rows = cluster.sql(
        "SELECT created_at, finished_at FROM setup_sessions "
        f"WHERE id IN ({quoted}) AND finished_at IS NOT NULL"
    ).splitlines()
    return [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in (r.split("|") for r in rows)]


async def test_a_fleet_runs_on_two_workers_within_parallel_and_seals_its_credentials(
    fleet_cluster: FleetCluster, many_hosts: list[TestHost]
) -> None:
    cluster = fleet_cluster
    canary = f"Canary-{secrets.token_hex(6)}"
    body = fleet_body(many_hosts, "sleep 2\necho done\n")
    body["defaults"]["sudo_password"] = canary  # sealed with every host's request (bob's sudo never asks)
    async with cluster.serve.async_client(cluster.owner) as client:
        answer = await client.post("/api/fleets", json=body, timeout=300)
    assert answer.status_code == 202, answer.text
    fleet_id = answer.json()["fleet_id"]
    stored = cluster.sql(  # while hosts are still queued: their sealed requests are there
        "SELECT (SELECT coalesce(string_agg(row_to_json(j)::text, ''), '') FROM procrastinate_jobs j) "
        "|| (SELECT coalesce(string_agg(row_to_json(s)::text, ''), '') FROM setup_job_secrets s) "
        "|| (SELECT coalesce(string_agg(row_to_json(f)::text, ''), '') FROM fleets f) "
        "|| (SELECT coalesce(string_agg(row_to_json(h)::text, ''), '') FROM fleet_hosts h)"
    )
    assert "setupwizard.run_fleet_host" in stored and "sealed" in stored
    assert canary not in stored
    ended = await asyncio.to_thread(wait_fleet, cluster.serve, cluster.owner, fleet_id, 1200)
    assert ended["counts"] == {"total": HOSTS, "succeeded": HOSTS}, ended["hosts"]
    session_ids = [h["session_id"] for h in ended["hosts"]]
    spans = spans_of(cluster, session_ids)
    assert len(spans) == HOSTS
    deepest = most_at_once(spans)
    assert 1 < deepest <= PARALLEL, deepest
    ran = cluster.ran_on(fleet_id)
    print(f"\nhosts run per worker: {[len(r) for r in ran]} (most at once: {deepest})")
    assert ran[0] | ran[1] == set(session_ids) and not ran[0] & ran[1]
    assert "runs on worker" not in cluster.serve.log_tail()
    locks = cluster.sql(
        f"SELECT DISTINCT lock FROM procrastinate_jobs WHERE args->>'fleet_id' = '{fleet_id}' ORDER BY lock"
    ).split()
    assert locks == [f"fleet:{fleet_id}:lane:{i}" for i in range(PARALLEL)]
    left = cluster.sql("SELECT count(*) FROM setup_job_secrets")
    assert left.strip() == "0", "a sealed request outlived its job"
    everything = cluster.sql(
        "SELECT (SELECT coalesce(string_agg(row_to_json(j)::text, ''), '') FROM procrastinate_jobs j) "
        "|| (SELECT coalesce(string_agg(row_to_json(e)::text, ''), '') FROM fleet_events e) "
        "|| (SELECT coalesce(string_agg(row_to_json(v)::text, ''), '') FROM session_events v)"
    )
    assert canary not in everything
    assert canary not in "".join(w.log_tail() for w in cluster.workers) + cluster.serve.log_tail()


async def test_stop_after_failures_skips_without_connecting(
    fleet_cluster: FleetCluster, many_hosts: list[TestHost]
) -> None:
    cluster = fleet_cluster
    body = fleet_body(many_hosts[:3], "echo done\n", parallel=1, stop_after_failures=1)
    body["targets"][0]["password"] = "not-the-password"  # the first host fails; the rest start after it
    async with cluster.serve.async_client(cluster.owner) as client:
        answer = await client.post("/api/fleets", json=body, timeout=300)
    assert answer.status_code == 202, answer.text
    ended = await asyncio.to_thread(wait_fleet, cluster.serve, cluster.owner, answer.json()["fleet_id"])
    assert [h["status"] for h in ended["hosts"]] == ["failed", "skipped", "skipped"], ended["hosts"]
    for host in ended["hosts"][1:]:
        assert host["reason"] == "stop_after_failures"
        assert host["last_line_code"] == "fleet.never_ran.stop_after_failures"  # the page shows it in English
        events = cluster.sql(f"SELECT count(*) FROM session_events WHERE session_id = '{host['session_id']}'")
        assert events.strip() == "1", "a skipped host connected"  # its complete event only
        status = cluster.sql(f"SELECT status FROM setup_sessions WHERE id = '{host['session_id']}'")
        assert status.strip() == "skipped"


async def test_a_cancel_through_serve_stops_both_workers_and_no_queued_host_starts(
    fleet_cluster: FleetCluster, many_hosts: list[TestHost]
) -> None:
    cluster = fleet_cluster
    tag = secrets.token_hex(4)
    hosts = many_hosts[: PARALLEL * 2]
    body = fleet_body(hosts, f"echo started-{tag}\nsleep 300\n")
    async with cluster.serve.async_client(cluster.owner) as client:
        answer = await client.post("/api/fleets", json=body, timeout=300)
        assert answer.status_code == 202, answer.text
        fleet_id = answer.json()["fleet_id"]

        def started() -> list[str]:
            rows = cluster.sql(
                "SELECT DISTINCT e.session_id FROM session_events e JOIN fleet_hosts h "
                f"ON h.session_id = e.session_id WHERE h.fleet_id = '{fleet_id}' "
                f"AND e.message LIKE '%started-{tag}%'"
            ).split()
            return rows if len(rows) == PARALLEL else []

        running = await asyncio.to_thread(wait_until, started, 600)
        ran = cluster.ran_on(fleet_id)
        assert all(ran), f"both workers run hosts of the fleet: {ran}"
        cancel = await client.post(f"/api/fleets/{fleet_id}/cancel", timeout=120)
        assert cancel.status_code == 202, cancel.text
    ended = await asyncio.to_thread(wait_fleet, cluster.serve, cluster.owner, fleet_id)
    assert ended["status"] == "cancelled"
    assert [h["status"] for h in ended["hosts"]] == ["cancelled"] * len(hosts), ended["hosts"]
    ran = cluster.ran_on(fleet_id)
    assert ran[0] | ran[1] == set(running), "a queued host started after the cancel"
    for host in ended["hosts"]:
        status = cluster.sql(f"SELECT status FROM setup_sessions WHERE id = '{host['session_id']}'")
        assert status.strip() == "cancelled"
        if host["session_id"] not in running:
            assert host["last_line_code"] == "fleet.never_ran.fleet_cancelled", host
            events = cluster.sql(
                f"SELECT count(*) FROM session_events WHERE session_id = '{host['session_id']}'"
            )
            assert events.strip() == "1", "a queued host connected"
    jobs = cluster.sql(
        f"SELECT status, count(*) FROM procrastinate_jobs WHERE args->>'fleet_id' = '{fleet_id}' "
        "GROUP BY status"
    ).split()
    counted = dict(row.split("|") for row in jobs)
    assert counted.pop("aborted") == str(PARALLEL), jobs  # the running ones
    # the queued ones: cancelled in the queue, or (a lane freed during the cancel) taken by a worker that
    # then read the cancelled fleet and ended the host without connecting (checked above: one event each)
    assert set(counted) <= {"cancelled", "succeeded"} and sum(map(int, counted.values())) == PARALLEL, jobs


async def test_a_cancel_that_reaches_a_host_job_before_its_run_starts_still_ends_the_fleet(
    fleet_cluster: FleetCluster, many_hosts: list[TestHost]
) -> None:
    """The abort of a job a worker has just taken lands while the job marks its host ``running``: here that
    write waits on a row lock the test holds. The job must still end its host ``cancelled`` without
    connecting, and the fleet must end (it waited forever when the abort cut the job off there)."""
    cluster = fleet_cluster
    body = fleet_body(many_hosts[:2], "sleep 3\n", parallel=1)
    async with cluster.serve.async_client(cluster.owner) as client:
        answer = await client.post("/api/fleets", json=body, timeout=300)
        assert answer.status_code == 202, answer.text
        fleet_id = answer.json()["fleet_id"]
        second = answer.json()["sessions"][1]["session_id"]
        hold = await psycopg.AsyncConnection.connect(
            f"host=127.0.0.1 user=postgres dbname={cluster.database}"
        )
        try:  # the second host's row: its job, once taken, waits to mark it running
            await hold.execute(
                "SELECT 1 FROM fleet_hosts WHERE fleet_id = %s AND position = 1 FOR UPDATE", (fleet_id,)
            )

            def second_job_waits() -> bool:
                waiting = cluster.sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    f"AND datname = '{cluster.database}' AND query ILIKE '%UPDATE fleet_hosts%'"
                )
                return waiting.strip() == "1"

            await asyncio.to_thread(wait_until, second_job_waits, 300)
            cancel = await client.post(f"/api/fleets/{fleet_id}/cancel", timeout=120)
            assert cancel.status_code == 202, cancel.text

            def abort_arrived() -> bool:
                logs = "".join(w.log_path.read_text(errors="replace") for w in cluster.workers)
                gone = cluster.sql(
                    f"SELECT status FROM procrastinate_jobs WHERE args->>'session_id' = '{second}'"
                )
                return f"Abort of fleet {fleet_id} host 1 received" in logs or gone.strip() != "doing"

            await asyncio.to_thread(wait_until, abort_arrived, 120)
        finally:
            await hold.rollback()
            await hold.close()
    ended = await asyncio.to_thread(wait_fleet, cluster.serve, cluster.owner, fleet_id, 120)
    assert ended["status"] == "cancelled"
    host = ended["hosts"][1]
    assert (host["status"], host["reason"], host["last_line_code"]) == (
        "cancelled",
        "fleet_cancelled",
        "fleet.never_ran.fleet_cancelled",
    ), host
    assert cluster.sql(f"SELECT status FROM setup_sessions WHERE id = '{second}'").strip() == "cancelled"
    events = cluster.sql(f"SELECT count(*) FROM session_events WHERE session_id = '{second}'")
    assert events.strip() == "1", "the host connected after its cancel"  # its complete event only
    assert second not in set().union(*cluster.ran_on(fleet_id))


async def test_a_killed_workers_hosts_are_rerun_once_on_the_survivor_and_no_line_is_lost(
    fleet_cluster: FleetCluster, many_hosts: list[TestHost]
) -> None:
    cluster = fleet_cluster
    tag = secrets.token_hex(4)
    hosts = many_hosts[: PARALLEL * 2]
    with webhook() as hook:
        target_id = await notify_to(cluster, hook.url())
        try:
            await killed_worker_fleet(cluster, hosts, tag)
            posts = await asyncio.to_thread(hook.wait_for, 1)
            await asyncio.sleep(SETTLE_SECONDS)
            told = list(hook.posts)
        finally:
            async with cluster.serve.async_client(cluster.owner) as client:
                await client.delete(f"/api/notifications/targets/{target_id}")
    # The survivor ended the dead worker's hosts (interrupted) and reran them: the fleet is told once, by
    # whichever process ended it, and none of its hosts' sessions (the interrupted ones included) is told.
    assert len(posts) == 1 and len(told) == 1, [p["title"] for p in told]
    assert f"Hosts: {len(hosts)}: {len(hosts)} succeeded" in told[0]["message"], told[0]


async def notify_to(cluster: FleetCluster, url: str) -> int:
    """The owner's notification target for every end; its id."""
    async with cluster.serve.async_client(cluster.owner) as client:
        answer = await client.post(
            "/api/notifications/targets",
            json={"name": "killed-worker", "url": url, "on_failed": True, "on_succeeded": True},
        )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def killed_worker_fleet(cluster: FleetCluster, hosts: list[TestHost], tag: str) -> None:
    """A fleet whose first worker is killed while it runs hosts: checked through to every host's end."""
    body = fleet_body(hosts, f"echo started-{tag}\nsleep 6\necho done-{tag}\n")
    async with cluster.serve.async_client(cluster.owner) as client:
        answer = await client.post("/api/fleets", json=body, timeout=300)
    assert answer.status_code == 202, answer.text
    fleet_id = answer.json()["fleet_id"]

    def started() -> list[str]:
        rows = cluster.sql(
            "SELECT DISTINCT e.session_id FROM session_events e JOIN fleet_hosts h "
            f"ON h.session_id = e.session_id WHERE h.fleet_id = '{fleet_id}' "
            f"AND e.message LIKE '%started-{tag}%'"
        ).split()
        ran = cluster.ran_on(fleet_id)
        return rows if len(rows) == PARALLEL and all(ran) else []

    await asyncio.to_thread(wait_until, started, 600)
    candidates = cluster.ran_on(fleet_id)[0]  # worker 1's hosts so far
    watchers = {s: await open_progress(cluster.serve, cluster.owner, s, since=0) for s in candidates}
    killed = cluster.workers[0]
    await asyncio.to_thread(killed.kill)  # SIGKILL
    quoted = ",".join(f"'{s}'" for s in candidates)
    doomed = set(  # running when it died (a slow machine may have let one end first)
        cluster.sql(f"SELECT id FROM setup_sessions WHERE id IN ({quoted}) AND status = 'running'").split()
    )
    assert doomed, "worker 1 ran no host when it was killed"
    try:
        seen = {s: events((await read_to_close(ws))[0]) for s, ws in watchers.items()}
        ended = await asyncio.to_thread(wait_fleet, cluster.serve, cluster.owner, fleet_id, 1200)
    finally:
        await asyncio.to_thread(killed.start)  # the module's later tests have two workers again
    assert ended["counts"] == {"total": len(hosts), "succeeded": len(hosts)}, ended["hosts"]
    survivor = cluster.ran_on(fleet_id)[1]
    by_earlier = {h["earlier_sessions"][0]: h for h in ended["hosts"] if h["earlier_sessions"]}
    print(f"\nkilled worker ran {len(doomed)} host(s); the survivor {len(survivor)} session(s)")
    assert set(by_earlier) == doomed, ended["hosts"]
    for old, host in by_earlier.items():
        assert host["attempt"] == 2 and host["session_id"] in survivor
        complete = seen[old][-1]
        assert complete["type"] == "complete" and complete["data"]["status"] == "interrupted", complete
        assert complete["data"]["retried_as"] == host["session_id"]
        status = cluster.sql(f"SELECT status FROM setup_sessions WHERE id = '{old}'").strip()
        assert status == "interrupted"
        replay = await open_progress(cluster.serve, cluster.owner, old, since=0)
        stored = events((await read_to_close(replay))[0])
        assert stored == seen[old], "a line shown live is not stored (or was changed)"
        assert any(f"started-{tag}" in e["message"] for e in stored)
    for host in ended["hosts"]:  # the queued ones and the reruns: all on the survivor
        assert host["session_id"] in survivor | (candidates - doomed), host
