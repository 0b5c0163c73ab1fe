"""Shapes of ``/api/keys``: a key is saved with its private half, and listed without it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from setupwizard.vault.keys import MAX_KEY_CHARS
from setupwizard.vault.service import NAME_MAX


class SshKeyCreate(BaseModel):
    """``POST /api/keys``: a name and the private key (OpenSSH or PEM); its passphrase if it has one."""

    model_config = ConfigDict(strict=True, extra="forbid")

    name: str = Field(min_length=1, max_length=NAME_MAX)
    private_key: SecretStr = Field(max_length=MAX_KEY_CHARS, description="The private key text.")
    passphrase: SecretStr | None = Field(
        None, description="Opens an encrypted key once; the vault keeps the key under its own encryption."
    )


class SshKeyOut(BaseModel):
    """A saved key as every answer shows it: never the private key."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    key_type: str
    public_key: str = Field(description="The OpenSSH public key line (for authorized_keys).")
    fingerprint: str = Field(description='"SHA256:…", as ssh-keygen -l shows it.')
    created_at: datetime
