"""Ending a queued session that no run will end: cancelled before any worker took it, or left by a worker
that died (stalled). The final event goes above every seq that may have been shown live; events the dead
worker published to the bus but never stored are copied from the bus first; ``complete`` then goes to the
bus, so a WebSocket still watching ends. (This was the dead-worker sweep's, ``setup/sweep.py``.)"""

from __future__ import annotations

import logging

from setupwizard.db.database import Database
from setupwizard.live import event_reads, store
from setupwizard.live.bus import ProgressBus
from setupwizard.provisioning.events import EventType, SessionEvent
from setupwizard.provisioning.messages import render
from setupwizard.provisioning.result import SessionStatus, SetupResult
from setupwizard.setup import repository
from setupwizard.setup.session_end import end_session

log = logging.getLogger(__name__)


def cancelled_before_start() -> SetupResult:
    """The result of a session cancelled while its job waited in the queue."""
    return SetupResult(
        message=render("run.cancelled", {}),
        status=SessionStatus.CANCELLED,
        error_code="cancelled",
        code="run.cancelled",
        params={},
    )


async def end_unrun(
    db: Database, bus: ProgressBus, session_id: str, result: SetupResult, *, retried_as: str | None = None
) -> bool:
    """End ``session_id`` with ``result`` if it is still ``running`` (``retried_as``: the session that runs
    its request again, named in the complete event's data); False when it had ended already."""
    async with db.session() as session:
        row = await repository.get_session(session, session_id)
        if row is None or row.status != SessionStatus.RUNNING:
            return False
        stored = max(row.last_seq, await event_reads.max_event_seq(session, session_id))
        missing, published = await _unstored_events(bus, session_id, stored)
        await store.add_events(session, session_id, missing)
        last = max(missing[-1].seq if missing else stored, published or 0)
        if published is None:  # the bus lost the stream: above every seq that may have been shown
            last = max(last, row.seq_ceiling)
        extra = {"retried_as": retried_as} if retried_as else None
        final = await end_session(session, session_id, last, result, extra)
    try:
        await bus.publish(session_id, (final,))
    except Exception:  # watchers then learn the end from the database when they resume
        log.exception("Publishing the end of setup %s failed", session_id)
    return True


async def _unstored_events(
    bus: ProgressBus, session_id: str, stored: int
) -> tuple[list[SessionEvent], int | None]:
    """Events published after the last one stored (a dead worker's unflushed batch), and the highest seq
    the bus holds (None when it holds nothing or could not be read)."""
    last: int | None = None
    try:
        last = await bus.last_seq(session_id)
        if last is None or last <= stored:
            return [], last
        events: list[SessionEvent] = []
        replay = bus.subscribe(session_id, since=stored)
        try:
            async for batch in replay:
                events.extend(event for event in batch if event.type is not EventType.COMPLETE)
                if batch[-1].seq >= last:
                    break
        finally:  # an async generator left early: close it now, not at garbage collection
            close = getattr(replay, "aclose", None)
            if close is not None:
                await close()
        return events, last
    except Exception:
        log.exception("Reading the unstored events of setup %s from the bus failed", session_id)
        return [], None
