"""Typed errors for the web edge: each carries its HTTP status and a stable code; one handler renders them.

The engine's own errors (``setupwizard.provisioning.errors``) form a separate tree; they are translated
here, at the edge, by :func:`translate_provisioning_error`.

Shared: every domain's service and routes raise these, and ``app.py`` installs the handler.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from setupwizard.db.faults import HANDLED_ERRORS, DatabaseFaults, is_database_fault, is_unique_violation
from setupwizard.provisioning import errors as prov
from setupwizard.provisioning.messages import Msg

log = logging.getLogger(__name__)


class AppError(Exception):
    """An error a client is meant to see: ``{"detail": message, "code": code, "field": field}``."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        said: Msg | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers
        self.said = said

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of the response (with ``message_code``/``params`` when the message is catalogued)."""
        body: dict[str, Any] = {"detail": self.message, "code": self.code, "field": self.field}
        if self.said is not None:
            # A parameter may be any value the message renders (an IPv4Address, say): JSON gets its text.
            params = json.loads(json.dumps(self.said.params, default=str))
            body |= {"message_code": self.said.code, "params": params}
        return body


class NotAuthenticatedError(AppError):
    """No valid token or cookie: 401."""

    def __init__(self, message: str = "Not authenticated") -> None:
        super().__init__(401, "not_authenticated", message)


class ForbiddenError(AppError):
    """Authenticated, but not allowed: 403."""

    def __init__(self, message: str = "Forbidden", code: str = "forbidden") -> None:
        super().__init__(403, code, message)


class NotFoundError(AppError):
    """The thing does not exist (or is not the caller's): 404."""

    def __init__(self, message: str = "Not found", code: str = "not_found") -> None:
        super().__init__(404, code, message)


class ForeignSessionError(NotFoundError):
    """The session exists but belongs to another user: a 404 like a missing one, except where told apart."""


class ConflictError(AppError):
    """The request clashes with the current state (already exists, already running): 409."""

    def __init__(self, message: str, code: str = "conflict") -> None:
        super().__init__(409, code, message)


SAME_MOMENT = "Another request changed the same thing at the same moment: try again"


class DatabaseUnavailableError(AppError):
    """The database cannot be used right now (full, read-only, away): 503 with ``Retry-After``."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "database_unavailable",
            "The service's database is not available right now; try again shortly",
            headers={"Retry-After": "30"},
        )


class InvalidRequestError(AppError):
    """A value was rejected: 422 naming the field."""

    def __init__(self, field: str, message: str, code: str = "invalid_input") -> None:
        super().__init__(422, code, message, field)


# Connection problems are the remote side's fault (502); a changed host key is a
# conflict with what was recorded (409); the rest of the engine's errors concern the server's state (422/502).
_PROVISIONING_STATUS: list[tuple[type[prov.ProvisioningError], int]] = [
    (prov.InvalidInputError, 422),
    (prov.HostKeyChangedError, 409),
    (prov.AuthenticationFailedError, 502),
    (prov.ConnectError, 502),
    (prov.UnsupportedOSError, 422),
    (prov.SudoRefusedError, 502),
    (prov.LockoutPreventedError, 502),
    (prov.CommandFailedError, 502),
    (prov.ProvisioningError, 502),
]


# Refused, filtered (timeout) and no route are one answer: telling them apart would let a user map which
# ports and hosts of the service's own network are open.
_UNREACHABLE = prov.UnreachableError
UNREACHABLE_MESSAGE = "无法连接到服务器的 SSH 端口：连接被拒绝、被过滤或没有路由。请检查地址、端口和防火墙"


def translate_provisioning_error(exc: prov.ProvisioningError) -> AppError:
    """The engine's error as an :class:`AppError` (status, the engine's stable ``code``, field if any)."""
    if isinstance(exc, _UNREACHABLE):
        return AppError(502, "unreachable", UNREACHABLE_MESSAGE)
    status = next(code for kind, code in _PROVISIONING_STATUS if isinstance(exc, kind))
    if isinstance(exc, prov.InvalidInputError):
        return AppError(status, exc.code, exc.reason, exc.field, said=exc.said)
    if isinstance(exc, prov.HostKeyChangedError):  # both fingerprints and the remedy, for any language
        return AppError(status, exc.code, str(exc), said=exc.msg)
    return AppError(status, exc.code, str(exc))


def _validation_field(exc: RequestValidationError) -> tuple[str | None, str]:
    errors = exc.errors()
    if not errors:
        return None, "Invalid request"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return None, "The request body is not valid JSON"
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(location) or None
    message = _message_without_input(first)
    return field, f"{field}: {message}" if field else message


def _message_without_input(error: Any) -> str:
    """Pydantic's message, unless it quotes the rejected input (a secret, or an injection payload)."""
    message = str(error.get("msg", "Invalid value"))
    rejected = error.get("input")
    if error.get("type", "").startswith("uuid_"):
        return "Input should be a valid UUID"
    if isinstance(rejected, str | int | float) and len(str(rejected)) >= 2 and str(rejected) in message:
        return "Invalid value"
    return message


_HTTP_CODES = {
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    414: "url_too_long",
}
_UNPARSABLE_BODY = (UnicodeDecodeError, RecursionError)


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> str:
    """The methods some route of the app fully takes on the request's path (``Allow`` of a 405, RFC 9110)."""
    routes = request.app.router.routes
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in routes):
            allowed.append(method)
    return ", ".join(allowed)


def install_error_handlers(app: FastAPI) -> None:
    """Render AppError, engine errors, validation errors and HTTP errors as one JSON shape."""

    async def app_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
        headers.update(exc.headers or {})
        return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers or None)

    async def provisioning_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, prov.ProvisioningError)
        return await app_error(request, translate_provisioning_error(exc))

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        field, message = _validation_field(exc)
        # Pydantic echoes the rejected input in its error list; we never send it back (it may be a secret).
        body = {"detail": message, "code": "invalid_input", "field": field}
        return JSONResponse(body, status_code=422)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400 and isinstance(exc.__cause__, _UNPARSABLE_BODY):
            # FastAPI answers 400 for a body that is not UTF-8 or nests too deep to parse; it is bad input.
            unparsable = InvalidRequestError("body", "The request body is not valid JSON (UTF-8)")
            return JSONResponse({**unparsable.to_dict(), "field": None}, status_code=422)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        body = {"detail": str(exc.detail), "code": code, "field": None}
        headers = exc.headers
        if exc.status_code == 405:  # every method of the path, not only those of the first route that matched
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    async def unexpected_error(_: Request, exc: Exception) -> JSONResponse:
        # The traceback goes to the log (by the server); the client gets the same shape as every other error.
        body = {"detail": "Internal server error", "code": "internal_error", "field": None}
        return JSONResponse(body, status_code=500)

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        if is_unique_violation(exc):
            # Two requests wrote the same row at the same moment (one name saved twice at once): the later one
            # is refused by the unique index. The client may try again; the routes that can do better do
            # (a host key is an upsert, a user name answers user_exists). No SQL or values in the log.
            path = request.url.path
            log.warning("%s %s: a row was written twice at once; answered 409", request.method, path)
            return await app_error(request, ConflictError(SAME_MOMENT))
        if not is_database_fault(exc):  # a failing query is a bug: 500, with the traceback in the log
            log.error("Unexpected database error in %s %s", request.method, request.url.path, exc_info=exc)
            return await unexpected_error(request, exc)
        # Full disk, read-only or unreachable database: the client may retry; the log says it once a minute.
        faults: DatabaseFaults | None = getattr(request.app.state, "db_faults", None)
        if faults is not None:
            faults.record(exc)
        return await app_error(request, DatabaseUnavailableError())

    app.add_exception_handler(AppError, app_error)
    for kind in HANDLED_ERRORS:
        app.add_exception_handler(kind, database_error)
    app.add_exception_handler(Exception, unexpected_error)
    app.add_exception_handler(prov.ProvisioningError, provisioning_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
