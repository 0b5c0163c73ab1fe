"""What a personal access token's scope allows: one rule, checked for every request it authenticates.

- ``read``: every safe request (GET, HEAD) and the progress WebSocket: history, servers, logs, metrics.
- ``setup``: ``read``, plus starting and cancelling setups and fleets (POST under ``/api/setup/`` and
  ``/api/fleets``).
- ``admin``: everything the token's user may do (a scope never adds rights the user lacks).

A login (password, cookie) has no scope: it may do everything its user may.
"""

from __future__ import annotations

from enum import StrEnum

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SETUP_PREFIXES = ("/api/setup/", "/api/fleets")


class Scope(StrEnum):
    """A token's scope (stored as these strings), narrowest first."""

    READ = "read"
    SETUP = "setup"
    ADMIN = "admin"


def scope_allows(scope: Scope, method: str, path: str) -> bool:
    """Whether a token of ``scope`` may make the request ``method path`` (``path``: the route's path)."""
    if scope is Scope.ADMIN or method.upper() in _SAFE_METHODS:
        return True
    return scope is Scope.SETUP and method.upper() == "POST" and path.startswith(_SETUP_PREFIXES)


def needed_scope(method: str, path: str) -> Scope:
    """The narrowest scope that allows the request (for the refusal's message)."""
    for scope in Scope:
        if scope_allows(scope, method, path):
            return scope
    return Scope.ADMIN
