"""Where progress sockets wait for a session that does not exist yet (the page connects before it POSTs).

A socket whose session row is not there yet parks here. This process's service hands over the row at
once when it creates a session (:meth:`SessionArrivals.arrived`), so the usual case costs no query at
all; a session created by another worker (scale-out) is found by one poll that asks for every parked
id in one query every ``poll_seconds``, however many sockets wait. Before this, each waiting socket
polled the database on its own: 2,000 watchers connecting ahead of 200 setups held the whole SQLite
connection pool, and the setups' own inserts got 503 ``database_unavailable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from setupwizard.core.ratelog import ReportGate
from setupwizard.live.sessions import SessionLookup, SessionState

log = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = 0.25
QUERY_CHUNK = 500
"""At most this many ids in one ``IN (…)`` (SQLite's parameter limit is far above; this keeps it modest)."""


class SessionArrivals:
    """Wakes sockets parked on a session id when its row exists.

    :param sessions: where sessions are looked up (polled for sessions other workers create).
    :param poll_seconds: how often the one poll runs while anyone is parked.
    :param running_here: whether this process runs a session (the service's own answer).
    """

    def __init__(
        self,
        sessions: SessionLookup,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        running_here: Callable[[str], bool] = lambda _session_id: False,
    ) -> None:
        self.sessions = sessions
        self.running_here = running_here
        """Whether this process runs a session (its sockets need not ask the database whether it ended)."""
        self._poll_seconds = poll_seconds
        self._parked: dict[str, list[asyncio.Future[SessionState]]] = {}
        self._poller: asyncio.Task[None] | None = None
        self._gate = ReportGate(60.0)

    def arrived(self, row: SessionState) -> None:
        """The session's row was just committed (by this process): hand it to whoever waits for it."""
        for future in self._parked.pop(row.session_id, ()):
            if not future.done():
                future.set_result(row)

    async def wait(self, session_id: str, seconds: float) -> SessionState | None:
        """The session's row as it was committed, waiting up to ``seconds`` for it; None when it did not
        appear. The caller checks the database itself first (a session that exists never parks here).
        """
        future: asyncio.Future[SessionState] = asyncio.get_running_loop().create_future()
        self._parked.setdefault(session_id, []).append(future)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="session-arrivals-poll")
        try:
            return await asyncio.wait_for(asyncio.shield(future), seconds)
        except TimeoutError:
            return None
        finally:
            self._unpark(session_id, future)

    def _unpark(self, session_id: str, future: asyncio.Future[SessionState]) -> None:
        waiting = self._parked.get(session_id)
        if waiting is None:
            return
        with contextlib.suppress(ValueError):
            waiting.remove(future)
        if not waiting:
            del self._parked[session_id]

    async def _poll(self) -> None:
        while self._parked:
            await asyncio.sleep(self._poll_seconds)
            ids = list(self._parked)
            try:
                for start in range(0, len(ids), QUERY_CHUNK):
                    for row in await self.sessions.existing(ids[start : start + QUERY_CHUNK]):
                        self.arrived(row)
            except Exception as exc:  # the database is away: the sockets keep waiting (up to their timeout)
                if self._gate.due():
                    log.warning("Looking for sessions that sockets wait for failed: %s", exc)

    async def close(self) -> None:
        """Stop polling (parked sockets time out, or end with the service)."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
