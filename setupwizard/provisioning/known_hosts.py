"""Where host key fingerprints are remembered per host:port (policy accept-new)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol, runtime_checkable

from setupwizard.provisioning.address import canonical_host


class KnownHostStore(Protocol):
    """Remembers one SHA256 fingerprint per host:port."""

    async def get(self, host: str, port: int) -> str | None:
        """The recorded fingerprint, or None when the host is new."""
        ...

    async def put(self, host: str, port: int, fingerprint: str) -> None:
        """Record (or replace) the fingerprint."""
        ...


@runtime_checkable
class KnownHostBook(Protocol):
    """Known hosts kept per user of a service: each user's own trust."""

    def for_user(self, user_id: int) -> KnownHostStore:
        """The store of one user."""
        ...


def store_for(known_hosts: KnownHostStore | KnownHostBook, user_id: int) -> KnownHostStore:
    """The store a run of ``user_id`` uses: their own from a per-user book, else the shared store as it is
    (the CLI's file, a test's memory)."""
    if isinstance(known_hosts, KnownHostBook):
        return known_hosts.for_user(user_id)
    return known_hosts


class MemoryKnownHosts:
    """A store that lives as long as the process (tests, one-off runs)."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, int], str] = {}

    async def get(self, host: str, port: int) -> str | None:
        return self._keys.get((canonical_host(host), port))

    async def put(self, host: str, port: int, fingerprint: str) -> None:
        self._keys[(canonical_host(host), port)] = fingerprint

    async def forget(self, host: str, port: int) -> bool:
        """Drop the recorded key (after a legitimate key change); True if there was one."""
        return self._keys.pop((canonical_host(host), port), None) is not None


class FileKnownHosts:
    """A JSON file of ``{"host:port": "SHA256:…"}`` (the CLI's store)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return {str(k): str(v) for k, v in data.items()}

    async def get(self, host: str, port: int) -> str | None:
        return self._load().get(f"{canonical_host(host)}:{port}")

    async def put(self, host: str, port: int, fingerprint: str) -> None:
        data = self._load()
        data[f"{canonical_host(host)}:{port}"] = fingerprint
        self._save(data)

    async def forget(self, host: str, port: int) -> bool:
        """Drop the recorded key (after a legitimate key change); True if there was one."""
        data = self._load()
        found = data.pop(f"{canonical_host(host)}:{port}", None) is not None
        if found:
            self._save(data)
        return found

    def _save(self, data: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        tmp.replace(self.path)
