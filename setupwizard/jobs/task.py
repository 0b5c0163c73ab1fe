"""The setup job: run one queued session in this worker, with the same service code as the embedded mode.

The job's argument is the session id. The worker unseals the request (``setup_job_secrets``), hands it to
:meth:`~setupwizard.setup.service.SetupService.launch` (validate-free: it was checked at the POST; the
events, recorder, outcome and notifications are the service's own) and waits for the run to end. The
sealed request is deleted when the job ends, however it ends.

Abort (``cancel_job_by_id_async(..., abort=True)``, from any process): procrastinate cancels this
coroutine once; the job answers it at a safe point (``jobs/abort.py``). Before the run starts, the session
ends ``cancelled`` without connecting; after, the run is not cut off: its cancel event is set, as the
person's cancel always did, the run ends ``cancelled`` with its complete event and final row, then the job
ends ``aborted``.

Fence (``jobs/fence.py``): when this worker has not reached PostgreSQL for two thirds of a lease, the run
is stopped the same way but ends nothing itself; once its run has stopped the job waits for PostgreSQL and
then ends the session ``interrupted`` and retries it, unless another worker's stalled pass did first. The
sealed request is kept for that retry.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import partial

from procrastinate import JobContext

from setupwizard.core.log_format import bind_request, bind_session, bind_user
from setupwizard.core.secretbox import SecretBox
from setupwizard.db.database import Database
from setupwizard.jobs import repository as jobs
from setupwizard.jobs.abort import Abort, abortable
from setupwizard.jobs.fence import Fence
from setupwizard.jobs.sealing import unseal
from setupwizard.jobs.unrun import cancelled_before_start, end_unrun
from setupwizard.provisioning.result import SessionStatus
from setupwizard.setup import repository
from setupwizard.setup.running import RunningSetup
from setupwizard.setup.service import SetupService

log = logging.getLogger(__name__)

CONTEXT_KEY = "setupwizard"
"""The key of :class:`JobRuntime` in the worker's ``additional_context``."""


@dataclass(frozen=True)
class JobRuntime:
    """What a job needs from the process that runs it."""

    db: Database
    box: SecretBox
    service: SetupService
    fence: Fence | None = None  # a worker's (jobs/worker.py): stops its setups when PostgreSQL is gone


class NoLease:
    """The server lock of a job is the queue's own (the job's ``lock``): nothing to release here."""

    async def release(self) -> None:
        return None


async def run_setup_job(context: JobContext, session_id: str) -> str:
    """Run the queued session ``session_id``; returns its final status."""
    runtime: JobRuntime = context.additional_context[CONTEXT_KEY]
    assert context.job.id is not None
    job = partial(_run_setup, runtime, context.job.id, context.worker_name, session_id)
    return await abortable(job, f"the setup job of session {session_id}")


async def _run_setup(
    runtime: JobRuntime, job_id: int, worker: str | None, session_id: str, abort: Abort
) -> str:
    run: RunningSetup | None = None
    try:
        async with runtime.db.session() as session:
            row = await repository.get_session(session, session_id)
            sealed = await jobs.sealed_request(session, session_id)
        if row is None or sealed is None or row.status != SessionStatus.RUNNING:
            log.warning("Setup job of session %s has nothing to run (already ended)", session_id)
            return str(row.status) if row is not None else "gone"
        prepared = unseal(runtime.box, session_id, sealed.sealed)
        bind_request(prepared.request_id)  # the job's log lines name the POST that queued it
        bind_user(prepared.owner_id)
        bind_session(session_id)
        if abort.requested:  # cancelled as this worker took the job: it never connects
            await end_unrun(runtime.db, runtime.service.bus, session_id, cancelled_before_start())
            return str(SessionStatus.CANCELLED)
        log.info("Setup job %s of session %s runs on worker %s", job_id, session_id, worker)
        run = await runtime.service.launch(prepared, NoLease())
        abort.started(run)
        assert run.task is not None
        with fenced(runtime, job_id, run):
            response = await run.task
            if run.fenced:
                return await take_over(runtime, job_id, session_id)
        return str(response.status)
    finally:
        if not (run is not None and run.fenced):  # a fenced run's request is kept for its retry
            async with runtime.db.session() as session:
                await jobs.forget_request(session, session_id)


def fenced(runtime: JobRuntime, job_id: int, run: RunningSetup) -> AbstractContextManager[None]:
    """The run, fenced by this worker's :class:`~setupwizard.jobs.fence.Fence` (none: not fenced)."""
    return runtime.fence.guard(job_id, run) if runtime.fence is not None else nullcontext()


async def take_over(runtime: JobRuntime, job_id: int, session_id: str) -> str:
    """A fenced setup's end, once PostgreSQL answers: claimed and ended here, or by the stalled pass."""
    from setupwizard.jobs.stalled import end_claimed_setup  # stalled imports this module

    assert runtime.fence is not None
    end = partial(end_claimed_setup, runtime, job_id, session_id, "was fenced")
    await runtime.fence.take_over(job_id, session_id, end)
    return "fenced"
