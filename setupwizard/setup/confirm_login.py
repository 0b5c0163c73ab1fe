"""Confirm-or-revert across the service: is a session waiting for the person to confirm
the new login they tried from their own terminal, and passing their confirmation to the run.

A run waits from its ``hardening.confirm_wait`` event until its hardening step ends (the step's next
``step`` event). The worker running the session follows that from the events themselves
(:func:`follow`); another worker reads the stored events (:func:`stored_waiting`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.live import event_reads
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
    wait_seq = await event_reads.last_seq_with_code(session, session_id, WAIT_CODE)
    if wait_seq is None:
        return False
    ended = (EventType.STEP, EventType.COMPLETE)
    return not await event_reads.any_event_after(session, session_id, wait_seq, ended)
