"""A procrastinate worker inside this process (``setupwizard serve`` unless ``SETUPWIZARD_RUN_JOBS=false``,
and ``setupwizard worker``): it takes setup jobs, at most ``SETUPWIZARD_WORKER_CONCURRENCY`` at once, and
stops them itself when it cannot reach PostgreSQL for two thirds of a lease (``jobs/fence.py``)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket

from procrastinate import App

from setupwizard.jobs.fence import Fence, HeartbeatJobManager
from setupwizard.jobs.repository import QUEUE
from setupwizard.jobs.stalled import UPKEEP_QUEUE
from setupwizard.jobs.task import CONTEXT_KEY, JobRuntime

log = logging.getLogger(__name__)

HEARTBEATS_PER_LEASE = 6
"""The worker tells PostgreSQL it is alive (``procrastinate_workers.last_heartbeat``) this many times per
``SETUPWIZARD_LEASE_SECONDS``; silent for a whole lease, it is dead and its jobs are stalled."""


class JobWorker:
    """The worker's task in this process's event loop: :meth:`start`, then :meth:`stop` at shutdown."""

    def __init__(self, app: App, runtime: JobRuntime, *, concurrency: int, lease_seconds: float) -> None:
        self.app = app
        assert isinstance(app.job_manager, HeartbeatJobManager)  # jobs/queue.py builds it so
        self.fence = Fence(app.job_manager, lease_seconds)
        self.runtime = dataclasses.replace(runtime, fence=self.fence)
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.name = f"{socket.gethostname()}-{os.getpid()}"
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Listen for setup jobs (LISTEN/NOTIFY, and a poll as a fallback), and fence them when this process
        loses PostgreSQL (``jobs/fence.py``)."""
        self.fence.start()
        self._task = asyncio.create_task(
            self.app.run_worker_async(
                queues=[QUEUE, UPKEEP_QUEUE],
                name=self.name,
                concurrency=self.concurrency,
                install_signal_handlers=False,  # the server (or `setupwizard worker`) handles signals
                additional_context={CONTEXT_KEY: self.runtime},
                update_heartbeat_interval=self.lease_seconds / HEARTBEATS_PER_LEASE,
                stalled_worker_timeout=self.lease_seconds,
            ),
            name="job-worker",
        )
        log.info("Job worker %s takes setups (at most %d at once)", self.name, self.concurrency)

    def stopping(self) -> None:
        """Take no new job (the running ones go on until they end)."""
        if self._task is not None:
            self._task.cancel()

    async def stop(self) -> None:
        """Take no new job and wait for the running ones to end (the service ends them at shutdown)."""
        self.stopping()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.fence.stop()
