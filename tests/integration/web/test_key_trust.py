"""A changed host key and its way out, against a real test server: the 409 carries both fingerprints and
the command to check the key as catalogued params (any language); ``POST /api/servers/known-hosts/trust``
trusts the new key only when the server shows it, keeps the saved sudo data and goes in the audit trail."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from setupwizard.core.secretbox import secretbox_from_settings
from setupwizard.db.database import Database
from setupwizard.provisioning.messages import render
from setupwizard.servers.repository import SudoRepository
from setupwizard.testbed.host import TestHost
from tests.integration.web.fixtures import run_sync
from tests.integration.web.live import LiveServer

pytestmark = pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

CANARY = "canary-sudo-password-3f9d21be"
CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
KEY_FILES = {
    "ssh-ed25519": "/etc/ssh/ssh_host_ed25519_key.pub",
    "ecdsa-sha2-nistp256": "/etc/ssh/ssh_host_ecdsa_key.pub",
    "ssh-rsa": "/etc/ssh/ssh_host_rsa_key.pub",
}


def console(host: TestHost, command: str) -> str:
    """What ``command`` prints on the server itself (its "console"): the fingerprint it names."""
    out = host.run_root(command).stdout
    found = re.search(r"SHA256:[A-Za-z0-9+/]{43}", out)
    assert found, out
    return found.group(0)


def _test(client: httpx.Client, host: TestHost) -> httpx.Response:
    account = host.sudo_password
    body = {"host": host.address, "username": account.username, "password": account.password}
    return client.post("/api/setup/test-connection", json=body)


async def _save_sudo(server: LiveServer, host: str) -> None:
    db = Database(server.settings)
    try:
        async with db.session() as session:
            repo = SudoRepository(session, secretbox_from_settings(server.settings))
            await repo.upsert_sudo(1, host, 22, "deploy", CANARY)
    finally:
        await db.dispose()


def _trust(client: httpx.Client, host: TestHost, fingerprint: str) -> httpx.Response:
    body = {"host": host.address, "port": 22, "fingerprint": fingerprint}
    return client.post("/api/servers/known-hosts/trust", json=body)


def test_a_changed_key_is_explained_and_the_checked_new_key_trusted_keeping_the_sudo_data(
    live_server: LiveServer, make_test_host: Callable[[], TestHost]
) -> None:
    host = make_test_host()
    admin = live_server.admin_login()
    with live_server.client(admin) as client:
        first = _test(client, host)
        assert first.status_code == 200, first.text
        old = first.json()["host_key_fingerprint"]
        run_sync(lambda: _save_sudo(live_server, host.address))

        host.regenerate_host_keys()
        refused = _test(client, host)
        assert refused.status_code == 409
        body = refused.json()
        assert body["code"] == "host_key_changed"
        assert body["message_code"] == "error.host_key_changed"
        params = body["params"]
        assert (params["host"], params["port"]) == (host.address, 22)
        # the command names the file of the key type the server showed, and prints its new fingerprint
        assert params["check"] == f"ssh-keygen -lf {KEY_FILES[params['key_type']]}"
        new = console(host, params["check"])
        assert (params["recorded"], params["seen"]) == (old, new)
        assert new != old
        english = render(body["message_code"], params, "en")
        assert old in english and new in english and params["check"] in english
        assert not CJK.search(english), english
        assert "已知主机密钥" not in body["detail"]  # no pointer to a page section that does not exist

        # The server shows another key than the one the person checked: nothing is trusted.
        other = "SHA256:" + "A" * 43
        moved = _trust(client, host, other)
        assert moved.status_code == 409
        assert moved.json()["code"] == "host_key_mismatch"
        assert moved.json()["params"]["seen"] == new
        assert moved.json()["params"]["expected"] == other
        assert not CJK.search(render("error.host_key_moved_again", moved.json()["params"], "en"))
        [record] = client.get("/api/servers/known-hosts").json()
        assert record["fingerprint"] == old

        trusted = _trust(client, host, new)
        assert trusted.status_code == 200, trusted.text
        assert trusted.json() == {"host": host.address, "port": 22, "fingerprint": new, "previous": old}
        [record] = client.get("/api/servers/known-hosts").json()
        assert record["fingerprint"] == new
        [sudo] = client.get("/api/servers/sudo").json()  # kept, unlike Forget
        assert (sudo["host"], sudo["sudo_user"], sudo["passwordless"]) == (host.address, "deploy", False)

        again = _test(client, host)
        assert again.status_code == 200, again.text
        assert again.json()["host_key_known"] is True
        assert again.json()["host_key_fingerprint"] == new

        [event] = client.get("/api/audit", params={"action": "known_host.trust"}).json()
        assert event["target"] == f"{host.address}:22"
        assert event["detail"]["old"] == old and event["detail"]["new"] == new
        assert CANARY not in client.get("/api/audit").text


def test_trusting_refuses_bad_input_naming_the_field_and_denied_targets(live_server: LiveServer) -> None:
    fingerprint = "SHA256:" + "B" * 43
    with live_server.client(live_server.admin_login()) as client:
        bad_key = client.post(
            "/api/servers/known-hosts/trust", json={"host": "198.18.0.10", "fingerprint": "md5"}
        )
        assert (bad_key.status_code, bad_key.json()["field"]) == (422, "fingerprint")
        bad_host = client.post(
            "/api/servers/known-hosts/trust", json={"host": "not a host", "fingerprint": fingerprint}
        )
        assert (bad_host.status_code, bad_host.json()["field"]) == (422, "host")
        denied = client.post(
            "/api/servers/known-hosts/trust", json={"host": "169.254.169.254", "fingerprint": fingerprint}
        )
        assert (denied.status_code, denied.json()["code"]) == (403, "target_denied")
        assert client.get("/api/audit", params={"action": "known_host.trust"}).json() == []
    with httpx.Client(base_url=live_server.base_url) as anonymous:
        body = {"host": "198.18.0.10", "fingerprint": fingerprint}
        assert anonymous.post("/api/servers/known-hosts/trust", json=body).status_code == 401
