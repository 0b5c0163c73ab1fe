"""Every route needs a login except a short, explicit list: a new unauthenticated route fails here.

Routes are read from the app itself, so this test grows with the service.
"""

from __future__ import annotations

import re

import pytest
import websockets
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Mount, WebSocketRoute

from setupwizard.app import create_app
from setupwizard.auth.deps import COOKIE_NAME
from setupwizard.config import Settings
from tests.integration.web.live import LiveServer

PUBLIC_API = {("GET", "/api/health"), ("POST", "/api/auth/login")}
SAMPLE = "00000000-0000-4000-8000-000000000001"


def listing_app() -> FastAPI:
    return create_app(Settings())


def _paths(routes: list[BaseRoute]) -> set[str]:
    return {ctx.path for ctx in iter_route_contexts(routes) if ctx.path}


def public_non_api_paths() -> set[str]:
    """The HTML pages (their data comes from the API, which checks) and the API docs."""
    from setupwizard.web.pages import router as pages

    app = listing_app()
    docs = {app.docs_url, app.redoc_url, app.openapi_url, app.swagger_ui_oauth2_redirect_url, "/docs"}
    return _paths(pages.routes) | {path for path in docs if path}


def concrete(path: str) -> str:
    path = re.sub(r"\{[^}:]+:int\}", "1", path)  # a parameter that only matches digits
    return re.sub(r"\{[^}]+\}", SAMPLE, path)


def http_routes() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for ctx in iter_route_contexts(listing_app().routes):
        if ctx.methods and ctx.path:
            found += [(method, ctx.path) for method in sorted(ctx.methods - {"HEAD", "OPTIONS"})]
    return found


def protected_http_routes() -> list[tuple[str, str]]:
    public_pages = public_non_api_paths()
    return [(m, p) for m, p in http_routes() if (m, p) not in PUBLIC_API and p not in public_pages]


def websocket_routes() -> list[str]:
    return [
        ctx.path
        for ctx in iter_route_contexts(listing_app().routes)
        if isinstance(ctx.original_route, WebSocketRoute) and ctx.path
    ]


def mounts() -> list[str]:
    return [
        ctx.path
        for ctx in iter_route_contexts(listing_app().routes)
        if isinstance(ctx.original_route, Mount) and ctx.path
    ]


def test_the_route_listing_sees_the_service() -> None:
    routes = set(protected_http_routes())
    for expected in [
        ("GET", "/api/auth/me"),
        ("POST", "/api/auth/logout"),
        ("GET", "/api/servers/sudo"),
        ("DELETE", "/api/servers/sudo/{sudo_id:int}"),  # not /sudo/prefill (a 405 there)
        ("GET", "/api/servers/known-hosts"),
    ]:
        assert expected in routes
    # /docs-assets: Swagger UI's own files (public, like /static)
    assert set(mounts()) <= {"/static", "/docs-assets"}, (
        "a new mounted app needs a look at its authentication"
    )
    assert websocket_routes() == [
        "/api/setup/setup-progress/{session_id}",
        "/api/fleets/{fleet_id:uuid}/progress",
    ]


@pytest.mark.parametrize(
    "credentials",
    [{}, {"headers": {"Authorization": "Bearer not-a-token"}}, {"cookies": {COOKIE_NAME: "not-a-token"}}],
    ids=["none", "bad-bearer", "bad-cookie"],
)
def test_every_api_route_refuses_without_a_valid_login(
    live_server: LiveServer, credentials: dict[str, object]
) -> None:
    routes = protected_http_routes()
    assert len(routes) >= 8
    with live_server.client(**credentials) as client:  # type: ignore[arg-type]
        for method, path in routes:
            response = client.request(method, concrete(path), json={})
            assert response.status_code == 401, (
                f"{method} {path} answered {response.status_code} without login"
            )
            assert response.json()["code"] == "not_authenticated"


def test_the_public_routes_answer_without_a_login(live_server: LiveServer) -> None:
    with live_server.client() as client:
        assert client.get("/api/health").status_code == 200
        assert client.post("/api/auth/login", json={"username": "x", "password": "y"}).status_code == 401
        assert client.get("/openapi.json").status_code == 200


async def test_every_websocket_refuses_without_a_login(live_server: LiveServer) -> None:
    paths = websocket_routes()
    assert paths
    for path in paths:
        url = live_server.ws_url + concrete(path)
        try:
            async with websockets.connect(url, open_timeout=30) as ws:
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await ws.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code in (1008, 4401)
        except websockets.InvalidStatus as refused:
            assert refused.response.status_code in (401, 403)
