"""Faults of the service and its clients: the service killed mid-setup and started again, a WebSocket
client that vanishes without a close, a client that reads very slowly. The run and the other clients
never wait for a client; a crash leaves an ``interrupted`` session with every line it had shown."""

from __future__ import annotations

import asyncio
import secrets
import socket
import uuid
from typing import Any

import websockets

from setupwizard.testbed.host import TestHost
from tests.integration.setup.clients import progress_url, read_to_close
from tests.integration.web.live import Login, ProcessServer

from .outcome import Outcome
from .watch import describe, lines_lost, lines_of, stored_session, watch_setup


def body(host: TestHost, script: str) -> dict[str, Any]:
    return {
        "host": host.address,
        "username": host.root.username,
        "password": host.root.password,
        "packages": [],
        "script": script,
    }


async def test_service_killed_mid_setup_and_restarted_shows_an_interrupted_session_with_its_log(
    service: ProcessServer, owner: Login, test_host: TestHost
) -> None:
    markers = [f"before-kill-{secrets.token_hex(3)}-{n}" for n in range(20)]
    script = "".join(f"echo {m}\n" for m in markers) + "echo kill-now\nsleep 120\necho never\n"

    async def kill() -> None:
        await asyncio.sleep(1.0)  # the server is busy in a long command, as during a big apt run
        await asyncio.to_thread(service.kill)  # SIGKILL: no shutdown code runs

    watched = await watch_setup(service, owner, body(test_host, script), when="kill-now", fault=kill)
    await asyncio.to_thread(service.start)  # same data directory and database, a new process
    stored = await stored_session(service, owner, watched.session_id)
    lost = lines_lost(watched, stored, markers)
    events = stored.detail["events"]
    # every line in order; the final event above every seq that may have been shown live
    # (it may leave a gap before the final event, never a reused seq)
    shown = max((int(f["seq"]) for f in watched.frames if "seq" in f), default=0)
    in_order = [e["seq"] for e in events[:-1]] == list(range(1, len(events)))
    contiguous = in_order and events[-1]["seq"] > shown
    ok = stored.status == "interrupted" and lost == 0 and contiguous and events[-1]["type"] == "complete"
    Outcome(
        "service.01-kill9-restart",
        "service killed with SIGKILL mid-setup, then started again on the same data directory",
        "session interrupted, final event stored, every line shown before the kill kept",
        describe(stored),
        lost,
        0,
        ok,
    ).write()
    assert stored.status == "interrupted", stored.message
    assert lost == 0 and contiguous
    assert all(m in stored.log_text for m in markers)
    replay, code = await read_to_close(
        await websockets.connect(
            progress_url(service, watched.session_id),
            additional_headers={"Authorization": f"Bearer {owner.token}"},
        )
    )
    assert code == 1000 and lines_of(replay) == lines_of(events)


async def test_a_client_that_vanishes_without_a_close_does_not_disturb_the_run(
    service: ProcessServer, owner: Login, test_host: TestHost
) -> None:
    script = "for i in $(seq 1 60); do echo vanish-line-$i; sleep 0.05; done\n"
    session_id = str(uuid.uuid4())
    vanished: list[int] = []

    async def vanish() -> None:
        ws = await websockets.connect(
            progress_url(service, session_id),
            additional_headers={"Authorization": f"Bearer {owner.token}"},
        )
        await ws.recv()
        ws.transport.abort()  # no close frame, no FIN handshake: the TCP connection is reset
        vanished.append(1)

    watched = await watch_setup(
        service, owner, body(test_host, script), when="vanish-line-5", fault=vanish, session_id=session_id
    )
    stored = await stored_session(service, owner, watched.session_id)
    lost = lines_lost(watched, stored)
    shown = [line for _, line in lines_of(watched.frames)]
    every = all(f"vanish-line-{i}" in shown for i in range(1, 61))
    ok = stored.status == "succeeded" and lost == 0 and every and bool(vanished)
    Outcome(
        "service.02-ws-vanish",
        "a WebSocket client vanishes mid-run without a close (TCP reset)",
        "run succeeds; the other client gets every line; nothing lost",
        describe(stored, watched),
        lost,
        0,
        ok,
    ).write()
    assert vanished and stored.status == "succeeded", stored.message
    assert lost == 0 and every


async def test_a_very_slow_reader_stalls_neither_the_run_nor_other_clients(
    service: ProcessServer, owner: Login, test_host: TestHost
) -> None:
    script = "seq 1 20000 | sed 's/^/slow-reader-line-/'\necho slow-reader-done\n"
    slow: list[socket.socket] = []
    session_id = str(uuid.uuid4())

    async def attach_slow_reader() -> None:
        # a raw socket with a tiny receive buffer that never reads after the handshake
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", service.port))
        sock.sendall(
            (
                f"GET /api/setup/setup-progress/{session_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                f"Authorization: Bearer {owner.token}\r\n\r\n"
            ).encode()
        )
        slow.append(sock)

    watched = await watch_setup(
        service,
        owner,
        body(test_host, script),
        when="slow-reader-line-1",
        fault=attach_slow_reader,
        session_id=session_id,
    )
    stored = await stored_session(service, owner, watched.session_id)
    lost = lines_lost(watched, stored)
    shown = "\n".join(line for _, line in lines_of(watched.frames))
    ok = stored.status == "succeeded" and lost == 0 and "slow-reader-done" in shown and not watched.hung
    Outcome(
        "service.03-slow-reader",
        "a WebSocket client with a 4 KB receive buffer that never reads, during 20,000 lines",
        "run succeeds; the other client gets every line at full speed; nothing lost",
        describe(stored, watched),
        lost,
        0,
        ok,
    ).write()
    for sock in slow:
        sock.close()
    assert slow and stored.status == "succeeded", stored.message
    assert lost == 0 and "slow-reader-done" in shown


async def test_a_stored_session_replays_the_same_frames_the_live_client_was_shown(
    service: ProcessServer, owner: Login, test_host: TestHost
) -> None:
    """History must not differ from live: the message code and its parameters (the page renders the
    chosen language from them) are kept too, not only seq and text."""
    watched = await watch_setup(service, owner, body(test_host, "echo replay-check\n"))
    stored = await stored_session(service, owner, watched.session_id)
    shown = [{k: f.get(k) for k in ("seq", "code", "params")} for f in watched.frames if "seq" in f]
    kept = [{k: e.get(k) for k in ("seq", "code", "params")} for e in stored.detail["events"]]
    assert any(f["code"] for f in shown), "the live frames carry message codes"
    assert kept[: len(shown)] == shown
