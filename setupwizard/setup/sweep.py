"""The dead-worker sweep: a live worker ends the sessions of a worker that died mid-run.

Several workers (Redis mode): every ``sweep_interval_seconds`` each worker looks at the ``running`` rows.
A row no worker is alive for (its heartbeat in :mod:`~setupwizard.setup.run_signals` expired) is ended as
``interrupted``, with the same message and result as after a restart. Its log is kept, and events the dead
worker had published to the bus but not yet stored are copied from the bus first; the ``complete`` event
then goes to the bus too, so a WebSocket still watching on a live worker ends.

Why this does not end a run that is alive: the runner stores its final row *before* it drops its
heartbeat, and the sweep reads the row again after it found no heartbeat. A row just inserted, whose
heartbeat may not be written yet, is left alone for ``grace`` seconds. And a heartbeat must be missing at
two passes at least ``confirm_after`` seconds apart (longer than one renewal period), so a Redis that
restarted empty, whose keys the live runners write again at their next beat, ends nothing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from setupwizard.db.database import Database
from setupwizard.live import event_reads, store
from setupwizard.live.bus import ProgressBus
from setupwizard.provisioning.events import EventType, SessionEvent
from setupwizard.provisioning.result import SessionStatus
from setupwizard.setup import repository
from setupwizard.setup.run_signals import RunSignals
from setupwizard.setup.session_end import interrupt_session

log = logging.getLogger(__name__)


class DeadRunSweep:
    """Periodically ends ``running`` sessions whose worker is gone.

    :param interval: seconds between two sweeps.
    :param grace: a row younger than this is never swept (its heartbeat may be on its way).
    :param confirm_after: a heartbeat must have been missing this long (seen at an earlier pass) before
        its session is ended; 0 ends it at the first pass.
    """

    def __init__(
        self,
        db: Database,
        bus: ProgressBus,
        signals: RunSignals,
        *,
        interval: float,
        grace: float,
        confirm_after: float = 0.0,
    ) -> None:
        self.db = db
        self.bus = bus
        self.signals = signals
        self.interval = interval
        self.grace = grace
        self.confirm_after = confirm_after
        self._missing_since: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Sweep now, then every ``interval`` seconds, until :meth:`close`."""
        self._task = asyncio.create_task(self._loop(), name="dead-run-sweep")

    async def close(self) -> None:
        """Stop sweeping."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("The dead-worker sweep failed; trying again in %.0f s", self.interval)
            await asyncio.sleep(self.interval)

    async def sweep(self) -> list[str]:
        """One pass: end every running session no worker is alive for; returns their ids."""
        async with self.db.session() as session:
            rows = [(row.id, row.created_at) for row in await repository.running_sessions(session)]
        cutoff = datetime.now(UTC) - timedelta(seconds=self.grace)
        now = asyncio.get_running_loop().time()
        missing: dict[str, float] = {}
        ended = []
        for session_id, created_at in rows:
            if created_at > cutoff or await self.signals.is_alive(session_id):
                continue
            missing[session_id] = since = self._missing_since.get(session_id, now)
            if now - since < self.confirm_after:
                continue  # not yet: look again at the next pass
            if not await self.signals.claim(session_id):
                continue
            if await self._interrupt(session_id):
                ended.append(session_id)
        self._missing_since = {k: v for k, v in missing.items() if k not in ended}
        if ended:
            log.warning("Marked %d setup(s) of a dead worker interrupted: %s", len(ended), ", ".join(ended))
        return ended

    async def _interrupt(self, session_id: str) -> bool:
        async with self.db.session() as session:
            row = await repository.get_session(session, session_id)
            if row is None or row.status != SessionStatus.RUNNING:
                return False  # it ended normally between the two reads
            stored = max(row.last_seq, await event_reads.max_event_seq(session, session_id))
            missing, published = await self._unstored_events(session_id, stored)
            await store.add_events(session, session_id, missing)
            last = max(missing[-1].seq if missing else stored, published or 0)
            if published is None:  # the bus lost the stream: above every seq that may have been shown
                last = max(last, row.seq_ceiling)
            final = await interrupt_session(session, session_id, last)
        try:
            await self.bus.publish(session_id, (final,))
        except Exception:  # watchers then learn the end from the database when they resume
            log.exception("Publishing the end of interrupted setup %s failed", session_id)
        return True

    async def _unstored_events(self, session_id: str, stored: int) -> tuple[list[SessionEvent], int | None]:
        """Events the dead worker published after the last one it stored (its unflushed batch), and the
        highest seq the bus holds (None when it holds nothing or could not be read)."""
        last: int | None = None
        try:
            last = await self.bus.last_seq(session_id)
            if last is None or last <= stored:
                return [], last
            events: list[SessionEvent] = []
            replay = self.bus.subscribe(session_id, since=stored)
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
