"""Open SSH connections with a safe host-key policy and errors a person understands.

Policy ``accept-new``: an unknown host's key is accepted and its SHA256 fingerprint recorded per
host:port; a known host presenting a different key is refused during key exchange, before any
credential is sent. A caller may pin the expected fingerprint instead.
"""

from __future__ import annotations

import asyncio
import errno
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
)
from setupwizard.provisioning.known_hosts import KnownHostStore
from setupwizard.provisioning.target import Target

AUTH_TIMEOUT = 30.0
_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.EADDRNOTAVAIL}

RESET_HINT = (
    "如果服务器确实重装过或换过密钥，请在「服务器 → 已知主机密钥」中删除旧记录"
    "（命令行: setupwizard setup --forget-host-key）后重试"
)


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
        self.mismatch = False
        self.key_checked = asyncio.Event()  # key exchange is done: the login phase begins

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.seen = key.get_fingerprint("sha256")
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
    client_keys = None
    if target.private_key:
        client_keys = [asyncssh.import_private_key(target.private_key, target.passphrase or None)]
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
        if check.seen and recorded is None and pin is None:
            await known_hosts.put(target.host, target.port, check.seen)
        raise AuthenticationFailedError(
            f"{target.username}@{target.host} 登录失败: 用户名、密码或私钥不被服务器接受"
        ) from None
    except _LoginTimeout:
        raise AuthTimeoutError(
            f"{target.username}@{target.host} 登录超时: 服务器在 {auth_timeout:g} 秒内没有接受或拒绝凭据"
            "（连接本身正常；密码错误时有的服务器会故意拖延，请检查用户名和密码）"
        ) from None
    except TimeoutError:
        raise ConnectTimeoutError(
            f"连接 {target.host}:{target.port} 超时（{connect_timeout:g} 秒内没有响应）"
        ) from None
    except ConnectionRefusedError:
        raise ConnectionRefusedByHostError(
            f"{target.host}:{target.port} 拒绝连接: 该端口上没有 SSH 服务在监听"
        ) from None
    except socket.gaierror:
        raise HostUnreachableError(f"无法解析主机名 {target.host}") from None
    except OSError as exc:
        if exc.errno in _UNREACHABLE:
            raise HostUnreachableError(f"无法到达 {target.host}: 没有到该主机的网络路由") from None
        raise ConnectError(f"连接 {target.host}:{target.port} 失败: {exc.strerror or exc}") from None
    except asyncssh.Error as exc:
        raise ConnectError(f"与 {target.host}:{target.port} 的 SSH 握手失败: {exc.reason}") from None
    assert check.seen is not None  # validate_host_public_key ran during key exchange
    if recorded != check.seen:  # new host, or a pinned key replacing an old record
        await known_hosts.put(target.host, target.port, check.seen)
    return Connection(conn, check.seen, newly_recorded=recorded is None)


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


def _key_error(target: Target, check: _HostKeyCheck, recorded: str | None) -> ConnectError:
    where = f"{target.host}:{target.port}"
    if not check.mismatch or check.seen is None:
        return ConnectError(f"{where} 的主机密钥无法验证")
    if check.pinned:
        return HostKeyChangedError(
            f"{where} 的主机密钥与指定的指纹不符: 期望 {check.expected}，服务器出示 {check.seen}。"
            "已在发送任何凭据前断开。"
        )
    return HostKeyChangedError(
        f"{where} 的主机密钥已改变: 记录的指纹 {recorded}，服务器现在出示 {check.seen}。"
        f"已在发送任何凭据前断开。{RESET_HINT}"
    )
