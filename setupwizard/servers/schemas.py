"""Response bodies of ``/api/servers``: never a password, not even its ciphertext."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


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
