"""Revision 0013 on SQLite and PostgreSQL: a fleet host's last line gets its code and params columns (up,
down, up again), and a host row written before keeps its text through both ways."""

from __future__ import annotations

import uuid

from alembic import command
from sqlalchemy import Connection, inspect, text

from setupwizard.auth.service import create_user
from setupwizard.db.database import Database, alembic_config
from setupwizard.db.models import Fleet, FleetHost, utc_now
from setupwizard.fleets import repository
from tests.integration.web.fixtures import SettingsFactory, run_sync

COLUMNS = {"last_line_code", "last_line_params"}


def _downgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, revision)


def _state(connection: Connection) -> tuple[set[str], list[str]]:
    columns = {c["name"] for c in inspect(connection).get_columns("fleet_hosts")}
    lines = [str(row[0]) for row in connection.execute(text("SELECT last_line FROM fleet_hosts"))]
    return columns, lines


def test_0013_up_down_up_keeps_the_last_lines(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def cycle() -> list[tuple[set[str], list[str]]]:
        db = Database(settings)
        states = []
        try:
            await db.migrate()
            fleet_id = str(uuid.uuid4())
            async with db.session() as session:
                user = await create_user(session, "fleetowner", "a-long-password-123")
                fleet = Fleet(
                    id=fleet_id,
                    owner_id=user.id,
                    name="f",
                    plan={},
                    parallel=1,
                    status="done",
                    created_at=utc_now(),
                )
                host = FleetHost(
                    fleet_id=fleet_id,
                    position=0,
                    host="h",
                    port=22,
                    username="u",
                    session_id=str(uuid.uuid4()),
                    earlier_sessions=[],
                    status="skipped",
                    last_line="已跳过",
                    last_line_code="fleet.never_ran.stop_after_failures",
                    last_line_params={},
                )
                await repository.insert_fleet(session, fleet, [host])
            async with db.engine.connect() as connection:
                states.append(await connection.run_sync(_state))
            async with db.engine.begin() as connection:
                await connection.run_sync(_downgrade, "-1")  # 0013 only (whatever precedes it)
            async with db.engine.connect() as connection:
                states.append(await connection.run_sync(_state))
            await db.migrate()
            async with db.engine.connect() as connection:
                states.append(await connection.run_sync(_state))
            async with db.session() as session:
                again = (await repository.hosts_of(session, fleet_id))[0]
                states.append(({str(again.last_line_code)}, [again.last_line]))
        finally:
            await db.dispose()
        return states

    up, down, again, row = run_sync(cycle)
    assert up[0] >= COLUMNS and up[1] == ["已跳过"]
    assert not down[0] & COLUMNS and down[1] == ["已跳过"]
    assert again == up
    assert row == ({"None"}, ["已跳过"])  # the code went with the downgrade; the text stayed
