"""Who is calling: bearer token or session cookie for HTTP, cookie or header for the WebSocket.

A bearer token is a login's token or a personal access token (``swp_…``, see ``auth/tokens.py``), whose
scope is checked here for every request (``auth/scopes.py``). Tokens are never read from a URL. The
WebSocket (and any cookie-authenticated unsafe request) must come from the service's own origin or one
in ``settings.allowed_origins``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, WebSocket
from starlette.requests import HTTPConnection

from setupwizard.auth import service, tokens
from setupwizard.auth.scopes import Scope, needed_scope, scope_allows
from setupwizard.config import Settings
from setupwizard.core.errors import ForbiddenError, NotAuthenticatedError
from setupwizard.core.log_format import bind_user
from setupwizard.db.database import Database
from setupwizard.db.models import User

COOKIE_NAME = "setupwizard_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_HTTP_SCHEME = {"ws": "http", "wss": "https"}


def _bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _token(conn: HTTPConnection) -> tuple[str | None, bool]:
    """The token and whether it came from the cookie (the header wins when both are sent)."""
    bearer = _bearer(conn)
    if bearer:
        return bearer, False
    cookie = conn.cookies.get(COOKIE_NAME)
    return (cookie, True) if cookie else (None, False)


def _normalise_origin(origin: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme = _HTTP_SCHEME.get(parts.scheme.lower(), parts.scheme.lower())
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS.get(scheme, 0)


def own_origin(conn: HTTPConnection) -> str:
    """``scheme://host[:port]`` of the service as this client reached it (from the Host header)."""
    scheme = _HTTP_SCHEME.get(conn.url.scheme, conn.url.scheme)
    host = conn.headers.get("host") or conn.url.netloc
    return f"{scheme}://{host}"


def origin_allowed(conn: HTTPConnection, settings: Settings) -> bool:
    """True when the request carries no Origin (CLI/API clients) or its Origin is the service's own
    origin or listed in ``settings.allowed_origins``. A present but foreign Origin is refused."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    given = _normalise_origin(origin)
    if given is None:
        return False
    allowed = [own_origin(conn), *settings.allowed_origins]
    return any(given == _normalise_origin(candidate) for candidate in allowed)


def _database(conn: HTTPConnection) -> Database:
    db: Database = conn.app.state.db
    return db


def _settings(conn: HTTPConnection) -> Settings:
    settings: Settings = conn.app.state.settings
    return settings


async def _user_for(conn: HTTPConnection, token: str) -> User | None:
    """The user of a login token or a personal access token (its scope kept in ``conn.state``)."""
    user = await _lookup(conn, token)
    if user is not None:
        bind_user(user.id)  # the request's log lines name the user
    return user


async def _lookup(conn: HTTPConnection, token: str) -> User | None:
    # A short session of its own: the request's session (SessionDep) only opens when a handler uses it.
    async with _database(conn).session() as session:
        if tokens.looks_like_api_token(token):
            found = await tokens.authenticate(session, conn, token)
            if found is not None:
                conn.state.token_scope = found.scope
                return found.user
        return await service.user_for_token(session, token)


def token_scope(conn: HTTPConnection) -> Scope | None:
    """The scope of the personal access token this request came with; None for a login."""
    scope: Scope | None = getattr(conn.state, "token_scope", None)
    return scope


def _check_scope(request: Request) -> None:
    scope = token_scope(request)
    if scope is None:
        return
    route = request.scope.get("route")
    path = str(getattr(route, "path", request.url.path))
    if not scope_allows(scope, request.method, path):
        needed = needed_scope(request.method, path)
        raise ForbiddenError(
            f"This token's scope ({scope.value}) does not allow this; it needs scope {needed.value}",
            code="token_scope",
        )


async def get_current_user(request: Request) -> User:
    """The logged-in user, or 401. A cookie-authenticated unsafe request from a foreign Origin is 403."""
    token, from_cookie = _token(request)
    if not token:
        raise NotAuthenticatedError()
    user = await _user_for(request, token)
    if user is None:
        raise NotAuthenticatedError("Session expired or invalid; log in again")
    _check_scope(request)
    if (
        from_cookie
        and request.method not in _SAFE_METHODS
        and not origin_allowed(request, _settings(request))
    ):
        raise ForbiddenError("Cross-origin request refused", code="origin_refused")
    return user


async def get_current_admin(user: Annotated[User, Depends(get_current_user)]) -> User:
    """The logged-in user if an admin, else 403."""
    if not user.is_admin:
        raise ForbiddenError("Administrators only")
    return user


def request_token(request: Request) -> str | None:
    """The token the request authenticated with (for logout)."""
    return _token(request)[0]


async def authenticate_websocket(ws: WebSocket) -> User | None:
    """The user of a WebSocket handshake (cookie or Authorization header), or None.

    Call before ``ws.accept()``; check :func:`origin_allowed` first. Never reads a token from the URL.
    """
    token, _ = _token(ws)
    if not token:
        return None
    return await _user_for(ws, token)


CurrentUser = Annotated[User, Depends(get_current_user)]
AdminUser = Annotated[User, Depends(get_current_admin)]
