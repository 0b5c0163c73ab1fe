"""All SQL about saved sudo credentials (``ssh_servers_sudo``), known host keys and the saved-servers list.

The sudo password is encrypted here, on its way in, and decrypted on its way out (internal use only: the
setup service reads it to prefill a setup; no route ever returns it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.expression import Executable

from setupwizard.audit.repository import AuditRepository
from setupwizard.core.secretbox import SecretBox, SecretBoxError
from setupwizard.db.models import (
    Base,
    KnownHost,
    SetupSession,
    SshServerSudo,
    User,
)
from setupwizard.provisioning.address import canonical_host
from setupwizard.setup import repository as setup_repository
from setupwizard.setup.repository import AdminKeyRepository

log = logging.getLogger(__name__)


def normalise_host(host: str) -> str:
    """One spelling per server (:func:`~setupwizard.provisioning.address.canonical_host`)."""
    return canonical_host(host)


def sudo_associated_data(user_id: int, host: str, port: int) -> str:
    """What a saved sudo password is bound to: decrypting it in any other row fails."""
    return f"ssh_servers_sudo:{user_id}:{normalise_host(host)}:{port}"


@dataclass(frozen=True)
class SavedSudo:
    """A saved credential, decrypted. ``sudo_password`` is '' when passwordless, None when unreadable."""

    sudo_user: str
    sudo_password: str | None
    passwordless: bool

    def __repr__(self) -> str:
        return f"SavedSudo(sudo_user={self.sudo_user!r}, passwordless={self.passwordless!r})"


Update = Callable[[Any], dict[str, object]]
"""The columns to set when the row exists, given the statement's ``excluded`` (the values refused)."""


def _upsert(
    session: AsyncSession, model: type[Base], keys: list[Any], values: dict[str, object], update: Update
) -> Executable:
    """INSERT … ON CONFLICT (keys) DO UPDATE, in the session's SQL dialect: one statement, so two requests
    writing the same row at once both succeed (the later one's values win) instead of one failing."""
    if session.get_bind().dialect.name == "postgresql":
        pg = postgresql.insert(model).values(**values)
        return pg.on_conflict_do_update(index_elements=keys, set_=update(pg.excluded))
    lite = sqlite.insert(model).values(**values)
    return lite.on_conflict_do_update(index_elements=keys, set_=update(lite.excluded))


class SudoRepository:
    """``ssh_servers_sudo`` rows of any user; every method takes the owner's ``user_id``."""

    def __init__(self, session: AsyncSession, secretbox: SecretBox) -> None:
        self.session = session
        self.secretbox = secretbox

    async def upsert_sudo(
        self, user_id: int, host: str, port: int, sudo_user: str, sudo_password_plain: str
    ) -> None:
        """Insert or replace the row of (user, host, port): '' stays '' (passwordless), else encrypted."""
        host = normalise_host(host)
        stored = (
            self.secretbox.encrypt(sudo_password_plain, sudo_associated_data(user_id, host, port))
            if sudo_password_plain
            else ""
        )
        now = datetime.now(UTC)
        values: dict[str, object] = {
            "user_id": user_id,
            "host": host,
            "ssh_port": port,
            "sudo_user": sudo_user,
            "sudo_password": stored,
            "created_at": now,
            "updated_at": now,
        }
        update: dict[str, object] = {"sudo_user": sudo_user, "sudo_password": stored, "updated_at": now}
        keys = [SshServerSudo.user_id, SshServerSudo.host, SshServerSudo.ssh_port]
        await self.session.execute(_upsert(self.session, SshServerSudo, keys, values, lambda _: update))
        owner = await self.session.get(User, user_id)
        await AuditRepository(self.session).add(  # in the same transaction as the row: both or neither
            action="sudo.save",
            actor_id=user_id,
            actor=owner.username if owner else "",
            target=f"{sudo_user}@{host}:{port}",
            detail={"passwordless": not sudo_password_plain},
        )

    async def _row(self, user_id: int, host: str, port: int) -> SshServerSudo | None:
        result = await self.session.execute(
            select(SshServerSudo).where(
                SshServerSudo.user_id == user_id,
                SshServerSudo.host == normalise_host(host),
                SshServerSudo.ssh_port == port,
            )
        )
        return result.scalar_one_or_none()

    async def get_sudo(self, user_id: int, host: str, port: int) -> SavedSudo | None:
        """The saved credential, decrypted (internal use only), or None when nothing is saved."""
        row = await self._row(user_id, host, port)
        if row is None:
            return None
        if not row.sudo_password:
            return SavedSudo(row.sudo_user, "", passwordless=True)
        try:
            plain = self.secretbox.decrypt(row.sudo_password, sudo_associated_data(user_id, host, port))
        except SecretBoxError:
            log.warning(
                "Saved sudo password for %s:%s (row %s) cannot be decrypted: was the secret key changed?",
                row.host,
                row.ssh_port,
                row.id,
            )
            return SavedSudo(row.sudo_user, None, passwordless=False)
        return SavedSudo(row.sudo_user, plain, passwordless=False)

    async def describe(self, user_id: int, host: str, port: int) -> SshServerSudo | None:
        """The row without decrypting anything (for prefill: who, and whether a password is saved)."""
        return await self._row(user_id, host, port)

    async def list_sudo(self, user_id: int) -> Sequence[SshServerSudo]:
        """The user's rows, most recently updated first."""
        result = await self.session.execute(
            select(SshServerSudo)
            .where(SshServerSudo.user_id == user_id)
            .order_by(SshServerSudo.updated_at.desc(), SshServerSudo.id.desc())
        )
        return result.scalars().all()

    async def delete_sudo(self, user_id: int, sudo_id: int) -> bool:
        """Delete one of the user's rows; False when it is not theirs or does not exist."""
        result = await self.session.execute(
            delete(SshServerSudo).where(SshServerSudo.id == sudo_id, SshServerSudo.user_id == user_id)
        )
        return bool(getattr(result, "rowcount", 0))


class KnownHostRepository:
    """``known_hosts``: one fingerprint per user and host:port (each user's own trust)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int, host: str, port: int) -> KnownHost | None:
        return await self.session.get(KnownHost, (user_id, normalise_host(host), port))

    async def put(self, user_id: int, host: str, port: int, fingerprint: str) -> None:
        """Record the user's trust in the fingerprint; a different one replaces the old (first_seen anew).

        One upsert: two first logins to a new server at once (two tabs, a fleet's scan and its run) both
        record it; they used to race to insert the row, and the second answered 500."""
        now = datetime.now(UTC)
        row_key = (user_id, normalise_host(host), port)
        values: dict[str, object] = {
            "user_id": user_id,
            "host": row_key[1],
            "port": port,
            "fingerprint": fingerprint,
            "first_seen": now,
            "last_seen": now,
        }

        def update(excluded: Any) -> dict[str, object]:
            changed = KnownHost.fingerprint != excluded.fingerprint
            return {
                "fingerprint": excluded.fingerprint,
                "first_seen": case((changed, excluded.first_seen), else_=KnownHost.first_seen),
                "last_seen": excluded.last_seen,
            }

        keys = [KnownHost.user_id, KnownHost.host, KnownHost.port]
        await self.session.execute(_upsert(self.session, KnownHost, keys, values, update))
        if self.session.identity_map.get(identity_key(KnownHost, row_key)) is not None:
            await self.session.get(KnownHost, row_key, populate_existing=True)  # the row as now stored

    async def list(self, user_id: int | None) -> Sequence[tuple[KnownHost, str]]:
        """The user's records (``None``: everybody's, for admins), each with its user's name."""
        query = (
            select(KnownHost, User.username)
            .join(User, User.id == KnownHost.user_id)
            .order_by(KnownHost.host, KnownHost.port, User.username)
        )
        if user_id is not None:
            query = query.where(KnownHost.user_id == user_id)
        return [(row, name) for row, name in (await self.session.execute(query)).all()]

    async def delete(self, host: str, port: int, user_id: int | None) -> int:
        """Forget host:port for one user (``None``: for every user); the number of records removed."""
        statement = delete(KnownHost).where(KnownHost.host == normalise_host(host), KnownHost.port == port)
        if user_id is not None:
            statement = statement.where(KnownHost.user_id == user_id)
        result = await self.session.execute(statement)
        return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class SavedServer:
    """One of a user's servers: what is saved about it (sudo row, trusted key) and its last setup."""

    host: str
    port: int
    login: str | None
    sudo_user: str | None
    sudo_mode: str | None  # "password" | "passwordless" | None (nothing saved)
    host_key_fingerprint: str | None
    last_session_id: str | None
    last_status: str | None
    last_setup_at: datetime | None
    login_after: dict[str, Any] | None = None  # the last setup hardened SSH: how to log in from now on


@dataclass(frozen=True)
class SwitchedLogin:
    """The login a hardening left, to save in place of the old one (see ``switch_login``).

    ``sudo_user`` None: how the new login gets root is not known (no row is kept); ``sudo_password`` is
    '' for passwordless sudo, else the plain password (encrypted on its way in).
    """

    old_port: int
    port: int
    sudo_user: str | None
    sudo_password: str
    fingerprint: str | None

    def __repr__(self) -> str:
        return f"SwitchedLogin(port={self.port!r}, sudo_user={self.sudo_user!r})"


def _login_after(session: SetupSession | None) -> dict[str, Any] | None:
    """The new login an SSH hardening left (``SetupResult.login_after``: no secret), if any. The run may
    have failed in a later step: sshd moved all the same, and the saved rows moved with it."""
    result = session.result if session is not None else None
    value = result.get("login_after") if isinstance(result, dict) else None
    return value if isinstance(value, dict) and isinstance(value.get("username"), str) else None


class SavedServerRepository:
    """A user's saved servers: the union of their ``ssh_servers_sudo`` rows and known hosts, keyed by
    host:port. Every statement here is scoped by the owner's ``user_id``: no other user's row is read."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list(self, user_id: int) -> list[SavedServer]:
        """The user's servers, the most recently set up first (never a password, nor its ciphertext)."""
        sudo_rows = (
            await self.session.execute(
                select(
                    SshServerSudo.host,
                    SshServerSudo.ssh_port,
                    SshServerSudo.sudo_user,
                    SshServerSudo.sudo_password,
                ).where(SshServerSudo.user_id == user_id)
            )
        ).all()
        key_rows = (
            await self.session.execute(
                select(KnownHost.host, KnownHost.port, KnownHost.fingerprint).where(
                    KnownHost.user_id == user_id
                )
            )
        ).all()
        sudo = {(h, p): (u, "passwordless" if pw == "" else "password") for h, p, u, pw in sudo_rows}
        keys = {(h, p): f for h, p, f in key_rows}
        latest = await self._latest_sessions(user_id)
        servers = []
        for host, port in set(sudo) | set(keys):
            sudo_user, mode = sudo.get((host, port), (None, None))
            last = latest.get((host, port))
            login_after = _login_after(last)
            servers.append(
                SavedServer(
                    host=host,
                    port=port,
                    login=str(login_after["username"])
                    if login_after
                    else last.username
                    if last
                    else sudo_user,
                    sudo_user=sudo_user,
                    sudo_mode=mode,
                    host_key_fingerprint=keys.get((host, port)),
                    last_session_id=last.id if last else None,
                    last_status=last.status if last else None,
                    last_setup_at=last.created_at if last else None,
                    login_after=login_after,
                )
            )
        epoch = datetime.min.replace(tzinfo=UTC)
        servers.sort(key=lambda s: (s.last_setup_at or epoch, s.host, s.port), reverse=True)
        return servers

    async def _latest_sessions(self, user_id: int) -> dict[tuple[str, int], SetupSession]:
        """The user's newest session per host:port (host compared as saved rows spell it: lower case)."""
        rows = await setup_repository.latest_session_per_server(self.session, user_id)
        latest: dict[tuple[str, int], SetupSession] = {}
        for row in rows:
            latest[(normalise_host(row.host), row.port)] = row
        for row in list(latest.values()):  # a hardening that moved sshd: its entry moved with it
            after = _login_after(row)
            port = after.get("port") if after else None
            if not isinstance(port, int) or port == row.port:
                continue
            key = (normalise_host(row.host), port)
            there = latest.get(key)
            if there is None or there.created_at < row.created_at:
                latest[key] = row
        return latest

    async def forget(self, user_id: int, host: str, port: int) -> tuple[int, int, int]:
        """Delete the user's sudo row, known host and waiting admin keys for host:port; how many of each
        (sudo rows, known hosts, admin keys).

        The setup history stays: it is a record of what was done, not a saved credential.
        """
        host = normalise_host(host)
        sudo = await self._delete_sudo(user_id, host, port)
        keys = await KnownHostRepository(self.session).delete(host, port, user_id)
        admin_keys = await AdminKeyRepository(self.session).delete_for_server(user_id, host, port)
        return sudo, keys, admin_keys

    async def _delete_sudo(self, user_id: int, host: str, port: int) -> int:
        result = await self.session.execute(
            delete(SshServerSudo).where(
                SshServerSudo.user_id == user_id, SshServerSudo.host == host, SshServerSudo.ssh_port == port
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def switch_login(self, secretbox: SecretBox, user_id: int, host: str, login: SwitchedLogin) -> None:
        """After an SSH hardening: the saved entry of host:``login.old_port`` becomes the new login.

        The sudo row moves to ``login.port`` under ``login.sudo_user`` (its password encrypted anew, bound
        to the new port; '' for passwordless), or goes when the new login's sudo is not known. The trusted
        host key moves to the new port (same server, same key), so the next run is not asked again.
        """
        host = normalise_host(host)
        if login.port != login.old_port:
            await self._delete_sudo(user_id, host, login.old_port)
            await KnownHostRepository(self.session).delete(host, login.old_port, user_id)
        if login.sudo_user is None:
            await self._delete_sudo(user_id, host, login.port)
        else:
            await SudoRepository(self.session, secretbox).upsert_sudo(
                user_id, host, login.port, login.sudo_user, login.sudo_password
            )
        if login.fingerprint:
            await KnownHostRepository(self.session).put(user_id, host, login.port, login.fingerprint)
