"""What the setup service is given, as interfaces: the engine, the saved sudo rows, the login switch after a
hardening, the admin-key handover and the end-of-session notifier. The lifespan (``setup/lifespan.py``)
passes in the real ones; the tests pass small fakes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from setupwizard.provisioning.events import EventEmitter, SessionEvent
from setupwizard.provisioning.known_hosts import KnownHostStore
from setupwizard.provisioning.result import SetupResult
from setupwizard.provisioning.target import SetupOptions, Target
from setupwizard.servers.repository import SwitchedLogin
from setupwizard.setup.running import PreparedSetup, RunningSetup


class SetupRunner(Protocol):
    """The engine's ``run_setup``."""

    def __call__(
        self,
        target: Target,
        options: SetupOptions,
        emitter: EventEmitter,
        known_hosts: KnownHostStore,
        *,
        cancel: asyncio.Event,
        connect_timeout: float,
        keepalive_interval: float,
    ) -> Awaitable[SetupResult]: ...


class SudoStore(Protocol):
    """Saved sudo credentials (``ssh_servers_sudo``), decrypted on the way out."""

    async def saved_password(self, user_id: int, host: str, port: int, sudo_user: str) -> str | None:
        """The saved sudo password of ``sudo_user`` on the server ('' when passwordless), or None."""
        ...

    async def save(self, user_id: int, host: str, port: int, sudo_user: str, sudo_password: str) -> None:
        """Upsert the row ('' for passwordless sudo; the store encrypts anything else)."""
        ...


class LoginSwitch(Protocol):
    """Moves a saved server entry (sudo row, trusted host key) to the login an SSH hardening left."""

    async def switch(self, user_id: int, host: str, login: SwitchedLogin) -> None:
        """The entry of host:``login.old_port`` becomes ``login``, in one transaction."""
        ...


class KeyHandover(Protocol):
    """Keeps a generated admin private key for one download by its owner (``setup/admin_keys.py``)."""

    async def offer(
        self,
        session_id: str,
        owner_id: int,
        host: str,
        port: int,
        username: str,
        private_key: str,
        keep: bool = False,
    ) -> dict[str, Any]:
        """Store the key encrypted (``keep``: also in the owner's vault); what the session's result says
        about it (no secret)."""
        ...


class EndNotifier(Protocol):
    """Tells the owner's notification targets that a session ended (``notify/sender.py``)."""

    def session_ended(
        self,
        session_id: str,
        owner_id: int,
        server: str,
        complete: SessionEvent,
        logs: Sequence[str],
        redact: Callable[[str], str],
    ) -> None:
        """Hand the end over and return at once; never raises (a notification never fails a setup)."""
        ...


Validator = Callable[[Target, SetupOptions], None]


class SetupQueue(Protocol):
    """A job queue that runs setups (PostgreSQL mode: :class:`setupwizard.jobs.launcher.JobLauncher`)."""

    async def launch(self, prepared: PreparedSetup, *, wait: bool) -> RunningSetup:
        """Record the ``running`` session and defer its job (one transaction; 409 ``setup_running`` when
        the server is busy). The returned run's ``task`` ends with the session's response when ``wait``
        (None otherwise); the run itself happens in whichever worker takes the job."""
        ...

    async def cancel(self, session_id: str) -> None:
        """Stop the session's job wherever it is: queued (it never starts) or running (on any worker)."""
        ...
