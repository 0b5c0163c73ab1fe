"""The FastAPI application, built by a function from Settings."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from types import ModuleType

from fastapi import FastAPI

from setupwizard import __version__
from setupwizard.auth.routes import router as auth_router
from setupwizard.auth.service import ensure_first_admin
from setupwizard.auth.throttle import LoginThrottle
from setupwizard.config import Settings
from setupwizard.core.errors import install_error_handlers
from setupwizard.core.headers import ApiHeadersMiddleware
from setupwizard.core.secretbox import secretbox_from_settings
from setupwizard.db.database import Database
from setupwizard.servers.routes import router as servers_router

log = logging.getLogger(__name__)

FeatureLifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
"""A part of the service that starts after the database is ready and stops before it closes."""


def configure_logging(settings: Settings) -> None:
    """Show the service's own log lines (uvicorn configures only its loggers), once per process."""
    logger = logging.getLogger("setupwizard")
    logger.setLevel(settings.log_level.upper())
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)-9s %(name)s: %(message)s"))
        logger.addHandler(handler)


def _optional_module(name: str) -> ModuleType | None:
    """Import ``name`` if that module exists (a feature still being written is simply absent)."""
    if importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)


def _feature_lifespans() -> list[FeatureLifespan]:
    """The features' own start/stop: ``setupwizard.setup.lifespan.lifespan(app)`` (progress bus, host
    locks, crash recovery of sessions left ``running``). Entered in order after the database is migrated
    and the first admin exists (``app.state.db``/``settings``/``secretbox`` are set); left in reverse."""
    found: list[FeatureLifespan] = []
    module = _optional_module("setupwizard.setup.lifespan")
    if module is not None and hasattr(module, "lifespan"):
        found.append(module.lifespan)
    return found


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Data dir, secret key, database (migrated), first admin, then the features (see below)."""
    settings: Settings = app.state.settings
    configure_logging(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    app.state.secretbox = secretbox_from_settings(settings)
    db = Database(settings)
    app.state.db = db
    try:
        await db.migrate()
        await ensure_first_admin(db, settings)
        async with AsyncExitStack() as stack:
            for feature in _feature_lifespans():
                await stack.enter_async_context(feature(app))
            log.info("Setup Wizard %s ready", __version__)
            yield
    finally:
        await db.dispose()


def create_app(settings: Settings) -> FastAPI:
    """Build the app: routers, error handlers, lifespan (database, bus, crash recovery)."""
    app = FastAPI(title="Setup Wizard", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.login_throttle = LoginThrottle()
    app.add_middleware(ApiHeadersMiddleware)
    install_error_handlers(app)

    @app.get("/api/health", tags=["health"])
    async def health() -> dict[str, str]:
        """Liveness: the process answers (public, no login)."""
        return {"status": "ok", "version": __version__}

    app.include_router(auth_router)
    app.include_router(servers_router)
    setup_routes = _optional_module("setupwizard.setup.routes")
    if setup_routes is not None:
        app.include_router(setup_routes.router)
    pages = _optional_module("setupwizard.web.pages")
    if pages is not None:
        pages.install_pages(app)
    return app
