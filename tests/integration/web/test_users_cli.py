"""``setupwizard users create/list``: works before the first start, reads the password from stdin only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.integration.web.fixtures import LiveServerFactory, SettingsFactory

CLI = "from setupwizard.cli import main; main()"
PASSWORD = "cli-password-6c2e"


def cli(args: list[str], data_dir: Path, db_url: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SETUPWIZARD_")}
    env.update({"SETUPWIZARD_DATA_DIR": str(data_dir), "SETUPWIZARD_DATABASE_URL": db_url})
    return subprocess.run(
        [sys.executable, "-c", CLI, *args], input=stdin, env=env, capture_output=True, text=True, timeout=120
    )


def test_users_created_by_the_cli_can_log_in(
    db_url: str, make_settings: SettingsFactory, live_server_factory: LiveServerFactory
) -> None:
    settings = make_settings(admin_user="", admin_password=None)
    created = cli(
        ["users", "create", "carol", "--admin", "--password-stdin"],
        settings.data_dir,
        db_url,
        PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    assert PASSWORD not in created.stdout + created.stderr
    plain = cli(
        ["users", "create", "dave", "--password-stdin"], settings.data_dir, db_url, "dave-password-1\n"
    )
    assert plain.returncode == 0, plain.stderr

    again = cli(["users", "create", "carol", "--password-stdin"], settings.data_dir, db_url, PASSWORD + "\n")
    assert again.returncode == 1
    assert "already exists" in again.stderr
    short = cli(["users", "create", "erin", "--password-stdin"], settings.data_dir, db_url, "short\n")
    assert short.returncode == 1
    assert "at least 8" in short.stderr

    listed = cli(["users", "list"], settings.data_dir, db_url)
    assert listed.stdout.splitlines() == ["1\tcarol\tadmin", "2\tdave\tuser"]

    server = live_server_factory(settings)  # users exist: no generated admin
    assert not (settings.data_dir / "initial-admin-password").exists()
    carol = server.login("carol", PASSWORD)
    with server.client(carol) as client:
        assert client.get("/api/auth/me").json()["is_admin"] is True

    reset = cli(
        ["users", "set-password", "carol", "--password-stdin"], settings.data_dir, db_url, "new-pass-77\n"
    )
    assert reset.returncode == 0, reset.stderr
    with server.client(carol) as client:
        assert client.get("/api/auth/me").status_code == 401  # the old login ended
    assert server.login("carol", "new-pass-77").token
    unknown = cli(
        ["users", "set-password", "nobody", "--password-stdin"], settings.data_dir, db_url, "whatever-1\n"
    )
    assert unknown.returncode == 1
    assert "No user 'nobody'" in unknown.stderr
