"""``/docs`` served from this machine, and an OpenAPI document that tells the truth about errors.

- Swagger UI's files come from the ``fastapi-offline`` package (PyPI), mounted at ``/docs-assets``: the page
  works on a network without Internet access, and a Content-Security-Policy allows nothing from elsewhere.
- Every error answer in the document has the body the service really sends, ``{detail, code, field}``
  (FastAPI's default 422 body is replaced), and the answers a route can give are listed: 401/403 where a
  login is needed, 404 where a path names a row, 413 where there is a body, 422, 503.

Shared: every domain's ``routes.py`` lists its answers with these helpers, and ``app.py`` installs the docs.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from setupwizard.auth.deps import get_current_admin, get_current_user

ASSETS_URL = "/docs-assets"
_ASSETS_DIR = str(files("fastapi_offline") / "static")


class ErrorBody(BaseModel):
    """Every error answer of the API."""

    detail: str = Field(description="What went wrong, for a person (never the rejected value).")
    code: str = Field(description="A stable code, e.g. invalid_input, not_found, database_unavailable.")
    field: str | None = Field(description="The request field that was rejected, when one was.")
    message_code: str | None = Field(
        None, description="The reason's catalogue code (GET /messages.json), to show it in any language."
    )
    params: dict[str, Any] | None = Field(None, description="The parameters of message_code.")


_ERROR_TEXT = {
    "401": "Not logged in, or the login expired",
    "403": "Not allowed (administrators only, or a foreign Origin)",
    "404": "No such row, or it is not the caller's",
    "409": "Clashes with the current state",
    "413": "The request body is over 1 MiB",
    "422": "A value was rejected (the body names the field, never the value)",
    "429": "Too many attempts; see Retry-After",
    "502": "The server could not be reached or refused the login",
    "503": "The service's database is not available right now",
    "504": "The server did not answer in time",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that may answer these errors (documented with :class:`ErrorBody`)."""
    return {status: {"model": ErrorBody, "description": _ERROR_TEXT[str(status)]} for status in statuses}


def _calls(dependant: Dependant) -> set[Any]:
    found = {dependant.call}
    for sub in dependant.dependencies:
        found |= _calls(sub)
    return found


def _answers(route: Any) -> list[str]:
    calls = _calls(route.dependant)
    statuses = ["422", "503"]
    if get_current_user in calls or get_current_admin in calls:
        statuses.append("401")
    if get_current_admin in calls:
        statuses.append("403")
    if route.dependant.path_params:
        statuses.append("404")
    if route.body_field is not None:
        statuses.append("413")
    return statuses


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document with the real error body on every 4xx/5xx answer."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorBody"] = ErrorBody.model_json_schema()
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for context in iter_route_contexts(app.routes):  # routers stay nested; contexts see the effective routes
        if not isinstance(context.original_route, APIRoute):
            continue
        route: Any = context
        if not route.include_in_schema:
            continue
        path = schema["paths"].get(route.path_format, {})
        for method in route.methods or ():
            operation = path.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in _answers(route):
                responses.setdefault(status, {"description": _ERROR_TEXT[status]})
            for status, answer in responses.items():
                if status[0] not in "45" or (route.path_format == "/api/health" and status == "503"):
                    continue  # /api/health answers 503 with its own body
                answer["content"] = error_content
                if answer.get("description") == "Validation Error":
                    answer["description"] = _ERROR_TEXT["422"]
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema


def _csp(html: str) -> str:
    inline = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(code.encode()).digest()).decode() + "'"
        for code in inline
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'"
    )


def install_api_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI from local files, with a CSP) and the truthful ``/openapi.json``.

    Build the app with ``docs_url=None, redoc_url=None`` so FastAPI's CDN pages are not added.
    """
    app.mount(ASSETS_URL, StaticFiles(directory=_ASSETS_DIR), name="docs-assets")
    page = get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title=f"{app.title} API",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
    ).body
    html = bytes(page).decode()
    headers = {
        "Content-Security-Policy": _csp(html),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(html, headers=headers)

    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
