"""SQL of the history: the setup sessions a person may read, filtered and paged on the server.

``GET /api/setup/sessions`` asks :func:`find_sessions`: the caller's own sessions, or (an admin asking
for ``everyone``) every user's, with who ran each. Filters: status, one server (host and port), a part
of the host name, and a start-time range; newest first, ``offset``/``limit`` pages, and the total.
An admin may also open any user's session (:func:`readable_session`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.core.errors import NotFoundError
from setupwizard.db.models import SetupSession, User
from setupwizard.setup import repository


@dataclass(frozen=True)
class HistoryFilter:
    """What to list. ``owner_id`` None: every user's sessions (admins only: the route checks)."""

    owner_id: int | None
    status: str | None = None
    host: str | None = None
    port: int | None = None
    search: str | None = None
    started_from: datetime | None = None
    started_before: datetime | None = None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _where(wanted: HistoryFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if wanted.owner_id is not None:
        where.append(SetupSession.owner_id == wanted.owner_id)
    if wanted.status:
        where.append(SetupSession.status == wanted.status)
    if wanted.host:
        where.append(SetupSession.host == wanted.host)
    if wanted.port is not None:
        where.append(SetupSession.port == wanted.port)
    if wanted.search:
        # a part of the host name, any case; LIKE's own wildcards in the search are taken literally
        escaped = wanted.search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(func.lower(SetupSession.host).like(f"%{escaped}%", escape="\\"))
    if wanted.started_from is not None:
        where.append(SetupSession.created_at >= _utc(wanted.started_from))
    if wanted.started_before is not None:
        where.append(SetupSession.created_at < _utc(wanted.started_before))
    return where


async def find_sessions(
    session: AsyncSession, wanted: HistoryFilter, *, offset: int, limit: int
) -> tuple[Sequence[tuple[SetupSession, str]], int]:
    """One page of the sessions ``wanted`` names, newest first, each with its owner's name; and how
    many there are in all."""
    where = _where(wanted)
    total = await session.scalar(select(func.count()).select_from(SetupSession).where(*where))
    statement = (
        select(SetupSession, User.username)
        .join(User, User.id == SetupSession.owner_id)
        .where(*where)
        .order_by(SetupSession.created_at.desc(), SetupSession.id)
        .offset(offset)
        .limit(limit)
    )
    rows = [(row, name) for row, name in (await session.execute(statement)).all()]
    return rows, int(total or 0)


async def readable_session(session: AsyncSession, session_id: str, user: User) -> SetupSession:
    """The session if ``user`` may read it: its owner, or an admin (404 otherwise)."""
    if not user.is_admin:
        return await repository.get_owned_session(session, session_id, user.id)
    row = await repository.get_session(session, session_id)
    if row is None:
        raise NotFoundError("没有这个设置会话")
    return row
