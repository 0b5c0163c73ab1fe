"""Queueing one fleet host (PostgreSQL mode): in one transaction, as a single setup (``jobs/launcher.py``),
the server's advisory lock and busy check, the host's ``running`` session row, its job (locked by the
fleet's lane) and its sealed request. Used at the POST, at a retry and for the rerun of a dead worker's host.
"""

from __future__ import annotations

from setupwizard.core.secretbox import SecretBox
from setupwizard.db.database import Database
from setupwizard.db.models import SetupSession
from setupwizard.fleets.host_job import lane_lock
from setupwizard.jobs import repository as jobs
from setupwizard.jobs.sealing import seal
from setupwizard.setup import repository
from setupwizard.setup.locks import lock_name
from setupwizard.setup.running import PreparedSetup, SetupRunningError
from setupwizard.setup.seq_ceiling import FIRST_RESERVATION


async def queue_host(
    db: Database, box: SecretBox, prepared: PreparedSetup, fleet_id: str, position: int, parallel: int
) -> SetupSession:
    """Queue the host's job; its session row. 409 ``setup_running`` when its server is busy."""
    target = prepared.target
    name = lock_name(target.host, target.port)
    sealed = seal(box, prepared)
    async with db.session() as session:
        await jobs.lock_server(session, name)
        busy = await jobs.busy_server(session, name) or await jobs.fleet_host_on(
            session, target.host, target.port
        )
        if busy is not None:
            mine = busy.session_id if busy.owner_id == prepared.owner_id else None
            raise SetupRunningError(target.host, target.port, mine)
        row = await repository.insert_session(
            session,
            session_id=prepared.session_id,
            owner_id=prepared.owner_id,
            host=target.host,
            port=target.port,
            username=target.username,
            seq_ceiling=FIRST_RESERVATION,
        )
        arguments = {"fleet_id": fleet_id, "position": position, "session_id": prepared.session_id}
        job_id = await jobs.defer_job(
            session,
            prepared.session_id,
            lane_lock(fleet_id, position, parallel),
            task=jobs.FLEET_TASK,
            args=arguments,
        )
        await jobs.store_sealed(session, prepared.session_id, job_id, sealed)
    return row
