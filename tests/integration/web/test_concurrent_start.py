"""Two instances starting at once against one PostgreSQL database both come up (advisory lock)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from setupwizard.config import Settings
from setupwizard.db.database import Database
from tests.integration.web.fixtures import run_sync

MIGRATE = """
import asyncio, sys
from setupwizard.config import Settings
from setupwizard.db.database import Database

async def main():
    db = Database(Settings(database_url=sys.argv[1]))
    await db.migrate()
    await db.dispose()

asyncio.run(main())
"""


def test_simultaneous_migrations_on_postgres_both_succeed(postgres_url: str, tmp_path: Path) -> None:
    processes = [
        subprocess.Popen([sys.executable, "-c", MIGRATE, postgres_url], stderr=subprocess.PIPE, cwd=tmp_path)
        for _ in range(3)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr.decode()

    async def versions() -> list[str]:
        db = Database(Settings(database_url=postgres_url))
        try:
            async with db.engine.connect() as connection:
                return list(
                    (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars()
                )
        finally:
            await db.dispose()

    assert len(run_sync(versions)) == 1
