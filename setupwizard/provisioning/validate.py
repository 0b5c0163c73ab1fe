"""Input checks that run before anything touches a server.

Every value that later reaches a remote shell is checked here against a strict pattern, and quoted
again where it is used. Errors name the API field so the web layer can point at it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import asyncssh

from setupwizard.provisioning.address import (
    ZONE_ID,
    canonical_host,
    ip_literal,
    looks_numeric,
    numeric_spelling,
)
from setupwizard.provisioning.errors import InvalidInputError
from setupwizard.provisioning.messages import msg
from setupwizard.provisioning.target import (
    CONFIRM_TIMEOUT_RANGE,
    AdminUser,
    SetupOptions,
    SshHardening,
    Target,
)

USERNAME_PATTERN = r"^[a-z_][a-z0-9_-]*[$]?$"
"""A login name, as the API schema states it (at most 32 characters)."""
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
PORT_SPEC_PATTERN = rf"^{_PORT}(?:/(?:tcp|udp)|:{_PORT}/(?:tcp|udp))?$"
"""A firewall port or range as the API schema states it (a range's start must also be below its end)."""
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME_PATTERN = rf"^(?:{_LABEL}\.)*(?![0-9]+$){_LABEL}$"
"""A host name to set, as the API schema states it (at most 253 characters)."""
TIMEZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9][A-Za-z0-9_+-]*){0,2}$"
"""A tz database name, as the API schema states it (at most 64 characters)."""
PACKAGE_PATTERN = r"^[a-z0-9][a-z0-9+.-]+$"
"""A Debian package name, as the API schema states it (at most 128 characters)."""
FINGERPRINT_PATTERN = r"^SHA256:[A-Za-z0-9+/]{43}$"
"""A host key pin, as the API schema states it."""
_USERNAME = re.compile(USERNAME_PATTERN)
_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+")
_PORT_SPEC = re.compile(r"(?P<start>[1-9][0-9]{0,4})(?::(?P<end>[1-9][0-9]{0,4}))?(?:/(?P<proto>tcp|udp))?")
_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")
# tz database names: Area/Location[/Sublocation], Etc/GMT+8, UTC (no dots: no path tricks)
_TIMEZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9][A-Za-z0-9_+-]*){0,2}")
PERMIT_ROOT_LOGIN = ("no", "prohibit-password")
MAX_SECRET_CHARS = 1024

MAX_PACKAGES = 200
MAX_FIREWALL_PORTS = 100
MAX_SCRIPT_BYTES = 256 * 1024


@dataclass(frozen=True)
class PortSpec:
    """A firewall port or range, already validated: ``80``, ``80/tcp``, ``60000:61000/udp``."""

    start: int
    end: int | None = None
    proto: str | None = None

    def __str__(self) -> str:
        text = str(self.start) if self.end is None else f"{self.start}:{self.end}"
        return f"{text}/{self.proto}" if self.proto else text


def check_host(host: object) -> str:
    """An IPv4 or IPv6 address, or a DNS name; returns its canonical spelling (:func:`canonical_host`).

    Refused: other numeric spellings of an IPv4 address (``0x0a.0xd5.0.0xab``: the message names the
    dotted quad to write instead) and an IPv6 zone id that is not an interface name or index.
    """
    if not isinstance(host, str) or not host.strip():
        raise InvalidInputError("host", msg("invalid.host_missing"))
    address = ip_literal(host)
    if address is not None:
        zone = address.scope_id if isinstance(address, ipaddress.IPv6Address) else None
        if zone is not None and not ZONE_ID.fullmatch(zone):
            raise InvalidInputError("host", msg("invalid.zone_id"))
        return canonical_host(host)
    if looks_numeric(host):
        meant = numeric_spelling(host)
        said = (
            msg("invalid.ipv4_spelling_meant", meant=meant)
            if meant is not None
            else msg("invalid.ipv4_spelling")
        )
        raise InvalidInputError("host", said)
    name = canonical_host(host)
    labels = name.split(".")
    if len(name) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise InvalidInputError("host", msg("invalid.host"))
    return name


def check_port(port: object, field: str = "port") -> int:
    """A TCP port 1–65535."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidInputError(field, msg("invalid.port"))
    return port


def check_username(username: object) -> str:
    """A POSIX-style login name, at most 32 characters."""
    if not isinstance(username, str) or len(username) > 32 or not _USERNAME.fullmatch(username):
        raise InvalidInputError("username", msg("invalid.username"))
    return username


def check_package(name: object) -> str:
    """A Debian package name (policy §5.6.1)."""
    if not isinstance(name, str) or len(name) > 128 or not _PACKAGE.fullmatch(name):
        raise InvalidInputError("packages", msg("invalid.package"))
    return name


def parse_port_spec(spec: object) -> PortSpec:
    """``80``, ``80/tcp`` or ``60000:61000/udp`` (a range needs a protocol, as ufw requires)."""
    match = _PORT_SPEC.fullmatch(spec) if isinstance(spec, str) else None
    if match is None:
        raise InvalidInputError("firewall_ports", msg("invalid.port_spec"))
    start = int(match["start"])
    end = int(match["end"]) if match["end"] else None
    proto = match["proto"]
    if not 1 <= start <= 65535 or (end is not None and not start < end <= 65535):
        raise InvalidInputError("firewall_ports", msg("invalid.port_range"))
    if end is not None and proto is None:
        raise InvalidInputError("firewall_ports", msg("invalid.range_proto"))
    return PortSpec(start, end, proto)


def validate_target(target: Target) -> None:
    """Check a target's host, port, username, credentials and pinned fingerprint.

    :raises InvalidInputError: naming the field (``host``, ``port``, ``username``, ``password``,
        ``private_key``, ``sudo_password`` or ``host_key_fingerprint``). No message contains a secret.
    """
    check_host(target.host)
    check_port(target.port)
    check_username(target.username)
    if not target.password and not target.private_key:
        raise InvalidInputError("password", msg("invalid.login_missing"))
    if target.private_key:
        try:
            asyncssh.import_private_key(target.private_key, target.passphrase or None)
        except (asyncssh.KeyImportError, ValueError, TypeError):
            raise InvalidInputError("private_key", msg("invalid.private_key")) from None
    for field, secret in (("password", target.password), ("sudo_password", target.sudo_password)):
        if secret is not None and ("\n" in secret or "\r" in secret or "\0" in secret):
            raise InvalidInputError(field, msg("invalid.password_chars"))
    pin = target.host_key_fingerprint
    if pin is not None and not _FINGERPRINT.fullmatch(pin):
        raise InvalidInputError("host_key_fingerprint", msg("invalid.fingerprint"))


def validate_options(options: SetupOptions) -> None:
    """Check package names, firewall port specs, the optional script and the optional steps' inputs.

    :raises InvalidInputError: naming the field (``packages``, ``firewall_ports``, ``script``,
        ``hostname``, ``timezone``, ``admin.*``, ``ssh_hardening.*``); never echoing a secret.
    """
    if not isinstance(options.packages, list) or len(options.packages) > MAX_PACKAGES:
        raise InvalidInputError("packages", msg("invalid.too_many_packages", limit=MAX_PACKAGES))
    for name in options.packages:
        check_package(name)
    if not isinstance(options.firewall_ports, list) or len(options.firewall_ports) > MAX_FIREWALL_PORTS:
        raise InvalidInputError("firewall_ports", msg("invalid.too_many_ports", limit=MAX_FIREWALL_PORTS))
    for spec in options.firewall_ports:
        parse_port_spec(spec)
    if options.script is not None:
        if not isinstance(options.script, str):
            raise InvalidInputError("script", msg("invalid.script_type"))
        if "\0" in options.script:
            raise InvalidInputError("script", msg("invalid.script_nul"))
        if len(options.script.encode()) > MAX_SCRIPT_BYTES:
            raise InvalidInputError("script", msg("invalid.script_size", kib=MAX_SCRIPT_BYTES // 1024))
    if options.hostname is not None:
        check_hostname(options.hostname)
    if options.timezone is not None:
        check_timezone(options.timezone)
    if options.admin is not None:
        check_admin(options.admin)
    if options.ssh_hardening is not None:
        check_ssh_hardening(options.ssh_hardening)


def check_hostname(name: object) -> str:
    """A host name after RFC 1123: labels of letters, digits and ``-`` (not at either end), 1–63 each,
    at most 253 in all; a fully qualified name is allowed."""
    labels = name.split(".") if isinstance(name, str) else []
    if (
        not isinstance(name, str)
        or not 1 <= len(name) <= 253
        or not all(_DNS_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise InvalidInputError("hostname", msg("invalid.hostname"))
    return name


def check_timezone(zone: object) -> str:
    """A tz database name such as ``Asia/Shanghai`` or ``Etc/UTC`` (the server checks it is known)."""
    if not isinstance(zone, str) or len(zone) > 64 or not _TIMEZONE.fullmatch(zone):
        raise InvalidInputError("timezone", msg("invalid.timezone"))
    return zone


def check_public_key(key: object) -> str:
    """One OpenSSH public key line (``ssh-ed25519 AAAA... comment``), as authorized_keys takes it."""
    if not isinstance(key, str) or not key.strip() or len(key) > 16384:
        raise InvalidInputError("admin.public_key", msg("invalid.public_key_missing"))
    line = key.strip()
    if "\n" in line or "\r" in line or "\0" in line:
        raise InvalidInputError("admin.public_key", msg("invalid.public_key_lines"))
    try:
        asyncssh.import_public_key(line)
    except (asyncssh.KeyImportError, ValueError, TypeError):
        raise InvalidInputError("admin.public_key", msg("invalid.public_key")) from None
    return line


def check_admin(admin: AdminUser) -> None:
    """The admin user: a new login name (not root), a key (pasted or generated), and a sudo password or
    NOPASSWD (or neither: then the user can log in with the key, and sudo asks for a password never set)."""
    try:
        check_username(admin.username)
    except InvalidInputError:
        raise InvalidInputError("admin.username", msg("invalid.username")) from None
    if admin.username == "root":
        raise InvalidInputError("admin.username", msg("invalid.admin_root"))
    if admin.generate_key and admin.public_key:
        raise InvalidInputError("admin.public_key", msg("invalid.key_choice"))
    if not admin.generate_key:
        if admin.public_key is None:
            raise InvalidInputError("admin.public_key", msg("invalid.key_missing"))
        check_public_key(admin.public_key)
    password = admin.sudo_password
    if password is not None:
        if admin.nopasswd:
            raise InvalidInputError("admin.nopasswd", msg("invalid.sudo_choice"))
        if not password or len(password) > MAX_SECRET_CHARS or any(c in password for c in "\n\r\0"):
            raise InvalidInputError("admin.sudo_password", msg("invalid.sudo_password"))


def check_ssh_hardening(hardening: SshHardening) -> None:
    """``PermitRootLogin`` value and the optional new port."""
    if hardening.permit_root_login not in PERMIT_ROOT_LOGIN:
        raise InvalidInputError("ssh_hardening.permit_root_login", msg("invalid.permit_root_login"))
    if hardening.port is not None:
        check_port(hardening.port, "ssh_hardening.port")
    low, high = CONFIRM_TIMEOUT_RANGE
    timeout = hardening.confirm_timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not low <= timeout <= high:
        raise InvalidInputError(
            "ssh_hardening.confirm_timeout",
            msg("invalid.confirm_timeout", low=low, high=high, value=_shown(timeout)),
        )


def _shown(value: object) -> str:
    """A rejected value, shortened and made printable for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
