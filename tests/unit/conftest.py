"""A real SQLite database (migrated) for unit tests that store sessions and events, and users to own them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from setupwizard.auth.service import create_user
from setupwizard.config import Settings
from setupwizard.db.database import Database


@pytest.fixture(scope="module")
async def db(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    data_dir: Path = tmp_path_factory.mktemp("setup-unit")
    database = Database(Settings(data_dir=data_dir))
    await database.migrate()
    yield database
    await database.dispose()


@pytest.fixture
def make_user(db: Database) -> Callable[[], Awaitable[int]]:
    async def make() -> int:
        async with db.session() as session:
            user = await create_user(session, f"u{uuid.uuid4().hex[:10]}", "a-long-password-123")
            return user.id

    return make
