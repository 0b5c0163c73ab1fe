"""One setup per server at a time in one process: a lock per host:port (the embedded default, SQLite).

With PostgreSQL the server lock is the job queue's (``setupwizard/jobs/repository.py``): a setup job's
procrastinate ``lock`` is the same :func:`lock_name`, shared by every worker.
"""

from __future__ import annotations

from typing import Protocol

from setupwizard.provisioning.address import canonical_host


def lock_name(host: str, port: int) -> str:
    """The lock's name for a server: one name per server however its address is spelled."""
    return f"[{canonical_host(host)}]:{port}"


class HostLease(Protocol):
    """A held lock; release it exactly once when the setup ends."""

    async def release(self) -> None:
        """Give the lock back."""
        ...


class HostLocks(Protocol):
    """Locks keyed by host:port."""

    async def acquire(self, host: str, port: int) -> HostLease | None:
        """The lease, or None when another setup holds the server. Never waits."""
        ...

    async def is_held(self, host: str, port: int) -> bool:
        """Whether a runner holds the server now."""
        ...


class _MemoryLease:
    def __init__(self, held: set[str], name: str) -> None:
        self._held = held
        self._name = name

    async def release(self) -> None:
        self._held.discard(self._name)


class MemoryHostLocks:
    """Locks for one process (the embedded default)."""

    def __init__(self) -> None:
        self._held: set[str] = set()

    async def acquire(self, host: str, port: int) -> HostLease | None:
        name = lock_name(host, port)
        if name in self._held:
            return None
        self._held.add(name)
        return _MemoryLease(self._held, name)

    async def is_held(self, host: str, port: int) -> bool:
        return lock_name(host, port) in self._held
