"""Response bodies of ``/api/servers``: never a password, not even its ciphertext."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from setupwizard.provisioning.validate import FINGERPRINT_PATTERN
from setupwizard.setup.schemas import StepChoice


class SudoOut(BaseModel):
    """A saved sudo credential as listed."""

    id: int
    host: str
    ssh_port: int
    sudo_user: str
    passwordless: bool
    updated_at: datetime


class SudoPrefill(BaseModel):
    """What the page may prefill. The saved password itself is used by the service, never shown."""

    saved: bool
    sudo_user: str | None
    has_password: bool
    passwordless: bool


class KnownHostOut(BaseModel):
    """A host key one user trusts (``user_id``/``username``: whose trust it is)."""

    user_id: int
    username: str
    host: str
    port: int
    fingerprint: str
    first_seen: datetime
    last_seen: datetime


class KnownHostTrust(BaseModel):
    """``POST /api/servers/known-hosts/trust``: the new key the person checked on the server's console."""

    model_config = ConfigDict(extra="forbid", strict=True)

    host: str = Field(min_length=1, max_length=255, description="The server, as the record names it.")
    port: int = Field(22, ge=1, le=65535, description="Its SSH port.")
    fingerprint: str = Field(
        description='The new key\'s fingerprint the person saw and checked, "SHA256:…".',
        pattern=FINGERPRINT_PATTERN,
    )


class TrustedHostKey(BaseModel):
    """The answer of a trust: the key trusted now and the one it replaced (null: none was on record)."""

    host: str
    port: int
    fingerprint: str
    previous: str | None


class ServerOut(BaseModel):
    """One of the caller's servers (``GET /api/servers``): what is saved about it and its last setup."""

    host: str
    port: int
    login: str | None = Field(description="The SSH login of the last setup (else the saved sudo user).")
    sudo_user: str | None
    sudo_mode: str | None = Field(description='"password", "passwordless", or null when nothing is saved.')
    host_key_fingerprint: str | None = Field(description="The host key the caller trusts, SHA256:…")
    last_session_id: str | None
    last_status: str | None = Field(description="The last setup's status: succeeded, failed, running…")
    last_setup_at: datetime | None
    login_after: dict[str, Any] | None = Field(
        None,
        description='After a successful SSH hardening: {"username", "port", "auth", "generated_key"}; '
        "the next setup logs in this way (``login`` is its username).",
    )


class ForgottenServer(BaseModel):
    """What ``DELETE /api/servers`` removed."""

    host: str
    port: int
    sudo_rows: int
    known_hosts: int
    admin_keys: int = Field(0, description="Generated admin keys that still waited for their download.")


class PresetIn(BaseModel):
    """``POST /api/servers/presets``: a named choice of steps (an admin user's sudo password is dropped)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(
        min_length=1, max_length=64, description="Unique per user; saving it again replaces it."
    )
    steps: StepChoice


class PresetOut(BaseModel):
    """One of the caller's presets."""

    id: int
    name: str
    steps: dict[str, Any]
    updated_at: datetime
