"""All SQL about a user's setup presets (``setup_presets``): named step choices, each user's own."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.db.models import SetupPreset

MAX_PRESETS_PER_USER = 50


class PresetRepository:
    """``setup_presets``: a user's own presets; every statement is scoped by the owner's ``user_id``."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list(self, user_id: int) -> Sequence[SetupPreset]:
        """The user's presets by name."""
        result = await self.session.execute(
            select(SetupPreset).where(SetupPreset.user_id == user_id).order_by(SetupPreset.name)
        )
        return result.scalars().all()

    async def save(self, user_id: int, name: str, steps: dict[str, Any]) -> SetupPreset | None:
        """Create the preset, or replace the steps of the user's preset of that name; None when the user
        already has :data:`MAX_PRESETS_PER_USER` others."""
        row = (
            await self.session.execute(
                select(SetupPreset).where(SetupPreset.user_id == user_id, SetupPreset.name == name)
            )
        ).scalar_one_or_none()
        if row is None:
            count = await self.session.scalar(
                select(func.count()).select_from(SetupPreset).where(SetupPreset.user_id == user_id)
            )
            if (count or 0) >= MAX_PRESETS_PER_USER:
                return None
            row = SetupPreset(user_id=user_id, name=name, steps=steps)
            self.session.add(row)
        else:
            row.steps = steps
            row.updated_at = datetime.now(UTC)
        await self.session.flush()
        return row

    async def delete(self, user_id: int, preset_id: int) -> bool:
        """Delete one of the user's presets; False when it is not theirs or does not exist."""
        result = await self.session.execute(
            delete(SetupPreset).where(SetupPreset.id == preset_id, SetupPreset.user_id == user_id)
        )
        return bool(getattr(result, "rowcount", 0))
