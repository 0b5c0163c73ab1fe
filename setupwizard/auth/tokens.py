"""Personal access tokens: created (shown once), listed, revoked, and checked on every request.

A token is ``swp_`` + 256 random bits; the database keeps its SHA-256 and its last four characters (to
tell tokens apart in the list). Every request looks the hash up, so a revoked (deleted) or expired token
is refused at once by every worker sharing the database. Services never commit: the caller's session does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from setupwizard.audit import trail as audit
from setupwizard.audit.trail import AuditAction
from setupwizard.auth import credentials
from setupwizard.auth.repository import ApiTokenRepository
from setupwizard.auth.scopes import Scope
from setupwizard.core.errors import NotFoundError
from setupwizard.db.models import ApiToken, User

PREFIX = "swp_"
DEFAULT_DAYS = 90
MAX_DAYS = 366
MAX_LENGTH = 256
LAST_USED_EVERY = timedelta(minutes=1)
""""Last used" is written at most this often per token (a new address is always written)."""
ADDRESSES_KEPT = 32


@dataclass(frozen=True)
class TokenUser:
    """Who a personal access token authenticates, and what its scope allows."""

    user: User
    scope: Scope
    token_id: int


def looks_like_api_token(token: str) -> bool:
    """Whether ``token`` has the shape of a personal access token (login tokens have no prefix)."""
    return token.startswith(PREFIX) and len(token) <= MAX_LENGTH


async def create(
    session: AsyncSession, conn: HTTPConnection, user: User, name: str, scope: Scope, days: int
) -> tuple[ApiToken, str]:
    """A new token of ``user``; returns the row and the token itself (never stored, shown once)."""
    value = PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = await ApiTokenRepository(session).add(
        ApiToken(
            user_id=user.id,
            name=name,
            token_hash=credentials.token_digest(value),
            hint=value[-4:],
            scope=scope.value,
            created_at=now,
            expires_at=now + timedelta(days=days),
            last_used_address="",
            addresses=[],
        )
    )
    detail = {"token_id": row.id, "scope": scope.value, "expires_at": row.expires_at.isoformat()}
    await audit.record_in(session, conn, AuditAction.TOKEN_CREATE, user=user, target=name, detail=detail)
    return row, value


async def list_of(session: AsyncSession, user: User) -> list[ApiToken]:
    """The user's tokens, newest first (expired ones too, until revoked)."""
    return list(await ApiTokenRepository(session).of_user(user.id))


async def revoke(session: AsyncSession, conn: HTTPConnection, user: User, token_id: int) -> None:
    """Delete one of the user's tokens (another user's is a 404, as a missing one)."""
    repo = ApiTokenRepository(session)
    row = await repo.get_owned(user.id, token_id)
    if row is None:
        raise NotFoundError("No such token", code="token_not_found")
    await repo.delete(row)
    detail = {"token_id": row.id, "scope": row.scope}
    await audit.record_in(session, conn, AuditAction.TOKEN_REVOKE, user=user, target=row.name, detail=detail)


async def authenticate(session: AsyncSession, conn: HTTPConnection, token: str) -> TokenUser | None:
    """The user and scope of a valid token, or None (unknown, revoked or expired).

    Notes the use: "last used" (at most once a minute), and the audit trail when the address is new.
    """
    found = await ApiTokenRepository(session).by_hash(credentials.token_digest(token))
    now = datetime.now(UTC)
    if found is None or found[0].expires_at <= now:
        return None
    row, user = found
    address = audit.client_address(conn)
    known = list(row.addresses or [])
    is_new = address not in known
    if is_new or row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        addresses = [*known, address][-ADDRESSES_KEPT:] if is_new else known
        await ApiTokenRepository(session).mark_used(row.id, now, address, addresses)
    if is_new:
        detail = {"token_id": row.id, "scope": row.scope}
        await audit.record_in(session, conn, AuditAction.TOKEN_USE, user=user, target=row.name, detail=detail)
    return TokenUser(user=user, scope=Scope(row.scope), token_id=row.id)
