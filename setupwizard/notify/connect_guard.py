"""The deny list where a delivery really connects.

``reach.py`` checks the hosts a URL names, when it is saved and before each delivery. Between that check and
apprise's own connection a name may resolve elsewhere (DNS rebinding), and a receiver that is allowed may
answer with an HTTP redirect that apprise follows into a denied network. So, while a notification is sent
(:func:`guarded`), every TCP connection urllib3 opens (apprise's HTTP plugins send through requests) and
every one ``smtplib`` opens (mail) resolves its host once, is refused when any address is in a denied
network, and connects to the checked address itself: nothing is resolved twice. TLS still checks the
certificate against the name (urllib3 and smtplib give the name, not the address, to the handshake).

Only what runs inside :func:`guarded` is checked: a context variable carries the policy into the thread the
delivery runs in (``asyncio.to_thread`` copies it), and every other urllib3 connection of the process goes
through unchanged. Not covered: an HTTP proxy configured for the service, whose own address is the one checked
here, and plugins that open sockets some other way (none of apprise's HTTP and mail plugins do).
"""

from __future__ import annotations

import contextvars
import ipaddress
import smtplib
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import urllib3.util.connection as urllib3_connection

from setupwizard.core.networks import TargetPolicy


@dataclass
class Guard:
    """The policy of one delivery, and whether it refused a connection (apprise only says it failed)."""

    policy: TargetPolicy
    refused: bool = False


_GUARD: contextvars.ContextVar[Guard | None] = contextvars.ContextVar("notify_guard", default=None)
_UNGUARDED = urllib3_connection.create_connection
# smtplib's own connect (private, so not in typeshed): SMTP.connect and SMTP_SSL call it for every server.
_UNGUARDED_SMTP: Callable[[smtplib.SMTP, str, int, float], socket.socket] = smtplib.SMTP._get_socket  # type: ignore[attr-defined]


class DeniedConnectionError(OSError):
    """A delivery's connection would reach a denied network (the message names no host and no URL)."""


def _checked_literals(guard: Guard, host: str, port: int, family: int) -> list[str]:
    """The addresses ``host`` resolves to, once, as literals; raises when any of them is denied."""
    resolved: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host.strip("[]"), port, family, socket.SOCK_STREAM):
        literal = str(sockaddr[0])
        if guard.policy.denies_address(ipaddress.ip_address(literal.split("%", 1)[0])):
            guard.refused = True
            raise DeniedConnectionError("a notification's connection reaches a denied network")
        if literal not in resolved:
            resolved.append(literal)
    return resolved


def _first_that_connects(literals: list[str], connect: Callable[[str], socket.socket]) -> socket.socket:
    """``connect`` to each address in turn (as ``socket.create_connection`` tries them); the last error."""
    error: OSError = OSError("getaddrinfo returns an empty list")
    for literal in literals:
        try:
            return connect(literal)
        except OSError as exc:
            error = exc
    raise error


def _guarded_create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
    """urllib3's ``create_connection``; inside :func:`guarded`, to a checked address only."""
    guard = _GUARD.get()
    if guard is None:
        return _UNGUARDED(address, *args, **kwargs)
    host, port = address
    literals = _checked_literals(guard, host, port, urllib3_connection.allowed_gai_family())
    return _first_that_connects(literals, lambda literal: _UNGUARDED((literal, port), *args, **kwargs))


def _guarded_smtp_socket(smtp: smtplib.SMTP, host: str, port: int, timeout: float) -> socket.socket:
    """``smtplib.SMTP._get_socket`` (SMTP_SSL wraps what it returns); inside :func:`guarded`, to a checked
    address only."""
    guard = _GUARD.get()
    if guard is None:
        return _UNGUARDED_SMTP(smtp, host, port, timeout)
    literals = _checked_literals(guard, host, port, socket.AF_UNSPEC)
    return _first_that_connects(literals, lambda literal: _UNGUARDED_SMTP(smtp, literal, port, timeout))


def _install() -> None:
    """Route urllib3's and smtplib's connections through the guard (once; without a policy it changes
    nothing)."""
    if urllib3_connection.create_connection is not _guarded_create_connection:
        urllib3_connection.create_connection = _guarded_create_connection
    if smtplib.SMTP._get_socket is not _guarded_smtp_socket:  # type: ignore[attr-defined]
        smtplib.SMTP._get_socket = _guarded_smtp_socket  # type: ignore[attr-defined]


@contextmanager
def guarded(policy: TargetPolicy) -> Iterator[Guard]:
    """Within the block (and the threads started through ``asyncio.to_thread`` in it), urllib3 and smtplib
    connect to no address ``policy`` denies; the guard yielded tells whether it refused one."""
    _install()
    guard = Guard(policy)
    token = _GUARD.set(guard)
    try:
        yield guard
    finally:
        _GUARD.reset(token)
