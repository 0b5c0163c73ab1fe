"""A fleet's progress: host rows and the numbered events of ``WS /api/fleets/{id}/progress``.

Every change is written to the database (the host's row and one event, in one transaction), then the
sockets of this process waiting on the fleet are woken; a socket also looks again every
``POLL_SECONDS``, so a change written by another process reaches it too.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

from setupwizard.db.database import Database
from setupwizard.fleets import repository
from setupwizard.fleets.last_line import LastLine
from setupwizard.provisioning.events import format_timestamp, utc_now
from setupwizard.provisioning.messages import Msg

POLL_SECONDS = 1.0


class FleetProgress:
    """Writes host changes and wakes the fleet's sockets; remembers running hosts' last lines."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._changed: dict[str, asyncio.Event] = {}
        self.last_lines: dict[tuple[str, int], LastLine] = {}
        """The newest line of each running host (stored at each step and at the end, shown meanwhile)."""

    async def host_changed(
        self, fleet_id: str, position: int, event: dict[str, Any], line: LastLine | None = None, **row: Any
    ) -> int:
        """Store the host's new columns and one event about it; returns the event's seq. ``line``: its new
        last line, in the row and in the event (text, and code with params when it has one)."""
        if line is not None:
            row = {**row, **line.columns()}
            event = {**event, **line.frame()}
        async with self.db.session() as session:
            if row:
                await repository.update_host(session, fleet_id, position, **row)
            seq = await repository.add_event(
                session, fleet_id, {**event, "position": position, "at": format_timestamp(utc_now())}
            )
        self.wake(fleet_id)
        return seq

    async def host_never_ran(
        self,
        fleet_id: str,
        position: int,
        session_id: str,
        status: str,
        reason: str,
        said: Msg,
        at: datetime | None = None,
    ) -> int:
        """A host that ended without running (cancelled, skipped, refused): its row and one event, its last
        line ``said`` (why)."""
        return await self.host_changed(
            fleet_id,
            position,
            {"type": "host", "status": status, "session_id": session_id, "reason": reason},
            LastLine.of_msg(said),
            status=status,
            reason=reason[:64],
            finished_at=at or utc_now(),
        )

    async def fleet_changed(self, fleet_id: str, event: dict[str, Any], **row: Any) -> int:
        """Store the fleet's new columns and one event about it."""
        async with self.db.session() as session:
            if row:
                await repository.set_fleet(session, fleet_id, **row)
            seq = await repository.add_event(session, fleet_id, {**event, "at": format_timestamp(utc_now())})
        self.wake(fleet_id)
        return seq

    def wake(self, fleet_id: str) -> None:
        """Wake the sockets waiting on the fleet."""
        changed = self._changed.pop(fleet_id, None)
        if changed is not None:
            changed.set()

    async def wait(self, fleet_id: str, seconds: float = POLL_SECONDS) -> None:
        """Until the fleet changes here, or ``seconds`` passed (a change by another process)."""
        changed = self._changed.setdefault(fleet_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), seconds)
