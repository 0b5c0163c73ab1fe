"""All SQL about the audit trail (``audit_events``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.db.models import AuditEvent, utc_now


class AuditRepository:
    """Appends to and reads the trail, within one session (the caller commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        action: str,
        actor_id: int | None,
        actor: str,
        outcome: str = "ok",
        target: str = "",
        address: str = "",
        detail: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        """Append one event (never pass a secret: the columns are plain)."""
        self.session.add(
            AuditEvent(
                action=action[:32],
                actor_id=actor_id,
                actor=actor[:64],
                outcome=outcome[:32],
                target=target[:320],
                address=address[:64],
                detail=detail or {},
                at=at or utc_now(),
            )
        )
        await self.session.flush()

    async def list(
        self, *, limit: int, before_id: int | None = None, action: str | None = None, actor: str | None = None
    ) -> Sequence[AuditEvent]:
        """Newest first by ``at`` (a setup's start is written when its request answers, which can be
        long after it came in), then by id; ``before_id`` pages back: the events listed after that one."""
        query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
        if before_id is not None:
            last = await self.session.get(AuditEvent, before_id)
            if last is None:
                query = query.where(AuditEvent.id < before_id)
            else:
                earlier = AuditEvent.at < last.at
                query = query.where(or_(earlier, and_(AuditEvent.at == last.at, AuditEvent.id < before_id)))
        if action:
            query = query.where(AuditEvent.action == action)
        if actor:
            query = query.where(AuditEvent.actor == actor)
        return (await self.session.execute(query)).scalars().all()
