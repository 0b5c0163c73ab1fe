"""test-connection and auto-setup cannot probe the service's own network: denied targets are
refused before any connection, attempts are limited per user, and refused looks like filtered."""

from __future__ import annotations

import ipaddress
import logging
import threading

import pytest

from setupwizard.core.networks import own_addresses
from setupwizard.testbed.host import TestHost
from setupwizard.testbed.paths import SILENT_ADDRESS
from tests.integration.web.fixtures import LiveServerFactory, SettingsFactory
from tests.integration.web.live import LiveServer, free_port, free_socket

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
    server = live_server_factory(
        make_settings(target_deny=[], target_deny_own_addresses=False, ssh_connect_timeout=2.0)
    )
    with server.client(server.admin_login()) as client:
        refused = client.post("/api/setup/test-connection", json=_body(test_host.address, 2223))  # closed
        silent = client.post("/api/setup/test-connection", json=_body(SILENT_ADDRESS))  # nobody answers
        loopback = client.post("/api/setup/test-connection", json=_body("127.0.0.1", free_port()))
    assert refused.status_code == silent.status_code == loopback.status_code == 502
    assert refused.json() == silent.json() == loopback.json()  # before: connection_refused vs timeout (504)
    assert refused.json()["code"] == "unreachable"


class _NotSsh:
    """A loopback TCP port that answers like a web server, then hangs up (an open port that is not SSH)."""

    def __init__(self) -> None:
        self.sock = free_socket()
        self.sock.listen(8)
        self.port = int(self.sock.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    def close(self) -> None:
        self.sock.close()


def test_closed_open_non_ssh_and_silent_targets_are_one_answer_with_the_detail_in_the_log(
    live_server_factory: LiveServerFactory,
    make_settings: SettingsFactory,
    test_host: TestHost,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A closed port, an open port that is not SSH and an address nobody answers at give
    the same code and message, in test-connection's answer and in a setup's result; the service's log
    says which it was."""
    server = live_server_factory(make_settings(target_deny=[], target_deny_own_addresses=False))
    web = _NotSsh()
    caplog.set_level(logging.INFO, logger="setupwizard.provisioning.ssh")
    targets = {
        "closed": (test_host.address, 2223),
        "not ssh": ("127.0.0.1", web.port),
        "silent": (SILENT_ADDRESS, 22),
    }
    try:
        with server.client(server.admin_login()) as client:
            tested = {
                k: client.post("/api/setup/test-connection", json=_body(*t)) for k, t in targets.items()
            }
            ran = {
                k: client.post("/api/setup/auto-setup", json={**_body(*t), "packages": [], "wait": True})
                for k, t in targets.items()
            }
    finally:
        web.close()
    for name, (host, port) in targets.items():
        assert tested[name].status_code == 502, (name, tested[name].text)
        answer = tested[name].json()
        assert answer["code"] == "unreachable", (name, answer)
        result = ran[name].json()
        assert result["status"] == "failed" and result["error_code"] == "unreachable", (name, result)
        shown = result["message"].replace(f"{host}:{port}", "HOST:PORT")
        assert shown == ran["closed"].json()["message"].replace(f"{test_host.address}:2223", "HOST:PORT"), (
            name
        )
        for leak in ("refused", "拒绝连接", "timed out", "超时", "handshake", "握手", "version", "route"):
            assert leak not in result["message"].split("：")[0].split(":")[0], (name, result["message"])
    assert tested["closed"].json() == tested["silent"].json() == tested["not ssh"].json()
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "setupwizard.provisioning.ssh")
    # each one's cause is in the log (the silent address's may be a timeout or "no route": ARP decides)
    for host, port in targets.values():
        assert f"SSH server {host}:{port} not reached: " in logged, logged
    assert f"SSH server {test_host.address}:2223 not reached: connection refused" in logged


def test_the_service_hosts_own_addresses_are_refused_unless_allowed(
    live_server_factory: LiveServerFactory, make_settings: SettingsFactory, test_host: TestHost
) -> None:
    """The testbed bridge's address is one of this machine's own (not loopback): refused by default."""
    own = ipaddress.ip_address(test_host.address).exploded.rsplit(".", 1)[0] + ".1"
    assert f"{own}/32" in own_addresses()
    closed = free_port()
    guarded = live_server_factory(make_settings())
    with guarded.client(guarded.admin_login()) as client:
        refused = client.post("/api/setup/test-connection", json=_body(own, closed))
        started = client.post("/api/setup/auto-setup", json={**_body(own, closed), "wait": False})
    for answer in (refused, started):
        assert answer.status_code == 403 and answer.json()["code"] == "target_denied", answer.text
    guarded.stop()  # one service per data directory
    opened = live_server_factory(make_settings(target_deny_own_addresses=False))
    with opened.client(opened.admin_login()) as client:
        allowed = client.post("/api/setup/test-connection", json=_body(own, closed))
    assert allowed.status_code == 502 and allowed.json()["code"] == "unreachable"
