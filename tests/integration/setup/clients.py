"""Clients of a live service's setup API: the progress WebSocket as a browser or an API client sees it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosedError

from tests.integration.web.live import Login, ProcessServer


def progress_url(live: ProcessServer, session_id: str, since: int | None = None) -> str:
    query = f"?since={since}" if since is not None else ""
    return f"{live.ws_url}/api/setup/setup-progress/{session_id}{query}"


async def open_progress(
    live: ProcessServer,
    login: Login | None,
    session_id: str,
    *,
    since: int | None = None,
    cookie: bool = False,
    origin: str | None = None,
) -> ClientConnection:
    """A WebSocket on the progress endpoint, authenticated like a browser (cookie) or an API client."""
    headers: dict[str, str] = {}
    if login is not None and cookie:
        headers["Cookie"] = login.cookie_header
    elif login is not None:
        headers["Authorization"] = f"Bearer {login.token}"
    if origin is not None:
        headers["Origin"] = origin
    return await websockets.connect(
        progress_url(live, session_id, since), additional_headers=headers, max_size=None, open_timeout=30
    )


async def frames(ws: ClientConnection) -> AsyncIterator[dict[str, Any]]:
    """Every frame until the server closes."""
    try:
        async for message in ws:
            yield json.loads(message)
    except ConnectionClosedError:  # closed with a code other than 1000/1001: ws.close_code tells which
        return


async def read_to_close(ws: ClientConnection) -> tuple[list[dict[str, Any]], int | None]:
    """All frames and the close code."""
    received = [frame async for frame in frames(ws)]
    return received, ws.close_code


def events(received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The session events the frames carry, one per seq: a multi-line frame split into its lines.

    Frame boundaries depend on how fast a client reads (docs/api.md), so clients are compared on these.
    Each event is its frame without ``timestamp`` and ``first_seq`` (a joined frame has the last line's
    timestamp), with its own ``seq`` and line as ``message``. The connection notice has no seq: left out.
    """
    out: list[dict[str, Any]] = []
    for frame in received:
        if "seq" not in frame:
            continue
        first, last = int(frame.get("first_seq", frame["seq"])), int(frame["seq"])
        parts = frame["message"].split("\n") if last > first else [frame["message"]]
        assert len(parts) == last - first + 1, frame
        base = {k: v for k, v in frame.items() if k not in ("timestamp", "first_seq")}
        out += [
            {**base, "seq": seq, "message": part}
            for seq, part in zip(range(first, last + 1), parts, strict=True)
        ]
    return out


def history_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """History endpoint events in the shape :func:`events` gives (no ``timestamp``)."""
    return [{k: v for k, v in event.items() if k != "timestamp"} for event in events]


def seqs(received: list[dict[str, Any]]) -> list[int]:
    """The seqs of the session events the frames carry (the connection notice has none)."""
    return [int(event["seq"]) for event in events(received)]
