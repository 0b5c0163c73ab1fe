"""The fleet dispatch of PostgreSQL mode: each host is a job of the queue (``fleets/host_job.py``), run by
any worker; nothing of the fleet is held in this process's memory.

At the POST, each host gets, in one transaction as a single setup does (``jobs/launcher.py``): the
server's advisory lock and busy check, its ``running`` session row, its sealed request and its job, whose
``lock`` is the fleet's lane. A host whose server is busy fails at once (``setup_running``), as in the
embedded mode. Cancel: every queued or running host's job is aborted (the queue's cancel); a job still
queued never starts, its session and host end ``cancelled`` here. A queued host's own session cancel
cancels its job the same way (:meth:`QueueDispatch.cancel_queued`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

from setupwizard.core.errors import AppError
from setupwizard.core.secretbox import SecretBox
from setupwizard.db.database import Database
from setupwizard.db.models import FleetHost
from setupwizard.fleets import repository as fleets
from setupwizard.fleets.host_job import finish_if_done
from setupwizard.fleets.host_queue import queue_host
from setupwizard.fleets.hosts import HostRunner, never_ran, unrun_result
from setupwizard.fleets.last_line import error_msg
from setupwizard.fleets.progress import FleetProgress
from setupwizard.fleets.scheduler import FleetJob, HostJob
from setupwizard.jobs.launcher import JobLauncher
from setupwizard.provisioning.errors import ProvisioningError
from setupwizard.provisioning.messages import msg
from setupwizard.provisioning.result import SessionStatus
from setupwizard.setup import repository
from setupwizard.setup.service import SetupService
from setupwizard.setup.session_lookup import session_state

log = logging.getLogger(__name__)


class QueueDispatch:
    """:class:`~setupwizard.fleets.scheduler.FleetDispatch` on the job queue."""

    def __init__(
        self, db: Database, setup: SetupService, box: SecretBox, hosts: HostRunner, progress: FleetProgress
    ) -> None:
        self.db = db
        self.setup = setup
        self.box = box
        self.hosts = hosts
        self.progress = progress

    async def submit(self, job: FleetJob) -> None:
        for host in job.hosts:
            try:
                await self._defer(job, host)
            except (AppError, ProvisioningError) as exc:  # 409 setup_running: the host fails, not waits
                await self.hosts.end_unstarted(job, host, SessionStatus.FAILED, exc.code, error_msg(exc))
            except Exception as exc:  # the database away, a bug: this host fails, the fleet goes on
                log.exception("Fleet %s: host %d could not be queued", job.fleet_id, host.position)
                said = msg("run.internal_error", kind=type(exc).__name__)
                await self.hosts.end_unstarted(job, host, SessionStatus.FAILED, "internal_error", said)
        await finish_if_done(self.progress, job.fleet_id, self.setup)  # every host refused

    async def _defer(self, job: FleetJob, host: HostJob) -> None:
        prepared = await self.setup.prepare(job.owner_id, host.request)
        row = await queue_host(self.db, self.box, prepared, job.fleet_id, host.position, job.parallel)
        self.setup.arrivals.arrived(session_state(row))

    async def stop(self, owner_id: int, fleet_id: str, hosts: Sequence[FleetHost]) -> int:
        """Abort the jobs of the fleet's queued and running hosts (on any worker); how many were running.
        A job aborted while still queued never starts: its session ended ``cancelled`` with the abort
        (``jobs/launcher.py``), its host row ends so here."""
        stopping = 0
        queued_first = sorted(hosts, key=lambda h: h.status != "queued")  # a running host's end frees
        for host in queued_first:  # its lane: its next job must be cancelled before then
            if host.status not in ("queued", "running"):
                continue
            with contextlib.suppress(AppError):
                await self.setup.cancel(owner_id, host.session_id)
                stopping += host.status == "running"
        async with self.db.session() as session:
            now = list(await fleets.hosts_of(session, fleet_id))
            ended = {h.session_id: await repository.get_session(session, h.session_id) for h in now}
        for host in now:
            row = ended[host.session_id]
            if host.status == "queued" and row is not None and row.status == SessionStatus.CANCELLED:
                where = (fleet_id, host.position, host.session_id)
                said = never_ran("fleet_cancelled")
                await self.progress.host_never_ran(*where, SessionStatus.CANCELLED, "fleet_cancelled", said)
        await finish_if_done(self.progress, fleet_id, self.setup)
        return stopping

    async def cancel_queued(self, host: FleetHost) -> bool:
        """Cancel the host's job while no worker has taken it: its session and its row end ``cancelled``
        (the job never starts); the fleet ends if that was its last host."""
        launcher = self.setup.queue
        status, reason = SessionStatus.CANCELLED, "cancelled"
        said = never_ran(reason)
        result = unrun_result(status, reason, said)
        if not isinstance(launcher, JobLauncher) or not await launcher.cancel_queued(host.session_id, result):
            return False
        where = (host.fleet_id, host.position, host.session_id)
        await self.progress.host_never_ran(*where, status, reason, said)
        await finish_if_done(self.progress, host.fleet_id, self.setup)
        return True

    def cancel(self, fleet_id: str) -> FleetJob | None:
        return None  # nothing of a fleet runs in this process's memory: see stop()

    def job(self, fleet_id: str) -> FleetJob | None:
        return None

    def fleet_ids(self) -> list[str]:
        return []

    async def close(self) -> None:
        return None  # the hosts are the workers' jobs: they go on without this process
