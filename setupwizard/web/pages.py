"""The browser pages: login, the setup wizard, the fleets, the servers, the history, and their static files.

Pages are plain HTML shells; the data comes from the JSON API through ``/static/*.js`` (ES modules,
no build step). The pages themselves hold nothing secret, so they are served without a login: the
scripts call ``/api/auth/me`` and send the person to ``/login`` when the API answers 401.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from setupwizard import __version__
from setupwizard.provisioning.messages import catalogue

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

templates = Jinja2Templates(directory=TEMPLATES_DIR)
router = APIRouter(include_in_schema=False)

# The pages must never be framed by another site, and the scripts only load from this origin.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _page(request: Request, template: str, page: str) -> HTMLResponse:
    settings = getattr(request.app.state, "settings", None)
    connect_timeout = round(settings.ssh_connect_timeout) if settings is not None else 10
    context = {"page": page, "version": __version__, "connect_timeout": connect_timeout}
    response = templates.TemplateResponse(request, template, context, headers=_SECURITY_HEADERS)
    return response


@router.get("/")
async def index() -> RedirectResponse:
    """The wizard is the home page."""
    return RedirectResponse("/setup", status_code=307)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> HTMLResponse:
    """The login form; it posts to ``/api/auth/login``."""
    return _page(request, "login.html", "login")


@router.get("/setup", response_class=HTMLResponse)
async def setup_page(request: Request) -> HTMLResponse:
    """The setup wizard (``server_setup_wizard.html``, the page the API was first written for)."""
    return _page(request, "server_setup_wizard.html", "setup")


@router.get("/fleets", response_class=HTMLResponse)
async def fleets_page(request: Request) -> HTMLResponse:
    """The person's fleets (one plan on many servers), newest first."""
    return _page(request, "fleets.html", "fleets")


@router.get("/fleets/new", response_class=HTMLResponse)
async def new_fleet_page(request: Request) -> HTMLResponse:
    """A new fleet: its servers, shared login, steps, host keys, parallelism; start."""
    return _page(request, "fleet_new.html", "fleet_new")


@router.get("/fleets/{fleet_id:uuid}", response_class=HTMLResponse)
async def fleet_page(request: Request) -> HTMLResponse:
    """One fleet live: a row per host (failed first), cancel, retry, every log."""
    return _page(request, "fleet_view.html", "fleet_view")


@router.get("/history", response_class=HTMLResponse)
async def history_page(request: Request) -> HTMLResponse:
    """Past and running setup sessions."""
    return _page(request, "history.html", "history")


@router.get("/servers", response_class=HTMLResponse)
async def servers_page(request: Request) -> HTMLResponse:
    """The person's servers: set up again, open the last session, forget."""
    return _page(request, "servers.html", "servers")


@router.get("/tokens", response_class=HTMLResponse)
async def tokens_page(request: Request) -> HTMLResponse:
    """The person's personal access tokens: create (shown once), list, revoke."""
    return _page(request, "tokens.html", "tokens")


@router.get("/keys", response_class=HTMLResponse)
async def keys_page(request: Request) -> HTMLResponse:
    """The person's key vault: save (paste or upload), list, delete."""
    return _page(request, "keys.html", "keys")


@router.get("/notifications", response_class=HTMLResponse)
async def notifications_page(request: Request) -> HTMLResponse:
    """The person's notification targets: add, rules, send test, delete."""
    return _page(request, "notifications.html", "notifications")


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(request: Request) -> HTMLResponse:
    """The audit trail (admins; the API refuses others)."""
    return _page(request, "audit.html", "audit")


@cache
def _messages() -> dict[str, dict[str, str]]:
    """The engine's message catalogue plus the page's own codes (status words, step lines)."""
    page: dict[str, dict[str, str]] = json.loads((STATIC_DIR / "codes.json").read_text(encoding="utf-8"))
    return {lang: {**page.get(lang, {}), **texts} for lang, texts in catalogue().items()}


@router.get("/messages.json")
async def messages() -> JSONResponse:
    """Every message code in Chinese and English, for codes.js."""
    return JSONResponse(_messages(), headers={"Cache-Control": "no-cache"})


def install_pages(app: FastAPI) -> None:
    """Add the page routes and mount ``/static`` on ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
