"""Who may open the WebSocket (or send a cookie-authenticated POST): own origin or the allow-list."""

from __future__ import annotations

import pytest
from starlette.requests import HTTPConnection

from setupwizard.auth.deps import origin_allowed, own_origin
from setupwizard.config import Settings


def connection(host: str, origin: str | None, kind: str = "websocket", scheme: str = "ws") -> HTTPConnection:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    scope = {"type": kind, "scheme": scheme, "path": "/api/x", "headers": headers, "query_string": b""}
    return HTTPConnection(scope)


SETTINGS = Settings(allowed_origins=["https://wizard.example.com"])


@pytest.mark.parametrize(
    ("host", "origin", "scheme", "allowed"),
    [
        ("127.0.0.1:8000", None, "ws", True),  # CLI and API clients send no Origin
        ("127.0.0.1:8000", "http://127.0.0.1:8000", "ws", True),
        ("127.0.0.1:8000", "HTTP://127.0.0.1:8000", "ws", True),
        ("example.org", "http://example.org:80", "ws", True),  # default port spelled out
        ("example.org", "https://example.org", "wss", True),
        ("127.0.0.1:8000", "http://evil.example:8000", "ws", False),
        ("127.0.0.1:8000", "http://127.0.0.1:8001", "ws", False),  # another port is another origin
        ("127.0.0.1:8000", "https://127.0.0.1:8000", "ws", False),  # another scheme too
        ("127.0.0.1:8000", "null", "ws", False),  # sandboxed frames, file:// pages
        ("127.0.0.1:8000", "", "ws", False),
        ("127.0.0.1:8000", "http://127.0.0.1:8000.evil.example", "ws", False),
        ("127.0.0.1:8000", "https://wizard.example.com", "ws", True),  # the allow-list
        ("127.0.0.1:8000", "https://wizard.example.com:443", "ws", True),
        ("127.0.0.1:8000", "http://wizard.example.com", "ws", False),
    ],
)
def test_origin_check(host: str, origin: str | None, scheme: str, allowed: bool) -> None:
    assert origin_allowed(connection(host, origin, scheme=scheme), SETTINGS) is allowed


def test_plain_http_requests_are_checked_the_same_way() -> None:
    request = connection("127.0.0.1:8000", "http://127.0.0.1:8000", kind="http", scheme="http")
    assert origin_allowed(request, SETTINGS)
    evil = connection("127.0.0.1:8000", "http://evil.example", kind="http", scheme="http")
    assert not origin_allowed(evil, SETTINGS)


def test_own_origin_uses_the_http_scheme_of_a_websocket() -> None:
    assert own_origin(connection("example.org:9000", None, scheme="wss")) == "https://example.org:9000"
