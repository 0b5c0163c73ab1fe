"""A client that stops reading a flood of output: dropped with a close frame (4408), then resumes exactly.

A real ``setupwizard serve`` with a tight ``ws_max_lag`` streams a script printing tens of megabytes from the
real test server. The client reads the first line, then stops reading (a small receive buffer and a frame
queue of one, so TCP back-pressure reaches the service); once the service has given up on it, the client
reads what was queued and must find the 4408 close frame at the end, not a bare drop. It then resumes with
``since`` (again after each 4408, as a client does) and gets every remaining line once, ending with
``complete`` and 1000.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from setupwizard.testbed.host import TestHost
from tests.integration.web.live import ProcessServer

from .clients import events, frames, open_progress, progress_url, read_to_close, seqs
from .conftest import Store, settings_for

LINES = 30_000
PAD = "x" * 400


@pytest.fixture(scope="module")
def tight(store: Store) -> Iterator[ProcessServer]:
    settings = settings_for(store).model_copy(update={"ws_max_lag": 10})
    server = ProcessServer(settings, store.data_dir / "tight-server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def stalled_progress(server: ProcessServer, token: str, session_id: str) -> Any:
    """A progress socket whose reader stops early: tiny receive buffer, a queue of one frame.

    Without compression: the padded lines would deflate ~100x and fit the socket buffers whole.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.setblocking(False)
    return await websockets.connect(
        progress_url(server, session_id),
        sock=sock,
        additional_headers={"Authorization": f"Bearer {token}"},
        max_size=None,
        max_queue=1,
        compression=None,
        open_timeout=30,
    )


async def wait_for_log(server: ProcessServer, text: str, seconds: float = 600) -> None:
    for _ in range(int(seconds * 10)):
        if text in server.log_path.read_text(errors="replace"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never logged: {text}")


async def test_a_flooded_client_gets_4408_then_resumes_with_since_without_gap_or_duplicate(
    tight: ProcessServer, test_host: TestHost
) -> None:
    owner = tight.create_user(f"flood-{secrets.token_hex(3)}", "flood-password-1234")
    session_id = str(uuid.uuid4())
    start = f"flood-start-{secrets.token_hex(4)}"
    script = f"echo {start}\nsleep 1\nseq -f '%g {PAD}' 1 {LINES}\n"
    ws = await stalled_progress(tight, owner.token, session_id)
    async with tight.async_client(owner) as client:
        started = await client.post(
            "/api/setup/auto-setup",
            json={
                "host": test_host.address,
                "username": test_host.root.username,
                "password": test_host.root.password,
                "packages": [],
                "script": script,
                "session_id": session_id,
                "wait": False,
            },
        )
    assert started.status_code == 202, started.text
    seen: list[dict[str, Any]] = []
    stream = frames(ws)
    async for frame in stream:
        seen.append(frame)
        if start in frame.get("message", ""):
            break
    # Stop reading. The service must give up on this client and try to close it with 4408.
    await wait_for_log(tight, f"{session_id} for 127.0.0.1:{ws.local_address[1]} closing: 4408")
    async for frame in stream:  # now read what was queued: the close frame must come after it
        seen.append(frame)
    assert ws.close_code == 4408, (ws.close_code, ws.close_reason)
    got = seqs(seen)
    assert got == list(range(1, len(got) + 1))

    # Resume as a client does: with since = the last seq it has, again after every 4408, until 1000. With
    # ws_max_lag 10, a reader that resumes while the flood is still running may be dropped again.
    rest: list[dict[str, Any]] = []
    code: int | None = None
    for _attempt in range(50):
        since = seqs(rest)[-1] if seqs(rest) else got[-1]
        more, code = await read_to_close(await open_progress(tight, owner, session_id, since=since))
        rest += more
        if code != 4408:
            break
    assert code == 1000
    assert seqs(rest) == list(range(got[-1] + 1, got[-1] + len(seqs(rest)) + 1))
    lines = [e["message"] for e in events(seen) + events(rest) if e["type"] == "log"]
    printed = [line for line in lines if line.endswith(PAD)]
    assert printed == [f"{n} {PAD}" for n in range(1, LINES + 1)]
    assert events(rest)[-1]["type"] == "complete"
    assert any(f.get("seq", 0) > f.get("first_seq", 0) for f in rest), "a fast reader gets multi-line frames"
