"""What the steps of one setup share: the target, the open connection, and what was learned."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from setupwizard.provisioning.errors import CommandFailedError, ConnectError
from setupwizard.provisioning.events import EventEmitter, EventType, Level
from setupwizard.provisioning.known_hosts import KnownHostStore
from setupwizard.provisioning.plan import PlanSettings, StepCancelled
from setupwizard.provisioning.remote import CommandResult, Remote, StepRef, emit_in_step
from setupwizard.provisioning.result import SudoCredential
from setupwizard.provisioning.target import SetupOptions, Target


@dataclass(frozen=True)
class OSInfo:
    """What /etc/os-release says."""

    id: str
    id_like: str
    pretty_name: str
    version_id: str

    @property
    def supported(self) -> bool:
        """Debian and Ubuntu are supported."""
        return self.id in {"debian", "ubuntu"}


@dataclass
class StepContext:
    """Mutable state of one setup run, handed to every step action."""

    target: Target
    options: SetupOptions
    settings: PlanSettings
    emitter: EventEmitter
    known_hosts: KnownHostStore
    cancel: asyncio.Event
    connect_timeout: float
    keepalive_interval: float
    remote: Remote | None = None
    fingerprint: str | None = None
    os: OSInfo | None = None
    sudo: SudoCredential | None = None
    ssh_port: int | None = None
    current_step: StepRef | None = None

    @property
    def shell(self) -> Remote:
        """The open remote runner (steps after ``connect`` may rely on it)."""
        if self.remote is None:
            raise ConnectError("还没有连接到服务器")
        return self.remote

    async def say(self, message: str, level: Level = Level.INFO) -> None:
        """Emit an ``info`` line for the current step."""
        await emit_in_step(self.emitter, self.current_step, EventType.INFO, level, message)

    async def run(
        self, script: str, *, privileged: bool = True, quiet: bool = False, time_limit: float | None = None
    ) -> CommandResult:
        """Run a command; raise :class:`StepCancelled` if the user cancelled meanwhile."""
        result = await self.shell.run(script, privileged=privileged, quiet=quiet, time_limit=time_limit)
        if result.cancelled:
            raise StepCancelled()
        return result

    async def must(
        self,
        script: str,
        what: str,
        *,
        privileged: bool = True,
        quiet: bool = False,
        time_limit: float | None = None,
    ) -> CommandResult:
        """Like :meth:`run`, but a non-zero exit raises :class:`CommandFailedError` with the output tail."""
        result = await self.run(script, privileged=privileged, quiet=quiet, time_limit=time_limit)
        if not result.ok:
            tail = [self.emitter.redact(line) for line in result.tail]
            why = "超时" if result.timed_out else f"退出码 {result.exit_status}"
            last = f": {tail[-1]}" if tail else ""
            raise CommandFailedError(f"{what}失败（{why}）{last}", result.exit_status, tail)
        return result


def parse_os_release(text: str) -> OSInfo:
    """Parse the KEY=value lines of /etc/os-release (values may be quoted)."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        key, sep, value = raw.strip().partition("=")
        if not sep or not key or key.startswith("#"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value.replace('\\"', '"').replace("\\\\", "\\")
    os_id = values.get("ID", "").lower()
    return OSInfo(
        id=os_id,
        id_like=values.get("ID_LIKE", "").lower(),
        pretty_name=values.get("PRETTY_NAME") or values.get("NAME") or os_id or "unknown",
        version_id=values.get("VERSION_ID", ""),
    )
