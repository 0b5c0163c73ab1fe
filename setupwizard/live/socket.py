"""The progress WebSocket: authenticate, wait for the session, replay, stream live, close.

Close codes (see docs/api.md for the frame contract):

- 1000: the ``complete`` frame was sent, or the session had already ended and the client has every event
  (``since`` at or past its last seq);
- refused before accept (HTTP 403): foreign ``Origin`` or not logged in;
- 1001: the service is shutting down (resume with ``?since=<last seq>`` elsewhere or later);
- 1011: the service failed while streaming (the error is in its log; resume with ``since``);
- 4400: the session id or ``since`` is malformed;
- 4403: the session belongs to another user (no event is sent);
- 4404: no session with that id started within the wait;
- 4408: the client fell more than ``ws_max_lag`` lines behind, or one frame could not be sent for the
  stall time (its buffer stayed full); it can reconnect with ``?since=<last seq>``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Coroutine
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected, WebSocketState

from setupwizard.auth.deps import authenticate_websocket, origin_allowed
from setupwizard.config import Settings
from setupwizard.core.errors import ForeignSessionError, NotFoundError
from setupwizard.db.database import Database
from setupwizard.live import store
from setupwizard.live.arrivals import SessionArrivals
from setupwizard.live.bus import ProgressBus
from setupwizard.live.feed import session_events
from setupwizard.live.relay import RelayEnd, relay
from setupwizard.live.sessions import SessionState
from setupwizard.metrics import registry as metrics
from setupwizard.provisioning.events import format_timestamp, utc_now

log = logging.getLogger(__name__)

CONNECTED_MESSAGE = "✓ 实时日志连接已建立"
SESSION_WAIT_SECONDS = 120.0
# A dropped slow client gets its 4408 close frame once it reads what is queued before it; a dead one is
# cut off by uvicorn's ping timeout long before this.
CLOSE_TIMEOUT_SECONDS = 60.0
BAD_REQUEST = 4400
FOREIGN_SESSION = 4403
NO_SESSION = 4404
TOO_SLOW = 4408
SERVER_ERROR = 1011
_SINCE = re.compile(r"[0-9]{1,20}")


class BadRequest(ValueError):
    """The socket's URL is malformed (closed 4400)."""


def parse_request(session_id: str, since: str | None) -> tuple[uuid.UUID, int]:
    """The session id and ``since`` of the socket's URL, parsed once; :class:`BadRequest` when malformed.

    ``since`` is a seq: digits only, 0 ≤ since ≤ :data:`store.MAX_SEQ`.
    """
    try:
        parsed = uuid.UUID(session_id)
    except ValueError:
        raise BadRequest("session id must be a UUID") from None
    if not since:
        return parsed, 0
    if not _SINCE.fullmatch(since) or int(since) > store.MAX_SEQ:
        raise BadRequest(f"since must be a seq, 0..{store.MAX_SEQ}")
    return parsed, int(since)


async def wait_for_session(
    arrivals: SessionArrivals, session_id: str, owner_id: int, wait_seconds: float
) -> SessionState:
    """The caller's session, waiting up to ``wait_seconds`` for it to appear (the page connects first).

    Raises :class:`ForeignSessionError` for another user's session, :class:`NotFoundError` when none
    appeared in time. A missing session is waited for in :class:`SessionArrivals` (no query per socket).
    """
    try:
        return await arrivals.sessions.owned(session_id, owner_id)
    except ForeignSessionError:
        raise
    except NotFoundError:
        row = await arrivals.wait(session_id, wait_seconds)
        if row is None:
            raise
    if row.owner_id != owner_id:
        raise ForeignSessionError("没有这个设置会话", code="session_not_found")
    return row


def connected_frame(session_id: str) -> str:
    """The connection notice sent first (not a session event: it has no seq)."""
    frame = {
        "type": "info",
        "message": CONNECTED_MESSAGE,
        "timestamp": format_timestamp(utc_now()),
        "level": "success",
        "session_id": session_id,
    }
    return json.dumps(frame, ensure_ascii=False)


async def _until_disconnect(ws: WebSocket) -> None:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _stream(
    ws: WebSocket,
    session_id: str,
    since: int,
    *,
    user_id: int,
    settings: Settings,
    db: Database,
    bus: ProgressBus,
    arrivals: SessionArrivals,
) -> tuple[int, str]:
    try:
        row = await wait_for_session(arrivals, session_id, user_id, SESSION_WAIT_SECONDS)
    except ForeignSessionError:
        return FOREIGN_SESSION, "session belongs to another user"
    except NotFoundError:
        return NO_SESSION, "no such session"
    if not row.running and since >= row.last_seq:
        return 1000, "complete"  # the client has every event of a finished session: nothing to wait for
    live_after = max(row.last_seq, await bus.last_seq(session_id) or 0)
    feed = session_events(
        db,
        bus,
        session_id,
        since,
        sessions=arrivals.sessions,
        stored_upto=row.last_seq,
        running_here=arrivals.running_here,
    )
    end = await relay(feed, ws.send_text, max_lag=settings.ws_max_lag, live_after=live_after)
    if end is RelayEnd.TOO_SLOW:
        return TOO_SLOW, "too slow; reconnect with ?since=<last seq>"
    if end is RelayEnd.ENDED:
        state = await arrivals.sessions.state(session_id)
        if state is not None and not state.running:
            return 1000, "complete"
        return 1001, "service shutting down"
    return 1000, "complete"


async def serve_progress(
    ws: WebSocket,
    session_id: str,
    since: str | None,
    *,
    settings: Settings,
    db: Database,
    bus: ProgressBus,
    arrivals: SessionArrivals,
) -> None:
    """Handle one progress WebSocket from handshake to close (see the module doc for close codes)."""
    if not origin_allowed(ws, settings):
        await ws.close(code=1008, reason="origin refused")
        return
    user = await authenticate_websocket(ws)
    if user is None:
        await ws.close(code=1008, reason="not authenticated")
        return
    await ws.accept()
    try:
        await ws.send_text(connected_frame(session_id))
    except (
        WebSocketDisconnect,
        WebSocketDisconnected,
        RuntimeError,
        OSError,
    ):  # it left during the handshake
        log.info("Progress socket of %s: the client left before the first frame", session_id)
        return
    try:
        parsed, start = parse_request(session_id, since)
    except BadRequest as exc:
        await ws.close(code=BAD_REQUEST, reason=str(exc))
        return
    session_id = str(parsed)

    await stream_then_close(
        ws,
        session_id,
        _stream(ws, session_id, start, user_id=user.id, settings=settings, db=db, bus=bus, arrivals=arrivals),
    )


async def stream_then_close(
    ws: WebSocket, session_id: str, stream: Coroutine[Any, Any, tuple[int, str]]
) -> None:
    """Run ``stream`` (it answers a close code and reason), watching for the client leaving; then close.

    A client that left gets nothing more. A stream that failed is the service's fault, not the client's: the
    error is logged and the client gets a 1011 close frame (it resumes with ``since``), never a bare drop.
    """
    metrics.websocket_opened()
    watching = asyncio.create_task(_until_disconnect(ws))
    streaming = asyncio.create_task(stream)
    try:
        done, _ = await asyncio.wait({watching, streaming}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        metrics.websocket_closed()
        for task in (watching, streaming):
            task.cancel()
        await asyncio.gather(watching, streaming, return_exceptions=True)
    peer = f"{ws.client.host}:{ws.client.port}" if ws.client else "?"
    if streaming not in done or streaming.cancelled():
        log.info("Progress socket of %s for %s: the client left", session_id, peer)
        return
    error = streaming.exception()
    if isinstance(error, WebSocketDisconnect | WebSocketDisconnected):
        log.info("Progress socket of %s for %s: the client left (%r)", session_id, peer, error)
        return  # nothing more to say to it
    if error is not None:  # ours, not the client's: say so with a close frame, the client resumes
        log.error("Progress socket of %s for %s failed", session_id, peer, exc_info=error)
        code, reason = SERVER_ERROR, "internal error; reconnect with ?since=<last seq>"
    else:
        code, reason = streaming.result()
    log.info("Progress socket of %s for %s closing: %d %s", session_id, peer, code, reason)
    if ws.application_state is WebSocketState.CONNECTED:
        try:
            await asyncio.wait_for(ws.close(code=code, reason=reason), CLOSE_TIMEOUT_SECONDS)
        except (TimeoutError, RuntimeError, OSError, WebSocketDisconnect):
            log.info("Could not close the progress socket of %s cleanly", session_id)
