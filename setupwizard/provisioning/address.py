"""A server's identity: one spelling per address, the same everywhere it is used as a key.

The one-setup-per-server lock, the trusted host keys, the saved sudo rows and the deny list all key on
the host. ``198.18.0.10``, ``::ffff:198.18.0.10`` and ``0xc6.0x12.0.0xa`` reach the same machine; if each
spelling were its own key, two setups could run on one server at once and each spelling would get its own
"first connection" trust. So a target's host is made canonical once, when the :class:`Target` is built
(:func:`canonical_host`), and every key is taken from that:

- an IPv4 address as a decimal dotted quad;
- an IPv4-mapped IPv6 address (``::ffff:a.b.c.d``) as its IPv4 address;
- any other IPv6 address compressed, lower case, with its zone id (``fe80::1%eth0``) kept as written;
- a DNS name in lower case without a trailing dot.

Other numeric spellings that the C library would still read as an IPv4 address (hex ``0x0a``, octal
``012``, fewer than four parts ``10.1``, one number ``3232235777``) are refused by validation
(:func:`numeric_spelling` names the address they stand for), as is a zone id that is not an interface
name or index.
"""

from __future__ import annotations

import ipaddress
import re

ZONE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}")
"""An interface name (at most 15 characters, Linux's IFNAMSIZ - 1) or index: nothing a shell reads."""

_INET_ATON_PART = re.compile(r"0[xX][0-9A-Fa-f]*|[0-9]+")


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` spells in standard notation (an IPv4-mapped IPv6 address as its IPv4
    address), or None when it is a name or no address."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def canonical_host(host: str) -> str:
    """The one spelling of ``host`` used as its key everywhere. Never raises: what is not an address is
    returned as a lower-case name (validation refuses what is neither)."""
    address = ip_literal(host)
    if address is not None:
        return str(address)  # compressed; an IPv6 zone id is kept as written (interface names have case)
    name = host.strip().lower()
    return name[:-1] if name.endswith(".") else name


def looks_numeric(host: str) -> bool:
    """True when every dot-separated part of ``host`` is a number (decimal, octal or hex): the C library
    reads such a name as an IPv4 address, never as a DNS name."""
    name = host.strip()
    name = name[:-1] if name.endswith(".") else name
    parts = name.split(".")
    return 1 <= len(parts) <= 4 and all(_INET_ATON_PART.fullmatch(part) for part in parts)


def numeric_spelling(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a numeric spelling stands for as inet_aton(3) reads it (``0x0a.0xd5.0.0xab``,
    ``012.1``, ``167772161``); None when ``host`` is no such spelling or no valid one."""
    if not looks_numeric(host):
        return None
    name = host.strip()
    parts = (name[:-1] if name.endswith(".") else name).split(".")
    try:
        values = [_number(part) for part in parts]
    except ValueError:
        return None  # "0x" alone, or 8 or 9 in an octal part
    *head, last = values
    if any(value > 255 for value in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for value in head:
        number = number << 8 | value
    return ipaddress.IPv4Address(number << 8 * (4 - len(head)) | last)


def _number(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:], 16)  # ValueError for "0x" alone
    return int(part, 8) if len(part) > 1 and part.startswith("0") else int(part)
