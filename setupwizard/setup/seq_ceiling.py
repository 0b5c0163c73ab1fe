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

Every session of the process reserves through one :class:`CeilingWriter`: what all of them ask for while a
write is under way goes into the next write, one transaction (one ``executemany`` update) for all of them.
Sessions that start together cross half of their first reservation together: with a write each, 200 of
them queued 200 transactions on SQLite's one write lock in the same moment (about 30 shared writes instead
of 400 in benchmark 2's 200-session run). It was suspected of that run's higher latency; measured again,
the latency is the same without any reservation write (bench/results.md, session (d)).

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


class CeilingWriter:
    """Writes the reservations of every running session of a process, together: one transaction for all
    that were asked for while the previous one was under way."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._wanted: dict[str, int] = {}  # session id -> ceiling, for the next write
        self._next: asyncio.Future[BaseException | None] | None = None  # that write's outcome
        self._writer: asyncio.Task[None] | None = None
        self.writes = 0  # transactions begun (tests and benchmarks read it)

    async def reserve(self, session_id: str, ceiling: int) -> BaseException | None:
        """Write ``ceiling`` into the session's row (never lowering it), with whatever else is asked for
        meanwhile; returns the write's error, or None once it is committed."""
        self._wanted[session_id] = max(ceiling, self._wanted.get(session_id, 0))
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        outcome = self._next
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all(), name="seq-ceilings")
        return await asyncio.shield(outcome)

    async def _write_all(self) -> None:
        try:
            while self._wanted:
                wanted, self._wanted = self._wanted, {}
                outcome, self._next = self._next, None
                assert outcome is not None
                self.writes += 1
                try:
                    async with self.db.session() as session:
                        await repository.raise_seq_ceilings(session, wanted)
                except Exception as exc:
                    outcome.set_result(exc)
                else:
                    outcome.set_result(None)
        finally:  # also when cancelled (the process stops): nobody waits on a write that never comes
            self._writer = None
            if self._next is not None and not self._next.done():
                self._next.set_result(RuntimeError("the reservation writer stopped"))
            self._next, self._wanted = None, {}


class SeqCeiling:
    """One running session's reserved seqs.

    :param ceiling: what the row holds now (:data:`FIRST_RESERVATION` for a new session).
    """

    def __init__(self, writer: CeilingWriter, session_id: str, ceiling: int = 0) -> None:
        self.writer = writer
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
            error = await self.writer.reserve(self.session_id, ceiling)
        finally:
            if self._pending is asyncio.current_task():
                self._pending = None
        if error is not None:
            self._retry_at = asyncio.get_running_loop().time() + RETRY_SECONDS
            if _report.due():
                log.warning(
                    "Session %s: seqs above %d could not be reserved (%s); publishing them all the same",
                    self.session_id,
                    self.ceiling,
                    describe(error),
                )
        elif ceiling > self.ceiling:
            self.ceiling, self._reserved_at = ceiling, seq
