"""Recording to the audit trail from the web edge: one short transaction of its own per event.

Its own transaction, because the events that matter most happen when the request's own transaction is
rolled back (a failed login, a refused setup). What is recorded is names, addresses, hosts and outcomes:
never a password, key, passphrase or token.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from setupwizard.audit.repository import AuditRepository
from setupwizard.db.database import Database
from setupwizard.db.models import User

log = logging.getLogger(__name__)


class AuditAction(StrEnum):
    """The actions the trail records (stored as these strings)."""

    LOGIN = "login"
    LOGOUT = "logout"
    PASSWORD_CHANGE = "password.change"
    USER_CREATE = "user.create"
    SETUP_START = "setup.start"
    SETUP_CANCEL = "setup.cancel"
    SETUP_CONFIRM_LOGIN = "setup.confirm_login"
    SETUP_DELETE = "setup.delete"
    TEST_CONNECTION = "setup.test_connection"
    SUDO_SAVE = "sudo.save"
    SUDO_DELETE = "sudo.delete"
    KNOWN_HOST_DELETE = "known_host.delete"
    KNOWN_HOST_TRUST = "known_host.trust"  # a changed host key trusted (the old and the new fingerprint)
    TOKEN_CREATE = "token.create"
    TOKEN_REVOKE = "token.revoke"
    TOKEN_USE = "token.use"  # a personal access token used from an address it was never used from
    KEY_SAVE = "key.save"  # a private key saved in the vault (its name and fingerprint, never the key)
    KEY_DELETE = "key.delete"
    NOTIFY_TARGET_SAVE = "notify.target_save"  # never the URL: it holds the service's tokens
    NOTIFY_TARGET_DELETE = "notify.target_delete"
    ADMIN_KEY_DOWNLOAD = "admin_key.download"  # the one-time download of a generated admin private key
    FLEET_START = "fleet.start"  # detail: fleet id, hosts, parallel, accept_new_host_keys
    FLEET_CANCEL = "fleet.cancel"
    FLEET_RETRY = "fleet.retry"
    FLEET_TEST = "fleet.test_connections"


def client_address(conn: HTTPConnection) -> str:
    """The client's address as the service sees it (the proxy's word only from trusted proxies)."""
    return conn.client.host if conn.client else ""


def server_target(username: object, host: object, port: object) -> str:
    """``user@host:port`` from request fields (any of them may be missing or of a wrong type)."""
    who = f"{username}@" if isinstance(username, str) and username else ""
    return f"{who}{host if isinstance(host, str) else ''}:{port if isinstance(port, int) else 22}"


async def record_in(
    session: AsyncSession,
    conn: HTTPConnection | None,
    action: AuditAction,
    *,
    user: User | None,
    actor: str | None = None,
    outcome: str = "ok",
    target: str = "",
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one event in the caller's transaction: it is kept exactly when the change it tells of is."""
    await AuditRepository(session).add(
        action=action.value,
        actor_id=user.id if user else None,
        actor=actor if actor is not None else (user.username if user else ""),
        outcome=outcome,
        target=target,
        address=client_address(conn) if conn is not None else "",
        detail=detail,
        at=at,
    )


async def record(
    db: Database,
    conn: HTTPConnection | None,
    action: AuditAction,
    *,
    user: User | None,
    actor: str | None = None,
    outcome: str = "ok",
    target: str = "",
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one event in a short transaction of its own (for refusals, whose request rolls back).

    A trail that cannot be written never fails the action itself: the failure is logged.
    """
    try:
        async with db.session() as session:
            await record_in(
                session,
                conn,
                action,
                user=user,
                actor=actor,
                outcome=outcome,
                target=target,
                detail=detail,
                at=at,
            )
    except Exception:
        log.exception("Could not write the audit event %s (%s)", action.value, outcome)
