"""The audit trail: logins (ok, failed), setup start/cancel, user changes and sudo rows are
recorded with who, what, where and the outcome; only admins read it; it never holds a secret."""

from __future__ import annotations

import uuid

import pytest

from setupwizard.core.secretbox import secretbox_from_settings
from setupwizard.db.database import Database
from setupwizard.servers.repository import SudoRepository
from setupwizard.testbed.paths import SILENT_ADDRESS
from tests.integration.web.fixtures import run_sync
from tests.integration.web.live import ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

WRONG_PASSWORD = "canary-wrong-password-5c1e"
TYPED_INTO_NAME = "canary-Password-In-Name-77f2"
USER_PASSWORD = "canary-user-password-0b9d"
SSH_PASSWORD = "canary-ssh-password-a41c"
SUDO_PASSWORD = "canary-sudo-password-3e8a"
SECRETS = (WRONG_PASSWORD, TYPED_INTO_NAME, USER_PASSWORD, SSH_PASSWORD, SUDO_PASSWORD, ADMIN_PASSWORD)


async def _save_sudo(server: LiveServer, user_id: int) -> None:
    db = Database(server.settings)
    try:
        async with db.session() as session:
            repo = SudoRepository(session, secretbox_from_settings(server.settings))
            await repo.upsert_sudo(user_id, "web-1.example.org", 22, "deployer", SUDO_PASSWORD)
    finally:
        await db.dispose()


def test_the_trail_records_who_did_what_and_never_a_secret(live_server: LiveServer) -> None:
    with live_server.client() as client:
        assert (
            client.post("/api/auth/login", json={"username": "admin", "password": WRONG_PASSWORD}).status_code
            == 401
        )
        unknown = {"username": TYPED_INTO_NAME, "password": WRONG_PASSWORD}
        assert client.post("/api/auth/login", json=unknown).status_code == 401
    admin = live_server.admin_login()
    carol = live_server.create_user("carol", USER_PASSWORD)
    session_id = str(uuid.uuid4())
    with live_server.client(carol) as client:
        refused = client.post(
            "/api/setup/auto-setup",
            json={
                "host": SILENT_ADDRESS,
                "username": "root",
                "password": SSH_PASSWORD,
                "packages": ["curl;id"],
                "session_id": session_id,
            },
        )
        assert refused.status_code == 422
        assert client.post(f"/api/setup/sessions/{session_id}/cancel").status_code == 404
        assert client.get("/api/audit").status_code == 403
    run_sync(lambda: _save_sudo(live_server, 1))

    with live_server.client(admin) as client:
        response = client.get("/api/audit")
        assert response.status_code == 200
        events = response.json()
        logins = client.get("/api/audit", params={"action": "login"}).json()
    seen = [(e["action"], e["actor"], e["outcome"], e["target"]) for e in reversed(events)]
    assert ("login", "admin", "failed", "admin") in seen
    assert ("login", "", "failed", "") in seen  # a name nobody has is not kept: it may be a password
    assert ("login", "admin", "ok", "admin") in seen
    assert ("user.create", "admin", "ok", "carol") in seen
    assert ("setup.start", "carol", "invalid_input", f"root@{SILENT_ADDRESS}:22") in seen
    assert ("setup.cancel", "carol", "not_found", "") in seen
    assert ("sudo.save", "admin", "ok", "deployer@web-1.example.org:22") in seen
    start = next(e for e in events if e["action"] == "setup.start")
    assert start["detail"] == {"session_id": session_id}
    assert start["address"] == "127.0.0.1"
    assert {e["action"] for e in logins} == {"login"}
    for secret in SECRETS:
        assert secret not in response.text

    with live_server.client(admin) as client:
        page = client.get("/audit")
    assert page.status_code == 200
    assert "/static/audit.js" in page.text


def test_older_events_are_paged_with_before_id(live_server: LiveServer) -> None:
    for _ in range(3):
        live_server.admin_login()
    with live_server.client(live_server.admin_login()) as client:
        first = client.get("/api/audit", params={"limit": 2}).json()
        older = client.get("/api/audit", params={"limit": 2, "before_id": first[-1]["id"]}).json()
        assert client.get("/api/audit", params={"before_id": 2**63}).status_code == 422
    assert len(first) == 2 and len(older) == 2
    assert older[0]["id"] < first[-1]["id"]


def test_a_setup_started_without_a_session_id_is_linked_to_the_session_it_made(
    live_server: LiveServer,
) -> None:
    """The page sends its own session_id; an API client often sends none."""
    body = {
        "host": SILENT_ADDRESS,
        "username": "root",
        "password": SSH_PASSWORD,
        "packages": [],
        "wait": False,
    }
    with live_server.client(live_server.admin_login()) as client:
        started = client.post("/api/setup/auto-setup", json=body)
        assert started.status_code == 202, started.text
        client.post(f"/api/setup/sessions/{started.json()['session_id']}/cancel")
        events = client.get("/api/audit", params={"action": "setup.start"}).json()
    assert [e["detail"] for e in events] == [{"session_id": started.json()["session_id"]}]
    assert SSH_PASSWORD not in str(events)
