"""The live server fixture itself: it starts on both databases, logs in, creates users, restarts."""

from __future__ import annotations

from tests.integration.web.live import LiveServer


def test_live_server_answers_health_and_logs_in_the_admin(live_server: LiveServer) -> None:
    with live_server.client() as client:
        assert client.get("/api/health").json()["status"] == "ok"
    login = live_server.admin_login()
    with live_server.client(login) as client:
        assert client.get("/api/auth/me").json()["username"] == "admin"
