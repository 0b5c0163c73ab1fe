"""``WS /api/fleets/{id}/progress``: the fleet's numbered events (hosts' status and steps), ``?since=N``.

Frames are JSON objects with ``seq`` (1, 2, … per fleet), ``type`` (``fleet``, ``host`` or ``step``) and
``at``; replayed from the database after ``since``, then live. The socket closes with 1000 once the
fleet has ended and every event was sent (a retry starts it again: reconnect with ``since``). Close codes
otherwise as the session socket's: 4400 a malformed id or ``since``, 4404 no such fleet of the caller.
"""

from __future__ import annotations

import json
import re
import uuid

from starlette.websockets import WebSocket

from setupwizard.auth.deps import authenticate_websocket, origin_allowed
from setupwizard.db.database import Database
from setupwizard.fleets import repository
from setupwizard.fleets.service import ENDED_FLEET, FleetService
from setupwizard.live.socket import BAD_REQUEST, NO_SESSION, stream_then_close

_SINCE = re.compile(r"[0-9]{1,12}")


async def serve_fleet_progress(ws: WebSocket, fleet_id: str, since: str | None) -> None:
    """Handle one fleet progress socket from handshake to close."""
    app = ws.app
    if not origin_allowed(ws, app.state.settings):
        await ws.close(code=1008, reason="origin refused")
        return
    user = await authenticate_websocket(ws)
    if user is None:
        await ws.close(code=1008, reason="not authenticated")
        return
    await ws.accept()
    try:
        fleet_id = str(uuid.UUID(fleet_id))
    except ValueError:
        await ws.close(code=BAD_REQUEST, reason="fleet id must be a UUID")
        return
    if since and not _SINCE.fullmatch(since):
        await ws.close(code=BAD_REQUEST, reason="since must be a seq")
        return
    start = int(since) if since else 0
    await stream_then_close(
        ws, fleet_id, _stream(ws, fleet_id, start, user.id, app.state.db, app.state.fleet_service)
    )


async def _stream(
    ws: WebSocket, fleet_id: str, since: int, user_id: int, db: Database, fleets: FleetService
) -> tuple[int, str]:
    while True:
        async with db.session() as session:
            fleet = await repository.get_fleet(session, fleet_id)
            if fleet is None or fleet.owner_id != user_id:
                return NO_SESSION, "no such fleet"
            ended = fleet.status in ENDED_FLEET
            events = await repository.events_after(session, fleet_id, since)
        for event in events:
            await ws.send_text(json.dumps(event, ensure_ascii=False))
            since = int(event["seq"])
        if events:
            continue
        if ended:
            return 1000, "complete"
        await fleets.progress.wait(fleet_id)
