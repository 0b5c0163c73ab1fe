"""Logging in and out, users, and the first admin. Services never commit: the caller's session does."""

from __future__ import annotations

import logging
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from setupwizard.auth import credentials
from setupwizard.auth.repository import UserRepository
from setupwizard.auth.schemas import USERNAME_PATTERN
from setupwizard.config import Settings
from setupwizard.core.errors import ConflictError, InvalidRequestError, NotAuthenticatedError, NotFoundError
from setupwizard.db.database import Database
from setupwizard.db.models import User

log = logging.getLogger(__name__)

INITIAL_PASSWORD_FILE = "initial-admin-password"
MIN_PASSWORD_LENGTH = 8
BAD_CREDENTIALS = "Incorrect username or password"


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    """The user when the password matches, else None (same cost for an unknown name)."""
    repo = UserRepository(session)
    user = await repo.get_by_username(username)
    ok = await run_in_threadpool(credentials.verify_password, user.password_hash if user else None, password)
    if not ok or user is None:
        return None
    if credentials.needs_rehash(user.password_hash):
        await repo.set_password_hash(user, await run_in_threadpool(credentials.hash_password, password))
    return user


async def login(session: AsyncSession, username: str, password: str, settings: Settings) -> tuple[User, str]:
    """A fresh token for the user, or :class:`NotAuthenticatedError` (one message for both failures)."""
    user = await authenticate(session, username, password)
    if user is None:
        raise NotAuthenticatedError(BAD_CREDENTIALS)
    repo = UserRepository(session)
    now = datetime.now(UTC)
    await repo.delete_expired_tokens(now)
    token = credentials.new_token()
    expires = now + timedelta(seconds=settings.token_ttl_seconds)
    await repo.add_token(user.id, credentials.token_digest(token), expires)
    return user, token


async def logout(session: AsyncSession, token: str) -> None:
    """End the login of ``token`` (other logins of the same user stay)."""
    await UserRepository(session).delete_token(credentials.token_digest(token))


async def user_for_token(session: AsyncSession, token: str) -> User | None:
    """The user a token belongs to, if it exists and has not expired."""
    if not token or len(token) > 256:
        return None
    return await UserRepository(session).user_for_token(credentials.token_digest(token), datetime.now(UTC))


def _check_new_user(username: str, password: str) -> None:
    if not re.fullmatch(USERNAME_PATTERN, username):
        raise InvalidRequestError("username", "Use 1-64 letters, digits, '.', '_', '@' or '-'")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequestError("password", f"Use at least {MIN_PASSWORD_LENGTH} characters")


async def create_user(session: AsyncSession, username: str, password: str, is_admin: bool = False) -> User:
    """A new user with an argon2 hash; :class:`ConflictError` when the name is taken."""
    _check_new_user(username, password)
    repo = UserRepository(session)
    if await repo.get_by_username(username) is not None:
        raise ConflictError(f"User {username!r} already exists", code="user_exists")
    password_hash = await run_in_threadpool(credentials.hash_password, password)
    try:
        return await repo.add(username, password_hash, is_admin)
    except IntegrityError:  # another request took the name while the password was being hashed
        raise ConflictError(f"User {username!r} already exists", code="user_exists") from None


async def change_password(session: AsyncSession, user: User, current: str, new: str) -> None:
    """Replace the password after checking the current one; every login of the user ends."""
    if await authenticate(session, user.username, current) is None:
        raise InvalidRequestError("current_password", "The current password is wrong")
    _check_new_user(user.username, new)
    repo = UserRepository(session)
    fresh = await repo.get(user.id)
    assert fresh is not None
    await repo.set_password_hash(fresh, await run_in_threadpool(credentials.hash_password, new))
    await repo.delete_user_tokens(user.id)


async def reset_password(session: AsyncSession, username: str, new: str) -> None:
    """Set a user's password without the old one (the CLI, for a forgotten admin password); logins end."""
    _check_new_user(username, new)
    repo = UserRepository(session)
    user = await repo.get_by_username(username)
    if user is None:
        raise NotFoundError(f"No user {username!r}")
    await repo.set_password_hash(user, await run_in_threadpool(credentials.hash_password, new))
    await repo.delete_user_tokens(user.id)


def write_secret_file(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` readable by the owner only (0600), replacing any old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an older file keeps its mode on O_CREAT; make sure
        os.write(fd, content.encode())
    finally:
        os.close(fd)


async def ensure_first_admin(db: Database, settings: Settings) -> User | None:
    """Create the first admin when there is no user at all; returns it, or None when users exist.

    From ``SETUPWIZARD_ADMIN_USER``/``SETUPWIZARD_ADMIN_PASSWORD``; without a password, a random one
    is written to ``<data_dir>/initial-admin-password`` (mode 0600) and only that path is logged.
    """
    username = settings.admin_user or "admin"
    given = settings.admin_password.get_secret_value() if settings.admin_password else ""
    password = given or credentials.random_password()
    try:
        async with db.session() as session:
            if await UserRepository(session).count() > 0:
                return None
            user = await create_user(session, username, password, is_admin=True)
    except (IntegrityError, ConflictError):  # another instance created it at the same moment
        return None
    except InvalidRequestError as exc:
        variable = "SETUPWIZARD_ADMIN_USER" if exc.field == "username" else "SETUPWIZARD_ADMIN_PASSWORD"
        raise RuntimeError(f"{variable}: {exc.message}") from None
    if given:
        log.info(
            "Created the first admin %r from SETUPWIZARD_ADMIN_USER/SETUPWIZARD_ADMIN_PASSWORD", username
        )
    else:
        path = settings.data_dir / INITIAL_PASSWORD_FILE
        write_secret_file(path, password + "\n")
        log.warning(
            "Created the first admin %r; its password is in %s (readable by this user only). "
            "Log in, then change it and delete the file.",
            username,
            path,
        )
    return user
