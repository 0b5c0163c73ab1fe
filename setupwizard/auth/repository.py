"""All SQL about users, login tokens and personal access tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.db.models import ApiToken, AuthToken, User


class UserRepository:
    """Users and their login tokens, within one session (the caller commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_by_username(self, username: str) -> User | None:
        result = await self.session.execute(select(User).where(User.username == username))
        return result.scalar_one_or_none()

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(User)) or 0)

    async def list(self) -> Sequence[User]:
        result = await self.session.execute(select(User).order_by(User.username))
        return result.scalars().all()

    async def add(self, username: str, password_hash: str, is_admin: bool) -> User:
        user = User(username=username, password_hash=password_hash, is_admin=is_admin)
        self.session.add(user)
        await self.session.flush()
        return user

    async def set_password_hash(self, user: User, password_hash: str) -> None:
        user.password_hash = password_hash
        await self.session.flush()

    async def add_token(self, user_id: int, token_hash: str, expires_at: datetime) -> None:
        self.session.add(AuthToken(token_hash=token_hash, user_id=user_id, expires_at=expires_at))
        await self.session.flush()

    async def user_for_token(self, token_hash: str, now: datetime) -> User | None:
        result = await self.session.execute(
            select(User)
            .join(AuthToken, AuthToken.user_id == User.id)
            .where(AuthToken.token_hash == token_hash, AuthToken.expires_at > now)
        )
        return result.scalar_one_or_none()

    async def delete_token(self, token_hash: str) -> None:
        await self.session.execute(delete(AuthToken).where(AuthToken.token_hash == token_hash))

    async def delete_user_tokens(self, user_id: int) -> None:
        await self.session.execute(delete(AuthToken).where(AuthToken.user_id == user_id))

    async def delete_expired_tokens(self, now: datetime) -> None:
        await self.session.execute(delete(AuthToken).where(AuthToken.expires_at <= now))


class ApiTokenRepository:
    """Personal access tokens (``api_tokens``), within one session (the caller commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, token: ApiToken) -> ApiToken:
        self.session.add(token)
        await self.session.flush()
        return token

    async def by_hash(self, token_hash: str) -> tuple[ApiToken, User] | None:
        """The token with this hash and its user (expired or not: the caller decides)."""
        result = await self.session.execute(
            select(ApiToken, User)
            .join(User, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == token_hash)
        )
        row = result.first()
        return (row[0], row[1]) if row is not None else None

    async def of_user(self, user_id: int) -> Sequence[ApiToken]:
        """A user's tokens, newest first."""
        result = await self.session.execute(
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
        )
        return result.scalars().all()

    async def get_owned(self, user_id: int, token_id: int) -> ApiToken | None:
        result = await self.session.execute(
            select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)
        )
        return result.scalar_one_or_none()

    async def delete(self, token: ApiToken) -> None:
        await self.session.execute(delete(ApiToken).where(ApiToken.id == token.id))

    async def mark_used(self, token_id: int, at: datetime, address: str, addresses: list[str]) -> None:
        await self.session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id)
            .values(last_used_at=at, last_used_address=address, addresses=addresses)
        )
