"""SQL of the fleet tables: fleets, their hosts (each with its session) and their progress events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.core.errors import NotFoundError
from setupwizard.db.models import Fleet, FleetEvent, FleetHost, utc_now


async def insert_fleet(session: AsyncSession, fleet: Fleet, hosts: Sequence[FleetHost]) -> None:
    """Add a fleet and its hosts (flushed)."""
    session.add(fleet)
    await session.flush()
    session.add_all(hosts)
    await session.flush()


async def owned_fleet(session: AsyncSession, fleet_id: str, owner_id: int) -> Fleet:
    """The caller's fleet (404 for any other, whoever's it is)."""
    row = await session.get(Fleet, fleet_id)
    if row is None or row.owner_id != owner_id:
        raise NotFoundError("No such fleet", code="fleet_not_found")
    return row


async def fleet_cancelled(session: AsyncSession, fleet_id: str) -> bool:
    """Whether the fleet was cancelled (by any process)."""
    return bool(await session.scalar(select(Fleet.cancelled).where(Fleet.id == fleet_id)))


async def get_fleet(session: AsyncSession, fleet_id: str) -> Fleet | None:
    """A fleet by id, whoever's."""
    return await session.get(Fleet, fleet_id)


async def list_fleets(session: AsyncSession, owner_id: int, limit: int, offset: int) -> Sequence[Fleet]:
    """The owner's fleets, newest first."""
    statement = (
        select(Fleet)
        .where(Fleet.owner_id == owner_id)
        .order_by(Fleet.created_at.desc(), Fleet.id)
        .offset(offset)
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


async def host_counts(session: AsyncSession, fleet_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Hosts per status of each fleet."""
    counts: dict[str, dict[str, int]] = {fleet_id: {} for fleet_id in fleet_ids}
    if not fleet_ids:
        return counts
    statement = (
        select(FleetHost.fleet_id, FleetHost.status, func.count())
        .where(FleetHost.fleet_id.in_(fleet_ids))
        .group_by(FleetHost.fleet_id, FleetHost.status)
    )
    for fleet_id, status, count in (await session.execute(statement)).all():
        counts[fleet_id][status] = count
    return counts


async def hosts_of(session: AsyncSession, fleet_id: str) -> Sequence[FleetHost]:
    """The fleet's hosts in the request's order."""
    statement = select(FleetHost).where(FleetHost.fleet_id == fleet_id).order_by(FleetHost.position)
    return (await session.scalars(statement)).all()


async def host_of_session(session: AsyncSession, session_id: str) -> FleetHost | None:
    """The fleet host whose current session is ``session_id``, if any."""
    statement = select(FleetHost).where(FleetHost.session_id == session_id)
    return (await session.scalars(statement)).first()


async def update_host(session: AsyncSession, fleet_id: str, position: int, **values: Any) -> None:
    """Change columns of one host."""
    await session.execute(
        update(FleetHost)
        .where(FleetHost.fleet_id == fleet_id, FleetHost.position == position)
        .values(**values)
    )


async def add_event(session: AsyncSession, fleet_id: str, data: dict[str, Any]) -> int:
    """Append one progress event (numbered after the fleet's last, atomically); returns its seq."""
    seq = await session.scalar(
        update(Fleet)
        .where(Fleet.id == fleet_id)
        .values(last_seq=Fleet.last_seq + 1)
        .returning(Fleet.last_seq)
    )
    if seq is None:
        raise NotFoundError("No such fleet", code="fleet_not_found")
    session.add(FleetEvent(fleet_id=fleet_id, seq=seq, data={**data, "seq": seq}))
    await session.flush()
    return int(seq)


async def events_after(
    session: AsyncSession, fleet_id: str, since: int, limit: int = 500
) -> list[dict[str, Any]]:
    """The fleet's progress events with seq above ``since``, in order."""
    statement = (
        select(FleetEvent.data)
        .where(FleetEvent.fleet_id == fleet_id, FleetEvent.seq > since)
        .order_by(FleetEvent.seq)
        .limit(limit)
    )
    return [dict(data) for data in (await session.scalars(statement)).all()]


async def set_fleet(session: AsyncSession, fleet_id: str, **values: Any) -> None:
    """Change columns of one fleet."""
    await session.execute(update(Fleet).where(Fleet.id == fleet_id).values(**values))


async def end_fleet(session: AsyncSession, fleet_id: str, status: str, at: datetime | None = None) -> None:
    """The fleet ended (its last host did)."""
    await set_fleet(session, fleet_id, status=status, finished_at=at or utc_now())


async def unfinished_fleets(session: AsyncSession) -> Sequence[Fleet]:
    """Fleets still marked running (after a crash: their scheduler is gone)."""
    return (await session.scalars(select(Fleet).where(Fleet.status == "running"))).all()


async def failures(session: AsyncSession, fleet_id: str) -> int:
    """Hosts of the fleet that ended failed or interrupted (what ``stop_after_failures`` counts)."""
    statement = select(func.count()).where(
        FleetHost.fleet_id == fleet_id, FleetHost.status.in_(("failed", "interrupted"))
    )
    return int(await session.scalar(statement) or 0)


async def end_if_done(session: AsyncSession, fleet_id: str) -> str | None:
    """PostgreSQL, hosts run by any worker: once no host is queued or running, the fleet ends (``done``,
    or ``cancelled``); the status it got, or None (hosts left, or another worker ended it). Serialized
    per fleet by a transaction-scoped advisory lock, so the last two hosts to end cannot both miss it."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 19))"), {"name": f"fleet:{fleet_id}"}
    )
    fleet = await session.get(Fleet, fleet_id, populate_existing=True)
    if fleet is None or fleet.status != "running":
        return None
    left = await session.scalar(
        select(func.count()).where(
            FleetHost.fleet_id == fleet_id, FleetHost.status.in_(("queued", "running"))
        )
    )
    if left:
        return None
    status = "cancelled" if fleet.cancelled else "done"
    await end_fleet(session, fleet_id, status)
    return status
