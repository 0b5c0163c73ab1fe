"""Our SQL around procrastinate's tables: one transaction holds a session row, its sealed request and its job.

The server lock of PostgreSQL mode is the queue's own job ``lock`` (one name per server,
:func:`~setupwizard.setup.locks.lock_name`): a server is busy while a setup job with its lock is ``todo``
or ``doing``. Two requests for one server are serialized by a transaction-scoped advisory lock on that
name, so the check and the insert cannot interleave.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.db.models import SetupJobSecrets, SetupSession, utc_now

QUEUE = "setups"
TASK = "setupwizard.run_setup"
FLEET_TASK = "setupwizard.run_fleet_host"
"""A fleet's host (``fleets/host_job.py``): its job's ``lock`` is the fleet's lane, not the server."""


@dataclass(frozen=True)
class BusyServer:
    """The setup that holds a server: its session and owner (None when its row is gone already)."""

    session_id: str | None
    owner_id: int | None


async def lock_server(session: AsyncSession, name: str) -> None:
    """Serialize the transactions that start a setup on the server ``name`` (until commit or rollback)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 19))"), {"name": name})


async def busy_server(session: AsyncSession, name: str) -> BusyServer | None:
    """The setup job that holds the server ``name`` (``todo`` or ``doing``), or None when it is free."""
    job_id = (
        await session.execute(
            text(
                "SELECT id FROM procrastinate_jobs WHERE lock = :name AND task_name = :task "
                "AND status IN ('todo', 'doing') ORDER BY id LIMIT 1"
            ),
            {"name": name, "task": TASK},
        )
    ).scalar_one_or_none()
    if job_id is None:
        return None
    statement = (
        select(SetupSession.id, SetupSession.owner_id)
        .join(SetupJobSecrets, SetupJobSecrets.session_id == SetupSession.id)
        .where(SetupJobSecrets.job_id == job_id)
    )
    row = (await session.execute(statement)).first()
    return BusyServer(row[0], row[1]) if row is not None else BusyServer(None, None)


async def defer_job(
    session: AsyncSession,
    session_id: str,
    lock: str,
    *,
    task: str = TASK,
    args: dict[str, object] | None = None,
) -> int:
    """Queue the setup job of ``session_id`` (its only argument, unless ``args``) in the caller's
    transaction; its id.

    procrastinate's own function does the insert (and its NOTIFY, sent to the workers at commit).
    """
    arguments = args if args is not None else {"session_id": session_id}
    job_id = (
        await session.execute(
            text(
                "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW("
                "CAST(:queue AS varchar), CAST(:task AS varchar), 0, CAST(:lock AS text), NULL, "
                "CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1]))"
            ),
            {"queue": QUEUE, "task": task, "lock": lock, "args": json.dumps(arguments)},
        )
    ).scalar_one()
    return int(job_id)


async def fleet_host_on(session: AsyncSession, host: str, port: int) -> BusyServer | None:
    """A fleet host's setup that holds the server (its session running, its job ``todo`` or ``doing``):
    a fleet's job is locked by its lane, so :func:`busy_server` does not see it."""
    row = (
        await session.execute(
            text(
                "SELECT s.id, s.owner_id FROM setup_sessions s "
                "JOIN setup_job_secrets j ON j.session_id = s.id "
                "JOIN procrastinate_jobs q ON q.id = j.job_id "
                "WHERE s.host = :host AND s.port = :port AND s.status = 'running' "
                "AND q.task_name = :task AND q.status IN ('todo', 'doing') LIMIT 1"
            ),
            {"host": host, "port": port, "task": FLEET_TASK},
        )
    ).first()
    return BusyServer(row[0], row[1]) if row is not None else None


async def restart_clock(session: AsyncSession, session_id: str) -> None:
    """A fleet host's run starts now: its row (written when the fleet was queued) says so."""
    await session.execute(
        update(SetupSession).where(SetupSession.id == session_id).values(created_at=utc_now())
    )


async def store_sealed(session: AsyncSession, session_id: str, job_id: int, sealed: str) -> None:
    """Keep the sealed request of a session's job until the job ends."""
    session.add(SetupJobSecrets(session_id=session_id, job_id=job_id, sealed=sealed))
    await session.flush()


async def sealed_request(session: AsyncSession, session_id: str) -> SetupJobSecrets | None:
    """The sealed request of a session's job (None once the job ended)."""
    return await session.get(SetupJobSecrets, session_id)


async def job_of(session: AsyncSession, session_id: str) -> int | None:
    """The queue's job id of a session still queued or running, or None."""
    statement = select(SetupJobSecrets.job_id).where(SetupJobSecrets.session_id == session_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def forget_request(session: AsyncSession, session_id: str) -> None:
    """The job ended: its sealed request goes."""
    await session.execute(delete(SetupJobSecrets).where(SetupJobSecrets.session_id == session_id))
