"""A slow login is told apart from a server that cannot be reached.

Two real local SSH endpoints on 127.0.0.1: an asyncssh server whose password check never answers
in time (as a server delaying a wrong password does), and a TCP listener that never speaks SSH.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import asyncssh
import pytest

from setupwizard.provisioning import AuthenticationFailedError, ConnectTimeoutError, MemoryKnownHosts, Target
from setupwizard.provisioning.errors import AuthTimeoutError
from setupwizard.provisioning.ssh import open_connection


class _SlowLogin(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        await asyncio.sleep(30)
        return False


@pytest.fixture
async def slow_login_port() -> AsyncIterator[int]:
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.create_server(
        _SlowLogin, "127.0.0.1", 0, server_host_keys=[key], login_timeout=60
    )
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def silent_port() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


async def test_a_login_that_hangs_is_an_auth_timeout_not_a_connect_timeout(slow_login_port: int) -> None:
    target = Target("127.0.0.1", "alice", port=slow_login_port, password="Wrong-Canary-1")
    with pytest.raises(AuthTimeoutError) as caught:
        await open_connection(target, MemoryKnownHosts(), connect_timeout=1, auth_timeout=1.5)
    assert isinstance(caught.value, AuthenticationFailedError)
    assert caught.value.code == "auth_timeout" and "登录超时" in str(caught.value)
    assert "Wrong-Canary-1" not in str(caught.value)


async def test_a_server_that_never_speaks_ssh_is_a_connect_timeout(silent_port: int) -> None:
    target = Target("127.0.0.1", "alice", port=silent_port, password="pw")
    with pytest.raises(ConnectTimeoutError) as caught:
        await open_connection(target, MemoryKnownHosts(), connect_timeout=1, auth_timeout=30)
    assert not isinstance(caught.value, AuthTimeoutError)
    assert caught.value.code == "unreachable" and "连接" in str(caught.value)  # one answer for all
