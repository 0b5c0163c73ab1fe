"""Stores every running session's events with one writer per process (group commit), so 200 chatty
sessions cost a few transactions a second, not 200 writers fighting over the database.

The service opens an :class:`EventRecorder` per session on the process's :class:`EventStore` and hands it
each batch the engine emitted; the batches wait in memory. The store's one writer task writes what every
session has waiting every ``flush_seconds``, or at once when ``batch_size`` events are waiting or a
recorder flushes: one transaction per slice of at most ``WRITE_SLICE`` events, holding the events of
every session in that slice, with one ``last_seq`` update per session and one ``executemany`` insert (a
prepared statement on the driver; see live/store.py).

Why one writer: SQLite has one write lock. With a writer per session, 200 sessions printing 20 lines a
second each made 800 small transactions a second that queued on that lock (and the connection pool),
and some failed with ``database is locked``. One writer makes it one transaction per tick, whatever the
number of sessions. On PostgreSQL it saves as many round trips.

The slices keep the work one write does on the event loop small: under a flood the buffers grow while a
write is under way, and one write of everything buffered once held every other session's lines up for
half a second. A failed write keeps the events and is retried on the next tick, session by session so
one session's bad row cannot hold the others; if the process dies, at most the last unwritten tick is
lost (the events themselves were already on the bus). :meth:`EventRecorder.close` writes what is left of
its session (retried a few times).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from setupwizard.db.database import Database
from setupwizard.live.store import add_event_batches, add_events
from setupwizard.metrics import registry as metrics
from setupwizard.provisioning.events import SessionEvent, seq_count

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 200
WRITE_SLICE = 5000
"""At most about this many lines per transaction (whole events; the rest follow in the next ones, at once)."""
CLOSE_ATTEMPTS = 5
CLOSE_BACKOFF_SECONDS = 0.5
"""The n-th failed final write waits n times this long before the next (tests make it short)."""


class EventRecorder:
    """One session's handle on the process's :class:`EventStore`: ``add`` never waits for the database,
    ``flush`` waits until everything added so far is written, ``close`` writes the rest and lets go."""

    def __init__(self, store: EventStore, session_id: str) -> None:
        self._store = store
        self.session_id = session_id
        self.buffer: list[SessionEvent] = []  # handed over, not yet stored (oldest first)
        self.buffered = 0  # seqs (lines) in the buffer: an event may carry many
        self.written = 0  # seqs stored
        self.error: BaseException | None = None  # the last write's failure, until one succeeds
        self.failed_round = -1  # the store's round in which the last failed write happened
        self.changed = asyncio.Condition()

    def add(self, events: Sequence[SessionEvent]) -> None:
        """Queue a batch of events for writing; never waits for the database."""
        if not events:
            return
        count = seq_count(events)
        self.buffer.extend(events)
        self.buffered += count
        self._store.queued(count)

    @property
    def added(self) -> int:
        """Seqs handed over, ever: the stored ones and those still waiting."""
        return self.written + self.buffered

    async def flush(self) -> None:
        """Write everything added so far, now; raises the write's error if it failed."""
        target = self.added
        if self.written >= target:
            return
        self._store.wake()
        asked_in = self._store.rounds
        async with self.changed:
            while self.written < target:
                await self.changed.wait()
                if self.written < target and self.error is not None and self.failed_round >= asked_in:
                    raise self.error

    async def settle(self) -> bool:
        """Write what is waiting, tried a few times; True when every event added so far is stored.

        When it stays False, the events still waiting are the session's last ones (the stored ones are
        always a prefix of the session: writes go in order).
        """
        for attempt in range(CLOSE_ATTEMPTS):
            try:
                await self.flush()
                return True
            except Exception:
                log.exception(
                    "Final write of session %s events failed (attempt %d)", self.session_id, attempt
                )
                await asyncio.sleep(CLOSE_BACKOFF_SECONDS * (attempt + 1))
        return self.written >= self.added

    async def close(self) -> bool:
        """Write what is left (:meth:`settle`), then leave the store; True when everything was stored."""
        try:
            return await self.settle()
        finally:
            self._store.forget(self)


class EventStore:
    """The process's event writer: group commit of every open :class:`EventRecorder`.

    :param db: the database.
    :param flush_seconds: the longest an event waits in memory before it is written.
    :param batch_size: write at once when this many events are waiting, over all sessions.
    """

    def __init__(self, db: Database, flush_seconds: float, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self._db = db
        self._flush_seconds = flush_seconds
        self._batch_size = batch_size
        self._recorders: dict[str, EventRecorder] = {}
        self._waiting = 0  # events queued and not yet written, over all sessions
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0  # write rounds done (a flush that saw one fail after it asked gives up)

    @property
    def failing(self) -> BaseException | None:
        """The error of an open session's write that failed and has not succeeded since (for health)."""
        for recorder in self._recorders.values():
            if recorder.error is not None:
                return recorder.error
        return None

    def open(self, session_id: str) -> EventRecorder:
        """A recorder for a session whose row exists."""
        recorder = EventRecorder(self, session_id)
        self._recorders[session_id] = recorder
        return recorder

    def forget(self, recorder: EventRecorder) -> None:
        """Drop a closed recorder (what it could not write is lost, and was logged)."""
        if self._recorders.get(recorder.session_id) is recorder:
            del self._recorders[recorder.session_id]
        self._waiting -= recorder.buffered
        recorder.buffer.clear()
        recorder.buffered = 0

    def queued(self, count: int) -> None:
        self._waiting += count
        if self._waiting >= self._batch_size:
            self.wake()
        else:
            self._ensure_writer()

    def wake(self) -> None:
        """Write now rather than at the next tick."""
        self._wakeup.set()
        self._ensure_writer()

    def _ensure_writer(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="event-store-writer")

    async def close(self) -> None:
        """Write what every recorder has waiting, then stop the writer."""
        if self._recorders:
            await asyncio.gather(*(r.flush() for r in list(self._recorders.values())), return_exceptions=True)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while self._recorders:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._flush_seconds)
            self._wakeup.clear()
            await self.write_waiting()

    async def write_waiting(self) -> None:
        """One round: what was waiting when it began, a transaction per slice (a failed slice is retried
        session by session); events that arrive meanwhile go in the round's slices while there is room."""
        budget = self._waiting
        while budget > 0:
            batches = self._take_slice()
            if not batches:
                break
            started = metrics.clock()
            try:
                async with self._db.session() as session:
                    await add_event_batches(session, batches)
            except Exception:
                metrics.events_write_failed()
                await self._write_one_by_one(batches)
            else:
                metrics.events_written(started)
                self._written(batches)
            budget -= sum(seq_count(events) for _, events in batches)
            await self._notify(batches)
            await asyncio.sleep(0)  # a turn for everyone else between slices
        self.rounds += 1

    async def _notify(self, batches: list[tuple[str, list[SessionEvent]]]) -> None:
        for session_id, _ in batches:
            recorder = self._recorders.get(session_id)
            if recorder is not None:
                async with recorder.changed:
                    recorder.changed.notify_all()

    def _take_slice(self) -> list[tuple[str, list[SessionEvent]]]:
        """Up to WRITE_SLICE waiting seqs (whole events; one at least), sessions in the order they opened;
        each session's in order.

        A session whose write failed in this round waits for the next round.
        """
        batches: list[tuple[str, list[SessionEvent]]] = []
        room = WRITE_SLICE
        for recorder in self._recorders.values():
            if room <= 0:
                break
            if not recorder.buffer or recorder.failed_round == self.rounds:
                continue
            taken: list[SessionEvent] = []
            for event in recorder.buffer:
                if room <= 0:
                    break
                taken.append(event)
                room -= event.size
            batches.append((recorder.session_id, taken))
        return batches

    async def _write_one_by_one(self, batches: list[tuple[str, list[SessionEvent]]]) -> None:
        for session_id, events in batches:
            try:
                async with self._db.session() as session:
                    await add_events(session, session_id, events)
            except Exception as exc:
                metrics.events_write_failed()
                recorder = self._recorders.get(session_id)
                if recorder is not None:
                    recorder.error = exc
                    recorder.failed_round = self.rounds
                log.exception("Writing events of session %s failed; retrying", session_id)
            else:
                self._written([(session_id, events)])

    def _written(self, batches: list[tuple[str, list[SessionEvent]]]) -> None:
        for session_id, events in batches:
            recorder = self._recorders.get(session_id)
            if recorder is None:
                continue
            count = seq_count(events)
            del recorder.buffer[: len(events)]
            recorder.buffered -= count
            recorder.written += count
            recorder.error = None
            self._waiting -= count
