"""``setupwizard users``: create and list the people who may log in (works before the first start)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any

import typer

from setupwizard.cli.root import app
from setupwizard.config import Settings, get_settings

users_app = typer.Typer(no_args_is_help=True, help="Manage users (the first admin, colleagues).")
app.add_typer(users_app, name="users")


async def _create(settings: Settings, username: str, password: str, admin: bool) -> None:
    from setupwizard.auth import service
    from setupwizard.db.database import Database

    db = Database(settings)
    try:
        await db.migrate()
        async with db.session() as session:
            await service.create_user(session, username, password, is_admin=admin)
    finally:
        await db.dispose()


async def _reset(settings: Settings, username: str, password: str) -> None:
    from setupwizard.auth import service
    from setupwizard.db.database import Database

    db = Database(settings)
    try:
        await db.migrate()
        async with db.session() as session:
            await service.reset_password(session, username, password)
    finally:
        await db.dispose()


async def _list(settings: Settings) -> list[tuple[int, str, bool]]:
    from setupwizard.auth.repository import UserRepository
    from setupwizard.db.database import Database

    db = Database(settings)
    try:
        await db.migrate()
        async with db.session() as session:
            return [(u.id, u.username, u.is_admin) for u in await UserRepository(session).list()]
    finally:
        await db.dispose()


PASSWORD_STDIN = typer.Option(
    False, "--password-stdin", help="Read the password from standard input (one line) instead of a prompt."
)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _run(work: Coroutine[Any, Any, None]) -> None:
    from setupwizard.core.errors import AppError

    try:
        asyncio.run(work)
    except AppError as exc:
        typer.echo(f"Error: {exc.message}", err=True)
        raise typer.Exit(1) from None


@users_app.command("create")
def create(
    username: str,
    admin: bool = typer.Option(False, "--admin", help="Make the user an administrator."),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Add a user. The password is prompted for (never an argument: argv is visible to everyone)."""
    password = _read_password(password_stdin)
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _run(_create(settings, username, password, admin))
    typer.echo(f"Created {'admin ' if admin else ''}user {username!r}.")


@users_app.command("set-password")
def set_password(username: str, password_stdin: bool = PASSWORD_STDIN) -> None:
    """Give a user a new password (a forgotten admin password, say); every login of the user ends."""
    password = _read_password(password_stdin)
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _run(_reset(settings, username, password))
    typer.echo(f"Password of {username!r} changed; the user's logins have ended.")


@users_app.command("list")
def list_users() -> None:
    """Show every user."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for user_id, username, is_admin in asyncio.run(_list(settings)):
        typer.echo(f"{user_id}\t{username}\t{'admin' if is_admin else 'user'}")
