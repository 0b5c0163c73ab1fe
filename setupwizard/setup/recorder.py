"""Stores a session's events in batches, so a chatty apt run costs a few transactions, not thousands.

The service hands over each batch the engine emitted; batches are buffered in memory and written every
``flush_seconds`` or as soon as ``batch_size`` events are waiting, one transaction and one ``executemany``
insert (a prepared statement on the driver, see the repository) per slice of at most ``WRITE_SLICE``
events. The slices keep the work one write does on the event loop small: under a flood the buffer
grows while a write is under way, and one write of everything buffered once held every other
session's lines up for half a second. :meth:`EventRecorder.close` writes
whatever is left. A failed write keeps the batch and retries on the next tick; if the process dies, at
most the last unflushed batch is lost (the events themselves were already on the bus).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from setupwizard.db.database import Database
from setupwizard.provisioning.events import SessionEvent
from setupwizard.setup import repository

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 200
WRITE_SLICE = 5000
"""At most this many events per transaction (the rest follow in the next ones, at once)."""


class EventRecorder:
    """Batched persistence of one session's events.

    :param db: the database.
    :param session_id: the session the events belong to (its row must exist).
    :param flush_seconds: the longest an event waits in memory before it is written.
    :param batch_size: write at once when this many events are waiting.
    """

    def __init__(
        self, db: Database, session_id: str, flush_seconds: float, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> None:
        self._db = db
        self._session_id = session_id
        self._flush_seconds = flush_seconds
        self._batch_size = batch_size
        self._buffer: list[SessionEvent] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()

    def start(self) -> None:
        """Start the background writer."""
        self._task = asyncio.create_task(self._run(), name=f"event-recorder-{self._session_id}")

    def add(self, events: Sequence[SessionEvent]) -> None:
        """Queue a batch of events for writing; never waits for the database."""
        self._buffer.extend(events)
        if len(self._buffer) >= self._batch_size:
            self._wakeup.set()

    async def flush(self) -> None:
        """Write everything buffered now, a transaction per slice of ``WRITE_SLICE`` events."""
        async with self._write_lock:
            while self._buffer:
                batch = self._buffer[:WRITE_SLICE]
                async with self._db.session() as session:
                    await repository.add_events(session, self._session_id, batch)
                del self._buffer[: len(batch)]

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._flush_seconds)
            self._wakeup.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("Writing events of session %s failed; retrying", self._session_id)

    async def close(self) -> None:
        """Stop the background writer and write what is left (retried a few times)."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        for attempt in range(5):
            try:
                await self.flush()
                return
            except Exception:
                log.exception(
                    "Final write of session %s events failed (attempt %d)", self._session_id, attempt
                )
                await asyncio.sleep(0.5 * (attempt + 1))
