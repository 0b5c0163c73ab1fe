"""Helpers of the systemd step tests: host keys per test host, and root commands on a host."""

from __future__ import annotations

from setupwizard.provisioning import MemoryKnownHosts
from setupwizard.testbed.host import TestHost


class HostKeys:
    """The host keys the engine trusts, one store per test host (release and address).

    Make one per test module: a later module's fresh host may reuse an address with a new key.
    """

    def __init__(self) -> None:
        self._stores: dict[str, MemoryKnownHosts] = {}

    def __call__(self, host: TestHost) -> MemoryKnownHosts:
        return self._stores.setdefault(f"{host.release}/{host.address}", MemoryKnownHosts())


def root(host: TestHost, command: str, timeout: float = 600) -> str:
    """Run ``command`` as root on ``host``; its output, or fail the test naming the command."""
    result = host.run_root(command, timeout=timeout)
    assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    return result.stdout.strip()
