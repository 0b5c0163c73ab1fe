"""Request and response bodies of the auth and user routes."""

from __future__ import annotations

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
