"""Revision 0011 on real databases: procrastinate's schema on PostgreSQL (up, down, up again), only our
table on SQLite."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, inspect, text

from setupwizard.db.database import Database, alembic_config
from tests.integration.web.fixtures import SettingsFactory, run_sync

QUEUE_TABLES = {
    "procrastinate_jobs",
    "procrastinate_workers",
    "procrastinate_events",
    "procrastinate_periodic_defers",
}


def _downgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, revision)


def _catalog(connection: Connection) -> tuple[set[str], int]:
    tables = set(inspect(connection).get_table_names())
    if connection.dialect.name != "postgresql":
        return tables, 0
    leftovers = connection.execute(
        text(
            "SELECT (SELECT count(*) FROM pg_proc WHERE proname LIKE 'procrastinate%') "
            "+ (SELECT count(*) FROM pg_type WHERE typname LIKE 'procrastinate%')"
        )
    ).scalar_one()
    return tables, int(leftovers)


def test_0011_up_down_up(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def cycle() -> list[tuple[set[str], int]]:
        db = Database(settings)
        states = []
        try:
            await db.migrate()
            async with db.engine.connect() as connection:
                states.append(await connection.run_sync(_catalog))
            async with db.engine.begin() as connection:
                await connection.run_sync(_downgrade, "0010")
            async with db.engine.connect() as connection:
                states.append(await connection.run_sync(_catalog))
            await db.migrate()
            async with db.engine.connect() as connection:
                states.append(await connection.run_sync(_catalog))
        finally:
            await db.dispose()
        return states

    up, down, again = run_sync(cycle)
    postgres = settings.effective_database_url.startswith("postgresql")
    assert "setup_job_secrets" in up[0]
    assert "setup_job_secrets" not in down[0]
    if postgres:
        assert up[0] >= QUEUE_TABLES and up[1] > 0
        assert not (down[0] & QUEUE_TABLES) and down[1] == 0, "the downgrade left procrastinate objects"
    else:
        assert not (up[0] & QUEUE_TABLES)
    assert again == up
