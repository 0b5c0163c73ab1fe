"""An abort of a setup job, answered at a safe point of the job's own code.

procrastinate aborts a running async job (``cancel_job_by_id_async(..., abort=True)`` from any process) by
cancelling the job's coroutine once. That ``CancelledError`` can land in any ``await`` of the job: before
its run has started (reading its rows, marking a fleet host ``running``) the job ended ``aborted`` with its
session still ``running`` and, for a fleet host, the host's row still ``queued`` or ``running``, so the
fleet never ended; and while the run was being started, the run went on without anyone to stop it.

So the job's body runs as a task of its own, shielded from that cancel, and the cancel becomes a request
(:class:`Abort`) the body answers: before its run starts it ends its session ``cancelled`` without
connecting (:attr:`Abort.requested`); once the run has started (:meth:`Abort.started`) the run's cancel
event is set, as the person's cancel does, and the run ends ``cancelled`` on its own. The job then lets the
cancellation through, so procrastinate records the job ``aborted``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from setupwizard.setup.running import RunningSetup

log = logging.getLogger(__name__)

T = TypeVar("T")


class Abort:
    """Whether the job was asked to stop, and the run an abort stops once it has started."""

    def __init__(self) -> None:
        self.requested = False
        self._run: RunningSetup | None = None

    def started(self, run: RunningSetup) -> None:
        """The job's run has started: an abort asked already, or from now on, stops it."""
        self._run = run
        if self.requested:
            run.cancel.set()

    def request(self) -> None:
        self.requested = True
        if self._run is not None:
            self._run.cancel.set()


async def abortable(body: Callable[[Abort], Coroutine[Any, Any, T]], what: str) -> T:
    """Run ``body`` to its end; an abort (this coroutine cancelled) is handed to it as a request, and once
    the body has ended the cancellation goes through. ``what``: the job, for the log."""
    abort = Abort()
    task = asyncio.create_task(body(abort))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        log.info("Abort of %s received: it stops at its next step", what)
        abort.request()
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:  # a second cancel: still wait for the body's own end
                continue
        task.result()  # the body's own failure, if it failed (else the abort goes through)
        raise
