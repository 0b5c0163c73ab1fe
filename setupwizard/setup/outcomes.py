"""A session's end, stored: its ``complete`` event and its final row in one transaction, kept trying until
the database takes them; and the ``complete`` event of a session whose log could not be stored in full.

Why retried in the background: when the disk is full, the session's last lines and its end cannot be
written, but the run is over and its answer must go out now (saying what was lost). The row then still
says ``running``; the end is written as soon as the database takes writes again (a few seconds later), so
the row ends up saying what the answer said. If the process stops first, the start-up recovery (or the
stalled-job pass, ``jobs/stalled.py``) marks the row ``interrupted`` as for any crash. While an end waits,
``/api/health`` answers 503 (:attr:`OutcomeWriter.failing`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from sqlalchemy.exc import IntegrityError

from setupwizard.core.ratelog import ReportGate
from setupwizard.db.database import Database
from setupwizard.db.faults import describe
from setupwizard.live import store
from setupwizard.provisioning.events import Level, SessionEvent
from setupwizard.provisioning.messages import msg, text_msg
from setupwizard.provisioning.result import SessionStatus
from setupwizard.setup import repository

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
"""How often a waiting end is tried again."""
REPORT_SECONDS = 60.0
_MARKS = {Level.SUCCESS: "✓", Level.WARNING: "⚠"}  # else ✗


def incomplete_log_event(complete: SessionEvent, stored: int, total: int, reason: str) -> SessionEvent:
    """``complete`` saying that only ``stored`` of the session's ``total`` earlier seqs were stored.

    A run that succeeded on the server ends ``log_incomplete`` (not ``succeeded``: the log is not whole);
    any other end keeps its status. ``success`` keeps saying how the server part went; the message (code
    ``run.log_incomplete``, wrapping the run's own message) says both, and ``data["log"]`` has the counts.
    """
    data = complete.data
    if data.get("code"):
        inner = {"code": str(data["code"]), "params": dict(data.get("params") or {})}
    else:
        inner = text_msg(str(data.get("message", ""))).as_param()
    result = msg("run.log_incomplete", result=inner, stored=stored, total=total, reason=reason)
    status = str(data.get("status", SessionStatus.FAILED))
    if status == SessionStatus.SUCCEEDED:
        status = SessionStatus.LOG_INCOMPLETE
    level = Level.WARNING if complete.level is Level.SUCCESS else complete.level
    line = msg("run.complete", mark=_MARKS.get(level, "✗"), result=result)
    new_data = {
        **data,
        "status": status,
        "message": str(result),
        "code": result.code,
        "params": result.params,
        "log": {"stored": stored, "total": total},
    }
    return replace(
        complete, level=level, message=str(line), code=line.code, params=line.params, data=new_data
    )


class OutcomeWriter:
    """Writes sessions' ends; one that fails is tried again every :data:`RETRY_SECONDS` until it is stored."""

    def __init__(self, db: Database, retry_seconds: float = RETRY_SECONDS) -> None:
        self.db = db
        self.retry_seconds = retry_seconds
        self.failing: BaseException | None = None
        """The last failure while an end waits (for ``/api/health``), else None."""
        self._waiting: dict[str, asyncio.Task[None]] = {}
        self._gate = ReportGate(REPORT_SECONDS)

    @property
    def waiting(self) -> list[str]:
        """Ids of the sessions whose end is not stored yet."""
        return list(self._waiting)

    async def write(self, session_id: str, complete: SessionEvent) -> bool:
        """Store the end now; when that fails, keep trying in the background. True when stored now."""
        try:
            await self._store(session_id, complete)
        except Exception as exc:
            self._failed(session_id, exc)
            self._waiting[session_id] = asyncio.create_task(
                self._retry(session_id, complete), name=f"session-end-{session_id}"
            )
            return False
        return True

    async def _store(self, session_id: str, complete: SessionEvent) -> None:
        data = complete.data
        status = str(data.get("status", SessionStatus.FAILED))
        message = str(data.get("message", complete.message))
        try:
            async with self.db.session() as session:
                await store.add_events(session, session_id, [complete])
                await repository.finish_session(
                    session, session_id, status=status, message=message, result=data
                )
        except IntegrityError:  # an earlier try was committed after all: the event is there
            async with self.db.session() as session:
                await repository.finish_session(
                    session, session_id, status=status, message=message, result=data
                )

    def _failed(self, session_id: str, exc: BaseException) -> None:
        self.failing = exc
        if self._gate.due():
            log.error(
                "The end of session %s could not be stored (%s); trying again every %.0f s",
                session_id,
                describe(exc),
                self.retry_seconds,
            )

    async def _retry(self, session_id: str, complete: SessionEvent) -> None:
        while True:
            await asyncio.sleep(self.retry_seconds)
            try:
                await self._store(session_id, complete)
            except Exception as exc:
                self._failed(session_id, exc)
                continue
            self._waiting.pop(session_id, None)
            if not self._waiting:
                self.failing = None
                self._gate.reset()
            log.warning("The end of session %s is stored now (it waited for the database)", session_id)
            return

    async def close(self) -> None:
        """Stop trying: an end still waiting is left to the recovery at the next start (``interrupted``)."""
        tasks = list(self._waiting.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._waiting.clear()
