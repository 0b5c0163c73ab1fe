"""Database faults: a read-only file stops the start; a database that fails while running gives
503s with a clear body, an unhealthy /api/health, and one log line a minute instead of a flood."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.web.fixtures import LiveServerFactory, SettingsFactory, _pg_execute, run_sync
from tests.integration.web.live import LiveServerError


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable even for root (the immutable attribute), and writable again after."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        path.chmod(0o400)
        try:
            yield
        finally:
            path.chmod(0o600)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_read_only_database_file_refuses_to_start_naming_the_file(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory, tmp_path: Path
) -> None:
    db_file = tmp_path / "readonly.db"
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{db_file}")
    live_server_factory(settings).stop()  # created and migrated once, as a real install would be
    for leftover in (Path(f"{db_file}-wal"), Path(f"{db_file}-shm")):
        leftover.unlink(missing_ok=True)
    with read_only(db_file), pytest.raises(LiveServerError) as refused:
        live_server_factory(settings, process=True)
    log = str(refused.value)
    assert f"The database file {db_file} is not writable" in log
    assert "nobody could log in" in log


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_database_gone_while_running_answers_503_and_health_says_so(
    live_server_factory: LiveServerFactory,
    make_settings: SettingsFactory,
    db_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = live_server_factory(make_settings())
    admin = server.admin_login()
    name = db_url.rsplit("/", 1)[1]
    admin_url = db_url.rsplit("/", 1)[0] + "/test"

    def cut_off(allow: bool) -> None:
        statements = [f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allow).lower()}']
        if not allow:
            statements.append(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            )
        for statement in statements:
            run_sync(lambda statement=statement: _pg_execute(admin_url, statement))  # type: ignore[misc]

    with server.client(admin) as client:
        assert client.get("/api/health").json()["database"] == "ok"
        caplog.set_level(logging.ERROR, logger="setupwizard.db.faults")
        cut_off(allow=False)
        try:
            answers = [client.get("/api/auth/me") for _ in range(5)]
            health = client.get("/api/health")
        finally:
            cut_off(allow=True)
        for answer in answers:
            assert answer.status_code == 503
            assert answer.json() == {
                "detail": "The service's database is not available right now; try again shortly",
                "code": "database_unavailable",
                "field": None,
            }
            assert answer.headers["Retry-After"] == "30"
        assert health.status_code == 503
        assert health.json()["status"] == "unhealthy"
        assert health.json()["database"].startswith("failing: ")
        reports = [r for r in caplog.records if r.name == "setupwizard.db.faults"]
        assert len(reports) == 1  # once, not once per request
        assert "The database is failing" in reports[0].getMessage()

        assert client.get("/api/health").status_code == 200
        assert client.get("/api/auth/me").status_code == 200
