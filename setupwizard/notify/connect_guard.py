"""The deny list where a delivery really connects.

``reach.py`` checks the hosts a URL names, when it is saved and before each delivery. Between that check and
apprise's own connection a name may resolve elsewhere (DNS rebinding), and a receiver that is allowed may
answer with an HTTP redirect that apprise follows into a denied network. So, while a notification is sent
(:func:`guarded`), every TCP connection urllib3 opens (apprise's HTTP plugins send through requests) resolves
its host once, is refused when any address is in a denied network, and connects to the checked address
itself: nothing is resolved twice.

Only what runs inside :func:`guarded` is checked: a context variable carries the policy into the thread the
delivery runs in (``asyncio.to_thread`` copies it), and every other urllib3 connection of the process goes
through unchanged. Not covered: plugins that connect without urllib3 (mail through ``smtplib``, whose server
``reach.py`` still checks before each delivery), and an HTTP proxy configured for the service, whose own
address is the one checked here.
"""

from __future__ import annotations

import contextvars
import ipaddress
import socket
from collections.abc import Iterator
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


class DeniedConnectionError(OSError):
    """A delivery's connection would reach a denied network (the message names no host and no URL)."""


def _guarded_create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
    """urllib3's ``create_connection``; inside :func:`guarded`, to a checked address only."""
    guard = _GUARD.get()
    if guard is None:
        return _UNGUARDED(address, *args, **kwargs)
    host, port = address
    infos = socket.getaddrinfo(
        host.strip("[]"), port, urllib3_connection.allowed_gai_family(), socket.SOCK_STREAM
    )
    resolved: list[str] = []
    for *_, sockaddr in infos:
        literal = str(sockaddr[0])
        if guard.policy.denies_address(ipaddress.ip_address(literal.split("%", 1)[0])):
            guard.refused = True
            raise DeniedConnectionError("a notification's connection reaches a denied network")
        if literal not in resolved:
            resolved.append(literal)
    error: OSError = OSError("getaddrinfo returns an empty list")
    for literal in resolved:  # urllib3's own loop over the addresses, each given as a literal
        try:
            return _UNGUARDED((literal, port), *args, **kwargs)
        except OSError as exc:
            error = exc
    raise error


def _install() -> None:
    """Route urllib3's connections through the guard (once; without a policy it changes nothing)."""
    if urllib3_connection.create_connection is not _guarded_create_connection:
        urllib3_connection.create_connection = _guarded_create_connection


@contextmanager
def guarded(policy: TargetPolicy) -> Iterator[Guard]:
    """Within the block (and the threads started through ``asyncio.to_thread`` in it), urllib3 connects to
    no address ``policy`` denies; the guard yielded tells whether it refused one."""
    _install()
    guard = Guard(policy)
    token = _GUARD.set(guard)
    try:
        yield guard
    finally:
        _GUARD.reset(token)
