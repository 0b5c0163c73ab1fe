"""Trusting a server's new host key: the one way out of a refused changed key that keeps the rest of what
is saved about the server (its sudo row, its admin key waiting for download)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from setupwizard.core.errors import AppError
from setupwizard.provisioning.messages import msg
from setupwizard.provisioning.ssh import server_host_key
from setupwizard.provisioning.validate import check_host
from setupwizard.servers.repository import KnownHostRepository


class HostKeyMismatchError(AppError):
    """The server shows a key other than the one the person checked: nothing is trusted (409)."""

    def __init__(self, where: str, seen: str, expected: str) -> None:
        said = msg("error.host_key_moved_again", where=where, seen=seen, expected=expected)
        super().__init__(409, "host_key_mismatch", str(said), said=said)


async def trust_new_key(
    session: AsyncSession, user_id: int, host: str, port: int, fingerprint: str, connect_timeout: float
) -> str | None:
    """Trust ``fingerprint`` for ``user_id`` at host:port, if it is the key the server shows now (a key
    exchange, no login); returns the fingerprint it replaces (None: none was on record).

    :raises InvalidInputError: the host is not an address or a name (422, field ``host``).
    :raises HostKeyMismatchError: the server shows another key than ``fingerprint`` (409).
    :raises UnreachableError: no SSH server answered (502).
    """
    host = check_host(host)
    seen, _ = await server_host_key(host, port, connect_timeout)
    if seen != fingerprint:
        raise HostKeyMismatchError(f"{host}:{port}", seen, fingerprint)
    known_hosts = KnownHostRepository(session)
    row = await known_hosts.get(user_id, host, port)
    previous = row.fingerprint if row is not None else None
    await known_hosts.put(user_id, host, port, fingerprint)
    return previous
