"""Start and stop the fleet feature with the app (after the setup feature, which it runs sessions on)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from setupwizard.config import Settings
from setupwizard.fleets.service import FleetService


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """``app.state.fleet_service``; in one process (no Redis) fleets a crash left running end interrupted."""
    settings: Settings = app.state.settings
    service = FleetService(
        settings=settings, db=app.state.db, setup=app.state.setup_service, secretbox=app.state.secretbox
    )
    if not settings.redis_url:
        await service.recover()
    app.state.fleet_service = service
    app.state.setup_service.cancel_waiting = service.cancel_queued_host  # a queued host's own cancel
    try:
        yield
    finally:
        app.state.setup_service.cancel_waiting = None
        await service.close()
