"""The FastAPI application, built by a function from Settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import Depends, FastAPI

from setupwizard import __version__
from setupwizard.audit.routes import router as audit_router
from setupwizard.audit.routes import setup_trail
from setupwizard.auth.routes import router as auth_router
from setupwizard.auth.service import ensure_first_admin
from setupwizard.auth.throttle import login_throttle_for
from setupwizard.auth.token_routes import router as tokens_router
from setupwizard.config import Settings
from setupwizard.core.api_docs import install_api_docs
from setupwizard.core.errors import install_error_handlers
from setupwizard.core.log_format import RequestIdMiddleware, formatter_for, use_json_for_uvicorn
from setupwizard.core.secretbox import secretbox_from_settings
from setupwizard.db.database import Database, DatabaseNotWritableError
from setupwizard.db.faults import (
    HANDLED_ERRORS,
    PROCESS_FAULTS,
    DatabaseFaults,
    RepeatedFaultFilter,
    describe,
    is_database_fault,
)
from setupwizard.fleets.lifespan import lifespan as fleets_lifespan
from setupwizard.fleets.routes import router as fleets_router
from setupwizard.metrics.listener import metrics_lifespan
from setupwizard.metrics.routes import router as metrics_router
from setupwizard.notify.reach import notify_policy
from setupwizard.notify.routes import router as notify_router
from setupwizard.servers.guard import connection_guard
from setupwizard.servers.routes import router as servers_router
from setupwizard.setup.lifespan import lifespan as setup_lifespan
from setupwizard.setup.routes import router as setup_router
from setupwizard.vault.routes import router as keys_router
from setupwizard.web.headers import ApiHeadersMiddleware
from setupwizard.web.health import close_health_checks
from setupwizard.web.health import router as health_router
from setupwizard.web.limits import RequestLimitsMiddleware
from setupwizard.web.pages import install_pages

log = logging.getLogger(__name__)

FeatureLifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
"""A part of the service that starts after the database is ready and stops before it closes."""


def configure_logging(settings: Settings) -> None:
    """Show the service's own log lines (uvicorn configures only its loggers), once per process, as text or
    JSON (``SETUPWIZARD_LOG_FORMAT``; JSON for uvicorn's lines too)."""
    logger = logging.getLogger("setupwizard")
    logger.setLevel(settings.log_level.upper())
    if not logger.handlers:
        stream = logging.StreamHandler()
        stream.addFilter(RepeatedFaultFilter(PROCESS_FAULTS))  # one database traceback a minute
        logger.addHandler(stream)
    for handler in logger.handlers:
        handler.setFormatter(formatter_for(settings.log_format))
    if settings.log_format == "json":
        use_json_for_uvicorn()


FEATURE_LIFESPANS: tuple[FeatureLifespan, ...] = (setup_lifespan, fleets_lifespan, metrics_lifespan)
"""The features' own start/stop, entered in order once the database is migrated and the first admin exists
(``app.state.db``/``settings``/``secretbox``/``notify_policy`` are set), left in reverse. The setup
feature builds the progress bus, the host locks and the setup service, and marks sessions a crash left
``running`` as ``interrupted``. The fleets run their hosts on that service. The metrics count that
service's running setups and serve ``/metrics`` on ``SETUPWIZARD_METRICS_ADDRESS`` when it is set."""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Data dir, secret key, database (migrated), first admin, then the features (see below)."""
    settings: Settings = app.state.settings
    configure_logging(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    app.state.secretbox = secretbox_from_settings(settings)
    app.state.notify_policy = notify_policy(settings)  # where notification URLs may not reach
    db = Database(settings)
    app.state.db = db
    app.state.db_faults = DatabaseFaults()
    try:
        await _open_database(db)
        await ensure_first_admin(db, settings)
        async with AsyncExitStack() as stack:
            for feature in FEATURE_LIFESPANS:
                await stack.enter_async_context(feature(app))
            log.info("Setup Wizard %s ready", __version__)
            yield
    finally:
        await app.state.login_throttle.close()
        await close_health_checks(app.state)
        await db.dispose()


async def _open_database(db: Database) -> None:
    """Migrate, after checking the service can write: a read-only database stops the start, naming it."""
    try:
        db.check_file_writable()
        await db.migrate()
        await db.probe_write()
    except DatabaseNotWritableError as exc:
        log.critical("%s", exc)
        raise
    except HANDLED_ERRORS as exc:
        if not is_database_fault(exc):
            raise
        message = f"The database {db.describe()} cannot be written ({describe(exc)}); nobody could log in"
        log.critical("%s", message)
        raise DatabaseNotWritableError(message) from None


def create_app(settings: Settings) -> FastAPI:
    """Build the app: routers, error handlers, lifespan (database, bus, crash recovery)."""
    app = FastAPI(title="Setup Wizard", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.login_throttle = login_throttle_for(settings)  # shared on Redis when redis_url is set
    app.add_middleware(RequestLimitsMiddleware)
    app.add_middleware(ApiHeadersMiddleware)  # the limits' own answers get the headers too
    app.add_middleware(RequestIdMiddleware)  # outermost: every answer and log line has its request id
    install_error_handlers(app)

    app.include_router(health_router)
    app.include_router(auth_router)
    app.include_router(tokens_router)
    app.include_router(servers_router, dependencies=[Depends(connection_guard)])
    # The setup routes: targets checked and attempts counted before connecting; start/cancel/delete audited.
    app.include_router(setup_router, dependencies=[Depends(setup_trail), Depends(connection_guard)])
    app.include_router(fleets_router)  # checks each target itself; one connection attempt per call
    app.include_router(audit_router)
    app.include_router(metrics_router)
    app.include_router(keys_router)
    app.include_router(notify_router)
    install_pages(app)
    install_api_docs(app)
    return app
