"""No lock-out at the API: a plan that leaves no proven way to root is a 422 naming the field, and
no session starts (nothing connects: the address has no host behind it)."""

from __future__ import annotations

import asyncssh
import pytest

from setupwizard.testbed.paths import SILENT_ADDRESS
from tests.integration.web.live import LiveServer

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the edge, not the database

KEY = asyncssh.generate_private_key("ssh-ed25519")
PRIVATE = KEY.export_private_key().decode()
PUBLIC = KEY.export_public_key().decode().strip()
OFF = {"permit_root_login": "no", "password_authentication": False}


@pytest.mark.parametrize(
    ("login", "admin", "field", "what_to_add"),
    [
        (
            {"private_key": PRIVATE},
            {"username": "deploy", "public_key": PUBLIC},
            "admin.sudo_password",
            "免密码 sudo",
        ),
        (
            {"password": "root-pw-1"},
            {"username": "deploy", "public_key": PUBLIC},
            "ssh_hardening.permit_root_login",
            "生成密钥",
        ),
        ({"password": "root-pw-1"}, None, "ssh_hardening.permit_root_login", "管理员用户"),
    ],
    ids=["a1-nobody-to-root", "no-proof", "no-admin"],
)
def test_a_plan_without_a_way_to_root_is_a_422_before_any_session(
    live_server: LiveServer,
    login: dict[str, str],
    admin: dict[str, object] | None,
    field: str,
    what_to_add: str,
) -> None:
    body: dict[str, object] = {"host": SILENT_ADDRESS, "username": "root", **login, "ssh_hardening": OFF}
    if admin is not None:
        body["admin"] = admin
    with live_server.client(live_server.admin_login()) as client:
        response = client.post("/api/setup/auto-setup", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "invalid_input" and response.json()["field"] == field
        assert what_to_add in response.json()["detail"]
        assert "root-pw-1" not in response.text and PRIVATE.splitlines()[1] not in response.text
        assert client.get("/api/setup/sessions").json() == []


def test_the_same_plan_with_nopasswd_is_accepted(live_server: LiveServer) -> None:
    body = {
        "host": SILENT_ADDRESS,
        "username": "root",
        "private_key": PRIVATE,
        "admin": {"username": "deploy", "public_key": PUBLIC, "nopasswd": True},
        "ssh_hardening": OFF,
    }
    with live_server.client(live_server.admin_login()) as client:
        response = client.post("/api/setup/auto-setup", json=body)
    assert response.status_code != 422, response.text
