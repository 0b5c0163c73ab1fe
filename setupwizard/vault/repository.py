"""SQL about ``ssh_keys``: every query names the owner, so a key is only ever its owner's."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.db.models import SshKey


class SshKeyRepository:
    """The vault's rows, within one session (the caller commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, key: SshKey) -> SshKey:
        self.session.add(key)
        await self.session.flush()
        return key

    async def of_user(self, user_id: int) -> Sequence[SshKey]:
        """A user's keys, by name."""
        result = await self.session.execute(
            select(SshKey).where(SshKey.user_id == user_id).order_by(SshKey.name, SshKey.id)
        )
        return result.scalars().all()

    async def get_owned(self, user_id: int, key_id: int) -> SshKey | None:
        result = await self.session.execute(
            select(SshKey).where(SshKey.id == key_id, SshKey.user_id == user_id)
        )
        return result.scalar_one_or_none()

    async def name_taken(self, user_id: int, name: str) -> bool:
        result = await self.session.execute(
            select(SshKey.id).where(SshKey.user_id == user_id, SshKey.name == name)
        )
        return result.first() is not None

    async def delete(self, key: SshKey) -> None:
        await self.session.execute(delete(SshKey).where(SshKey.id == key.id, SshKey.user_id == key.user_id))
