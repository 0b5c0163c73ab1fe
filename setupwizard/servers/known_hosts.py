"""The engine's known-hosts store backed by the database: one per user (implements ``KnownHostStore``)."""

from __future__ import annotations

from setupwizard.db.database import Database
from setupwizard.servers.repository import KnownHostRepository


class DatabaseKnownHosts:
    """One user's trusted host keys in the ``known_hosts`` table; each call is its own short transaction.

    The engine records a key only after the login worked, so what is here is what this user trusted.
    """

    def __init__(self, db: Database, user_id: int) -> None:
        self.db = db
        self.user_id = user_id

    async def get(self, host: str, port: int) -> str | None:
        """The fingerprint this user trusts, or None when the host is new to them."""
        async with self.db.session() as session:
            row = await KnownHostRepository(session).get(self.user_id, host, port)
            return row.fingerprint if row else None

    async def put(self, host: str, port: int, fingerprint: str) -> None:
        """Record (or replace) the fingerprint for this user."""
        async with self.db.session() as session:
            await KnownHostRepository(session).put(self.user_id, host, port, fingerprint)


class DatabaseKnownHostBook:
    """Every user's known hosts: :meth:`for_user` gives the store a setup of that user runs with."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def for_user(self, user_id: int) -> DatabaseKnownHosts:
        """The store of ``user_id``'s own trust."""
        return DatabaseKnownHosts(self.db, user_id)
