"""A setup session as the service tracks it while it runs, and the 409 of a busy server."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from setupwizard.core.errors import ConflictError
from setupwizard.provisioning.messages import msg
from setupwizard.provisioning.target import SetupOptions, Target
from setupwizard.setup.schemas import AutoSetupRequest, SetupResponse


class SetupRunningError(ConflictError):
    """409 ``setup_running``: the server is busy; ``session_id`` names that run when it is the caller's."""

    def __init__(self, host: str, port: int, session_id: str | None) -> None:
        said = msg("error.setup_running", where=f"{host}:{port}")
        super().__init__(str(said), code="setup_running")
        self.said = said
        self.session_id = session_id

    def to_dict(self) -> dict[str, str | None]:
        """The usual error body plus ``session_id`` (null when the run is another user's or unknown)."""
        return {**super().to_dict(), "session_id": self.session_id}


@dataclass
class RunningSetup:
    """A session running in this process."""

    session_id: str
    owner_id: int
    host: str
    port: int
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    confirm: asyncio.Event = field(default_factory=asyncio.Event)  # confirm-or-revert: the person said yes
    awaiting_confirm: bool = False  # the run shows an ssh line and waits for the confirmation
    logs: list[str] = field(default_factory=list)
    task: asyncio.Task[SetupResponse] | None = None
    save_sudo_password: bool = True  # false: the person chose not to keep the sudo password
    fenced: bool = False  # its worker lost PostgreSQL (jobs/fence.py): stop, write and publish nothing more


@dataclass
class PreparedSetup:
    """A checked request, ready to run: the engine's target (saved sudo password filled in) and options."""

    session_id: str
    owner_id: int
    target: Target
    options: SetupOptions
    save_sudo_password: bool = True
    request: AutoSetupRequest | None = None  # as it came (a queue job seals it: setupwizard.jobs.sealing)
    saved_sudo_password: str | None = None  # the saved one filled in, if any
    attempt: int = 1  # a queue job's retry after its worker died runs the request again as attempt 2
    request_id: str | None = None  # the HTTP request that asked for it (log lines name it in a worker too)
