"""test-connection and auto-setup cannot probe the service's own network (issue F.10): denied targets are
refused before any connection, attempts are limited per user, and refused looks like filtered."""

from __future__ import annotations

import pytest

from setupwizard.testbed.host import TestHost
from tests.integration.web.fixtures import LiveServerFactory, SettingsFactory
from tests.integration.web.live import LiveServer, free_port

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _body(host: str, port: int = 22) -> dict[str, object]:
    return {"host": host, "port": port, "username": "root", "password": "pw"}


@pytest.mark.parametrize("host", ["127.0.0.1", "169.254.169.254", "::1", "fe80::1", "localhost", "0.0.0.0"])
def test_loopback_link_local_and_metadata_targets_are_refused(live_server: LiveServer, host: str) -> None:
    with live_server.client(live_server.admin_login()) as client:
        tested = client.post("/api/setup/test-connection", json=_body(host))
        started = client.post("/api/setup/auto-setup", json={**_body(host), "wait": False})
        sessions = client.get("/api/setup/sessions").json()
    for response in (tested, started):
        assert response.status_code == 403
        assert response.json()["code"] == "target_denied"
        assert response.json()["field"] == "host"
    assert sessions == []  # nothing was started


def test_connection_attempts_are_limited_per_user(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory, test_host: TestHost
) -> None:
    server = live_server_factory(make_settings(connect_attempts_per_minute=2))
    eve = server.create_user("eve", "eve-password-1")
    with server.client(eve) as client:
        answers = [client.post("/api/setup/test-connection", json=_body(test_host.address)) for _ in range(3)]
    assert [a.status_code for a in answers[:2]] == [502, 502]  # wrong password: tried
    assert answers[2].status_code == 429
    assert answers[2].json()["code"] == "too_many_attempts"
    assert int(answers[2].headers["Retry-After"]) >= 1
    with server.client(server.admin_login()) as client:  # another user is not held back
        assert client.post("/api/setup/test-connection", json=_body(test_host.address)).status_code == 502


def test_refused_and_filtered_ports_answer_alike(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory, test_host: TestHost
) -> None:
    server = live_server_factory(make_settings(target_deny=[], ssh_connect_timeout=2.0))
    with server.client(server.admin_login()) as client:
        refused = client.post("/api/setup/test-connection", json=_body(test_host.address, 2223))  # closed
        silent = client.post("/api/setup/test-connection", json=_body("198.18.0.250"))  # nobody answers
        loopback = client.post("/api/setup/test-connection", json=_body("127.0.0.1", free_port()))
    assert refused.status_code == silent.status_code == loopback.status_code == 502
    assert refused.json() == silent.json() == loopback.json()  # before: connection_refused vs timeout (504)
    assert refused.json()["code"] == "unreachable"
