"""Seqs reserved before they are shown live, so a crash recovery never reuses one.

Events go to the bus (live viewers) at once and to the database a tick later (group commit). After a
``kill -9`` the in-process bus is gone with the process, and the stored seqs end below what viewers saw:
numbering the recovery's final event after the stored ones reused seqs already shown, and a viewer
resuming with ``?since=<last seen>`` never got it. So a running session publishes a seq only once its row's
``seq_ceiling`` covers it; the recovery (and the stalled-job pass, ``jobs/stalled.py``, when the bus lost
the stream) numbers the final event above the ceiling. The price is a gap in the seqs of a crashed
session's history, between its last stored line and its final event: the lines published there were lost
with the process (docs/reliability.md).

The reservation stays ahead of the seqs, so publishing never waits for it:

- the session's row is inserted with :data:`FIRST_RESERVATION` seqs already reserved;
- once a session has used half of its latest reservation, the next one (about twice the seq, at least
  :data:`MIN_STEP` ahead) is written in a background task, while publishing goes on under the old one;
- a publish waits only when it has caught up with the ceiling (a burst faster than one database write).

That is about fifteen small writes for a 100,000-line session. Waiting on every crossing instead (the first
version) put a SQLite write in the publish path of every session at about the same seqs, and p99 latency at
200 sessions went from 7.5 to 70 ms (bench/results.md).

When the ceiling cannot be written (the database is failing), the events are published all the same (live
viewers come first; the session will say its log is incomplete), and the next try waits
:data:`RETRY_SECONDS`.
"""

from __future__ import annotations

import asyncio
import logging

from setupwizard.core.ratelog import ReportGate
from setupwizard.db.database import Database
from setupwizard.db.faults import describe
from setupwizard.setup import repository

log = logging.getLogger(__name__)

MIN_STEP = 256
FIRST_RESERVATION = MIN_STEP  # written with the session's row, before its first event
RETRY_SECONDS = 1.0
_report = ReportGate(60.0)


class SeqCeiling:
    """One running session's reserved seqs.

    :param ceiling: what the row holds now (:data:`FIRST_RESERVATION` for a new session).
    """

    def __init__(self, db: Database, session_id: str, ceiling: int = 0) -> None:
        self.db = db
        self.session_id = session_id
        self.ceiling = ceiling
        self._reserved_at = 0  # the seq that asked for the current ceiling
        self._pending: asyncio.Task[None] | None = None
        self._retry_at = 0.0

    def _half_used(self, seq: int) -> bool:
        return 2 * seq > self.ceiling + self._reserved_at

    async def cover(self, seq: int) -> None:
        """Make sure seqs up to ``seq`` are reserved in the database before they are published."""
        if self._pending is None and self._half_used(seq) and not self._waiting_to_retry():
            self._pending = asyncio.create_task(self._reserve(seq), name=f"seq-ceiling-{self.session_id}")
        if seq <= self.ceiling:
            return
        if self._pending is not None:  # caught up: wait for the reservation under way
            await asyncio.shield(self._pending)
        if seq > self.ceiling and not self._waiting_to_retry():  # it was for less, or it failed
            await self._reserve(seq)

    async def close(self) -> None:
        """Wait for a reservation under way (the session is ending)."""
        if self._pending is not None:
            await asyncio.shield(self._pending)

    def _waiting_to_retry(self) -> bool:
        return asyncio.get_running_loop().time() < self._retry_at

    async def _reserve(self, seq: int) -> None:
        ceiling = max(seq + MIN_STEP, 2 * seq)
        try:
            async with self.db.session() as session:
                await repository.raise_seq_ceiling(session, self.session_id, ceiling)
        except Exception as exc:
            self._retry_at = asyncio.get_running_loop().time() + RETRY_SECONDS
            if _report.due():
                log.warning(
                    "Session %s: seqs above %d could not be reserved (%s); publishing them all the same",
                    self.session_id,
                    self.ceiling,
                    describe(exc),
                )
        else:
            if ceiling > self.ceiling:
                self.ceiling, self._reserved_at = ceiling, seq
        finally:
            if self._pending is asyncio.current_task():
                self._pending = None
