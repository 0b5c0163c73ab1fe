"""SQL about ``notify_targets``: every query names the owner."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.db.models import NotifyTarget


class NotifyTargetRepository:
    """A user's notification targets, within one session (the caller commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, target: NotifyTarget) -> NotifyTarget:
        self.session.add(target)
        await self.session.flush()
        return target

    async def of_user(self, user_id: int) -> Sequence[NotifyTarget]:
        result = await self.session.execute(
            select(NotifyTarget).where(NotifyTarget.user_id == user_id).order_by(NotifyTarget.name)
        )
        return result.scalars().all()

    async def get_owned(self, user_id: int, target_id: int) -> NotifyTarget | None:
        result = await self.session.execute(
            select(NotifyTarget).where(NotifyTarget.id == target_id, NotifyTarget.user_id == user_id)
        )
        return result.scalar_one_or_none()

    async def name_taken(self, user_id: int, name: str) -> bool:
        result = await self.session.execute(
            select(NotifyTarget.id).where(NotifyTarget.user_id == user_id, NotifyTarget.name == name)
        )
        return result.first() is not None

    async def wanting(self, user_id: int, succeeded: bool) -> Sequence[NotifyTarget]:
        """The user's targets whose rule asks for this outcome."""
        rule = NotifyTarget.on_succeeded if succeeded else NotifyTarget.on_failed
        result = await self.session.execute(
            select(NotifyTarget).where(NotifyTarget.user_id == user_id, rule.is_(True))
        )
        return result.scalars().all()

    async def set_rules(self, target_id: int, on_failed: bool, on_succeeded: bool) -> None:
        await self.session.execute(
            update(NotifyTarget)
            .where(NotifyTarget.id == target_id)
            .values(on_failed=on_failed, on_succeeded=on_succeeded)
        )

    async def mark_sent(self, target_id: int, at: datetime, error: str) -> None:
        """Note a delivery: when it was tried last, and why it failed ('' when it went through)."""
        await self.session.execute(
            update(NotifyTarget)
            .where(NotifyTarget.id == target_id)
            .values(last_sent_at=at, last_error=error[:200])
        )

    async def delete(self, target: NotifyTarget) -> None:
        await self.session.execute(
            delete(NotifyTarget).where(NotifyTarget.id == target.id, NotifyTarget.user_id == target.user_id)
        )
