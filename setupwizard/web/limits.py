"""Request limits at the ASGI edge: body size (413) and URL length (414, or a refused WebSocket).

The body is counted as it arrives, so a chunked upload without ``Content-Length`` is cut off at the limit
too, and nothing larger than the limit is ever held in memory. A declared ``Content-Length`` over the limit
is refused before a byte of the body is read.
"""

from __future__ import annotations

import json

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
"""The largest request body accepted (1 MiB): a setup script fits many times over."""

MAX_URL_BYTES = 8192
"""The longest path plus query string accepted (what common proxies allow)."""


class BodyTooLargeError(HTTPException):
    """The body passed :data:`MAX_BODY_BYTES` while it was being read: 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than the limit of {limit} bytes")


def _too_large_message(limit: int) -> str:
    return f"The request body is larger than the limit of {limit} bytes"


def _error_body(status: int, code: str, detail: str) -> tuple[Message, Message]:
    payload = json.dumps({"detail": detail, "code": code, "field": None}).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": payload}


class RequestLimitsMiddleware:
    """Refuses over-long URLs (414; a WebSocket is closed before the handshake) and bodies over the limit
    (413 with the usual ``{detail, code, field}``)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        if len(raw_path) + len(scope.get("query_string", b"")) > MAX_URL_BYTES:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008, "reason": "URL too long"})
                return
            for message in _error_body(414, "url_too_long", f"The URL is longer than {MAX_URL_BYTES} bytes"):
                await send(message)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            for message in _error_body(413, "body_too_large", _too_large_message(limit)):
                await send(message)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        await self.app(scope, counted_receive, send)
