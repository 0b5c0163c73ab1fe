"""What the steps of one setup share: the target, the open connection, and what was learned."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from setupwizard.provisioning.errors import CommandFailedError, ConnectError, StepCancelled, SudoRefusedError
from setupwizard.provisioning.events import EventEmitter, EventType, Level, StepRef
from setupwizard.provisioning.facts import HostFacts
from setupwizard.provisioning.known_hosts import KnownHostStore
from setupwizard.provisioning.messages import Msg, msg, text_msg
from setupwizard.provisioning.remote import CommandResult, Remote
from setupwizard.provisioning.result import SudoCredential
from setupwizard.provisioning.settings import PlanSettings
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


def line_level(line: str) -> Level:
    """apt's ``W:`` lines are warnings and ``E:`` lines errors; every other output line is info."""
    if line.startswith("W:"):
        return Level.WARNING
    if line.startswith("E:"):
        return Level.ERROR
    return Level.INFO


@dataclass
class StepContext:
    """Mutable state of one setup run, handed to every step action.

    ``step`` is the step running now (set by the runner); every line and note is tagged with it.
    """

    target: Target
    options: SetupOptions
    settings: PlanSettings
    emitter: EventEmitter
    known_hosts: KnownHostStore
    cancel: asyncio.Event
    connect_timeout: float
    keepalive_interval: float
    fingerprint: str | None = None
    os: OSInfo | None = None
    sudo: SudoCredential | None = None
    ssh_port: int | None = None
    facts: HostFacts | None = None
    step: StepRef | None = None
    generated_private_key: str | None = field(default=None, repr=False)  # handed back once, never logged
    login_after: dict[str, object] | None = None  # set by SSH hardening: how to log in from now on
    # confirm-or-revert: set when the person confirms the new login they tried themselves
    confirm: asyncio.Event = field(default_factory=asyncio.Event)
    _remote: Remote | None = field(default=None, repr=False)

    @property
    def remote(self) -> Remote:
        """The open remote runner (steps after ``connect`` may rely on it)."""
        if self._remote is None:
            raise ConnectError(msg("error.not_connected"))
        return self._remote

    def attach(self, remote: Remote) -> None:
        """Use ``remote`` for the rest of the run (the connect step opens it)."""
        self._remote = remote

    def close(self) -> None:
        """Close the connection, if one was opened."""
        if self._remote is not None:
            self._remote.connection.close()

    async def tell(self, message: Msg, level: Level = Level.INFO) -> None:
        """Emit an ``info`` line for the current step (its code and params beside the Chinese text)."""
        await self.emitter.emit(
            EventType.INFO, level, str(message), step=self.step, code=message.code, params=message.params
        )

    async def log_lines(self, lines: list[str]) -> None:
        """Output lines of the current step: one batch of ``log`` events."""
        text = "\n" + "\n".join(lines)
        if "\nW:" in text or "\nE:" in text:
            levels = [line_level(line) for line in lines]
        else:  # the usual case: one search instead of a test per line
            levels = [Level.INFO] * len(lines)
        await self.emitter.emit_lines(lines, levels, step=self.step)

    async def run(
        self, script: str, *, privileged: bool = True, quiet: bool = False, time_limit: float | None = None
    ) -> CommandResult:
        """Run a command; raise :class:`StepCancelled` if the user cancelled meanwhile.

        :param privileged: as root, the way the sudo step found (refused before that step succeeded).
        :param quiet: collect the output without emitting it (facts, checks).
        """
        if privileged and self.sudo is None:
            raise SudoRefusedError(msg("error.sudo_unverified"))
        result = await self.remote.run(
            script,
            on_lines=None if quiet else self.log_lines,
            sudo=self.sudo if privileged else None,
            time_limit=time_limit,
        )
        if result.cancelled:
            raise StepCancelled()
        return result

    async def run_or_fail(
        self,
        script: str,
        what: Msg,
        *,
        privileged: bool = True,
        quiet: bool = False,
        time_limit: float | None = None,
    ) -> CommandResult:
        """Like :meth:`run`, but a non-zero exit raises :class:`CommandFailedError` with the output tail."""
        result = await self.run(script, privileged=privileged, quiet=quiet, time_limit=time_limit)
        if not result.ok:
            tail = [self.emitter.redact(line) for line in result.tail]
            why = (
                msg("command.timed_out")
                if result.timed_out
                else msg("command.exit_status", status=result.exit_status)
            )
            last = msg("command.last_line", line=tail[-1]) if tail else text_msg("")
            failed = msg("command.failed", what=what, why=why, last=last)
            raise CommandFailedError(failed, result.exit_status, tail)
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
