"""Confirm-or-revert across the service (issue 17 A6): is a session waiting for the person to confirm
the new login they tried from their own terminal, and passing their confirmation to the run.

A run waits from its ``hardening.confirm_wait`` event until its hardening step ends (the step's next
``step`` event). The worker running the session follows that from the events themselves
(:func:`follow`); another worker reads the stored events (:func:`stored_waiting`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.db.models import SetupSessionEvent
from setupwizard.provisioning.events import EventType, SessionEvent

WAIT_CODE = "hardening.confirm_wait"
STEP_ID = "ssh_hardening"


def follow(waiting: bool, events: Sequence[SessionEvent]) -> bool:
    """Whether the run waits for a confirmation after ``events`` (it did before them: ``waiting``)."""
    for event in events:
        if event.code == WAIT_CODE:
            waiting = True
        elif waiting and event.type in (EventType.STEP, EventType.COMPLETE):
            waiting = False
    return waiting


async def stored_waiting(session: AsyncSession, session_id: str) -> bool:
    """Whether the stored events show the session waiting: a wait event, no step event after it."""
    wait_seq = await session.scalar(
        select(func.max(SetupSessionEvent.seq)).where(
            SetupSessionEvent.session_id == session_id, SetupSessionEvent.code == WAIT_CODE
        )
    )
    if wait_seq is None:
        return False
    later = await session.scalar(
        select(func.count())
        .select_from(SetupSessionEvent)
        .where(
            SetupSessionEvent.session_id == session_id,
            SetupSessionEvent.seq > wait_seq,
            SetupSessionEvent.type.in_([EventType.STEP.value, EventType.COMPLETE.value]),
        )
    )
    return not later
