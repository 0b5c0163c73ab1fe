"""A fleet's host as a job of the queue (PostgreSQL mode), run by whichever worker takes it.

The job's arguments are the fleet id, the host's position and its session id; the request with its
credentials is sealed in ``setup_job_secrets`` (:mod:`setupwizard.jobs.sealing`), as a single setup's is.
The job's ``lock`` is the fleet's lane (:func:`lane_lock`), so the jobs of one lane run one after another
and at most ``parallel`` hosts of the fleet run at once, across all workers.

At its start the job looks at the fleet's row: cancelled → the host ends ``cancelled``;
``stop_after_failures`` reached (counted from the host rows) → it ends ``skipped``; neither connects.
Otherwise its session runs in
this worker through :meth:`~setupwizard.setup.service.SetupService.launch`, as a single setup job's does
(an abort from any process stops it; one that comes before the run starts ends the host ``cancelled``
without connecting, ``jobs/abort.py``). This worker writes the host's row and the fleet's
progress events; the last host to end ends the fleet (:func:`finish_if_done`) and tells it (``notice.py``).
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from procrastinate import JobContext

from setupwizard.fleets import repository as fleets
from setupwizard.fleets.hosts import WATCH_GRACE_SECONDS, HostRunner, final_line, never_ran, unrun_result
from setupwizard.fleets.notice import quiet_session, tell_fleet_end, unquiet_session
from setupwizard.fleets.progress import FleetProgress
from setupwizard.fleets.scheduler import FleetJob, HostJob
from setupwizard.jobs import repository as jobs
from setupwizard.jobs.abort import Abort, abortable
from setupwizard.jobs.sealing import unseal
from setupwizard.jobs.task import CONTEXT_KEY, JobRuntime, NoLease, fenced
from setupwizard.jobs.unrun import end_unrun
from setupwizard.provisioning.events import format_timestamp, utc_now
from setupwizard.provisioning.result import SessionStatus
from setupwizard.setup import repository
from setupwizard.setup.schemas import SetupResponse
from setupwizard.setup.service import SetupService

log = logging.getLogger(__name__)

FENCED = "fenced"
"""What a fenced host's job returns (``jobs/fence.py``): its end is written by whoever took the job over."""


def lane_lock(fleet_id: str, position: int, parallel: int) -> str:
    """The job ``lock`` of a fleet's host: one of ``parallel`` lanes, hosts dealt round-robin."""
    return f"fleet:{fleet_id}:lane:{position % parallel}"


async def run_fleet_host(context: JobContext, fleet_id: str, position: int, session_id: str) -> str:
    """Run one host of a fleet (or end it without connecting); returns its final status."""
    runtime: JobRuntime = context.additional_context[CONTEXT_KEY]
    progress = FleetProgress(runtime.db)
    assert context.job.id is not None
    status = "gone"
    try:
        job = partial(_run, runtime, progress, fleet_id, position, session_id, context)
        status = await abortable(job, f"fleet {fleet_id} host {position}")  # answered at a safe point
        return status
    finally:
        if status != FENCED:  # a fenced host's request is kept for its rerun, and its end is the taker's
            async with runtime.db.session() as session:
                await jobs.forget_request(session, session_id)
            await finish_if_done(progress, fleet_id, runtime.service)


async def _run(
    runtime: JobRuntime,
    progress: FleetProgress,
    fleet_id: str,
    position: int,
    session_id: str,
    context: JobContext,
    abort: Abort,
) -> str:
    worker = context.worker_name
    job_id = context.job.id
    assert job_id is not None
    async with runtime.db.session() as session:
        fleet = await fleets.get_fleet(session, fleet_id)
        row = await repository.get_session(session, session_id)
        sealed = await jobs.sealed_request(session, session_id)
        failed = await fleets.failures(session, fleet_id)
    if fleet is None or row is None or sealed is None or row.status != SessionStatus.RUNNING:
        log.warning("Fleet %s host %d has nothing to run (already ended)", fleet_id, position)
        return str(row.status) if row is not None else "gone"
    if fleet.cancelled:
        return await end_never_ran(runtime, progress, fleet_id, position, session_id, "fleet_cancelled")
    if fleet.stop_after_failures is not None and failed >= fleet.stop_after_failures:
        return await end_never_ran(runtime, progress, fleet_id, position, session_id, "stop_after_failures")
    prepared = unseal(runtime.box, session_id, sealed.sealed)
    assert prepared.request is not None
    async with runtime.db.session() as session:
        await jobs.restart_clock(session, session_id)
    await progress.host_changed(
        fleet_id,
        position,
        {"type": "host", "status": "running", "session_id": session_id},
        status="running",
        reason="",
        started_at=utc_now(),
    )
    if abort.requested:  # cancelled as this worker took the job: it never connects
        return await end_never_ran(runtime, progress, fleet_id, position, session_id, "fleet_cancelled")
    log.info("Fleet %s host %d (session %s) runs on worker %s", fleet_id, position, session_id, worker)
    runner = HostRunner(runtime.db, runtime.service, runtime.service.bus, progress)
    job = FleetJob(fleet_id, fleet.owner_id, fleet.parallel, fleet.stop_after_failures, [])
    host = HostJob(position, prepared.request)
    quiet_session(runtime.service, session_id)  # its fleet's end is told, not its own
    run = await runtime.service.launch(prepared, NoLease())
    abort.started(run)
    assert run.task is not None
    watcher = asyncio.create_task(runner.watch(job, host, session_id))
    status: str = SessionStatus.INTERRUPTED
    response: SetupResponse | None = None
    with fenced(runtime, job_id, run):
        try:
            async with runtime.db.session() as session:  # cancelled while this host started
                if await fleets.fleet_cancelled(session, fleet_id):
                    run.cancel.set()
            response = await run.task
            status = response.status
        except Exception:
            log.exception("Fleet %s: the session %s of host %d failed", fleet_id, session_id, position)
            status = SessionStatus.FAILED
        finally:  # the run has ended: a mark its end did not clear goes
            unquiet_session(runtime.service, session_id)  # (a fenced run's end is the taker's)
            done, _ = await asyncio.wait({watcher}, timeout=WATCH_GRACE_SECONDS)
            if not done:
                watcher.cancel()
            last = final_line(progress.last_lines.pop((fleet_id, position), None), response)
            if not run.fenced:  # a fenced host's row is written by whoever takes its job over
                await progress.host_changed(
                    fleet_id,
                    position,
                    {"type": "host", "status": status, "session_id": session_id},
                    last,
                    status=status,
                    finished_at=utc_now(),
                )
        if run.fenced:
            await take_over_host(
                runtime, job_id, {"fleet_id": fleet_id, "position": position, "session_id": session_id}
            )
            return FENCED
    return status


async def take_over_host(runtime: JobRuntime, job_id: int, arguments: dict[str, object]) -> None:
    """A fenced host's end, once PostgreSQL answers: claimed and rerun here, or by the stalled pass."""
    from setupwizard.fleets.stalled_hosts import end_claimed_host  # it imports this module

    assert runtime.fence is not None
    end = partial(end_claimed_host, runtime, job_id, arguments, "was fenced")
    await runtime.fence.take_over(job_id, str(arguments["session_id"]), end)


async def end_never_ran(
    runtime: JobRuntime, progress: FleetProgress, fleet_id: str, position: int, session_id: str, reason: str
) -> str:
    """End a queued host that will not connect (its fleet cancelled, or too many failures)."""
    status = SessionStatus.CANCELLED if reason == "fleet_cancelled" else SessionStatus.SKIPPED
    said = never_ran(reason)
    await end_unrun(runtime.db, runtime.service.bus, session_id, unrun_result(status, reason, said))
    await progress.host_never_ran(fleet_id, position, session_id, status, reason, said)
    return str(status)


async def finish_if_done(progress: FleetProgress, fleet_id: str, setup: SetupService) -> str | None:
    """End the fleet once no host is queued or running (whichever process sees it first); the one that
    ended it tells the owner's notification targets (``notice.py``)."""
    async with progress.db.session() as session:
        status = await fleets.end_if_done(session, fleet_id)
        if status is not None:
            event = {"type": "fleet", "status": status, "at": format_timestamp(utc_now())}
            await fleets.add_event(session, fleet_id, event)
    if status is not None:
        progress.wake(fleet_id)
        tell_fleet_end(setup, progress.db, fleet_id, status)
    return status
