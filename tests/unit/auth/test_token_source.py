"""Where a request's token is read from: the Authorization header, else the cookie — never the URL."""

from __future__ import annotations

from starlette.requests import Request

from setupwizard.auth.deps import COOKIE_NAME, request_token


def request(headers: dict[str, str], query: str = "") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request(
        {"type": "http", "method": "GET", "path": "/", "headers": raw, "query_string": query.encode()}
    )


def test_bearer_header_is_used() -> None:
    assert request_token(request({"Authorization": "Bearer abc"})) == "abc"
    assert request_token(request({"Authorization": "bearer   abc  "})) == "abc"


def test_cookie_is_used_without_a_header() -> None:
    assert request_token(request({"Cookie": f"{COOKIE_NAME}=from-cookie"})) == "from-cookie"


def test_header_wins_over_the_cookie() -> None:
    both = request({"Authorization": "Bearer from-header", "Cookie": f"{COOKIE_NAME}=from-cookie"})
    assert request_token(both) == "from-header"


def test_other_schemes_and_the_query_string_are_ignored() -> None:
    assert request_token(request({"Authorization": "Basic YWRtaW46cHc="})) is None
    assert request_token(request({"Authorization": "Bearer "})) is None
    assert request_token(request({}, query=f"token=abc&access_token=abc&{COOKIE_NAME}=abc")) is None
