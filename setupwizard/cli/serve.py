"""``setupwizard serve``: run the web service."""

from __future__ import annotations

from setupwizard.cli.root import app
from setupwizard.config import get_settings


@app.command()
def serve() -> None:
    """Start the web service (http://127.0.0.1:8000 by default)."""
    import uvicorn

    from setupwizard.app import create_app
    from setupwizard.core.serving import server_options

    settings = get_settings()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        **server_options(settings),  # hardening: trusted proxies only, wsproto
    )
