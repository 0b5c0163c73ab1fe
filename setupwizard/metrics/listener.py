"""``SETUPWIZARD_METRICS_ADDRESS``: ``/metrics`` on an address of its own, without a login, for a
Prometheus that scrapes over a private network. Started and stopped with the app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import REGISTRY, start_http_server

from setupwizard.config import Settings, split_address
from setupwizard.metrics.registry import watch_service

log = logging.getLogger(__name__)


def metrics_address_problem(settings: Settings, workers: int) -> str | None:
    """Why ``serve --workers N`` cannot start with ``SETUPWIZARD_METRICS_ADDRESS`` (one address, N processes:
    each answers for itself, so a scrape would see a random one), or None."""
    if workers > 1 and settings.metrics_address:
        return (
            "SETUPWIZARD_METRICS_ADDRESS serves one process's metrics; with --workers it would show a random "
            "worker's. Run one service per port instead (docs/deploy.md, setupwizard@.service), each with a "
            "metrics address of its own, or scrape GET /metrics of each."
        )
    return None


@asynccontextmanager
async def metrics_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Count this app's running setups; serve ``/metrics`` on ``metrics_address`` when it is set."""
    settings: Settings = app.state.settings
    service = getattr(app.state, "setup_service", None)
    if service is not None:
        watch_service(service)
    if not settings.metrics_address:
        yield
        return
    host, port = split_address(settings.metrics_address)
    server, thread = start_http_server(port, addr=host, registry=REGISTRY)
    log.info("Metrics on http://%s/metrics", settings.metrics_address)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
