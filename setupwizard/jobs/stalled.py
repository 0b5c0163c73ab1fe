"""A killed worker's setups: procrastinate's stalled jobs, found by a periodic task in any live worker.

Every ``SETUPWIZARD_SWEEP_INTERVAL_SECONDS`` (whole seconds, at least 1) one worker (procrastinate defers
each periodic tick once) asks for the setup jobs still ``doing`` on a worker whose heartbeat is older than
``SETUPWIZARD_LEASE_SECONDS``. For each:

1. the job is finished ``failed``: that is the claim (a job another pass already took is skipped);
2. its session ends ``interrupted`` (:func:`~setupwizard.jobs.unrun.end_unrun`: its unstored lines copied
   from the bus, the final event above every seq shown, ``complete`` published);
3. it is retried once: the same request runs again as a new session (attempt 2), whose id the interrupted
   session's ``complete`` names (``data.retried_as``). The steps are idempotent, so running them again on
   a half-set-up server finishes the job. A retry's own death is not retried again.

A worker that is alive but cut off from PostgreSQL has stopped its setups a third of a lease before this
(``jobs/fence.py``); if its PostgreSQL comes back first, it claims the job and ends the session itself
(:func:`end_claimed_setup`), and this pass finds nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid

from procrastinate import JobContext
from procrastinate.exceptions import ConnectorException
from procrastinate.jobs import Status
from procrastinate.manager import JobManager

from setupwizard.config import Settings
from setupwizard.core.errors import ConflictError
from setupwizard.db.database import Database
from setupwizard.fleets.stalled_hosts import end_stalled_hosts
from setupwizard.jobs import repository as jobs
from setupwizard.jobs.sealing import unseal
from setupwizard.jobs.task import CONTEXT_KEY, JobRuntime
from setupwizard.jobs.unrun import end_unrun
from setupwizard.provisioning.result import SessionStatus, SetupResult
from setupwizard.setup import repository

log = logging.getLogger(__name__)

UPKEEP_QUEUE = "setups-upkeep"
STALLED_TASK = "setupwizard.end_stalled_setups"
MAX_ATTEMPTS = 2


async def end_stalled_setups(context: JobContext, timestamp: int) -> int:
    """One pass (the periodic task): end and retry the setups of dead workers; how many were ended."""
    runtime: JobRuntime = context.additional_context[CONTEXT_KEY]
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(
        task_name=jobs.TASK, seconds_since_heartbeat=runtime.service.settings.lease_seconds
    )
    ended = 0
    for job in stalled:
        assert job.id is not None
        try:
            await manager.finish_job_by_id_async(job.id, status=Status.FAILED, delete_job=False)
        except ConnectorException:  # another pass took it, or it ended after all
            continue
        if await end_claimed_setup(runtime, job.id, str(job.task_kwargs["session_id"])):
            ended += 1
    return ended + await end_stalled_hosts(runtime, manager)


async def end_claimed_setup(runtime: JobRuntime, job_id: int, session_id: str, why: str = "died") -> bool:
    """The setup of a job just claimed (finished ``failed`` by this caller, so by no one else): end its
    session ``interrupted`` and retry it once; True when the session was still running. The stalled pass
    and a fenced worker's take-over (``jobs/fence.py``) both end a setup this way."""
    if not await _still_running(runtime, session_id):  # ended at a restart (recover_interrupted)
        async with runtime.db.session() as session:
            await jobs.forget_request(session, session_id)
        return False
    retried_as = await _retry(runtime, session_id)
    result = SetupResult.interrupted()
    ended = await end_unrun(runtime.db, runtime.service.bus, session_id, result, retried_as=retried_as)
    async with runtime.db.session() as session:
        await jobs.forget_request(session, session_id)
    log.warning(
        "Setup %s: its worker %s (job %d); ended interrupted%s",
        session_id,
        why,
        job_id,
        f", retried as {retried_as}" if retried_as else "",
    )
    return ended


async def _still_running(runtime: JobRuntime, session_id: str) -> bool:
    async with runtime.db.session() as session:
        row = await repository.get_session(session, session_id)
    return row is not None and row.status == SessionStatus.RUNNING


async def _retry(runtime: JobRuntime, session_id: str) -> str | None:
    """Queue the request of ``session_id`` again as a new session (once); its id, or None."""
    async with runtime.db.session() as session:
        sealed = await jobs.sealed_request(session, session_id)
    if sealed is None or runtime.service.queue is None:
        return None
    prepared = unseal(runtime.box, session_id, sealed.sealed)
    if prepared.attempt >= MAX_ATTEMPTS:
        return None
    again = dataclasses.replace(prepared, session_id=str(uuid.uuid4()), attempt=prepared.attempt + 1)
    try:
        run = await runtime.service.queue.launch(again, wait=False)
    except ConflictError:  # another setup took the server meanwhile
        log.warning("Setup %s was not retried: its server is busy", session_id)
        return None
    return run.session_id


def check_cron(settings: Settings) -> str:
    """The periodic task's schedule: every ``sweep_interval_seconds``, in whole seconds (cron's unit)."""
    return f"*/{max(1, round(settings.sweep_interval_seconds))} * * * * *"


async def close_dead_jobs(manager: JobManager, db: Database) -> int:
    """One process (no Redis), at start, before its worker runs: every setup job still ``doing`` was this
    process's before it died (the single-worker guard holds), and the start-up recovery has just ended its
    session ``interrupted``; finish the job ``failed`` at once (no retry), so its server is free now rather
    than after a lease. Returns how many."""
    closed = 0
    doing = [
        job
        for task in (jobs.TASK, jobs.FLEET_TASK)
        for job in await manager.list_jobs_async(task=task, status=Status.DOING.value)
    ]
    for job in doing:
        assert job.id is not None
        try:
            await manager.finish_job_by_id_async(job.id, status=Status.FAILED, delete_job=False)
        except ConnectorException:
            continue
        async with db.session() as session:
            await jobs.forget_request(session, str(job.task_kwargs["session_id"]))
        closed += 1
    if closed:
        log.warning("Closed %d setup job(s) a restart interrupted", closed)
    return closed
