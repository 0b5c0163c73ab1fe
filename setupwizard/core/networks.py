"""Networks the service refuses to connect to, and the check of a host against them.

Some requests make the service itself open a connection: test-connection and auto-setup (SSH), and a
notification's delivery (whatever host its apprise URL names). Without a rule any user could use them to
reach the service's own machine (loopback), the link-local network and the cloud metadata service
(169.254.169.254). :class:`TargetPolicy` refuses the networks of a deny list, checked on every address a
name resolves to; each use has its own list (``SETUPWIZARD_TARGET_DENY``, ``SETUPWIZARD_NOTIFY_DENY``).

A name could resolve to another address between this check and the connection (DNS rebinding): where
that matters, give the service a resolver you trust, or deny by firewall as well.

Shared: ``servers/`` (SSH targets), ``notify/`` (notification URLs) and ``config.py`` (the default lists
and their validation). In ``servers/`` it made ``notify/`` and ``config.py`` depend on the SSH domain for a
rule that is not about SSH.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import socket
from collections.abc import Iterable
from pathlib import Path

from setupwizard.provisioning.address import ip_literal, numeric_spelling

DEFAULT_TARGET_DENY = [
    "127.0.0.0/8",  # loopback
    "::1/128",
    "0.0.0.0/8",  # "this host": 0.0.0.0 reaches loopback on Linux
    "::/128",
    "169.254.0.0/16",  # link-local, with the cloud metadata service 169.254.169.254
    "fe80::/10",
    "fd00:ec2::254/128",  # the IPv6 metadata service of EC2
]
"""``SETUPWIZARD_TARGET_DENY`` and ``SETUPWIZARD_NOTIFY_DENY`` by default."""

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def own_addresses() -> list[str]:
    """This machine's own addresses (every interface of the service's network namespace), as /32 and /128
    networks: a target there is the service's own host. Read from /proc/net (Linux); elsewhere, what the
    host name resolves to."""
    found: set[str] = set()
    try:
        lines = Path("/proc/net/fib_trie").read_text().splitlines()
        # "|-- 198.18.0.1" followed by "/32 host LOCAL": an address of one of our interfaces
        for previous, line in itertools.pairwise(lines):
            if line.strip() == "/32 host LOCAL" and "|--" in previous:
                found.add(previous.split("|--", 1)[1].strip() + "/32")
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            raw = line.split()[0]
            found.add(str(ipaddress.IPv6Address(int(raw, 16))) + "/128")
    except (OSError, ValueError, IndexError):
        try:
            infos = socket.getaddrinfo(socket.gethostname(), None)
        except OSError:
            infos = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            found.add(f"{address}/{address.max_prefixlen}")
    return sorted(found)


def parse_networks(entries: Iterable[str]) -> list[IpNetwork]:
    """CIDRs (or single addresses) as networks; raises ValueError naming a bad entry."""
    networks: list[IpNetwork] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not a network or address: {entry!r}") from None
    return networks


def _literal(host: str) -> IpAddress | None:
    """The address a literal host names (its zone id aside; IPv4-mapped as IPv4; a numeric spelling such as
    ``2130706433`` or ``0x7f.1`` as the IPv4 address the C library reads), None for a name."""
    bare = host.strip().strip("[]")
    address = ip_literal(bare) or numeric_spelling(bare)
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        address = ipaddress.IPv6Address(address.compressed.split("%", 1)[0])
    return address


class TargetPolicy:
    """Refuses targets whose address (or any address their name resolves to) is in a denied network."""

    def __init__(self, deny: Iterable[str]) -> None:
        self.networks = parse_networks(deny)

    def denies_address(self, address: IpAddress) -> bool:
        """True when ``address`` (an IPv4-mapped IPv6 address counts as its IPv4 form) is denied."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address.version == net.version and address in net for net in self.networks)

    async def denies(self, host: str, port: int) -> bool:
        """True when the target must be refused. A name that does not resolve is left to the connection
        (it fails there as unreachable, which tells nothing about the service's network)."""
        if not self.networks:
            return False
        literal = _literal(host)
        if literal is not None:
            return self.denies_address(literal)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return False
        addresses = {_literal(str(info[4][0])) for info in infos}
        return any(a is not None and self.denies_address(a) for a in addresses)
