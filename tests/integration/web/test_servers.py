"""``ssh_servers_sudo`` and known hosts on both databases: encrypted at rest, never returned by the API."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

from setupwizard.core.secretbox import secretbox_from_settings
from setupwizard.db.database import Database
from setupwizard.db.models import SshServerSudo
from setupwizard.provisioning.known_hosts import KnownHostStore
from setupwizard.servers.known_hosts import DatabaseKnownHosts
from setupwizard.servers.repository import SavedSudo, SudoRepository
from tests.integration.web.fixtures import run_sync
from tests.integration.web.live import LiveServer

CANARY = "canary-sudo-password-4be1c9d7"
SUDO_USER = "deployer-marker-51a8"
FINGERPRINT = "SHA256:n3xTn6a9JYb0QnqOi4J5FMmkxAzHrIbrGhvZgRsLwOk"


async def _upsert(
    server: LiveServer, user_id: int, host: str, port: int, sudo_user: str, password: str
) -> None:
    db = Database(server.settings)
    try:
        async with db.session() as session:
            repo = SudoRepository(session, secretbox_from_settings(server.settings))
            await repo.upsert_sudo(user_id, host, port, sudo_user, password)
    finally:
        await db.dispose()


async def _get(server: LiveServer, user_id: int, host: str, port: int) -> SavedSudo | None:
    db = Database(server.settings)
    try:
        async with db.session() as session:
            repo = SudoRepository(session, secretbox_from_settings(server.settings))
            return await repo.get_sudo(user_id, host, port)
    finally:
        await db.dispose()


async def _raw_rows(server: LiveServer) -> str:
    """Everything in ssh_servers_sudo as the database holds it, as text."""
    db = Database(server.settings)
    try:
        async with db.engine.connect() as connection:
            rows = (await connection.execute(text("SELECT * FROM ssh_servers_sudo"))).all()
            return "\n".join(repr(tuple(row)) for row in rows)
    finally:
        await db.dispose()


def raw_database_bytes(server: LiveServer) -> bytes:
    """SQLite: the database file and its WAL/SHM, byte for byte. PostgreSQL: the raw rows."""
    url = make_url(server.settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        base = Path(url.database)
        files = [p for p in (base, Path(f"{base}-wal"), Path(f"{base}-shm")) if p.exists()]
        return b"".join(p.read_bytes() for p in files)
    return run_sync(lambda: _raw_rows(server)).encode()


def test_password_sudo_is_encrypted_at_rest_and_never_returned(live_server: LiveServer) -> None:
    admin = live_server.admin_login()
    run_sync(lambda: _upsert(live_server, 1, "Web-1.Example.org", 22, SUDO_USER, CANARY))

    raw = raw_database_bytes(live_server)
    assert SUDO_USER.encode() in raw  # the scan does see the row...
    assert CANARY.encode() not in raw  # ...and the password is not in it
    assert CANARY.encode("utf-16-le") not in raw

    saved = run_sync(lambda: _get(live_server, 1, "web-1.example.org", 22))
    assert saved == SavedSudo(SUDO_USER, CANARY, passwordless=False)
    assert CANARY not in repr(saved)

    with live_server.client(admin) as client:
        listed = client.get("/api/servers/sudo")
        prefill = client.get("/api/servers/sudo/prefill", params={"host": "WEB-1.example.org", "port": 22})
    assert listed.status_code == 200
    [row] = listed.json()
    assert set(row) == {"id", "host", "ssh_port", "sudo_user", "passwordless", "updated_at"}
    assert (row["host"], row["ssh_port"], row["sudo_user"], row["passwordless"]) == (
        "web-1.example.org",
        22,
        SUDO_USER,
        False,
    )
    assert prefill.json() == {
        "saved": True,
        "sudo_user": SUDO_USER,
        "has_password": True,
        "passwordless": False,
    }
    for response in (listed, prefill):
        assert CANARY not in response.text
        assert "v1:" not in response.text  # not even the ciphertext


def test_passwordless_sudo_is_saved_as_empty_string_and_upsert_replaces(live_server: LiveServer) -> None:
    run_sync(lambda: _upsert(live_server, 1, "10.0.0.5", 2222, "ops", CANARY))
    run_sync(lambda: _upsert(live_server, 1, "10.0.0.5", 2222, "ops", ""))

    async def rows() -> list[tuple[str, str]]:
        db = Database(live_server.settings)
        try:
            async with db.session() as session:
                result = await session.execute(select(SshServerSudo.sudo_user, SshServerSudo.sudo_password))
                return [(u, p) for u, p in result.all()]
        finally:
            await db.dispose()

    assert run_sync(rows) == [("ops", "")]
    assert run_sync(lambda: _get(live_server, 1, "10.0.0.5", 2222)) == SavedSudo("ops", "", passwordless=True)
    assert CANARY.encode() not in raw_database_bytes(live_server)  # the old ciphertext is gone too
    with live_server.client(live_server.admin_login()) as client:
        [row] = client.get("/api/servers/sudo").json()
        assert row["passwordless"] is True
        prefill = client.get("/api/servers/sudo/prefill", params={"host": "10.0.0.5", "port": 2222}).json()
        assert prefill == {"saved": True, "sudo_user": "ops", "has_password": False, "passwordless": True}
        nothing = client.get("/api/servers/sudo/prefill", params={"host": "10.0.0.5", "port": 22}).json()
        assert nothing == {"saved": False, "sudo_user": None, "has_password": False, "passwordless": False}
        # Looked up by host and login: the row saved for "ops" is not offered to "alice".
        same: dict[str, str | int] = {"host": "10.0.0.5", "port": 2222, "username": "ops"}
        assert client.get("/api/servers/sudo/prefill", params=same).json()["saved"] is True
        other: dict[str, str | int] = {"host": "10.0.0.5", "port": 2222, "username": "alice"}
        assert client.get("/api/servers/sudo/prefill", params=other).json()["saved"] is False


def test_ciphertext_copied_to_another_users_row_does_not_decrypt(live_server: LiveServer) -> None:
    live_server.create_user("eve", "eve-password-1")
    run_sync(lambda: _upsert(live_server, 1, "db.example.org", 22, "root", CANARY))
    run_sync(lambda: _upsert(live_server, 2, "db.example.org", 22, "root", "eve-own-sudo-pw"))

    async def copy_admin_ciphertext_to_eve() -> None:
        db = Database(live_server.settings)
        try:
            async with db.session() as session:
                stolen = await session.scalar(
                    select(SshServerSudo.sudo_password).where(SshServerSudo.user_id == 1)
                )
                await session.execute(
                    update(SshServerSudo).where(SshServerSudo.user_id == 2).values(sudo_password=stolen)
                )
        finally:
            await db.dispose()

    run_sync(copy_admin_ciphertext_to_eve)
    saved = run_sync(lambda: _get(live_server, 2, "db.example.org", 22))
    assert saved == SavedSudo("root", None, passwordless=False)


def test_users_see_and_delete_only_their_own_rows(live_server: LiveServer) -> None:
    eve = live_server.create_user("eve", "eve-password-1")
    run_sync(lambda: _upsert(live_server, 1, "a.example.org", 22, "admin-sudo", CANARY))
    admin = live_server.admin_login()
    with live_server.client(admin) as client:
        [row] = client.get("/api/servers/sudo").json()
    with live_server.client(eve) as client:
        assert client.get("/api/servers/sudo").json() == []
        prefill = client.get("/api/servers/sudo/prefill", params={"host": "a.example.org"}).json()
        assert prefill["saved"] is False
        assert client.delete(f"/api/servers/sudo/{row['id']}").status_code == 404
    with live_server.client(admin) as client:
        assert client.delete(f"/api/servers/sudo/{row['id']}").status_code == 204
        assert client.get("/api/servers/sudo").json() == []
        assert client.delete(f"/api/servers/sudo/{row['id']}").status_code == 404


def test_known_hosts_are_each_users_own_and_admins_see_all(live_server: LiveServer) -> None:
    eve = live_server.create_user("eve", "eve-password-1")
    eve_id = next(
        u["id"]
        for u in live_server.client(live_server.admin_login()).get("/api/users").json()
        if u["username"] == "eve"
    )

    async def record() -> tuple[str | None, str | None, str | None]:
        db = Database(live_server.settings)
        try:
            store: KnownHostStore = DatabaseKnownHosts(db, eve_id)  # mypy checks the protocol
            before = await store.get("Host.Example.org", 22)
            await store.put("Host.Example.org", 22, FINGERPRINT)
            await store.put("host.example.org", 2222, "SHA256:other")
            admins = await DatabaseKnownHosts(db, 1).get("host.example.org", 22)
            return before, await store.get("HOST.example.org", 22), admins
        finally:
            await db.dispose()

    assert run_sync(record) == (None, FINGERPRINT, None)
    with live_server.client(eve) as client:
        listed = client.get("/api/servers/known-hosts").json()
        assert [(h["username"], h["host"], h["port"], h["fingerprint"]) for h in listed] == [
            ("eve", "host.example.org", 22, FINGERPRINT),
            ("eve", "host.example.org", 2222, "SHA256:other"),
        ]
        gone = client.delete("/api/servers/known-hosts", params={"host": "host.example.org", "port": 2222})
        assert gone.status_code == 204  # her own trust: she may forget it
    with live_server.client(live_server.admin_login()) as client:
        assert [h["port"] for h in client.get("/api/servers/known-hosts").json()] == [22]
        gone = client.delete("/api/servers/known-hosts", params={"host": "host.example.org", "port": 22})
        assert gone.status_code == 204
        again = client.delete("/api/servers/known-hosts", params={"host": "host.example.org", "port": 22})
        assert again.status_code == 404
        assert client.get("/api/servers/known-hosts").json() == []


def test_known_host_key_change_replaces_the_fingerprint(live_server: LiveServer) -> None:
    async def change() -> str | None:
        db = Database(live_server.settings)
        try:
            store = DatabaseKnownHosts(db, 1)
            await store.put("h", 22, "SHA256:old")
            await store.put("h", 22, "SHA256:new")
            return await store.get("h", 22)
        finally:
            await db.dispose()

    assert run_sync(change) == "SHA256:new"
