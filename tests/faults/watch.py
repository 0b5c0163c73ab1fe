"""Run a setup through a live service as the page does (WebSocket first, then the POST), inject a fault
when a chosen line is printed, and compare what the client was shown with what the service stored."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.integration.setup.clients import frames, open_progress
from tests.integration.web.live import Login, ProcessServer

HANG_GUARD = 540.0  # a run that has not ended by then is reported as hanging (not a speed assertion)

Fault = Callable[[], Awaitable[None]]


def lines_of(received: Iterable[dict[str, Any]]) -> list[tuple[int, str]]:
    """``(seq, line)`` of every event among frames; a frame of several lines counts as each line."""
    out: list[tuple[int, str]] = []
    for frame in received:
        if "seq" not in frame:
            continue
        last = int(frame["seq"])
        first = int(frame.get("first_seq", last))
        message = str(frame.get("message", ""))
        texts = message.split("\n") if last > first else [message]
        out.extend(zip(range(first, last + 1), texts, strict=False))
    return out


@dataclass
class Watched:
    """What the client saw of one session: the POST's answer, every frame, the close code."""

    session_id: str
    started: httpx.Response
    frames: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    first_close: int | None = None  # set by a caller that resumed after the first socket ended
    hung: bool = False

    @property
    def final(self) -> dict[str, Any] | None:
        """The ``complete`` frame, if the client got one."""
        ends = [f for f in self.frames if f.get("type") == "complete"]
        return ends[-1] if ends else None


@dataclass
class Stored:
    """What the service kept of one session: the detail answer and the log download."""

    detail: dict[str, Any]
    log_text: str

    @property
    def status(self) -> str:
        return str(self.detail.get("status"))

    @property
    def message(self) -> str:
        return str(self.detail.get("message"))

    def text(self) -> str:
        return "\n".join(line for _, line in lines_of(self.detail.get("events", [])))


def lines_lost(watched: Watched, stored: Stored, printed_by_server: Iterable[str] = ()) -> int:
    """Lines the client was shown but the service did not store (same seq, same text), plus lines the
    server printed before the fault that appear nowhere in the stored events."""
    kept = set(lines_of(stored.detail.get("events", [])))
    shown_lost = [line for line in lines_of(watched.frames) if line not in kept]
    stored_text = stored.text()
    printed_lost = [line for line in printed_by_server if line not in stored_text]
    return len(shown_lost) + len(printed_lost)


async def watch_setup(
    service: ProcessServer,
    login: Login,
    body: dict[str, Any],
    *,
    when: str | None = None,
    fault: Fault | None = None,
    session_id: str | None = None,
) -> Watched:
    """Open the progress socket, start the setup (``wait=false``), read until the socket closes.

    When a frame's message contains ``when``, ``fault()`` runs once (the reading goes on afterwards).
    ``session_id``: the page's id for the session (a fresh UUID when omitted).
    """
    session_id = session_id or str(uuid.uuid4())
    ws = await open_progress(service, login, session_id)
    async with service.async_client(login) as client:
        started = await client.post(
            "/api/setup/auto-setup", json={**body, "session_id": session_id, "wait": False}
        )
    watched = Watched(session_id, started)
    if started.status_code != 202:
        await ws.close()
        return watched
    fired = fault is None

    async def read() -> None:
        nonlocal fired
        async for frame in frames(ws):
            watched.frames.append(frame)
            if not fired and when is not None and when in str(frame.get("message", "")):
                fired = True
                assert fault is not None
                await fault()

    try:
        await asyncio.wait_for(read(), timeout=HANG_GUARD)
    except TimeoutError:
        watched.hung = True
        await ws.close()
    watched.close_code = ws.close_code
    return watched


async def stored_session(service: ProcessServer, login: Login, session_id: str) -> Stored:
    """The session as the service stored it (waits until it has ended, within the hang guard)."""
    async with service.async_client(login) as client:
        for _ in range(int(HANG_GUARD * 5)):
            detail = (await client.get(f"/api/setup/sessions/{session_id}")).json()
            if detail.get("status") != "running":
                break
            await asyncio.sleep(0.2)
        log_text = (await client.get(f"/api/setup/sessions/{session_id}/log.txt")).text
    return Stored(detail, log_text)


def describe(stored: Stored, watched: Watched | None = None) -> str:
    """The final state the user sees, in one line: status, message, socket close code."""
    shown = f"{stored.status}: {stored.message}"
    if watched is not None and watched.close_code is not None:
        shown += f" (socket closed {watched.close_code})"
    if watched is not None and watched.hung:
        shown += " (HUNG)"
    return shown
