"""Fresh testbed hosts for a benchmark (see docs/testbed.md), stopped afterwards even on failure.

When a benchmark needs more concurrent setups than it should start hosts (the testbed has 200 slots,
shared with test runs, and the hosts share the machine's cores), each host runs extra ``sshd``
listeners on ports 2201, 2202, …: every (address, port) is a separate server to the service (one setup
per host:port), and each setup allows its siblings' ports in the firewall so enabling ufw locks
nobody out.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from setupwizard.testbed import Testbed, TestHost

EXTRA_PORT_BASE = 2200
START_PARALLEL = 6

_testbed: Testbed | None = None


def testbed() -> Testbed:
    """The machine's testbed, made ready once per run."""
    global _testbed
    if _testbed is None:
        _testbed = Testbed.ensure()
    return _testbed


@dataclass(frozen=True)
class Endpoint:
    """One server as the service sees it: a host's address and one of its sshd ports."""

    host: TestHost
    port: int
    sibling_ports: tuple[int, ...]

    @property
    def address(self) -> str:
        """The host's IPv4 address."""
        return self.host.address

    def setup_body(self, **extra: object) -> dict[str, object]:
        """The common part of an auto-setup request for this endpoint (root login, no extra packages)."""
        others = [f"{port}/tcp" for port in self.sibling_ports if port != self.port]
        return {
            "host": self.address,
            "port": self.port,
            "username": "root",
            "password": self.host.root.password,
            "packages": [],
            "firewall_ports": others,
            **extra,
        }


@contextmanager
def ssh_key() -> Iterator[Path]:
    """A throwaway ed25519 key pair (``path`` and ``path.pub``) for plain ssh and the peer tools."""
    with tempfile.TemporaryDirectory(prefix="bench-key-") as tmp:
        path = Path(tmp) / "id_ed25519"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", str(path)], check=True
        )
        yield path


def authorize(host: TestHost, key: Path) -> None:
    """Let ``key`` log in as root on ``host``."""
    result = host.run_root(
        "mkdir -p -m 700 /root/.ssh && cat >> /root/.ssh/authorized_keys"
        " && chmod 600 /root/.ssh/authorized_keys",
        input=key.with_suffix(".pub").read_text(),
    )
    if result.returncode != 0:
        raise RuntimeError(f"{host.name}: authorizing the bench key failed: {result.stderr}")


def _start_extra_sshd(host: TestHost, port: int) -> None:
    result = host.run_root(f"/usr/sbin/sshd -p {port} -o PidFile=/run/sshd-{port}.pid")
    if result.returncode != 0:
        raise RuntimeError(f"{host.name}: sshd on port {port} did not start: {result.stderr}")


def _start_host(ports_per_host: int, key: Path | None) -> TestHost:
    host = testbed().new_host()
    try:
        for index in range(1, ports_per_host):
            _start_extra_sshd(host, EXTRA_PORT_BASE + index)
        if key is not None:
            authorize(host, key)
    except BaseException:
        host.stop()
        raise
    return host


@asynccontextmanager
async def fresh_hosts(
    count: int, *, ports_per_host: int = 1, key: Path | None = None
) -> AsyncIterator[list[TestHost]]:
    """Start ``count`` fresh hosts (a few at a time); all are stopped when the block ends."""
    started: list[TestHost] = []
    gate = asyncio.Semaphore(START_PARALLEL)

    async def one() -> None:
        async with gate:
            started.append(await asyncio.to_thread(_start_host, ports_per_host, key))

    try:
        results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]
        yield started
    finally:
        for host in started:
            with suppress(Exception):
                await asyncio.to_thread(host.stop)


def endpoints(hosts: list[TestHost], ports_per_host: int) -> list[Endpoint]:
    """Every (host, port) pair: port 22 and the extra listeners, host by host."""
    ports = (22, *(EXTRA_PORT_BASE + index for index in range(1, ports_per_host)))
    return [Endpoint(host, port, ports) for port in ports for host in hosts]


def plan_hosts(sessions: int, max_hosts: int) -> tuple[int, int]:
    """(hosts, sshd ports per host) for ``sessions`` concurrent setups on at most ``max_hosts`` hosts."""
    hosts = max(1, min(sessions, max_hosts))
    per_host = -(-sessions // hosts)
    return hosts, per_host
