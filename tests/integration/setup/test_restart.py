"""Sessions outlive the process: a crash mid-run leaves an ``interrupted`` session with its logs, and a
graceful stop mid-run says the same. Also: a running setup can be cancelled by its owner only.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from setupwizard.testbed.host import TestHost
from tests.integration.web.live import Login, ProcessServer

from .clients import events, frames, history_events, open_progress, read_to_close, seqs
from .conftest import Store, settings_for


@pytest.fixture(scope="module")
def server(store: Store) -> Iterator[ProcessServer]:
    live = ProcessServer(settings_for(store), store.data_dir / "server.log")
    live.start()
    try:
        yield live
    finally:
        live.stop()


def body(host: TestHost, script: str, session_id: str) -> dict[str, Any]:
    return {
        "host": host.address,
        "username": host.root.username,
        "password": host.root.password,
        "packages": [],
        "script": script,
        "session_id": session_id,
        "wait": False,
    }


async def start_and_watch_until(
    live: ProcessServer, login: Login, host: TestHost, script: str, line: str
) -> tuple[str, list[dict[str, Any]], Any]:
    """Start a setup (wait=false → 202), follow it until ``line`` appears; returns id, frames, socket."""
    session_id = str(uuid.uuid4())
    ws = await open_progress(live, login, session_id)
    async with live.async_client(login) as client:
        started = await client.post("/api/setup/auto-setup", json=body(host, script, session_id))
    assert started.status_code == 202, started.text
    assert started.json() == {"session_id": session_id, "status": "running"}
    seen: list[dict[str, Any]] = []
    async for frame in frames(ws):
        seen.append(frame)
        if line in frame.get("message", ""):
            break
    assert line in seen[-1]["message"], seen[-3:]
    return session_id, seen, ws


async def wait_until_stored(live: ProcessServer, login: Login, session_id: str, seq: int) -> None:
    async with live.async_client(login) as client:
        for _ in range(300):
            detail = (await client.get(f"/api/setup/sessions/{session_id}")).json()
            if detail["last_seq"] >= seq:
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"events up to {seq} were never stored")


async def test_crash_mid_run_leaves_an_interrupted_session_with_its_logs(
    server: ProcessServer, test_host: TestHost
) -> None:
    owner = server.create_user(f"crash-{secrets.token_hex(3)}", "crash-password-1234")
    line = f"crash-start-{secrets.token_hex(4)}"
    session_id, seen, ws = await start_and_watch_until(
        server, owner, test_host, f"echo {line}\nsleep 120\necho never-printed\n", line
    )
    await wait_until_stored(server, owner, session_id, seqs(seen)[-1])
    server.kill()
    await read_to_close(ws)  # the connection just drops
    server.start()  # same data directory and database, new process

    async with server.async_client(owner) as client:
        detail = (await client.get(f"/api/setup/sessions/{session_id}")).json()
        log = (await client.get(f"/api/setup/sessions/{session_id}/log.txt")).text
    assert detail["status"] == "interrupted"
    stored = detail["events"]
    assert history_events(stored)[: len(seqs(seen))] == events(seen)
    assert stored[-1]["type"] == "complete"
    assert stored[-1]["data"]["status"] == "interrupted"
    # every line before the final event, in order; the final event above every seq that may have been
    # shown live (the seqs reserved for live publishing, setup/seq_ceiling.py)
    assert seqs(stored[:-1]) == list(range(1, len(stored)))
    assert stored[-1]["seq"] > seqs(seen)[-1]
    assert line in log

    replay, code = await read_to_close(await open_progress(server, owner, session_id))
    assert code == 1000
    assert events(replay) == history_events(stored)

    # The server is free again: a new setup is not refused as "already running".
    async with server.async_client(owner) as client:
        report = await client.post(
            "/api/setup/test-connection",
            json={"host": test_host.address, "username": "root", "password": test_host.root.password},
        )
    assert report.status_code == 200, report.text
    assert report.json()["os_id"] == "debian"


async def test_graceful_stop_mid_run_marks_the_session_interrupted(
    server: ProcessServer, test_host: TestHost
) -> None:
    owner = server.create_user(f"stop-{secrets.token_hex(3)}", "stop-password-1234")
    line = f"stop-start-{secrets.token_hex(4)}"
    session_id, seen, ws = await start_and_watch_until(
        server, owner, test_host, f"echo {line}\nsleep 120\n", line
    )
    await asyncio.to_thread(server.stop)
    rest, _code = await read_to_close(ws)
    server.start()
    async with server.async_client(owner) as client:
        detail = (await client.get(f"/api/setup/sessions/{session_id}")).json()
    assert detail["status"] == "interrupted", detail["message"]
    numbers = seqs(detail["events"])
    assert numbers == list(range(1, len(numbers) + 1))
    assert detail["events"][-1]["data"]["status"] == "interrupted"
    # whatever the socket got before the stop matches what was stored
    got = events(seen + rest)
    assert got == history_events(detail["events"])[: len(got)]


async def test_owner_cancels_a_running_setup_and_others_cannot(
    server: ProcessServer, test_host: TestHost
) -> None:
    owner = server.create_user(f"cancel-{secrets.token_hex(3)}", "cancel-password-1234")
    stranger = server.create_user(f"stranger-{secrets.token_hex(3)}", "stranger-password-1234")
    line = f"cancel-start-{secrets.token_hex(4)}"
    session_id, _seen, ws = await start_and_watch_until(
        server, owner, test_host, f"echo {line}\nsleep 117\necho not-reached\n", line
    )
    async with server.async_client(stranger) as client:
        refused = await client.post(f"/api/setup/sessions/{session_id}/cancel")
    async with server.async_client(owner) as client:
        accepted = await client.post(f"/api/setup/sessions/{session_id}/cancel")
    rest, code = await read_to_close(ws)
    assert refused.status_code == 404
    assert accepted.status_code == 202, accepted.text
    assert code == 1000
    final = rest[-1]
    assert final["type"] == "complete"
    assert final["data"]["status"] == "cancelled"
    assert all("not-reached" not in f["message"] for f in rest)
    async with server.async_client(owner) as client:
        detail = (await client.get(f"/api/setup/sessions/{session_id}")).json()
        again = await client.post(f"/api/setup/sessions/{session_id}/cancel")
    assert detail["status"] == "cancelled"
    assert again.status_code == 409
    for _ in range(100):
        running = test_host.run_root("ps -eo args=").stdout.splitlines()
        if "sleep 117" not in [args.strip() for args in running]:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the cancelled script's command is still running on the server")
