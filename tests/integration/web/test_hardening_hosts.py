"""Host keys against a real test server: a key is trusted only after a login worked, and each
user keeps their own trust; an admin sees (and can forget) everyone's."""

from __future__ import annotations

import pytest

from setupwizard.testbed.host import TestHost
from tests.integration.web.live import LiveServer

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _connect(server: LiveServer, login: object, host: TestHost, password: str) -> int:
    with server.client(login) as client:  # type: ignore[arg-type]
        response = client.post(
            "/api/setup/test-connection",
            json={"host": host.address, "username": host.sudo_password.username, "password": password},
        )
    return response.status_code


def test_a_failed_login_trusts_no_key_and_trust_is_per_user(
    live_server: LiveServer, test_host: TestHost
) -> None:
    eve = live_server.create_user("eve", "eve-password-1")
    bob = live_server.create_user("bob", "bob-password-1")
    admin = live_server.admin_login()

    assert _connect(live_server, eve, test_host, "not-the-password") == 502
    with live_server.client(eve) as client:
        assert client.get("/api/servers/known-hosts").json() == []  # before the fix: the key was stored

    assert _connect(live_server, eve, test_host, test_host.sudo_password.password) == 200
    with live_server.client(eve) as client:
        mine = client.get("/api/servers/known-hosts").json()
    assert [(h["username"], h["host"], h["port"]) for h in mine] == [("eve", test_host.address, 22)]
    with live_server.client(bob) as client:
        assert client.get("/api/servers/known-hosts").json() == []  # eve's trust is not bob's
        refused = client.delete(
            "/api/servers/known-hosts", params={"host": test_host.address, "user_id": mine[0]["user_id"]}
        )
        assert refused.status_code == 403
    with live_server.client(admin) as client:
        everyone = client.get("/api/servers/known-hosts").json()
        assert [h["username"] for h in everyone] == ["eve"]
        assert (
            client.delete("/api/servers/known-hosts", params={"host": test_host.address}).status_code == 204
        )
        assert client.get("/api/servers/known-hosts").json() == []
