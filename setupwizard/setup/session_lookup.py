"""The live log's view of setup sessions (:class:`~setupwizard.live.sessions.SessionLookup`), read through
this package's repository: the owner check and the row lookups the progress socket and its feed need."""

from __future__ import annotations

from collections.abc import Sequence

from setupwizard.db.database import Database
from setupwizard.db.models import SetupSession
from setupwizard.live.sessions import SessionState
from setupwizard.provisioning.result import SessionStatus
from setupwizard.setup import repository


def session_state(row: SetupSession) -> SessionState:
    """What the live log needs of a session row."""
    return SessionState(
        session_id=str(row.id),
        owner_id=row.owner_id,
        running=row.status == SessionStatus.RUNNING,
        last_seq=row.last_seq,
    )


class DatabaseSessions:
    """Session rows from the database, as :class:`SessionState`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def owned(self, session_id: str, owner_id: int) -> SessionState:
        async with self.db.session() as session:
            return session_state(await repository.get_owned_session(session, session_id, owner_id))

    async def state(self, session_id: str) -> SessionState | None:
        async with self.db.session() as session:
            row = await repository.get_session(session, session_id)
        return None if row is None else session_state(row)

    async def existing(self, session_ids: Sequence[str]) -> list[SessionState]:
        async with self.db.session() as session:
            return [session_state(row) for row in await repository.sessions_with_ids(session, session_ids)]
