"""Response headers: nothing from ``/api/`` is cached or content-sniffed; static files are not sniffed."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
STATIC_HEADERS = {"X-Content-Type-Options": "nosniff"}
STATIC_PREFIXES = ("/static/", "/docs-assets/")


class ApiHeadersMiddleware:
    """Adds :data:`API_HEADERS` (unless a route set its own) to HTTP responses under ``/api/``, and
    :data:`STATIC_HEADERS` to static files (``/static/``, Swagger UI's ``/docs-assets/``).

    Pure ASGI, so streaming responses and WebSockets pass through untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/api/"):
            added = API_HEADERS
        elif scope["path"].startswith(STATIC_PREFIXES):
            added = STATIC_HEADERS
        else:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in added.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
