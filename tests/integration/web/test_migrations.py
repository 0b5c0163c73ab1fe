"""Migrations: applied at start on SQLite and PostgreSQL, idempotent, matching the models, packaged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from setupwizard.db.database import Database, alembic_config
from setupwizard.db.models import Base, SshServerSudo
from setupwizard.db.procrastinate_schema import is_ours
from tests.integration.web.fixtures import SettingsFactory, run_sync

TABLES = {"users", "auth_tokens", "ssh_servers_sudo", "known_hosts", "setup_sessions", "session_events"}
REPO = Path(__file__).resolve().parents[3]


def _state(connection: Connection) -> tuple[set[str], str | None, list[object]]:
    tables = set(inspect(connection).get_table_names())
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": is_ours})
    return tables, context.get_current_revision(), compare_metadata(context, Base.metadata)


def test_migrations_create_the_schema_twice_without_harm(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def migrate_twice() -> tuple[set[str], str | None, list[object]]:
        db = Database(settings)
        try:
            await db.migrate()
            await db.migrate()
            async with db.engine.connect() as connection:
                return await connection.run_sync(_state)
        finally:
            await db.dispose()

    tables, revision, differences = run_sync(migrate_twice)
    assert tables >= TABLES | {"alembic_version"}
    assert revision == ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert differences == [], "models and migrations disagree: write a new migration"


def test_foreign_keys_are_enforced(make_settings: SettingsFactory) -> None:
    settings = make_settings()

    async def insert_orphan() -> str:
        db = Database(settings)
        try:
            await db.migrate()
            try:
                async with db.session() as session:
                    session.add(
                        SshServerSudo(user_id=999, host="h", ssh_port=22, sudo_user="u", sudo_password="")
                    )
            except Exception as exc:
                return type(exc).__name__
            return "inserted"
        finally:
            await db.dispose()

    assert run_sync(insert_orphan) == "IntegrityError"


MIGRATE_FROM_BUILD = """
import asyncio, sys
import setupwizard
from setupwizard.config import Settings
from setupwizard.db.database import Database

async def main():
    db = Database(Settings(database_url=sys.argv[1]))
    await db.migrate()
    await db.dispose()

asyncio.run(main())
print(setupwizard.__file__)
"""


def test_migrations_run_from_a_built_package(tmp_path: Path, db_url: str) -> None:
    """Build the package as an installer would (setuptools build_py) and migrate from that copy alone."""
    build = tmp_path / "build"
    egg_info = ["egg_info", "--egg-base", str(tmp_path)]
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from setuptools import setup; setup()",
            "-q",
            *egg_info,
            "build_py",
            "--build-lib",
            str(build),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    assert (build / "setupwizard/db/migrations/script.py.mako").is_file()
    run = subprocess.run(
        [sys.executable, "-c", MIGRATE_FROM_BUILD, db_url],
        cwd=tmp_path,
        env={"PYTHONPATH": str(build), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        text=True,
    )
    assert run.stdout.strip() == str(build / "setupwizard/__init__.py")

    async def tables() -> set[str]:
        from setupwizard.config import Settings

        db = Database(Settings(database_url=db_url))
        try:
            async with db.engine.connect() as connection:
                return await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        finally:
            await db.dispose()

    assert run_sync(tables) >= TABLES
