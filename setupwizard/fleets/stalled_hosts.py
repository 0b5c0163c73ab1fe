"""The fleet hosts of a dead worker (PostgreSQL mode), found by the queue's periodic stalled-job pass
(``jobs/stalled.py``), as single setups are: the job is finished ``failed``; the host's session ends
``interrupted`` (its unstored lines copied from the bus); the host runs once more as a new session (attempt
2) in its lane, whose id the interrupted session's ``complete`` names (``retried_as``), and the host's row
follows the new session (the old one in ``earlier_sessions``). A rerun's own death is not rerun: the host
ends ``interrupted``.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from procrastinate.exceptions import ConnectorException
from procrastinate.jobs import Status
from procrastinate.manager import JobManager

from setupwizard.core.errors import AppError
from setupwizard.fleets import repository as fleets
from setupwizard.fleets.host_job import finish_if_done
from setupwizard.fleets.host_queue import queue_host
from setupwizard.fleets.progress import FleetProgress
from setupwizard.jobs import repository as jobs
from setupwizard.jobs.sealing import unseal
from setupwizard.jobs.task import JobRuntime
from setupwizard.jobs.unrun import end_unrun
from setupwizard.provisioning.events import format_timestamp, utc_now
from setupwizard.provisioning.result import SessionStatus, SetupResult
from setupwizard.setup.session_lookup import session_state

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2


async def end_stalled_hosts(runtime: JobRuntime, manager: JobManager) -> int:
    """One pass: end and rerun the fleet hosts of dead workers; how many were ended."""
    stalled = await manager.get_stalled_jobs(
        task_name=jobs.FLEET_TASK, seconds_since_heartbeat=runtime.service.settings.lease_seconds
    )
    ended = 0
    for job in stalled:
        assert job.id is not None
        try:
            await manager.finish_job_by_id_async(job.id, status=Status.FAILED, delete_job=False)
        except ConnectorException:  # another pass took it, or it ended after all
            continue
        if await end_claimed_host(runtime, job.id, job.task_kwargs):
            ended += 1
    return ended


async def end_claimed_host(
    runtime: JobRuntime, job_id: int, arguments: Mapping[str, Any], why: str = "died"
) -> bool:
    """The fleet host of a job just claimed (finished ``failed`` by this caller): end its session
    ``interrupted`` and rerun it once; True when the session was still running. The stalled pass and a
    fenced worker's take-over (``jobs/fence.py``) both end a host this way."""
    progress = FleetProgress(runtime.db)
    fleet_id = str(arguments["fleet_id"])
    position = int(str(arguments["position"]))
    session_id = str(arguments["session_id"])
    rerun = await _rerun(runtime, fleet_id, position, session_id)
    ended = await end_unrun(
        runtime.db, runtime.service.bus, session_id, SetupResult.interrupted(), retried_as=rerun
    )
    async with runtime.db.session() as session:
        await jobs.forget_request(session, session_id)
    if rerun is None:
        await progress.host_changed(
            fleet_id,
            position,
            {"type": "host", "status": SessionStatus.INTERRUPTED, "session_id": session_id},
            status=SessionStatus.INTERRUPTED,
            reason="worker_died",
            finished_at=utc_now(),
        )
        await finish_if_done(progress, fleet_id, runtime.service)
    log.warning(
        "Fleet %s host %d: its worker %s (job %d, session %s); ended interrupted%s",
        fleet_id,
        position,
        why,
        job_id,
        session_id,
        f", rerun as {rerun}" if rerun else "",
    )
    return ended


async def _rerun(runtime: JobRuntime, fleet_id: str, position: int, session_id: str) -> str | None:
    """Queue the host again as a new session (once); its id, or None."""
    async with runtime.db.session() as session:
        sealed = await jobs.sealed_request(session, session_id)
        fleet = await fleets.get_fleet(session, fleet_id)
        hosts = {h.position: h for h in await fleets.hosts_of(session, fleet_id)}
    host = hosts.get(position)
    if sealed is None or fleet is None or fleet.cancelled or host is None or host.session_id != session_id:
        return None
    prepared = unseal(runtime.box, session_id, sealed.sealed)
    if prepared.attempt >= MAX_ATTEMPTS or prepared.request is None:
        return None
    new_id = str(uuid.uuid4())
    request = prepared.request.model_copy(update={"session_id": uuid.UUID(new_id)})
    again = dataclasses.replace(prepared, session_id=new_id, request=request, attempt=prepared.attempt + 1)
    try:
        row = await queue_host(runtime.db, runtime.box, again, fleet_id, position, fleet.parallel)
    except AppError:  # another setup took the server meanwhile
        log.warning("Fleet %s host %d was not rerun: its server is busy", fleet_id, position)
        return None
    runtime.service.arrivals.arrived(session_state(row))
    async with runtime.db.session() as session:
        await fleets.update_host(
            session,
            fleet_id,
            position,
            session_id=new_id,
            attempt=host.attempt + 1,
            earlier_sessions=[*host.earlier_sessions, session_id],
            status="queued",
            reason="worker_died",
            step_index=0,
            step_total=0,
            step_name="",
            started_at=None,
            finished_at=None,
        )
        await fleets.add_event(
            session,
            fleet_id,
            {
                "type": "host",
                "status": "queued",
                "position": position,
                "session_id": new_id,
                "earlier_session": session_id,
                "at": format_timestamp(utc_now()),
            },
        )
    return new_id
