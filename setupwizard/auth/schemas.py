"""Request and response bodies of the auth and user routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

STRICT = ConfigDict(strict=True, extra="forbid")
"""Request bodies take JSON types as they are: ``"is_admin": "yes"`` is a 422, not True."""

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"


class LoginRequest(BaseModel):
    """``POST /api/auth/login``."""

    model_config = STRICT

    username: str = Field(min_length=1, max_length=64)
    password: SecretStr = Field(min_length=1, max_length=1024)


class TokenResponse(BaseModel):
    """The bearer token (the same value is set as the HttpOnly session cookie)."""

    access_token: str
    token_type: str = "bearer"


class UserOut(BaseModel):
    """A user as the API shows it (never the hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    is_admin: bool


class UserCreate(BaseModel):
    """``POST /api/users`` (admins only)."""

    model_config = STRICT

    username: str = Field(pattern=USERNAME_PATTERN)
    password: SecretStr = Field(min_length=8, max_length=1024)
    is_admin: bool = False


class PasswordChange(BaseModel):
    """``POST /api/auth/password``: change one's own password (every other login is ended)."""

    model_config = STRICT

    current_password: SecretStr = Field(min_length=1, max_length=1024)
    new_password: SecretStr = Field(min_length=8, max_length=1024)


class ApiTokenCreate(BaseModel):
    """``POST /api/tokens``: a personal access token's name, scope and lifetime in days."""

    model_config = STRICT

    name: str = Field(min_length=1, max_length=64)
    scope: Literal["read", "setup", "admin"] = "read"
    expires_in_days: int = Field(90, ge=1, le=366)


class ApiTokenOut(BaseModel):
    """A personal access token as its list shows it (never the token, never its hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    scope: str
    hint: str = Field(description="The token's last four characters, to tell tokens apart.")
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    last_used_address: str


class ApiTokenCreated(ApiTokenOut):
    """The answer to ``POST /api/tokens``: the one time the token itself is shown."""

    token: str
