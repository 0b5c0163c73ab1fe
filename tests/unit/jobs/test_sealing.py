"""A queued setup's request, sealed: every secret comes back exactly, none is readable in the ciphertext,
and the ciphertext opens only for its own session."""

from __future__ import annotations

import dataclasses
import secrets

import pytest

from setupwizard.core.secretbox import SecretBox, SecretBoxError
from setupwizard.jobs.sealing import seal, unseal
from setupwizard.setup.running import PreparedSetup
from setupwizard.setup.schemas import AutoSetupRequest


def _prepared(canary: str) -> PreparedSetup:
    request = AutoSetupRequest.model_validate(
        {
            "host": "192.0.2.10",
            "port": 2222,
            "username": "deploy",
            "password": f"pw-{canary}",
            "private_key": f"-----BEGIN OPENSSH PRIVATE KEY-----\nkey-{canary}\n-----END …-----",
            "passphrase": f"pass-{canary}",
            "sudo_password": f"sudo-{canary}",
            "packages": ["curl"],
            "firewall_ports": ["80/tcp"],
            "admin": {"username": "ops", "sudo_password": f"admin-{canary}", "public_key": None},
            "script": "echo hi\n",
            "save_sudo_password": False,
        }
    )
    return PreparedSetup(
        session_id="11111111-2222-3333-4444-555555555555",
        owner_id=7,
        target=request.to_target(saved_sudo_password=f"saved-{canary}"),
        options=request.to_options(),
        save_sudo_password=False,
        request=request,
        saved_sudo_password=f"saved-{canary}",
    )


def test_a_sealed_request_comes_back_whole_and_shows_no_secret() -> None:
    canary = f"Canary{secrets.token_hex(6)}"
    box = SecretBox(secrets.token_bytes(32))
    prepared = _prepared(canary)
    sealed = seal(box, prepared)
    assert canary not in sealed
    back = unseal(box, prepared.session_id, sealed)
    assert back.target == prepared.target
    assert back.options == prepared.options
    assert back.owner_id == 7 and back.save_sudo_password is False
    assert back.saved_sudo_password == f"saved-{canary}"
    assert back.attempt == 1


def test_the_attempt_number_travels_with_the_request() -> None:
    box = SecretBox(secrets.token_bytes(32))
    prepared = dataclasses.replace(_prepared("x"), attempt=2)
    assert unseal(box, prepared.session_id, seal(box, prepared)).attempt == 2


def test_a_sealed_request_opens_only_for_its_own_session() -> None:
    box = SecretBox(secrets.token_bytes(32))
    prepared = _prepared("y")
    with pytest.raises(SecretBoxError):
        unseal(box, "99999999-2222-3333-4444-555555555555", seal(box, prepared))
