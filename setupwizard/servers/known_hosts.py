"""The engine's known-hosts store backed by the database (implements ``KnownHostStore``)."""

from __future__ import annotations

from setupwizard.db.database import Database
from setupwizard.servers.repository import KnownHostRepository


class DatabaseKnownHosts:
    """Host key fingerprints in the ``known_hosts`` table; each call is its own short transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, host: str, port: int) -> str | None:
        """The recorded fingerprint, or None when the host is new."""
        async with self.db.session() as session:
            row = await KnownHostRepository(session).get(host, port)
            return row.fingerprint if row else None

    async def put(self, host: str, port: int, fingerprint: str) -> None:
        """Record (or replace) the fingerprint."""
        async with self.db.session() as session:
            await KnownHostRepository(session).put(host, port, fingerprint)
