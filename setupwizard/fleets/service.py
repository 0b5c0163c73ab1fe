"""The fleet service: check a fleet, record it, hand its hosts to the scheduler; cancel, retry, recover.

Credentials: the fleet's rows hold none. The requests with their credentials stay in this process's memory
(the scheduler's job, and for a retry until ``KEEP_CREDENTIALS_SECONDS`` after the fleet ended); after
that, or after a restart, a retry needs them sent again (``defaults``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass

from setupwizard.config import Settings
from setupwizard.core.errors import AppError, ConflictError
from setupwizard.core.networks import TargetPolicy
from setupwizard.core.secretbox import SecretBox
from setupwizard.db.database import Database
from setupwizard.db.models import Fleet, FleetHost, utc_now
from setupwizard.fleets import repository
from setupwizard.fleets.checks import checked_requests
from setupwizard.fleets.hosts import HostRunner
from setupwizard.fleets.notice import tell_fleet_end
from setupwizard.fleets.progress import FleetProgress
from setupwizard.fleets.queued import QueueDispatch
from setupwizard.fleets.scheduler import EmbeddedScheduler, FleetDispatch, FleetJob, HostJob
from setupwizard.fleets.schemas import FleetDefaults, FleetRequest, FleetSession, FleetTarget, StartedFleet
from setupwizard.provisioning.events import format_timestamp
from setupwizard.provisioning.result import SessionStatus
from setupwizard.servers.known_hosts import DatabaseKnownHosts
from setupwizard.setup.schemas import AutoSetupRequest
from setupwizard.setup.service import SetupService

log = logging.getLogger(__name__)

KEEP_CREDENTIALS_SECONDS = 3600.0
RETRYABLE = frozenset(
    {SessionStatus.FAILED, SessionStatus.INTERRUPTED, SessionStatus.CANCELLED, SessionStatus.SKIPPED}
)
ENDED_FLEET = ("done", "cancelled", "interrupted")


@dataclass
class Kept:
    """A fleet's request, kept in memory for a retry (its credentials)."""

    body: FleetRequest
    drop: asyncio.TimerHandle | None = None


class FleetService:
    """Starts, cancels and retries fleets; one per process, beside the setup service."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        setup: SetupService,
        secretbox: SecretBox,
        dispatch: FleetDispatch | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.setup = setup
        self.secretbox = secretbox
        self.progress = FleetProgress(db)
        self.hosts = HostRunner(db, setup, setup.bus, self.progress)
        self.dispatch: FleetDispatch = dispatch or (
            QueueDispatch(db, setup, secretbox, self.hosts, self.progress)
            if setup.queue is not None  # PostgreSQL: each host is a job of the queue
            else EmbeddedScheduler(self.hosts.run, self.hosts.end_unstarted, self._end_fleet)
        )
        self._kept: dict[str, Kept] = {}

    async def start(self, owner_id: int, body: FleetRequest, policy: TargetPolicy) -> StartedFleet:
        """Check every target (422/403 naming it; nothing starts), record the fleet, start its hosts."""
        fleet_id = str(uuid.uuid4())
        session_ids = [str(uuid.uuid4()) for _ in body.targets]
        requests = await self._checked(owner_id, body, session_ids, policy)
        fleet = Fleet(
            id=fleet_id,
            owner_id=owner_id,
            name=body.name,
            plan=body.plan_record(),
            parallel=body.parallel,
            stop_after_failures=body.stop_after_failures,
            accept_new_host_keys=body.accept_new_host_keys,
            status="running",
            cancelled=False,
            created_at=utc_now(),
            last_seq=0,
        )
        rows = [
            FleetHost(
                fleet_id=fleet_id,
                position=index,
                host=request.to_target().host,
                port=request.port,
                username=request.username,
                session_id=str(request.session_id),
                attempt=1,
                earlier_sessions=[],
                status="queued",
                reason="",
                step_index=0,
                step_total=0,
                step_name="",
                last_line="",
            )
            for index, request in enumerate(requests)
        ]
        async with self.db.session() as session:
            await repository.insert_fleet(session, fleet, rows)
        self._keep(fleet_id, body)
        hosts = [HostJob(index, request) for index, request in enumerate(requests)]
        await self._submit(fleet_id, owner_id, body, hosts)
        return StartedFleet(
            fleet_id=fleet_id,
            sessions=[FleetSession(host=r.host, port=r.port, session_id=r.session_id) for r in rows],
        )

    async def _checked(
        self, owner_id: int, body: FleetRequest, session_ids: list[str], policy: TargetPolicy
    ) -> list[AutoSetupRequest]:
        return await checked_requests(
            body,
            session_ids,
            owner_id=owner_id,
            validate=self.setup.validate,
            policy=policy,
            known_hosts=DatabaseKnownHosts(self.db, owner_id),
            db=self.db,
            secretbox=self.secretbox,
        )

    async def _submit(self, fleet_id: str, owner_id: int, body: FleetRequest, hosts: list[HostJob]) -> None:
        job = FleetJob(fleet_id, owner_id, body.parallel, body.stop_after_failures, hosts)
        await self.progress.fleet_changed(
            fleet_id, {"type": "fleet", "status": "running", "hosts": [h.position for h in hosts]}
        )
        await self.dispatch.submit(job)
        kept = self._kept.get(fleet_id)
        if isinstance(self.dispatch, QueueDispatch) and kept is not None:  # its end is the workers' to see
            loop = asyncio.get_running_loop()
            kept.drop = loop.call_later(KEEP_CREDENTIALS_SECONDS, self._kept.pop, fleet_id, None)

    def _keep(self, fleet_id: str, body: FleetRequest) -> None:
        kept = self._kept.pop(fleet_id, None)
        if kept is not None and kept.drop is not None:
            kept.drop.cancel()
        self._kept[fleet_id] = Kept(body)

    async def _end_fleet(self, job: FleetJob) -> None:
        status = "cancelled" if job.cancelled else "done"
        await self.progress.fleet_changed(
            job.fleet_id, {"type": "fleet", "status": status}, status=status, finished_at=utc_now()
        )
        tell_fleet_end(self.setup, self.db, job.fleet_id, status)
        kept = self._kept.get(job.fleet_id)
        if kept is not None:  # the credentials go after a while: a retry then needs them again
            loop = asyncio.get_running_loop()
            kept.drop = loop.call_later(KEEP_CREDENTIALS_SECONDS, self._kept.pop, job.fleet_id, None)

    async def cancel(self, owner_id: int, fleet_id: str) -> int:
        """No queued host starts; running ones are asked to stop (in any worker). Answers how many ran."""
        async with self.db.session() as session:
            fleet = await repository.owned_fleet(session, fleet_id, owner_id)
            if fleet.status in ENDED_FLEET:
                raise ConflictError("The fleet has ended", code="fleet_not_running")
            await repository.set_fleet(session, fleet_id, cancelled=True)
            hosts = await repository.hosts_of(session, fleet_id)
        if isinstance(self.dispatch, QueueDispatch):
            return await self.dispatch.stop(owner_id, fleet_id, hosts)
        self.dispatch.cancel(fleet_id)
        stopping = 0
        for host in hosts:
            if host.status == "running":
                with contextlib.suppress(AppError):
                    await self.setup.cancel(owner_id, host.session_id)
                    stopping += 1
        return stopping

    async def cancel_queued_host(self, owner_id: int, session_id: str) -> bool:
        """The person's cancel of one session (``POST /api/setup/sessions/{id}/cancel``): when it is the
        session of the owner's fleet host still waiting for its turn, the host ends ``cancelled`` without
        connecting and the fleet goes on; True then. False otherwise: the session's own cancel applies."""
        async with self.db.session() as session:
            host = await repository.host_of_session(session, session_id)
            fleet = await repository.get_fleet(session, host.fleet_id) if host is not None else None
        if host is None or fleet is None or fleet.owner_id != owner_id or fleet.cancelled:
            return False
        return host.status == "queued" and await self.dispatch.cancel_queued(host)

    async def retry(
        self, owner_id: int, fleet_id: str, defaults: FleetDefaults | None, policy: TargetPolicy
    ) -> StartedFleet:
        """The failed, interrupted, cancelled and skipped hosts again, each as a new session."""
        async with self.db.session() as session:
            fleet = await repository.owned_fleet(session, fleet_id, owner_id)
            hosts = list(await repository.hosts_of(session, fleet_id))
        if fleet.status not in ENDED_FLEET or self.dispatch.job(fleet_id) is not None:
            raise ConflictError("The fleet is still running", code="fleet_running")
        again = [h for h in hosts if h.status in RETRYABLE]
        if not again:
            raise ConflictError("No host failed, was cancelled or skipped", code="nothing_to_retry")
        body = self._retry_body(fleet, hosts, defaults)
        session_ids = {h.position: str(uuid.uuid4()) for h in again}
        ids = [session_ids.get(h.position, str(uuid.uuid4())) for h in hosts]
        requests = await self._checked(owner_id, body, ids, policy)
        async with self.db.session() as session:
            await repository.set_fleet(session, fleet_id, status="running", cancelled=False, finished_at=None)
            for host in again:
                await repository.update_host(
                    session,
                    fleet_id,
                    host.position,
                    session_id=session_ids[host.position],
                    attempt=host.attempt + 1,
                    earlier_sessions=[*host.earlier_sessions, host.session_id],
                    status="queued",
                    reason="",
                    step_index=0,
                    step_total=0,
                    step_name="",
                    last_line="",
                    last_line_code=None,
                    last_line_params=None,
                    started_at=None,
                    finished_at=None,
                )
        self._keep(fleet_id, body)
        jobs = [HostJob(h.position, requests[h.position]) for h in again]
        await self._submit(fleet_id, owner_id, body, jobs)
        return StartedFleet(
            fleet_id=fleet_id,
            sessions=[
                FleetSession(host=h.host, port=h.port, session_id=session_ids[h.position]) for h in again
            ],
        )

    def _retry_body(
        self, fleet: Fleet, hosts: list[FleetHost], defaults: FleetDefaults | None
    ) -> FleetRequest:
        """The fleet's request again: kept in memory, or rebuilt from its rows and the ``defaults`` sent."""
        kept = self._kept.get(fleet.id)
        if kept is not None and defaults is None:
            return kept.body
        if defaults is None:
            raise ConflictError(
                "The fleet's credentials are no longer held (they are kept in memory only): "
                "send them again in defaults",
                code="credentials_gone",
            )
        base = kept.body if kept is not None else None
        targets = (
            [
                t.model_copy(update={"password": None, "private_key": None, "key_id": None})
                for t in base.targets
            ]
            if base is not None
            else [FleetTarget(host=h.host, port=h.port, username=h.username) for h in hosts]
        )
        return FleetRequest.model_validate(
            {
                "name": fleet.name,
                "plan": fleet.plan if base is None else base.plan.model_dump(exclude_unset=True),
                "targets": [t.model_dump() for t in targets],
                "defaults": defaults.model_dump(),
                "parallel": fleet.parallel,
                "stop_after_failures": fleet.stop_after_failures,
                "accept_new_host_keys": fleet.accept_new_host_keys,
            },
            strict=False,
        )

    async def recover(self) -> None:
        """At start (one process): fleets a crash left running end ``interrupted``, their hosts with them."""
        async with self.db.session() as session:
            fleets = [fleet.id for fleet in await repository.unfinished_fleets(session)]
        await self._interrupt(fleets)
        if fleets:
            log.warning("%d fleet(s) a restart cut short are marked interrupted", len(fleets))

    async def _interrupt(self, fleet_ids: list[str]) -> None:
        async with self.db.session() as session:
            for fleet_id in fleet_ids:
                for host in await repository.hosts_of(session, fleet_id):
                    if host.status in ("queued", "running"):
                        await repository.update_host(
                            session,
                            fleet_id,
                            host.position,
                            status=SessionStatus.INTERRUPTED,
                            reason="service_restarted",
                            finished_at=utc_now(),
                        )
                await repository.end_fleet(session, fleet_id, "interrupted")
                event = {"type": "fleet", "status": "interrupted", "at": format_timestamp(utc_now())}
                await repository.add_event(session, fleet_id, event)
        for fleet_id in fleet_ids:  # once their end is stored
            tell_fleet_end(self.setup, self.db, fleet_id, "interrupted")

    async def close(self) -> None:
        """Stop the scheduler; the fleets it ran end ``interrupted`` (their running sessions end with the
        setup service, interrupted, as any session does). A failure is logged: the start recovers it."""
        here = self.dispatch.fleet_ids()
        await self.dispatch.close()
        try:
            await self._interrupt(here)
        except Exception:
            log.exception("The fleets of this process could not be marked interrupted at shutdown")
        for kept in self._kept.values():
            if kept.drop is not None:
                kept.drop.cancel()
        self._kept.clear()
