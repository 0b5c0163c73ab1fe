"""The testbed network: one host bridge and, per test host, a network namespace joined by a veth pair.

Only the bridge's own connected route appears on the host. No forwarding, no NAT, no other routes:
guests can reach the bridge address (the apt proxy) and each other, nothing else.
"""

from __future__ import annotations

from pathlib import Path

from setupwizard.testbed.commands import run
from setupwizard.testbed.paths import (
    BRIDGE,
    BRIDGE_ADDRESS,
    BRIDGE_ADDRESS6,
    CLIENT_ADDRESSES,
    PREFIX_LEN,
)

NETNS_DIR = Path("/run/netns")


def _link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def ensure_bridge() -> None:
    """Create the bridge with its host-side addresses if it is missing (idempotent)."""
    if not _link_exists(BRIDGE):
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    addresses = run(["ip", "-o", "addr", "show", "dev", BRIDGE]).stdout
    for address in (BRIDGE_ADDRESS, *CLIENT_ADDRESSES):  # the first is primary: the bridge's own source
        if f" {address}/" not in addresses:
            run(["ip", "addr", "add", f"{address}/{PREFIX_LEN}", "dev", BRIDGE])
    if f" {BRIDGE_ADDRESS6}/" not in addresses:
        # nodad: the address is usable at once instead of after duplicate detection.
        run(["ip", "-6", "addr", "add", f"{BRIDGE_ADDRESS6}/64", "dev", BRIDGE, "nodad"], check=False)
    run(["ip", "link", "set", BRIDGE, "up"])


def veth_name(name: str) -> str:
    """Host-side veth name for host ``name`` (interface names are at most 15 characters)."""
    return f"v{name}"[:15]


def netns_exists(name: str) -> bool:
    """True when the network namespace ``name`` exists."""
    return (NETNS_DIR / name).exists()


def list_netns(prefix: str) -> list[str]:
    """Names of existing network namespaces starting with ``prefix``."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(prefix))


def guest_mac(address: str) -> str:
    """A fixed, locally administered MAC for a guest address.

    When a slot is reused, the new host has the same IP *and* MAC as the old one, so no neighbour
    cache (the machine's or another guest's) keeps sending to a MAC that is gone, which stalled
    connections for up to ~30 s.
    """
    last = int(address.rsplit(".", 1)[1])
    return f"02:5e:7b:3d:00:{last:02x}"


def create_host_network(name: str, address: str, address6: str | None) -> None:
    """Create netns ``name`` with ``eth0`` (address/24) wired to the bridge, and ``lo`` up."""
    remove_host_network(name)
    run(["ip", "netns", "add", name])
    veth = veth_name(name)
    peer = ["name", "eth0", "address", guest_mac(address), "netns", name]
    run(["ip", "link", "add", veth, "type", "veth", "peer", *peer])
    run(["ip", "link", "set", veth, "master", BRIDGE, "up"])
    inside = ["ip", "-n", name]
    run([*inside, "link", "set", "lo", "up"])
    run([*inside, "addr", "add", f"{address}/{PREFIX_LEN}", "dev", "eth0"])
    if address6 is not None:
        run([*inside, "-6", "addr", "add", f"{address6}/64", "dev", "eth0", "nodad"])
    run([*inside, "link", "set", "eth0", "up"])
    # Forget what the machine knew about this address before (an older host in the same slot).
    run(["ip", "neigh", "flush", "to", address, "dev", BRIDGE], check=False)
    if address6 is not None:
        run(["ip", "-6", "neigh", "flush", "to", address6, "dev", BRIDGE], check=False)


def remove_host_network(name: str) -> None:
    """Delete netns ``name`` and its veth (deleting either end of a veth deletes both)."""
    veth = veth_name(name)
    if _link_exists(veth):
        run(["ip", "link", "del", veth], check=False)
    if netns_exists(name):
        run(["ip", "netns", "del", name], check=False)
