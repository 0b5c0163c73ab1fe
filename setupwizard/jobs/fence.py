"""Self-fencing: a worker cut off from PostgreSQL stops its own setups before anyone may retry them.

The stalled-job pass (``jobs/stalled.py``) counts a worker dead once its procrastinate heartbeat
(``procrastinate_workers.last_heartbeat``, written by ``JobManager.update_heartbeat``) is older than the
lease (``SETUPWIZARD_LEASE_SECONDS``), and retries its setups on another worker. A worker that is alive
but cannot reach PostgreSQL looks exactly like a dead one, and its setups would go on against the same
servers as their retries. So each worker watches its own heartbeat: when no heartbeat has succeeded for
:data:`FENCE_FRACTION` of a lease, it *fences* itself: every setup it runs is asked to stop (the running
remote command is interrupted, as a cancel does) and from then on that run writes nothing and publishes
nothing; its session is left for the one who takes its job over.

Why ``lease × 2/3``: the clock starts when the last heartbeat that succeeded was *sent*, which is no later
than PostgreSQL's ``NOW()`` of that heartbeat's write, so the fence trips at least ``lease / 3`` (10 s with
the default 30 s lease) before any other worker can find the job stalled, and the retry's first command
comes later still (the next stalled pass, then a new SSH connection). That third is the time the run has
to stop its remote command (a Ctrl-C and a TERM into it, at once). It is two heartbeat intervals (six per
lease, ``jobs/worker.py``), so a worker fences only after about four heartbeats in a row failed: one slow
heartbeat does not fence it.

Who ends a fenced session: whoever *claims its job* — finishes it ``failed`` while it is still ``doing``
(procrastinate's ``finish_job_by_id_async`` refuses a job that is not ``doing``, so exactly one claim
wins). Either the stalled-job pass of another worker, or this worker itself once PostgreSQL answers again
before that (:meth:`Fence.take_over`). The winner ends the session ``interrupted`` (its unstored lines
copied from the bus) and retries it once (``retried_as``); the fenced run never writes its own end, and
procrastinate's own finish of the job (refused: it is not ``doing`` any more) is expected and only logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import LiteralString

import psycopg
from procrastinate import jobs as procrastinate_jobs
from procrastinate.connector import BaseConnector
from procrastinate.exceptions import ConnectorException
from procrastinate.jobs import Status
from procrastinate.manager import JobManager

from setupwizard.core.ratelog import ReportGate
from setupwizard.setup.running import RunningSetup

log = logging.getLogger(__name__)

FENCE_FRACTION = 2 / 3
"""Fence once no heartbeat has succeeded for this fraction of the lease (see the module doc)."""
SLOW_HEARTBEAT_SECONDS = 1.0
"""A heartbeat that took longer is sent again at once (:meth:`HeartbeatJobManager.update_heartbeat`)."""
RECONNECT_SECONDS = 1.0
"""How often a fenced job tries PostgreSQL again to take its job over."""

TakeOver = Callable[[], Awaitable[object]]
"""Ends a claimed job's session ``interrupted`` and retries it (the stalled-job pass's own steps)."""


HEARTBEAT: LiteralString = """
WITH beat AS (
    UPDATE procrastinate_workers SET last_heartbeat = NOW() WHERE id = %(worker_id)s::bigint RETURNING id
)
INSERT INTO procrastinate_workers (id, last_heartbeat) OVERRIDING SYSTEM VALUE
SELECT %(worker_id)s::bigint, NOW() WHERE NOT EXISTS (SELECT 1 FROM beat)
ON CONFLICT (id) DO NOTHING
RETURNING id
"""
"""procrastinate's heartbeat (``procrastinate_update_heartbeat_v1``), and the worker's row back under its own
id when it is gone: a starting worker deletes the rows of workers whose heartbeat is older than the stalled
timeout, so one cut off from PostgreSQL that long comes back to no row. Its heartbeats would then update
nothing (its next jobs would look stalled to every other worker) and each job it fetched would break the
jobs' foreign key to the workers. Returns a row only when it registered the worker again."""


def fence_seconds(lease_seconds: float) -> float:
    """How long without a heartbeat before a worker fences itself."""
    return lease_seconds * FENCE_FRACTION


class HeartbeatJobManager(JobManager):
    """procrastinate's job manager that remembers when its last heartbeat succeeded.

    A failed heartbeat is logged, not raised: procrastinate stops a worker whose heartbeat task fails, and
    a worker stopped that way would never take a job again once PostgreSQL is back; the fence is what
    protects the servers meanwhile. procrastinate's refusal to finish a job that was claimed away from a
    fenced run is expected, and logged instead of failing the worker's job task.
    """

    def __init__(self, connector: BaseConnector) -> None:
        super().__init__(connector)
        self.last_beat = time.monotonic()
        """``time.monotonic()`` when the last heartbeat that succeeded was sent."""
        self.beat = asyncio.Event()
        self.fenced_jobs: set[int] = set()
        self._gate = ReportGate(60.0)

    async def register_worker(self) -> int:
        sent = time.monotonic()
        worker_id = await super().register_worker()
        self._succeeded(sent)
        return worker_id

    async def update_heartbeat(self, worker_id: int) -> None:
        """procrastinate's heartbeat; one that took long is sent again at once. The fence counts from a
        heartbeat's sending, and one held up (PostgreSQL unreachable, then back) was sent long before it was
        written: without a fresh one right away, the fence would trip after PostgreSQL answered again,
        before procrastinate's next heartbeat (an interval later). A worker whose row was pruned meanwhile
        gets it back (:data:`HEARTBEAT`)."""
        while True:
            sent = time.monotonic()
            try:
                restored = await self.connector.execute_query_all_async(HEARTBEAT, worker_id=worker_id)
            except ConnectorException as exc:
                if self._gate.due():
                    log.warning("The job worker's heartbeat failed (%s); trying again", type(exc).__name__)
                return
            if restored:
                log.warning(
                    "This job worker (%s) was counted stalled and removed while it could not reach "
                    "PostgreSQL; it is registered again under the same id",
                    worker_id,
                )
            self._succeeded(sent)
            if time.monotonic() - sent < SLOW_HEARTBEAT_SECONDS:
                return

    async def fetch_job(self, queues: Iterable[str] | None, worker_id: int) -> procrastinate_jobs.Job | None:
        """procrastinate's fetch; a worker whose row was pruned (the job's ``worker_id`` then refers to no
        worker) sends a heartbeat, which registers it again, and fetches once more."""
        try:
            return await super().fetch_job(queues=queues, worker_id=worker_id)
        except ConnectorException as exc:
            if not isinstance(exc.__cause__, psycopg.errors.ForeignKeyViolation):
                raise
        await self.update_heartbeat(worker_id)
        return await super().fetch_job(queues=queues, worker_id=worker_id)

    async def finish_job(self, job: procrastinate_jobs.Job, status: Status, delete_job: bool) -> None:
        try:
            await super().finish_job(job=job, status=status, delete_job=delete_job)
        except ConnectorException:
            if job.id not in self.fenced_jobs:
                raise
            log.info("Job %s was fenced and taken over; procrastinate's own finish is not needed", job.id)
        finally:
            self.fenced_jobs.discard(job.id or 0)

    def _succeeded(self, sent: float) -> None:
        self.last_beat = max(self.last_beat, sent)
        self._gate.reset()
        self.beat.set()


class Fence:
    """One worker's fence: trips when its heartbeat is older than :func:`fence_seconds` of the lease, and
    stops every setup it runs (:meth:`guard`)."""

    def __init__(self, manager: HeartbeatJobManager, lease_seconds: float) -> None:
        self.manager = manager
        self.limit = fence_seconds(lease_seconds)
        self._runs: dict[int, RunningSetup] = {}
        self.fenced: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Watch the heartbeat (a task of this event loop)."""
        self.manager.last_beat = time.monotonic()
        self._task = asyncio.create_task(self._watch(), name="job-fence")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    @contextmanager
    def guard(self, job_id: int, run: RunningSetup) -> Iterator[None]:
        """Fence ``run`` (the setup of job ``job_id``) if this worker loses PostgreSQL while it runs."""
        self._runs[job_id] = run
        try:
            yield
        finally:
            self._runs.pop(job_id, None)
            self.fenced.discard(job_id)

    def is_fenced(self, job_id: int) -> bool:
        return job_id in self.fenced

    async def _watch(self) -> None:
        while True:
            overdue = time.monotonic() - self.manager.last_beat
            if overdue < self.limit:
                self.manager.beat.clear()
                await asyncio.sleep(self.limit - overdue)
                continue
            self._trip(overdue)
            self.manager.beat.clear()
            await self.manager.beat.wait()  # PostgreSQL answers again: watch the next lease

    def _trip(self, overdue: float) -> None:
        runs = {job_id: run for job_id, run in self._runs.items() if job_id not in self.fenced}
        if not runs:
            return
        log.error(
            "No heartbeat reached PostgreSQL for %.0f s: fencing %d running setup(s) before their jobs are "
            "retried elsewhere (sessions %s)",
            overdue,
            len(runs),
            ", ".join(run.session_id for run in runs.values()),
        )
        for job_id, run in runs.items():
            self.fenced.add(job_id)
            self.manager.fenced_jobs.add(job_id)
            run.fenced = True
            run.cancel.set()

    async def take_over(self, job_id: int, session_id: str, end: TakeOver) -> None:
        """A fenced job, once its run has stopped: wait for PostgreSQL, then claim the job unless another
        worker's stalled pass did; the claimer ends and retries the session (``end``)."""
        while True:
            try:
                status = await self.manager.get_job_status_async(job_id)
                if status is not Status.DOING:
                    log.warning("Fenced setup %s was taken over by the stalled-job pass", session_id)
                    return
                await self.manager.finish_job_by_id_async(job_id, status=Status.FAILED, delete_job=False)
            except ConnectorException:
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            break
        log.warning("Fenced setup %s: PostgreSQL answers again; ending and retrying it here", session_id)
        await end()
