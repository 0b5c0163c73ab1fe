"""Through the service, on Debian 12 and 13: a hardening run with a generated admin key moves the saved
server entry to the new login (sudo row and trusted host key at the new port), the private key is
downloaded once by its owner and logs in as the new user, and a second run with the new login just works.
The key's text is nowhere in what the service stored, answered or logged."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from setupwizard.config import Settings
from setupwizard.core.secretbox import secretbox_from_settings
from setupwizard.db.database import Database
from setupwizard.servers.repository import SudoRepository
from setupwizard.testbed.host import TestHost
from tests.integration.web.fixtures import run_sync
from tests.integration.web.live import ADMIN_PASSWORD, ADMIN_USER, ThreadServer
from tests.integration.web.test_servers import raw_database_bytes
from tests.support import whoami_with_key

SUDO_CANARY = "canary-admin-sudo-3f9d1e27"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ThreadServer]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'setupwizard.db'}",
        admin_user=ADMIN_USER,
        admin_password=ADMIN_PASSWORD,
        redis_url="",
        secret_key="",
        allowed_origins=[],
        ssh_connect_timeout=20,
    )
    live = ThreadServer(settings)
    live.start()
    try:
        yield live
    finally:
        live.stop()


def setup(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/setup/auto-setup", json={"session_id": str(uuid.uuid4()), **body})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["success"], "\n".join(answer["logs"])
    return answer


async def _rows(settings: Settings, table: str) -> list[dict[str, Any]]:
    db = Database(settings)
    try:
        async with db.engine.connect() as connection:
            result = await connection.execute(text(f"SELECT * FROM {table}"))
            return [dict(row._mapping) for row in result]
    finally:
        await db.dispose()


def rows(server: ThreadServer, table: str) -> list[dict[str, Any]]:
    return run_sync(lambda: _rows(server.settings, table))


def saved_sudo_password(server: ThreadServer, user_id: int, host: str, port: int) -> str | None:
    async def read() -> str | None:
        db = Database(server.settings)
        try:
            async with db.session() as session:
                saved = await SudoRepository(session, secretbox_from_settings(server.settings)).get_sudo(
                    user_id, host, port
                )
                return saved.sudo_password if saved else None
        finally:
            await db.dispose()

    return run_sync(read)


def secret_lines(private_key: str) -> list[str]:
    """The lines of a private key that carry key material."""
    return [line for line in private_key.splitlines() if len(line) >= 16 and not line.startswith("-----")]


def test_a_hardening_run_moves_the_saved_entry_and_hands_the_key_over_once(
    server: ThreadServer, systemd_host: TestHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    owner = server.admin_login()
    other = server.create_user("mallory", "mallory-password-1")
    host = systemd_host.address
    with server.client(owner) as client:
        first = setup(
            client,
            {
                "host": host,
                "username": "root",
                "password": systemd_host.root.password,
                "apt_update": False,
                "packages": [],
                "firewall": False,
                "admin": {"username": "deploy", "generate_key": True, "nopasswd": True},
                "ssh_hardening": {"permit_root_login": "no", "port": 2222},
            },
        )
    session_id = first["session_id"]
    assert first["login_after"] == {"username": "deploy", "port": 2222, "auth": "key", "generated_key": True}
    offered = first["admin_key"]
    assert offered["username"] == "deploy"
    assert offered["url"] == f"/api/setup/sessions/{session_id}/admin-key"

    # the saved entry moved: one sudo row and one trusted key, both at the new port, for the new login
    [sudo] = rows(server, "ssh_servers_sudo")
    assert (sudo["host"], sudo["ssh_port"], sudo["sudo_user"], sudo["sudo_password"]) == (
        host,
        2222,
        "deploy",
        "",
    )
    [known] = rows(server, "known_hosts")
    assert (known["host"], known["port"], known["fingerprint"]) == (host, 2222, first["host_key_fingerprint"])
    with server.client(owner) as client:
        [listed] = client.get("/api/servers").json()
    assert (listed["port"], listed["login"], listed["sudo_mode"]) == (2222, "deploy", "passwordless")
    assert listed["last_session_id"] == session_id

    # another user cannot take it; the owner gets it once
    with server.client(other) as client:
        assert client.get(offered["url"]).status_code == 404
    with server.client(owner) as client:
        download = client.get(offered["url"])
        again = client.get(offered["url"])
    assert download.status_code == 200, download.text
    assert download.headers["cache-control"] == "no-store"
    assert download.headers["content-disposition"] == 'attachment; filename="id_ed25519_deploy"'
    private_key = download.text
    assert private_key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert again.status_code == 410 and again.json()["code"] == "admin_key_gone"
    assert rows(server, "admin_key_handovers") == []

    assert run_sync(lambda: whoami_with_key(systemd_host.address, 2222, "deploy", private_key)) == "deploy"

    # the next run with the new login just works: no password, the saved sudo mode, the trusted key
    with server.client(owner) as client:
        second = setup(
            client,
            {
                "host": host,
                "port": 2222,
                "username": "deploy",
                "private_key": private_key,
                "apt_update": False,
                "packages": [],
                "firewall": False,
                "ssh_hardening": {"permit_root_login": "no", "port": 2222},
            },
        )
        log_text = client.get(f"/api/setup/sessions/{session_id}/log.txt").text
        detail = client.get(f"/api/setup/sessions/{session_id}").text
    assert second["sudo_user"] == "deploy" and second["sudo_mode"] == "passwordless"
    assert "admin_key" not in second
    [still] = rows(server, "known_hosts")  # not asked again: the same record, first seen before
    assert (still["port"], still["fingerprint"], still["first_seen"]) == (
        2222,
        known["fingerprint"],
        known["first_seen"],
    )
    assert [(r["ssh_port"], r["sudo_user"]) for r in rows(server, "ssh_servers_sudo")] == [(2222, "deploy")]

    # canary: the key's text is in no answer, stored row, event or log line
    stored = raw_database_bytes(server)
    said = "\n".join(
        [str(first), str(second), log_text, detail, *(record.getMessage() for record in caplog.records)]
    )
    for line in secret_lines(private_key):
        assert line.encode() not in stored
        assert line not in said


def test_the_admin_users_sudo_password_is_saved_encrypted_for_the_new_login(
    server: ThreadServer, make_systemd_host: Callable[[str], TestHost]
) -> None:
    target = make_systemd_host("bookworm")
    owner = server.admin_login()
    with server.client(owner) as client:
        first = setup(
            client,
            {
                "host": target.address,
                "username": "root",
                "password": target.root.password,
                "apt_update": False,
                "packages": [],
                "firewall": False,
                "admin": {"username": "deploy", "generate_key": True, "sudo_password": SUDO_CANARY},
                "ssh_hardening": {"permit_root_login": "no"},
            },
        )
        private_key = client.get(first["admin_key"]["url"]).text
    [sudo] = rows(server, "ssh_servers_sudo")
    assert (sudo["ssh_port"], sudo["sudo_user"]) == (22, "deploy")
    assert sudo["sudo_password"].startswith("v1:") and SUDO_CANARY not in sudo["sudo_password"]
    assert SUDO_CANARY.encode() not in raw_database_bytes(server)
    with server.client(owner) as client:
        owner_id = int(client.get("/api/auth/me").json()["id"])
    assert saved_sudo_password(server, owner_id, target.address, 22) == SUDO_CANARY

    with server.client(owner) as client:  # sudo asks deploy's password: the saved one answers
        second = setup(
            client,
            {
                "host": target.address,
                "username": "deploy",
                "private_key": private_key,
                "apt_update": False,
                "packages": [],
                "firewall": False,
            },
        )
    assert second["sudo_user"] == "deploy" and second["sudo_mode"] == "password"
