"""The progress socket's ending, through a real uvicorn and a real WebSocket client: always a close frame.

A tiny app runs :func:`stream_then_close` around a scenario: a stream that fails (the client gets 1011,
not a bare drop), and a client flooded while it does not read (it gets its 4408 close frame after the
frames queued before it, once it reads again).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from setupwizard.live.memory import MemoryBus
from setupwizard.live.relay import RelayEnd, relay
from setupwizard.live.socket import SERVER_ERROR, TOO_SLOW, stream_then_close
from setupwizard.provisioning.events import EventType, Level, SessionEvent, utc_now


def noise() -> str:
    """A random line: permessage-deflate must not shrink the flood below the socket buffers."""
    return base64.b64encode(os.urandom(300)).decode()


class Scenario:
    def __init__(self) -> None:
        self.bus = MemoryBus()
        self.relay_end: RelayEnd | None = None

    async def endpoint(self, ws: WebSocket) -> None:
        await ws.accept()
        kind = ws.query_params["kind"]
        await stream_then_close(ws, kind, self.fail() if kind == "fail" else self.flood(ws))

    async def fail(self) -> tuple[int, str]:
        raise TimeoutError  # e.g. a database pool timeout while reading stored events

    async def flood(self, ws: WebSocket) -> tuple[int, str]:
        self.relay_end = await relay(self.bus.subscribe("s"), ws.send_text, max_lag=10, stall_seconds=5)
        return (TOO_SLOW, "too slow") if self.relay_end is RelayEnd.TOO_SLOW else (1000, "complete")


@pytest.fixture
async def served() -> AsyncIterator[tuple[Scenario, int]]:
    scenario = Scenario()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = Starlette(routes=[WebSocketRoute("/ws", scenario.endpoint)])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    yield scenario, port
    server.should_exit = True
    await serving
    await scenario.bus.close()


async def test_a_stream_that_fails_ends_with_a_1011_close_frame(served: tuple[Scenario, int]) -> None:
    _scenario, port = served
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws?kind=fail") as ws:
        with pytest.raises(websockets.ConnectionClosedError):
            await ws.recv()
    assert ws.close_code == SERVER_ERROR


async def test_a_flooded_client_that_stops_reading_gets_4408_after_what_was_queued(
    served: tuple[Scenario, int],
) -> None:
    scenario, port = served
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # back-pressure reaches the service soon
    client.connect(("127.0.0.1", port))
    client.setblocking(False)
    ws = await websockets.connect(
        f"ws://127.0.0.1:{port}/ws?kind=flood", sock=client, max_size=None, max_queue=1
    )
    await scenario.bus.publish("s", [SessionEvent(1, EventType.LOG, Level.INFO, "first", utc_now())])
    assert json.loads(await ws.recv())["seq"] == 1
    seq = 1
    while scenario.relay_end is None and seq < 200_000:  # the client reads nothing meanwhile
        batch = [
            SessionEvent(n, EventType.LOG, Level.INFO, f"{n} {noise()}", utc_now())
            for n in range(seq + 1, seq + 21)
        ]
        seq += 20
        await scenario.bus.publish("s", batch)
        await asyncio.sleep(0.001)
    assert scenario.relay_end is RelayEnd.TOO_SLOW
    received = [1]
    with pytest.raises(websockets.ConnectionClosedError):
        async for message in ws:
            frame = json.loads(message)
            received += list(range(frame["first_seq"], frame["seq"] + 1))
    assert ws.close_code == TOO_SLOW
    assert received == list(range(1, len(received) + 1))
