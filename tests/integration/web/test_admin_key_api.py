"""``GET /api/setup/sessions/{id}/admin-key`` on a live server with a real database (SQLite and
PostgreSQL): the owner downloads a generated key once, nobody else ever; it is encrypted while it waits,
gone after the download, on expiry and when its server is forgotten."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from setupwizard.core.secretbox import secretbox_from_settings
from setupwizard.db.database import Database
from setupwizard.servers.repository import KnownHostRepository
from setupwizard.setup import repository
from setupwizard.setup.admin_keys import RESULT_FIELD, AdminKeyVault
from tests.integration.web.fixtures import run_sync
from tests.integration.web.live import LiveServer, Login
from tests.integration.web.test_servers import raw_database_bytes

KEY_LINE = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW-canary"
PRIVATE_KEY = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{KEY_LINE}\n-----END OPENSSH PRIVATE KEY-----\n"
FINGERPRINT = "SHA256:n3xTn6a9JYb0QnqOi4J5FMmkxAzHrIbrGhvZgRsLwOk"


def _user_id(server: LiveServer, login: Login) -> int:
    with server.client(login) as client:
        return int(client.get("/api/auth/me").json()["id"])


async def _finished_run(
    server: LiveServer, owner_id: int, *, key: bool, ttl: timedelta = timedelta(hours=1)
) -> str:
    """A finished session of ``owner_id`` on web-1:2222; with ``key``, its admin key waiting as the service
    stores it."""
    session_id = str(uuid.uuid4())
    db = Database(server.settings)
    vault = AdminKeyVault(db, secretbox_from_settings(server.settings), ttl=ttl)
    try:
        async with db.session() as session:
            await repository.insert_session(
                session, session_id=session_id, owner_id=owner_id, host="web-1", port=22, username="root"
            )
        result: dict[str, object] = {"status": "succeeded"}
        if key:
            offered = await vault.offer(session_id, owner_id, "WEB-1", 2222, "deploy", PRIVATE_KEY)
            result[RESULT_FIELD] = offered
        async with db.session() as session:
            await repository.finish_session(
                session, session_id, status="succeeded", message="", result=result
            )
            await KnownHostRepository(session).put(owner_id, "web-1", 2222, FINGERPRINT)
    finally:
        await db.dispose()
    return session_id


async def _key_rows(server: LiveServer) -> str:
    """Every row of admin_key_handovers as the database holds it, as text."""
    db = Database(server.settings)
    try:
        async with db.engine.connect() as connection:
            rows = (await connection.execute(text("SELECT * FROM admin_key_handovers"))).all()
            return "\n".join(repr(tuple(row)) for row in rows)
    finally:
        await db.dispose()


def _url(session_id: str) -> str:
    return f"/api/setup/sessions/{session_id}/admin-key"


def test_the_owner_downloads_the_key_once_and_nobody_else_ever(live_server: LiveServer) -> None:
    alice = live_server.create_user("alice", "alice-password-1")
    bob = live_server.create_user("bob", "bob-password-12")
    session_id = run_sync(lambda: _finished_run(live_server, _user_id(live_server, alice), key=True))

    waiting = run_sync(lambda: _key_rows(live_server))
    assert "deploy" in waiting and "v1:" in waiting  # the scan does see the row...
    assert KEY_LINE not in waiting  # ...and the waiting key is encrypted
    assert KEY_LINE.encode() not in raw_database_bytes(live_server)  # SQLite: the file, byte for byte

    with live_server.client() as anonymous:
        assert anonymous.get(_url(session_id)).status_code == 401
    with live_server.client(bob) as client:
        foreign = client.get(_url(session_id))
    assert foreign.status_code == 404 and KEY_LINE not in foreign.text

    with live_server.client(alice) as client:
        download = client.get(_url(session_id))
        again = client.get(_url(session_id))
    assert download.status_code == 200
    assert download.text == PRIVATE_KEY
    assert download.headers["cache-control"] == "no-store"
    assert download.headers["content-disposition"] == 'attachment; filename="id_ed25519_deploy"'
    assert again.status_code == 410
    assert again.json()["code"] == "admin_key_gone" and "已经下载过" in again.json()["detail"]
    assert run_sync(lambda: _key_rows(live_server)) == ""  # the download deleted it
    assert KEY_LINE.encode() not in raw_database_bytes(live_server)

    with live_server.client(bob) as client:  # still 404 for bob: nothing tells him a key was there
        assert client.get(_url(session_id)).status_code == 404


def test_a_run_without_a_generated_key_has_none_to_download(live_server: LiveServer) -> None:
    admin = live_server.admin_login()
    session_id = run_sync(lambda: _finished_run(live_server, _user_id(live_server, admin), key=False))
    with live_server.client(admin) as client:
        none = client.get(_url(session_id))
        unknown = client.get(_url(str(uuid.uuid4())))
    assert (none.status_code, none.json()["code"]) == (404, "admin_key_none")
    assert unknown.status_code == 404


def test_an_expired_key_is_gone_and_purged(live_server: LiveServer) -> None:
    admin = live_server.admin_login()
    owner_id = _user_id(live_server, admin)
    session_id = run_sync(lambda: _finished_run(live_server, owner_id, key=True, ttl=timedelta(seconds=-1)))

    async def purge() -> int:  # what every worker runs once a minute
        db = Database(live_server.settings)
        try:
            return await AdminKeyVault(db, secretbox_from_settings(live_server.settings)).purge_expired()
        finally:
            await db.dispose()

    with live_server.client(admin) as client:
        expired = client.get(_url(session_id))
    assert expired.status_code == 410 and "过期" in expired.json()["detail"]
    assert run_sync(lambda: _key_rows(live_server)) != ""  # a refused download leaves it to the purge
    run_sync(purge)  # (the server's own purge may have been first)
    assert run_sync(lambda: _key_rows(live_server)) == ""


@pytest.mark.parametrize("spelling", ["web-1", "WEB-1"])
def test_forgetting_the_server_deletes_its_waiting_key(live_server: LiveServer, spelling: str) -> None:
    admin = live_server.admin_login()
    session_id = run_sync(lambda: _finished_run(live_server, _user_id(live_server, admin), key=True))
    with live_server.client(admin) as client:
        forgot = client.delete("/api/servers", params={"host": spelling, "port": 2222})
        after = client.get(_url(session_id))
    assert forgot.status_code == 200
    assert forgot.json()["admin_keys"] == 1 and forgot.json()["known_hosts"] == 1
    assert after.status_code == 410
