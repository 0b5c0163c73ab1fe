"""Run one remote command under a PTY and stream its output, line by line, as it is written.

A PTY makes remote programs line-buffer their output (Python, grep and friends block-buffer into a
pipe), so lines reach the listener as they are printed. The PTY's echo is switched off, and sudo's
password prompt is a unique marker the runner answers itself: the password never enters argv and,
because echo is off, never comes back in the output (it is also redacted by the emitter).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shlex
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import asyncssh

from setupwizard.provisioning.errors import ConnectError, SudoPasswordWrongError
from setupwizard.provisioning.messages import msg
from setupwizard.provisioning.result import SudoCredential, SudoMode
from setupwizard.provisioning.ssh import Connection
from setupwizard.provisioning.terminal import LineAssembler, SecretLocator

NO_INPUT = "exec </dev/null\n"
# stdin (the text) into a new private temp file; prints its path
UPLOAD = 'umask 077 && f=$(mktemp /tmp/setupwizard.XXXXXXXX) && cat > "$f" && printf "%s\\n" "$f"'
TAIL_LINES = 20
KEEP_LINES = 5000
BATCH_LINES = 1000
"""A chunk that finished more lines than this is handed over in slices of this many, with a turn of the
event loop between them: a 64 KiB chunk of short lines is ~10,000 events, and building, redacting and
publishing them in one go kept every other session waiting (``bench/latency.py``)."""
STOP_GRACE = 5.0
_UPLOAD_PATH = re.compile(r"/tmp/setupwizard\.[A-Za-z0-9]+")  # noqa: S108 - a remote mktemp name


LineHandler = Callable[[list[str]], Awaitable[None]]
"""Receives the lines finished by one chunk of output, once per chunk (plain text, not yet redacted)."""


@dataclass
class CommandResult:
    """How a remote command ended and what it printed (already plain text, not yet redacted)."""

    exit_status: int | None
    lines: list[str] = field(default_factory=list)
    cancelled: bool = False
    timed_out: bool = False
    prompts: int = 0

    @property
    def ok(self) -> bool:
        """Exited 0, not cancelled."""
        return self.exit_status == 0 and not self.cancelled

    @property
    def tail(self) -> list[str]:
        """The last few lines, for an error message."""
        return self.lines[-TAIL_LINES:]


class Remote:
    """One SSH connection used to run a setup: plain commands, commands as root, uploads.

    It keeps no step or sudo state: each :meth:`run` says how to become root and where lines go.

    :param connection: an open connection from :func:`open_connection`.
    :param cancel: when set, the running command is interrupted and :attr:`CommandResult.cancelled` set.
    :param secret_locator: keeps secrets whole where an over-long output line is cut (the emitter's redactor).
    """

    def __init__(
        self,
        connection: Connection,
        cancel: asyncio.Event | None = None,
        *,
        secret_locator: SecretLocator | None = None,
    ) -> None:
        self.connection = connection
        self.cancel = cancel or asyncio.Event()
        self._secrets = secret_locator
        self._marker = f"[sudo-pw-{secrets.token_hex(6)}]"

    @contextmanager
    def uncancellable(self) -> Iterator[None]:
        """Commands run inside ignore cancel (a half-applied firewall must be finished or undone)."""
        saved, self.cancel = self.cancel, asyncio.Event()
        try:
            yield
        finally:
            self.cancel = saved

    @property
    def prompt_marker(self) -> str:
        """The unique sudo prompt this runner recognises and answers."""
        return self._marker

    @property
    def conn(self) -> asyncssh.SSHClientConnection:
        """The underlying asyncssh connection."""
        return self.connection.conn

    def wrap(self, script: str, sudo: SudoCredential | None) -> str:
        """The command line that runs ``script`` in bash, as root through ``sudo`` when given. No secret."""
        # stdin from /dev/null: a program that waits for input gets EOF instead of hanging on the PTY
        # (inside bash, so sudo still reads its password from the PTY first); stdout stays the PTY.
        command = f"bash -c {shlex.quote(NO_INPUT + script)}"
        if sudo is None or sudo.mode is SudoMode.ROOT:
            return command
        if sudo.mode is SudoMode.PASSWORDLESS:
            return f"sudo -n -- {command}"
        # -k: ignore a cached sudo ticket, so the prompt comes exactly once and is answered once
        return f"sudo -k -S -p {shlex.quote(self._marker)} -- {command}"

    async def run(
        self,
        script: str,
        *,
        on_lines: LineHandler | None = None,
        sudo: SudoCredential | None = None,
        time_limit: float | None = None,
    ) -> CommandResult:
        """Run ``script`` under a PTY; each chunk of output becomes one call of ``on_lines`` (a chunk of more
        than ``BATCH_LINES`` lines: one call per slice of that many).

        :param on_lines: receives the lines each chunk finished, at once (None: collect them only).
        :param sudo: run as root this way (None: as the login user).
        :param time_limit: give up (and stop the command) after this many seconds.
        :raises SudoPasswordWrongError: sudo asked for the password a second time (it is wrong).
        """
        command = self.wrap(script, sudo)
        password = sudo.sudo_password if sudo is not None and sudo.mode is SudoMode.PASSWORD else None
        try:
            proc = await self.conn.create_process(
                command,
                term_type="dumb",
                term_size=(200, 50),
                term_modes={asyncssh.PTY_ECHO: 0},
                encoding=None,
            )
        except (asyncssh.Error, OSError) as exc:
            raise ConnectError(msg("error.connection_closed_run", reason=str(exc))) from None
        result = CommandResult(exit_status=None)
        kept: deque[str] = deque(maxlen=KEEP_LINES)
        assembler = LineAssembler(secret_locator=self._secrets)
        refusal = asyncio.Event()  # sudo asked for the password a second time

        async def read_all() -> None:
            # One task reads and delivers every chunk: no task and no wait per chunk (a quiet printer's
            # every line is a chunk of its own). The caller only watches for the end, cancel and time.
            while data := await proc.stdout.read(65536):
                await self._deliver(assembler.feed(data), kept, on_lines)
                if password is not None and assembler.take_marker(self._marker):
                    result.prompts += 1
                    if result.prompts == 1:
                        proc.stdin.write(password.encode() + b"\n")
                    else:
                        refusal.set()

        reading = asyncio.create_task(read_all())
        cancel_wait = asyncio.ensure_future(self.cancel.wait())
        refusal_wait = asyncio.ensure_future(refusal.wait())
        stopped = False
        try:
            remaining = None if time_limit is None else max(0.0, time_limit)
            done, _ = await asyncio.wait(
                {reading, cancel_wait, refusal_wait}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            if reading not in done:
                if refusal_wait in done:
                    pass  # raised below, once the command is stopped
                elif cancel_wait in done:
                    result.cancelled = True
                else:
                    result.timed_out = True
                stopped = True
                self._stop(proc)
                await asyncio.wait({reading}, timeout=STOP_GRACE)  # it did not end in time: close below
            if reading.done():
                reading.result()  # a failure of the line handler is the caller's
            await self._deliver(assembler.finish(), kept, on_lines)
        finally:
            for waiter in (reading, cancel_wait, refusal_wait):
                waiter.cancel()
            if stopped or not proc.stdout.at_eof():
                proc.close()
        refused = refusal.is_set()
        try:
            completed = await asyncio.wait_for(proc.wait(), timeout=STOP_GRACE)
            result.exit_status = completed.exit_status
        except (TimeoutError, asyncssh.Error):
            result.exit_status = None
        result.lines = list(kept)
        if refused:
            raise SudoPasswordWrongError(msg("error.sudo_password_wrong"))
        return result

    def _stop(self, proc: asyncssh.SSHClientProcess[bytes]) -> None:
        """Interrupt the command: Ctrl-C into the PTY and a TERM signal."""
        with suppress(OSError, asyncssh.Error):
            proc.stdin.write(b"\x03")
        with suppress(OSError, asyncssh.Error):
            proc.terminate()

    @staticmethod
    async def _deliver(lines: list[str], kept: deque[str], on_lines: LineHandler | None) -> None:
        if not lines:
            return
        kept.extend(lines)
        if on_lines is None:
            return
        if len(lines) <= BATCH_LINES:
            await on_lines(lines)
            return
        for start in range(0, len(lines), BATCH_LINES):
            if start:
                await asyncio.sleep(0)  # let other sessions' lines through between slices
            await on_lines(lines[start : start + BATCH_LINES])

    async def capture(self, script: str) -> tuple[int | None, str]:
        """Run a short unprivileged ``script`` without a PTY; return exit status and stdout (facts)."""
        try:
            done = await self.conn.run(f"bash -c {shlex.quote(script)}", encoding="utf-8", errors="replace")
        except (asyncssh.Error, OSError) as exc:
            raise ConnectError(msg("error.connection_closed_run", reason=str(exc))) from None
        return done.exit_status, str(done.stdout or "")

    async def upload(self, text: str) -> str:
        """Write ``text`` to a new private temp file (mode 600, no PTY, no shell echo); return its path."""
        try:
            done = await self.conn.run(f"bash -c {shlex.quote(UPLOAD)}", input=text, encoding="utf-8")
        except (asyncssh.Error, OSError) as exc:
            raise ConnectError(msg("error.connection_closed_upload", reason=str(exc))) from None
        path = str(done.stdout or "").strip()
        if done.exit_status != 0 or not _UPLOAD_PATH.fullmatch(path):
            raise ConnectError(msg("error.upload_failed"))
        return path
