"""The FastAPI application, built by a function from Settings."""

from __future__ import annotations

from fastapi import FastAPI

from setupwizard import __version__
from setupwizard.config import Settings


def create_app(settings: Settings) -> FastAPI:
    """Build the app: routers, lifespan (database, bus, crash recovery)."""
    app = FastAPI(title="Setup Wizard", version=__version__)
    app.state.settings = settings

    @app.get("/api/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
