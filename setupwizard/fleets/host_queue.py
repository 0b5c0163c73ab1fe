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
from setupwizard.jobs.launcher import claim_server
from setupwizard.jobs.sealing import seal
from setupwizard.setup.running import PreparedSetup


async def queue_host(
    db: Database, box: SecretBox, prepared: PreparedSetup, fleet_id: str, position: int, parallel: int
) -> SetupSession:
    """Queue the host's job; its session row. 409 ``setup_running`` when its server is busy."""
    sealed = seal(box, prepared)
    async with db.session() as session:
        row = await claim_server(session, prepared)
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
