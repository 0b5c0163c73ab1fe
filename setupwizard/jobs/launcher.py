"""Starting a setup as a job (PostgreSQL mode) and waiting for its end, for ``POST /api/setup/auto-setup``.

One transaction holds the server's advisory lock, checks that no setup job holds the server, inserts the
``running`` session row, defers the job (its only argument: the session id) and stores the sealed request:
a session never exists without its job, nor a job without its session. ``wait=true`` then follows the
session on the bus until its ``complete`` event (checking the row too, every few seconds, in case the bus
lost it) and answers with the final row and every stored line, as the in-process run does; or, when the
database has not stored the end a few seconds after the bus carried it, with the bus's ``complete``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from procrastinate.manager import JobManager
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.core.errors import ConflictError
from setupwizard.core.log_format import bind_session
from setupwizard.core.secretbox import SecretBox
from setupwizard.db.database import Database
from setupwizard.db.models import SetupSession
from setupwizard.jobs import repository as jobs
from setupwizard.jobs.sealing import seal
from setupwizard.jobs.unrun import cancelled_before_start, end_unrun
from setupwizard.live import event_reads
from setupwizard.live.arrivals import SessionArrivals
from setupwizard.live.bus import ProgressBus
from setupwizard.provisioning.events import EventType, SessionEvent
from setupwizard.provisioning.result import SessionStatus, SetupResult
from setupwizard.setup import repository
from setupwizard.setup.locks import lock_name
from setupwizard.setup.running import PreparedSetup, RunningSetup, SetupRunningError
from setupwizard.setup.schemas import SetupResponse
from setupwizard.setup.seq_ceiling import FIRST_RESERVATION
from setupwizard.setup.session_lookup import session_state

log = logging.getLogger(__name__)

ROW_CHECK_SECONDS = 2.0
"""While waiting on the bus, how often the session's row is looked at as well."""
END_GRACE_SECONDS = 3.0
"""How long ``wait=true`` waits for the database to store an end the bus already carried."""


async def claim_server(session: AsyncSession, prepared: PreparedSetup) -> SetupSession:
    """In the transaction that queues a setup's job: take the server's lock, refuse it when busy (409
    ``setup_running``: a queued or running job, or a fleet host's session, on the same server) and insert the
    session's ``running`` row. A single setup and a fleet's host both queue through this."""
    target = prepared.target
    name = lock_name(target.host, target.port)
    await jobs.lock_server(session, name)
    busy = await jobs.busy_server(session, name) or await jobs.fleet_host_on(
        session, target.host, target.port
    )
    if busy is not None:
        mine = busy.session_id if busy.owner_id == prepared.owner_id else None
        raise SetupRunningError(target.host, target.port, mine)
    return await repository.insert_session(
        session,
        session_id=prepared.session_id,
        owner_id=prepared.owner_id,
        host=target.host,
        port=target.port,
        username=target.username,
        seq_ceiling=FIRST_RESERVATION,
    )


class JobLauncher:
    """The service's :class:`~setupwizard.setup.ports.SetupQueue` on procrastinate."""

    def __init__(
        self, db: Database, box: SecretBox, bus: ProgressBus, arrivals: SessionArrivals, manager: JobManager
    ) -> None:
        self.db = db
        self.manager = manager
        self.box = box
        self.bus = bus
        self.arrivals = arrivals
        self._waiters: set[asyncio.Task[SetupResponse]] = set()

    async def launch(self, prepared: PreparedSetup, *, wait: bool) -> RunningSetup:
        target = prepared.target
        name = lock_name(target.host, target.port)
        sealed = seal(self.box, prepared)
        try:
            async with self.db.session() as session:
                row = await claim_server(session, prepared)
                job_id = await jobs.defer_job(session, prepared.session_id, name)
                await jobs.store_sealed(session, prepared.session_id, job_id, sealed)
        except IntegrityError:
            raise ConflictError("session_id 已被使用", code="session_id_used") from None
        self.arrivals.arrived(session_state(row))
        bind_session(prepared.session_id)  # this request's log lines name the session it queued
        log.info("Setup %s queued as job %d", prepared.session_id, job_id)
        run = RunningSetup(
            session_id=prepared.session_id, owner_id=prepared.owner_id, host=target.host, port=target.port
        )
        if wait:
            run.task = asyncio.create_task(self.wait_for_end(run.session_id), name=f"wait-{run.session_id}")
            self._waiters.add(run.task)
            run.task.add_done_callback(self._waiters.discard)
        return run

    async def cancel(self, session_id: str) -> None:
        """Abort the session's job, from any process: a queued job never starts (its session ends
        ``cancelled`` here), a running one is aborted in its worker (``jobs/task.py``)."""
        if await self.cancel_queued(session_id):
            return
        async with self.db.session() as session:
            job_id = await jobs.job_of(session, session_id)
        if job_id is not None:  # None: the job is ending right now, its run ends the session
            await self.manager.cancel_job_by_id_async(job_id, abort=True)

    async def cancel_queued(self, session_id: str, result: SetupResult | None = None) -> bool:
        """Cancel the session's job only while it is still queued (no worker took it): the session ends
        with ``result`` (default: cancelled) here. False when it has a job no more, or one a worker runs
        (abort it then)."""
        async with self.db.session() as session:
            job_id = await jobs.job_of(session, session_id)
        if job_id is None or not await self.manager.cancel_job_by_id_async(job_id):
            return False
        await end_unrun(self.db, self.bus, session_id, result or cancelled_before_start())
        async with self.db.session() as session:
            await jobs.forget_request(session, session_id)
        return True

    async def wait_for_end(self, session_id: str) -> SetupResponse:
        """The session's response once it ended (in any worker): its result, ``session_id`` and all its
        lines, the complete event's last, as the in-process run answers.

        The answer comes from the database once the session's row is final. When the run has ended (its
        ``complete`` came on the bus) but the database has not stored the end within
        :data:`END_GRACE_SECONDS` (it refuses writes: a full disk, a failover), the answer comes from the
        bus's ``complete`` and every line the bus or the database holds, as the in-process run answers
        from memory; the worker stores the end once the database takes it again.
        """
        since = await self.bus.last_seq(session_id) or 0
        replay = self.bus.subscribe(session_id, since=since, heartbeat=ROW_CHECK_SECONDS)
        live: dict[int, SessionEvent] = {}
        complete: SessionEvent | None = None
        try:
            async for batch in replay:
                live.update((event.seq, event) for event in batch)
                complete = next((e for e in batch if e.type is EventType.COMPLETE), complete)
                if (not batch or complete is not None) and await self._ended(session_id):
                    return await self._response(session_id)
        finally:
            close = getattr(replay, "aclose", None)
            if close is not None:
                await close()
        if complete is None:
            return await self._response(session_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + END_GRACE_SECONDS
        while loop.time() < deadline:
            await asyncio.sleep(END_GRACE_SECONDS / 10)
            if await self._ended(session_id):
                return await self._response(session_id)
        log.warning(
            "Session %s has ended, but the database has not stored its end yet: answering from the live bus",
            session_id,
        )
        return await self._response_from_bus(session_id, complete, live)

    async def _ended(self, session_id: str) -> bool:
        """Whether the session's row is final (False while the database cannot say)."""
        try:
            async with self.db.session() as session:
                row = await repository.get_session(session, session_id)
        except (SQLAlchemyError, OSError):
            return False
        return row is None or row.status != SessionStatus.RUNNING

    async def _response_from_bus(
        self, session_id: str, complete: SessionEvent, live: dict[int, SessionEvent]
    ) -> SetupResponse:
        """The answer from the bus's ``complete`` and the lines of the bus and of the database, by seq."""
        events: dict[int, SessionEvent] = {}
        try:
            async with self.db.session() as session:
                events.update((e.seq, e) for e in await event_reads.events_after(session, session_id, 0))
        except (SQLAlchemyError, OSError):
            pass  # the bus's lines alone
        events.update(live)
        logs = [events[seq].message for seq in sorted(events)]
        body = {**complete.data, "session_id": session_id, "logs": logs}
        return SetupResponse.model_validate(body)

    async def _response(self, session_id: str) -> SetupResponse:
        async with self.db.session() as session:
            row = await repository.get_session(session, session_id)
            events = await event_reads.events_after(session, session_id, 0)
        result: dict[str, Any] = dict(row.result or {}) if row is not None else {}
        if row is not None:
            result.setdefault("status", row.status)
            result.setdefault("message", row.message)
            result.setdefault("success", row.status == SessionStatus.SUCCEEDED)
        body = {**result, "session_id": session_id, "logs": [event.message for event in events]}
        return SetupResponse.model_validate(body)

    async def close(self) -> None:
        """Stop waiting (the requests still waiting end with the server)."""
        for task in list(self._waiters):
            task.cancel()
        await asyncio.gather(*self._waiters, return_exceptions=True)
