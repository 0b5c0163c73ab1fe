"""What a first start creates: the admin, its password file, the key file — with safe modes."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from setupwizard.auth.service import INITIAL_PASSWORD_FILE
from setupwizard.config import Settings
from setupwizard.core.secretbox import KEY_FILE_NAME
from tests.integration.web.fixtures import LiveServerFactory, SettingsFactory
from tests.integration.web.live import ADMIN_PASSWORD, ADMIN_USER, LiveServerError, ThreadServer


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_admin_comes_from_the_environment(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory
) -> None:
    settings = make_settings(admin_user="root-admin", admin_password="env-admin-password")
    server = live_server_factory(settings)
    with server.client(server.login("root-admin", "env-admin-password")) as client:
        assert client.get("/api/auth/me").json() == {"id": 1, "username": "root-admin", "is_admin": True}
    assert not (settings.data_dir / INITIAL_PASSWORD_FILE).exists()


def test_admin_settings_do_nothing_once_users_exist(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory
) -> None:
    server = live_server_factory(make_settings())
    server.stop()
    again = live_server_factory(make_settings(admin_user="second", admin_password="second-password"))
    with pytest.raises(Exception, match="401"):
        again.login("second", "second-password")
    assert again.login("admin", ADMIN_PASSWORD).token


def test_without_settings_a_random_admin_password_is_written_to_a_0600_file(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(admin_user="", admin_password=None)
    with caplog.at_level(logging.INFO):
        server = live_server_factory(settings)
    path = settings.data_dir / INITIAL_PASSWORD_FILE
    assert mode(path) == 0o600
    password = path.read_text().strip()
    assert len(password) >= 24
    assert str(path) in caplog.text  # the log names the file...
    assert password not in caplog.text  # ...never the password
    with server.client(server.login("admin", password)) as client:
        assert client.get("/api/auth/me").json()["is_admin"] is True

    server.restart()  # a second start leaves the admin and the file alone
    assert path.read_text().strip() == password
    assert server.login("admin", password).token


def test_key_file_and_data_dir_are_private(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory
) -> None:
    settings = make_settings()
    live_server_factory(settings)
    assert mode(settings.data_dir / KEY_FILE_NAME) == 0o600
    assert mode(settings.data_dir) & 0o077 == 0


def test_sqlite_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "private-data"
    settings = Settings(data_dir=data, admin_user=ADMIN_USER, admin_password=ADMIN_PASSWORD, database_url="")
    server = ThreadServer(settings)
    server.start()
    try:
        server.admin_login()  # a write, so the WAL file exists
        files = [data / "setupwizard.db", data / "setupwizard.db-wal", data / "setupwizard.db-shm"]
        assert files[0].exists() and files[1].exists()
        for path in files:
            if path.exists():
                assert mode(path) == 0o600, path
    finally:
        server.stop()


def test_a_readable_key_file_stops_the_start_with_the_fix(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory
) -> None:
    settings = make_settings()
    server = live_server_factory(settings, process=True)
    server.stop()
    (settings.data_dir / KEY_FILE_NAME).chmod(0o644)
    with pytest.raises(LiveServerError) as caught:
        live_server_factory(settings, process=True)
    assert f"chmod 600 {settings.data_dir / KEY_FILE_NAME}" in str(caught.value)


def test_short_admin_password_from_the_environment_stops_the_start(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory
) -> None:
    with pytest.raises(LiveServerError) as caught:
        live_server_factory(make_settings(admin_password="Qz7#x"), process=True)
    assert "SETUPWIZARD_ADMIN_PASSWORD: Use at least 8 characters" in str(caught.value)
    assert "Qz7#x" not in str(caught.value)
