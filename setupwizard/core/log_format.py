"""How log lines look: readable text (the default) or, with ``SETUPWIZARD_LOG_FORMAT=json``, one JSON object
per line carrying the request id, user id and session id where they are known.

The ids live in context variables: the request middleware sets the request id (the client's
``X-Request-Id`` when it is sane, else a fresh one, echoed in the answer), authentication the user id,
and the setup service the session id before it starts the run's task, which inherits all three.

Shared: ``app.py`` and ``cli/serve.py`` choose the format, ``auth/`` and ``setup/`` set the ids.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import LOGGING_CONFIG

REQUEST_ID: ContextVar[str | None] = ContextVar("setupwizard_request_id", default=None)
USER_ID: ContextVar[int | None] = ContextVar("setupwizard_user_id", default=None)
SESSION_ID: ContextVar[str | None] = ContextVar("setupwizard_session_id", default=None)
TEXT_FORMAT = "%(levelname)-9s %(name)s: %(message)s"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def bind_user(user_id: int) -> None:
    """The user the current request or socket acts for (logged as ``user_id``)."""
    USER_ID.set(user_id)


def bind_request(request_id: str | None) -> None:
    """The HTTP request the current task works for, where it is not that request's own task (a queued
    setup's job in a worker: logged as ``request_id``, so its lines lead back to the POST)."""
    REQUEST_ID.set(request_id)


def bind_session(session_id: str) -> None:
    """The setup session the current task works on (logged as ``session_id``)."""
    SESSION_ID.set(session_id)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time``, ``level``, ``logger``, ``message``, the known ids, and the
    traceback as ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, var in (("request_id", REQUEST_ID), ("user_id", USER_ID), ("session_id", SESSION_ID)):
            value = var.get()
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def formatter_for(log_format: str) -> logging.Formatter:
    """The formatter of ``SETUPWIZARD_LOG_FORMAT``."""
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def use_json_for_uvicorn() -> None:
    """Give uvicorn's own handlers (startup, errors, access lines) the JSON formatter too."""
    for name in UVICORN_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            handler.setFormatter(JsonFormatter())


class RequestIdMiddleware:
    """Gives every HTTP request and WebSocket a request id (the client's ``X-Request-Id`` when it is a short
    plain token, else a new one), sets it for the log lines it causes, and answers it in ``X-Request-Id``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SANE_REQUEST_ID.match(given) else uuid.uuid4().hex
        REQUEST_ID.set(request_id)
        USER_ID.set(None)
        SESSION_ID.set(None)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("X-Request-Id", request_id)
            await send(message)

        await self.app(scope, receive, send_with_id)


def uvicorn_log_config(log_format: str) -> dict[str, Any]:
    """uvicorn's ``log_config``: its own default, or with ``json`` every uvicorn line as JSON from the very
    first ("Started server process") on."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    if log_format == "json":
        for name in config["formatters"]:
            config["formatters"][name] = {"()": JsonFormatter}
    return config
