"""``POST /api/setup/sessions/{id}/confirm-login`` over HTTP: a session that is not the
caller's answers 404 like a missing one, and every attempt is in the audit trail with its outcome."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.web.live import LiveServer

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_confirm_login_of_an_unknown_session_is_a_404_and_audited(live_server: LiveServer) -> None:
    admin = live_server.admin_login()
    carol = live_server.create_user("carol", "canary-user-password-7d1e")
    session_id = str(uuid.uuid4())
    with live_server.client(carol) as client:
        answer = client.post(f"/api/setup/sessions/{session_id}/confirm-login")
        assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    with live_server.client(admin) as client:
        events = client.get("/api/audit", params={"action": "setup.confirm_login"}).json()
    assert [(e["actor"], e["outcome"], e["detail"]) for e in events] == [
        ("carol", "not_found", {"session_id": session_id})
    ]
