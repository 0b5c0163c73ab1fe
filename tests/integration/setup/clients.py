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


def seqs(received: list[dict[str, Any]]) -> list[int]:
    """The seqs of the session events among frames (the connection notice has none)."""
    return [int(f["seq"]) for f in received if "seq" in f]
