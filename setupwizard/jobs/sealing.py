"""The request a setup job runs, sealed: the job's arguments hold the session id only, and everything else
(passwords, private key, passphrase, sudo passwords among it) is one secretbox ciphertext, bound to the
session id, in ``setup_job_secrets`` until the job ends."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

from pydantic import SecretStr

from setupwizard.core.secretbox import SecretBox
from setupwizard.setup.running import PreparedSetup
from setupwizard.setup.schemas import AutoSetupRequest


def _associated(session_id: str) -> str:
    return f"setup-job:{session_id}"


def _reveal(value: Any) -> Any:
    """The model's dump with every ``SecretStr`` as its text (it is encrypted next, never stored as is)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {key: _reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_reveal(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    """JSON for what the dump leaves as Python objects (enums by value; UUIDs, addresses as text)."""
    return value.value if isinstance(value, Enum) else str(value)


def seal(box: SecretBox, prepared: PreparedSetup) -> str:
    """The ciphertext of a prepared setup's request (and the saved sudo password it filled in)."""
    if prepared.request is None:
        raise ValueError("only a setup prepared from a request can be sealed")
    body = _reveal(prepared.request.model_dump(mode="python"))
    payload = {
        "owner_id": prepared.owner_id,
        "request": body,
        "saved_sudo_password": prepared.saved_sudo_password,
        "attempt": prepared.attempt,
        "request_id": prepared.request_id,
    }
    return box.encrypt(json.dumps(payload, default=_plain), _associated(prepared.session_id))


def unseal(box: SecretBox, session_id: str, sealed: str) -> PreparedSetup:
    """The prepared setup back from its ciphertext (:class:`~setupwizard.core.secretbox.SecretBoxError`
    when it is not this session's)."""
    payload = json.loads(box.decrypt(sealed, _associated(session_id)))
    request = AutoSetupRequest.model_validate_json(json.dumps(payload["request"]))
    saved = payload.get("saved_sudo_password")
    return PreparedSetup(
        session_id=session_id,
        owner_id=int(payload["owner_id"]),
        target=request.to_target(saved_sudo_password=saved),
        options=request.to_options(),
        save_sudo_password=request.save_sudo_password,
        request=request,
        saved_sudo_password=saved,
        attempt=int(payload.get("attempt", 1)),
        request_id=payload.get("request_id"),
    )
