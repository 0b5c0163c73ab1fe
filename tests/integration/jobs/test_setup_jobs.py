"""PostgreSQL mode: a setup posted to ``serve`` (which runs no job) runs as a procrastinate job on a real
``setupwizard worker``, with the seed contract unchanged (WebSocket first, ``wait=true`` answering every
line, ``session_id`` echoed, 409 ``setup_running``), no secret in the job's arguments or our table, and a
cancel through ``serve`` reaching the run on the worker."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from typing import Any

from setupwizard.testbed.accounts import Account
from setupwizard.testbed.host import TestHost
from tests.integration.setup.clients import events, frames, open_progress, read_to_close

from .conftest import QueueCluster

POLL_DEADLINE = 180.0  # generous: polling, not a speed assertion


def body(host: TestHost, account: Account, **extra: Any) -> dict[str, Any]:
    return {
        "host": host.address,
        "port": host.port,
        "username": account.username,
        "password": account.password,
        "packages": [],
        **extra,
    }


async def test_a_setup_posted_to_serve_runs_as_a_job_on_the_worker(
    queue_cluster: QueueCluster, test_host: TestHost
) -> None:
    assert queue_cluster.owner is not None
    session_id = str(uuid.uuid4())
    tag = secrets.token_hex(4)
    ws = await open_progress(queue_cluster.serve, queue_cluster.owner, session_id)  # before the POST
    async with queue_cluster.serve.async_client(queue_cluster.owner) as client:
        response = await client.post(
            "/api/setup/auto-setup",
            json=body(test_host, test_host.sudo_nopasswd, script=f"echo job-{tag}\n", session_id=session_id),
            timeout=900,
        )
    watched, code = await read_to_close(ws)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["success"] is True, answer["message"]
    assert answer["session_id"] == session_id
    assert f"job-{tag}" in answer["logs"]
    assert answer["logs"] == [event["message"] for event in events(watched)]  # every line, as the socket
    assert code == 1000
    rows = queue_cluster.sql(
        f"SELECT args::text, status FROM procrastinate_jobs WHERE args->>'session_id' = '{session_id}'"
    ).splitlines()
    assert len(rows) == 1, rows
    args, status = rows[0].split("|")
    assert json.loads(args) == {"session_id": session_id}
    assert status == "succeeded"
    ran_here = f"of session {session_id} runs on worker"
    assert ran_here in queue_cluster.worker.log_tail()
    assert ran_here not in queue_cluster.serve.log_tail()
    leftovers = queue_cluster.sql(f"SELECT count(*) FROM setup_job_secrets WHERE session_id = '{session_id}'")
    assert leftovers.strip() == "0", "the sealed request outlived its job"


async def test_job_arguments_and_the_secrets_table_hold_no_canary_and_a_busy_server_is_409(
    queue_cluster: QueueCluster, test_host: TestHost
) -> None:
    assert queue_cluster.owner is not None
    canary = f"Canary-{secrets.token_hex(6)}"
    test_host.set_password("alice", canary)  # alice's sudo asks this password: it is in the request twice
    session_id = str(uuid.uuid4())
    tag = secrets.token_hex(4)
    script = f"echo wait-{tag}\nsleep 5\necho done-{tag}\n"
    ws = await open_progress(queue_cluster.serve, queue_cluster.owner, session_id)
    async with queue_cluster.serve.async_client(queue_cluster.owner) as client:
        post = asyncio.create_task(
            client.post(
                "/api/setup/auto-setup",
                json=body(test_host, Account("alice", canary), script=script, session_id=session_id),
                timeout=900,
            )
        )
        async for frame in frames(ws):
            if f"wait-{tag}" in frame.get("message", ""):
                break
        # while it runs: the queue's and our rows as stored, and a second setup of the same server
        jobs = queue_cluster.sql("SELECT row_to_json(j)::text FROM procrastinate_jobs j")
        sealed = queue_cluster.sql("SELECT row_to_json(s)::text FROM setup_job_secrets s")
        second = await client.post(
            "/api/setup/auto-setup", json=body(test_host, test_host.sudo_nopasswd), timeout=60
        )
        response = await post
    await read_to_close(ws)
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True, response.json()["message"]
    assert session_id in jobs and session_id in sealed, "the rows were read while the job ran"
    assert canary not in jobs
    assert canary not in sealed
    assert second.status_code == 409, second.text
    assert second.json()["code"] == "setup_running"
    assert second.json()["session_id"] == session_id
    everything = queue_cluster.sql(
        "SELECT (SELECT coalesce(string_agg(row_to_json(j)::text, ''), '') FROM procrastinate_jobs j) "
        "|| (SELECT coalesce(string_agg(row_to_json(e)::text, ''), '') FROM procrastinate_events e) "
        "|| (SELECT coalesce(string_agg(row_to_json(s)::text, ''), '') FROM setup_job_secrets s)"
    )
    assert canary not in everything
    leftovers = queue_cluster.sql(f"SELECT count(*) FROM setup_job_secrets WHERE session_id = '{session_id}'")
    assert leftovers.strip() == "0"


async def test_a_cancel_sent_to_serve_stops_the_run_on_the_worker(
    queue_cluster: QueueCluster, test_host: TestHost
) -> None:
    assert queue_cluster.owner is not None
    session_id = str(uuid.uuid4())
    tag = secrets.token_hex(4)
    script = f"echo cancel-{tag}\nsleep 120\necho never-{tag}\n"
    ws = await open_progress(queue_cluster.serve, queue_cluster.owner, session_id)
    async with queue_cluster.serve.async_client(queue_cluster.owner) as client:
        started = await client.post(
            "/api/setup/auto-setup",
            json=body(test_host, test_host.root, script=script, session_id=session_id, wait=False),
        )
        assert started.status_code == 202, started.text
        async for frame in frames(ws):
            if f"cancel-{tag}" in frame.get("message", ""):
                break
        accepted = await client.post(f"/api/setup/sessions/{session_id}/cancel")
        assert accepted.status_code == 202, accepted.text
        rest, _code = await read_to_close(ws)
        detail = (await client.get(f"/api/setup/sessions/{session_id}")).json()
    assert rest[-1]["type"] == "complete" and rest[-1]["data"]["status"] == "cancelled", rest[-1]
    assert detail["status"] == "cancelled"
    assert all(f"never-{tag}" not in str(frame) for frame in rest)


REFUSE_ENDS = """
CREATE FUNCTION sw_refuse_end() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the test refuses this session end'; END $$;
CREATE TRIGGER sw_refuse_end BEFORE UPDATE ON setup_sessions FOR EACH ROW
WHEN (NEW.status <> 'running') EXECUTE FUNCTION sw_refuse_end();
"""
ALLOW_ENDS = (
    "DROP TRIGGER IF EXISTS sw_refuse_end ON setup_sessions; DROP FUNCTION IF EXISTS sw_refuse_end();"
)


def status_of(cluster: QueueCluster, session_id: str) -> str:
    return cluster.sql(f"SELECT status FROM setup_sessions WHERE id = '{session_id}'").strip()


async def test_wait_true_answers_from_the_bus_while_the_database_refuses_the_end(
    queue_cluster: QueueCluster, test_host: TestHost
) -> None:
    # The database takes the lines but refuses to store any session's end (the worker keeps trying): the
    # POST still answers with the run's result and every line, as an in-process run answers from memory.
    assert queue_cluster.owner is not None
    session_id = str(uuid.uuid4())
    tag = secrets.token_hex(4)
    ws = await open_progress(queue_cluster.serve, queue_cluster.owner, session_id)
    queue_cluster.sql(REFUSE_ENDS)
    try:
        async with queue_cluster.serve.async_client(queue_cluster.owner) as client:
            response = await client.post(
                "/api/setup/auto-setup",
                json=body(test_host, test_host.root, script=f"echo refused-{tag}\n", session_id=session_id),
                timeout=900,
            )
        watched, _code = await read_to_close(ws)
        row = status_of(queue_cluster, session_id)
    finally:
        queue_cluster.sql(ALLOW_ENDS)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert row == "running", "the answer came before the end was stored"
    assert answer["status"] == "succeeded" and answer["success"] is True, answer["message"]
    assert answer["session_id"] == session_id
    assert f"refused-{tag}" in answer["logs"]
    assert answer["logs"] == [event["message"] for event in events(watched)]  # every line, complete last
    # Once the database takes writes again, the worker stores the end it kept.
    deadline = asyncio.get_running_loop().time() + POLL_DEADLINE
    while (
        queue_cluster.sql(f"SELECT status FROM setup_sessions WHERE id = '{session_id}'").strip() == "running"
    ):
        assert asyncio.get_running_loop().time() < deadline, "the end was never stored"
        await asyncio.sleep(0.2)
    assert (
        queue_cluster.sql(f"SELECT status FROM setup_sessions WHERE id = '{session_id}'").strip()
        == "succeeded"
    )
