"""Without Redis, a second worker is refused with a message naming the settings, instead of silently
splitting sessions between processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from setupwizard.config import Settings
from tests.integration.web.live import ADMIN_PASSWORD, ADMIN_USER, ProcessServer, free_port, settings_env

SERVE = "from setupwizard.cli import main; main()"


def settings_for(data_dir: Path, database_url: str = "") -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url="",
        admin_user=ADMIN_USER,
        admin_password=ADMIN_PASSWORD,
    )


def serve(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """``setupwizard serve ARGS`` to its end (it is expected to refuse; the timeout is only a backstop)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SETUPWIZARD_")}
    env.update(settings_env(settings))
    env.update({"SETUPWIZARD_HOST": "127.0.0.1", "SETUPWIZARD_PORT": str(free_port())})
    return subprocess.run(
        [sys.executable, "-c", SERVE, "serve", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_several_workers_without_redis_and_postgresql_refuse_to_start(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data")
    refused = serve(settings, "--workers", "2")
    assert refused.returncode == 2
    assert "SETUPWIZARD_REDIS_URL" in refused.stderr and "SETUPWIZARD_DATABASE_URL" in refused.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_a_second_process_on_one_sqlite_data_dir_is_refused(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data")
    first = ProcessServer(settings, tmp_path / "first.log")
    first.start()
    try:
        refused = serve(settings)
        assert refused.returncode == 2
        assert "Another Setup Wizard process already serves the SQLite database" in refused.stderr
        assert "SETUPWIZARD_REDIS_URL" in refused.stderr
        assert first.client().get("/api/health").status_code == 200  # the first one is untouched
    finally:
        first.stop()
    first.start()  # the lock went with the process: the same data dir starts again
    first.stop()


def test_a_second_process_on_one_postgresql_database_without_redis_is_refused(
    postgres_url: str, tmp_path: Path
) -> None:
    first = ProcessServer(settings_for(tmp_path / "data", postgres_url), tmp_path / "first.log")
    first.start()
    try:
        second = settings_for(tmp_path / "second-data", postgres_url)
        refused = serve(second)
        assert refused.returncode != 0
        assert "already serves this PostgreSQL database without Redis" in refused.stdout + refused.stderr
        assert "SETUPWIZARD_REDIS_URL" in refused.stdout + refused.stderr
    finally:
        first.stop()
