"""The guard in front of every route that makes the service connect to a server (test-connection,
auto-setup, trusting a new host key): the target must not be in ``SETUPWIZARD_TARGET_DENY``, and the user
must be within their connection attempts per minute. Attached by the app to the setup and servers routers;
other requests pass through."""

from __future__ import annotations

import math

from starlette.requests import HTTPConnection, Request

from setupwizard.auth.deps import get_current_user
from setupwizard.config import Settings
from setupwizard.core.errors import AppError
from setupwizard.core.networks import TargetPolicy, own_addresses
from setupwizard.servers.targets import ConnectAttempts

GUARDED_PATHS = frozenset(
    {"/api/setup/auto-setup", "/api/setup/test-connection", "/api/servers/known-hosts/trust"}
)


class TargetDeniedError(AppError):
    """The server address is in a refused network: 403 naming the field (never the value)."""

    def __init__(self) -> None:
        super().__init__(
            403,
            "target_denied",
            "This server address is not allowed: the service refuses its own host's, loopback, link-local "
            "and cloud metadata addresses (SETUPWIZARD_TARGET_DENY, SETUPWIZARD_TARGET_DENY_OWN_ADDRESSES)",
            field="host",
        )


def target_rules(conn: HTTPConnection) -> tuple[TargetPolicy, ConnectAttempts]:
    """The app's deny list and per-user connection attempts (built on first use)."""
    return _state(conn)


def _state(conn: HTTPConnection) -> tuple[TargetPolicy, ConnectAttempts]:
    app = conn.app
    policy: TargetPolicy | None = getattr(app.state, "target_policy", None)
    attempts: ConnectAttempts | None = getattr(app.state, "connect_attempts", None)
    if policy is None or attempts is None:
        settings: Settings = app.state.settings
        own = own_addresses() if settings.target_deny_own_addresses else []
        policy = app.state.target_policy = TargetPolicy([*settings.target_deny, *own])
        attempts = app.state.connect_attempts = ConnectAttempts(settings.connect_attempts_per_minute)
    return policy, attempts


async def connection_guard(conn: HTTPConnection) -> None:
    """Refuse a denied target (403 ``target_denied``) or too many attempts (429 with Retry-After).

    Runs before the body is validated: a body that is not an object, or a host that is not a string,
    is left to the validation (422).
    """
    if not isinstance(conn, Request) or conn.method != "POST" or conn.url.path not in GUARDED_PATHS:
        return
    try:
        body = await conn.json()  # FastAPI has read and parsed it already: this is the cached value
    except Exception:
        return
    if not isinstance(body, dict) or not isinstance(body.get("host"), str):
        return
    port = body.get("port", 22)
    policy, attempts = _state(conn)
    user = await get_current_user(conn)
    wait = attempts.take(user.id)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise AppError(
            429,
            "too_many_attempts",
            f"Too many connection attempts; try again in {seconds} seconds",
            headers={"Retry-After": str(seconds)},
        )
    if await policy.denies(body["host"], port if isinstance(port, int) else 22):
        raise TargetDeniedError()
