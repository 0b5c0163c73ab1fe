"""Another spelling of a server's address is the same server: a setup running on
198.18.0.x holds ``::ffff:198.18.0.x`` too, a hex spelling is refused naming the dotted quad, and the
host key trusted under one spelling is the trust of every spelling (no second "first connection")."""

from __future__ import annotations

import ipaddress
import time

import httpx
import pytest

from setupwizard.testbed.host import TestHost
from tests.integration.web.live import LiveServer

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _hex(address: str) -> str:
    return ".".join(f"0x{part:x}" if part else "0" for part in ipaddress.IPv4Address(address).packed)


def _wait_ended(client: httpx.Client, session_id: str) -> dict[str, object]:
    while True:  # the run was cancelled: it ends on its own; pytest's timeout bounds a hang
        session = client.get(f"/api/setup/sessions/{session_id}").json()
        if session["status"] != "running":
            return dict(session)
        time.sleep(0.2)


def test_every_spelling_of_a_running_servers_address_is_held_by_its_setup(
    live_server: LiveServer, test_host: TestHost
) -> None:
    address = test_host.address
    login = {"username": "root", "password": test_host.root.password}
    quiet = {"packages": [], "apt_update": False, "firewall": False, "wait": False}
    with live_server.client(live_server.admin_login()) as client:
        first = client.post(
            "/api/setup/auto-setup", json={"host": address, **login, **quiet, "script": "sleep 120"}
        )
        assert first.status_code == 202, first.text
        session_id = first.json()["session_id"]
        try:
            while not client.get("/api/servers/known-hosts").json():  # connected: the key is trusted
                time.sleep(0.2)
            mapped = client.post(
                "/api/setup/auto-setup", json={"host": f"::ffff:{address}", **login, **quiet}
            )
            upper = client.post("/api/setup/auto-setup", json={"host": f"::FFFF:{address}", **login, **quiet})
            hexed = client.post("/api/setup/auto-setup", json={"host": _hex(address), **login, **quiet})
        finally:
            client.post(f"/api/setup/sessions/{session_id}/cancel")
            _wait_ended(client, session_id)
        for busy in (mapped, upper):
            assert busy.status_code == 409, busy.text
            assert busy.json()["code"] == "setup_running"
        assert hexed.status_code == 422 and hexed.json()["field"] == "host"
        assert address in hexed.json()["detail"]  # says what to write instead
        sessions = client.get("/api/setup/sessions").json()
        assert [s["host"] for s in sessions] == [address]
        trusted = client.get("/api/servers/known-hosts").json()
        assert [(k["host"], k["port"]) for k in trusted] == [(address, 22)]
        # a test through the mapped spelling uses the trust recorded for the address: no second entry
        tested = client.post("/api/setup/test-connection", json={"host": f"::ffff:{address}", **login})
        assert tested.status_code == 200, tested.text
        assert [(k["host"], k["port"]) for k in client.get("/api/servers/known-hosts").json()] == [
            (address, 22)
        ]
