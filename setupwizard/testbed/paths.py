"""Where the testbed keeps things on this machine, and the addresses it uses.

The image and the apt cache live outside the repository so a fresh clone reuses them; per-host state
(overlay upper dirs, owner records) lives under ``STATE_DIR``.
"""

from __future__ import annotations

from pathlib import Path

CACHE_DIR = Path("/var/cache/setupwizard-testbed")
STATE_DIR = Path("/var/lib/setupwizard-testbed")
HOSTS_DIR = STATE_DIR / "hosts"
# A stopped host's directory is renamed here in one step (so its slot is free at once), then deleted.
TRASH_DIR = STATE_DIR / "trash"

BRIDGE = "swtb0"
NETWORK_PREFIX = "198.18.0"  # RFC 2544 benchmark range; the host's eth0 sits in 192.0.2.0/24
BRIDGE_ADDRESS = f"{NETWORK_PREFIX}.1"
# More addresses of the machine on the bridge: a test can log in from another address than the usual
# one (asyncssh ``local_addr=(CLIENT_ADDRESSES[0], 0)``), e.g. to get that address banned by fail2ban.
CLIENT_ADDRESSES = (f"{NETWORK_PREFIX}.2", f"{NETWORK_PREFIX}.3")
PREFIX_LEN = 24
NETWORK6_PREFIX = "fd5e:7b3d:0:1"  # a ULA /64 of our own; the host's eth0 uses fd00::/64
BRIDGE_ADDRESS6 = f"{NETWORK6_PREFIX}::1"

# Not apt-cacher-ng's default 3142: a distribution's own apt-cacher-ng listens there on every address.
APT_PROXY_PORT = 31420
APT_PROXY_URL = f"http://{BRIDGE_ADDRESS}:{APT_PROXY_PORT}"
DEBIAN_MIRROR = "http://deb.debian.org/debian"

RELEASES = ("bookworm", "trixie")  # Debian 12 and 13; no Ubuntu archive is reachable from here
DEFAULT_RELEASE = "bookworm"
FLAVOURS = ("quick", "systemd")  # quick: chroot + a small init; systemd: the image's systemd under nspawn
DEFAULT_FLAVOUR = "quick"

HOST_NAME_PREFIX = "swtb-"
FIRST_GUEST_OCTET = 10
MAX_HOSTS = 200  # guests .10 .. .209
# On the bridge's network but never a guest's: nobody answers there (a stopped host's address may be
# taken by another test run's next host at once).
SILENT_ADDRESS = f"{NETWORK_PREFIX}.250"


def host_name(slot: int) -> str:
    """The name of the host in ``slot`` (also its hostname and network namespace)."""
    return f"{HOST_NAME_PREFIX}{slot}"


def host_address(slot: int) -> str:
    """The IPv4 address of the host in ``slot``."""
    return f"{NETWORK_PREFIX}.{FIRST_GUEST_OCTET + slot}"


def host_address6(slot: int) -> str:
    """The IPv6 (ULA) address of the host in ``slot``."""
    # Same digits as the IPv4 last octet (read as hex), so .13 and ::13 go together.
    return f"{NETWORK6_PREFIX}::{FIRST_GUEST_OCTET + slot}"
