"""Open SSH connections with a safe host-key policy and errors a person understands.

Policy ``accept-new``: an unknown host's key is accepted and its SHA256 fingerprint recorded per
host:port; a known host presenting a different key is refused during key exchange, before any
credential is sent. A caller may pin the expected fingerprint instead.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Awaitable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import asyncssh

from setupwizard.provisioning.errors import (
    AuthenticationFailedError,
    AuthTimeoutError,
    ConnectError,
    ConnectionRefusedByHostError,
    ConnectTimeoutError,
    HostKeyChangedError,
    HostUnreachableError,
    UnreachableError,
)
from setupwizard.provisioning.known_hosts import KnownHostStore
from setupwizard.provisioning.messages import msg
from setupwizard.provisioning.target import Target

log = logging.getLogger(__name__)

AUTH_TIMEOUT = 30.0
_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.EADDRNOTAVAIL}

CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
)
"""asyncssh's default ciphers with AES-GCM first (OpenSSH puts ChaCha20-Poly1305 first). Both are AEAD
ciphers OpenSSH offers by default; with the CPU's AES instructions GCM costs both ends less per packet:
asyncssh spent ~52 µs of CPU per one-line packet with ChaCha20-Poly1305 and ~37 µs with AES-GCM here
(``python -m bench.ciphers``), and a server printing a line at a time sends one packet per line."""


@dataclass(frozen=True)
class Connection:
    """An open, authenticated SSH connection and what we learned about its host key."""

    conn: asyncssh.SSHClientConnection
    fingerprint: str
    newly_recorded: bool

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self.conn.close()


class _HostKeyCheck(asyncssh.SSHClient):
    """Decides, during key exchange, whether the server's key is acceptable."""

    def __init__(self, expected: str | None, pinned: bool) -> None:
        self.expected = expected
        self.pinned = pinned
        self.seen: str | None = None
        self.algorithm = ""  # the key's type as SSH names it ("ssh-ed25519"), for the remedy's command
        self.mismatch = False
        self.key_checked = asyncio.Event()  # key exchange is done: the login phase begins

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.seen = key.get_fingerprint("sha256")
        self.algorithm = key.get_algorithm()
        if self.expected is not None and self.seen != self.expected:
            self.mismatch = True
            return False
        self.key_checked.set()
        return True


def _no_trusted_keys(host: str, addr: str, port: int | None) -> tuple[list[Any], list[Any], list[Any]]:
    """Known-hosts lookup that trusts nothing by itself, so every key goes to ``_HostKeyCheck``."""
    return [], [], []


async def open_connection(
    target: Target,
    known_hosts: KnownHostStore,
    *,
    connect_timeout: float = 10.0,
    keepalive_interval: float = 5.0,
    expected_fingerprint: str | None = None,
    auth_timeout: float = AUTH_TIMEOUT,
) -> Connection:
    """Connect and log in to ``target``, enforcing the host-key policy.

    Two phases, two time limits: reaching the server and checking its key (``connect_timeout``),
    then logging in (``auth_timeout``: a server that delays a wrong password is not "unreachable").

    :param expected_fingerprint: require exactly this key (used to re-check a host mid-setup);
        defaults to the target's pin, else the recorded key, else accept and record a new one.
    :raises ConnectError: one of its subclasses, with a message that contains no secret.
    """
    recorded = await known_hosts.get(target.host, target.port)
    pin = expected_fingerprint or target.host_key_fingerprint
    check = _HostKeyCheck(pin or recorded, pinned=pin is not None)
    client_keys: list[Any] | None = None
    if target.private_key:
        client_keys = [asyncssh.import_private_key(target.private_key, target.passphrase or None)]
    agent = None
    if not target.private_key and target.agent_path and target.agent_public_key:
        agent, key = await agent_key(target.agent_path, target.agent_public_key)
        client_keys = [key] if key is not None else None
    try:
        conn = await _two_phases(
            asyncssh.connect(
                target.host,
                target.port,
                username=target.username,
                password=target.password or None,
                client_keys=client_keys,
                agent_path=None,
                config=None,
                known_hosts=_no_trusted_keys,
                server_host_key_algs="default",
                encryption_algs=CIPHERS,
                client_factory=lambda: check,
                connect_timeout=None,
                login_timeout=connect_timeout + auth_timeout + 5,
                keepalive_interval=keepalive_interval,
                keepalive_count_max=3,
                preferred_auth="publickey,keyboard-interactive,password",
            ),
            check,
            connect_timeout,
            auth_timeout,
        )
    except asyncssh.HostKeyNotVerifiable:
        raise _key_error(target, check, recorded) from None
    except asyncssh.PermissionDenied:
        # No key is recorded: a key is trusted only after a login worked, so a failed login leaves none.
        failed = msg("error.auth_failed", user=target.username, host=target.host)
        raise AuthenticationFailedError(failed) from None
    except _LoginTimeout:
        slow = msg("error.auth_timeout", user=target.username, host=target.host, seconds=f"{auth_timeout:g}")
        raise AuthTimeoutError(slow) from None
    except TimeoutError:
        raise _unreachable(ConnectTimeoutError, target, f"no answer in {connect_timeout:g} s") from None
    except ConnectionRefusedError:
        raise _unreachable(ConnectionRefusedByHostError, target, "connection refused") from None
    except socket.gaierror as exc:
        raise _unreachable(HostUnreachableError, target, f"name not resolved ({exc})") from None
    except OSError as exc:
        kind = HostUnreachableError if exc.errno in _UNREACHABLE else UnreachableError
        raise _unreachable(kind, target, str(exc.strerror or exc)) from None
    except asyncssh.Error as exc:
        if check.seen is None:  # not an SSH server (or it hung up before showing a key)
            raise _unreachable(UnreachableError, target, f"no SSH handshake: {exc.reason}") from None
        handshake = msg("error.handshake_failed", host=target.host, port=target.port, reason=exc.reason)
        raise ConnectError(handshake) from None
    finally:
        if agent is not None:
            agent.close()  # the login has signed with the agent key by now (or failed)
    assert check.seen is not None  # validate_host_public_key ran during key exchange
    if recorded != check.seen:  # new host, or a pinned key replacing an old record
        await known_hosts.put(target.host, target.port, check.seen)
    return Connection(conn, check.seen, newly_recorded=recorded is None)


async def agent_key(
    path: str, public_key: str
) -> tuple[asyncssh.SSHAgentClient | None, asyncssh.SSHKeyPair | None]:
    """The ssh-agent at ``path`` and its key whose public half is ``public_key`` (an OpenSSH line); the
    agent stays open until the login signed with it. (None, None) when the agent is unreachable."""
    try:
        agent = await asyncssh.connect_agent(path)
    except (OSError, asyncssh.Error):
        return None, None
    if agent is None:
        return None, None
    try:
        wanted = asyncssh.import_public_key(public_key).public_data
        for key in await agent.get_keys():
            if key.public_data == wanted:
                return agent, key
    except (OSError, ValueError, asyncssh.Error, asyncssh.KeyImportError):
        pass
    return agent, None


def _unreachable(kind: type[UnreachableError], target: Target, detail: str) -> UnreachableError:
    """One answer for every way of not reaching an SSH server; what happened goes to the log only."""
    log.info("SSH server %s:%s not reached: %s", target.host, target.port, detail)
    return kind(msg("error.unreachable", host=target.host, port=target.port))


class _LoginTimeout(Exception):
    """The server's key was checked, then the login did not finish in time."""


async def _two_phases(
    connecting: Awaitable[asyncssh.SSHClientConnection],
    check: _HostKeyCheck,
    connect_timeout: float,
    auth_timeout: float,
) -> asyncssh.SSHClientConnection:
    """Await ``connecting``: ``connect_timeout`` until the host key was checked, then ``auth_timeout``.

    :raises TimeoutError: the server was not reached (or showed no key) in time.
    :raises _LoginTimeout: the login phase took too long.
    """
    task = asyncio.ensure_future(connecting)
    keyed = asyncio.ensure_future(check.key_checked.wait())
    try:
        await asyncio.wait({task, keyed}, timeout=connect_timeout, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
        if not keyed.done():
            raise TimeoutError
        done, _ = await asyncio.wait({task}, timeout=auth_timeout)
        if not done:
            raise _LoginTimeout
        return task.result()
    finally:
        keyed.cancel()
        if not task.done():
            task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await task


def host_key_file(algorithm: str) -> str:
    """The server's public host key file of an SSH key type (``ssh-ed25519`` -> the ed25519 one)."""
    kind = "ed25519" if "ed25519" in algorithm else "ecdsa" if "ecdsa" in algorithm else "rsa"
    return f"/etc/ssh/ssh_host_{kind}_key.pub"


def check_command(algorithm: str) -> str:
    """What to run on the server's console to see the fingerprint of the key it shows."""
    return f"ssh-keygen -lf {host_key_file(algorithm)}"


async def server_host_key(host: str, port: int, connect_timeout: float = 10.0) -> tuple[str, str]:
    """The SHA256 fingerprint and type of the host key ``host:port`` shows, by a key exchange alone (no
    login, no credential): the key a connection of :func:`open_connection` would be shown.

    :raises UnreachableError: no SSH server answered in time.
    """
    target = Target(host, "", port=port)
    try:
        key = await asyncio.wait_for(
            asyncssh.get_server_host_key(host, port, server_host_key_algs="default", config=None),
            connect_timeout,
        )
    except TimeoutError:
        raise _unreachable(ConnectTimeoutError, target, f"no answer in {connect_timeout:g} s") from None
    except (OSError, asyncssh.Error) as exc:
        raise _unreachable(UnreachableError, target, f"no host key: {exc}") from None
    if key is None:
        raise _unreachable(UnreachableError, target, "no host key shown")
    return key.get_fingerprint("sha256"), key.get_algorithm()


def _key_error(target: Target, check: _HostKeyCheck, recorded: str | None) -> ConnectError:
    where = f"{target.host}:{target.port}"
    if not check.mismatch or check.seen is None:
        return ConnectError(msg("error.host_key_unverifiable", where=where))
    if check.pinned:
        return HostKeyChangedError(
            msg("error.host_key_pin_mismatch", where=where, expected=check.expected, seen=check.seen)
        )
    command = check_command(check.algorithm)
    return HostKeyChangedError(
        msg(
            "error.host_key_changed",
            where=where,
            host=target.host,
            port=target.port,
            recorded=recorded,
            seen=check.seen,
            key_type=check.algorithm,
            check=command,
            hint=msg("error.reset_hint", check=command, seen=check.seen),
        )
    )
