"""One host of a fleet: start its ordinary session, follow its steps, record how it ended.

A host that never runs (cancelled or skipped before its start, or refused: the server already busy with
another setup) still gets a session: a finished row with one ``complete`` event saying why, so its
session id works everywhere a session id does (its WebSocket ends at once with that event, history, log).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from setupwizard.core.errors import AppError
from setupwizard.db.database import Database
from setupwizard.fleets import repository as fleets
from setupwizard.fleets.last_line import LastLine, error_msg
from setupwizard.fleets.notice import quiet_session, unquiet_session
from setupwizard.fleets.progress import FleetProgress
from setupwizard.fleets.scheduler import FleetJob, HostJob
from setupwizard.live import store
from setupwizard.live.bus import ProgressBus
from setupwizard.live.sessions import SessionState
from setupwizard.provisioning.errors import ProvisioningError
from setupwizard.provisioning.events import EventType, SessionEvent, utc_now
from setupwizard.provisioning.messages import CATALOGUE, Msg, msg, text_msg
from setupwizard.provisioning.result import SessionStatus, SetupResult, StepStatus
from setupwizard.setup import repository as sessions
from setupwizard.setup.schemas import SetupResponse
from setupwizard.setup.service import SetupService
from setupwizard.setup.session_end import complete_event

log = logging.getLogger(__name__)

WATCH_GRACE_SECONDS = 10.0
"""How long the step watcher may still read after the session ended (its ``complete`` is published
before the run's task returns, so it is normally done already)."""


def never_ran(reason: str) -> Msg:
    """Why a host never ran: ``fleet_cancelled``, ``cancelled`` (its own session's cancel) or
    ``stop_after_failures`` (its session's message)."""
    code = f"fleet.never_ran.{reason}"
    return msg(code) if code in CATALOGUE else text_msg(reason)


def final_line(watched: LastLine | None, response: SetupResponse | None) -> LastLine:
    """A host's last line at its end: the newest line its watcher saw, else the setup's message."""
    if watched is not None and watched.text:
        return watched
    return LastLine.of_response(response) if response is not None else LastLine()


class HostRunner:
    """Runs a fleet's hosts as sessions of the setup service (the scheduler's callbacks)."""

    def __init__(self, db: Database, setup: SetupService, bus: ProgressBus, progress: FleetProgress) -> None:
        self.db = db
        self.setup = setup
        self.bus = bus
        self.progress = progress

    async def run(self, job: FleetJob, host: HostJob) -> str:
        """Start the host's session, follow it to its end; answers its final status."""
        session_id = str(host.request.session_id)
        async with self.db.session() as session:  # a cancel through another worker sets only the row
            job.cancelled = job.cancelled or await fleets.fleet_cancelled(session, job.fleet_id)
        if job.cancelled:
            await self.end_unstarted(job, host, SessionStatus.CANCELLED, "fleet_cancelled")
            return SessionStatus.CANCELLED
        await self.progress.host_changed(
            job.fleet_id,
            host.position,
            {"type": "host", "status": "running", "session_id": session_id},
            status="running",
            reason="",
            started_at=utc_now(),
        )
        quiet_session(self.setup, session_id)  # its fleet's end is told, not its own
        try:
            run = await self.setup.start(job.owner_id, host.request)
        except (AppError, ProvisioningError) as exc:  # 409 setup_running: the host fails, it does not wait
            unquiet_session(self.setup, session_id)
            await self.end_unstarted(job, host, SessionStatus.FAILED, exc.code, error_msg(exc))
            return SessionStatus.FAILED
        except Exception as exc:  # the database away, a bug: this host fails, the fleet goes on
            log.exception("Fleet %s: host %d could not start", job.fleet_id, host.position)
            unquiet_session(self.setup, session_id)
            said = msg("run.internal_error", kind=type(exc).__name__)
            await self.end_unstarted(job, host, SessionStatus.FAILED, "internal_error", said)
            return SessionStatus.FAILED
        if job.cancelled:  # the fleet was cancelled while this host started
            with contextlib.suppress(AppError):
                await self.setup.cancel(job.owner_id, session_id)
        watcher = asyncio.create_task(self.watch(job, host, session_id))
        status: str = SessionStatus.INTERRUPTED
        response: SetupResponse | None = None
        try:
            assert run.task is not None
            response = await asyncio.shield(run.task)
            status = response.status
        except asyncio.CancelledError:  # the service is stopping: the session ends interrupted
            watcher.cancel()
            raise
        except Exception:
            log.exception(
                "Fleet %s: the session %s of host %d failed", job.fleet_id, session_id, host.position
            )
            status = SessionStatus.FAILED
        unquiet_session(self.setup, session_id)  # the run has ended: a mark its end did not clear goes
        done, _ = await asyncio.wait({watcher}, timeout=WATCH_GRACE_SECONDS)
        if not done:
            watcher.cancel()
        last = final_line(self.progress.last_lines.pop((job.fleet_id, host.position), None), response)
        await self.progress.host_changed(
            job.fleet_id,
            host.position,
            {"type": "host", "status": status, "session_id": session_id},
            last,
            status=status,
            finished_at=utc_now(),
        )
        return status

    async def watch(self, job: FleetJob, host: HostJob, session_id: str) -> None:
        """Follow the session's events on the bus: store each new step, keep the newest line in memory."""
        step = 0
        key = (job.fleet_id, host.position)
        try:
            async for batch in self.bus.subscribe(session_id, 0):
                for event in batch:
                    if event.step_index is not None and event.step_index != step and _reached(event):
                        step = event.step_index
                        self.progress.last_lines[key] = LastLine.of_event(event)
                        await self._step(job, host, session_id, event)
                if batch:
                    self.progress.last_lines[key] = LastLine.of_event(batch[-1])
        except Exception:  # the watcher only shows progress: the run goes on without it
            log.exception("Fleet %s: following host %d's steps failed", job.fleet_id, host.position)

    async def _step(self, job: FleetJob, host: HostJob, session_id: str, event: SessionEvent) -> None:
        name = str(event.data.get("name") or event.step_id or "")[:128]
        await self.progress.host_changed(
            job.fleet_id,
            host.position,
            {
                "type": "step",
                "session_id": session_id,
                "step_index": event.step_index,
                "step_total": event.step_total,
                "step_id": event.step_id,
                "step_name": name,
            },
            self.progress.last_lines.get((job.fleet_id, host.position)),
            step_index=event.step_index or 0,
            step_total=event.step_total or 0,
            step_name=name,
        )

    async def end_unstarted(
        self, job: FleetJob, host: HostJob, status: str, reason: str, said: Msg | None = None
    ) -> None:
        """End a host whose session never ran: a finished session row saying why, and the host's row."""
        request = host.request
        session_id = str(request.session_id)
        said = said or never_ran(reason)
        text = str(said)
        final = complete_event(1, unrun_result(status, reason, said))
        now = utc_now()
        async with self.db.session() as session:
            await sessions.insert_session(
                session,
                session_id=session_id,
                owner_id=job.owner_id,
                host=request.to_target().host,
                port=request.port,
                username=request.username,
            )
            await store.add_events(session, session_id, [final])
            await sessions.finish_session(
                session, session_id, status=status, message=text, result=final.data, finished_at=now
            )
        self.setup.arrivals.arrived(SessionState(session_id, job.owner_id, running=False, last_seq=1))
        await self.progress.host_never_ran(job.fleet_id, host.position, session_id, status, reason, said, now)


def unrun_code(said: Msg) -> dict[str, Any]:
    """The ``code``/``params`` of a never-ran session's result (none for an uncatalogued text)."""
    return {} if said.code == "text" else {"code": said.code, "params": said.params}


def unrun_result(status: str, reason: str, said: Msg) -> SetupResult:
    """The result of a host's session that never ran: ``said`` is why, ``reason`` its error code."""
    return SetupResult(message=str(said), status=SessionStatus(status), error_code=reason, **unrun_code(said))


def _reached(event: SessionEvent) -> bool:
    """Whether the event is of a step the run reached: after a failure or a cancel, the steps that never
    ran still get a ``skipped`` step event each, and the host's step n/N must stay where the run stopped."""
    return not (event.type is EventType.STEP and event.data.get("status") == StepStatus.SKIPPED)
