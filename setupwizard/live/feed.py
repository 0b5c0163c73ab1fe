"""One ordered stream of a session's events for a reader, merged from the database and the bus.

The database holds what the recorder has written (everything, for a finished session); the bus holds what was
published and not yet expired (everything, for a running one). The feed reads the database first, then follows
the bus from the last seq it gave out, skipping seqs it already gave (also the first lines of a multi-line
event) and filling any hole from the database, so a reader sees every seq exactly once, in order, whatever
joined when.

Like the bus, the feed moves batches: one wait per batch the bus hands over, not one per event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from setupwizard.db.database import Database
from setupwizard.live import event_reads
from setupwizard.live.bus import ProgressBus
from setupwizard.live.sessions import SessionLookup
from setupwizard.provisioning.events import EventType, SessionEvent

log = logging.getLogger(__name__)

RECHECK_SECONDS = 10.0
"""While the bus is quiet, how often the feed checks whether the session ended without it (a crash)."""


STORED_PAGE = 2000
"""Stored events are read this many at a time, so a long finished session never sits whole in memory."""


async def _stored(
    db: Database, session_id: str, since: int, until: int | None = None, limit: int | None = None
) -> list[SessionEvent]:
    async with db.session() as session:
        return await event_reads.events_after(session, session_id, since, until, limit=limit)


async def _stored_pages(db: Database, session_id: str, since: int) -> AsyncIterator[list[SessionEvent]]:
    """Stored events after ``since`` a page at a time, ending after ``complete`` or the last stored."""
    cursor = since
    while True:
        page = await _stored(db, session_id, cursor, limit=STORED_PAGE)
        page, ended = _through_complete(page)
        if page:
            cursor = page[-1].seq
            yield page
        if ended or len(page) < STORED_PAGE:
            return


async def _finished(sessions: SessionLookup, session_id: str) -> bool:
    state = await sessions.state(session_id)
    return state is None or not state.running


def _through_complete(events: list[SessionEvent]) -> tuple[list[SessionEvent], bool]:
    """``events`` up to and including a ``complete`` one, and whether there was one."""
    for index, event in enumerate(events):
        if event.type is EventType.COMPLETE:
            return events[: index + 1], True
    return events, False


async def session_events(
    db: Database,
    bus: ProgressBus,
    session_id: str,
    since: int = 0,
    *,
    sessions: SessionLookup,
    recheck_seconds: float = RECHECK_SECONDS,
    gap_wait_seconds: float = 5.0,
    stored_upto: int | None = None,
    running_here: Callable[[str], bool] = lambda _session_id: False,
) -> AsyncIterator[list[SessionEvent]]:
    """Every event of the session with ``seq > since``, once each, in order, in non-empty batches.

    Ends after the batch holding ``complete``. The session must exist. Stored events come first;
    then live ones from the bus. If the bus stays quiet for ``recheck_seconds`` and ``sessions`` says the
    session ended, the rest comes from the database. ``stored_upto`` is the row's ``last_seq`` when the
    caller read it: at or below ``since`` nothing stored is newer, and the first read is skipped (what was
    stored since is on the bus, and a hole the bus no longer holds is filled from the database).
    ``running_here`` says whether this process runs the session: then a quiet bus means a quiet run, and
    the recheck skips the database (2,000 watchers of quiet sessions made 200 queries a second).
    """
    cursor = since
    if stored_upto is None or stored_upto > since:
        async for stored in _stored_pages(db, session_id, cursor):
            cursor = stored[-1].seq
            yield stored
            if stored[-1].type is EventType.COMPLETE:
                return

    # One generator, read in this task: no task and no timer per batch (a tick of 200 quiet sessions is
    # 200 batches). The bus's heartbeat gives the recheck its turn.
    live = bus.subscribe(session_id, since=cursor, heartbeat=recheck_seconds)
    try:
        async for batch in live:
            if not batch:  # quiet for recheck_seconds
                if not running_here(session_id) and await _finished(sessions, session_id):
                    async for rest in _stored_pages(db, session_id, cursor):
                        yield rest
                    return
                continue
            fresh: list[SessionEvent] = []
            for whole in batch:
                event = whole.after(cursor)
                if event is None:
                    continue
                if event.start > cursor + 1:
                    if fresh:
                        yield fresh
                        fresh = []
                    missing = await _fill_gap(db, session_id, cursor, event.start, gap_wait_seconds)
                    if missing:
                        yield missing
                cursor = event.seq
                fresh.append(event)
            fresh, ended = _through_complete(fresh)
            if fresh:
                yield fresh
            if ended:
                return
    finally:
        aclose = getattr(live, "aclose", None)
        if aclose is not None:
            await aclose()


async def _fill_gap(
    db: Database, session_id: str, cursor: int, upto: int, wait_seconds: float
) -> list[SessionEvent]:
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
    return missing
