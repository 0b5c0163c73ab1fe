"""Seqs reserved before they are shown live, so a crash recovery never reuses one (issue 17 item 9).

Events go to the bus (live viewers) at once and to the database a tick later (group commit). After a
``kill -9`` the in-process bus is gone with the process, and the stored seqs end below what viewers saw:
numbering the recovery's final event after the stored ones reused seqs already shown, and a viewer
resuming with ``?since=<last seen>`` never got it. So a running session publishes a seq only once its row's
``seq_ceiling`` covers it; the recovery (and the dead-worker sweep when the bus lost the stream) numbers the
final event above the ceiling. The ceiling moves ahead in growing steps (to twice the seq, at least
:data:`MIN_STEP` ahead): about ten small writes for a 100,000-line session, the first one before the run's
first event. The price is a gap in the seqs of a crashed session's history, between its last stored line
and its final event: the lines published there were lost with the process (docs/reliability.md).

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
RETRY_SECONDS = 1.0
_report = ReportGate(60.0)


class SeqCeiling:
    """One running session's reserved seqs.

    :param ceiling: what the row holds now (0 for a new session).
    """

    def __init__(self, db: Database, session_id: str, ceiling: int = 0) -> None:
        self.db = db
        self.session_id = session_id
        self.ceiling = ceiling
        self._retry_at = 0.0

    async def cover(self, seq: int) -> None:
        """Make sure seqs up to ``seq`` are reserved in the database before they are published."""
        if seq <= self.ceiling:
            return
        now = asyncio.get_running_loop().time()
        if now < self._retry_at:
            return
        ceiling = max(seq + MIN_STEP, 2 * seq)
        try:
            async with self.db.session() as session:
                await repository.raise_seq_ceiling(session, self.session_id, ceiling)
        except Exception as exc:
            self._retry_at = now + RETRY_SECONDS
            if not _report.due():
                return
            log.warning(
                "Session %s: seqs above %d could not be reserved (%s); publishing them all the same",
                self.session_id,
                self.ceiling,
                describe(exc),
            )
            return
        self.ceiling = ceiling
