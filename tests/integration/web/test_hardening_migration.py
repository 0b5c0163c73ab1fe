"""Revision 0002 on both databases: a host key recorded before it stays trusted by every existing user."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, text

from setupwizard.db.database import Database, alembic_config
from tests.integration.web.fixtures import SettingsFactory, run_sync


def _upgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def test_keys_recorded_before_0002_are_copied_to_every_user(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def migrate() -> list[tuple[object, ...]]:
        db = Database(settings)
        try:
            async with db.engine.begin() as connection:
                await connection.run_sync(_upgrade, "0001")
                for user_id, name in ((1, "ann"), (2, "ben")):
                    await connection.execute(
                        text(
                            "INSERT INTO users (id, username, password_hash, is_admin, created_at) "
                            "VALUES (:id, :name, 'x', false, CURRENT_TIMESTAMP)"
                        ),
                        {"id": user_id, "name": name},
                    )
                await connection.execute(
                    text(
                        "INSERT INTO known_hosts (host, port, fingerprint, first_seen, last_seen) "
                        "VALUES ('h.example.org', 22, 'SHA256:k', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    )
                )
            await db.migrate()
            async with db.engine.connect() as connection:
                result = await connection.execute(
                    text("SELECT user_id, host, port, fingerprint FROM known_hosts ORDER BY user_id")
                )
                return [tuple(row) for row in result.all()]
        finally:
            await db.dispose()

    assert run_sync(migrate) == [(1, "h.example.org", 22, "SHA256:k"), (2, "h.example.org", 22, "SHA256:k")]
