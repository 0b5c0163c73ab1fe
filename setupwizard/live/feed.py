"""One ordered stream of a session's events for a reader, merged from the database and the bus.

The database holds what the recorder has written (everything, for a finished session); the bus holds what
was published and not yet expired (everything, for a running one). The feed reads the database first,
then follows the bus from the last seq it gave out, skipping seqs it already gave and filling any hole
from the database, so a reader sees every seq exactly once, in order, whatever joined when.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from setupwizard.db.database import Database
from setupwizard.live.bus import ProgressBus
from setupwizard.provisioning.events import EventType, SessionEvent
from setupwizard.setup import repository

log = logging.getLogger(__name__)

RECHECK_SECONDS = 10.0
"""While the bus is quiet, how often the feed checks whether the session ended without it (a crash)."""


async def _stored(db: Database, session_id: str, since: int, until: int | None = None) -> list[SessionEvent]:
    async with db.session() as session:
        return await repository.events_after(session, session_id, since, until)


async def _finished(db: Database, session_id: str) -> bool:
    async with db.session() as session:
        row = await repository.get_session(session, session_id)
    return row is None or row.status != repository.RUNNING


async def session_events(
    db: Database,
    bus: ProgressBus,
    session_id: str,
    since: int = 0,
    *,
    recheck_seconds: float = RECHECK_SECONDS,
    gap_wait_seconds: float = 5.0,
) -> AsyncIterator[SessionEvent]:
    """Every event of the session with ``seq > since``, once each, in order, ending after ``complete``.

    The session row must exist. Stored events come first; then live ones from the bus. If the bus stays
    quiet for ``recheck_seconds`` and the row says the session ended, the rest comes from the database.
    """
    cursor = since
    for event in await _stored(db, session_id, cursor):
        cursor = event.seq
        yield event
        if event.type is EventType.COMPLETE:
            return

    live = aiter(bus.subscribe(session_id, since=cursor))
    pending: asyncio.Future[SessionEvent] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(live))
            done, _ = await asyncio.wait({pending}, timeout=recheck_seconds)
            if not done:
                if await _finished(db, session_id):
                    for event in await _stored(db, session_id, cursor):
                        cursor = event.seq
                        yield event
                    return
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            if event.seq <= cursor:
                continue
            if event.seq > cursor + 1:
                async for missing in _fill_gap(db, session_id, cursor, event.seq, gap_wait_seconds):
                    cursor = missing.seq
                    yield missing
            cursor = event.seq
            yield event
            if event.type is EventType.COMPLETE:
                return
    finally:
        if pending is not None:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
        aclose = getattr(live, "aclose", None)
        if aclose is not None:
            await aclose()


async def _fill_gap(
    db: Database, session_id: str, cursor: int, upto: int, wait_seconds: float
) -> AsyncIterator[SessionEvent]:
    """Events ``cursor < seq < upto`` from the database (the bus no longer had them)."""
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        missing = await _stored(db, session_id, cursor, upto)
        if len(missing) == upto - cursor - 1 or asyncio.get_running_loop().time() >= deadline:
            break
        await asyncio.sleep(0.1)  # the recorder has not written them yet
    if len(missing) != upto - cursor - 1:
        log.warning(
            "Session %s: events %d..%d are lost (not on the bus, not stored)",
            session_id,
            cursor + 1,
            upto - 1,
        )
    for event in missing:
        yield event
