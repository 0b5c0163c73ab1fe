"""The service's way to switch a saved server entry to the login an SSH hardening left."""

from __future__ import annotations

from setupwizard.core.secretbox import SecretBox
from setupwizard.db.database import Database
from setupwizard.servers.repository import SavedServerRepository, SwitchedLogin


class DatabaseLoginSwitch:
    """Moves ``ssh_servers_sudo`` and ``known_hosts`` rows in one transaction (both move, or neither)."""

    def __init__(self, db: Database, secretbox: SecretBox) -> None:
        self.db = db
        self.secretbox = secretbox

    async def switch(self, user_id: int, host: str, login: SwitchedLogin) -> None:
        """The entry of host:``login.old_port`` becomes ``login`` (``SavedServerRepository.switch_login``)."""
        async with self.db.session() as session:
            await SavedServerRepository(session).switch_login(self.secretbox, user_id, host, login)
