"""Every SQL statement about setup sessions (their rows in ``setup_sessions``). Callers own the transaction.

A session's events are the event log's: :mod:`setupwizard.live.store` writes and reads them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.core.errors import ForeignSessionError, NotFoundError
from setupwizard.db.models import AdminKeyHandover, SetupSession, utc_now
from setupwizard.provisioning.result import SessionStatus


async def insert_session(
    session: AsyncSession,
    *,
    session_id: str,
    owner_id: int,
    host: str,
    port: int,
    username: str,
    seq_ceiling: int = 0,
) -> SetupSession:
    """Add a ``running`` session row (flushed, so a duplicate id fails here), with ``seq_ceiling`` seqs
    reserved for live publishing."""
    row = SetupSession(
        id=session_id,
        owner_id=owner_id,
        host=host,
        port=port,
        username=username,
        status=SessionStatus.RUNNING,
        message="",
        created_at=utc_now(),
        last_seq=0,
        seq_ceiling=seq_ceiling,
    )
    session.add(row)
    await session.flush()
    return row


_SESSIONS: Table = SetupSession.__table__  # type: ignore[assignment]  # a Table, typed FromClause
_RAISE_CEILING = (
    update(_SESSIONS)
    .where(_SESSIONS.c.id == bindparam("sid"), _SESSIONS.c.seq_ceiling < bindparam("ceiling"))
    .values(seq_ceiling=bindparam("ceiling"))
)


async def raise_seq_ceilings(session: AsyncSession, ceilings: Mapping[str, int]) -> None:
    """Reserve the seqs up to each session's ceiling for live publishing (never lowers one): one statement
    for all of them (executemany)."""
    if ceilings:
        rows = [{"sid": session_id, "ceiling": ceiling} for session_id, ceiling in ceilings.items()]
        await session.execute(_RAISE_CEILING, rows)


async def get_session(session: AsyncSession, session_id: str) -> SetupSession | None:
    """The session row, or None."""
    return await session.get(SetupSession, session_id, populate_existing=True)


async def get_owned_session(session: AsyncSession, session_id: str, owner_id: int) -> SetupSession:
    """The session row if ``owner_id`` owns it: the one owner check of every route, socket and service.

    Raises :class:`NotFoundError` (404 ``session_not_found``) when there is no such session, and its
    subclass :class:`ForeignSessionError` when another user owns it (the same answer, unless the caller
    tells them apart, as the WebSocket's 4403 does).
    """
    row = await get_session(session, session_id)
    if row is None:
        raise NotFoundError("没有这个设置会话")  # code not_found, as every 404 (docs/api.md)
    if row.owner_id != owner_id:
        raise ForeignSessionError("没有这个设置会话")
    return row


async def sessions_with_ids(session: AsyncSession, session_ids: Sequence[str]) -> Sequence[SetupSession]:
    """The rows of those of ``session_ids`` that exist (one ``IN (…)``)."""
    return (await session.scalars(select(SetupSession).where(SetupSession.id.in_(session_ids)))).all()


async def latest_session_per_server(session: AsyncSession, owner_id: int) -> Sequence[SetupSession]:
    """The owner's newest session per host:port (host compared in lower case, as saved rows spell it)."""
    newest = (
        select(
            func.lower(SetupSession.host).label("host"),
            SetupSession.port,
            func.max(SetupSession.created_at).label("at"),
        )
        .where(SetupSession.owner_id == owner_id)
        .group_by(func.lower(SetupSession.host), SetupSession.port)
        .subquery()
    )
    return (
        (
            await session.execute(
                select(SetupSession)
                .join(
                    newest,
                    (func.lower(SetupSession.host) == newest.c.host)
                    & (SetupSession.port == newest.c.port)
                    & (SetupSession.created_at == newest.c.at),
                )
                .where(SetupSession.owner_id == owner_id)
            )
        )
        .scalars()
        .all()
    )


async def running_session_on(session: AsyncSession, host: str, port: int) -> SetupSession | None:
    """The newest ``running`` session on host:port, or None."""
    statement = (
        select(SetupSession)
        .where(
            SetupSession.status == SessionStatus.RUNNING,
            SetupSession.host == host,
            SetupSession.port == port,
        )
        .order_by(SetupSession.created_at.desc())
        .limit(1)
    )
    return (await session.scalars(statement)).first()


async def list_sessions(session: AsyncSession, owner_id: int, limit: int = 100) -> Sequence[SetupSession]:
    """The owner's sessions, newest first."""
    statement = (
        select(SetupSession)
        .where(SetupSession.owner_id == owner_id)
        .order_by(SetupSession.created_at.desc(), SetupSession.id)
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


async def running_sessions(session: AsyncSession) -> Sequence[SetupSession]:
    """Every session whose row still says ``running``."""
    statement = (
        select(SetupSession)
        .where(SetupSession.status == SessionStatus.RUNNING)
        .order_by(SetupSession.created_at)
    )
    return (await session.scalars(statement)).all()


async def finish_session(
    session: AsyncSession,
    session_id: str,
    *,
    status: str,
    message: str,
    result: dict[str, Any] | None,
    finished_at: datetime | None = None,
) -> None:
    """Record how the session ended."""
    await session.execute(
        update(SetupSession)
        .where(SetupSession.id == session_id)
        .values(status=status, message=message, result=result, finished_at=finished_at or utc_now())
    )


class AdminKeyRepository:
    """SQL about ``admin_key_handovers``: the generated admin keys waiting for their one download."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: AdminKeyHandover) -> None:
        self.session.add(row)
        await self.session.flush()

    async def take(self, session_id: str, owner_id: int, now: datetime) -> tuple[str, str] | None:
        """Delete the owner's unexpired row of the session; its (username, ciphertext), or None."""
        statement = (
            delete(AdminKeyHandover)
            .where(
                AdminKeyHandover.session_id == session_id,
                AdminKeyHandover.owner_id == owner_id,
                AdminKeyHandover.expires_at > now,
            )
            .returning(AdminKeyHandover.username, AdminKeyHandover.private_key)
        )
        row = (await self.session.execute(statement)).first()
        return (str(row[0]), str(row[1])) if row is not None else None

    async def delete_for_server(self, owner_id: int, host: str, port: int) -> int:
        """Delete the owner's waiting keys for host:port (the server is forgotten); how many."""
        result = await self.session.execute(
            delete(AdminKeyHandover).where(
                AdminKeyHandover.owner_id == owner_id,
                AdminKeyHandover.host == host,
                AdminKeyHandover.port == port,
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def purge_expired(self, now: datetime) -> int:
        """Delete every expired row (of any owner); how many."""
        result = await self.session.execute(
            delete(AdminKeyHandover).where(AdminKeyHandover.expires_at <= now)
        )
        return int(getattr(result, "rowcount", 0) or 0)
